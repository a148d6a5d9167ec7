"""The statements of a Wavefront OBJ file, read line by line as the build's reader (:mod:`.obj_read`) reads them.

One definition for every look at OBJ text: the upload's first look (:func:`sceneforge.storage.sniff_kind`), the
sniffing of an asset's kind (:func:`.assets.sniff_asset`), the upload check and the build's reader, so that what
one takes the others take and what one refuses the others refuse, naming the same line and statement, and the
same byte when the text is not UTF-8 (:func:`obj_text_problem`).

A UTF-8 byte order mark opening the text is dropped. Lines end at ``\\n`` (a ``\\r`` before it is dropped); ``#``
starts a comment that runs to the line's end; a line that ends in ``\\`` (after its comment is dropped) goes on on
the next line, the two read as one statement that is numbered by its first line. A statement is its first word (what
comes before a space or tab), after any indentation (spaces, tabs, form or vertical feeds). Every statement of the
OBJ specification (geometry, free-form curves and surfaces, grouping, display and render attributes, ``call`` and
``csh``) is taken: the reader uses ``v``, ``vt``, ``vn``, ``f``, ``usemtl`` and ``s`` and skips the others. A line
whose first word is none of them, or a ``v``, ``vt``, ``vn`` or ``f`` with nothing after it, is refused
(:func:`first_problem`).

Pure :mod:`re`, no numpy: the upload's first look imports it with the API.
"""

from __future__ import annotations

import re

__all__ = [
    "OBJ_STATEMENTS",
    "SNIFF_BYTES",
    "clean",
    "first_problem",
    "has_geometry",
    "obj_text_problem",
    "problem_line",
    "unknown_line",
    "unknown_statement",
]

#: Every statement of the OBJ specification (Wavefront's Appendix B, version 3.0).
OBJ_STATEMENTS = frozenset(
    b"v vt vn vp cstype deg bmat step p l f curv curv2 surf parm trim hole scrv sp end con g s mg o "
    b"bevel c_interp d_interp lod usemtl mtllib shadow_obj trace_obj ctech stech maplib usemap call csh".split()
)
#: Statements the reader needs arguments of: one of them bare would define nothing, shifting every index after it.
_NEEDS_ARGUMENTS = {b"v": "a vertex", b"vt": "a texture coordinate", b"vn": "a normal", b"f": "a face"}

_COMMENT = re.compile(rb"#[^\n]*")
_INDENT = b" \t\f\v"
_WORDS = b"|".join(re.escape(w) for w in sorted(OBJ_STATEMENTS, key=len, reverse=True))
# Each pattern is searched in the text after a newline (b"\n" + text): beginning with a literal, the search skips
# to each line's start (a multi-line ``^`` is tried at every byte, 5 to 20 times slower).
#: A line whose first word is not a statement (its first character no indentation, which the reader drops).
_UNKNOWN = re.compile(rb"\n[ \t\f\v]*+(?!(?:" + _WORDS + rb")(?:[ \t\n]|$))([^ \t\f\v\n][^ \t\n]*)")
#: A statement the reader needs arguments of, with none.
_BARE = re.compile(rb"\n[ \t\f\v]*+(v|vt|vn|f)[ \t]*(?:\n|$)")
#: A statement continued by a final ``\\``, from its first continuation to its last line's end (before its newline);
#: possessive, so that a run of continued lines keeps no state per line.
_CONTINUED = re.compile(rb"(\\\n(?:[^\n]*\\\n)*+[^\n]*)")
#: A statement of geometry or grouping: text without one is not taken for OBJ (comments alone are not).
_GEOMETRY = re.compile(rb"\n[ \t\f\v]*+(?:v|f|o|g|usemtl|mtllib)(?:[ \t\n]|$)")


#: How much of a text file :func:`obj_text_problem` reads to decide that it is an OBJ.
SNIFF_BYTES = 64 * 1024

#: A UTF-8 byte order mark: Windows tools open text files with one; it is no part of the first statement.
_BOM = b"\xef\xbb\xbf"


def clean(text: bytes) -> bytes:
    """``text`` as the reader reads it: a byte order mark opening it, comments and ``\\r`` dropped, a line continued
    by a final ``\\`` joined to the next by a space, the newlines that joined it put after the statement (each line
    keeps its number)."""
    if text.startswith(_BOM):
        text = text[len(_BOM) :]
    if b"#" in text:
        text = _COMMENT.sub(b"", text)
    text = text.replace(b"\r", b"")
    if b"\\\n" not in text:
        return text
    # Split around each continued statement (odd items), each then joined in C: a loop over the continued lines took
    # 0.1–0.25 s and 50 MB a MiB of lines holding a backslash alone.
    parts = _CONTINUED.split(text)
    parts[1::2] = [s.replace(b"\\\n", b" ") + b"\n" * s.count(b"\\\n") for s in parts[1::2]]
    return b"".join(parts)


def unknown_statement(text: bytes) -> tuple[int, str] | None:
    """(offset, message) of the first line of cleaned ``text`` (:func:`clean`) whose first word is no OBJ
    statement; None when there is none."""
    match = _UNKNOWN.search(b"\n" + text)
    if match is None:
        return None
    word = match.group(1).decode("utf-8", "replace")[:40]
    return match.start(1) - 1, f"{word!r} is not an OBJ statement"


def unknown_line(text: bytes) -> str | None:
    """``OBJ line <n>: <why>`` for the first line of cleaned ``text`` (:func:`clean`) whose first word is no OBJ
    statement (:func:`unknown_statement`); None when there is none."""
    return _named(text, unknown_statement(text), 0)


def problem_line(text: bytes, first_line: int = 0) -> str | None:
    """``OBJ line <n>: <why>`` for :func:`first_problem` of cleaned ``text``, its lines numbered from ``first_line``
    + 1; None when every line is sound."""
    return _named(text, first_problem(text), first_line)


def _named(text: bytes, found: tuple[int, str] | None, first_line: int) -> str | None:
    if found is None:
        return None
    offset, what = found
    line = first_line + text.count(b"\n", 0, offset) + 1
    return f"OBJ line {line}: {what}"


def has_geometry(text: bytes) -> bool:
    """Whether cleaned ``text`` holds a ``v``, ``f``, ``o``, ``g``, ``usemtl`` or ``mtllib`` statement."""
    return _GEOMETRY.search(b"\n" + text) is not None


def first_problem(text: bytes) -> tuple[int, str] | None:
    """(offset, what is wrong) of the first line of cleaned ``text`` (:func:`clean`) that is no OBJ statement,
    or a ``v``, ``vt``, ``vn`` or ``f`` with nothing after it; None when every line is sound."""
    unknown, bare = unknown_statement(text), _BARE.search(b"\n" + text)
    if bare is None or (unknown is not None and unknown[0] < bare.start(1) - 1):
        return unknown
    word = bare.group(1)
    return bare.start(1) - 1, f"{_NEEDS_ARGUMENTS[word]} ({word.decode()}) needs its numbers"


def obj_text_problem(data: bytes) -> str | None:
    """Why ``data`` is not taken for OBJ (:func:`.assets.sniff_asset`), or None when it is: its first
    :data:`SNIFF_BYTES` must be UTF-8 text without NUL bytes whose lines are OBJ statements (read as the build's
    reader reads them: :func:`clean`), one of geometry or grouping among them when that is the whole
    file (comments alone are not OBJ; a longer file may open with a long header: its reader finds its faces)."""
    head = bytes(data[:SNIFF_BYTES])
    if not head or b"\x00" in head:
        return "it is empty or holds a NUL byte" if head else "it is empty"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the sniff boundary is fine
        if exc.start < len(head) - 4 or len(data) <= SNIFF_BYTES:
            # OBJ text written in another encoding: its lines are statements (a comment's bytes are dropped), a line
            # of geometry among them, before the byte or after it (a Latin-1 comment opens many an exported file).
            read = clean(head if len(data) <= SNIFF_BYTES else head[: head.rfind(b"\n") + 1])
            if has_geometry(read) and unknown_line(read) is None:
                line = head.count(b"\n", 0, exc.start) + 1
                return (
                    f"OBJ line {line}: byte {exc.start} is not UTF-8 text (OBJ text is read as UTF-8: a comment or"
                    " name written in Latin-1 or a Windows code page is not; save the file as UTF-8)"
                )
            return f"byte {exc.start} is not UTF-8 text"
        head = head[: exc.start]
    if len(data) > SNIFF_BYTES and b"\n" in head:
        head = head[: head.rfind(b"\n") + 1]  # the last line may be cut
    text = clean(head)
    unknown = unknown_line(text)
    if unknown is not None:
        return unknown
    if not has_geometry(text) and len(data) <= SNIFF_BYTES:  # a longer file may open with a long header
        return f"its first {SNIFF_BYTES // 1024} KiB hold no OBJ geometry (v, f, o, g, usemtl or mtllib)"
    return None
