"""Read Wavefront OBJ text into :class:`Surface` values, one per ``usemtl`` material.

Reads ``v``, ``vt``, ``vn``, ``f`` (polygons are fan-triangulated, a triangle with two corners at one vertex,
no area, dropped; indices may be negative = relative), ``usemtl`` and ``s``; every other statement of the OBJ
specification (``o``, ``g``, ``l``, ``p``,
``mtllib``, free-form curves, ``call``, ``csh``) is skipped, and a line that is none (or a bare ``v``, ``vt``,
``vn`` or ``f``) is an error naming it: lines, comments and backslash continuations are read as
:mod:`.obj_statements` says, as the upload check reads them (:func:`check_obj_statements`). A statement
continued over more than :data:`WINDOW_BYTES` is refused. ``mtllib`` files are not fetched: an OBJ upload is
one file, so colours come from the scene description's materials.

Safe on untrusted input, in memory proportional to the file: the text is read in windows of
:data:`WINDOW_BYTES` (cut at line ends), and only numpy arrays of what each window holds outlive
it (8 bytes per coordinate, 24 per face corner). Every number and index is checked as it is read:
a coordinate that is not a finite float32, an index that is not an integer or names a vertex not
defined, a face of fewer than 3 corners, more triangles than ``max_triangles`` — each an
:class:`AssetError` naming the OBJ line. Measured (tests/ingest/test_bounded_parsing.py): a
2.4 MB grid of textured quads peaks at 9–13× its size under ``tracemalloc``, the flat-shaded output
included; the reader this one replaced (a list of token strings per line) peaked at 26–28×.

Cost: per window, regular expressions pick out the statements (C loops), ``numpy.fromstring``
parses their numbers, and numpy resolves indices, triangulates and de-duplicates the
``v/vt/vn`` corners (``np.unique`` on one int64 key per corner). No Python loop runs per line.

Choices: texture ``v`` is flipped (OBJ's origin is bottom-left, glTF's top-left). A material
group whose corners all carry ``vn`` keeps them; otherwise its normals are computed — smooth
(area-weighted per position) when a smoothing group (``s 1``) is on for any of its faces, flat
otherwise, which suits architectural assets (boxes, walls) exported without normals.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import numpy.typing as npt

from ..arrays import distinct
from ..errors import AssetError, LimitExceeded
from ..model.description import FLOAT32_MAX, UNPRINTABLE
from ..model.ir import Surface
from .obj_statements import clean, problem_line
from .surfaces import make_surface

__all__ = ["WINDOW_BYTES", "check_obj_statements", "parse_obj"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

#: Bytes of text handled at once: bounds the transient Python objects of one window.
WINDOW_BYTES = 1 << 20

#: Indices beyond this cannot name a vertex of a file the service accepts (and stay exact in float64).
_MAX_INDEX = 2**31

_INDENT = re.compile(rb"^[ \t\f\v]+", re.M)
_STATEMENT = {kind: re.compile(rb"^" + kind + rb"[ \t]+([^\n]*)", re.M) for kind in (b"v", b"vt", b"vn", b"f")}
_STATE = re.compile(rb"^(usemtl|s)(?:[ \t]+([^\n]*))?$", re.M)
#: Statement kinds as numbered in :func:`_kinds`.
V, VT, VN, F = 1, 2, 3, 4
_NAMES = ("vertex", "texture coordinate", "normal")


@dataclass
class _Parsed:
    """What the windows produced so far, as lists of per-window arrays (joined at the end)."""

    path: str
    materials: list[str]
    material_index: dict[str, int] = field(default_factory=dict)  # each of ``materials`` by name
    max_materials: int | None = None
    named: set[str] = field(default_factory=set)  # the names ``usemtl`` gave (:func:`_count_material`)
    v: list[F64] = field(default_factory=list)
    vt: list[F64] = field(default_factory=list)
    vn: list[F64] = field(default_factory=list)
    corners: list[I64] = field(default_factory=list)  # (c, 3) resolved 0-based v, vt, vn (-1 absent)
    sizes: list[I64] = field(default_factory=list)  # corners per face
    material: list[I64] = field(default_factory=list)  # per face
    smooth: list[npt.NDArray[np.bool_]] = field(default_factory=list)  # per face
    counts: list[int] = field(default_factory=lambda: [0, 0, 0])  # v, vt, vn defined so far
    faces: int = 0
    triangles: int = 0
    current_material: int = 0
    current_smooth: bool = False
    line: int = 0  # lines before the current window
    face_lines: list[npt.NDArray[np.int32]] = field(default_factory=list)  # per face, for messages


@dataclass(frozen=True)
class _Window:
    """One window of text, cleaned (comments, CRs and indentation gone), with its statements located."""

    text: bytes
    first_line: int
    offsets: I64  # byte offset of each v / vt / vn / f statement, in file order
    kinds: I64  # V, VT, VN or F for each

    def line_at(self, offset: int) -> int:
        return self.first_line + self.text.count(b"\n", 0, offset) + 1

    def face_lines(self) -> npt.NDArray[np.int32]:
        """The line number of every face statement (one vectorized count of newlines)."""
        newlines = np.flatnonzero(np.frombuffer(self.text, dtype=np.uint8) == 10)
        at = self.offsets[self.kinds == F]
        lines: npt.NDArray[np.int32] = (self.first_line + np.searchsorted(newlines, at) + 1).astype(np.int32)
        return lines

    def line_of(self, kind: int, k: int) -> int:
        """The line number of the ``k``-th statement of ``kind`` in this window."""
        return self.line_at(int(self.offsets[self.kinds == kind][k]))


def _windows(data: bytes, path: str) -> list[tuple[int, int]]:
    """``[start, stop)`` byte ranges of at most about :data:`WINDOW_BYTES`, each ending after a newline that
    ends a statement (not one a ``\\`` continues); a statement continued past another window's worth is refused."""
    out, start = [], 0
    while start < len(data):
        stop = data.find(b"\n", min(start + WINDOW_BYTES, len(data)) - 1)
        stop = len(data) if stop < 0 else stop + 1
        if stop < len(data) and _continued(data, stop):
            # Past the continued lines from the one ending at ``stop`` at once (a loop over them took ~1 µs a line,
            # 0.25 s a MiB of lines holding a backslash alone), no further than a window's worth past the next.
            limit = start + 2 * WINDOW_BYTES + 1
            first = data.rfind(b"\n", 0, stop - 1) + 1
            run = _CONTINUED_LINES.match(data, first, limit)  # always a match, if only of no line
            run_end = first if run is None else run.end()
            following = data.find(b"\n", run_end)
            stop = len(data) if following < 0 else following + 1
            if (run_end == limit < len(data)) or (stop < len(data) and _continued(data, stop)):  # past the limit
                begin = data.rfind(b"\n", 0, start + WINDOW_BYTES) + 1
                while begin > start and _continued(data, begin):  # back to the statement's first line
                    begin = data.rfind(b"\n", 0, begin - 1) + 1
                line = data.count(b"\n", 0, begin) + 1
                raise AssetError(
                    path, f"OBJ line {line} or after: a statement continued (\\) over more than {WINDOW_BYTES:,} bytes"
                )
        out.append((start, stop))
        start = stop
    return out


#: Lines each continued on the next (:func:`_continued`): no ``#``, and a ``\\`` last but for CRs. Possessive: a run
#: of them keeps no state per line.
_CONTINUED_LINES = re.compile(rb"(?:[^#\n]*\\\r*\n)*+")


def _continued(data: bytes, stop: int) -> bool:
    """Whether the line ending just before ``stop`` (after its newline) goes on on the next (:func:`.clean`)."""
    end = stop - 1 - (stop >= 2 and data[stop - 2] == 13)  # a CR before the newline is dropped
    while end > 0 and data[end - 1] == 13:
        end -= 1
    if end < 1 or data[end - 1] != 92:  # a backslash
        return False
    begin = data.rfind(b"\n", 0, end) + 1
    return data.find(b"#", begin, end) < 0  # one in a comment is the comment's


def check_obj_statements(
    data: bytes, path: str, *, max_triangles: int | None = None, max_materials: int | None = None
) -> None:
    """What :func:`parse_obj` refuses before it reads a number, refused without reading them (the upload check):
    NUL bytes, a line that is no OBJ statement or a bare ``v`` / ``vt`` / ``vn`` / ``f`` (naming the line), no
    face at all, more triangles than ``max_triangles`` (its faces' corners counted), more materials than
    ``max_materials``. Window by window, in memory of a window."""
    if b"\x00" in data:
        raise AssetError(path, "OBJ data must be text (it contains NUL bytes)")
    faces, line, triangles, named, b_newline = False, 0, 0, set[str](), b"\n"
    for start, stop in _windows(data, path):
        text = clean(data[start:stop])
        _refuse_problem(text, line, path)
        text = _INDENT.sub(b"", text)
        texts = _STATEMENT[b"f"].findall(text)
        if texts:
            faces = True
            sizes = _token_counts(b"\n".join(texts), len(texts))
            triangles += int(np.maximum(sizes - 2, 0).sum())
            if max_triangles is not None and triangles > max_triangles:
                what = f"asset triangles (by OBJ line {line + text.count(b_newline)})"
                raise LimitExceeded("SCENEFORGE_MAX_TRIANGLES", triangles, max_triangles, path=path, what=what)
        for match in _STATE.finditer(text):
            if match.group(1) == b"usemtl":
                at = partial(_line_at, text, match.start(), line)
                _count_material(_material_name((match.group(2) or b"").strip()), named, max_materials, at, path)
        line += data.count(b"\n", start, stop)
    if not faces:
        raise AssetError(path, "the OBJ has no faces", code="asset_empty")


def _line_at(text: bytes, offset: int, first_line: int) -> int:
    """The number of the line of ``text`` (its first numbered ``first_line`` + 1) holding byte ``offset``."""
    return first_line + text.count(b"\n", 0, offset) + 1


def _refuse_problem(text: bytes, first_line: int, path: str) -> None:
    problem = problem_line(text, first_line)
    if problem is not None:
        raise AssetError(path, problem)


def _kinds(text: bytes) -> tuple[I64, I64]:
    """Offsets and kinds of the ``v``, ``vt``, ``vn`` and ``f`` statements (lines starting with them)."""
    arr = np.frombuffer(text + b"\0\0\0", dtype=np.uint8)
    starts = np.concatenate([[0], np.flatnonzero(arr[: len(text)] == 10) + 1])
    starts = starts[starts < len(text)]
    b0, b1, b2 = arr[starts], arr[starts + 1], arr[starts + 2]
    blank1, blank2 = (b1 == 32) | (b1 == 9), (b2 == 32) | (b2 == 9)
    kind = np.zeros(starts.shape[0], dtype=np.int64)
    kind[(b0 == ord("v")) & blank1] = V
    kind[(b0 == ord("v")) & (b1 == ord("t")) & blank2] = VT
    kind[(b0 == ord("v")) & (b1 == ord("n")) & blank2] = VN
    kind[(b0 == ord("f")) & blank1] = F
    keep = kind > 0
    return starts[keep].astype(np.int64), kind[keep]


#: Bytes of text :func:`_token_counts` looks at at once: its arrays (~15 bytes a byte) stay within a few tens of MiB
#: however long a line is. A window ends at a line's end, so a face of millions of corners on one line is one window:
#: looked at whole, a 64 MiB line took the upload's check to 1.3 GB.
_TOKEN_CHUNK = 1 << 20


def _token_counts(text: bytes, lines: int) -> I64:
    """Whitespace-separated tokens on each of the ``lines`` lines of ``text``: white space as :func:`_numbers`
    reads it (space, tab, vertical tab, form feed, CR), so a line of numbers has as many tokens as numbers."""
    arr = np.frombuffer(text, dtype=np.uint8)
    counts = np.zeros(lines, dtype=np.int64)
    line, after_space = 0, True  # the line the chunk begins on; whether the byte before it is white space
    for begin in range(0, arr.shape[0], _TOKEN_CHUNK):
        part = arr[begin : begin + _TOKEN_CHUNK]
        newline = part == 10
        space = newline | (part == 32) | (np.subtract(part, 9, dtype=np.uint8) <= 4)
        start = ~space  # a token's first byte: no white space, after white space or the text's start
        start[0] &= after_space
        start[1:] &= space[:-1]
        after_space = bool(space[-1])
        on = np.cumsum(newline)  # the lines begun in the chunk before each byte
        found = np.bincount(on[start], minlength=int(on[-1]) + 1)
        counts[line : line + found.shape[0]] += found
        line += int(on[-1])
    return counts


def _numbers(text: bytes) -> F64 | None:
    """The whitespace-separated numbers of ``text``; None if some token is not a number."""
    if text.isspace():  # numpy reads white space alone as one number, -1
        return np.zeros(0)
    try:
        return np.fromstring(text, dtype=np.float64, sep=" ")
    except ValueError:
        return None


def _rows(win: _Window, kind: int, width: int, least: int, what: str, path: str) -> F64:
    """The first ``width`` numbers of every ``kind`` statement, (n, width); absent ones (past ``least``) are 0."""
    texts = _STATEMENT[(b"", b"v", b"vt", b"vn", b"f")[kind]].findall(win.text)
    if not texts:
        return np.zeros((0, width))
    joined = b"\n".join(texts)
    values = _numbers(joined)
    if values is None:
        k = next(i for i, t in enumerate(texts) if _numbers(t) is None)  # error path only
        raise AssetError(path, f"OBJ line {win.line_of(kind, k)}: {what} holds something that is not a number")
    if values.size == width * len(texts):
        rows = values.reshape(-1, width)
    else:  # other counts of numbers on some lines (e.g. vertex colours after x y z): take the first ``width``
        counts = _token_counts(joined, len(texts))
        if (counts < least).any():
            line = win.line_of(kind, int(np.argmax(counts < least)))
            raise AssetError(path, f"OBJ line {line}: {what} needs {least} number{'s' if least > 1 else ''}")
        begin = np.cumsum(counts) - counts
        rows = np.zeros((len(texts), width))
        for j in range(width):  # width columns, not per line
            has = counts > j
            rows[has, j] = values[begin[has] + j]
    finite = np.isfinite(rows) & (np.abs(rows) <= FLOAT32_MAX)
    if not finite.all():
        line = win.line_of(kind, int(np.argmax(~finite.all(axis=1))))
        raise AssetError(path, f"OBJ line {line}: {what} must be finite float32 numbers", code="asset_non_finite")
    return rows


def _faces(win: _Window, path: str) -> tuple[I64, I64]:
    """The window's face corners (c, 3) as written (v, vt, vn; 0 = absent), and corners per face."""
    texts = _STATEMENT[b"f"].findall(win.text)
    if not texts:
        return np.zeros((0, 3), dtype=np.int64), np.zeros(0, dtype=np.int64)
    joined = b"\n".join(texts)
    sizes = _token_counts(joined, len(texts))
    if (sizes < 3).any():
        raise AssetError(
            path, f"OBJ line {win.line_of(F, int(np.argmax(sizes < 3)))}: a face needs at least 3 vertices"
        )
    arr = np.frombuffer(joined, dtype=np.uint8)
    # Each slash's line by a search among the newlines (a line number per byte was 8 bytes a byte).
    on = np.searchsorted(np.flatnonzero(arr == 10), np.flatnonzero(arr == ord("/")))
    slashes = np.bincount(on, minlength=len(texts))[: len(texts)]
    per = slashes // sizes  # slashes per corner: v, v/vt, v//vn or v/vt/vn
    mixed = (slashes != per * sizes) | (per > 2)
    if mixed.any():
        line_no = win.line_of(F, int(np.argmax(mixed)))
        raise AssetError(path, f"OBJ line {line_no}: face corners are v, v/vt, v//vn or v/vt/vn, the same on a line")
    values = _numbers(joined.replace(b"//", b"/0/").replace(b"/", b" ") if slashes.any() else joined)
    if values is None or values.size != int(((per + 1) * sizes).sum()):
        wrong = (k for k, t in enumerate(texts) if _corner_numbers(t) != (int(per[k]) + 1) * int(sizes[k]))
        k = next(wrong, 0)  # one there is (the window's faces hold a token that is no number)
        word = next((w for w in texts[k].split() if not _looks_like_corner(w)), texts[k].split()[0])
        shown = word.decode("utf-8", "replace")[:40]
        raise AssetError(path, f"OBJ line {win.line_of(F, k)}: face indices must be integers, not {shown!r}")
    bad = (values != np.floor(values)) | ~(np.abs(values) < _MAX_INDEX)  # NaN too
    if bad.any():
        number = int(np.argmax(bad))
        face = int(np.searchsorted(np.cumsum((per + 1) * sizes), number, side="right"))
        raise AssetError(path, f"OBJ line {win.line_of(F, face)}: face indices must be integers below {_MAX_INDEX}")
    if (per == per[0]).all():  # one way of writing corners throughout (the usual): no offsets per corner
        width = int(per[0]) + 1
        corners = np.zeros((values.size // width, 3), dtype=np.int64)
        corners[:, :width] = values.reshape(-1, width)  # integers below 2**31 (checked above): exact
        return corners, sizes
    widths = np.repeat(per + 1, sizes)  # numbers per corner
    corners = np.zeros((widths.shape[0], 3), dtype=np.int64)
    begin = np.cumsum(widths) - widths
    for j in range(3):  # three columns, not per corner
        has = widths > j
        corners[has, j] = values[begin[has] + j]
    return corners, sizes


def _corner_numbers(text: bytes) -> int:
    """How many numbers one face statement's corners hold (-1 when one is not a number): the error path's."""
    values = _numbers(text.replace(b"//", b"/0/").replace(b"/", b" "))
    return -1 if values is None else int(values.size)


def _looks_like_corner(word: bytes) -> bool:
    """Whether ``word`` is a corner of integers (``v``, ``v/vt``, ``v//vn`` or ``v/vt/vn``)."""
    return _CORNER.fullmatch(word) is not None


_CORNER = re.compile(rb"[+-]?\d+(?:/[+-]?\d*){0,2}")


def _resolve(idx: I64, before: Callable[[], I64], what: str, sizes: I64, win: _Window, path: str) -> I64:
    """OBJ indices → 0-based: positive ones count from 1 (checked against the file's total at the end),
    negative ones back from what was defined before their face (``before()``, one per corner, made only for them:
    checked here); 0 (absent) → -1."""
    resolved = np.where(idx > 0, idx - 1, -1)
    if not (idx < 0).any():
        return resolved
    before_corner = before()
    resolved = np.where(idx < 0, before_corner + idx, resolved)
    bad = (idx < 0) & (resolved < 0)
    if bad.any():
        k = int(np.argmax(bad))
        face = int(np.searchsorted(np.cumsum(sizes), k, side="right"))
        raise AssetError(
            path,
            f"OBJ line {win.line_of(F, face)}: a face refers to {what} {int(idx[k])}, which does not exist "
            f"({int(before_corner[k])} defined before it)",
        )
    return resolved


def _states(win: _Window, face_offsets: I64, ctx: _Parsed) -> tuple[I64, npt.NDArray[np.bool_]]:
    """Each face's material and smoothing flag, from the ``usemtl`` / ``s`` statements before it: each statement
    read once, each face given the last before it by a binary search (set face by face per statement, a window of
    ``s`` lines between faces took seconds, growing with its square)."""
    previous_material, previous_smooth = ctx.current_material, int(ctx.current_smooth)
    changes: dict[bytes, tuple[list[int], list[int]]] = {b"usemtl": ([], []), b"s": ([], [])}
    for match in _STATE.finditer(win.text):  # one Python step per state statement, none per face
        head, rest = match.group(1), (match.group(2) or b"").strip()
        if head == b"usemtl":
            name = _material_name(rest)
            _count_material(name, ctx.named, ctx.max_materials, partial(win.line_at, match.start()), ctx.path)
            name = name or ctx.materials[0]
            if name not in ctx.material_index:
                ctx.material_index[name] = len(ctx.materials)
                ctx.materials.append(name)
            ctx.current_material = value = ctx.material_index[name]
        else:
            ctx.current_smooth = bool(rest) and rest.split()[0].lower() not in (b"off", b"0")
            value = int(ctx.current_smooth)
        changes[head][0].append(match.start())
        changes[head][1].append(value)
    out = []
    for head, before in ((b"usemtl", previous_material), (b"s", previous_smooth)):
        at, values = changes[head]
        last = np.searchsorted(np.asarray(at, dtype=np.int64), face_offsets) - 1  # the last change before each face
        table = np.asarray([before, *values], dtype=np.int64)
        out.append(table[last + 1])
    return out[0], out[1].astype(bool)


def _material_name(rest: bytes) -> str:
    """The material a ``usemtl`` statement names ('' for none: the default material): its first 128 characters, each
    one no name may hold (a control, bidi or invisible format character: ``model.description.UNPRINTABLE``)
    written as ``\\u`` and four hex digits (``\\u202e``), so it names the same material, apart from others, and
    reads as what it is in the GLB."""
    name = rest.decode("utf-8", "replace")[:128]
    return UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", name) if UNPRINTABLE.search(name) else name


def _count_material(name: str, named: set[str], most: int | None, line: Callable[[], int], path: str) -> None:
    """Add ``name`` to the material names ``usemtl`` gave; past ``most`` (``SCENEFORGE_MAX_MATERIALS``: each
    material is a surface made and drawn on its own, ~0.2 ms) refused naming the line, ``line()``: counted only
    then (the newlines before each ``usemtl`` counted for every one, a MiB of them took 13 s)."""
    if not name or name in named:
        return
    named.add(name)
    if most is not None and len(named) > most:
        what = f"the OBJ's materials (usemtl names, by OBJ line {line()})"
        raise LimitExceeded("SCENEFORGE_MAX_MATERIALS", len(named), most, path=path, what=what)


def _read_window(text: bytes, ctx: _Parsed, max_triangles: int | None) -> None:
    first_line = ctx.line
    ctx.line += text.count(b"\n")
    text = clean(text)
    _refuse_problem(text, first_line, ctx.path)
    if _INDENT.search(text):
        text = _INDENT.sub(b"", text)
    win = _Window(text, first_line, *_kinds(text))
    path = ctx.path
    v = _rows(win, V, 3, 3, "a vertex", path)
    vt = _rows(win, VT, 2, 1, "a texture coordinate", path)
    vn = _rows(win, VN, 3, 3, "a normal", path)
    raw, sizes = _faces(win, path)
    is_face = win.kinds == F
    if sizes.size:
        # Negative indices count back from what was defined before their face (in file order).
        defined = np.stack([np.cumsum(win.kinds == k) for k in (V, VT, VN)], axis=1) + np.array(ctx.counts)
        before = [partial(np.repeat, defined[is_face, k], sizes) for k in range(3)]
        no_vertex = raw[:, 0] == 0
        for k in range(3):  # in place, a column at a time
            raw[:, k] = _resolve(raw[:, k], before[k], _NAMES[k], sizes, win, path)
        if no_vertex.any():
            face = int(np.searchsorted(np.cumsum(sizes), int(np.argmax(no_vertex)), side="right"))
            raise AssetError(path, f"OBJ line {win.line_of(F, face)}: a face corner needs a vertex index")
        ctx.triangles += int((sizes - 2).sum())  # as written, as the upload check counts them
        corners, sizes = _drop_repeats(raw, sizes)
        ctx.corners.append(corners)
        ctx.sizes.append(sizes)
        ctx.face_lines.append(win.face_lines())
        ctx.faces += sizes.size
        if max_triangles is not None and ctx.triangles > max_triangles:
            what = f"asset triangles (by OBJ line {ctx.line})"
            raise LimitExceeded("SCENEFORGE_MAX_TRIANGLES", ctx.triangles, max_triangles, path=path, what=what)
    material, smooth = _states(win, win.offsets[is_face], ctx)
    if sizes.size:
        ctx.material.append(material)
        ctx.smooth.append(smooth)
    for k, rows in enumerate((v, vt, vn)):
        if rows.shape[0]:
            (ctx.v, ctx.vt, ctx.vn)[k].append(rows)
            ctx.counts[k] += rows.shape[0]


def _drop_repeats(corners: I64, sizes: I64) -> tuple[I64, I64]:
    """``corners`` (c, 3) of faces of ``sizes`` corners without each corner equal to the one before it in its face,
    and the faces' sizes then. The fan triangles such a corner makes have two equal corners (no area), and the others
    are the same without it: ``f 1 2 3 3 3 …`` written 2 bytes a corner made a triangle of each (5 million from a
    10 MB file, 1.6 GB flat-shaded). A face may be left with fewer than 3 corners (:func:`_fan`: no triangle)."""
    repeat = np.zeros(corners.shape[0], dtype=bool)
    repeat[1:] = (corners[1:] == corners[:-1]).all(axis=1)
    repeat[np.cumsum(sizes) - sizes] = False  # a face's first corner repeats none of its own
    if not repeat.any():
        return corners, sizes
    face = np.repeat(np.arange(sizes.shape[0]), sizes)
    return corners[~repeat], sizes - np.bincount(face[repeat], minlength=sizes.shape[0])


def _fan(sizes: I64) -> I64:
    """(t, 3) corner indices of a fan triangulation of faces with ``sizes`` corners (none for fewer than 3)."""
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    per_face = np.maximum(sizes - 2, 0)
    face = np.repeat(np.arange(sizes.shape[0]), per_face)
    local = np.arange(face.shape[0]) - np.repeat(np.cumsum(per_face) - per_face, per_face)
    s = starts[face]
    return np.stack([s, s + local + 1, s + local + 2], axis=1)


def _without_degenerate(rows: I64, triangles: I64) -> tuple[I64, I64]:
    """The triangles (t, 3) of distinct corners ``rows`` (v, vt, vn) but those with two corners at one vertex (no
    area, nothing drawn), and the rows they use (in their order, unchanged when every triangle stays)."""
    v = rows[:, 0][triangles]
    keep = (v[:, 0] != v[:, 1]) & (v[:, 1] != v[:, 2]) & (v[:, 0] != v[:, 2])
    if keep.all():
        return rows, triangles
    used, inverse = np.unique(triangles[keep], return_inverse=True)
    return rows[used], inverse.reshape(-1, 3)


def _join(parts: list[F64], width: int) -> F64:
    return np.concatenate(parts) if parts else np.zeros((0, width))


def _corner_keys(corners: I64, counts: tuple[int, int, int]) -> I64:
    """One int64 per corner that is equal exactly for equal (v, vt, vn) rows (-1 = absent): a mixed radix
    over the counts when their product fits 63 bits, else the rank of the row among the distinct rows."""
    r1, r0 = counts[2] + 1, (counts[1] + 1) * (counts[2] + 1)
    if (counts[0] + 1) * r0 < 2**62:
        return (corners[:, 0] + 1) * r0 + (corners[:, 1] + 1) * r1 + (corners[:, 2] + 1)
    return np.unique(corners, axis=0, return_inverse=True)[1].reshape(-1).astype(np.int64)


def parse_obj(
    data: bytes,
    *,
    default_material: str,
    path: str,
    max_triangles: int | None = None,
    max_materials: int | None = None,
) -> list[Surface]:
    """OBJ bytes → one surface per material (order of first use). ``AssetError`` at ``path`` naming the
    line when a number or index is malformed or out of range, or there are no faces; ``LimitExceeded``
    as soon as the faces read make more than ``max_triangles`` triangles, or ``usemtl`` names more than
    ``max_materials`` materials."""
    if b"\x00" in data:
        raise AssetError(path, "OBJ data must be text (it contains NUL bytes)")
    ctx = _Parsed(path, [default_material], {default_material: 0}, max_materials)
    for start, stop in _windows(data, path):
        _read_window(data[start:stop], ctx, max_triangles)
    if not ctx.faces:
        raise AssetError(path, "the OBJ has no faces", code="asset_empty")
    positions, normals, uvs = _join(ctx.v, 3), _join(ctx.vn, 3), _join(ctx.vt, 2)
    uvs[:, 1] = 1.0 - uvs[:, 1]
    corners = np.concatenate(ctx.corners)
    sizes = np.concatenate(ctx.sizes)
    totals = np.array([len(positions), len(uvs), len(normals)])
    beyond = corners >= totals
    if beyond.any():
        k, column = np.unravel_index(int(np.argmax(beyond)), beyond.shape)
        line = int(np.concatenate(ctx.face_lines)[np.searchsorted(np.cumsum(sizes), k, side="right")])
        raise AssetError(
            path,
            f"OBJ line {line}: a face refers to {_NAMES[column]} {int(corners[k, column]) + 1}, which does not exist "
            f"({int(totals[column])} defined)",
        )
    del ctx.corners[:], ctx.v[:], ctx.vt[:], ctx.vn[:]
    face_material = np.concatenate(ctx.material)
    face_smooth = np.concatenate(ctx.smooth)
    keys = _corner_keys(corners, (len(positions), len(uvs), len(normals)))
    corner_material = np.repeat(face_material, sizes)
    # Each material's faces and corners, in file order, as slices of one stable sort (picked out by a comparison
    # per material, a file of thousands of materials took time growing with their number times its faces).
    face_order = np.argsort(face_material, kind="stable")
    corner_order = np.argsort(corner_material, kind="stable")
    face_ends = np.cumsum(np.bincount(face_material))
    corner_ends = np.cumsum(np.bincount(corner_material, minlength=face_ends.shape[0]))
    surfaces = []
    for m in distinct(face_material):  # per material (in order of first use), not per vertex
        faces = face_order[(face_ends[m - 1] if m else 0) : face_ends[m]]
        mine = corner_order[(corner_ends[m - 1] if m else 0) : corner_ends[m]]
        first, inverse = np.unique(keys[mine], return_index=True, return_inverse=True)[1:]
        rows = corners[mine[first]]  # one (v, vt, vn) row per distinct corner
        triangles = inverse.reshape(-1)[_fan(sizes[faces])]
        rows, triangles = _without_degenerate(rows, triangles)
        uv = np.zeros((rows.shape[0], 2))
        textured = rows[:, 1] >= 0
        uv[textured] = uvs[rows[textured, 1]]
        has_normals = len(normals) > 0 and bool((rows[:, 2] >= 0).all())
        surfaces.append(
            make_surface(
                ctx.materials[int(m)],
                positions[rows[:, 0]],
                triangles,
                normals[rows[:, 2]] if has_normals else None,
                uv,
                smooth_groups=rows[:, 0] if not has_normals and face_smooth[faces].any() else None,
            )
        )
    return surfaces
