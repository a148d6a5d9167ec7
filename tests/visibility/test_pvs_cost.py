"""The portal walk's cost: coplanar portals are never stepped through, grids and corridors stay
polynomial, and a work budget falls back to a coarser set that is still conservative."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sceneforge.model.ir import SceneIR
from sceneforge.visibility import build_portal_graph, reachable_sets
from sceneforge.visibility.pvs import FlowBudget, FlowStats, portal_flow

from .levels import corridor, grid, many_doors, random_level
from .sightlines import sample_visibility


def _flow(ir: SceneIR, budget: FlowBudget | None = None) -> tuple[np.ndarray, FlowStats]:
    sets, stats = portal_flow(build_portal_graph(ir), budget)
    n = len(ir.cells)
    out = np.zeros((n, n), bool)
    for i, s in enumerate(sets):
        out[i, s] = True
    return out, stats


def _sampled(ir: SceneIR, seed: int, per_cell: int = 300, per_pair: int = 8) -> np.ndarray:
    p = len(ir.portals)
    a, b = np.nonzero(~np.eye(p, dtype=bool))
    return sample_visibility(
        ir, np.random.default_rng(seed), per_cell=per_cell, portal_pairs=np.column_stack([a, b]), per_pair=per_pair
    )


@pytest.mark.parametrize("doors", [8, 40])
def test_doorways_in_one_wall_are_never_walked_back_and_forth(doors: int) -> None:
    pvs, stats = _flow(many_doors(doors))
    assert pvs.all()
    # Each of the 2·doors directed portals looks at the doors leaving the room it enters: all
    # coplanar with it, so no walk gets past its first portal.
    assert stats.steps == 2 * doors * doors
    assert stats.walks == 0 and stats.depth == 2 and stats.fallback_sources == 0


def test_rooms_on_one_corridor_wall_do_not_see_each_other() -> None:
    ir = corridor(3, rooms_per_side=2)
    pvs, _ = _flow(ir)
    index = ir.cell_index()
    # Side by side along the wall z = 2.4, no portal between them: a line would cross the wall's
    # plane twice.
    assert not pvs[index["n0_0"], index["n0_1"]] and not pvs[index["n1_1"], index["n2_0"]]
    assert pvs[index["n0_0"], index["s0_0"]] and pvs[index["n0_0"], index["c2"]]
    seen = _sampled(ir, 1)
    assert not (seen & ~pvs).any()


def _steps(ir: SceneIR) -> FlowStats:
    stats = _flow(ir)[1]
    assert stats.fallback_sources == 0
    return stats


def test_cost_is_polynomial_on_open_grids() -> None:
    # Every neighbour joined by an opening as large as the wall: exponentially many staircase
    # paths of portals; walks sharing source and pass portal are merged, so the work grows like
    # cells³ at most (steps × 2⁶ for twice the side), not exponentially.
    small, large = _steps(grid(4, door=None)), _steps(grid(8, door=None))
    assert large.merged > 0
    assert large.steps <= 2**6 * small.steps
    pvs, _ = _flow(grid(6, door=None))
    assert pvs.all()  # one open hall: every room sees every other


def test_cost_is_polynomial_on_doorway_grids_and_corridors() -> None:
    g8, g16 = _steps(grid(8)), _steps(grid(16))
    assert g16.steps <= 2**5 * g8.steps
    c20, c40 = _steps(corridor(20)), _steps(corridor(40))
    assert c40.steps <= 2**3 * c20.steps  # quadratic in the corridor's length, with some slack
    assert c40.depth == 41  # the whole corridor, one segment a step


@pytest.mark.slow
def test_fully_connected_32_by_32_grid_within_budget() -> None:
    ir = grid(32)
    _, stats = _flow(ir)
    assert stats.fallback_sources == 0
    assert stats.max_source_steps <= len(ir.cells)
    assert stats.steps <= FlowBudget().total_steps


@pytest.mark.parametrize("ir", [grid(6, door=2.0), corridor(4)], ids=["grid", "corridor"])
def test_budget_exhausted_falls_back_to_a_conservative_superset(ir: SceneIR) -> None:
    full, full_stats = _flow(ir)
    assert full_stats.fallback_sources == 0
    cut, stats = _flow(ir, FlowBudget(source_steps=6))
    assert stats.fallback_sources > 0 and stats.max_source_steps < full_stats.max_source_steps + 6 * 4
    assert not (full & ~cut).any()
    reach = np.zeros_like(full)
    for i, s in enumerate(reachable_sets(build_portal_graph(ir))):
        reach[i, s] = True
    assert not (cut & ~reach).any()
    if ir.scene_id.startswith("corridor"):
        # Finer than reachability: a room's door does not lead to the rooms on its own wall.
        assert cut.sum() < reach.sum()
    seen = _sampled(ir, 2)
    assert not (seen & ~cut).any()


def test_total_budget_and_frontier_cap_bound_the_work() -> None:
    ir = grid(10, door=None)
    budget = FlowBudget(total_steps=5_000, portal_steps=0, frontier=400)
    pvs, stats = _flow(ir, budget)
    assert stats.fallback_sources > 0
    assert stats.peak_frontier <= 400
    assert pvs.all()


def test_an_open_hall_past_the_entries_limit_is_refused_after_its_first_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every room of an open hall sees every other: once the budget has cut so many sources that the
    # fallback will list all the cells they reach, and those are past the limit, the flow stops there
    # instead of walking its other batches first (a 70 × 70 hall walked its whole-flow budget, ~30 s).
    from sceneforge.errors import LimitExceeded
    from sceneforge.visibility import budget as budget_module
    from sceneforge.visibility import pvs as pvs_module

    ir = grid(10, door=None)
    graph = build_portal_graph(ir)
    monkeypatch.setattr(pvs_module, "SOURCES", 40)  # ~9 batches of sources
    monkeypatch.setattr(budget_module, "_FALLBACK_PAIRS", 1_000)  # the fallback lists the reachable cells
    batches: list[int] = []
    walk = pvs_module.flow_batch

    def counted(*args: object) -> object:
        batches.append(1)
        return walk(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(pvs_module, "flow_batch", counted)
    cut = FlowBudget(frontier=50)  # the first batch's sources overflow it: most fall back
    sets, stats = portal_flow(graph, cut, max_pairs=10**9)
    everything = len(batches)
    assert stats.fallback_sources > 40 and everything > 2
    assert all(s.size == 100 for s in sets)  # still conservative: all of the hall
    batches.clear()
    with pytest.raises(LimitExceeded) as refused:
        portal_flow(graph, cut, max_pairs=1_000)
    assert len(batches) == 1 < everything
    assert refused.value.value > 1_000 and "at least" in refused.value.issues[0].message


def test_the_whole_flow_budget_grows_with_the_portals() -> None:
    # The whole flow's bound is the larger of total_steps and portal_steps per directed portal: a
    # level past the fixed part walks every source when its portals allow the steps (the same sets
    # as an unbounded flow), and falls back when they do not.
    ir = grid(6, door=2.0)
    graph = build_portal_graph(ir)
    free, free_stats = _flow(ir, FlowBudget(total_steps=10**9))
    per_portal = -(-free_stats.steps // graph.size)  # enough per portal for the whole walk
    assert free_stats.fallback_sources == 0 and free_stats.steps > 1_000
    scaled, stats = _flow(ir, FlowBudget(total_steps=1_000, portal_steps=per_portal))
    assert stats.fallback_sources == 0 and (scaled == free).all()
    fixed, stats = _flow(ir, FlowBudget(total_steps=1_000, portal_steps=0))
    assert stats.fallback_sources > 0 and not (free & ~fixed).any()
    assert FlowBudget().whole_flow(graph.size) == max(FlowBudget().total_steps, 500 * graph.size)


@pytest.mark.slow
def test_a_64_by_64_grid_of_doorways_walks_every_source() -> None:
    # A metre-wide doorway in every wall: ~340 candidate steps a directed portal (5.5 million): past a
    # fixed million, most sources fell back to their reach and the sets went past the PVS entries limit.
    ir = grid(64)
    sets, stats = portal_flow(build_portal_graph(ir))
    assert stats.fallback_sources == 0 and stats.steps > FlowBudget().total_steps
    assert sum(len(s) for s in sets) < 4_000_000


@pytest.mark.slow
def test_an_office_of_12000_cells_walks_every_source() -> None:
    # 1.7 million candidate steps, past the fixed million: with a fixed bound most sources fell back
    # to their plane-monotone reach (all storeys through the stairs) and the build failed on the PVS
    # entries limit (98.9 million listed against 4 million).
    import json

    from sceneforge.compile import compile_scene
    from sceneforge.generate import generate_office

    description = generate_office(34, 150, seed=1)
    result = compile_scene(json.dumps(description).encode())
    cells = result.meta["visibility"]["cells"]
    assert len(cells) == len(description["cells"]) > 12_000
    assert sum(len(c["pvs"]) for c in cells) / len(cells) < 100


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 2**32 - 1),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(1, 2),
    st.sampled_from([None, 3, 40]),
)
def test_pvs_conservative_on_random_small_levels(seed: int, nx: int, nz: int, storeys: int, steps: int | None) -> None:
    """Doors and windows at random heights, several per wall, L-shaped rooms, slab openings,
    one-way portals; with the default budget and with budgets small enough to fall back."""
    ir = random_level(np.random.default_rng(seed), nx, nz, storeys)
    pvs, _ = _flow(ir, None if steps is None else FlowBudget(source_steps=steps))
    seen = _sampled(ir, seed)
    missed = np.argwhere(seen & ~pvs)
    assert not len(missed), f"seen but not in the PVS: {missed[:5].tolist()}"


def test_compute_visibility_reports_the_flow_counters() -> None:
    from sceneforge.visibility import compute_visibility

    vis = compute_visibility(many_doors(40))
    assert vis.flow is not None and vis.flow.steps == 3200 and vis.flow.fallback_sources == 0
    assert compute_visibility(many_doors(4), pvs=False).flow is None


@pytest.mark.parametrize("ir", [grid(6, door=2.0), corridor(4), many_doors(40)], ids=["grid", "corridor", "doors"])
def test_a_graph_past_its_pair_budget_is_never_built(ir: SceneIR) -> None:
    """More (portal, next portal) pairs than ``graph_pairs`` (two rooms joined by 3,000 doorways: 18 million,
    3.6 GB to test them): every cell sees what it can reach, conservative, and the walk never starts."""
    full, _ = _flow(ir)
    graph = build_portal_graph(ir)
    pairs = int((graph.out_start[graph.dst + 1] - graph.out_start[graph.dst]).sum())
    kept, stats = _flow(ir, FlowBudget(graph_pairs=pairs))
    assert np.array_equal(kept, full) and stats.fallback_sources == 0  # at the budget: the exact flow
    cut, stats = _flow(ir, FlowBudget(graph_pairs=pairs - 1))
    assert stats.fallback_sources == graph.size and stats.steps == 0 and stats.walks == 0
    reach = np.zeros_like(full)
    for i, s in enumerate(reachable_sets(graph)):
        reach[i, s] = True
    assert np.array_equal(cut, reach) and not (full & ~cut).any()


def _tangled_portals(count: int) -> bytes:
    """Two rooms joined by ``count`` portals placed and turned at random inside them: every walk has
    hundreds of exits, each ahead of the last (no two portals share a plane)."""
    import json

    rng = np.random.default_rng(1)
    cells = [
        {"cellId": "a", "room": {"min": [0, 0, 0], "max": [10, 3, 10]}},
        {"cellId": "b", "room": {"min": [10, 0, 0], "max": [20, 3, 10]}},
    ]
    portals = []
    for _ in range(count):
        centre, u = rng.uniform([1, 0.5, 1], [19, 2.5, 9]), rng.normal(size=3)
        u /= np.linalg.norm(u)
        v = np.cross(u, rng.normal(size=3))
        v /= np.linalg.norm(v)
        size = rng.uniform(0.3, 1.0)
        quad = [centre + size * (a * u + b * v) for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
        portals.append({"from": "a", "to": "b", "quad": [float(x) for p in quad for x in p]})
    return json.dumps({"sceneId": "tangled", "cells": cells, "portals": portals}).encode()


def test_memory_stays_bounded_when_every_walk_has_hundreds_of_exits() -> None:
    """100 tangled portals held ~10⁷ candidate steps in one batch (1 GB; 150 portals 5.5 GB, 300 an
    allocation of 28 GB) and the fallback's chains 216 million at once: steps are batched by their
    exits, the depth stops at the flow's budget, and the fallback's work is bounded like its table."""
    import tracemalloc

    from sceneforge.compile import compile_scene

    tracemalloc.start()  # numpy reports its buffers to tracemalloc
    try:
        result = compile_scene(_tangled_portals(150))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [c["pvs"] for c in result.meta["visibility"]["cells"]] == [["a", "b"], ["a", "b"]]
    assert peak < 400 * 2**20, f"{peak / 2**20:.0f} MiB"


def test_merged_walks_stop_once_deeper_than_the_level_has_portals() -> None:
    """A merged walk keeps only the portals all its folded walks crossed, so it may cross the others
    again. From a room with a slot cut into it, through five overlapping doorways, the walks went on
    for 4,446 depths within the step budget (14 s of per-depth work for two cells). A straight line
    crosses a portal's plane once, so no line passes more portals than the level has: deeper walks
    stop, and their sources take the fallback (conservative)."""
    from sceneforge.compile import checked_scene

    def quad(*corners: tuple[float, float, float]) -> list[float]:
        return [float(v) for corner in corners for v in corner]

    slot = [[0, 0], [4, 0], [4, 4], [2.1, 4], [2.1, 1], [1.9, 1], [1.9, 4], [0, 4]]
    quads = [
        quad((-0.05, 0.1, 4.8), (-0.05, 0.11, 4.8), (-0.05, 0.11, 0.8), (-0.05, 0.1, 0.8)),
        quad((2.08, 0.1, 1), (2.08, 2.1, 1), (1.88, 2.1, 1), (1.88, 0.1, 1)),
        quad((0, 0.1, 0), (0, 4.1, 0), (4.8, 4.1, 0), (4.8, 0.1, 0)),
        quad((0, -0.5, 2.8), (0, 2.5, 2.8), (0, 2.5, -2), (0, -0.5, -2)),
        quad((0, 0.1, 2.7), (0, 0.6, 2.7), (0, 0.6, -2), (0, 0.1, -2)),
    ]
    description = {
        "sceneId": "slot",
        "cells": [
            {"cellId": "a", "room": {"floor": slot, "y": 0, "height": 3}},
            {"cellId": "b", "meshes": [{"meshId": "auto"}]},
        ],
        "portals": [{"from": "a", "to": "b", "quad": q} for q in quads],
    }
    ir, _ = checked_scene(description)
    pvs, stats = _flow(ir)
    assert pvs.all()
    assert stats.depth <= len(quads) + 1, stats


def test_the_fallback_check_counts_the_reached_cells_by_their_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    # The refusal check ran once a batch a Python loop over the cut sources' cells, reading every set;
    # it sums the sizes kept beside the sets now, and lists the same count and keys.
    from sceneforge.visibility import budget as budget_module
    from sceneforge.visibility import pvs as pvs_module
    from sceneforge.visibility.budget import fallback_keys
    from sceneforge.visibility.flow_graph import Graph
    from sceneforge.visibility.portal_graph import Reach, reachable

    monkeypatch.setattr(budget_module, "_FALLBACK_PAIRS", 1)  # the fallback lists the reachable cells
    graph = build_portal_graph(grid(6, door=None))
    gg = Graph(graph)
    reach = reachable(graph)
    sets = reachable_sets(graph)
    assert [s.tolist() for s in reach.sets] == [s.tolist() for s in sets]
    assert reach.size.tolist() == [s.size for s in sets]

    class Unread(list[np.ndarray]):
        def __getitem__(self, i: object) -> np.ndarray:  # type: ignore[override]
            raise AssertionError("a set read to count it")

    fallback = np.zeros(graph.size, bool)
    fallback[::3] = True
    cells = np.unique(graph.src[fallback])
    counted = Reach(Unread(reach.sets), reach.size)
    _, listed = pvs_module._fallback_floor(graph, gg, fallback, counted)
    assert listed == sum(sets[c].size for c in cells.tolist()) == 36 * cells.size
    keys, _ = fallback_keys(gg, fallback.nonzero()[0], None, reach)
    assert np.array_equal(np.sort(keys), np.sort(np.concatenate([c * 36 + sets[c] for c in cells.tolist()])))
