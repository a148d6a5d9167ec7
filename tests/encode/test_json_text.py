"""The encoder's JSON shortcuts write exactly what ``json.dumps`` writes: floats formatted once per
distinct value, slots filled with text formatted apart, members given as text (:mod:`sceneforge.encode.buffers`)."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.encode.buffers import SLOT, RawJSON, fill_slots, float_rows, float_texts, json_text

FINITE = st.floats(allow_nan=False, allow_infinity=False)
# Coordinates repeat in buildings, and -0.0 must stay apart from 0.0.
VALUES = st.lists(st.one_of(FINITE, st.sampled_from([0.0, -0.0, 0.1, 1e16, 2.5e-7, -3.0])), max_size=60)


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


@settings(max_examples=80, deadline=None)
@given(VALUES)
def test_float_texts_are_the_numbers_json_writes(values: list[float]) -> None:
    texts = float_texts(np.array(values, np.float64))
    assert ("[" + ",".join(texts) + "]").encode() == _dumps(values)


@settings(max_examples=60, deadline=None)
@given(VALUES, st.integers(1, 6))
def test_slots_filled_with_rows_give_the_document_json_would(values: list[float], width: int) -> None:
    rows = np.array(values[: len(values) // width * width], np.float64).reshape(-1, width)
    names = [f'cell:{i}\u00e9"' for i in range(rows.shape[0])]
    whole = [{"name": n, "extras": {"aabb": row, "k": [1, 2]}} for n, row in zip(names, rows.tolist(), strict=True)]
    slotted = [{"name": n, "extras": {"aabb": SLOT, "k": [1, 2]}} for n in names]
    assert fill_slots(json_text(slotted), float_rows(rows)) == _dumps(whole)
    # A slot count that does not match the texts is refused, not filled half.
    assert fill_slots(json_text(slotted), float_rows(rows)[1:]) is None or rows.shape[0] == 0


def test_raw_members_are_written_in_place() -> None:
    document = {"a": 1, "nodes": RawJSON(b'[{"x":1.5}]'), "z": ["\u00e9"]}
    assert json_text(document) == _dumps({"a": 1, "nodes": [{"x": 1.5}], "z": ["\u00e9"]})
    assert not RawJSON(b"[]") and RawJSON(b"[1]")
