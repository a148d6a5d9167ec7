"""``POST /scenes/build`` runs on the job executor, never in the API process, and is bounded like every job."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import TEST01, Api, start_api
from tests.ingest.blender_fixture import blender_scene
from tests.ingest.test_assets import QUAD_OBJ
from tests.jobs.conftest import big_description


@pytest.fixture
def bounded_api(tmp_path: Path) -> Iterator[Api]:
    yield from start_api(tmp_path, jobs={"workers": 1, "timeout_s": 0.5, "queue_wait_s": 0.5})


def _jobs(api: Api) -> list[dict[str, object]]:
    return api.get("/jobs?type=build").json()  # type: ignore[no-any-return]


def test_build_is_a_top_priority_job(api: Api) -> None:
    reply = api.post("/scenes/build", content=TEST01, headers=api.auth())
    assert reply.status_code == 200, reply.text
    (job,) = _jobs(api)
    assert job["status"] == "Succeeded" and job["priority"] == 1000 and job["sceneId"] == "test01"
    assert job["result"]["eTag"] == reply.json()["eTag"]  # type: ignore[index]
    assert job["result"]["warnings"] == reply.json()["warnings"]  # type: ignore[index]
    glb = api.get("/scenes/test01.glb")
    assert glb.status_code == 200 and glb.headers["etag"].strip('"') == reply.json()["eTag"]


def test_build_from_a_tagged_glb_runs_as_a_job(api: Api) -> None:
    reply = api.post(
        "/scenes/build", content=blender_scene(), headers=api.auth() | {"content-type": "model/gltf-binary"}
    )
    assert reply.status_code == 200, reply.text
    (job,) = _jobs(api)
    assert job["sceneId"] == reply.json()["sceneId"] and job["status"] == "Succeeded"


def test_build_from_the_project_s_own_compressed_glb(api: Api) -> None:
    """A GLB written with --compress (EXT_meshopt_compression required) builds again through the API as through
    the CLI: the scene id read at enqueue does not refuse the extension the build decodes."""
    from sceneforge.compile import BuildOptions, compile_scene

    glb = compile_scene(blender_scene(), BuildOptions(quantize=True, compress=True)).glb
    reply = api.post("/scenes/build", content=glb, headers=api.auth() | {"content-type": "model/gltf-binary"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["sceneId"] == "Scene"


@pytest.mark.parametrize("path", ["/scenes/build", "/jobs/enqueue"])
def test_build_bodies_the_openapi_lists_are_taken(api: Api, path: str) -> None:
    """Each request body type the OpenAPI document lists for a build route is one the route takes (a client made
    from the schema is not answered 415): ``/jobs/enqueue`` takes JSON only (docs/limits.md, "Routes taking
    bodies"), ``/scenes/build`` JSON and a tagged GLB."""
    content = api.get("/openapi.json").json()["paths"][path]["post"]["requestBody"]["content"]
    bodies = {"application/json": TEST01, "model/gltf-binary": blender_scene()}
    assert set(content) <= set(bodies), content
    for media in content:
        reply = api.post(path, content=bodies[media], headers=api.auth() | {"content-type": media})
        assert reply.status_code == 200, (media, reply.text)


def test_build_resolves_uploaded_assets_in_the_worker(api: Api) -> None:
    asset = api.post("/assets", content=QUAD_OBJ, headers=api.auth())
    assert asset.status_code == 201, asset.text
    description = json.loads(TEST01)
    description["cells"][0]["meshes"].append({"meshId": f"asset:{asset.json()['assetId']}"})
    reply = api.post("/scenes/build", content=json.dumps(description), headers=api.auth())
    assert reply.status_code == 200, reply.text
    missing = json.dumps(description).replace(asset.json()["assetId"], "0" * 64)
    refused = api.post("/scenes/build", content=missing, headers=api.auth())
    assert refused.status_code == 422 and refused.json()["errors"][0]["code"] == "asset_not_found"
    assert refused.json()["errors"][0]["path"] == "/cells/0/meshes/1/meshId"


def test_build_past_the_job_timeout_is_422_naming_the_limit(bounded_api: Api) -> None:
    reply = bounded_api.post("/scenes/build", content=big_description(12_000, seed=5), headers=bounded_api.auth())
    assert reply.status_code == 422, reply.text
    assert reply.json()["limit"] == "SCENEFORGE_JOB_TIMEOUT_S"
    assert "SCENEFORGE_JOB_TIMEOUT_S" in reply.json()["detail"]
    assert [job["status"] for job in _jobs(bounded_api)] == ["Failed"]
    assert bounded_api.get("/healthz").status_code == 200


def test_build_no_worker_takes_is_503_naming_the_wait(tmp_path: Path) -> None:
    """The one worker is busy with a queued build of equal priority enqueued before: the wait runs out."""
    for bounded_api in start_api(tmp_path, jobs={"workers": 1, "timeout_s": 600, "queue_wait_s": 0.5}):
        _no_worker_takes(bounded_api)


def _no_worker_takes(bounded_api: Api) -> None:
    busy = bounded_api.post(
        "/jobs/enqueue", params={"priority": 1000}, content=big_description(12_000, seed=6), headers=bounded_api.auth()
    )
    assert busy.status_code == 200
    reply = bounded_api.post("/scenes/build", content=TEST01, headers=bounded_api.auth())
    assert reply.status_code == 503, reply.text
    assert reply.json()["limit"] == "SCENEFORGE_JOB_QUEUE_WAIT_S"
    statuses = {job["jobId"]: job["status"] for job in _jobs(bounded_api)}
    assert statuses[reply.json()["jobId"]] == "Canceled"
