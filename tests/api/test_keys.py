"""Access on every write route, key administration (endpoints and CLI), and revocation across instances."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sceneforge.api.auth import UNSAFE_METHODS, WRITE, check_routes, http_routes
from sceneforge.cli import app as cli
from tests.api.conftest import Api, start_api
from tests.support.servers import create_database


def _write_routes(api: Api) -> list[tuple[str, str]]:
    """Every (method, concrete path) of the app that changes state, path parameters filled in."""
    found = []
    for template, methods, _route in http_routes(api.app.routes):
        path = re.sub(r"\{[^}]*_id\}", "1", template)
        path = re.sub(r"\{[^}]+\}", "x", path)
        found += [(method, path) for method in sorted(methods & UNSAFE_METHODS)]
    return found


def test_every_write_route_needs_write_scope(api: Api) -> None:
    """Walks the app's routes: a new state-changing route is covered without editing this test."""
    routes = _write_routes(api)
    expected = {("POST", "/scenes/build"), ("POST", "/jobs/enqueue"), ("POST", "/jobs/1/cancel")}
    expected |= {("POST", "/assets"), ("DELETE", "/scenes/1"), ("POST", "/keys/1/revoke"), ("DELETE", "/keys/1")}
    assert expected <= set(routes), routes
    for method, path in routes:
        anonymous = api.request(method, path, content=b"{}")
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        assert anonymous.headers["content-type"] == "application/problem+json"
        read = api.request(method, path, content=b"{}", headers=api.auth("read"))
        assert read.status_code == 403, (method, path, read.text)


def test_an_app_with_an_open_write_route_is_refused() -> None:
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/guarded", dependencies=[WRITE])
    async def guarded() -> None:
        return None

    check_routes(app.routes)

    @app.delete("/open")
    async def open_route() -> None:
        return None

    with pytest.raises(RuntimeError, match="/open"):
        check_routes(app.routes)


def test_admin_lists_and_revokes_keys(api: Api) -> None:
    assert api.get("/keys", headers=api.auth("write")).status_code == 403
    listed = api.get("/keys", headers=api.auth("admin"))
    assert listed.status_code == 200
    rows = listed.json()
    assert [r["scope"] for r in rows] == ["read", "write", "admin"]
    assert all(set(r) == {"id", "scope", "name", "createdUtc", "revokedUtc"} for r in rows)
    assert not any(api.keys[s] in listed.text for s in api.keys)  # secrets are never shown
    write_id = next(r["id"] for r in rows if r["scope"] == "write")
    assert api.post(f"/keys/{write_id}/revoke", headers=api.auth("write")).status_code == 403
    revoked = api.post(f"/keys/{write_id}/revoke", headers=api.auth("admin"))
    assert revoked.status_code == 200 and revoked.json()["revokedUtc"] is not None
    assert api.delete("/scenes/x", headers=api.auth("write")).status_code == 401
    assert api.post(f"/keys/{write_id}/revoke", headers=api.auth("admin")).status_code == 404
    read_id = next(r["id"] for r in rows if r["scope"] == "read")
    assert api.delete(f"/keys/{read_id}", headers=api.auth("admin")).status_code == 200
    assert api.get("/scenes", headers=api.auth("read")).status_code == 401
    assert api.delete("/keys/999", headers=api.auth("admin")).status_code == 404


def test_the_key_list_is_never_kept_by_a_shared_cache(api: Api) -> None:
    """``GET /keys`` is answered for an ``X-API-Key``, which is not ``Authorization``: a shared cache may keep a 200
    without ``Cache-Control`` (heuristic freshness, RFC 9111 §4.2.2) and hand the admin's list of keys to the next
    caller without one. It is ``private``, as every answer made for a credential is (docs/security.md)."""
    listed = api.get("/keys", headers=api.auth("admin"))
    assert listed.status_code == 200
    assert listed.headers["cache-control"] == "private, no-cache"


@pytest.mark.parametrize("written", ["0_{n}", "+{n}", "{n}.0", "%20{n}"])
def test_a_key_id_is_written_with_digits_only(api: Api, written: str) -> None:
    """``int()`` reads ``0_2``, ``+2``, ``2.0``, `` 2`` and ``02`` as 2, so each of them revoked key 2: a key is
    named one way only, as every number of a path is (docs/api.md, "Conventions")."""
    rows = api.get("/keys", headers=api.auth("admin")).json()
    n = next(r["id"] for r in rows if r["scope"] == "write")
    refused = api.post(f"/keys/{written.format(n=n)}/revoke", headers=api.auth("admin"))
    assert refused.status_code == 422 and refused.headers["content-type"].startswith("application/problem+json")
    assert all(r["revokedUtc"] is None for r in api.get("/keys", headers=api.auth("admin")).json())
    assert api.post(f"/keys/0{n}/revoke", headers=api.auth("admin")).status_code == 422
    assert all(r["revokedUtc"] is None for r in api.get("/keys", headers=api.auth("admin")).json())
    assert api.post(f"/keys/{n}/revoke", headers=api.auth("admin")).status_code == 200


def test_revoked_key_is_refused_at_once_on_another_instance(tmp_path: Path, postgres_url: str) -> None:
    database = create_database(postgres_url)
    for first in start_api(tmp_path / "a", storage={"database_url": database}):
        for second in start_api(tmp_path / "b", storage={"database_url": database}):
            key = {"X-API-Key": first.keys["write"]}
            assert second.delete("/scenes/none", headers=key).status_code == 404  # known on the other instance
            key_id = next(
                r["id"] for r in first.get("/keys", headers=first.auth("admin")).json() if r["scope"] == "write"
            )
            assert first.post(f"/keys/{key_id}/revoke", headers=first.auth("admin")).status_code == 200
            refused = second.delete("/scenes/none", headers=key)
            assert refused.status_code == 401, refused.text
            assert "revoked" in refused.json()["detail"]


def test_cli_lists_and_revokes_keys(api: Api) -> None:
    data = str(api.services.settings.storage.data_dir)
    runner = CliRunner()
    listed = runner.invoke(cli, ["keys", "list", "--data", data, "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)
    assert [r["scope"] for r in rows] == ["read", "write", "admin"]
    admin_id = rows[2]["id"]
    assert api.get("/keys", headers=api.auth("admin")).status_code == 200
    revoked = runner.invoke(cli, ["keys", "revoke", str(admin_id), "--data", data])
    assert revoked.exit_code == 0 and f"revoked key {admin_id}" in revoked.stdout
    assert api.get("/keys", headers=api.auth("admin")).status_code == 401
    table = runner.invoke(cli, ["keys", "list", "--data", data])
    assert table.exit_code == 0 and "admin" not in table.stdout.split("\n", 1)[1]
    assert "admin" in runner.invoke(cli, ["keys", "list", "--data", data, "--all"]).stdout
    again = runner.invoke(cli, ["keys", "revoke", str(admin_id), "--data", data])
    assert again.exit_code == 1
