"""A percent-encoded slash in a path names nothing: ``/scenes/x%2Fmeta`` is a 404, never the meta of ``x``.

Starlette routes on the decoded path, so before the check each of these reached the route its decoded
path names: a read of another resource, or a write (a deletion, a revoked key, a canceled job, a draft).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sceneforge.api.studio import STUDIO_DIR
from tests.api.conftest import TEST01, Api, start_api

JSON = {"content-type": "application/json"}
OBJ = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"

#: (method, path, key scope); {job}, {key} and {asset} are filled in. Each decodes to a route that answers.
CASES = [
    # scenes, versions, descriptions, links
    ("GET", "/scenes/test01%2Fmeta", "read"),
    ("HEAD", "/scenes/test01%2Fmeta", "read"),
    ("GET", "/scenes/test01%2fmeta", "read"),
    ("GET", "/scenes%2Ftest01.glb", "read"),
    ("GET", "/scenes/test01%2Fversions", "read"),
    ("GET", "/scenes/test01%2Fdescription", "read"),
    ("GET", "/scenes/test01@v1%2Fdescription", "read"),
    ("DELETE", "/scenes%2Ftest01", "write"),
    ("POST", "/scenes/test01%2Flinks", "write"),
    # drafts and revisions
    ("POST", "/scenes/test01%2Fdraft", "write"),
    ("GET", "/scenes/test01%2Fdraft", "read"),
    ("GET", "/scenes/test01%2Frevisions", "read"),
    ("POST", "/scenes/test01%2Fpublish", "write"),
    # previews and exports
    ("GET", "/scenes/test01%2Fpreview%2Ffloorplan.svg", "read"),
    ("GET", "/scenes/test01%2Fexports%2Fobj", "read"),
    ("POST", "/scenes/test01%2Fexports", "write"),
    # assistant
    ("GET", "/scenes/test01%2Fassist%2Fsessions%2Fs1", "read"),
    # jobs
    ("GET", "/jobs%2F{job}", "read"),
    ("POST", "/jobs/{job}%2Fcancel", "write"),
    ("GET", "/jobs/events%2Ftest01", "read"),
    # assets
    ("GET", "/assets%2F{asset}", "read"),
    ("HEAD", "/assets%2F{asset}", "read"),
    # keys
    ("POST", "/keys/{key}%2Frevoke", "admin"),
    ("DELETE", "/keys%2F{key}", "admin"),
    # the studio's files
    ("GET", "/studio%2Fstudio.css", "read"),
    ("GET", "/clients/js%2Findex.js", "read"),
    ("GET", "/vendor/three%2FLICENSE", "read"),
]


@pytest.fixture(scope="module")
def slash_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Api, dict[str, str]]]:
    for api in start_api(tmp_path_factory.mktemp("slash"), auth={"write_rate": 0}):
        built = api.post("/scenes/build", content=TEST01, headers={**api.auth(), **JSON})
        assert built.status_code == 200, built.text
        asset = api.post("/assets", content=OBJ, headers=api.auth())
        assert asset.status_code in (200, 201), asset.text
        job = api.get("/jobs", headers=api.auth("read")).json()[0]["jobId"]
        key = next(k["id"] for k in api.get("/keys", headers=api.auth("admin")).json() if k["name"] == "test read")
        assert api.get("/scenes/test01/meta").status_code == 200  # cached: the fast read path is tried first
        yield api, {"job": job, "key": str(key), "asset": asset.json()["assetId"]}


@pytest.mark.parametrize(("method", "path", "scope"), CASES, ids=[f"{m} {p}" for m, p, _ in CASES])
def test_an_encoded_slash_is_a_404_not_another_route(
    slash_api: tuple[Api, dict[str, str]], method: str, path: str, scope: str
) -> None:
    api, ids = slash_api
    url = path.format(**ids)
    response = api.request(
        method, url, headers={**api.auth(scope), **JSON}, content=b"{}" if method == "POST" else None
    )
    assert response.status_code == 404, (response.status_code, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json"
    if method != "HEAD":
        problem = response.json()
        assert problem["status"] == 404 and "encoded slash" in problem["detail"]


def test_nothing_was_changed_through_an_encoded_slash(slash_api: tuple[Api, dict[str, str]]) -> None:
    api, ids = slash_api
    draft = api.get("/scenes/test01/draft", headers=api.auth("read")).json()["rev"]
    versions = api.get("/scenes/test01/versions").json()
    for method, path, scope in CASES:
        api.request(method, path.format(**ids), headers={**api.auth(scope), **JSON}, content=b"{}")
    assert api.get("/scenes/test01.glb").status_code == 200  # not deleted
    assert api.get("/scenes/test01/draft", headers=api.auth("read")).json()["rev"] == draft  # no revision made
    assert api.get("/scenes/test01/versions").json() == versions  # nothing published
    assert api.get("/keys", headers=api.auth("read")).status_code == 403  # the read key is still live
    job = api.get(f"/jobs/{ids['job']}", headers=api.auth("read")).json()
    assert job["status"] != "canceled"


def test_an_encoded_slash_in_the_query_is_no_path(slash_api: tuple[Api, dict[str, str]]) -> None:
    api, _ = slash_api
    assert api.get("/scenes/test01.glb?x=a%2Fb").status_code == 200
    assert api.get("/scenes/test01/meta?x=a%2Fb").status_code == 200
    assert (STUDIO_DIR / "studio.css").is_file() and api.get("/studio/studio.css?v=a%2Fb").status_code == 200


def test_an_encoded_slash_is_a_404_with_cors_on(tmp_path: Path) -> None:
    """With an Origin the cached read is answered inside CORS: the encoded slash is refused there too."""
    for api in start_api(tmp_path, server={"cors_origins": "https://app.example"}):
        assert api.post("/scenes/build", content=TEST01, headers={**api.auth(), **JSON}).status_code == 200
        origin = {"origin": "https://app.example"}
        assert api.get("/scenes/test01/meta", headers=origin).status_code == 200
        refused = api.get("/scenes/test01%2Fmeta", headers=origin)
        assert refused.status_code == 404 and refused.headers["access-control-allow-origin"] == "https://app.example"
