"""A description check whose geometry stage stalls until the check is told to stop (its ``progress`` raises
:class:`~sceneforge.errors.BuildCanceled`, or the cancel of the anyio worker thread it runs in), is released, or a
minute passes; the stage after it is counted.

For the tests of cancellation (a check stopped at its next stage never reaches ``checked``) and of how many checks
run at once (``most``)."""

from __future__ import annotations

import inspect
import threading
import time
from asyncio import CancelledError
from typing import Any

import pytest

__all__ = ["StalledChecks"]


class StalledChecks:
    """Patches the geometry stage and the geometry checks (``monkeypatch``). ``told``: the progress each check was
    given (None: none), appended by the check :meth:`watch` wraps, which sets ``ended`` when it returns;
    ``entered``: a check reached the geometry; ``release``: let the geometry go on; ``checked``: the stages after
    it that ran; ``most``: the most checks in the geometry stage at once."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from sceneforge import validate
        from sceneforge.errors import BuildCanceled
        from sceneforge.geometry import rooms

        self._monkeypatch = monkeypatch
        self.entered, self.release, self.ended = threading.Event(), threading.Event(), threading.Event()
        self.told: list[Any] = []
        self.checked: list[str] = []
        self.most, active, lock = 0, [0], threading.Lock()
        generate_rooms, validate_scene = rooms.generate_rooms, validate.validate_scene

        def long_rooms(ir: Any, **kwargs: Any) -> int:
            with lock:
                active[0] += 1
                self.most = max(self.most, active[0])
            self.entered.set()
            deadline = time.monotonic() + 60
            while not self.release.is_set() and time.monotonic() < deadline:
                try:
                    if self.told and self.told[-1] is not None:
                        self.told[-1]("geometry", 0.2)
                except (BuildCanceled, CancelledError):
                    break
                time.sleep(0.01)
            with lock:
                active[0] -= 1
            return generate_rooms(ir, **kwargs)

        def counted(*args: Any, **kwargs: Any) -> Any:  # the stage after the geometry
            self.checked.append("geometry checks")
            return validate_scene(*args, **kwargs)

        monkeypatch.setattr(rooms, "generate_rooms", long_rooms)
        monkeypatch.setattr(validate, "validate_scene", counted)

    def watch(self, owner: Any, name: str) -> None:
        """Wrap the check ``owner.<name>``: the ``progress`` it is given goes to ``told``, ``ended`` is set when it
        returns or raises."""
        check = getattr(owner, name)
        signature = inspect.signature(check)

        def watched(*args: Any, **kwargs: Any) -> Any:
            self.told.append(signature.bind(*args, **kwargs).arguments.get("progress"))
            try:
                return check(*args, **kwargs)
            finally:
                self.ended.set()

        self._monkeypatch.setattr(owner, name, watched)
