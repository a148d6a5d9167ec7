"""The pure RFC 9110 decisions of ``api/delivery.py``."""

from __future__ import annotations

import pytest

from sceneforge.api.delivery import (
    MAX_RANGES,
    ByteRange,
    Plan,
    RangeNotSatisfiable,
    if_none_match_matches,
    if_range_matches,
    parse_etags,
    parse_range,
    plan,
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
        ("bytes=5000-6000, 10-19", [ByteRange(10, 20)]),
        ("BYTES = 1-2", [ByteRange(1, 3)]),
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


@pytest.mark.parametrize("header", ["bytes=2000-", "bytes=-0", "bytes=3000-4000, 2500-"])
def test_parse_range_unsatisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 2000)


def test_parse_range_empty_representation_is_unsatisfiable() -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=0-", 0)


def test_plan_precedence() -> None:
    assert plan("GET", TAG, 10, if_none_match=f'"{TAG}"', range_header="bytes=0-1") == Plan(304)
    assert plan("HEAD", TAG, 10, if_none_match="*") == Plan(304)
    assert plan("GET", TAG, 10, range_header="bytes=0-1") == Plan(206, (ByteRange(0, 2),))
    assert plan("HEAD", TAG, 10, range_header="bytes=0-1") == Plan(200)
    assert plan("GET", TAG, 10, range_header="bytes=0-1", if_range='"old"') == Plan(200)
    assert plan("GET", TAG, 10, range_header="bytes=20-") == Plan(416)
    assert plan("GET", TAG, 10, range_header="lines=1-2") == Plan(200)
