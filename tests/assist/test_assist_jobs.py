"""Assist answers are ``assist`` jobs: queued, claimed from their own lane with its own concurrency,
canceled like any job, stopped at their timeout, and never run twice.

Against the scripted OpenAI-compatible server on loopback (real HTTP, real SDK) and the app in process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sceneforge.jobs import JobService
from sceneforge.jobs.assist import AssistWork, queue_assist
from sceneforge.jobs.states import BuildJob
from sceneforge.settings import Settings
from sceneforge.storage.assist import Turn
from tests.api.conftest import Api, start_api
from tests.assist.llm_server import Reply, ScriptedLlm, tool_call
from tests.assist.test_assist_api import HANG_S, WIDEN, _llm_settings, ask, stream, wait_job
from tests.scenes import TWO_ROOMS


@pytest.fixture
def llm() -> Iterator[ScriptedLlm]:
    with ScriptedLlm() as server:
        yield server


def _session(api: Api, session_id: str) -> dict[str, Any]:
    got: dict[str, Any] = api.get(f"/scenes/two-rooms/assist/sessions/{session_id}").json()
    return got


def _answer(api: Api, turn: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = _session(api, turn["sessionId"])["messages"][-1]
    return answer


def _wait(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def one_lane(tmp_path: Path, llm: ScriptedLlm) -> Iterator[Api]:
    """Assist concurrency 1: one answer at a time in this server's pool (and the type's own priority)."""
    assist = {"concurrency": 1, "priority": 5}
    for api in start_api(tmp_path, llm=_llm_settings(llm), jobs={"cancel_poll_s": 0.05}, assist=assist):
        assert api.post("/scenes/two-rooms/draft", json=TWO_ROOMS, headers=api.auth()).status_code == 201
        yield api


def test_assist_job_waits_queued_until_its_lane_is_free(one_lane: Api, llm: ScriptedLlm) -> None:
    api = one_lane
    llm.replies += [
        Reply(content=["Working ", "on it"], hold_after=1),
        Reply(calls=[tool_call("patch_draft", {"ops": WIDEN, "reason": "wider"})]),
        Reply(content=["Room b is wider."]),
    ]
    first = ask(api, "first")
    assert llm.holding.wait(HANG_S)
    second = ask(api, "second")
    # the lane is busy: the second answer is a Queued assist job, its message queued, nobody called the model
    time.sleep(0.5)
    job = api.get(f"/jobs/{second['jobId']}").json()
    assert job["type"] == "assist" and job["status"] == "Queued" and job["attempt"] == 0 and job["maxAttempts"] == 1
    assert job["priority"] == 5
    answer = _answer(api, second)
    assert answer["status"] == "queued" and answer["lastSeq"] == 1 and len(llm.requests) == 1
    assert api.get(f"/jobs/{first['jobId']}").json()["status"] == "Running"
    llm.release()
    events = stream(api, second["messageId"])
    statuses = [d["status"] for _, k, d in events if k == "status"]
    assert statuses[:2] == ["queued", "running"] and events[0][2]["jobId"] == second["jobId"]
    assert events[-1][1] == "done" and events[-1][2]["revisions"] == [2]
    done = wait_job(api, second["jobId"])
    assert done["status"] == "Succeeded" and done["attempt"] == 1
    assert done["startedUtc"] >= wait_job(api, first["jobId"])["completedUtc"]  # it ran after the first ended
    assert [m["status"] for m in _session(api, first["sessionId"])["messages"]] == ["done", "done"]


def test_assist_job_canceled_while_queued_never_reaches_the_model(one_lane: Api, llm: ScriptedLlm) -> None:
    api = one_lane
    llm.replies += [Reply(content=["Busy ", "now"], hold_after=1), Reply(content=["never sent"])]
    first = ask(api, "first")
    assert llm.holding.wait(HANG_S)
    second = ask(api, "second")
    canceled = api.post(f"/jobs/{second['jobId']}/cancel", headers=api.auth())
    assert canceled.status_code == 202 and canceled.json()["status"] == "Canceled"
    events = stream(api, second["messageId"])
    assert [(k, d["status"]) for _, k, d in events] == [("status", "queued"), ("done", "canceled")]
    llm.release()
    assert wait_job(api, first["jobId"])["status"] == "Succeeded"
    time.sleep(0.3)
    assert len(llm.requests) == 1 and _answer(api, second)["status"] == "canceled"


def test_assist_cancel_mid_stream_through_the_jobs_api(one_lane: Api, llm: ScriptedLlm) -> None:
    api = one_lane
    llm.replies += [Reply(content=["One ", "two ", "three"], hold_after=1), Reply(content=["next one"])]
    turn = ask(api, "count")
    assert llm.holding.wait(HANG_S)
    _wait(lambda: _answer(api, turn)["lastSeq"] >= 4)  # queued, running, thinking, "One "
    assert api.post(f"/jobs/{turn['jobId']}/cancel", headers=api.auth()).status_code == 202
    job = wait_job(api, turn["jobId"])
    assert job["status"] == "Canceled" and job["attempt"] == 1
    assert llm.disconnected.wait(HANG_S)
    events = stream(api, turn["messageId"])
    assert events[-1][1:] == ("done", {"status": "canceled"})
    assert _answer(api, turn)["content"] == "One "
    # the lane is free again: the next answer runs
    llm.released.set()
    after = ask(api, "again")
    assert stream(api, after["messageId"])[-1][1] == "done"
    assert wait_job(api, after["jobId"])["status"] == "Succeeded"


def test_assist_timeout_ends_the_message_with_error_naming_the_setting(tmp_path: Path, llm: ScriptedLlm) -> None:
    llm.replies += [Reply(content=["Slow ", "answer"], hold_after=1)]
    sections: dict[str, Any] = {"llm": _llm_settings(llm), "assist": {"timeout_s": 1.0}}
    for api in start_api(tmp_path, **sections):
        assert api.post("/scenes/two-rooms/draft", json=TWO_ROOMS, headers=api.auth()).status_code == 201
        turn = ask(api, "take forever")
        events = stream(api, turn["messageId"])
        assert events[-1][1] == "error" and events[-1][2]["code"] == "timeout"
        assert "SCENEFORGE_ASSIST_TIMEOUT_S" in events[-1][2]["message"]
        job = wait_job(api, turn["jobId"])
        assert job["status"] == "Failed" and job["attempt"] == 1 and "SCENEFORGE_ASSIST_TIMEOUT_S" in str(job["error"])
        assert job["error"]["limit"] == "SCENEFORGE_ASSIST_TIMEOUT_S", job["error"]
        llm.release()
        time.sleep(0.5)
        assert len(llm.requests) == 1 and api.get(f"/jobs/{turn['jobId']}").json()["attempt"] == 1


async def _taken_and_lost(jobs: JobService, settings: Settings) -> tuple[Turn, BuildJob]:
    """Queue an assist job, let a worker that then dies take it, and sweep once past its lease."""
    assert jobs.pool is not None
    await jobs.pool.close()  # the ghost takes the job: this process's pool, slow to start under load, must not
    turn, job = await queue_assist(jobs.store, jobs.assist_repo, settings, "two-rooms", "go", author="t")
    claimed = await jobs.store.claim("ghost-worker", 0.05, types=("assist",))
    assert claimed is not None and claimed.job_id == job.job_id and claimed.max_attempts == 1
    assert await jobs.assist_repo.set_running(turn.message_id)
    await asyncio.sleep(0.1)  # past the lease: its worker is gone
    await jobs.sweeper.sweep()
    return turn, job


def test_assist_lost_job_ends_its_message_and_is_never_retried(tmp_path: Path, llm: ScriptedLlm) -> None:
    """A worker took the job and died: the sweep fails it (one attempt) and ends the message with ``error``."""
    sections: dict[str, Any] = {"llm": _llm_settings(llm), "jobs": {"poll_s": 60.0, "sweep_s": 60.0}}
    for api in start_api(tmp_path, **sections):
        assert api.post("/scenes/two-rooms/draft", json=TWO_ROOMS, headers=api.auth()).status_code == 201
        jobs: JobService = api.app.state.jobs

        turn, job = api.call(_taken_and_lost, jobs, api.app.state.settings)
        lost = api.get(f"/jobs/{job.job_id}").json()
        assert lost["status"] == "Failed" and lost["attempt"] == 1 and lost["error"]["kind"] == "lost"
        answer = api.get(f"/scenes/two-rooms/assist/sessions/{turn.session_id}").json()["messages"][1]
        assert answer["status"] == "error" and answer["error"]["code"] == "interrupted"
        events = stream(api, turn.message_id)
        assert [k for _, k, _ in events] == ["status", "error"]
        assert api.call(jobs.store.claim, "another", 5.0, types=("assist",)) is None  # never queued again
        assert llm.requests == []


async def test_an_answer_is_canceled_once_however_often_it_is_asked(tmp_path: Path) -> None:
    """The cancel endpoint and the runner's watcher both stop an answer; only the first cancel reaches it,
    so its clean-up (the message's last writes) is never cut short by the second."""
    work = AssistWork(None, None, Settings(storage={"data_dir": tmp_path}), None)  # type: ignore[arg-type]
    cancels: list[str] = []
    cleaning = asyncio.Event()

    async def answer() -> str:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancels.append("answer")
            cleaning.set()
            await asyncio.sleep(0.2)  # its last writes
            return "canceled"
        return "done"

    task = asyncio.ensure_future(answer())
    work.tasks["j"] = task
    await asyncio.sleep(0)
    assert work.cancel("j")
    await cleaning.wait()
    assert work.cancel("j")  # asked again while it cleans up
    assert await task == "canceled" and cancels == ["answer"]
    assert not work.cancel("j")  # ended: nothing here to stop
