"""How an ended build becomes the reply of ``POST /scenes/build``: the worker loss is told by the job error's
``kind`` (docs/jobs.md), never by words in its message — here over a real job store on SQLite."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sceneforge.api.scenes import _failed_build
from sceneforge.events import EventLog
from sceneforge.jobs import JobStatus, JobStore
from sceneforge.jobs.states import BuildJob

from ..jobs.conftest import data_dir, engine  # noqa: F401 - fixtures


def _reply(job: BuildJob) -> tuple[int, dict[str, Any]]:
    response = _failed_build(job)
    return response.status_code, json.loads(bytes(response.body))


async def test_a_build_whose_worker_stopped_renewing_its_lease_is_503(engine: Any) -> None:  # noqa: F811
    store = JobStore(engine, EventLog(engine))
    await store.create("a", "s", description_key="k", max_attempts=1)
    await store.claim("dead", 0.01)
    later = JobStore(engine, store.log, clock=lambda: datetime.now(UTC) + timedelta(seconds=1))
    [job] = await later.reclaim_expired()
    assert job.status is JobStatus.FAILED and job.error is not None and job.error["kind"] == "lost"
    status, body = _reply(job)
    assert status == 503 and body["jobId"] == "a"


@settings(max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=st.text(max_size=20), after=st.text(max_size=20), word=st.sampled_from(["lease", "release", "please"]))
def test_a_failure_that_only_mentions_a_lease_is_500(before: str, after: str, word: str) -> None:
    message = f"{before}{word}{after}"
    job = BuildJob(
        "b", "s", JobStatus.FAILED, datetime.now(UTC), error={"message": message, "issues": [], "kind": "error"}
    )
    status, body = _reply(job)
    assert status == 500 and message in body["detail"]
