"""The pure RFC 9110 decisions of ``api/delivery.py``."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sceneforge.api.delivery import (
    COALESCE_GAP,
    MAX_RANGES,
    READ_GAP,
    READ_SPAN,
    ByteRange,
    Plan,
    RangeNotSatisfiable,
    coalesce,
    if_none_match_matches,
    if_range_matches,
    parse_etags,
    parse_range,
    plan,
    read_spans,
)

TAG = "0123456789abcdef"


def test_parse_etags_list_weak_and_star() -> None:
    assert parse_etags('"a", W/"b" ,"c,d"') == [(False, '"a"'), (True, '"b"'), (False, '"c,d"')]
    assert parse_etags(" * ") is None


@pytest.mark.parametrize("header", [f'"{TAG}"', f'W/"{TAG}"', f'"x", "{TAG}"', "*", TAG])
def test_if_none_match_matches_weakly(header: str) -> None:
    assert if_none_match_matches(header, TAG)


@pytest.mark.parametrize("header", ['"other"', '"x", W/"y"', ""])
def test_if_none_match_other_tags_do_not_match(header: str) -> None:
    assert not if_none_match_matches(header, TAG)


def test_if_range_needs_strong_equal_tag() -> None:
    assert if_range_matches(f'"{TAG}"', TAG)
    assert not if_range_matches(f'W/"{TAG}"', TAG)
    assert not if_range_matches('"other"', TAG)
    assert not if_range_matches("Wed, 21 Oct 2015 07:28:00 GMT", TAG)
    assert if_range_matches(None, TAG)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-1023", [ByteRange(0, 1024)]),
        ("bytes=100-", [ByteRange(100, 2000)]),
        ("bytes=-500", [ByteRange(1500, 2000)]),
        ("bytes=-5000", [ByteRange(0, 2000)]),
        ("bytes=1990-5000", [ByteRange(1990, 2000)]),
        ("bytes=0-0, -1", [ByteRange(0, 1), ByteRange(1999, 2000)]),
        ("bytes=-1, 0-0", [ByteRange(1999, 2000), ByteRange(0, 1)]),  # in the order asked
        ("bytes=5000-6000, 10-19", [ByteRange(10, 20)]),
        ("BYTES = 1-2", [ByteRange(1, 3)]),
        # Positions of any length are numbers (int() alone refuses 4,300 digits and more): to the end, or all of it.
        ("bytes=0-" + "9" * 5000, [ByteRange(0, 2000)]),
        ("bytes=-" + "9" * 5000, [ByteRange(0, 2000)]),
        ("bytes=" + "0" * 5000 + "5-" + "0" * 5000 + "9", [ByteRange(5, 10)]),
    ],
)
def test_parse_range_satisfiable(header: str, expected: list[ByteRange]) -> None:
    assert parse_range(header, 2000) == expected


@pytest.mark.parametrize("header", ["items=0-1", "bytes=5-1", "bytes=a-b", "bytes=", "bytes=1", "0-1"])
def test_parse_range_ignores_invalid(header: str) -> None:
    assert parse_range(header, 2000) is None


def test_parse_range_ignores_too_many_ranges() -> None:
    header = "bytes=" + ",".join(f"{i}-{i}" for i in range(MAX_RANGES + 1))
    assert parse_range(header, 2000) is None


@pytest.mark.parametrize(
    "header",
    ["bytes=2000-", "bytes=-0", "bytes=3000-4000, 2500-", "bytes=" + "9" * 5000 + "-", "bytes=1" + "0" * 30 + "-"],
)
def test_parse_range_unsatisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 2000)


@pytest.mark.parametrize("header", ["bytes=0-", "bytes=0-0", "bytes=-0", "bytes=5-9, -0"])
def test_parse_range_empty_representation_is_unsatisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 0)


@pytest.mark.parametrize("header", ["bytes=-1", "bytes=-" + "9" * 30, "bytes=0-, -5"])
def test_parse_range_suffix_of_an_empty_representation_is_the_whole(header: str) -> None:
    """RFC 9110 §14.1.1: of an empty representation a suffix range with a non-zero length is satisfiable (it was
    416); it is the whole, empty representation, which no Content-Range can state: 200."""
    assert parse_range(header, 0) is None
    assert plan("GET", TAG, 0, range_header=header) == Plan(200)


def test_plan_precedence() -> None:
    assert plan("GET", TAG, 10, if_none_match=f'"{TAG}"', range_header="bytes=0-1") == Plan(304)
    assert plan("HEAD", TAG, 10, if_none_match="*") == Plan(304)
    assert plan("GET", TAG, 10, range_header="bytes=0-1") == Plan(206, (ByteRange(0, 2),))
    assert plan("HEAD", TAG, 10, range_header="bytes=0-1") == Plan(200)
    assert plan("GET", TAG, 10, range_header="bytes=0-1", if_range='"old"') == Plan(200)
    assert plan("GET", TAG, 10, range_header="bytes=20-") == Plan(416)
    assert plan("GET", TAG, 10, range_header="lines=1-2") == Plan(200)


def test_plan_if_match_first_by_strong_comparison() -> None:
    """RFC 9110 §13.1.1, §13.2.2: If-Match is evaluated first, by strong comparison; false is 412 (a client
    reading ranges of the latest file with If-Match must not get bytes of a newer version)."""
    assert plan("GET", TAG, 10, if_match='"old"', range_header="bytes=0-1") == Plan(412)
    assert plan("HEAD", TAG, 10, if_match='"old"') == Plan(412)
    assert plan("GET", TAG, 10, if_match=f'W/"{TAG}"') == Plan(412)  # weak tags never match strongly
    assert plan("GET", TAG, 10, if_match=f'"old", "{TAG}"', range_header="bytes=0-1") == Plan(206, (ByteRange(0, 2),))
    assert plan("GET", TAG, 10, if_match="*") == Plan(200)
    assert plan("GET", TAG, 10, if_match=f'"{TAG}"', if_none_match=f'"{TAG}"') == Plan(304)
    assert plan("GET", TAG, 10, if_match='"old"', if_none_match=f'"{TAG}"') == Plan(412)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99, 50-149", [ByteRange(0, 150)]),
        ("bytes=0-, 0-, 0-", [ByteRange(0, 2000)]),
        ("bytes=10-19, 10-19", [ByteRange(10, 20)]),
        ("bytes=10-19, 20-29", [ByteRange(10, 30)]),
        ("bytes=500-599, 0-9, 300-309", [ByteRange(500, 600), ByteRange(0, 10), ByteRange(300, 310)]),
        ("bytes=500-599, 0-9, 590-699", [ByteRange(500, 700), ByteRange(0, 10)]),
        ("bytes=0-9, 500-599, 5-14", [ByteRange(0, 15), ByteRange(500, 600)]),
        (f"bytes=0-9, {10 + COALESCE_GAP}-{19 + COALESCE_GAP}", [ByteRange(0, 20 + COALESCE_GAP)]),
        (
            f"bytes=0-9, {11 + COALESCE_GAP}-{20 + COALESCE_GAP}",
            [ByteRange(0, 10), ByteRange(11 + COALESCE_GAP, 21 + COALESCE_GAP)],
        ),
        ("bytes=-100, 1950-", [ByteRange(1900, 2000)]),
    ],
)
def test_ranges_overlapping_or_repeated_are_coalesced(header: str, expected: list[ByteRange]) -> None:
    assert parse_range(header, 2000) == expected


def test_ranges_many_repeats_never_exceed_the_representation() -> None:
    header = "bytes=" + ",".join(["0-"] * MAX_RANGES)
    assert parse_range(header, 2000) == [ByteRange(0, 2000)]


_range_spec = st.one_of(
    st.tuples(st.integers(0, 2100), st.integers(0, 2100)).map(lambda t: f"{min(t)}-{max(t)}"),
    st.integers(0, 2100).map(lambda a: f"{a}-"),
    st.integers(1, 2100).map(lambda n: f"-{n}"),
)


def _requested_bytes(spec: str, length: int) -> set[int]:
    first, _, last = spec.partition("-")
    if first == "":
        return set(range(max(0, length - int(last)), length))
    return set(range(int(first), length if last == "" else min(int(last) + 1, length)))


@given(specs=st.lists(_range_spec, min_size=1, max_size=MAX_RANGES), length=st.integers(1, 2000))
def test_ranges_coalesced_cover_exactly_the_request_plus_small_gaps(specs: list[str], length: int) -> None:
    wanted = set().union(*(_requested_bytes(s, length) for s in specs))
    try:
        ranges = parse_range("bytes=" + ",".join(specs), length)
    except RangeNotSatisfiable:
        assert not wanted
        return
    assert ranges is not None and wanted
    sent = [b for r in ranges for b in range(r.start, r.stop)]
    assert len(sent) == len(set(sent)) <= length  # no byte twice, never more than the representation
    assert wanted <= set(sent)
    for a, b in pairwise(sorted(ranges, key=lambda r: r.start)):
        assert b.start - a.stop > COALESCE_GAP  # parts closer than a part's headers are merged
    for r in ranges:  # every sent byte is requested or inside a gap shorter than COALESCE_GAP
        extra = sorted(set(range(r.start, r.stop)) - wanted)
        assert r.start in wanted and r.stop - 1 in wanted
        assert all(0 < n <= COALESCE_GAP for n in _runs(extra))


def _runs(values: list[int]) -> list[int]:
    runs: list[int] = []
    for i, v in enumerate(values):
        if i and v == values[i - 1] + 1:
            runs[-1] += 1
        else:
            runs.append(1)
    return runs


def test_coalesce_keeps_disjoint_ranges_in_the_order_asked() -> None:
    """RFC 9110 §15.3.7.2: the parts go in the order of their range-specs (a client asks for what it needs first
    first: the streaming client, the nearest cells), a coalesced one where the first of its members was."""
    assert coalesce([ByteRange(900, 1000), ByteRange(0, 10)]) == [ByteRange(900, 1000), ByteRange(0, 10)]
    assert coalesce([ByteRange(900, 1000), ByteRange(0, 10), ByteRange(950, 1100)]) == [
        ByteRange(900, 1100),
        ByteRange(0, 10),
    ]


_disjoint = st.lists(st.tuples(st.integers(0, 4 << 20), st.integers(1, 2 << 20)), min_size=1, max_size=MAX_RANGES).map(
    lambda pairs: coalesce([ByteRange(a, a + n) for a, n in pairs])
)


@given(ranges=_disjoint)
def test_read_spans_cover_each_range_once_within_the_limits(ranges: list[ByteRange]) -> None:
    spans = read_spans(ranges)
    assert all(a.stop < b.start for a, b in pairwise(spans))
    for r in ranges:
        assert sum(s.start <= r.start and r.stop <= s.stop for s in spans) == 1
    for s in spans:
        members = [r for r in ranges if s.start <= r.start and r.stop <= s.stop]
        assert (s.start, s.stop) == (min(r.start for r in members), max(r.stop for r in members))
        assert len(members) == 1 or s.length <= READ_SPAN
        inside = sorted(members, key=lambda r: r.start)
        assert all(b.start - a.stop <= READ_GAP for a, b in pairwise(inside))


def test_read_spans_nearby_small_ranges_are_one_read() -> None:
    ranges = [ByteRange(at, at + 10) for at in range(0, 6400, 100)]
    assert read_spans(ranges[::-1]) == [ByteRange(0, 6310)]
    far = [ByteRange(0, 10), ByteRange(READ_GAP + 11, READ_GAP + 20), ByteRange(0 + 5 * READ_SPAN, 6 * READ_SPAN + 1)]
    assert read_spans(far) == [ByteRange(0, 10), ByteRange(READ_GAP + 11, READ_GAP + 20), far[2]]
