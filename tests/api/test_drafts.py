"""Drafts over HTTP: create, patch with If-Match, undo/redo, history, private draft builds, publish, rollback."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import pytest

from sceneforge.api.server import load_demos
from sceneforge.errors import MAX_ISSUES
from sceneforge.generate.templates import from_template
from sceneforge.storage import draft_turns
from sceneforge.storage.gc import collect
from tests.api.conftest import Api, start_api
from tests.ingest.blender_fixture import blender_scene
from tests.scenes import TWO_ROOMS, scene
from tests.storage.conftest import fake_build

PATCH = "application/json-patch+json"


def _patch(api: Api, ops: Any, **headers: str) -> Any:
    return api.request(
        "PATCH",
        "/scenes/two-rooms/draft",
        content=json.dumps(ops),
        headers={"Content-Type": PATCH, **api.auth(), **headers},
    )


def _wait_job(api: Api, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job = api.get(f"/jobs/{job_id}").json()
        if job["status"] in {"Succeeded", "Failed", "Canceled"}:
            return job  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


@pytest.fixture
def draft(api: Api) -> Api:
    reply = api.post("/scenes/two-rooms/draft", json=TWO_ROOMS, headers={**api.auth(), "X-Change-Reason": "start"})
    assert reply.status_code == 201, reply.text
    assert reply.headers["etag"] == '"rev-1"'
    return api


def test_drafts_api_create_and_read(draft: Api) -> None:
    got = draft.get("/scenes/two-rooms/draft")
    assert got.status_code == 200 and got.headers["etag"] == '"rev-1"'
    body = got.json()
    assert body["rev"] == 1 and body["description"] == TWO_ROOMS and body["author"] == "test write"
    again = draft.post("/scenes/two-rooms/draft", json=TWO_ROOMS, headers=draft.auth())
    assert again.status_code == 409
    replaced = draft.post("/scenes/two-rooms/draft?replace=true", json=scene(TWO_ROOMS, props={}), headers=draft.auth())
    assert replaced.status_code == 201 and replaced.json()["rev"] == 2


def test_drafts_api_needs_write_scope(api: Api) -> None:
    assert api.post("/scenes/two-rooms/draft", json=TWO_ROOMS).status_code == 401
    assert api.post("/scenes/two-rooms/draft", json=TWO_ROOMS, headers=api.auth("read")).status_code == 403


def test_drafts_api_patch_if_match_and_reason(draft: Api) -> None:
    ops = [{"op": "replace", "path": "/cells/1/room/max/0", "value": 10}]
    ok = _patch(draft, ops, **{"If-Match": '"rev-1"', "X-Change-Reason": "wider"})
    assert ok.status_code == 200, ok.text
    assert ok.headers["etag"] == '"rev-2"' and ok.json()["revision"]["reason"] == "wider"
    stale = _patch(draft, [{"op": "add", "path": "/props/x", "value": "1"}], **{"If-Match": '"rev-1"'})
    assert stale.status_code == 412
    assert draft.get("/scenes/two-rooms/draft").json()["rev"] == 2


@pytest.mark.parametrize(
    ("prefer", "minimal"),
    [
        ("return=minimal", True),
        ('RETURN = "Minimal"; x=1', True),  # RFC 7240: tokens case-insensitive, values may be quoted
        ("respond-async, return=minimal", True),
        ("return=representation", False),
        ("", False),
    ],
)
def test_drafts_api_patch_may_leave_the_description_out(draft: Api, prefer: str, minimal: bool) -> None:
    """An editor sending ``Prefer: return=minimal`` has the description its ops make and the ops: the answer leaves
    both out (a save of a 5,000-cell level carried 1.2 MB back; a one-op save of a large value carried it back in
    the revision), keeping the revision's identity, and says so in ``Preference-Applied``."""
    ops = [{"op": "replace", "path": "/cells/1/room/max/0", "value": 10}]
    reply = _patch(draft, ops, **{"X-Change-Reason": "wider", **({"Prefer": prefer} if prefer else {})})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["rev"] == 2 and reply.headers["etag"] == '"rev-2"'
    identity = {k: body["revision"][k] for k in ("rev", "parentRev", "source", "reason")}
    assert identity == {"rev": 2, "parentRev": 1, "source": "user", "reason": "wider"}
    assert body["revision"]["author"] and body["revision"]["createdUtc"] and "messageId" in body["revision"]
    assert ("ops" not in body["revision"]) == minimal and body["revision"].get("ops", ops) == ops
    assert ("description" not in body) == minimal
    assert reply.headers.get("preference-applied") == ("return=minimal" if minimal else None)
    stored = draft.get("/scenes/two-rooms/draft").json()["description"]
    assert stored["cells"][1]["room"]["max"][0] == 10


def test_drafts_api_reason_beyond_latin1(draft: Api) -> None:
    """A header holds Latin-1 only (browsers refuse anything else), so other text comes percent-encoded
    after RFC 8187's UTF-8'' prefix; raw UTF-8 bytes (curl) are read as UTF-8, not as Latin-1 mojibake."""
    text = "wider — café 走廊 🚪"

    def patch(value: bytes, width: int) -> Any:
        ops = [{"op": "replace", "path": "/cells/1/room/max/0", "value": width}]
        headers = {"Content-Type": PATCH, **draft.auth(), "X-Change-Reason": value}
        return draft.request("PATCH", "/scenes/two-rooms/draft", content=json.dumps(ops), headers=headers)

    encoded = patch(b"UTF-8''" + quote(text).encode(), 10)
    assert encoded.status_code == 200, encoded.text
    assert encoded.json()["revision"]["reason"] == text
    raw = patch(text.encode(), 11)
    assert raw.status_code == 200 and raw.json()["revision"]["reason"] == text
    latin1 = patch("naïve".encode("latin-1"), 12)
    assert latin1.status_code == 200 and latin1.json()["revision"]["reason"] == "naïve"
    lines = patch(b"utf-8''one%0Atwo%00", 13)  # control characters are stored as spaces
    assert lines.status_code == 200 and lines.json()["revision"]["reason"] == "one two"
    bad = patch(b"UTF-8''caf%E9", 14)  # Latin-1 percent-encoded: not UTF-8
    assert bad.status_code == 422
    assert [(e["path"], e["code"]) for e in bad.json()["errors"]] == [("/header/X-Change-Reason", "reason_invalid")]
    history = draft.get("/scenes/two-rooms/revisions").json()["revisions"]
    assert [r["reason"] for r in history][:4] == ["one two", "naïve", text, text]  # newest first
    long = patch(b"UTF-8''" + quote("é" * 1001).encode(), 15)  # the limit counts characters, not bytes
    assert long.status_code == 422 and long.json()["errors"][0]["code"] == "reason_too_long"
    assert patch(b"UTF-8''" + quote("é" * 1000).encode(), 16).status_code == 200


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (b"UTF-8'en'Fixed%20the%20door", "Fixed the door"),
        (b"utf-8'en-GB'caf%C3%A9", "café"),
        (b"UTF-8'zh-Hant-TW'%E8%B5%B0%E5%BB%8A", "走廊"),
    ],
)
def test_drafts_api_reason_with_a_language_tag(draft: Api, value: bytes, stored: str) -> None:
    """RFC 8187 §3.2.1: a language tag may stand between the quotes of ``UTF-8''``; the text is decoded as with
    none (it had been stored as it was sent, ``UTF-8'en'Fixed%20the%20door``)."""
    ops = [{"op": "replace", "path": "/cells/1/room/max/0", "value": 12}]
    headers = {"Content-Type": PATCH, **draft.auth(), "X-Change-Reason": value}
    reply = draft.request("PATCH", "/scenes/two-rooms/draft", content=json.dumps(ops), headers=headers)
    assert reply.status_code == 200, reply.text
    assert reply.json()["revision"]["reason"] == stored


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (b"UTF-8''caf\xc3\xa9 ok", "'é' (%C3%A9) unencoded"),
        (b"UTF-8'en'\xe8\xb5\xb0", "'走' (%E8%B5%B0) unencoded"),
        (b"utf-8''na\xefve", "the byte 0xEF unencoded"),
        (b"UTF-8''caf%E9", "%E9 does not decode as UTF-8"),
        (b"UTF-8''caf%C3%A9 %ZZ", "'%ZZ'"),
        (b"UTF-8'en'caf%E9", "%E9 does not decode as UTF-8"),
    ],
)
def test_drafts_api_reason_invalid_says_what_is_wrong(draft: Api, value: bytes, says: str) -> None:
    """``reason_invalid`` names the part that is not percent-encoded UTF-8, never as Latin-1 mojibake of the bytes
    sent (``cafÃ©``, what a header's bytes read as Latin-1 give)."""
    ops = [{"op": "replace", "path": "/cells/1/room/max/0", "value": 12}]
    headers = {"Content-Type": PATCH, **draft.auth(), "X-Change-Reason": value}
    bad = draft.request("PATCH", "/scenes/two-rooms/draft", content=json.dumps(ops), headers=headers)
    assert bad.status_code == 422, bad.text
    [error] = bad.json()["errors"]
    assert (error["path"], error["code"]) == ("/header/X-Change-Reason", "reason_invalid")
    assert says in error["message"], error["message"]
    assert not set("ÃÂè") & set(error["message"] + bad.json()["detail"]), error["message"]


@pytest.mark.parametrize(
    "value",
    [b"UTF-8''%ZZ", b"UTF-8''50%", b"UTF-8''caf%C3%A9%", b"UTF-8''%C", b"UTF-8''caf\xc3\xa9", b"utf-8''na\xefve"],
    ids=["not hex", "bare percent", "trailing percent", "one digit", "raw UTF-8", "raw Latin-1"],
)
def test_drafts_api_reason_not_percent_encoded_is_422(draft: Api, value: bytes) -> None:
    """docs/drafts.md: after the UTF-8'' prefix, what is not percent-encoded UTF-8 is 422 ``reason_invalid`` and
    nothing is written (``%ZZ`` had been stored as it was, and raw bytes as Latin-1 mojibake: ``cafÃ©``)."""
    ops = [{"op": "replace", "path": "/cells/1/room/max/0", "value": 12}]
    headers = {"Content-Type": PATCH, **draft.auth(), "X-Change-Reason": value}
    before = draft.get("/scenes/two-rooms/draft").json()
    bad = draft.request("PATCH", "/scenes/two-rooms/draft", content=json.dumps(ops), headers=headers)
    assert bad.status_code == 422, bad.text
    assert [(e["path"], e["code"]) for e in bad.json()["errors"]] == [("/header/X-Change-Reason", "reason_invalid")]
    assert draft.get("/scenes/two-rooms/draft").json() == before


def test_drafts_api_patch_errors(draft: Api) -> None:
    wrong_type = draft.request("PATCH", "/scenes/two-rooms/draft", json=[], headers=draft.auth())
    assert wrong_type.status_code == 415
    bad_op = _patch(draft, [{"op": "jump", "path": "/props"}])
    assert bad_op.status_code == 422 and bad_op.json()["errors"][0]["path"] == "/0/op"
    failed_test = _patch(draft, [{"op": "test", "path": "/sceneId", "value": "zz"}])
    assert failed_test.status_code == 409
    invalid = _patch(draft, [{"op": "replace", "path": "/cells/0/room/max/1", "value": 0.15}])
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["path"].startswith("/cells/0/room")
    renamed = _patch(draft, [{"op": "replace", "path": "/sceneId", "value": "other"}])
    assert renamed.status_code == 422 and renamed.json()["errors"][0]["path"] == "/sceneId"
    missing = draft.request(
        "PATCH", "/scenes/nope/draft", content="[]", headers={"Content-Type": PATCH, **draft.auth()}
    )
    assert missing.status_code == 404
    # The draft is looked for before the ops are read: a malformed patch of no draft is 404 too.
    malformed = draft.request(
        "PATCH", "/scenes/nope/draft", content='[{"op": "jump", "path": "/props"}]',
        headers={"Content-Type": PATCH, **draft.auth()},
    )  # fmt: skip
    assert malformed.status_code == 404, malformed.text
    for body in ("not json", "[NaN]", '[{"op": "add", "op": "add"}]', ""):  # nor strict JSON: still no draft, 404
        refused = draft.request(
            "PATCH", "/scenes/nope/draft", content=body, headers={"Content-Type": PATCH, **draft.auth()}
        )
        assert refused.status_code == 404, (body, refused.text)
    assert draft.get("/scenes/two-rooms/draft").json()["rev"] == 1


@pytest.mark.parametrize(
    "ops",
    [
        [],
        [{"op": "replace", "path": "/cells/1/room/max/0", "value": TWO_ROOMS["cells"][1]["room"]["max"][0]}],
        [{"op": "test", "path": "/sceneId", "value": "two-rooms"}],
        [{"op": "add", "path": "/props/tmp", "value": "1"}, {"op": "remove", "path": "/props/tmp"}],
        [{"op": "copy", "from": "/sceneId", "path": "/props/x"}, {"op": "remove", "path": "/props/x"}],
    ],
    ids=["empty", "same value", "only test", "added and removed", "copied and removed"],
)
def test_drafts_api_patch_that_changes_nothing_makes_no_revision(
    draft: Api, tmp_path: Path, ops: list[dict[str, Any]]
) -> None:
    """docs/drafts.md: a patch whose result is the current description writes nothing (no revision, no snapshot
    blob, no draft.revised) and answers 200 with the draft and its current ETag."""
    blobs = sorted(p for p in (tmp_path / "data").rglob("*") if p.is_file() and "blobs" in p.parts)
    before = draft.get("/scenes/two-rooms/draft").json()
    answer = _patch(draft, ops, **{"If-Match": '"rev-1"', "X-Change-Reason": "nothing"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["etag"] == '"rev-1"'
    body = answer.json()
    assert "revision" not in body and body == before
    assert [r["rev"] for r in draft.get("/scenes/two-rooms/revisions").json()["revisions"]] == [1]
    events = draft.call(draft.app.state.jobs.log.read, 0, scene_id="two-rooms")
    assert [e.body["rev"] for e in events if e.type == "draft.revised"] == [1]
    assert sorted(p for p in (tmp_path / "data").rglob("*") if p.is_file() and "blobs" in p.parts) == blobs
    # the If-Match and test rules still hold for a patch that would change nothing
    assert _patch(draft, ops, **{"If-Match": '"rev-7"'}).status_code == 412
    assert _patch(draft, [*ops, {"op": "test", "path": "/sceneId", "value": "zz"}]).status_code == 409
    # and a change after it is rev 2, its parent rev 1
    changed = _patch(draft, [{"op": "add", "path": "/props/n", "value": "1"}])
    assert changed.headers["etag"] == '"rev-2"' and changed.json()["revision"]["parentRev"] == 1


def test_drafts_api_concurrent_patches_without_if_match_are_all_applied(draft: Api) -> None:
    """docs/drafts.md: without If-Match, concurrent patches are applied one after the other, none lost (none
    answered 503 because the draft kept moving under it)."""
    start = draft.get("/scenes/two-rooms/draft").json()["rev"]
    headers = {"Content-Type": PATCH, **draft.auth()}

    async def patch_all() -> list[Any]:
        async def one(i: int) -> Any:
            ops = [{"op": "add", "path": f"/props/p{i}", "value": str(i)}]
            return await draft.client.patch("/scenes/two-rooms/draft", content=json.dumps(ops), headers=headers)

        return list(await asyncio.gather(*(one(i) for i in range(60))))

    replies = draft.call(patch_all)
    assert [r.status_code for r in replies] == [200] * 60, [r.text for r in replies if r.status_code != 200][:1]
    after = draft.get("/scenes/two-rooms/draft").json()
    assert after["rev"] == start + 60
    assert {f"p{i}" for i in range(60)} <= set(after["description"]["props"])


def test_drafts_api_deleting_the_scene_cancels_its_draft_build(draft: Api) -> None:
    """A build queued before DELETE /scenes/{id} must not bring the scene back with a version afterwards."""
    pool = draft.app.state.jobs.pool
    draft.call(pool.close)  # nothing runs: the build stays queued until the scene is deleted
    job_id = draft.post("/scenes/two-rooms/draft/build", headers=draft.auth()).json()["jobId"]
    assert draft.get(f"/jobs/{job_id}").json()["status"] == "Queued"
    assert draft.delete("/scenes/two-rooms", headers=draft.auth()).status_code == 204
    assert draft.get(f"/jobs/{job_id}").json()["status"] == "Canceled"
    assert draft.get("/scenes/two-rooms/versions").status_code == 404
    assert "two-rooms" not in [s["sceneId"] for s in draft.get("/scenes").json()]


@pytest.mark.parametrize("build", ["draft", "published"])
def test_drafts_api_a_scene_deleted_as_its_running_build_ends_stays_deleted(
    draft: Api, monkeypatch: pytest.MonkeyPatch, build: str
) -> None:
    """The build ran to its end (the worker's last look at its lease found no cancel), then DELETE came before
    its version was stored: the version must not bring the scene back (nor the import revision of a build that
    publishes), and the job ends Canceled."""
    scenes = draft.app.state.jobs.pool.runner.scenes
    store, deleted = scenes.publish_build, []

    async def deleted_first(*args: Any, **kwargs: Any) -> Any:
        if not deleted:
            deleted.append(await draft.client.delete("/scenes/two-rooms", headers=draft.auth()))
        return await store(*args, **kwargs)

    monkeypatch.setattr(scenes, "publish_build", deleted_first)
    if build == "draft":
        job_id = draft.post("/scenes/two-rooms/draft/build", headers=draft.auth()).json()["jobId"]
    else:
        body = json.dumps(scene(TWO_ROOMS, props={"n": "1"}))
        job_id = draft.post("/jobs/enqueue", content=body, headers=draft.auth()).json()["jobId"]
    job = _wait_job(draft, job_id)
    assert [r.status_code for r in deleted] == [204]
    assert job["status"] == "Canceled", job
    assert draft.get("/scenes/two-rooms/versions").status_code == 404
    assert draft.get("/scenes/two-rooms/draft").status_code == 404
    assert "two-rooms" not in [s["sceneId"] for s in draft.get("/scenes").json()]


def test_drafts_api_the_last_scene_published_event_names_the_published_version(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two publishes of one scene at once (two editors, two instances): the events must come in the order the
    pointer moved, so the last ``scene.published`` a client hears names the version that is published."""
    scenes = api.services.scenes
    for payload in (b"one", b"two"):
        api.call(scenes.publish_build, fake_build("race", payload), None, publish=False)
    move, overtaken, started = scenes.publish, [], []

    async def overtaken_after_commit(scene_id: str, n: int, **kwargs: Any) -> Any:
        version = await move(scene_id, n, **kwargs)
        if not started:  # the pointer moved to v1; v2 is published before v1's request goes on
            started.append(n)
            overtaken.append(await api.client.post("/scenes/race/publish", json={"version": 2}, headers=api.auth()))
        return version

    monkeypatch.setattr(scenes, "publish", overtaken_after_commit)
    assert api.post("/scenes/race/publish", json={"version": 1}, headers=api.auth()).status_code == 200
    assert [r.status_code for r in overtaken] == [200]
    events = api.call(api.app.state.jobs.store.log.read, 0, scene_id="race")
    assert [e.body["version"] for e in events if e.type == "scene.published"] == [1, 2]
    assert api.call(scenes.get_scene, "race").latest_version == 2


def test_drafts_api_undo_redo_and_history(draft: Api) -> None:
    _patch(draft, [{"op": "add", "path": "/props/n", "value": "1"}])
    undone = draft.post("/scenes/two-rooms/draft/undo", headers=draft.auth())
    assert undone.status_code == 200 and undone.json()["description"] == TWO_ROOMS
    assert draft.post("/scenes/two-rooms/draft/undo", headers=draft.auth()).status_code == 409
    redone = draft.post("/scenes/two-rooms/draft/redo", headers=draft.auth())
    assert redone.json()["description"]["props"]["n"] == "1"
    history = draft.get("/scenes/two-rooms/revisions").json()["revisions"]
    assert [r["source"] for r in history] == ["redo", "undo", "user", "user"]
    assert history[-1]["reason"] == "start"
    one = draft.get("/scenes/two-rooms/revisions/2").json()
    assert one["before"] == TWO_ROOMS and one["after"]["props"]["n"] == "1" and one["parentRev"] == 1


def test_drafts_api_computed_ops_take_the_parent_to_the_revision_members_in_order(draft: Api) -> None:
    """docs/drafts.md: a revision's ops take its parent's description to its own, and the same members in another
    order are a change. The ops computed for a replace, an undo or a redo came from a diff of values: reordered
    members were no difference to it (``ops: []``) and the members it added went last, so the ops applied to
    ``before`` gave another description than ``after``."""
    import jsonpatch

    def text(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    url = "/scenes/two-rooms/draft"
    assert (
        draft.post(f"{url}?replace=true", json=scene(TWO_ROOMS, props={"b": "2"}), headers=draft.auth()).status_code
        == 201
    )
    added = scene(TWO_ROOMS, props={"a": "1", "b": "2"})  # "a" before the member kept
    assert draft.post(f"{url}?replace=true", json=added, headers=draft.auth()).status_code == 201
    reordered = scene(TWO_ROOMS, props={"b": "2", "a": "1"})  # the same members, in another order
    assert draft.post(f"{url}?replace=true", json=reordered, headers=draft.auth()).status_code == 201
    assert draft.post(f"{url}/undo", headers=draft.auth()).status_code == 200
    assert draft.post(f"{url}/redo", headers=draft.auth()).status_code == 200
    revisions = draft.get("/scenes/two-rooms/revisions").json()["revisions"]
    assert [r["source"] for r in revisions[:4]] == ["redo", "undo", "user", "user"]
    for listed in revisions[:4]:
        one = draft.get(f"/scenes/two-rooms/revisions/{listed['rev']}").json()
        assert one["ops"], one  # a revision changes the description
        applied = jsonpatch.apply_patch(one["before"], one["ops"])
        assert text(applied) == text(one["after"]), (one["source"], one["ops"])


def test_drafts_api_undo_and_redo_honour_if_match(draft: Api) -> None:
    """An undo or redo with ``If-Match`` of a rev the draft has moved past is 412 and writes nothing (RFC 9110
    §13.1.1: an origin server evaluates If-Match): a client undoing its own change must not undo another's."""
    _patch(draft, [{"op": "add", "path": "/props/n", "value": "1"}])  # rev 2, the client's change
    _patch(draft, [{"op": "add", "path": "/props/m", "value": "2"}])  # rev 3, someone else's
    stale = {**draft.auth(), "If-Match": '"rev-2"'}
    refused = draft.post("/scenes/two-rooms/draft/undo", headers=stale)
    assert refused.status_code == 412 and refused.headers["content-type"] == "application/problem+json"
    assert "rev 3" in refused.json()["detail"]
    assert draft.get("/scenes/two-rooms/draft").json()["rev"] == 3
    for header, status in (('W/"rev-3"', 412), ('"rev-3"x', 422)):  # a weak tag never matches; not a tag: 422
        assert (
            draft.post("/scenes/two-rooms/draft/undo", headers={**draft.auth(), "If-Match": header}).status_code
            == status
        )
    assert draft.get("/scenes/two-rooms/draft").json()["rev"] == 3
    undone = draft.post("/scenes/two-rooms/draft/undo", headers={**draft.auth(), "If-Match": '"rev-1", "rev-3"'})
    assert undone.status_code == 200 and undone.json()["rev"] == 4 and "m" not in undone.json()["description"]["props"]
    assert draft.post("/scenes/two-rooms/draft/redo", headers=stale).status_code == 412
    redone = draft.post("/scenes/two-rooms/draft/redo", headers={**draft.auth(), "If-Match": "*"})
    assert redone.status_code == 200 and redone.json()["description"]["props"]["m"] == "2"
    sources = [r["source"] for r in draft.get("/scenes/two-rooms/revisions").json()["revisions"]]
    assert sources == ["redo", "undo", "user", "user", "user"]


@pytest.mark.parametrize(("rev", "code"), [("0", "greater_than_equal"), ("9" * 30, "less_than_equal")])
def test_drafts_api_revision_number_out_of_range_is_422_at_its_path(draft: Api, rev: str, code: str) -> None:
    """docs/limits.md: a revision number outside 1 … 2⁶³−1 in the path is 422 at ``/path/rev`` (a body's version
    number is ``version_invalid`` at its pointer)."""
    refused = draft.get(f"/scenes/two-rooms/revisions/{rev}")
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert [(e["path"], e["code"]) for e in refused.json()["errors"]] == [("/path/rev", code)]


@pytest.mark.parametrize(
    "content_type", ["application/merge-patch+json", "application/json", f"{PATCH}; charset=latin-1", "text/plain"]
)
def test_drafts_api_patch_of_another_type_says_which_it_takes(draft: Api, content_type: str) -> None:
    """A PATCH whose document is not a JSON Patch is 415 with ``Accept-Patch`` naming the type taken (RFC 5789
    §2.2), so a client can tell what to send without reading the docs."""
    refused = draft.request(
        "PATCH", "/scenes/two-rooms/draft", content=b"[]", headers={**draft.auth(), "Content-Type": content_type}
    )
    assert refused.status_code == 415 and refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["accept-patch"] == PATCH


def test_drafts_api_rev_tags_are_compared_as_text(draft: Api) -> None:
    """``"rev-01"`` is not the draft's ETag ``"rev-1"``: entity-tags compare character by character (RFC 9110
    §8.8.3.2), on a write as on a read. A write read the number in it and took it for rev 1, where a GET said 412."""
    for tag in ('"rev-01"', '"rev-001"'):
        assert draft.get("/scenes/two-rooms/draft", headers={"If-Match": tag}).status_code == 412
        refused = _patch(draft, [{"op": "add", "path": "/props/n", "value": "1"}], **{"If-Match": tag})
        assert refused.status_code == 412, refused.text
        assert draft.post("/scenes/two-rooms/draft/undo", headers={**draft.auth(), "If-Match": tag}).status_code == 412
    assert draft.get("/scenes/two-rooms/draft").json()["rev"] == 1
    passed = _patch(draft, [{"op": "add", "path": "/props/n", "value": "1"}], **{"If-None-Match": '"rev-01"'})
    assert passed.status_code == 200 and passed.json()["rev"] == 2


def test_drafts_api_read_is_conditional(draft: Api) -> None:
    """GET of the draft answers If-None-Match naming its rev with 304 and If-Match naming another rev with 412. A
    scene deleted and drafted anew numbers its revs on from the old draft's, so the tag a client kept from the old
    draft never names the new one: no 304 for a different description, and If-Match with it is 412."""
    assert draft.get("/scenes/two-rooms/draft", headers={"If-Match": '"rev-1"'}).status_code == 200
    same = draft.get("/scenes/two-rooms/draft", headers={"If-None-Match": '"rev-1"'})
    assert same.status_code == 304 and same.headers["etag"] == '"rev-1"' and not same.content
    _patch(draft, [{"op": "add", "path": "/props/n", "value": "1"}])
    stale = draft.get("/scenes/two-rooms/draft", headers={"If-Match": '"rev-1"'})
    assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"
    assert draft.get("/scenes/two-rooms/draft", headers={"If-None-Match": '"rev-1"'}).status_code == 200
    kept = draft.get("/scenes/two-rooms/draft").headers["etag"]
    assert draft.delete("/scenes/two-rooms", headers=draft.auth()).status_code == 204
    anew = scene(TWO_ROOMS, props={"second": "life"})
    assert draft.post("/scenes/two-rooms/draft", json=anew, headers=draft.auth()).status_code == 201
    _patch(draft, [{"op": "add", "path": "/props/n", "value": "2"}])
    read = draft.get("/scenes/two-rooms/draft", headers={"If-None-Match": kept})
    assert read.status_code == 200 and read.json()["description"]["props"]["n"] == "2"
    assert (kept, read.headers["etag"]) == ('"rev-2"', '"rev-4"')
    assert draft.get("/scenes/two-rooms/draft", headers={"If-Match": kept}).status_code == 412


@pytest.mark.parametrize(
    ("header", "says"),
    [("rev-2", "not rev 2"), ('"rev-2', "not a rev"), ('"rev-2"x', "not a rev"), ('"rev-2", *', "not rev 2")],
)
def test_drafts_api_read_if_match_that_does_not_hold_is_412_however_written(draft: Api, header: str, says: str) -> None:
    """A read takes ``If-Match`` as the GLB reads do (an unquoted tag as quoted; a malformed header holds for no rev):
    one that does not hold is 412 with the current ETag. Its 412 had been worked out with a write's strict reading, so
    ``rev-2`` (unquoted) was a 422 without the ETag while ``rev-1``, the same form naming the current rev, was 200."""
    assert draft.get("/scenes/two-rooms/draft", headers={"If-Match": "rev-1"}).status_code == 200
    stale = draft.get("/scenes/two-rooms/draft", headers={"If-Match": header})
    assert stale.status_code == 412, stale.text
    assert stale.headers["etag"] == '"rev-1"' and says in stale.json()["detail"]


def test_drafts_api_replace_honours_if_match(draft: Api, tmp_path: Path) -> None:
    """``POST …/draft?replace=true`` with ``If-Match`` of a rev the draft moved past is 412 and writes nothing
    (no revision, no snapshot blob): it replaced the whole description, so another editor's later save was lost."""
    _patch(draft, [{"op": "add", "path": "/props/n", "value": "1"}])  # rev 2, another editor's
    blobs = sorted(p.name for p in (tmp_path / "data" / "blobs").rglob("*") if p.is_file())
    replaced = scene(TWO_ROOMS, props={"mine": "x"})
    stale = {**draft.auth(), "If-Match": '"rev-1"'}
    refused = draft.post("/scenes/two-rooms/draft?replace=true", json=replaced, headers=stale)
    assert refused.status_code == 412 and "rev 2" in refused.json()["detail"], refused.text
    assert draft.get("/scenes/two-rooms/draft").json()["rev"] == 2
    assert sorted(p.name for p in (tmp_path / "data" / "blobs").rglob("*") if p.is_file()) == blobs
    missing = draft.post("/scenes/other/draft", json=scene(TWO_ROOMS, sceneId="other"), headers=stale)
    assert missing.status_code == 412 and "no draft" in missing.json()["detail"]
    assert draft.get("/scenes/other/draft").status_code == 404
    current = {**draft.auth(), "If-Match": '"rev-2"'}
    done = draft.post("/scenes/two-rooms/draft?replace=true", json=replaced, headers=current)
    assert done.status_code == 201 and done.json()["rev"] == 3 and done.json()["description"]["props"] == {"mine": "x"}


def test_drafts_api_build_honours_if_match(draft: Api) -> None:
    """A draft build with ``If-Match`` of a rev the draft moved past is 412 and queues nothing: the client asked
    for a build of what it saw, not of another editor's later rev."""
    _patch(draft, [{"op": "add", "path": "/props/n", "value": "1"}])
    jobs = len(draft.get("/jobs?take=500").json())
    stale = draft.post("/scenes/two-rooms/draft/build", headers={**draft.auth(), "If-Match": '"rev-1"'})
    assert stale.status_code == 412 and "rev 2" in stale.json()["detail"]
    assert len(draft.get("/jobs?take=500").json()) == jobs
    built = draft.post("/scenes/two-rooms/draft/build", headers={**draft.auth(), "If-Match": '"rev-2"'})
    assert built.status_code == 200 and built.json()["rev"] == 2


def test_drafts_api_replace_with_the_same_description_writes_nothing(draft: Api) -> None:
    """``?replace=true`` with the description the draft holds is not a change, as a patch that changes nothing is
    not (docs/drafts.md): 200 with the draft, no revision. It wrote an empty revision and cleared the redo stack, so
    a client retrying its replace lost the changes it could have redone."""
    _patch(draft, [{"op": "add", "path": "/props/n", "value": "1"}])
    undone = draft.post("/scenes/two-rooms/draft/undo", headers=draft.auth()).json()
    assert undone["rev"] == 3 and undone["canRedo"]
    again = draft.post("/scenes/two-rooms/draft?replace=true", json=undone["description"], headers=draft.auth())
    assert again.status_code == 200 and "revision" not in again.json(), again.text
    assert again.json()["rev"] == 3 and again.json()["canRedo"] and again.headers["etag"] == '"rev-3"'
    assert len(draft.get("/scenes/two-rooms/revisions").json()["revisions"]) == 3
    assert draft.post("/scenes/two-rooms/draft/redo", headers=draft.auth()).json()["description"]["props"]["n"] == "1"


def test_drafts_api_template(api: Api) -> None:
    listed = api.get("/templates").json()["templates"]
    assert {"maze", "apartment", "office", "gallery"} <= {t["name"] for t in listed}
    made = api.post(
        "/scenes/lab/draft", json={"template": "maze", "params": {"cells": 4, "seed": 2}}, headers=api.auth()
    )
    assert made.status_code == 201 and made.json()["description"]["sceneId"] == "lab"
    bad = api.post("/scenes/lab2/draft", json={"template": "maze", "params": {"cells": -1}}, headers=api.auth())
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "/params/cells"


def test_drafts_api_template_seed_takes_what_generate_takes(api: Api) -> None:
    """docs/api.md: ``/generate?seed=`` is 0 to 2^63-1. A template's ``params.seed`` stopped at 2^31-1, so a maze
    ``/generate`` made was a 422 as a draft: both take the same seeds, make the same level and refuse 2^63."""
    for seed in (2**31, 2**63 - 1):
        level = api.get("/generate/maze", params={"cells": 4, "seed": seed})
        assert level.status_code == 200, level.text
        body = {"template": "maze", "params": {"cells": 4, "seed": seed}}
        made = api.post("/scenes/lab/draft?replace=true", json=body, headers=api.auth())
        assert made.status_code in (200, 201), made.text
        assert made.json()["description"] == {**level.json(), "sceneId": "lab"}
    assert api.get("/generate/maze", params={"cells": 4, "seed": 2**63}).status_code == 422
    body = {"template": "maze", "params": {"cells": 4, "seed": 2**63}}
    refused = api.post("/scenes/lab/draft?replace=true", json=body, headers=api.auth())
    assert [e["path"] for e in refused.json()["errors"]] == ["/params/seed"], refused.text
    for template in api.get("/templates").json()["templates"]:  # the schema every client reads says so
        seed = template["parameters"]["properties"]["seed"]
        assert (seed["minimum"], seed["maximum"]) == (0, 2**63 - 1), template["name"]


@pytest.mark.parametrize(
    ("body", "paths", "says"),
    [
        ({"template": "office", "storeys": 3, "rooms": 2}, ["/storeys", "/rooms"], "go in 'params'"),
        ({"fromVersion": 1, "template": "maze"}, ["/fromVersion"], "holds 'template' and 'params' only"),
        ({"fromVersion": 1, "cells": []}, ["/cells"], "holds 'fromVersion' only"),
        ({"template": "maze", "params": None}, ["/params"], "not null"),
        ({"template": "maze", "a/b~": 1}, ["/a~1b~0"], "unknown member 'a/b~'"),
    ],
)
def test_drafts_api_template_and_version_bodies_hold_their_members_only(
    api: Api, body: dict[str, Any], paths: list[str], says: str
) -> None:
    """A template's parameters written beside ``template`` (not in ``params``), or two forms in one body, were
    silently ignored (the default office, the template over the version): 422 at each such member, nothing written."""
    refused = api.post("/scenes/lab/draft", json=body, headers=api.auth())
    assert refused.status_code == 422, refused.text
    errors = refused.json()["errors"]
    assert [e["path"] for e in errors] == paths and all(says in e["message"] for e in errors), errors
    assert api.get("/scenes/lab/draft").status_code == 404


@pytest.mark.parametrize(
    ("template", "named"),
    [
        (list(range(200_000)), "(a JSON array, not a name)"),
        ({f"k{i}": i for i in range(100_000)}, "(a JSON object, not a name)"),
        (12, "(a JSON number, not a name)"),
        ("x" * 100_000, "'" + "x" * 64 + "…'"),
    ],
)
def test_drafts_api_unknown_template_is_named_not_written_out(api: Api, template: Any, named: str) -> None:
    """A template that is not a name is answered with its type, a long name is cut: the answer is a few hundred
    bytes however large the value (a list of 200,000 numbers came back as 3 MB of Python repr)."""
    refused = api.post("/scenes/lab/draft", json={"template": template}, headers=api.auth())
    assert refused.status_code == 422, refused.text[:300]
    assert len(refused.content) < 1_000
    [error] = refused.json()["errors"]
    assert (error["path"], error["code"]) == ("/template", "template_unknown")
    assert refused.json()["detail"].startswith("invalid request: ")  # the request's fault, not a scene's
    assert error["message"].startswith(f"unknown template {named}: one of ")


@pytest.mark.parametrize(
    ("template", "params", "pointer"),
    [
        ("maze", {"cells": "5"}, "/params/cells"),
        ("maze", {"cells": True}, "/params/cells"),
        ("maze", {"cells": 4, "seed": False}, "/params/seed"),
        ("maze", {"cells": 4.5}, "/params/cells"),
        ("office", {"storeys": "2"}, "/params/storeys"),
        ("gallery", {"cabinets": True}, "/params/cabinets"),
        ("gallery", {"cabinets": "0.5"}, "/params/cabinets"),
    ],
)
def test_drafts_api_template_params_of_the_wrong_json_type_are_422(
    api: Api, template: str, params: dict[str, Any], pointer: str
) -> None:
    """The parameters' JSON schema says integer / number: a string or a boolean is refused at its pointer (pydantic's
    lax mode had read "5" as 5 and true as 1), and nothing is stored."""
    body = {"template": template, "params": params}
    refused = api.post("/scenes/lab/draft", json=body, headers=api.auth())
    assert refused.status_code == 422, refused.text
    assert [(e["path"], e["code"]) for e in refused.json()["errors"]] == [(pointer, "template_param")]
    assert refused.json()["detail"].startswith("invalid request: ")
    assert api.get("/scenes/lab/draft").status_code == 404


def test_drafts_api_template_params_unknown_by_the_thousand_are_listed_up_to_max_issues(api: Api) -> None:
    """Each parameter the template does not take is an error, listed up to MAX_ISSUES then counted, after those of
    the parameters it takes: 300,000 unknown names had been answered with 300,000 errors (27 MB, 4 s)."""
    params: dict[str, Any] = {"cells": -1, **{f"k{i}": 0 for i in range(5_000)}}
    refused = api.post("/scenes/lab/draft", json={"template": "maze", "params": params}, headers=api.auth())
    assert refused.status_code == 422, refused.text[:500]
    errors = refused.json()["errors"]
    assert len(errors) == MAX_ISSUES + 1
    assert [e["path"] for e in errors[:3]] == ["/params/cells", "/params/k0", "/params/k1"]
    assert {e["code"] for e in errors[1:-1]} == {"extra_forbidden"}  # as /generate's, the CLI's, any body's
    assert errors[1]["message"] == "unknown parameter 'k0': template 'maze' takes 'seed' and 'cells' only"
    assert errors[-1]["code"] == "issues_truncated" and errors[-1]["message"].startswith("4,001 more problems")
    assert api.get("/scenes/lab/draft").status_code == 404


def test_drafts_api_template_param_unknown_name_is_escaped_in_its_pointer(api: Api) -> None:
    """An unknown parameter's name is escaped as RFC 6901 says: "/params/a~1b~0c" names params["a/b~c"]."""
    body = {"template": "office", "params": {"a/b~c": 1}}
    refused = api.post("/scenes/lab/draft", json=body, headers=api.auth())
    assert [(e["path"], e["code"]) for e in refused.json()["errors"]] == [("/params/a~1b~0c", "extra_forbidden")]


def test_drafts_api_template_integers_may_be_written_with_a_zero_fraction(api: Api) -> None:
    """JSON Schema's integer is a number with no fraction: 4.0 is 4."""
    made = api.post("/scenes/lab/draft", json={"template": "maze", "params": {"cells": 4.0}}, headers=api.auth())
    assert made.status_code == 201, made.text
    assert made.json()["description"] == from_template("maze", {"cells": 4}, "lab")


def test_drafts_api_template_past_a_limit_points_at_its_params(tmp_path: Path) -> None:
    """Parameters within the template's schema can still make more cells than SCENEFORGE_MAX_CELLS allows:
    the 422 names the limit and points at the params the client sent, not into a description it never saw."""
    for api in start_api(tmp_path, limits={"max_cells": 50}):
        body = {"template": "maze", "params": {"cells": 60}}
        refused = api.post("/scenes/lab/draft", json=body, headers=api.auth())
        assert refused.status_code == 422, refused.text
        problem = refused.json()
        assert problem["limit"] == "SCENEFORGE_MAX_CELLS" and [e["path"] for e in problem["errors"]] == ["/params"]
        assert "template 'maze'" in problem["detail"] and "cell count is 60, above the limit of 50" in problem["detail"]
        assert api.get("/scenes/lab/draft").status_code == 404
        made = api.post("/scenes/lab/draft", json={"template": "maze", "params": {"cells": 50}}, headers=api.auth())
        assert made.status_code == 201, made.text


def test_drafts_api_build_is_private_until_published(draft: Api) -> None:
    published = draft.post("/scenes/build", content=json.dumps(TWO_ROOMS), headers=draft.auth()).json()
    _patch(draft, [{"op": "add", "path": "/props/draft", "value": "yes"}])
    job = draft.post("/scenes/two-rooms/draft/build", headers=draft.auth()).json()
    done = _wait_job(draft, job["jobId"])
    assert done["status"] == "Succeeded" and done["result"]["published"] is False
    n, etag = done["result"]["version"], done["result"]["eTag"]
    # The public file is still the published one; the draft build needs read access by exact URL.
    assert draft.get("/scenes/two-rooms.glb").headers["etag"] == f'"{published["eTag"]}"'
    assert draft.get(f"/scenes/two-rooms@v{n}.glb").status_code == 401
    assert draft.get(f"/scenes/two-rooms.{etag}.glb").status_code == 401
    readable = draft.get(f"/scenes/two-rooms@v{n}.glb", headers=draft.auth("read"))
    assert readable.status_code == 200 and "private" in readable.headers["cache-control"]
    # Publish: the pointer moves; then roll back to the first version.
    moved = draft.post("/scenes/two-rooms/publish", json={"version": n}, headers=draft.auth())
    assert moved.status_code == 200 and moved.json()["rev"] == job["rev"]
    assert draft.get("/scenes/two-rooms.glb").headers["etag"] == f'"{etag}"'
    assert draft.get(f"/scenes/two-rooms@v{n}.glb").status_code == 200
    back = draft.post("/scenes/two-rooms/publish", json={"version": published["version"]}, headers=draft.auth())
    assert back.status_code == 200
    assert draft.get("/scenes/two-rooms.glb").headers["etag"] == f'"{published["eTag"]}"'


@pytest.mark.parametrize(("query", "quantized"), [("compress=true", True), ("compress=true&quantize=false", False)])
def test_drafts_api_build_options_mean_what_the_cli_flags_mean(draft: Api, query: str, quantized: bool) -> None:
    from tests.support.glb_reader import read_glb

    job = draft.post(f"/scenes/two-rooms/draft/build?{query}", headers=draft.auth()).json()
    done = _wait_job(draft, job["jobId"])
    assert done["status"] == "Succeeded", done
    glb = draft.get(f"/scenes/two-rooms@v{done['result']['version']}.glb", headers=draft.auth("read")).content
    used = set(read_glb(glb).json.get("extensionsUsed", []))
    assert "EXT_meshopt_compression" in used and ("KHR_mesh_quantization" in used) == quantized


def test_drafts_api_publish_refusals(draft: Api) -> None:
    draft.post("/scenes/build", content=json.dumps(TWO_ROOMS), headers=draft.auth())
    assert draft.post("/scenes/two-rooms/publish", json={"version": 9}, headers=draft.auth()).status_code == 404
    assert draft.post("/scenes/nope/publish", json={"version": 1}, headers=draft.auth()).status_code == 404
    assert draft.post("/scenes/two-rooms/publish", json={"version": "1"}, headers=draft.auth()).status_code == 422
    # a member publish does not take is refused at it, nothing moved (it was ignored)
    odd = draft.post("/scenes/two-rooms/publish", json={"version": 1, "ifRev": 3}, headers=draft.auth())
    assert odd.status_code == 422 and odd.json()["errors"][0]["path"] == "/ifRev", odd.text
    # a request's own field out of range is told as such, not as an invalid scene
    huge = draft.post("/scenes/two-rooms/publish", json={"version": 2**63}, headers=draft.auth())
    assert huge.status_code == 422 and huge.json()["detail"].startswith("invalid request: /version: "), huge.text


def test_drafts_api_publish_honours_if_match(api: Api) -> None:
    """RFC 9110 §13.1.1: an If-Match on publish is evaluated, against the published version's ETag (strong
    comparison), before anything moves: a client rolling back from the version it saw gets 412 once another
    publish moved the pointer, instead of undoing that publish unseen."""
    scenes = [TWO_ROOMS, scene(TWO_ROOMS, props={"author": "second"})]
    built = [api.post("/scenes/build", content=json.dumps(s), headers=api.auth()).json() for s in scenes]
    first, second = built[0]["eTag"], built[1]["eTag"]
    assert [b["version"] for b in built] == [1, 2]

    def publish(n: int, tag: str, scene_id: str = "two-rooms") -> Any:
        headers = {**api.auth(), "If-Match": tag}
        return api.post(f"/scenes/{scene_id}/publish", json={"version": n}, headers=headers)

    def published() -> int:
        return next(v["n"] for v in api.get("/scenes/two-rooms/versions").json() if v["latest"])

    for stale in (f'"{first}"', f'W/"{second}"', '"rev-1"'):
        refused = publish(1, stale)
        assert refused.status_code == 412, (stale, refused.text)
        assert second in refused.json()["detail"] and published() == 2
    assert publish(1, f'"{first}", "{second}"').status_code == 200 and published() == 1
    assert publish(2, "*").status_code == 200 and published() == 2
    malformed = publish(1, '"x" "y"')
    assert malformed.status_code == 422 and published() == 2
    assert [(e["path"], e["code"]) for e in malformed.json()["errors"]] == [("/header/If-Match", "if_match_invalid")]
    # a scene with versions but none published: * does not hold
    api.call(api.services.scenes.publish_build, fake_build("unpub", b"x" * 100), None, publish=False)
    assert publish(1, "*", "unpub").status_code == 412
    assert publish(1, '"nope"', "missing").status_code == 404


def test_drafts_api_import_revision_from_build(api: Api) -> None:
    built = api.post("/scenes/build", content=json.dumps(TWO_ROOMS), headers=api.auth())
    assert built.status_code == 200
    history = api.get("/scenes/two-rooms/revisions").json()["revisions"]
    assert [r["source"] for r in history] == ["import"]
    assert api.get("/scenes/two-rooms/draft").json()["description"] == TWO_ROOMS


def test_drafts_api_import_revision_from_enqueue_names_the_caller(api: Api) -> None:
    # a queued build records its import revision by the key that queued it, as /scenes/build does
    queued = api.post("/jobs/enqueue", content=json.dumps(TWO_ROOMS), headers=api.auth())
    assert queued.status_code == 200, queued.text
    assert _wait_job(api, queued.json()["jobId"])["status"] == "Succeeded"
    history = api.get("/scenes/two-rooms/revisions").json()["revisions"]
    assert [(r["source"], r["author"]) for r in history] == [("import", "test write")]


def test_drafts_api_events(draft: Api) -> None:
    _patch(draft, [{"op": "add", "path": "/props/e", "value": "1"}])
    events = draft.call(draft.app.state.jobs.log.read, 0, scene_id="two-rooms")
    revised = [e for e in events if e.type == "draft.revised"]
    assert [(e.body["rev"], e.body["source"], e.body["author"]) for e in revised] == [
        (1, "user", "test write"),
        (2, "user", "test write"),
    ]


def test_drafts_api_scene_without_a_draft_starts_from_its_published_description(api: Api, tmp_path: Path) -> None:
    # a demo loaded at start is published without a draft (no import revision)
    demo = tmp_path / "two-rooms.json"
    demo.write_text(json.dumps(TWO_ROOMS, indent=1))
    assert api.call(load_demos, api.services, [demo]) == ["two-rooms@v1"]
    assert api.get("/scenes/two-rooms/draft").status_code == 404
    etag = api.get("/scenes/two-rooms/versions").json()[0]["eTag"]
    for ref in ("two-rooms", "two-rooms@v1", f"two-rooms.{etag}"):
        got = api.get(f"/scenes/{ref}/description")
        assert got.status_code == 200, (ref, got.text)
        assert got.json() == TWO_ROOMS and got.headers["x-scene-version"] == "1"
    assert api.get("/scenes/two-rooms/description").headers["cache-control"] == "no-cache"
    assert "immutable" in api.get("/scenes/two-rooms@v1/description").headers["cache-control"]
    assert api.get("/scenes/two-rooms@v2/description").status_code == 404
    assert api.get("/scenes/nope/description").status_code == 404
    # the first edit: the draft from the published version, then the patch on top
    made = api.post("/scenes/two-rooms/draft", json={"fromVersion": 1}, headers=api.auth())
    assert made.status_code == 201 and made.json()["description"] == TWO_ROOMS
    ok = _patch(api, [{"op": "add", "path": "/props/x", "value": "1"}], **{"If-Match": '"rev-1"'})
    assert ok.status_code == 200 and ok.json()["rev"] == 2
    history = api.get("/scenes/two-rooms/revisions").json()["revisions"]
    assert [(r["rev"], r["source"]) for r in history] == [(2, "user"), (1, "user")]
    assert api.post("/scenes/two-rooms/draft", json={"fromVersion": 0}, headers=api.auth()).status_code == 422


def test_drafts_api_description_of_a_draft_build_and_a_glb_build(draft: Api) -> None:
    draft.post("/scenes/build", content=json.dumps(TWO_ROOMS), headers=draft.auth())
    _patch(draft, [{"op": "add", "path": "/props/draft", "value": "yes"}])
    done = _wait_job(draft, draft.post("/scenes/two-rooms/draft/build", headers=draft.auth()).json()["jobId"])
    n = done["result"]["version"]
    # an unpublished version's description needs read access, like its GLB
    assert draft.get(f"/scenes/two-rooms@v{n}/description").status_code == 401
    got = draft.get(f"/scenes/two-rooms@v{n}/description", headers=draft.auth("read"))
    assert got.status_code == 200 and got.json()["props"]["draft"] == "yes"
    assert "private" in got.headers["cache-control"]
    assert "draft" not in draft.get("/scenes/two-rooms/description").json()["props"]
    built = draft.post(
        "/scenes/build", content=blender_scene(), headers=draft.auth() | {"content-type": "model/gltf-binary"}
    )
    assert built.status_code == 200, built.text
    missing = draft.get(f"/scenes/{built.json()['sceneId']}/description")
    assert missing.status_code == 404 and "tagged GLB" in missing.json()["detail"]


def test_drafts_api_draft_from_a_glb_build_is_404(api: Api) -> None:
    """``{"fromVersion": n}`` of a version built from a tagged GLB (which keeps the GLB, no description) is the 404
    its description's read answers, writing nothing: it had parsed the GLB's bytes as JSON, an internal error (500)."""
    built = api.post(
        "/scenes/build", content=blender_scene(), headers=api.auth() | {"content-type": "model/gltf-binary"}
    )
    assert built.status_code == 200, built.text
    scene_id, n = built.json()["sceneId"], built.json()["version"]
    before = api.get(f"/scenes/{scene_id}/draft")
    for query in ("", "?replace=true"):
        refused = api.post(f"/scenes/{scene_id}/draft{query}", json={"fromVersion": n}, headers=api.auth())
        assert refused.status_code == 404, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["detail"].endswith("kept no description (it was built from a tagged GLB)")
    after = api.get(f"/scenes/{scene_id}/draft")
    assert (after.status_code, after.content) == (before.status_code, before.content)


def test_drafts_api_reads_of_a_private_scene_are_private(api: Api) -> None:
    """docs/security.md: responses for private scenes carry ``Cache-Control: private``. The draft, its revisions
    and an assistant session hold the whole description: answered for an ``X-API-Key`` (which, unlike
    ``Authorization``, does not keep a shared cache from storing the answer) they carried no Cache-Control,
    so a shared cache could keep a private scene's draft and show it to anyone asking the same URL."""
    built = api.post("/scenes/build?private=true", content=json.dumps(TWO_ROOMS), headers=api.auth())
    assert built.status_code == 200, built.text  # a build of a new scene starts its draft
    read = api.auth("read")
    for url in ("/scenes/two-rooms/draft", "/scenes/two-rooms/revisions", "/scenes/two-rooms/revisions/1"):
        assert api.get(url).status_code == 401, url  # private: a credential is needed
        response = api.get(url, headers=read)
        assert response.status_code == 200, (url, response.text)
        assert response.headers.get("cache-control") == "private, no-cache", url


def test_drafts_api_reads_of_a_public_scene_stay_shareable(draft: Api) -> None:
    """Shareable, but revalidated on every use (``no-cache``; the draft by its ETag): without ``Cache-Control`` the
    200 is heuristically cacheable (RFC 9111 §4.2.2), and a shared cache would go on showing a stale draft, or the
    whole description of a scene made private since, to anyone."""
    for url in ("/scenes/two-rooms/draft", "/scenes/two-rooms/revisions", "/scenes/two-rooms/revisions/1"):
        response = draft.get(url)
        assert response.status_code == 200, (url, response.text)
        assert response.headers.get("cache-control") == "no-cache", url
    tag = draft.get("/scenes/two-rooms/draft").headers["etag"]
    revalidated = draft.get("/scenes/two-rooms/draft", headers={"if-none-match": tag})
    assert (revalidated.status_code, revalidated.headers.get("cache-control")) == (304, "no-cache")


@pytest.mark.parametrize("written", ["0_1", "+1", "1.0", "%201", "01"])
def test_drafts_api_revision_numbers_are_written_with_digits_only(draft: Api, written: str) -> None:
    assert draft.get("/scenes/two-rooms/revisions/1").status_code == 200
    refused = draft.get(f"/scenes/two-rooms/revisions/{written}")
    assert refused.status_code == 422 and refused.headers["content-type"].startswith("application/problem+json")


def test_drafts_api_create_honours_star_preconditions(draft: Api) -> None:
    """``If-Match: *`` asks that a draft exist, ``If-None-Match: *`` that none does (RFC 9110 §13.1.1-2): 412 and
    nothing written otherwise, before the 409 a second create would get."""
    other = scene(TWO_ROOMS, sceneId="other")
    for query in ("", "?replace=true"):
        absent = draft.post(f"/scenes/other/draft{query}", json=other, headers={**draft.auth(), "If-Match": "*"})
        assert absent.status_code == 412 and "If-Match: *" in absent.json()["detail"]
        assert draft.get("/scenes/other/draft").status_code == 404
        held = {**draft.auth(), "If-None-Match": "*"}
        present = draft.post(f"/scenes/two-rooms/draft{query}", json=scene(TWO_ROOMS, props={"x": "1"}), headers=held)
        assert present.status_code == 412 and "If-None-Match: *" in present.json()["detail"]
        assert draft.get("/scenes/two-rooms/draft").json()["rev"] == 1
    made = draft.post("/scenes/other/draft", json=other, headers={**draft.auth(), "If-None-Match": "*"})
    assert made.status_code == 201
    replaced = scene(TWO_ROOMS, props={"x": "2"})
    again = draft.post("/scenes/two-rooms/draft?replace=true", json=replaced, headers={**draft.auth(), "If-Match": "*"})
    assert again.status_code == 201 and again.json()["rev"] == 2


def test_drafts_api_writes_honour_if_none_match(draft: Api) -> None:
    """RFC 9110 §13.1.2: an If-None-Match on a write is evaluated, by weak comparison: one naming the draft's
    current rev (``W/`` or not, alone or in a list), or ``*`` (a draft exists), is 412 and nothing is written;
    one naming other revs lets the write through; a malformed one is 422, as a malformed If-Match is."""
    change = [{"op": "add", "path": "/props/x", "value": "1"}]
    auth = draft.auth()

    def writes(header: str) -> list[Any]:
        inm = {**auth, "If-None-Match": header}
        return [
            _patch(draft, change, **{"If-None-Match": header}),
            draft.post("/scenes/two-rooms/draft/undo", headers=inm),
            draft.post("/scenes/two-rooms/draft/redo", headers=inm),
            draft.post("/scenes/two-rooms/draft/build", headers=inm),
            draft.post("/scenes/two-rooms/draft?replace=true", json=scene(TWO_ROOMS, props={"y": "1"}), headers=inm),
        ]

    for header in ('"rev-1"', 'W/"rev-1"', '"rev-7", "rev-1"', "*"):
        answers = writes(header)
        assert [a.status_code for a in answers] == [412] * 5, (header, [a.text for a in answers])
        assert "If-None-Match" in answers[0].json()["detail"]
    malformed = _patch(draft, change, **{"If-None-Match": '"rev-1" "rev-2"'})
    assert malformed.status_code == 422
    assert [(e["path"], e["code"]) for e in malformed.json()["errors"]] == [
        ("/header/If-None-Match", "if_none_match_invalid")
    ]
    assert [r["rev"] for r in draft.get("/scenes/two-rooms/revisions").json()["revisions"]] == [1]
    assert _patch(draft, change, **{"If-None-Match": '"rev-7"'}).status_code == 200
    undone = draft.post("/scenes/two-rooms/draft/undo", headers={**auth, "If-None-Match": 'W/"rev-1"'})
    assert undone.status_code == 200 and undone.json()["rev"] == 3


def test_drafts_api_publish_honours_if_none_match(api: Api) -> None:
    """RFC 9110 §13.1.2 on publish: an If-None-Match naming the published version's ETag (weak comparison), or
    ``*`` when a version is published, is 412 and the pointer stays."""
    scenes = [TWO_ROOMS, scene(TWO_ROOMS, props={"author": "second"})]
    built = [api.post("/scenes/build", content=json.dumps(s), headers=api.auth()).json() for s in scenes]
    second = built[1]["eTag"]

    def publish(tag: str) -> Any:
        return api.post("/scenes/two-rooms/publish", json={"version": 1}, headers={**api.auth(), "If-None-Match": tag})

    for held in (f'"{second}"', f'W/"{second}"', f'"x", "{second}"', "*"):
        assert publish(held).status_code == 412, held
    assert publish(f'"{built[0]["eTag"]}"').status_code == 200


def test_drafts_api_a_patch_that_waited_out_another_turn_says_so(
    draft: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A patch that waited TURN_WAIT_S for another change's turn is 503 ``storage_unavailable``, and says why: the
    draft stayed busy with another change. It said "storage is unavailable", as for a database that is down."""
    monkeypatch.setattr(draft_turns, "TURN_WAIT_S", 0.1)
    with sqlite3.connect(tmp_path / "data" / "sceneforge.db") as db:
        db.execute("UPDATE drafts SET turn = 'other', turn_until = '2999-01-01 00:00:00.000000'")
    reply = _patch(draft, [{"op": "add", "path": "/props/a", "value": 1}])
    assert reply.status_code == 503, reply.text
    body = reply.json()
    assert body["code"] == "storage_unavailable" and "another change" in body["detail"], body
    assert "try again" in body["detail"] and draft.get("/scenes/two-rooms/draft").headers["etag"] == '"rev-1"'


def test_drafts_api_a_build_equal_to_a_version_names_it(draft: Api) -> None:
    """A draft built again after an edit and its undo makes no new version (docs/drafts.md, "Builds and
    publishing"): the job names the version with the rev it built, ``published`` says whether that version
    was ever published, and the version keeps the rev it was first built from."""
    first = _wait_job(draft, draft.post("/scenes/two-rooms/draft/build", headers=draft.auth()).json()["jobId"])
    assert first["result"]["rev"] == 1 and first["result"]["published"] is False
    _patch(draft, [{"op": "add", "path": "/props/n", "value": "1"}])
    assert draft.post("/scenes/two-rooms/draft/undo", headers=draft.auth()).json()["rev"] == 3
    again = _wait_job(draft, draft.post("/scenes/two-rooms/draft/build", headers=draft.auth()).json()["jobId"])
    assert again["status"] == "Succeeded"
    assert (again["result"]["version"], again["result"]["eTag"]) == (
        first["result"]["version"],
        first["result"]["eTag"],
    )
    assert again["result"]["rev"] == 3 and again["result"]["published"] is False
    assert len(draft.get("/scenes/two-rooms/versions", headers=draft.auth("read")).json()) == 1
    moved = draft.post("/scenes/two-rooms/publish", json={"version": first["result"]["version"]}, headers=draft.auth())
    assert moved.status_code == 200 and moved.json()["rev"] == 1
    third = _wait_job(draft, draft.post("/scenes/two-rooms/draft/build", headers=draft.auth()).json()["jobId"])
    assert third["result"]["version"] == first["result"]["version"] and third["result"]["published"] is True
    assert third["result"]["rev"] == 3  # answered at once (the published version's bytes), still with its rev


def test_drafts_api_revisions_come_in_pages_newest_first(draft: Api) -> None:
    """``take`` and ``before`` page through the history; ``next`` is the ``before`` of the next page, null at its
    end (docs/drafts.md)."""
    for k in range(5):
        _patch(draft, [{"op": "add", "path": f"/props/p{k}", "value": str(k)}])
    pages, before = [], None
    while True:
        query = "?take=2" + (f"&before={before}" if before is not None else "")
        answer = draft.get(f"/scenes/two-rooms/revisions{query}")
        assert answer.status_code == 200, answer.text
        pages.append([r["rev"] for r in answer.json()["revisions"]])
        before = answer.json()["next"]
        if before is None:
            break
    assert pages == [[6, 5], [4, 3], [2, 1]]
    assert draft.get("/scenes/two-rooms/revisions?before=1").json() == {
        "sceneId": "two-rooms",
        "revisions": [],
        "next": None,
    }
    assert draft.get("/scenes/two-rooms/revisions?before=0").status_code == 422


def test_drafts_api_a_page_of_revisions_holds_a_bounded_size_of_ops(draft: Api) -> None:
    """Each revision's ops were listed in full whatever their size: 500 revisions of 32 MiB patches made one answer
    of gigabytes, which anyone may ask for on a public scene. A page stops once its ops pass
    REVISIONS_PAGE_BYTES (8 MiB), the first revision always listed; ``next`` goes on from there."""
    chunk = "x" * 60_000  # props hold strings of up to 64 Ki characters: 50 of them make a 3 MB patch
    for k in range(4):
        ops = [{"op": "add", "path": f"/props/big{k}_{j}", "value": chunk} for j in range(50)]
        assert _patch(draft, ops).status_code == 200
    first = draft.get("/scenes/two-rooms/revisions?take=50")
    assert first.status_code == 200
    listed = [r["rev"] for r in first.json()["revisions"]]
    assert listed == [5, 4, 3] and first.json()["next"] == 3  # 3 + 3 MB of ops before the third: under 8 MiB
    assert len(first.content) < 10 << 20
    rest = draft.get("/scenes/two-rooms/revisions?take=50&before=3").json()
    assert [r["rev"] for r in rest["revisions"]] == [2, 1] and rest["next"] is None


def test_drafts_api_a_draft_from_a_version_racing_the_scene_delete_is_not_made(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``{"fromVersion": n}`` reads the version's description, then writes the draft: a DELETE of the scene that
    commits between the two must not be undone by the write (a scene row made again, holding a draft of the
    deleted scene's description). The draft is refused (404), and nothing of it stays: no row, no blob."""
    demo = tmp_path / "two-rooms.json"
    demo.write_text(json.dumps(TWO_ROOMS))
    assert api.call(load_demos, api.services, [demo]) == ["two-rooms@v1"]
    repo = api.app.state.jobs.drafts
    create, deleted = repo.create, []

    async def deleted_first(*args: Any, **kwargs: Any) -> Any:
        if not deleted:  # the description is read and checked: the scene goes before the draft is written
            deleted.append(await api.client.delete("/scenes/two-rooms", headers=api.auth()))
        return await create(*args, **kwargs)

    monkeypatch.setattr(repo, "create", deleted_first)
    made = api.post("/scenes/two-rooms/draft", json={"fromVersion": 1}, headers=api.auth())
    assert [r.status_code for r in deleted] == [204]
    assert made.status_code == 404, made.text
    assert "v1" in made.json()["detail"] and "deleted" in made.json()["detail"]
    assert api.get("/scenes/two-rooms/draft").status_code == 404
    assert api.get("/scenes/two-rooms/revisions").status_code == 404
    assert "two-rooms" not in [s["sceneId"] for s in api.get("/scenes").json()]
    stored = api.call(collect, api.services.scenes.engine, api.services.blobs, dry_run=True, grace=timedelta(0))
    assert stored.orphans == []  # the draft's snapshot is not left behind, named by nothing


def test_drafts_api_every_412_and_304_names_the_current_etag(draft: Api) -> None:
    """A precondition that does not hold is answered with the tag that would: ``ETag: "rev-<n>"`` on every 412
    (and 304) of the draft's reads and writes, so a client resyncs from the answer; a publish's 412 carries the
    published version's ETag, the one its If-Match takes. No draft (``If-Match: *``): no ETag to give."""
    _patch(draft, [{"op": "add", "path": "/props/n", "value": "1"}])  # rev 2
    stale = {**draft.auth(), "If-Match": '"rev-1"'}
    held = {**draft.auth(), "If-None-Match": '"rev-2"'}
    answers = {
        "GET If-Match": draft.get("/scenes/two-rooms/draft", headers={"If-Match": '"rev-1"'}),
        "GET If-Match W/": draft.get("/scenes/two-rooms/draft", headers={"If-Match": 'W/"rev-2"'}),
        "GET If-None-Match": draft.get("/scenes/two-rooms/draft", headers={"If-None-Match": '"rev-2"'}),
        "PATCH": _patch(draft, [{"op": "add", "path": "/props/m", "value": "1"}], **{"If-Match": '"rev-1"'}),
        "PATCH If-None-Match": _patch(draft, [], **{"If-None-Match": "*"}),
        "undo": draft.post("/scenes/two-rooms/draft/undo", headers=stale),
        "redo": draft.post("/scenes/two-rooms/draft/redo", headers=held),
        "build": draft.post("/scenes/two-rooms/draft/build", headers=stale),
        "replace": draft.post("/scenes/two-rooms/draft?replace=true", json=TWO_ROOMS, headers=stale),
        "create If-None-Match: *": draft.post(
            "/scenes/two-rooms/draft", json=TWO_ROOMS, headers={**draft.auth(), "If-None-Match": "*"}
        ),
    }
    statuses = {name: (a.status_code, a.headers.get("etag")) for name, a in answers.items()}
    assert statuses == {name: (304 if name == "GET If-None-Match" else 412, '"rev-2"') for name in answers}
    absent = draft.post(
        "/scenes/other/draft", json=scene(TWO_ROOMS, sceneId="other"), headers={**draft.auth(), "If-Match": "*"}
    )
    assert absent.status_code == 412 and "etag" not in absent.headers
    published = draft.post("/scenes/build", content=json.dumps(TWO_ROOMS), headers=draft.auth()).json()["eTag"]
    refused = draft.post(
        "/scenes/two-rooms/publish", json={"version": 1}, headers={**draft.auth(), "If-Match": '"0123456789abcdef"'}
    )
    assert (refused.status_code, refused.headers.get("etag")) == (412, f'"{published}"')


def test_drafts_api_preconditions_sent_on_several_lines_are_one_list(draft: Api) -> None:
    """``If-Match`` and ``If-None-Match`` are lists, and a list may come on several lines (RFC 9110 §5.3: they are
    one list, joined by commas), as the GLB reads take them: only the first line was read, so an ``If-None-Match``
    naming the current rev on its second line let a write through, and an ``If-Match`` naming it there was 412."""
    _patch(draft, [{"op": "add", "path": "/props/n", "value": "1"}])  # rev 2
    auth = list(draft.auth().items())

    def patch(lines: list[tuple[str, str]], value: str) -> Any:
        ops = json.dumps([{"op": "add", "path": "/props/m", "value": value}])
        return draft.request("PATCH", "/scenes/two-rooms/draft", content=ops,
                             headers=[*auth, ("Content-Type", PATCH), *lines])  # fmt: skip

    held = patch([("If-None-Match", '"rev-9"'), ("If-None-Match", '"rev-2"')], "not written")
    assert held.status_code == 412 and draft.get("/scenes/two-rooms/draft").json()["rev"] == 2
    undo = draft.request("POST", "/scenes/two-rooms/draft/undo",
                         headers=[*auth, ("If-None-Match", '"rev-9"'), ("If-None-Match", 'W/"rev-2"')])  # fmt: skip
    assert undo.status_code == 412 and draft.get("/scenes/two-rooms/draft").json()["rev"] == 2
    star = patch([("If-Match", '"rev-2"'), ("If-Match", "*")], "not written")  # * alone, never in a list
    assert star.status_code == 422 and star.json()["errors"][0]["code"] == "if_match_invalid"
    matched = patch([("If-Match", '"rev-1"'), ("If-Match", '"rev-2"')], "written")
    assert matched.status_code == 200 and matched.json()["rev"] == 3
    read = draft.request(
        "GET", "/scenes/two-rooms/draft", headers=[("If-None-Match", '"rev-1"'), ("If-None-Match", '"rev-3"')]
    )
    assert read.status_code == 304
    read = draft.request("GET", "/scenes/two-rooms/draft", headers=[("If-Match", '"rev-1"'), ("If-Match", '"rev-3"')])
    assert read.status_code == 200
    published = draft.post("/scenes/build", content=json.dumps(TWO_ROOMS), headers=draft.auth()).json()["eTag"]
    refused = draft.request("POST", "/scenes/two-rooms/publish", json={"version": 1},
                            headers=[*auth, ("If-None-Match", '"x"'), ("If-None-Match", f'"{published}"')])  # fmt: skip
    assert refused.status_code == 412


def test_drafts_api_a_reason_on_two_lines_is_refused_not_cut_to_the_first(draft: Api) -> None:
    """``X-Change-Reason`` holds one text: sent on two lines, the first was stored and the second dropped unseen.
    It is a 422 ``reason_invalid`` now, writing nothing, and like every header's refusal it says the request is
    invalid (not the scene). ``Prefer`` is a list: ``return=minimal`` on a second line is read."""
    auth = list(draft.auth().items())
    ops = json.dumps([{"op": "add", "path": "/props/n", "value": "1"}])
    reasons = [("X-Change-Reason", "a"), ("X-Change-Reason", "b")]
    twice = draft.request(
        "PATCH", "/scenes/two-rooms/draft", content=ops, headers=[*auth, ("Content-Type", PATCH), *reasons]
    )
    assert twice.status_code == 422, twice.text
    assert [(e["path"], e["code"]) for e in twice.json()["errors"]] == [("/header/X-Change-Reason", "reason_invalid")]
    assert twice.json()["detail"].startswith("invalid request: /header/X-Change-Reason: X-Change-Reason is sent on 2")
    assert draft.get("/scenes/two-rooms/draft").json()["rev"] == 1
    malformed = _patch(draft, [], **{"If-Match": "rev-1"})
    assert malformed.json()["detail"].startswith("invalid request: /header/If-Match:"), malformed.text
    prefer = [("Prefer", "respond-async"), ("Prefer", "return=minimal")]
    minimal = draft.request(
        "PATCH", "/scenes/two-rooms/draft", content=ops, headers=[*auth, ("Content-Type", PATCH), *prefer]
    )
    assert minimal.status_code == 200 and "description" not in minimal.json(), minimal.text
    assert minimal.headers["preference-applied"] == "return=minimal"


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("If-Match", "rev-1"),  # unquoted: malformed on a write
        ("If-Match", '"rev-1", *'),
        ("If-None-Match", "rev-1"),
        ("X-Change-Reason", "UTF-8''caf%E9"),  # not UTF-8 once decoded
        ("X-Change-Reason", "r" * 1_001),  # past the limit
    ],
)
def test_drafts_api_a_write_of_no_draft_is_404_whatever_its_headers(draft: Api, header: str, value: str) -> None:
    """docs/drafts.md: a patch of a scene with no draft is 404 whatever it holds. A malformed ``If-Match``,
    ``If-None-Match`` or ``X-Change-Reason`` was read first, so such a patch, undo, redo or draft build was a 422
    before the draft was looked for (a body that is not JSON was 404 already); with the draft there, still 422."""
    auth = {**draft.auth(), "Content-Type": PATCH, header: value}
    writes = [("PATCH", "draft"), ("POST", "draft/undo"), ("POST", "draft/redo"), ("POST", "draft/build")]
    for method, path in writes:
        if header == "X-Change-Reason" and path == "draft/build":
            continue  # a build records no reason: the header is not read
        for body in ("[]", "not json"):
            sent = draft.request(method, f"/scenes/nope/{path}", content=body, headers=auth)
            assert sent.status_code == 404, (method, path, body, sent.text)
        there = draft.request(method, f"/scenes/two-rooms/{path}", content="[]", headers=auth)
        assert there.status_code == 422 and there.json()["errors"][0]["path"] == f"/header/{header}", there.text
    assert draft.get("/scenes/two-rooms/draft").json()["rev"] == 1


@pytest.mark.parametrize(
    ("path", "body", "headers"),
    [
        ("publish", '{"version": "one"}', {}),
        ("publish", '{"version": 1, "extra": 1}', {}),
        ("publish", '{"version": 1}', {"If-Match": "not-a-tag"}),
        ("publish", "not json", {}),
        ("exports", '{"format": "nope"}', {}),
        ("exports", '{"format": "usdz", "extra": 1}', {}),
        ("exports", '{"format": "usdz", "version": -1}', {}),
    ],
)
def test_drafts_api_a_publish_or_export_of_no_scene_is_404_whatever_it_holds(
    draft: Api, path: str, body: str, headers: dict[str, str]
) -> None:
    """Publishing or exporting a scene that does not exist is 404 whatever the request holds (a draft write of no
    draft is so too): the body and headers were read first, and a malformed one was a 422 naming what, for a scene
    no one made. With the scene there, still that 422."""
    sent = {**draft.auth(), "Content-Type": "application/json", **headers}
    missing = draft.post(f"/scenes/nope/{path}", content=body, headers=sent)
    assert missing.status_code == 404, missing.text
    there = draft.post(f"/scenes/two-rooms/{path}", content=body, headers=sent)
    assert there.status_code == 422, there.text


@pytest.mark.parametrize(
    ("body", "code"), [(b'{"version": 1, "version": 2}', "json_duplicate_key"), (b'{"version": 1', "json_invalid")]
)
def test_drafts_api_a_publish_body_that_is_not_strict_json_is_an_invalid_request(
    draft: Api, body: bytes, code: str
) -> None:
    """A publish body is the request's own, not a scene: JSON that is not strict (a member twice) or not JSON at all
    is answered 'invalid request: …' (it said 'invalid scene'), as its members' refusals are."""
    headers = {**draft.auth(), "Content-Type": "application/json"}
    refused = draft.post("/scenes/two-rooms/publish", content=body, headers=headers)
    assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == code
    assert refused.json()["detail"].startswith("invalid request: "), refused.text


def test_drafts_api_members_an_op_does_not_define_are_not_stored(draft: Api) -> None:
    """docs/drafts.md (RFC 6902 §4): a 'from' on an add, a 'value' on a remove, any other name are ignored, and
    the revision keeps the operation's own members only."""
    ops = [
        {"op": "add", "path": "/props/n", "value": "1", "from": "/sceneId", "note": "why"},
        {"op": "remove", "path": "/props/n", "value": "ignored"},
        {"op": "add", "path": "/props/m", "value": "2"},
        {"op": "copy", "from": "/props/m", "path": "/props/k", "value": "ignored"},
    ]
    answer = _patch(draft, ops)
    assert answer.status_code == 200, answer.text
    rev = answer.json()["revision"]["rev"]
    stored = draft.get(f"/scenes/two-rooms/revisions/{rev}").json()["ops"]
    assert stored == [
        {"op": "add", "path": "/props/n", "value": "1"},
        {"op": "remove", "path": "/props/n"},
        {"op": "add", "path": "/props/m", "value": "2"},
        {"op": "copy", "from": "/props/m", "path": "/props/k"},
    ]


def test_drafts_api_a_pruned_revision_is_no_longer_kept(draft: Api) -> None:
    """A revision retention removed answers 404 saying so, with the count it keeps and its setting."""
    for k in range(3):
        _patch(draft, [{"op": "add", "path": "/props/k", "value": str(k)}])
    draft.call(draft.app.state.jobs.drafts.prune, keep=1)
    gone = draft.get("/scenes/two-rooms/revisions/2")
    assert gone.status_code == 404
    assert "revision 2 of scene 'two-rooms' is no longer kept" in gone.json()["detail"]
    assert "newest 1,000 (SCENEFORGE_KEEP_REVISIONS)" in gone.json()["detail"]
    assert draft.get("/scenes/two-rooms/revisions/4").status_code == 200


@pytest.mark.parametrize("how", ["client gone", "request cancelled"])
def test_drafts_api_the_check_of_a_patch_stops_when_its_request_ends(
    draft: Api, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """The check of a patch runs in a thread, which takes no cancel: a request cancelled meanwhile, or whose client
    went away, kept its check running to the end (seconds of CPU for a large scene). It stops at its next stage, and
    nothing is written."""
    from sceneforge.api import drafts as drafts_api

    real, stages, leave = drafts_api.check_draft, list[str](), list[Any]()

    def watched(description: Any, scene_id: str, limits: Any, resolve: Any, *, progress: Any = None) -> None:
        def step(stage: str, fraction: float) -> None:
            stages.append(stage)
            if len(stages) == 1:  # the request ends now; wait until its cancel reaches this thread
                anyio.from_thread.run_sync(leave[0])
                for _ in range(2000):  # 10 s at most: past them it never will
                    try:
                        anyio.from_thread.check_cancelled()
                    except BaseException:  # the cancel, seen: the check's own progress must stop it
                        break
                    time.sleep(0.005)
            if progress is not None:
                progress(stage, fraction)

        real(description, scene_id, limits, resolve, progress=step)

    monkeypatch.setattr(drafts_api, "check_draft", watched)
    body = json.dumps([{"op": "add", "path": "/props/x", "value": "1"}]).encode()
    headers = [(b"content-type", PATCH.encode()), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in draft.auth().items()]
    path = "/scenes/two-rooms/draft"
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "PATCH", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
             "server": ("testserver", 80), "client": ("127.0.0.1", 50000)}  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def run() -> None:
        gone, received = anyio.Event(), list[bool]()

        async def receive() -> dict[str, Any]:
            if not received:
                received.append(True)
                return {"type": "http.request", "body": body, "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        with anyio.fail_after(20), anyio.CancelScope() as request:
            leave.append(gone.set if how == "client gone" else request.cancel)
            await draft.app(scope, receive, send)

    draft.call(run)
    assert len(stages) == 1, stages  # stopped at its next stage
    statuses = [m["status"] for m in sent if m["type"] == "http.response.start"]
    assert statuses == ([409] if how == "client gone" else []), sent
    assert draft.get("/scenes/two-rooms/draft").json()["rev"] == 1
