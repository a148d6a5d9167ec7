"""OBJ statements are read alike by every look at an OBJ file: the upload (its first look, the check that a build
takes the bytes for OBJ, the statement check) and the build (its sniffing and its reader). What the build skips
the upload takes; what one refuses the other refuses, naming the same line and statement."""

from __future__ import annotations

import re
import tracemalloc
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sceneforge.errors import AssetError, LimitExceeded
from sceneforge.ingest import obj_read, obj_statements
from sceneforge.ingest.asset_check import check_asset
from sceneforge.ingest.assets import load_mesh_asset, obj_text_problem, sniff_asset
from sceneforge.storage import sniff_kind

PATH = "/cells/0/meshes/0/meshId"
TRIANGLE = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"

#: Every statement of the OBJ specification the reader skips, as exporters write them.
SKIPPED = [
    b"vp 0.5 0.5",
    b"cstype rat bspline",
    b"deg 3",
    b"bmat u 1 0 0 1",
    b"step 1",
    b"curv 0.0 1.0 1 2",
    b"curv2 1 2",
    b"surf 0 1 0 1 1 2 3",
    b"parm u 0 0.5 1",
    b"trim 0 1 1",
    b"hole 0 1 1",
    b"scrv 0 1 1",
    b"sp 1",
    b"end",
    b"con 1 0 1 1 2 0 1 1",
    b"l 1 2",
    b"p 1",
    b"s 1",
    b"s off",
    b"g walls floor",
    b"o room",
    b"mg 1 0.5",
    b"usemtl brick",
    b"mtllib room.mtl",
    b"maplib maps.mpc",
    b"usemap off",
    b"lod 1",
    b"bevel on",
    b"c_interp off",
    b"d_interp on",
    b"shadow_obj shadow.obj",
    b"trace_obj trace.obj",
    b"ctech cparma 1.0",
    b"stech cparmb 1.0",
    b"call part.obj 1",
    b"csh -ls",
    b"# a comment",
    b"",
]


def upload_verdict(data: bytes) -> str | None:
    """What POST /assets says of ``data`` (its checks in order), None when it takes it."""
    try:
        if sniff_kind(data) != "obj":
            return "not obj"
    except AssetError as exc:
        return exc.issues[0].message
    why = obj_text_problem(data)
    if why is not None:
        return why
    try:
        check_asset(data, "obj", path=PATH)
    except AssetError as exc:
        return exc.issues[0].message
    return None


def build_verdict(data: bytes) -> str | None:
    """What a build says of ``data`` placed as a mesh, None when it reads triangles of it."""
    try:
        surfaces = load_mesh_asset(data, path=PATH, default_material="m")
    except AssetError as exc:
        return exc.issues[0].message
    assert sum(s.triangle_count for s in surfaces) > 0
    return None


def _named(verdict: str | None) -> tuple[str, ...] | None:
    """The line and statement a refusal names (or its message when it names none); None for no refusal."""
    if verdict is None:
        return None
    found = re.search(r"OBJ line (\d+): ('[^']*' is not an OBJ statement|[a-z ]+ \(\w+\) needs its numbers)", verdict)
    return found.groups() if found else (verdict,)


@pytest.mark.parametrize("line", SKIPPED, ids=lambda b: b.decode() or "blank")
def test_every_obj_statement_is_taken_by_the_upload_and_skipped_by_the_build(line: bytes) -> None:
    """``call``, ``csh`` (and a file opening with ``vp``, ``cstype`` or ``mg`` lines, which the upload's first look
    refused as no OBJ) were refused as no GLB, OBJ or PNG file, though the build skips them."""
    for data in (line + b"\n" + TRIANGLE, TRIANGLE + line + b"\n", b"\n".join([line] * 400) + b"\n" + TRIANGLE):
        assert upload_verdict(data) is None
        assert build_verdict(data) is None
        assert sniff_asset(data) == "obj"


def test_a_line_continued_by_a_backslash_is_one_statement() -> None:
    """``f 1 2 \\`` then ``3``: the upload refused the second line as no OBJ statement, the build read the
    backslash as a face index ('face indices must be integers')."""
    data = b"v 0 0 0\nv 1 0 0\\\n\nv 0 1 0\nf 1 \\\r\n  2 \\\n3 # done \\\nv 5 5 5\n"
    assert upload_verdict(data) is None
    (surface,) = load_mesh_asset(data, path=PATH, default_material="m")
    assert surface.triangle_count == 1 and surface.vertex_count == 3
    np.testing.assert_array_equal(np.sort(surface.positions, axis=0), [[0, 0, 0], [0, 0, 0], [1, 1, 0]])


def test_lines_keep_their_numbers_after_a_continued_statement() -> None:
    data = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 \\\n2 \\\n3\nnot a statement\n"
    assert _named(upload_verdict(data)) == _named(build_verdict(data)) == ("7", "'not' is not an OBJ statement")


def test_a_continued_statement_across_windows_is_read_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(obj_read, "WINDOW_BYTES", 16)
    data = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 \\\n  2 \\\n     3\nbad\n"
    assert _named(build_verdict(data)) == _named(upload_verdict(data)) == ("7", "'bad' is not an OBJ statement")
    (surface,) = load_mesh_asset(data[: data.index(b"bad")], path=PATH, default_material="m")
    assert surface.triangle_count == 1


def test_a_statement_continued_past_the_windows_is_refused_naming_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(obj_read, "WINDOW_BYTES", 16)
    data = TRIANGLE + b"f 1 \\\n" * 40 + b"2 3\n"
    for verdict in (build_verdict(data), upload_verdict(data)):
        assert verdict is not None and "OBJ line 5 or after" in verdict and "more than 16 bytes" in verdict


def _windows_line_by_line(data: bytes, path: str) -> list[tuple[int, int]]:
    """:func:`~sceneforge.ingest.obj_read._windows` as it was written first, a loop over a statement's lines."""
    size, out, start = obj_read.WINDOW_BYTES, [], 0
    while start < len(data):
        stop = data.find(b"\n", min(start + size, len(data)) - 1)
        stop = len(data) if stop < 0 else stop + 1
        while stop < len(data) and obj_read._continued(data, stop):
            if stop - start > 2 * size:
                begin = data.rfind(b"\n", 0, start + size) + 1
                while begin > start and obj_read._continued(data, begin):
                    begin = data.rfind(b"\n", 0, begin - 1) + 1
                line = data.count(b"\n", 0, begin) + 1
                raise AssetError(
                    path, f"OBJ line {line} or after: a statement continued (\\) over more than {size:,} bytes"
                )
            following = data.find(b"\n", stop)
            stop = len(data) if following < 0 else following + 1
        out.append((start, stop))
        start = stop
    return out


def _windows_or_refusal(read: Any, data: bytes) -> object:
    try:
        return read(data, PATH)
    except AssetError as exc:
        return exc.issues[0].message


@settings(max_examples=500, deadline=None)
@given(
    st.sampled_from([1, 2, 3, 5, 8, 16]),
    st.lists(st.sampled_from([b"\\", b"\n", b"\r", b"#", b"v", b" ", b"\\\n", b"\\\r\n", b"\\#\n"]), max_size=60),
)
def test_windows_end_where_a_loop_over_the_continued_lines_ended_them(size: int, pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    saved = obj_read.WINDOW_BYTES
    obj_read.WINDOW_BYTES = size
    try:
        assert _windows_or_refusal(obj_read._windows, data) == _windows_or_refusal(_windows_line_by_line, data)
    finally:
        obj_read.WINDOW_BYTES = saved


def test_a_statement_continued_across_a_window_s_end_is_passed_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each line of it was looked at (~1 µs): 0.25 s a MiB of lines holding a backslash alone, in the upload's check
    (18 MiB of statements continued over 1.9 MiB: 2.7 s to cut the windows, 0.2 s now)."""
    monkeypatch.setattr(obj_read, "WINDOW_BYTES", 4096)
    looked: list[int] = []
    continued = obj_read._continued
    monkeypatch.setattr(obj_read, "_continued", lambda data, stop: looked.append(stop) or continued(data, stop))
    data = (TRIANGLE + b"v 1 \\\n" * 1000 + b"2 3\n") * 3
    assert obj_read._windows(data, PATH) == _windows_line_by_line(data, PATH)
    looked.clear()
    obj_read._windows(data, PATH)
    assert len(looked) <= 2 * 3  # the line at each window's end, and the one after the statement


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (TRIANGLE + b"mesh 1 2 3\n", ("5", "'mesh' is not an OBJ statement")),
        (TRIANGLE + b"V 1 2 3\n", ("5", "'V' is not an OBJ statement")),
        (TRIANGLE + b"v\x0c1 2 3\n", ("5", "'v\\x0c1' is not an OBJ statement")),
        (TRIANGLE + b"v\n", ("5", "a vertex (v) needs its numbers")),
        (b"v 1 2 3\r\nf\r\n" + TRIANGLE, ("2", "a face (f) needs its numbers")),
        (TRIANGLE + b"# pad\n" * 20_000 + b"junk\n", ("20005", "'junk' is not an OBJ statement")),
    ],
)
def test_a_line_that_is_no_statement_is_refused_alike_naming_it(data: bytes, named: tuple[str, str]) -> None:
    """A bare ``v`` was skipped by the build (every index after it one off); a line of no statement past the
    first 64 KiB was skipped by both, one before it refused by both as 'no GLB, OBJ or PNG' without its line."""
    assert _named(upload_verdict(data)) == named
    assert _named(build_verdict(data)) == named


def test_an_obj_without_faces_or_with_a_nul_past_the_first_look_is_refused_at_upload() -> None:
    """Taken at upload, refused by every build."""
    for data, words in ((b"v 0 0 0\n" * 10_000, "no faces"), (TRIANGLE + b"# x\n" * 20_000 + b"g \x00\n", "NUL")):
        assert words in (upload_verdict(data) or "") and words in (build_verdict(data) or "")


_VERTICES = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nvt 0.5 0.5\n"
_LINES = st.one_of(
    st.sampled_from([*SKIPPED, b"f 1 2 3", b"f -3 -2 -1", b"f 1/1 2/1 3/1", b"vt 0.5 0.5", b"vn 0 0 1"]),
    st.sampled_from([b"v", b"f", b"vt", b"foo 1", b"V 1 2 3", b"\x0c", b"  \t", b"#\\", b"s\x0c1", b"call"]),
)


@st.composite
def _obj_text(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(_LINES, max_size=30))
    out = []
    for line in lines:
        if b" " in line and draw(st.booleans()):  # continued at a space, the next line indented or not
            cut = line.index(b" ")
            line = line[:cut] + b" \\\n" + draw(st.sampled_from([b"", b"  ", b"\t"])) + line[cut + 1 :]
        out.append(draw(st.sampled_from([b"", b"  ", b"\t"])) + line)
    ending = draw(st.sampled_from([b"\n", b"\r\n"]))
    return _VERTICES.replace(b"\n", ending) + ending.join(out) + ending


@settings(max_examples=300, deadline=None)
@given(_obj_text())
def test_upload_and_build_agree_on_any_mix_of_statements(data: bytes) -> None:
    """Both take the file, or both refuse it naming the same line and statement."""
    assert _named(upload_verdict(data)) == _named(build_verdict(data))


def _clean_line_by_line(text: bytes) -> bytes:
    """:func:`~sceneforge.ingest.obj_statements.clean` as it was written first, a loop over the continued lines."""
    text = re.sub(rb"#[^\n]*", b"", text).replace(b"\r", b"")
    pieces = text.split(b"\\\n")
    out, pending = [pieces[0]], 0
    for piece in pieces[1:]:
        pending += 1
        end = piece.find(b"\n")
        if end >= 0:
            piece = piece[:end] + b"\n" * pending + piece[end:]
            pending = 0
        out.append(piece)
    return b" ".join(out) + b"\n" * pending


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([b"\\", b"\n", b"\r", b"#", b"v", b" ", b"\\\n", b"\\\r\n", b"\\\\\n"]), max_size=40))
def test_continued_lines_are_joined_as_a_loop_over_them_joins_them(pieces: list[bytes]) -> None:
    """The statements continued are joined by one split in C, not a loop over their lines (0.1–0.25 s a MiB of
    lines holding a backslash alone): the same text, every line keeping its number."""
    text = b"".join(pieces)
    assert obj_statements.clean(text) == _clean_line_by_line(text)


def test_a_mib_of_continued_lines_is_joined_in_memory_of_a_few_copies_of_it() -> None:
    """A list of the text's pieces, one a line (bytes objects of 34 bytes and more), was 50 MB for a MiB of ``\\``."""
    text = TRIANGLE + b"\\\n" * (1 << 19)
    tracemalloc.start()
    try:
        joined = obj_statements.clean(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert joined == TRIANGLE + b" " * (1 << 19) + b"\n" * (1 << 19)
    assert peak < 4 * len(text)


def _limit_verdicts(data: bytes, **limits: int) -> tuple[object, object]:
    """(upload, build) refusals of ``data`` past ``limits`` (max_triangles, max_materials): (limit, count, line)."""
    out: list[object] = []
    for read in (check_asset, load_mesh_asset):
        kwargs: dict[str, object] = {"path": PATH, **limits}
        if read is load_mesh_asset:
            kwargs["default_material"] = "m"
        try:
            read(data, "obj", **kwargs) if read is check_asset else read(data, **kwargs)  # type: ignore[operator]
        except LimitExceeded as exc:
            issue = exc.issues[0]
            line = re.search(r"OBJ line (\d+)", issue.message)
            out.append((exc.limit, exc.value, line and line.group(1)))
        else:
            out.append(None)
    return out[0], out[1]


def test_obj_materials_past_the_limit_are_refused_at_upload_and_by_builds_naming_the_line() -> None:
    """Each ``usemtl`` name is a surface made on its own (~0.2 ms apiece; a 430 KB file of 20,000 took 15 s, growing
    with their number times the faces): counted against SCENEFORGE_MAX_MATERIALS as a tagged GLB's materials are."""
    body = b"".join(b"usemtl m%d\nf 1 2 3\nusemtl m0\n" % i for i in range(30))
    data = b"v 0 0 0\nv 1 0 0\nv 0 1 0\n" + body
    assert _limit_verdicts(data, max_materials=20) == (("SCENEFORGE_MAX_MATERIALS", 21, "64"),) * 2
    assert _limit_verdicts(data, max_materials=30) == (None, None)


def test_usemtl_lines_are_numbered_only_to_name_the_one_past_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each ``usemtl`` had its line numbered (the newlines before it in its window counted), whether a message would
    name it or not: time growing with the square of a window's statements, 13 s for a MiB of ``usemtl a`` and a face
    (in the upload's check and in the build), and 256 MiB would have taken an hour."""
    numbered: list[int] = []
    line_at, window_line_at = getattr(obj_read, "_line_at", None), obj_read._Window.line_at
    monkeypatch.setattr(obj_read, "_line_at", lambda *args: numbered.append(1) or line_at(*args), raising=False)
    monkeypatch.setattr(obj_read._Window, "line_at", lambda *args: numbered.append(1) or window_line_at(*args))
    data = TRIANGLE + b"usemtl a\nf 1 2 3\nusemtl b\nf 1 2 3\n" * 1000
    assert _limit_verdicts(data, max_materials=2) == (None, None)
    assert numbered == []
    assert _limit_verdicts(data, max_materials=1) == (("SCENEFORGE_MAX_MATERIALS", 2, "7"),) * 2


def test_obj_triangles_past_the_limit_are_refused_at_upload_as_by_builds() -> None:
    """An upload of more triangles than a build takes was stored, and every build using it failed."""
    data = b"v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\n" + b"f 1 2 3 4\n" * 10
    upload, build = _limit_verdicts(data, max_triangles=15)
    assert upload == build and upload is not None and upload[:2] == ("SCENEFORGE_MAX_TRIANGLES", 20)
    assert _limit_verdicts(data, max_triangles=20) == (None, None)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from([b"f 1 2 3", b"usemtl a", b"usemtl b", b"usemtl", b"s 1", b"s off", b"g x"]), max_size=60)
)
def test_each_face_takes_the_material_and_smoothing_stated_last_before_it(lines: list[bytes]) -> None:
    """The ``usemtl`` / ``s`` statements before each face, however they interleave (read in one pass per window,
    each face given the last by a binary search)."""
    data = b"v 0 0 0\nv 1 0 0\nv 0 1 0\n" + b"\n".join([*lines, b"f 1 2 3"]) + b"\n"
    material, smooth, expected = "m", False, []
    for line in [*lines, b"f 1 2 3"]:
        if line.startswith(b"usemtl"):
            material = line[7:].decode() or "m"
        elif line.startswith(b"s "):
            smooth = line != b"s off"
        elif line.startswith(b"f"):
            expected.append((material, smooth))
    surfaces = obj_read.parse_obj(data, default_material="m", path=PATH)
    counts = {s.material: s.triangle_count for s in surfaces}
    assert counts == {m: sum(1 for e in expected if e[0] == m) for m, _ in expected}
    stated = dict.fromkeys(["m", *(line[7:].decode() for line in lines if line.startswith(b"usemtl "))])
    assert [s.material for s in surfaces] == [m for m in stated if m in counts]  # in the order first named


@pytest.mark.parametrize(("bad", "word"), [(b"f 1 2 x", "x"), (b"f 1/1 2/a 3/1", "2/a"), (b"f 1 2 3 \\ 4", "\\")])
def test_a_face_index_that_is_no_integer_is_refused_naming_its_line_and_word(bad: bytes, word: str) -> None:
    """It was 'OBJ line 5 or after' (the window's first face), however far after the faced line was."""
    data = TRIANGLE + b"vt 0 0\n" + b"f 1 2 3\n" * 50 + bad + b"\nf 1 2 3\n"
    message = build_verdict(data)
    assert message == f"OBJ line 56: face indices must be integers, not {word!r}"
