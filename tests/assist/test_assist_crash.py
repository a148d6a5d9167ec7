"""A crash mid-message: the API process answering it is killed (-9) while the model streams; after the
restart the message ends with ``error`` (nothing stays running) and a client resumes its stream to that end.
Real processes (uvicorn) on PostgreSQL, the model a scripted server on loopback."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.assist.llm_server import Reply, ScriptedLlm
from tests.reliability.cluster import Cluster
from tests.scenes import TWO_ROOMS

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _events(text: str) -> list[tuple[int, str, dict[str, object]]]:
    out = []
    for frame in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in frame.splitlines() if line and not line.startswith(":"))
        if "data" in fields:
            out.append((int(fields["id"]), fields["event"], json.loads(fields["data"])))
    return out


def test_assist_crash_mid_stream_ends_the_message_with_error(tmp_path: Path, postgres_url: str) -> None:
    with ScriptedLlm([Reply(content=["Half", "way"], hold_after=1)]) as llm:
        env = {"SCENEFORGE_LLM_BASE_URL": llm.base_url, "SCENEFORGE_LLM_API_KEY": "test-key",
               "SCENEFORGE_JOB_LEASE_S": "3", "SCENEFORGE_JOB_SWEEP_S": "0.5"}  # fmt: skip
        with Cluster.prepare(tmp_path, postgres_url, **env) as cluster:
            api = cluster.start_api()
            with httpx.Client(base_url=api.url, headers=cluster.auth, timeout=30) as client:
                assert client.post("/scenes/two-rooms/draft", json=TWO_ROOMS).status_code == 201
                turn = client.post("/scenes/two-rooms/assist", json={"message": "go"}).json()
            assert llm.holding.wait(30)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:  # the first piece is stored
                rows = cluster.query("SELECT count(*) FROM assist_events WHERE message_id = :m", m=turn["messageId"])
                if rows[0][0] >= 4:  # queued, running, thinking, the first piece
                    break
                time.sleep(0.05)
            cluster.stop_api(api, signal.SIGKILL)
            status = cluster.query("SELECT status FROM assist_messages WHERE id = :m", m=turn["messageId"])
            assert status[0][0] == "running"  # the crash left it running: nobody ended it
            time.sleep(3.2)  # past the job's lease
            cluster.restart_api(api)
            with httpx.Client(base_url=api.url, headers=cluster.auth, timeout=30) as client:
                reply = client.get(f"/scenes/two-rooms/assist/{turn['messageId']}/stream", params={"since": 1})
                events = _events(reply.text)
                assert events[-1][1] == "error" and events[-1][2]["code"] == "interrupted"
                assert [e[0] for e in events] == list(range(2, events[-1][0] + 1))
                assert "".join(str(d["text"]) for _, k, d in events if k == "content_delta") == "Half"
                session = client.get(f"/scenes/two-rooms/assist/sessions/{turn['sessionId']}").json()
                assert session["messages"][1]["status"] == "error"
                deadline = time.monotonic() + 10
                while client.get(f"/jobs/{turn['jobId']}").json()["status"] not in {"Failed", "Canceled"}:
                    assert time.monotonic() < deadline, "the dead assist job was never ended"
                    time.sleep(0.1)
