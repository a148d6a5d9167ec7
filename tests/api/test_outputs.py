"""Previews and exports over HTTP: made by jobs after a build / on request, served per version with ETags."""

from __future__ import annotations

import io
import itertools
import json
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

from PIL import Image

from sceneforge.exports import validation_errors
from tests.api.conftest import Api, start_api
from tests.scenes import TWO_ROOMS


def _wait(api: Api, url: str, **kwargs: Any) -> Any:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        reply = api.get(url, **kwargs)
        if reply.status_code != 404:
            return reply
        time.sleep(0.2)
    raise AssertionError(f"{url} never became ready")


def _job(api: Api, job_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        job = api.get(f"/jobs/{job_id}").json()
        if job["status"] in {"Succeeded", "Failed", "Canceled"}:
            return job  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish")


def test_outputs_previews_after_build(api: Api) -> None:
    assert api.get("/scenes/two-rooms/preview/thumbnail.png").status_code == 404
    built = api.post("/scenes/build", content=json.dumps(TWO_ROOMS), headers=api.auth()).json()
    thumb = _wait(api, "/scenes/two-rooms/preview/thumbnail.png")
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(thumb.content)).size == (512, 512)
    assert thumb.headers["cache-control"] == "no-cache"
    exact = api.get(f"/scenes/two-rooms@v{built['version']}/preview/thumbnail.png")
    assert "immutable" in exact.headers["cache-control"] and exact.headers["etag"] == thumb.headers["etag"]
    again = api.get("/scenes/two-rooms/preview/thumbnail.png", headers={"If-None-Match": thumb.headers["etag"]})
    assert again.status_code == 304
    svg = api.get("/scenes/two-rooms/preview/floorplan.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    cells = ET.fromstring(svg.content).findall(".//{http://www.w3.org/2000/svg}g[@class='cell']")
    assert sorted(c.get("data-cell-id") for c in cells) == ["a", "b"]
    assert api.get("/scenes/two-rooms/preview/floorplan.png").status_code == 200
    assert api.get("/scenes/two-rooms/preview/other.png").status_code == 404
    listed = api.get("/jobs?type=preview").json()
    assert listed and all(j["type"] == "preview" for j in listed)
    assert api.get("/jobs?type=nope").status_code == 422


def test_outputs_exports_usdz_and_obj(api: Api) -> None:
    api.post("/scenes/build", content=json.dumps(TWO_ROOMS), headers=api.auth())
    assert api.post("/scenes/two-rooms/exports", json={"format": "usdz"}).status_code == 401
    bad = api.post("/scenes/two-rooms/exports", json={"format": "fbx"}, headers=api.auth())
    assert bad.status_code == 422 and bad.json()["errors"][0]["path"] == "/format"
    # a misspelt member is refused where it stands, not ignored (the published version would have been exported)
    typo = api.post("/scenes/two-rooms/exports", json={"format": "obj", "versoin": 7}, headers=api.auth())
    assert typo.status_code == 422 and typo.json()["errors"][0]["path"] == "/versoin", typo.text
    assert typo.json()["errors"][0]["code"] == "extra_forbidden" and "'format' and 'version'" in typo.text
    assert (
        api.post("/scenes/two-rooms/exports", json={"format": "obj", "version": 7}, headers=api.auth()).status_code
        == 404
    )
    usdz = api.post("/scenes/two-rooms/exports", json={"format": "usdz"}, headers=api.auth())
    assert usdz.status_code == 202
    assert _job(api, usdz.json()["jobId"])["status"] == "Succeeded"
    got = api.get("/scenes/two-rooms/exports/usdz")
    assert got.status_code == 200 and got.headers["content-type"] == "model/vnd.usdz+zip"
    assert 'filename="two-rooms-v1.usdz"' in got.headers["content-disposition"]
    assert validation_errors(got.content) == []
    obj = api.post("/scenes/two-rooms/exports", json={"format": "obj", "version": 1}, headers=api.auth()).json()
    assert _job(api, obj["jobId"])["status"] == "Succeeded"
    with zipfile.ZipFile(io.BytesIO(api.get("/scenes/two-rooms@v1/exports/obj").content)) as z:
        assert sorted(z.namelist()) == ["two-rooms.mtl", "two-rooms.obj"]
    # Asked again: the file exists, the job is done at once.
    cached = api.post("/scenes/two-rooms/exports", json={"format": "usdz"}, headers=api.auth()).json()
    assert api.get(f"/jobs/{cached['jobId']}").json()["status"] == "Succeeded"


def test_outputs_private_scene_needs_read(api: Api) -> None:
    api.post("/scenes/build?private=true", content=json.dumps(TWO_ROOMS), headers=api.auth())
    thumb = _wait(api, "/scenes/two-rooms/preview/thumbnail.png", headers=api.auth("read"))
    assert thumb.headers["cache-control"].startswith("private")
    assert api.get("/scenes/two-rooms/preview/thumbnail.png").status_code in {401, 404}


def test_outputs_public_base_url_redirects(tmp_path: Any) -> None:
    from tests.api.conftest import start_api

    for api in start_api(tmp_path, delivery={"public_base_url": "https://cdn.example.test/files/"}):
        api.post("/scenes/build", content=json.dumps(TWO_ROOMS), headers=api.auth())
        reply = _wait(api, "/scenes/two-rooms/preview/thumbnail.png", follow_redirects=False)
        assert reply.status_code == 302
        location = reply.headers["location"]
        assert location.startswith("https://cdn.example.test/files/") and "//" not in location[8:]
        key = location.rsplit("/", 1)[1]
        assert Image.open(io.BytesIO(api.services.blobs.get(key))).size == (512, 512)
        export = api.post("/scenes/two-rooms/exports", json={"format": "obj"}, headers=api.auth()).json()
        assert _job(api, export["jobId"])["status"] == "Succeeded"
        again = api.post("/scenes/two-rooms/exports", json={"format": "obj"}, headers=api.auth()).json()
        assert again["url"].startswith("https://cdn.example.test/files/")


def test_outputs_export_request_body_limit_is_a_setting(tmp_path: Any) -> None:
    """An export request past SCENEFORGE_MAX_EXPORT_BODY_BYTES is a 413 naming the setting (as the other body
    limits are named), whether Content-Length announces it or the bytes stream past it."""
    for api in start_api(tmp_path, limits={"max_export_body_bytes": 100}, auth={"write_rate": 0}):
        assert api.post("/scenes/build", content=json.dumps(TWO_ROOMS), headers=api.auth()).status_code == 200
        small = json.dumps({"format": "obj"}).encode()
        large = json.dumps({"format": "obj", "pad": "x" * 200}).encode()
        headers = {**api.auth(), "content-type": "application/json"}

        async def streamed(data: bytes) -> Any:
            yield data

        for body in (large, streamed(large)):
            refused = api.post("/scenes/two-rooms/exports", content=body, headers=headers)
            assert refused.status_code == 413, refused.text
            problem = refused.json()
            assert problem["limit"] == "SCENEFORGE_MAX_EXPORT_BODY_BYTES"
            assert "SCENEFORGE_MAX_EXPORT_BODY_BYTES" in problem["detail"] and "100 bytes" in problem["detail"]
        assert api.post("/scenes/two-rooms/exports", content=small, headers=headers).status_code == 202


#: Cell, material and prop names a description accepts that are markup or awkward text in a document.
HOSTILE = [
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "]]>&amp;",
    "q'\"</text>",
    "\u05e2\u05d1RTL\u200d\u0301",
    "\U0001f600" * 32,
    "A",
    "a",
    "1 a.b/c",
    "1_a_b_c",
    "nb\xa0sp\u3000",
    "\ufffe\uffff",
]


def test_outputs_hostile_names_stay_text(api: Api) -> None:
    """A level whose every name is markup or odd text: the plan is XML naming each cell (the noncharacters
    U+FFFE/U+FFFF, which XML cannot hold, as U+FFFD), served as an SVG that may run nothing; both exports
    succeed with every cell distinct."""
    from pxr import Usd

    level = {
        "sceneId": "hostile",
        "cells": [
            {"cellId": n, "room": {"min": [4 * i, 0, 0], "max": [4 * i + 4, 3, 4], "material": n}}
            for i, n in enumerate(HOSTILE)
        ],
        "portals": [{"between": [a, b], "door": {}} for a, b in itertools.pairwise(HOSTILE)],
        "materials": {n: f"#{20 * i:02x}8040" for i, n in enumerate(HOSTILE)},
        "props": {n: n for n in HOSTILE},
    }
    assert api.post("/scenes/build", content=json.dumps(level), headers=api.auth()).status_code == 200
    svg = _wait(api, "/scenes/hostile/preview/floorplan.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.headers["x-content-type-options"] == "nosniff"
    policy = svg.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy and "script" not in policy
    root = ET.fromstring(svg.content)
    ids = [g.get("data-cell-id") for g in root.iter("{http://www.w3.org/2000/svg}g") if g.get("class") == "cell"]
    assert ids == [n.replace("\ufffe", "\ufffd").replace("\uffff", "\ufffd") for n in HOSTILE]
    assert not [e for e in root.iter() if e.tag.endswith("script") or any(a.startswith("on") for a in e.attrib)]
    for name in ("floorplan.png", "thumbnail.png"):
        png = api.get(f"/scenes/hostile/preview/{name}")
        assert png.headers["x-content-type-options"] == "nosniff"
        Image.open(io.BytesIO(png.content)).verify()
    for kind in ("usdz", "obj"):
        job = api.post("/scenes/hostile/exports", json={"format": kind}, headers=api.auth()).json()
        assert _job(api, job["jobId"])["status"] == "Succeeded"
    usdz = api.get("/scenes/hostile/exports/usdz")
    assert usdz.headers["x-content-type-options"] == "nosniff" and validation_errors(usdz.content) == []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hostile.usdz"
        path.write_bytes(usdz.content)
        stage = Usd.Stage.Open(str(path))
        cells = list(stage.GetPrimAtPath("/Scene/Cells").GetChildren())
        assert [p.GetCustomData()["cellId"] for p in cells] == HOSTILE
        assert len({p.GetName() for p in cells}) == len(HOSTILE)
        del stage
    with zipfile.ZipFile(io.BytesIO(api.get("/scenes/hostile/exports/obj").content)) as z:
        groups = [line for line in z.read("hostile.obj").decode().split("\n") if line.startswith("g ")]
    assert len(set(groups)) == len(HOSTILE) and all(len(g.split()) == 2 for g in groups)


def test_outputs_export_path_takes_a_bare_scene_id(api: Api) -> None:
    """``POST /scenes/{id}/exports`` takes a scene id, as every write does: ``x@v1`` or ``x.<etag>`` in its place is
    a 404 and queues nothing (it had been read as that version, exported instead of the published one)."""
    built = api.post("/scenes/build", content=json.dumps(TWO_ROOMS), headers=api.auth()).json()
    queued = {j["jobId"] for j in api.get("/jobs?type=export").json()}
    for alias in (f"two-rooms@v{built['version']}", f"two-rooms.{built['eTag']}"):
        for body in ({"format": "obj"}, {"format": "obj", "version": built["version"]}):
            reply = api.post(f"/scenes/{alias}/exports", json=body, headers=api.auth())
            assert reply.status_code == 404, reply.text
            assert reply.headers["content-type"] == "application/problem+json"
            assert f"no scene {alias!r}" in reply.json()["detail"]
    assert {j["jobId"] for j in api.get("/jobs?type=export").json()} == queued
    assert api.post("/scenes/two-rooms/exports", json={"format": "obj"}, headers=api.auth()).status_code == 202
