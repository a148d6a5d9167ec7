"""``sceneforge.api.accel``: nginx's reading of a Range value, and which answers the app leaves to nginx.

The model is checked against a real nginx in tests/api/test_nginx_accel.py; these cases pin what that nginx
(1.22) cannot show: the bound of nginx >= 1.23 on several ranges, and the positions past ``off_t``.
"""

from __future__ import annotations

import pytest

from sceneforge.api.accel import Conditions, nginx_ranges, nginx_sends
from sceneforge.api.delivery import ByteRange, plan

N = 10_000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("bytes=0-0", [(0, 1)]),
        ("bytes=-1", [(N - 1, N)]),
        ("bytes=-0", 416),
        ("bytes=-99999", [(0, N)]),
        ("bytes=9990-", [(9990, N)]),
        ("bytes=10-99999", [(10, N)]),
        ("bytes=500-600,0-1", [(500, 601), (0, 2)]),  # the order asked, never merged
        ("bytes=0-1,1-2", [(0, 2), (1, 3)]),
        ("bytes= 0-1 , 5 - 6 ", [(0, 2), (5, 7)]),  # spaces, not tabs
        ("bytes=0-1,\t2-3", 416),
        ("BYTES=0-1", [(0, 2)]),
        ("bytes=1-0", 416),  # an empty range: dropped, and none left
        ("bytes=0-1,1-0", [(0, 2)]),
        ("bytes=0-1,N-", [(0, 2)]),
        ("bytes=0-,0-", 200),  # more than the file
        ("bytes=0-4999,5000-9999", [(0, 5000), (5000, N)]),
        ("bytes=0-4999,5000-9999,0-0", 200),
        ("bytes=" + ",".join(f"{i * 150}-{i * 150 + 100}" for i in range(60)), 200),  # nginx >= 1.23: 256 a part
        ("bytes=" + ",".join(f"{i * 100}-{i * 100}" for i in range(16)), [(i * 100, i * 100 + 1) for i in range(16)]),
        ("bytes=9223372036854775807-", 416),  # off_t's largest start: past the file
        ("bytes=9223372036854775808-", 416),  # past off_t
        ("bytes=0-" + "9" * 5000, 416),
        ("bytes=" + "0" * 30 + "1-2", [(1, 3)]),  # leading zeros are no overflow
        ("bytes=0-1,", 416),  # a comma promises one more range
        ("bytes=0-1,,", 416),
        ("bytes=", 200),  # shorter than nginx reads
        ("items=0-1", 200),
        ("bytes=x", 416),
    ],
)
def test_nginx_ranges(value: str, expected: list[tuple[int, int]] | int) -> None:
    value = value.replace("N-", f"{N}-")
    got = nginx_ranges(value, N)
    assert got == (expected if isinstance(expected, int) else [ByteRange(a, b) for a, b in expected])


TAG = '"abc"'


@pytest.mark.parametrize(
    ("method", "conditions", "sent"),
    [
        ("GET", Conditions(), True),
        ("HEAD", Conditions(), False),
        ("GET", Conditions(if_match=True), False),
        ("GET", Conditions(if_unmodified_since=True), False),
        ("GET", Conditions("bytes=0-1", 1), True),
        ("GET", Conditions("bytes=0-1", 1, TAG, 1), True),
        ("GET", Conditions("bytes=0-1", 1, ' "abc"', 1), False),  # nginx compares If-Range byte for byte
        ("GET", Conditions("bytes=0-1", 1, '"abc", "abc"', 2), False),
        ("GET", Conditions("bytes=0-1, 5-6", 2), False),  # two lines: answered whole by the app
        ("GET", Conditions("bytes=0-1,5-6", 1), False),  # merged by the app
        ("GET", Conditions("bytes=0-1,500-600", 1), True),
        ("GET", Conditions("bytes=1-0", 1), False),  # ignored by the app, 416 from nginx
        ("GET", Conditions("bytes=20000-", 1), False),  # 416: the app's own
    ],
)
def test_nginx_sends(method: str, conditions: Conditions, sent: bool) -> None:
    decided = plan(
        method,
        "abc",
        N,
        range_header=conditions.range,
        if_range=conditions.if_range,
        if_match=TAG if conditions.if_match else None,
    )
    assert nginx_sends(method, decided, N, TAG, conditions) is sent


def test_an_empty_blob_is_the_apps() -> None:
    assert not nginx_sends("GET", plan("GET", "abc", 0), 0, TAG, Conditions())
