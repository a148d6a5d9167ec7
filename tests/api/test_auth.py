"""Credentials, scopes, private scenes, signed links and the write rate limit."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jwt
import pytest

from sceneforge.api import scenes
from sceneforge.api.auth import LinkSigner
from tests.api.conftest import TEST01, Api, start_api

SECRET = "jwt-test-secret-of-sufficient-length-0123456789"


@pytest.fixture
def jwt_api(tmp_path: Path) -> Iterator[Api]:
    yield from start_api(tmp_path, auth={"jwt_secret": SECRET, "write_rate": 3})


def _build(api: Api, headers: dict[str, str], **params: str):
    return api.post("/scenes/build", content=TEST01, headers=headers, params=params)


def test_write_without_credentials_is_401(api: Api) -> None:
    response = _build(api, {})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert "www-authenticate" in response.headers


def test_write_with_unknown_key_is_401(api: Api) -> None:
    assert _build(api, {"X-API-Key": "sfk_not-a-key"}).status_code == 401


def test_write_with_read_key_is_403(api: Api) -> None:
    assert _build(api, api.auth("read")).status_code == 403
    assert api.delete("/scenes/test01", headers=api.auth("read")).status_code == 403


def test_write_with_admin_key_is_allowed(api: Api) -> None:
    assert _build(api, api.auth("admin")).status_code == 200


def test_revoked_key_is_401(api: Api) -> None:
    secret, record = api.call(api.services.keys.create, "write", "short-lived")
    api.call(api.services.keys.revoke, record.id)
    assert _build(api, {"X-API-Key": secret}).status_code == 401


def test_keys_are_stored_hashed(api: Api) -> None:
    from sqlalchemy import select

    from sceneforge.storage.tables import api_keys

    async def stored() -> list[str]:
        async with api.services.scenes.engine.connect() as conn:
            return list((await conn.execute(select(api_keys.c.key_hash))).scalars())

    hashes = api.call(stored)
    assert api.keys["write"] not in hashes and all(len(h) == 64 for h in hashes)


def _token(sub: str = "ci", scope: str = "read write", exp: int | None = 60, **claims: object) -> str:
    body: dict[str, object] = {"sub": sub, "scope": scope, **claims}
    if exp is not None:
        body["exp"] = int(time.time()) + exp
    return "Bearer " + jwt.encode(body, SECRET, algorithm="HS256")


def test_jwt_scopes(jwt_api: Api) -> None:
    forged = jwt.encode(
        {"sub": "x", "scope": "admin", "exp": int(time.time()) + 60},
        "another-secret-of-sufficient-length-000000",
        algorithm="HS256",
    )
    assert _build(jwt_api, {"Authorization": _token()}).status_code == 200
    assert _build(jwt_api, {"Authorization": _token("ro", "read")}).status_code == 403
    assert _build(jwt_api, {"Authorization": f"Bearer {forged}"}).status_code == 401


def test_jwt_without_exp_is_refused(jwt_api: Api) -> None:
    response = _build(jwt_api, {"Authorization": _token(exp=None)})
    assert response.status_code == 401
    assert "exp" in response.json()["detail"]
    assert _build(jwt_api, {"Authorization": _token(sub="")}).status_code == 401  # a subject is required too


def test_jwt_expiry_leeway_is_configurable(tmp_path: Path) -> None:
    """Expired 10 s ago: accepted with a 30 s leeway, refused with none."""
    for leeway, expected in ((30.0, 200), (0.0, 401)):
        for api in start_api(tmp_path / str(leeway), auth={"jwt_secret": SECRET, "jwt_leeway_s": leeway}):
            assert _build(api, {"Authorization": _token(exp=-10)}).status_code == expected


def test_write_rate_limit_is_429_with_retry_after(jwt_api: Api) -> None:
    codes = [_build(jwt_api, jwt_api.auth()).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    limited = _build(jwt_api, jwt_api.auth())
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert "SCENEFORGE_WRITE_RATE" in limited.json()["detail"]
    assert _build(jwt_api, jwt_api.auth("admin")).status_code == 200


def test_rate_limit_buckets_per_token_subject(jwt_api: Api) -> None:
    """Fresh tokens of one subject share its bucket; another subject has its own."""
    codes = [
        jwt_api.delete("/scenes/none", headers={"Authorization": _token("alice", exp=60 + i)}).status_code
        for i in range(4)
    ]
    assert codes == [404, 404, 404, 429]
    assert jwt_api.delete("/scenes/none", headers={"Authorization": _token("bob")}).status_code == 404


def test_rate_limit_is_shared_across_instances_through_redis(tmp_path: Path, redis_server: str) -> None:
    """Two instances on one Redis: writes spent on the first count on the second."""
    subject = f"shared-{uuid.uuid4().hex}"
    header = {"Authorization": _token(subject)}
    settings: dict[str, dict[str, Any]] = {
        "auth": {"jwt_secret": SECRET, "write_rate": 3},
        "events": {"redis_url": redis_server},
    }
    for first in start_api(tmp_path / "a", **settings):
        for second in start_api(tmp_path / "b", **settings):
            assert [first.delete("/scenes/none", headers=header).status_code for _ in range(2)] == [404, 404]
            assert second.delete("/scenes/none", headers=header).status_code == 404
            refused = second.delete("/scenes/none", headers=header)
            assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
            assert first.delete("/scenes/none", headers=header).status_code == 429
            other = {"Authorization": _token(f"other-{subject}")}
            assert first.delete("/scenes/none", headers=other).status_code == 404


def test_without_redis_each_instance_counts_alone(tmp_path: Path) -> None:
    header = {"Authorization": _token("solo")}
    for first in start_api(tmp_path / "a", auth={"jwt_secret": SECRET, "write_rate": 1}):
        for second in start_api(tmp_path / "b", auth={"jwt_secret": SECRET, "write_rate": 1}):
            assert first.delete("/scenes/none", headers=header).status_code == 404
            assert first.delete("/scenes/none", headers=header).status_code == 429
            assert second.delete("/scenes/none", headers=header).status_code == 404


def test_private_scene_needs_key_or_token(api: Api) -> None:
    assert _build(api, api.auth(), private="true").status_code == 200
    for url in ("/scenes/test01.glb", "/scenes/test01/meta", "/scenes/test01@v1.glb"):
        assert api.get(url).status_code == 401
        response = api.get(url, headers=api.auth("read"))
        assert response.status_code == 200
        assert response.headers["cache-control"].startswith("private")
    assert api.get("/scenes").json() == []
    assert [s["sceneId"] for s in api.get("/scenes", headers=api.auth("read")).json()] == ["test01"]
    link = api.post("/scenes/test01/links", params={"ttl": 60}, headers=api.auth())
    assert link.status_code == 200
    assert api.get(link.json()["url"]).status_code == 200
    assert api.get(link.json()["metaUrl"]).status_code == 200
    assert api.get("/scenes/test01.glb", params={"token": "forged.token"}).status_code == 401
    assert api.post("/scenes/test01/links", headers=api.auth("read")).status_code == 403


def test_public_lists_and_jobs_are_revalidated_so_a_scene_made_private_leaves_them(api: Api) -> None:
    """The anonymous answers that name scenes (``/scenes``, a version list, ``/jobs``, a job) say ``no-cache``: a
    200 without ``Cache-Control`` is heuristically cacheable (RFC 9111 §4.2.2), and a shared cache in front would go
    on naming a scene, its ETags and its jobs to callers without a credential after the scene was made private
    (and hand a caller whose key reads private scenes the anonymous list)."""
    built = _build(api, api.auth())
    assert built.status_code == 200
    job_id = api.get("/jobs").json()[0]["jobId"]
    urls = ["/scenes", "/scenes/test01/versions", "/jobs", f"/jobs/{job_id}"]
    for url in urls:
        response = api.get(url)
        assert response.status_code == 200 and "test01" in response.text, url
        assert response.headers.get("cache-control") == "no-cache", url
    assert _build(api, api.auth(), private="true").status_code == 200  # then kept from anonymous callers
    assert api.get("/scenes").json() == [] and api.get(f"/jobs/{job_id}").status_code == 404
    for url in urls:
        assert api.get(url, headers=api.auth("read")).headers["cache-control"] == "private, no-cache", url


def test_link_holds_for_its_whole_ttl(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """``?ttl=S`` makes a link that opens the scene for S seconds at least: its expiry is rounded up to a second, never
    down (a ttl=1 link made at x.999 s had expired a millisecond later)."""
    assert _build(api, api.auth(), private="true").status_code == 200
    made = 1_800_000_000.999
    monkeypatch.setattr(scenes, "time", SimpleNamespace(time=lambda: made, perf_counter=time.perf_counter))
    link = api.post("/scenes/test01/links", params={"ttl": 1}, headers=api.auth()).json()
    monkeypatch.undo()
    expires = datetime.fromisoformat(link["expiresUtc"].replace("Z", "+00:00")).timestamp()
    assert made + 1 <= expires <= made + 2
    nonce = api.call(api.services.scenes.pointer, "test01").link_nonce
    assert api.services.links.allows(link["token"], "test01", nonce, now=made + 0.999)
    assert not api.services.links.allows(link["token"], "test01", nonce, now=expires)


def test_link_tokens_expire_and_bind_to_scene() -> None:
    signer = LinkSigner(b"0123456789abcdef0123")
    token = signer.mint("a", expires_at=100)
    assert signer.allows(token, "a", now=99)
    assert not signer.allows(token, "a", now=100)
    assert not signer.allows(token, "b", now=99)
    assert not LinkSigner(b"another-secret-0123").allows(token, "a", now=99)
    assert not signer.allows(token[:-2] + "xx", "a", now=99)


def test_link_tokens_bind_to_the_scene_row() -> None:
    """A token carries the scene row's link nonce; one minted without (a row made before migration 0007) opens
    only a row without one."""
    signer = LinkSigner(b"0123456789abcdef0123")
    bound = signer.mint("a", expires_at=100, nonce="first-row")
    assert signer.allows(bound, "a", "first-row", now=99)
    assert not signer.allows(bound, "a", "second-row", now=99)
    assert not signer.allows(bound, "a", None, now=99)
    legacy = signer.mint("a", expires_at=100)
    assert signer.allows(legacy, "a", None, now=99)
    assert not signer.allows(legacy, "a", "second-row", now=99)


def test_link_to_a_deleted_scene_does_not_open_a_scene_made_again_with_its_id(api: Api) -> None:
    """A link signed the scene id and expiry only: after DELETE and a new private scene under the same id, the old
    link opened the new scene. It is bound to the scene row now, so it is as good as no credential (401)."""
    assert _build(api, api.auth(), private="true").status_code == 200
    old = api.post("/scenes/test01/links", params={"ttl": 600}, headers=api.auth()).json()
    assert api.get(old["url"]).status_code == 200
    assert api.delete("/scenes/test01", headers=api.auth()).status_code == 204
    assert _build(api, api.auth(), private="true").status_code == 200
    for url in (old["url"], old["metaUrl"], f"/scenes/test01/versions?token={old['token']}"):
        assert api.get(url).status_code == 401, url
    new = api.post("/scenes/test01/links", params={"ttl": 600}, headers=api.auth()).json()
    assert new["token"] != old["token"]
    assert api.get(new["url"]).status_code == 200 and api.get(new["metaUrl"]).status_code == 200
    # a scene row made by a draft draws its own nonce too
    built = api.call(api.services.scenes.pointer, "test01").link_nonce
    assert api.delete("/scenes/test01", headers=api.auth()).status_code == 204
    made = api.post("/scenes/test01/draft", content=TEST01, headers={**api.auth(), "content-type": "application/json"})
    assert made.status_code == 201, made.text
    drafted = api.call(api.services.scenes.pointer, "test01").link_nonce
    assert built and drafted and built != drafted
