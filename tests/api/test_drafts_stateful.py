"""The drafts contract (docs/drafts.md) as a state machine: random sequences of patches, undo, redo, draft creation
and replacement, draft builds, build-and-publish, publishes, rollbacks and deletes of a scene, each with its
preconditions, run against the in-process API (SQLite, file blobs) and checked against a small model of what the
docs promise.

After every step: the answer's status is the documented one (never a 5xx), the draft as read (its rev, ETag,
description with its members in order, canUndo, canRedo) is the model's, the revision list is the model's (numbers,
parents, sources, authors, reasons), the newest revision's ``before``/``after`` are the model's and its ``ops``
take ``before`` to ``after``, and every version keeps the number, ETag, bytes and rev it was made with; the
published one is what ``/scenes/{id}.glb`` serves. A refused request changes none of it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import jsonpatch
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from tests.api.conftest import TEST01, Api, start_api

PATCH = "application/json-patch+json"
#: Prop names and values: a few, so that rules meet existing ones; names a pointer must escape (``/``, ``~``).
NAMES = st.sampled_from(["a", "b", "c", "x/y", "t~1", "é"])
VALUES = st.sampled_from(["1", "2", "long " * 3, "ü"])
REASONS = st.sampled_from([None, "why", "  padded  "])
#: Precondition headers of a draft write, and whether each lets the write through on an existing draft.
PRECONDITIONS = st.sampled_from(
    ["none", "current", "list", "star", "stale", "weak", "future", "inm-current", "inm-other"]
)
AUTHOR = "test write"


def pointer(name: str) -> str:
    return "/props/" + name.replace("~", "~0").replace("/", "~1")


def canonical(value: Any) -> str:
    """Compact JSON with members in their order: the draft's snapshot text (docs/drafts.md)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass
class Rev:
    rev: int
    parent: int | None
    source: str
    reason: str | None
    before: dict[str, Any] | None
    after: dict[str, Any]
    checked_reason: bool = True


@dataclass
class Ver:
    n: int
    etag: str
    rev: int | None
    description: str = ""  # the text it was built from
    ever_published: bool = False
    size: int | None = None
    created: str | None = None


@dataclass
class Model:
    scene: str
    exists: bool = False  # the scene's row (a draft or a version made it)
    description: dict[str, Any] | None = None  # the draft's, None without one
    revs: list[Rev] = field(default_factory=list)
    undo: list[int] = field(default_factory=list)
    redo: list[int] = field(default_factory=list)
    versions: dict[int, Ver] = field(default_factory=dict)
    published: int | None = None
    last_rev: int = 0  # numbers used by this id, kept across deletes (docs/drafts.md, "Numbers")
    last_version: int = 0
    etag_of: dict[str, str] = field(default_factory=dict)  # description text -> the ETag its build had

    @property
    def rev(self) -> int:
        return self.revs[-1].rev

    def record(self, source: str, reason: str | None, after: dict[str, Any], *, checked_reason: bool = True) -> int:
        """A new revision to ``after``: the stacks as the docs say an edit, undo or redo moves them."""
        rev = self.last_rev + 1
        before = self.description
        parent = self.revs[-1].rev if self.revs else None
        self.revs.append(Rev(rev, parent, source, reason, before, after, checked_reason))
        self.last_rev, self.description = rev, after
        if before is None:
            return rev  # the draft's first revision: nothing to undo
        if source == "undo":
            self.redo.append(self.undo.pop())
        elif source == "redo":
            self.redo.pop()
            self.undo.append(rev)
        else:
            self.undo.append(rev)
            self.redo = []
        return rev

    def retain(self, keep: int) -> None:
        """Retention (docs/drafts.md): the newest ``keep`` revisions, the current one and those on the undo or redo
        stack stay; undo reaches back at most ``keep`` changes."""
        if self.description is None or self.rev <= keep:
            return
        self.undo = self.undo[-keep:]
        protected = {self.rev, *self.undo, *self.redo}
        self.revs = [r for r in self.revs if r.rev > self.rev - keep or r.rev in protected]

    def by_rev(self, rev: int) -> Rev:
        return next(r for r in self.revs if r.rev == rev)

    def forget(self) -> None:
        """The scene deleted: its draft, revisions and versions go; the numbers it used stay used."""
        self.exists, self.description, self.revs, self.undo, self.redo = False, None, [], [], []
        self.versions, self.published, self.etag_of = {}, None, {}


def start(scene: str, props: dict[str, str]) -> dict[str, Any]:
    description = json.loads(TEST01)
    description["sceneId"], description["props"] = scene, dict(props)
    return description


class DraftMachine(RuleBasedStateMachine):
    api: ClassVar[Api]

    def __init__(self) -> None:
        super().__init__()
        self.model = Model(f"sm-{uuid.uuid4().hex[:12]}")
        self.snapshot: Any = None  # the observable state before a refused request

    # -- requests ------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"/scenes/{self.model.scene}"

    def headers(self, precondition: str = "none", reason: str | None = None) -> dict[str, str]:
        headers = dict(self.api.auth())
        rev = self.model.rev if self.model.revs else self.model.last_rev
        headers |= {
            "none": {},
            "current": {"If-Match": f'"rev-{rev}"'},
            "list": {"If-Match": f'"rev-{rev + 7}", "rev-{rev}"'},
            "star": {"If-Match": "*"},
            "stale": {"If-Match": f'"rev-{rev - 1}"'},
            "weak": {"If-Match": f'W/"rev-{rev}"'},
            "future": {"If-Match": f'"rev-{rev + 1}"'},
            "inm-current": {"If-None-Match": f'"rev-{rev}"'},
            "inm-other": {"If-None-Match": f'"rev-{rev + 1}", W/"rev-{rev - 1}"'},
        }[precondition]
        if reason is not None:
            headers["X-Change-Reason"] = reason
        return headers

    @staticmethod
    def passes(precondition: str) -> bool:
        return precondition in {"none", "current", "list", "star", "inm-other"}

    def answer(self, reply: Any, expected: int | set[int], what: str) -> Any:
        allowed = {expected} if isinstance(expected, int) else expected
        assert reply.status_code < 500, (what, reply.status_code, reply.text)
        assert reply.status_code in allowed, (what, reply.status_code, reply.text[:2000], self.model)
        return reply.json() if reply.content else None

    def observe(self) -> Any:
        """Everything a refused request must leave as it was."""
        draft = self.api.get(f"{self.url}/draft")
        listed = self.api.get(f"{self.url}/revisions?take=500")
        versions = self.api.get(f"{self.url}/versions")
        glb = self.api.head(f"{self.url}.glb")
        return (
            draft.status_code,
            draft.text,
            listed.text,
            versions.status_code,
            versions.text,
            glb.status_code,
            glb.headers.get("etag"),
        )

    def refuse(self, send: Any, expected: int | set[int], what: str) -> None:
        """Send a request that must be refused, and check that it changed nothing observable."""
        before = self.observe()
        reply = send()
        self.answer(reply, expected, what)
        assert reply.headers["content-type"].startswith("application/problem+json"), (what, reply.headers)
        assert self.observe() == before, what

    def refused_before_reading(self, send: Any, precondition: str, what: str) -> bool:
        """Whether the request was refused (and checked) for want of a draft (404) or by its precondition (412)."""
        if self.model.description is None:
            self.refuse(send, 404, f"{what} of no draft")
            return True
        if not self.passes(precondition):
            self.refuse(send, 412, f"{what} with {precondition}")
            return True
        return False

    def patch(self, ops: list[dict[str, Any]], headers: dict[str, str]) -> Any:
        return self.api.request(
            "PATCH", f"{self.url}/draft", content=json.dumps(ops), headers={"Content-Type": PATCH, **headers}
        )

    def written(self, body: Any, rev: int, source: str) -> None:
        """The answer of a write that made revision ``rev``."""
        assert body["rev"] == rev and body["revision"]["rev"] == rev, (body.get("rev"), rev)
        assert body["revision"]["source"] == source
        assert canonical(body["description"]) == canonical(self.model.description)
        assert (body["canUndo"], body["canRedo"]) == (bool(self.model.undo), bool(self.model.redo))

    # -- draft writes --------------------------------------------------------------------------------

    @rule(
        props=st.dictionaries(NAMES, VALUES, max_size=3),
        reason=REASONS,
        none_match=st.booleans(),
        from_version=st.sampled_from([None, None, "some", "missing"]),
    )
    def create(self, props: dict[str, str], reason: str | None, none_match: bool, from_version: str | None) -> None:
        """``POST /draft`` with a description or ``{"fromVersion": n}``: 201 at the rev after the last this id used;
        409 (412 with ``If-None-Match: *``) when a draft exists; 404 for a version the scene does not have."""
        m = self.model
        description = start(m.scene, props)
        body: dict[str, Any] = description
        if from_version == "some" and m.versions:
            n = sorted(m.versions)[len(props) % len(m.versions)]
            body, description = {"fromVersion": n}, json.loads(m.versions[n].description)
        elif from_version == "missing":
            body = {"fromVersion": m.last_version + 1}
        headers = self.headers("none", reason) | ({"If-None-Match": "*"} if none_match else {})
        send = lambda: self.api.post(f"{self.url}/draft", json=body, headers=headers)  # noqa: E731
        if "fromVersion" in body and body["fromVersion"] not in m.versions:
            self.refuse(send, 404, "create from a version the scene does not have")
            return
        if self.model.description is not None:
            self.refuse(send, 412 if none_match else 409, "create over a draft")
            return
        reply = send()
        body = self.answer(reply, 201, "create")
        rev = self.model.record("user", reason.strip() if reason else None, description)
        self.model.exists = True
        self.written(body, rev, "user")
        assert reply.headers["etag"] == f'"rev-{rev}"'

    @rule(props=st.dictionaries(NAMES, VALUES, max_size=3), reason=REASONS, precondition=PRECONDITIONS)
    def replace(self, props: dict[str, str], reason: str | None, precondition: str) -> None:
        """``POST /draft?replace=true``: a new revision, or 200 with no revision when the draft holds it already."""
        description = start(self.model.scene, props)
        headers = self.headers(precondition, reason)
        send = lambda: self.api.post(f"{self.url}/draft?replace=true", json=description, headers=headers)  # noqa: E731
        if self.model.description is None:
            if precondition in {"current", "list", "star", "stale", "weak", "future"}:
                self.refuse(send, 412, "replace of no draft with If-Match")
                return
        elif not self.passes(precondition):
            self.refuse(send, 412, f"replace with {precondition}")
            return
        if self.model.description is not None and canonical(description) == canonical(self.model.description):
            before = self.observe()
            body = self.answer(send(), 200, "replace with the same description")
            assert "revision" not in body and body["rev"] == self.model.rev
            assert self.observe() == before
            return
        body = self.answer(send(), 201, "replace")
        rev = self.model.record("user", reason.strip() if reason else None, description)
        self.model.exists = True
        self.written(body, rev, "user")

    @rule(data=st.data(), precondition=PRECONDITIONS, reason=REASONS, minimal=st.booleans())
    def edit(self, data: st.DataObject, precondition: str, reason: str | None, minimal: bool) -> None:
        """``PATCH /draft`` with one of a few kinds of patch, each with the outcome the docs give it."""
        m = self.model
        props = dict(m.description["props"]) if m.description is not None else {}
        names = sorted(props)
        kinds = ["add", "missing-parent", "test-fails", "rename-scene", "not-a-string", "empty", "add-remove",
                 "remove-missing", "replace-missing"]  # fmt: skip
        if names:
            kinds += ["replace", "remove", "move", "copy", "test-holds", "reorder", "same-value"]
        kind = data.draw(st.sampled_from(kinds), label="kind")
        name = data.draw(NAMES, label="name")
        value = data.draw(VALUES, label="value")
        existing = data.draw(st.sampled_from(names), label="existing") if names else "a"
        # (ops, outcome, props after): outcome is "change", "nothing", or the refusal's status
        outcome: str | int = "change"
        after = dict(props)
        if kind == "add":
            ops = [{"op": "add", "path": pointer(name), "value": value}]
            after[name] = value  # an existing member keeps its place (RFC 6902 add replaces it)
        elif kind == "replace":
            ops = [{"op": "replace", "path": pointer(existing), "value": value}]
            after[existing] = value
        elif kind == "same-value":
            ops = [{"op": "replace", "path": pointer(existing), "value": props[existing]}]
        elif kind == "remove":
            ops = [{"op": "remove", "path": pointer(existing)}]
            del after[existing]
        elif kind == "move":
            ops = [{"op": "move", "from": pointer(existing), "path": pointer(name)}]
            moved = after.pop(existing)
            after[name] = moved
            if name == existing:
                after = dict(props)
        elif kind == "copy":
            ops = [{"op": "copy", "from": pointer(existing), "path": pointer(name)}]
            after[name] = props[existing]
        elif kind == "test-holds":
            ops = [{"op": "test", "path": pointer(existing), "value": props[existing]},
                   {"op": "add", "path": pointer(name), "value": value}]  # fmt: skip
            after[name] = value
        elif kind == "reorder":  # the same members in another order is a change (docs/drafts.md)
            ops = [{"op": "remove", "path": pointer(existing)},
                   {"op": "add", "path": pointer(existing), "value": props[existing]}]  # fmt: skip
            after[existing] = after.pop(existing)
        elif kind == "missing-parent":
            ops = [{"op": "add", "path": pointer("nope") + "/x", "value": value}]
            outcome = 422
        elif kind == "test-fails":
            ops = [{"op": "add", "path": pointer(name), "value": value},
                   {"op": "test", "path": "/sceneId", "value": "zz"}]  # fmt: skip
            outcome = 409
        elif kind == "rename-scene":
            ops = [{"op": "replace", "path": "/sceneId", "value": "other"}]
            outcome = 422
        elif kind == "not-a-string":
            ops = [{"op": "add", "path": pointer(name), "value": 5}]
            outcome = 422
        elif kind == "empty":
            ops = []
        elif kind == "add-remove":
            ops = [{"op": "add", "path": "/props/tmp", "value": value}, {"op": "remove", "path": "/props/tmp"}]
            if "tmp" in props:
                del after["tmp"]
        elif kind == "remove-missing":
            ops = [{"op": "remove", "path": pointer("nope")}]
            outcome = 422
        else:  # replace-missing
            ops = [{"op": "replace", "path": pointer("nope"), "value": value}]
            outcome = 422
        if outcome == "change" and canonical(after) == canonical(props):
            outcome = "nothing"
        headers = self.headers(precondition, reason) | ({"Prefer": "return=minimal"} if minimal else {})
        send = lambda: self.patch(ops, headers)  # noqa: E731
        if self.refused_before_reading(send, precondition, f"patch ({kind})"):
            return
        if isinstance(outcome, int):
            self.refuse(send, outcome, f"patch ({kind})")
            return
        if outcome == "nothing":
            before = self.observe()
            reply = send()
            body = self.answer(reply, 200, f"patch ({kind}) that changes nothing")
            assert "revision" not in body and body["rev"] == m.rev and reply.headers["etag"] == f'"rev-{m.rev}"'
            assert self.observe() == before, kind
            return
        reply = send()
        body = self.answer(reply, 200, f"patch ({kind})")
        description = {**m.description, "props": after}
        rev = m.record("user", reason.strip() if reason else None, description)
        assert reply.headers["etag"] == f'"rev-{rev}"'
        if minimal:
            assert "description" not in body and "ops" not in body["revision"] and body["rev"] == rev
        else:
            self.written(body, rev, "user")
            assert body["revision"]["ops"] == ops

    @rule(precondition=PRECONDITIONS, reason=REASONS, kind=st.sampled_from(["undo", "redo"]))
    def step(self, precondition: str, reason: str | None, kind: str) -> None:
        """Undo restores the description before the newest change not undone, redo the one after the newest undone
        one; each a new revision; 409 with nothing to undo or redo, 412 on a failed precondition."""
        m = self.model
        headers = self.headers(precondition, reason)
        send = lambda: self.api.post(f"{self.url}/draft/{kind}", headers=headers)  # noqa: E731
        if self.refused_before_reading(send, precondition, kind):
            return
        stack = m.undo if kind == "undo" else m.redo
        if not stack:
            self.refuse(send, 409, f"{kind} with nothing to {kind}")
            return
        target = m.by_rev(stack[-1])
        restored = target.before if kind == "undo" else target.after
        assert restored is not None
        body = self.answer(send(), 200, kind)
        rev = m.record(kind, reason.strip() if reason else None, restored)
        self.written(body, rev, kind)

    # -- builds, publishing, deleting ----------------------------------------------------------------

    def built(self, etag: str, n: int, description: dict[str, Any], rev: int | None, published: bool) -> Ver:
        """A build of ``description`` answered version ``n`` with ``etag``: the same bytes are the version that has
        them (whatever its number), other bytes the number after the last this id used."""
        m = self.model
        text = canonical(description)
        if text in m.etag_of:
            assert m.etag_of[text] == etag, "a build of the same description made other bytes"
        m.etag_of[text] = etag
        same = [v for v in m.versions.values() if v.etag == etag]
        if same:
            assert n == same[0].n, (n, same[0])
            version = same[0]
        else:
            assert n == m.last_version + 1, (n, m.last_version)
            version = m.versions[n] = Ver(n, etag, rev, text)
            described = self.api.get(f"{self.url}@v{n}/description", headers=self.api.auth("read"))
            assert described.status_code == 200 and canonical(described.json()) == text, described.text
            m.last_version = n
        if published:
            m.published, version.ever_published = version.n, True
        m.exists = True
        return version

    @rule(precondition=st.sampled_from(["none", "current", "stale", "inm-current"]))
    def build_draft(self, precondition: str) -> None:
        """``POST /draft/build``: a version of the current rev, not published."""
        m = self.model
        headers = self.headers(precondition)
        send = lambda: self.api.post(f"{self.url}/draft/build", headers=headers)  # noqa: E731
        if self.refused_before_reading(send, precondition, "build"):
            return
        job = self.answer(send(), 200, "build")
        assert job["rev"] == m.rev and job["sceneId"] == m.scene
        done = self.wait(job["jobId"])
        assert done["status"] == "Succeeded", done
        result = done["result"]
        version = self.built(result["eTag"], result["version"], m.description, m.rev, False)
        # a build of bytes a version has already is that version: "published" says whether it ever was
        assert result["published"] == version.ever_published and result["rev"] == m.rev

    @rule(props=st.dictionaries(NAMES, VALUES, max_size=3))
    def build_and_publish(self, props: dict[str, str]) -> None:
        """``POST /scenes/build``: a published version, and an ``import`` revision unless the draft holds it."""
        m = self.model
        description = start(m.scene, props)
        reply = self.api.post("/scenes/build", content=json.dumps(description), headers=self.api.auth())
        body = self.answer(reply, 200, "build and publish")
        self.built(body["eTag"], body["version"], description, None, True)
        if m.description is None or canonical(description) != canonical(m.description):
            m.record("import", None, description, checked_reason=False)

    @rule(data=st.data(), precondition=st.sampled_from(["none", "current", "stale", "star", "inm-current"]))
    def publish(self, data: st.DataObject, precondition: str) -> None:
        """``POST /publish {"version": n}``: moves the pointer to an existing version (an older one: a rollback);
        404 for a scene that does not exist (whatever the body holds) or a version it does not have, 422 for a number
        that is no version number, 412 when an ``If-Match`` on the published version's ETag does not hold."""
        m = self.model
        numbers = sorted(m.versions)
        n = data.draw(st.sampled_from([*numbers, m.last_version + 1, 0]) if numbers else st.sampled_from([1, 0]))
        published = m.versions[m.published].etag if m.published is not None else None
        others = [v.etag for v in m.versions.values() if v.etag != published]
        headers = dict(self.api.auth())
        holds = True
        if precondition == "current" and published is not None:
            headers["If-Match"] = f'"{published}"'
        elif precondition == "stale" and others:
            headers["If-Match"] = f'"{others[0]}"'
            holds = False
        elif precondition == "star":
            headers["If-Match"] = "*"
            holds = published is not None
        elif precondition == "inm-current" and published is not None:
            headers["If-None-Match"] = f'"{published}"'
            holds = False
        send = lambda: self.api.post(f"{self.url}/publish", json={"version": n}, headers=headers)  # noqa: E731
        if not m.exists:  # whatever the body holds (docs/drafts.md)
            self.refuse(send, 404, "publish in a scene that does not exist")
        elif n == 0:
            self.refuse(send, 422, "publish of version 0")
        elif not holds:
            self.refuse(send, 412, f"publish with {precondition}")
        elif n not in m.versions:
            self.refuse(send, 404, f"publish of v{n}, not a version")
        else:
            body = self.answer(send(), 200, f"publish of v{n}")
            version = m.versions[n]
            assert body == {"sceneId": m.scene, "version": n, "eTag": version.etag, "rev": version.rev}, body
            m.published, version.ever_published = n, True

    @rule()
    def delete(self) -> None:
        """``DELETE /scenes/{id}``: the draft, its revisions and the versions go; their numbers are not used again."""
        m = self.model
        send = lambda: self.api.delete(self.url, headers=self.api.auth())  # noqa: E731
        if not m.exists:
            self.refuse(send, 404, "delete of no scene")
            return
        gone = sorted(m.versions)
        reply = send()
        assert reply.status_code == 204, reply.text
        m.forget()
        for n in gone:
            assert self.api.get(f"{self.url}@v{n}.glb", headers=self.api.auth("read")).status_code == 404

    @rule(keep=st.integers(1, 4))
    def retention(self, keep: int) -> None:
        """Retention with ``SCENEFORGE_KEEP_REVISIONS`` = ``keep`` (it runs on every instance, every draft)."""
        self.api.call(self.api.app.state.jobs.drafts.prune, keep=keep)
        self.model.retain(keep)

    @rule(data=st.data())
    def read_revision(self, data: st.DataObject) -> None:
        """``GET /revisions/{rev}``: a kept revision as it was made (its parent, source, ``before``, ``after``, ops
        taking one to the other); 404 for one not kept, or of the scene's deleted draft."""
        m = self.model
        kept = {r.rev: r for r in m.revs}
        rev = data.draw(st.sampled_from(sorted({*kept, 1, m.last_rev + 1} - {0})), label="rev")
        got = self.api.get(f"{self.url}/revisions/{rev}")
        if rev not in kept:
            assert got.status_code == 404, (rev, got.text)
            return
        assert got.status_code == 200, got.text
        body, want = got.json(), kept[rev]
        assert (body["rev"], body["parentRev"], body["source"]) == (want.rev, want.parent, want.source)
        assert canonical(body["after"]) == canonical(want.after)
        if want.before is None:
            assert body["before"] is None
        else:
            assert canonical(body["before"]) == canonical(want.before)
            applied = jsonpatch.JsonPatch(body["ops"]).apply(body["before"])
            assert canonical(applied) == canonical(body["after"]), (body["source"], body["ops"])

    def wait(self, job_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job = self.api.get(f"/jobs/{job_id}").json()
            if job["status"] in {"Succeeded", "Failed", "Canceled"}:
                return job  # type: ignore[no-any-return]
            time.sleep(0.01)
        raise AssertionError(f"job {job_id} did not finish")

    # -- invariants ----------------------------------------------------------------------------------

    @invariant()
    def draft_is_the_model(self) -> None:
        m = self.model
        got = self.api.get(f"{self.url}/draft")
        if m.description is None:
            assert got.status_code == 404, got.text
            assert self.api.get(f"{self.url}/revisions").status_code == 404
            return
        assert got.status_code == 200, got.text
        body = got.json()
        assert got.headers["etag"] == f'"rev-{m.rev}"' and body["rev"] == m.rev
        assert canonical(body["description"]) == canonical(m.description)
        assert (body["canUndo"], body["canRedo"]) == (bool(m.undo), bool(m.redo)), (body, m.undo, m.redo)
        listed = self.api.get(f"{self.url}/revisions?take=500").json()["revisions"]
        seen = [(r["rev"], r["parentRev"], r["source"], r["author"]) for r in listed]
        assert seen == [(r.rev, r.parent, r.source, AUTHOR) for r in reversed(m.revs)]
        for got_rev, want in zip(listed, reversed(m.revs), strict=True):
            if want.checked_reason:
                assert got_rev["reason"] == want.reason, (got_rev, want)
        newest = self.api.get(f"{self.url}/revisions/{m.rev}").json()
        want = m.revs[-1]
        assert canonical(newest["after"]) == canonical(want.after)
        assert (newest["before"] is None) == (want.before is None)
        if want.before is not None:
            assert canonical(newest["before"]) == canonical(want.before)
            # the ops take the parent's description to this one, members in their order (computed for undo, redo,
            # replace and import)
            applied = jsonpatch.JsonPatch(newest["ops"]).apply(newest["before"])
            assert canonical(applied) == canonical(newest["after"]), (newest["source"], newest["ops"])

    @invariant()
    def versions_are_the_model(self) -> None:
        m = self.model
        got = self.api.get(f"{self.url}/versions")
        if not m.exists:
            assert got.status_code == 404, got.text
            return
        assert got.status_code == 200, got.text
        listed = got.json()
        assert [(v["n"], v["eTag"], v["latest"]) for v in listed] == [
            (n, m.versions[n].etag, n == m.published) for n in sorted(m.versions)
        ]
        for v in listed:  # versions are immutable once made
            kept = m.versions[v["n"]]
            if kept.size is None:
                kept.size, kept.created = v["bytes"], v["createdUtc"]
            assert (v["bytes"], v["createdUtc"]) == (kept.size, kept.created), v
        glb = self.api.head(f"{self.url}.glb")
        if m.published is None:
            assert glb.status_code == 404, glb.status_code
        else:
            assert glb.status_code == 200 and glb.headers["etag"] == f'"{m.versions[m.published].etag}"'


@pytest.fixture(scope="module")
def machine_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from start_api(tmp_path_factory.mktemp("stateful"), auth={"write_rate": 0})


@pytest.mark.slow
def test_drafts_contract_holds_for_any_sequence_of_requests(machine_api: Api) -> None:
    DraftMachine.api = machine_api
    run_state_machine_as_test(
        DraftMachine,
        settings=settings(
            max_examples=12,
            stateful_step_count=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
