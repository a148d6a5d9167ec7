"""``portal_flow(..., sources=)``: the sets of a subset of cells equal those of the whole flow."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.generate import generate_apartment
from sceneforge.generate.maze import generate_maze
from sceneforge.visibility import build_portal_graph
from sceneforge.visibility.pvs import portal_flow

from .levels import grid
from .sightlines import ir_from_description


@settings(max_examples=15, deadline=None)
@given(
    kind=st.sampled_from(["maze", "apartment", "grid"]),
    seed=st.integers(0, 1000),
    picks=st.lists(st.integers(0, 10_000), min_size=1, max_size=6, unique=True),
)
def test_sources_subset_equals_whole_flow(kind: str, seed: int, picks: list[int]) -> None:
    if kind == "grid":
        ir = grid(4)
    elif kind == "maze":
        ir = ir_from_description(generate_maze(cells=16, seed=seed))
    else:
        ir = ir_from_description(generate_apartment(cells=8, seed=seed))
    graph = build_portal_graph(ir)
    whole, whole_stats = portal_flow(graph)
    n = graph.cell_count
    sources = np.array(list(dict.fromkeys(p % n for p in picks)), np.int64)
    part, stats = portal_flow(graph, sources=sources)
    assert len(part) == sources.size
    for s, got in zip(sources.tolist(), part, strict=True):
        np.testing.assert_array_equal(got, whole[s])
    assert stats.steps <= whole_stats.steps


def test_no_sources_no_work() -> None:
    graph = build_portal_graph(grid(3))
    sets, stats = portal_flow(graph, sources=np.zeros(0, np.int64))
    assert sets == [] and stats.steps == 0
