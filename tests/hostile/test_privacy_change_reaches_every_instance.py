"""A privacy change reaches every instance before the write returns — without Redis too.

Two API instances share one database and no Redis: on PostgreSQL the LISTEN/NOTIFY bus carries cache
invalidations, on SQLite the change counter beside the database file (docs/deployment.md). The
reader caches a public GLB and meta; each invalidating write on the other
instance (made private, rolled back, deleted; a key revoked) is refused or answered anew by the
reader as soon as the write returns. A lost listener connection turns the reader's cache off (it
answers from the database), it reconnects with an empty cache, and caches again afterwards.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import make_url

from sceneforge.api import create_app
from sceneforge.events.pg_bus import PgBus
from sceneforge.settings import Settings
from tests.jobs.conftest import description
from tests.support.servers import create_database

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

V1, V2 = description("pub", cells=2), description("pub", cells=3)


def _pair(tmp_path: Path, url: str | None) -> Iterator[tuple[TestClient, TestClient, str]]:
    storage: dict[str, Any] = {"data_dir": tmp_path / "data"}
    if url is not None:
        storage["database_url"] = url
    settings = Settings(storage=storage, auth={"write_rate": 0})
    with ExitStack() as stack:
        writer = stack.enter_context(TestClient(create_app(settings)))
        reader = stack.enter_context(TestClient(create_app(settings)))
        yield writer, reader, url or ""


@pytest.fixture
def pair(tmp_path: Path, postgres_url: str) -> Iterator[tuple[TestClient, TestClient, str]]:
    """Writer and reader instances on one PostgreSQL database (no Redis), and the database's URL."""
    yield from _pair(tmp_path, create_database(postgres_url))


@pytest.fixture(params=["sqlite", "postgresql"])
def any_pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[TestClient, TestClient, str]]:
    """Writer and reader instances on one database of each kind (no Redis)."""
    url = None if request.param == "sqlite" else create_database(request.getfixturevalue("postgres_url"))
    yield from _pair(tmp_path, url)


def _key(client: TestClient, scope: str) -> dict[str, str]:
    key, _record = client.portal.call(client.app.state.services.keys.create, scope, scope)  # type: ignore[attr-defined]
    return {"X-API-Key": key}


def _build(client: TestClient, auth: dict[str, str], body: bytes, **params: str) -> dict[str, Any]:
    response = client.post("/scenes/build", content=body, headers={**auth, "content-type": "application/json"},
                           params=params)  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _bus(client: TestClient) -> PgBus:
    bus = client.app.state.jobs.hub.bus  # type: ignore[attr-defined]
    assert isinstance(bus, PgBus)
    return bus


def _pointer(client: TestClient, scene: str = "pub") -> Any:
    """What the instance would answer ``scene`` from (its cached pointer), None when it would ask the database."""
    return client.app.state.services.scenes.cache.pointer(scene)  # type: ignore[attr-defined]


def _cached(client: TestClient, scene: str = "pub") -> bool:
    return _pointer(client, scene) is not None


def _serves_public(client: TestClient, etag: str, scene: str = "pub") -> None:
    """Reads the public GLB and meta until the instance caches them, checking what it served. (An instance
    caches only while its bus hears every change — a loaded machine can delay the listener's lease — and
    no invalidation of any scene lands during the read: a later read then caches.)"""

    def served_and_cached() -> bool:
        glb = client.get(f"/scenes/{scene}.glb")
        assert glb.status_code == 200 and glb.headers["etag"].strip('"') == etag.strip('"')
        assert client.get(f"/scenes/{scene}/meta").status_code == 200
        assert client.get(f"/scenes/{scene}.glb").headers["etag"] == glb.headers["etag"]
        return _cached(client, scene)

    _until(served_and_cached, f"{scene} served from the instance's cache")


def _until(condition: Any, what: str) -> None:
    """Wait for a state (not a duration): checked every 10 ms, 20 s at most."""
    for _ in range(2000):
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


def test_every_invalidating_write_reaches_the_other_instance_before_it_returns(
    any_pair: tuple[TestClient, TestClient, str],
) -> None:
    writer, reader, _url = any_pair
    write, admin = _key(writer, "write"), _key(writer, "admin")
    first = _build(writer, write, V1)
    second = _build(writer, write, V2)
    assert first["eTag"] != second["eTag"]
    _serves_public(reader, second["eTag"])

    # Rolled back to version 1: the reader serves version 1 as soon as the publish returned.
    assert writer.post("/scenes/pub/publish", json={"version": 1}, headers=write).status_code == 200
    assert not _cached(reader)
    _serves_public(reader, first["eTag"])

    # Made private: refused at once, GLB and meta, for a caller without read access.
    _build(writer, write, V2, private="true")
    assert reader.get("/scenes/pub.glb").status_code == 401
    assert reader.get("/scenes/pub/meta").status_code == 401
    read = _key(writer, "read")
    assert reader.get("/scenes/pub.glb", headers=read).status_code == 200

    # A revoked key is refused at once on the other instance (keys are never cached).
    key_id = reader.get("/keys", headers=admin).json()
    revoked = next(k["id"] for k in key_id if k["scope"] == "read")
    assert writer.post(f"/keys/{revoked}/revoke", headers=admin).status_code == 200
    assert reader.get("/scenes/pub.glb", headers=read).status_code == 401

    # Public again, cached again, then deleted: gone at once.
    third = _build(writer, write, V1, private="false")
    _serves_public(reader, third["eTag"])
    assert writer.delete("/scenes/pub", headers=write).status_code == 204
    assert reader.get("/scenes/pub.glb").status_code == 404
    assert reader.get("/scenes/pub/meta").status_code == 404


def test_lost_listener_turns_the_cache_off_and_the_instance_recovers(pair: tuple[TestClient, TestClient, str]) -> None:
    writer, reader, url = pair
    write = _key(writer, "write")
    built, other = _build(writer, write, V1), _build(writer, write, description("other"))
    _serves_public(reader, built["eTag"])
    _serves_public(reader, other["eTag"], "other")

    bus = _bus(reader)
    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (bus.application_name,),
        ).fetchall()
    assert killed == [(True,)]
    _until(lambda: not bus.usable(), "the reader notices its lost listener connection")
    # Off: the cache answers nothing, and reads are served from the database meanwhile.
    assert not _cached(reader) and not _cached(reader, "other")
    assert reader.get("/scenes/pub.glb").status_code == 200

    # A privacy change while the reader is away or reconnecting: refused once the write returned.
    _build(writer, write, V1, private="true")
    assert reader.get("/scenes/pub.glb").status_code == 401
    assert reader.get("/scenes/pub/meta").status_code == 401

    # Reconnected: it started from an empty cache (nothing about "other" happened, yet it is gone) and caches again.
    _until(bus.usable, "the reader reconnects")
    assert not _cached(reader, "other")
    assert _pointer(reader) is None or _pointer(reader).private
    public = _build(writer, write, V2, private="false")
    _serves_public(reader, public["eTag"])
    _build(writer, write, V2, private="true")
    assert reader.get("/scenes/pub.glb").status_code == 401
