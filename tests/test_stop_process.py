"""The test servers' stopper: a server started in its own process group goes with the children it forked."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.support.servers import stop_process

# A parent that exits on SIGTERM and a forked child that ignores it (as a server's worker outlives a server killed
# alone), the child's PID on the first line.
FORKS = """
import os, signal, sys, time
pid = os.fork()
if pid == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    print(os.getpid(), flush=True)
    time.sleep(600)
else:
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    time.sleep(600)
"""


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (not gone, not a zombie its new parent has yet to reap)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_process_leading_its_group_is_stopped_with_the_children_it_forked() -> None:
    with subprocess.Popen([sys.executable, "-c", FORKS], stdout=subprocess.PIPE, start_new_session=True) as proc:
        assert proc.stdout is not None
        child = int(proc.stdout.readline())
        assert _running(child)
        stop_process(proc)
    deadline = time.monotonic() + 10
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(child)
    assert proc.returncode is not None
