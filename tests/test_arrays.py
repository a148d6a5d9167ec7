"""sceneforge.arrays: np.unique's answers without np.unique, whose first call imports numpy.ma; runs of integers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sceneforge.arrays import distinct, distinct_rows, first_rows, members, ranges, row_ids

LEVEL = Path(__file__).resolve().parent / "data" / "levels" / "office-200.json"

values = st.one_of(
    hnp.arrays(np.int64, hnp.array_shapes(max_dims=2, max_side=40), elements=st.integers(-5, 5)),
    hnp.arrays(np.float64, st.integers(0, 60), elements=st.sampled_from([0.0, -0.0, 1.5, -2.25, 1e300, 3.0])),
)


@given(values)
def test_distinct_is_np_unique(a: np.ndarray) -> None:
    got, want = distinct(a), np.unique(a)
    assert got.dtype == want.dtype and got.tolist() == want.tolist()


@given(
    hnp.arrays(np.int64, st.tuples(st.integers(0, 40), st.integers(1, 3)), elements=st.integers(-3, 3))
    | hnp.arrays(np.float64, st.tuples(st.integers(0, 40), st.just(2)), elements=st.sampled_from([0.0, 0.5, -1.0]))
)
def test_distinct_rows_is_np_unique_by_rows(rows: np.ndarray) -> None:
    got, want = distinct_rows(rows), np.unique(rows, axis=0)
    assert got.shape == want.shape and got.tolist() == want.tolist()


@given(hnp.arrays(np.int64, st.tuples(st.integers(0, 40), st.integers(1, 3)), elements=st.integers(-2, 2)))
def test_first_rows_is_np_unique_s_first_indices(rows: np.ndarray) -> None:
    assert first_rows(rows).tolist() == sorted(np.unique(rows, axis=0, return_index=True)[1].tolist())


@given(
    hnp.arrays(
        np.float64, st.tuples(st.integers(0, 40), st.integers(1, 4)), elements=st.sampled_from([0.0, -0.0, 1.5, -2.0])
    )
)
def test_row_ids_are_np_unique_s_inverse(rows: np.ndarray) -> None:
    assert row_ids(rows).tolist() == np.unique(rows, axis=0, return_inverse=True)[1].reshape(-1).tolist()


@given(st.lists(st.tuples(st.integers(-50, 50), st.integers(0, 6)), max_size=20))
def test_ranges_are_each_start_s_count_integers_in_turn(runs: list[tuple[int, int]]) -> None:
    start = np.array([s for s, _ in runs], np.int64)
    count = np.array([c for _, c in runs], np.int64)
    owner, value = ranges(start, count)
    assert owner.tolist() == [i for i, (_, c) in enumerate(runs) for _ in range(c)]
    assert value.tolist() == [v for s, c in runs for v in range(s, s + c)]


@given(
    hnp.arrays(
        np.int64, hnp.array_shapes(max_dims=2, max_side=30), elements=st.integers(-(2**62), 2**62) | st.integers(-3, 3)
    ),
    hnp.arrays(np.int64, st.integers(0, 30), elements=st.integers(-(2**62), 2**62) | st.integers(-3, 3)),
)
def test_members_is_np_isin(values: np.ndarray, keys: np.ndarray) -> None:
    assert members(values, keys).tolist() == np.isin(values, keys).tolist()


def test_a_build_in_a_fresh_process_does_not_import_numpy_ma() -> None:
    """numpy.ma is ~12 ms of import a build has no use for; np.unique's first call loaded it."""
    code = (
        "import sys\nfrom sceneforge import compile_scene\n"
        f"compile_scene(open({str(LEVEL)!r}, 'rb').read())\n"
        "print('numpy.ma' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.strip() == "False", out.stderr
