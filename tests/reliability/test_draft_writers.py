"""Two API processes on one PostgreSQL database write one scene at the same instant: with the same ``If-Match``
exactly one patch of each pair is applied and the other is 412, none is lost; a delete of the scene racing
patches on the other instance leaves the revision numbers of the scene made again past every one handed out;
concurrent patches without If-Match are all applied; a publish racing a rollback leaves both instances serving
the version the database points at."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.jobs.conftest import description
from tests.scenes import TWO_ROOMS

from .cluster import Cluster

pytestmark = [pytest.mark.server, pytest.mark.slow]

PATCH = "application/json-patch+json"
ROUNDS = 25


@pytest.fixture(scope="module")
def two_apis(tmp_path_factory: pytest.TempPathFactory, postgres_url: str) -> Iterator[Cluster]:
    """Two instances shared by the module's tests (none stops one), each test on a scene of its own."""
    with Cluster.prepare(tmp_path_factory.mktemp("two-apis"), postgres_url, SCENEFORGE_WORKERS="1") as cluster:
        cluster.start(apis=2)
        yield cluster


def _two_rooms(scene_id: str) -> dict[str, Any]:
    """The two-room description as scene ``scene_id``."""
    return {**TWO_ROOMS, "sceneId": scene_id}


@contextlib.asynccontextmanager
async def _clients(cluster: Cluster, timeout: float) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """A client of each of the two instances."""
    a, b = cluster.apis
    async with (
        httpx.AsyncClient(base_url=a.url, timeout=timeout) as on_a,
        httpx.AsyncClient(base_url=b.url, timeout=timeout) as on_b,
    ):
        yield on_a, on_b


async def test_two_instances_patching_with_the_same_if_match_apply_exactly_one(two_apis: Cluster) -> None:
    auth = two_apis.auth
    async with _clients(two_apis, 30) as (on_a, on_b):
        created = await on_a.post("/scenes/same-if-match/draft", json=_two_rooms("same-if-match"), headers=auth)
        assert created.status_code == 201, created.text
        rev, applied = 1, []
        for i in range(ROUNDS):
            tag = {"If-Match": f'"rev-{rev}"', "Content-Type": PATCH, **auth}

            def ops(side: str, i: int = i) -> str:
                return json.dumps([{"op": "add", "path": f"/props/{side}{i}", "value": side}])

            replies = await asyncio.gather(
                on_a.patch("/scenes/same-if-match/draft", content=ops("a"), headers=tag),
                on_b.patch("/scenes/same-if-match/draft", content=ops("b"), headers=tag),
            )
            statuses = sorted(r.status_code for r in replies)
            assert statuses == [200, 412], [r.text for r in replies]
            won = "a" if replies[0].status_code == 200 else "b"
            assert replies["ab".index(won)].headers["etag"] == f'"rev-{rev + 1}"'
            applied.append(f"{won}{i}")
            rev += 1
        final = (await on_b.get("/scenes/same-if-match/draft")).json()
        assert final["rev"] == 1 + ROUNDS
        assert {k for k in final["description"]["props"] if k[:1] in "ab" and k[1:].isdigit()} == set(applied)
        history = (await on_a.get("/scenes/same-if-match/revisions", params={"take": 500})).json()["revisions"]
        assert [r["rev"] for r in history] == list(range(1 + ROUNDS, 0, -1))


async def test_two_instances_patching_without_if_match_apply_every_patch(two_apis: Cluster) -> None:
    """docs/drafts.md: without If-Match concurrent patches are applied one after the other, none lost; across
    instances too (a patch that kept losing the race to the other instance's writes was a 503)."""
    auth = {"Content-Type": PATCH, **two_apis.auth}
    async with _clients(two_apis, 60) as (on_a, on_b):
        assert (
            await on_a.post("/scenes/no-if-match/draft", json=_two_rooms("no-if-match"), headers=two_apis.auth)
        ).status_code == 201

        async def one(client: httpx.AsyncClient, i: int) -> httpx.Response:
            ops = json.dumps([{"op": "add", "path": f"/props/p{i}", "value": str(i)}])
            return await client.patch("/scenes/no-if-match/draft", content=ops, headers=auth)

        replies = await asyncio.gather(*(one(on_a if i % 2 else on_b, i) for i in range(80)))
        assert [r.status_code for r in replies] == [200] * 80, [r.text for r in replies if r.status_code != 200][:1]
        final = (await on_b.get("/scenes/no-if-match/draft")).json()
        assert final["rev"] == 81 and {f"p{i}" for i in range(80)} <= set(final["description"]["props"])


async def test_a_delete_racing_patches_on_another_instance_never_hands_a_rev_out_twice(two_apis: Cluster) -> None:
    auth = two_apis.auth
    async with _clients(two_apis, 30) as (on_a, on_b):
        assert (
            await on_a.post(
                "/scenes/deleted-while-patched/draft", json=_two_rooms("deleted-while-patched"), headers=auth
            )
        ).status_code == 201
        handed: list[int] = [1]

        async def patch_until_gone() -> None:
            for i in range(200):
                ops = json.dumps([{"op": "add", "path": f"/props/p{i}", "value": str(i)}])
                reply = await on_b.patch(
                    "/scenes/deleted-while-patched/draft", content=ops, headers={"Content-Type": PATCH, **auth}
                )
                if reply.status_code == 404:
                    return
                assert reply.status_code == 200, reply.text
                handed.append(reply.json()["rev"])

        patching = asyncio.create_task(patch_until_gone())
        while len(handed) < 5 and not patching.done():  # a patch that failed ends the wait (and fails below)
            await asyncio.sleep(0.01)
        assert (await on_a.delete("/scenes/deleted-while-patched", headers=auth)).status_code == 204
        await patching
        again = await on_a.post(
            "/scenes/deleted-while-patched/draft", json=_two_rooms("deleted-while-patched"), headers=auth
        )
        assert again.status_code == 201 and again.json()["rev"] > max(handed), (again.json()["rev"], max(handed))


async def test_two_instances_publishing_and_rolling_back_at_once_agree_on_the_published_version(
    two_apis: Cluster,
) -> None:
    """Each round one instance publishes v2 while the other rolls back to v1: afterwards both serve the version
    the database points at, and the last ``scene.published`` event names it."""
    auth = two_apis.auth
    async with _clients(two_apis, 60) as (on_a, on_b):
        for n in (1, 2):
            built = await on_a.post("/scenes/build", content=description("pub", n=str(n)), headers=auth)
            assert built.status_code == 200, built.text
        etags = {int(n): str(etag) for n, etag in two_apis.query("SELECT n, etag FROM versions WHERE scene_id = 'pub'")}
        for _ in range(12):
            replies = await asyncio.gather(
                on_a.post("/scenes/pub/publish", json={"version": 2}, headers=auth),
                on_b.post("/scenes/pub/publish", json={"version": 1}, headers=auth),
            )
            assert [r.status_code for r in replies] == [200, 200], [r.text for r in replies]
            ((latest,),) = two_apis.query("SELECT latest_version FROM scenes WHERE id = 'pub'")
            newest = "SELECT payload FROM events WHERE scene_id = 'pub' AND type = 'scene.published' ORDER BY seq DESC"
            ((last,), *_) = two_apis.query(newest)
            assert (json.loads(last) if isinstance(last, str) else last)["version"] == latest
            for client in (on_a, on_b):
                served = await client.head("/scenes/pub.glb")
                assert served.headers["etag"].strip('"') == etags[latest]
