"""``jsontext``'s search for integer literals past a double (309 digits or more) finds what the
regular expression ``[0-9]{309}`` finds, in str and UTF-8 text alike, and ``loads`` acts on it."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sceneforge import jsontext

_PIECES = st.one_of(
    st.integers(300, 320).map(lambda n: "7" * n),  # runs around the threshold
    st.text(alphabet="0123456789", max_size=12),
    st.sampled_from([" ", ",", '"', "é", "٣" * 400, "\ud800", "\U0001f600", "1e", "-"]),  # not ASCII digits
)


@given(st.lists(_PIECES, max_size=8).map("".join))
def test_the_long_digit_search_is_the_regex(text: str) -> None:
    expected = re.search("[0-9]{309}", text) is not None
    assert jsontext._has_long_digits(text, None) == expected
    if "\ud800" not in text:
        assert jsontext._has_long_digits(text, text.encode()) == expected


@pytest.mark.parametrize("digits", [308, 309, 400])
def test_an_integer_past_a_double_is_refused_at_its_pointer(digits: int) -> None:
    text = '{"a": [1, ' + "9" * digits + "]}"
    if digits < 309:
        assert jsontext.loads(text)["a"][1] == int("9" * digits)
        return
    with pytest.raises(jsontext.JsonTextError) as refused:
        jsontext.loads(text.encode())
    assert refused.value.pointer == "/a/1"
