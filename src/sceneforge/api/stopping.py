"""Ending the event streams when the server process is told to stop (SIGTERM, SIGINT).

A server stops once its open connections have ended, and then runs the app's shutdown (which hands
running jobs back to the queue). Event streams never end by themselves: granian waited for every
open SSE stream or WebSocket — one studio tab kept ``sceneforge serve`` running after SIGTERM until
the tab closed, or until a supervisor's SIGKILL skipped the shutdown. The server process's
handlers stay as they are (granian's asyncio handlers, uvicorn's): a Python-level handler is put in
front of them that ends every stream (:meth:`EventHub.stop_streams
<sceneforge.events.hub.EventHub.stop_streams>`) and then calls the previous one.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from ..events.hub import EventHub

__all__ = ["STOP_SIGNALS", "end_streams_on_stop_signals"]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def end_streams_on_stop_signals(hub: EventHub) -> Callable[[], None]:
    """From now on a stop signal first ends ``hub``'s streams (on the running loop), then does what it did.

    Returns the function that puts the previous handlers back. Does nothing outside the main thread
    (only it may set signal handlers: an app run by a test client or inside another program).
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    previous: dict[int, Any] = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}

    def handler(signum: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(hub.stop_streams)
        before = previous[signum]
        if callable(before):  # granian's loop handlers (woken through the wakeup fd either way), uvicorn's
            before(signum, frame)
        elif before == signal.SIG_DFL:  # what the signal would have done: end the process
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    for sig in STOP_SIGNALS:
        signal.signal(sig, handler)

    def restore() -> None:
        for sig, before in previous.items():
            if before is not None:
                signal.signal(sig, before)

    return restore
