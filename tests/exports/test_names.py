"""Distinct names in an export's scope: the same names as a search from ``_2`` each time, in linear time."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from sceneforge.exports.names import Names, unique_name


def _naive(names: list[str]) -> list[str]:
    taken: set[str] = set()
    out = []
    for name in names:
        got, n = name, 1
        while got in taken:
            n += 1
            got = f"{name}_{n}"
        taken.add(got)
        out.append(got)
    return out


@given(st.lists(st.sampled_from(["a", "a_2", "a_3", "a_2_2", "b", "_", "__", "a_1"]), max_size=60))
def test_unique_name_gives_what_a_search_from_2_gives(names):
    taken = Names()
    assert [unique_name(n, taken) for n in names] == _naive(names)


class _Counting(Names):
    def __init__(self) -> None:
        super().__init__()
        self.lookups = 0

    def __contains__(self, name: object) -> bool:
        self.lookups += 1
        return super().__contains__(name)


def test_unique_name_of_many_colliding_ids_looks_up_each_name_a_few_times():
    """20,000 cell ids that all come out as one USD identifier took 400 s to name (each searched from ``_2``:
    O(n²) lookups), past the export job's timeout; each now resumes where its base last stopped."""
    from sceneforge.exports.usdz import _identifier

    ids = ["".join(p) for p in itertools.islice(itertools.product("-.!~+", repeat=8), 3000)]
    taken = _Counting()
    names = [_identifier(i, taken) for i in ids]
    assert len(set(names)) == len(ids) and names[:3] == ["________", "_________2", "_________3"]
    assert taken.lookups <= 3 * len(ids)
