"""The ops of an undo, a redo or a replaced draft are a diff of two whole descriptions, worked out off the event loop
and before the write lock is taken: a diff of a 19,000-cell draft whose cells were reversed takes ~3 s, and had held
every other request of the process and every other writer of the database that long."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from sceneforge.storage import drafts as drafts_module
from tests.api.conftest import start_api
from tests.scenes import TWO_ROOMS


def _write_locked(db: Path) -> bool:
    """Whether a writer holds the SQLite database's write lock throughout half a second. A diff run under this
    request's own write transaction would hold it until the diff returns; another writer of the process (an event
    appended, a sweep) lets go within milliseconds, and under load one may be caught in the middle of its write."""
    deadline = time.monotonic() + 0.5
    while _locked_now(db):
        if time.monotonic() > deadline:
            return True
        time.sleep(0.01)
    return False


def _locked_now(db: Path) -> bool:
    """Whether a writer holds the SQLite database's write lock now (a second writer could not begin)."""
    probe = sqlite3.connect(db, timeout=0, isolation_level=None)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc), exc
        return True
    finally:
        probe.close()


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def test_draft_diffs_run_off_the_event_loop_and_outside_the_write_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[bool, bool]] = []
    db = tmp_path / "data" / "sceneforge.db"
    diff = drafts_module.diff

    def watched(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
        calls.append((_on_event_loop(), _write_locked(db)))
        return diff(before, after)

    monkeypatch.setattr(drafts_module, "diff", watched)
    for api in start_api(tmp_path, auth={"write_rate": 0}):
        auth = api.auth()
        assert api.post("/scenes/two-rooms/draft", json=TWO_ROOMS, headers=auth).status_code == 201
        edit = [{"op": "add", "path": "/props/note", "value": "moved"}]
        patched = api.request("PATCH", "/scenes/two-rooms/draft", json=edit,
                              headers={**auth, "Content-Type": "application/json-patch+json"})  # fmt: skip
        assert patched.status_code == 200, patched.text
        assert calls == []  # a patch stores its own ops: no diff
        replaced = {**TWO_ROOMS, "props": {**TWO_ROOMS["props"], "note": "replaced"}}
        steps = [
            ("POST", "/scenes/two-rooms/draft/undo", None, 3),
            ("POST", "/scenes/two-rooms/draft/redo", None, 4),
            ("POST", "/scenes/two-rooms/draft?replace=true", replaced, 5),
        ]
        for method, url, body, rev in steps:
            calls.clear()
            reply = api.request(method, url, json=body, headers=auth)
            assert reply.status_code in (200, 201), reply.text
            assert reply.json()["rev"] == rev
            assert calls, url  # the revision's ops are a diff
            assert calls == [(False, False)] * len(calls), (url, calls)  # (on the loop, under the write lock)
        # The ops stored still take each revision's parent to it.
        revisions = api.get("/scenes/two-rooms/revisions").json()["revisions"]
        assert [(r["rev"], r["source"]) for r in revisions[:3]] == [(5, "user"), (4, "redo"), (3, "undo")]
        assert revisions[0]["ops"] == [{"op": "replace", "path": "/props/note", "value": "replaced"}]
        assert revisions[2]["ops"] == [{"op": "remove", "path": "/props/note"}]
