"""``GET /scenes/{id}/versions``: every version of a scene, oldest first."""

from __future__ import annotations

import json
from datetime import datetime

from tests.api.conftest import TEST01, Api


def _build(api: Api, body: bytes = TEST01, **params: str) -> dict:
    response = api.post(
        "/scenes/build", content=body, headers={**api.auth(), "content-type": "application/json"}, params=params
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_versions_lists_every_build(api: Api) -> None:
    first = _build(api)
    changed = json.loads(TEST01)
    changed["props"] = {"author": "someone"}
    second = _build(api, json.dumps(changed).encode())
    response = api.get("/scenes/test01/versions")
    assert response.status_code == 200
    entries = response.json()
    assert [(e["n"], e["eTag"], e["bytes"], e["latest"]) for e in entries] == [
        (1, first["eTag"], first["bytes"], False),
        (2, second["eTag"], second["bytes"], True),
    ]
    assert entries[0]["glbPath"] == "/scenes/test01@v1.glb"
    for entry in entries:
        assert entry["createdUtc"].endswith("Z")
        datetime.fromisoformat(entry["createdUtc"].replace("Z", "+00:00"))
    assert entries[0]["createdUtc"] <= entries[1]["createdUtc"]


def test_versions_follow_a_rollback(api: Api) -> None:
    first = _build(api)
    changed = json.loads(TEST01)
    changed["props"] = {"author": "someone"}
    _build(api, json.dumps(changed).encode())
    _build(api)  # the first bytes again: the pointer moves back to v1
    entries = api.get("/scenes/test01/versions").json()
    assert [(e["n"], e["latest"]) for e in entries] == [(1, True), (2, False)]
    assert api.get("/scenes/test01.glb").headers["etag"] == f'"{first["eTag"]}"'


def test_versions_unknown_scene_is_404(api: Api) -> None:
    response = api.get("/scenes/nothing/versions")
    assert response.status_code == 404 and response.headers["content-type"] == "application/problem+json"


def test_versions_of_private_scene_need_read_scope(api: Api) -> None:
    _build(api, private="true")
    assert api.get("/scenes/test01/versions").status_code == 401
    assert len(api.get("/scenes/test01/versions", headers=api.auth("read")).json()) == 1


def test_answers_about_private_scenes_or_made_for_a_credential_are_private(api: Api) -> None:
    """docs/security.md: responses for private scenes carry ``Cache-Control: private``. The JSON reads that list
    a private scene, or answer differently for a credential (``X-API-Key`` is not ``Authorization``, which
    shared caches would not reuse on their own), must not be stored by a shared cache and shown to others."""
    _build(api, private="true")
    read = api.auth("read")
    job_id = api.get("/jobs", headers=read).json()[0]["jobId"]
    for url in ("/scenes/test01/versions", "/scenes", "/jobs", f"/jobs/{job_id}"):
        response = api.get(url, headers=read)
        assert response.status_code == 200, url
        assert "private" in response.headers.get("cache-control", ""), url
    for url in ("/scenes", "/jobs"):  # made for no one: nothing private in them
        response = api.get(url)
        assert response.status_code == 200 and "private" not in response.headers.get("cache-control", ""), url
