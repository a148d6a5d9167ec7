"""Rounded plans (a plan turned and written to millimetres, as a CAD export writes it) are fitted, their portals
taken back off the rounding and their shells laid back into world space for all rooms in one batch
(``geometry/frames.py``): each room's numbers must be the ones it gets alone, to the bit — a batch that let one
room's values reach another's (a run of nearly equal coordinates across two rooms, a map gathered for the wrong
room) would move portals and walls by a fraction of a millimetre."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sceneforge.config import Limits
from sceneforge.geometry import frames, generate_rooms
from sceneforge.geometry import rooms as rooms_module
from sceneforge.ingest.description import description_to_ir, parse_description
from tests.levels_new_kinds import to_mm, turned_by

LEVELS = Path(__file__).resolve().parents[1] / "data" / "levels"


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal to the bit: the same values and the same signs of zero."""
    return a.shape == b.shape and bool(np.array_equal(a, b) and np.array_equal(np.signbit(a), np.signbit(b)))


def _frames_input(level: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, ...]:
    """The rooms, portal quads and owners the room stage hands ``panels_in_own_frames`` for ``level``."""
    seen: list[tuple[Any, ...]] = []

    def spy(*args: Any) -> Any:
        seen.append(args)
        return frames.panels_in_own_frames(*args)

    monkeypatch.setattr(rooms_module, "panels_in_own_frames", spy)
    generate_rooms(description_to_ir(parse_description(json.dumps(level).encode()), None, Limits()))
    assert len(seen) == 1
    return seen[0]


@pytest.mark.parametrize(("name", "degrees"), [("office-200", 30.0), ("office-200", -61.3), ("office-small", 7.3)])
def test_rounded_plans_in_one_batch_are_each_as_alone(
    name: str, degrees: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    level = json.loads((LEVELS / f"{name}.json").read_text())
    rooms, quads, quad_room = _frames_input(to_mm(turned_by(level, degrees)), monkeypatch)
    by_room = np.argsort(quad_room, kind="stable")
    bounds = np.searchsorted(quad_room[by_room], np.arange(len(rooms) + 1))
    every = np.arange(len(rooms))
    together = frames._RectangleFits.of(rooms, every, quads[by_room], bounds)
    fitted = sorted(together.room)
    assert len(fitted) > 10
    local_rooms, taken_back = [], []
    for i in fitted:
        alone = frames._RectangleFits.of(rooms, np.array([i]), quads[by_room], bounds)
        both, one = together.get(i), alone.get(i)
        assert both is not None and one is not None
        for a, b in zip((both[0], both[1], both[2].lo, both[2].size, both[2].corners, both[3]),
                        (one[0], one[1], one[2].lo, one[2].size, one[2].corners, one[3]), strict=True):  # fmt: skip
            assert _same(a, b), i
        local_rooms.append(replace(rooms[i], floor=both[1]))
        taken_back.append(both[3])
    # Off the rounding: every room's portals together as each room's alone.
    joint = frames._unrounded(local_rooms, taken_back)
    for room, q, out in zip(local_rooms, taken_back, joint, strict=True):
        assert _same(out, frames._unrounded([room], [q])[0])
    # Shells laid back into world space: together as each alone (maps of both kinds, and none).
    maps = [together.get(i)[2] for i in fitted]  # type: ignore[index]
    shells = [
        (np.asarray(r.floor, np.float32).repeat(2, 0).reshape(-1, 2)[:, [0, 0, 1]] + np.float32(0.25),
         np.tile(np.float32([[0.6, 0.0, 0.8]]), (2 * r.floor.shape[0], 1)), None,
         np.arange(2 * r.floor.shape[0], dtype=np.uint32))
        for r in local_rooms
    ]  # fmt: skip
    origins = [rooms[i].floor[0] for i in fitted]
    turns = [together.get(i)[0] for i in fitted]  # type: ignore[index]
    maps_mixed = [m if k % 3 else None for k, m in enumerate(maps)]
    joint_shells = frames._turned_back(shells, origins, turns, maps_mixed)  # type: ignore[arg-type]
    for k, shell in enumerate(joint_shells):
        alone_shell = frames._turned_back([shells[k]], [origins[k]], [turns[k]], [maps_mixed[k]])[0]  # type: ignore[list-item]
        for a, b in zip(shell[:3], alone_shell[:3], strict=True):
            assert _same(a, b), k


def test_a_rounded_room_whose_frame_the_panels_refuse_is_built_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """The rooms whose portals taking the rounding off moves are left out of the panels' first build and built in
    their frames alone. Where the panels refuse a frame (here every frame: the panels made to refuse their second
    call), each such room is built as written after all — the shell the panels build for it among all rooms, to
    the bit — never left to the booleans."""
    level = json.loads((LEVELS / "office-small.json").read_text())
    rooms, quads, quad_room = _frames_input(to_mm(turned_by(level, 30.0)), monkeypatch)
    as_written = frames.panel_shells(rooms, quads, quad_room)
    calls: list[int] = []
    real = frames.panel_shells

    def refusing_frames(rooms_: Any, quads_: Any, owners: Any) -> Any:
        calls.append(len(rooms_))
        if len(calls) == 2:  # the rooms in their own frames
            return np.zeros(len(rooms_), bool), []
        return real(rooms_, quads_, owners)

    monkeypatch.setattr(frames, "panel_shells", refusing_frames)
    fast, meshes = frames.panels_in_own_frames(rooms, quads, quad_room)
    assert len(calls) == 3 and calls[0] < len(rooms) and calls[2] == len(rooms) - calls[0]
    assert fast.tolist() == as_written[0].tolist() and fast.all()
    for got, want in zip(meshes, as_written[1], strict=True):
        for a, b in zip(got[:3], want[:3], strict=True):
            assert _same(np.asarray(a), np.asarray(b))
        assert np.array_equal(got[3], want[3])
