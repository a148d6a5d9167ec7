"""The upload's look at an asset's bytes (``sniff_kind``) against the build's rule for OBJ text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.errors import AssetError
from sceneforge.ingest.obj_statements import SNIFF_BYTES, obj_text_problem
from sceneforge.storage import sniff_kind

#: Sizes where a look at a head of the file and the build's look at the file part ways, if they can.
BOUNDARIES = [4095, 4096, 4097, SNIFF_BYTES - 1, SNIFF_BYTES, SNIFF_BYTES + 1]


def _verdict(data: bytes) -> str | None:
    try:
        return None if sniff_kind(data) == "obj" else "not obj"
    except AssetError as exc:
        return exc.issues[0].message


def _sized(size: int, tail: bytes, body: bytes = b"# a comment\n") -> bytes:
    """``size`` bytes: ``body`` lines, then ``tail`` as the file's last bytes (a line without its newline)."""
    head = (body * (size // len(body) + 1))[: size - len(tail)]
    return head + tail


@pytest.mark.parametrize("size", BOUNDARIES)
@pytest.mark.parametrize(
    ("body", "tail"),
    [
        (b"# a comment\n", b""),  # comments alone
        (b"v 0 0 0\n", b"\nxyz"),  # a last line that is no statement
        (b"v 0 0 0\n", b"\nv 1"),  # a last vertex missing its numbers
        (b"v 0 0 0\n", b"\n# caf\xe9"),  # a Latin-1 comment at the end
        (b"# a comment\n", b"\nv 0 0 0"),  # its only geometry on the last line, no newline after it
    ],
    ids=["comments", "unknown last line", "short vertex", "latin-1 end", "geometry last"],
)
def test_sniff_kind_takes_an_obj_exactly_when_the_build_does(size: int, body: bytes, tail: bytes) -> None:
    """The upload's look repeated the build's OBJ rule on the file's first 4,096 bytes, counting a file of exactly
    4,096 as cut: it took a 4,096-byte file of comments alone, or one whose last line is no statement, for an OBJ
    that the build refuses (and the repository stored it as one). One rule decides now, with its reason."""
    data = _sized(size, tail, body)
    assert len(data) == size
    why = obj_text_problem(data)
    verdict = _verdict(data)
    assert (verdict is None) == (why is None), (verdict, why)
    if why is not None:
        assert verdict == f"not a GLB (glTF 2.0 binary), OBJ or PNG file: {why}"


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(BOUNDARIES),
    st.integers(-8, 8),
    st.sampled_from([b"", b"\n", b"\nxyz", b"\nv 1", b"\nf 1 2 3", b"\n# \xe9", b"\xc3", b"\x00"]),
)
def test_sniff_kind_and_the_build_agree_around_every_boundary(size: int, shift: int, tail: bytes) -> None:
    data = _sized(size + shift, tail, b"v 0 0 0\n" if shift % 2 else b"# note\n")
    assert (_verdict(data) is None) == (obj_text_problem(data) is None)
