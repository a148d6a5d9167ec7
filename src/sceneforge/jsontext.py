"""Strict JSON text from outside (request bodies, WebSocket messages, description files, the JSON chunks of tagged
GLBs): RFC 8259 and bounded.

:func:`loads` parses like :func:`json.loads` and refuses, with a :class:`JsonTextError` naming the
JSON pointer of the offending value:

* an object with a repeated member name (RFC 8259 §4 leaves its meaning to each parser, so two
  parsers could read two different documents from the same bytes) — ``json_duplicate_key``;
* with ``finite=True``, the ``NaN`` / ``Infinity`` literals (not JSON) and numbers beyond a
  double (``1e400``, or an integer of 400 digits) — ``json_not_finite``: nothing downstream could
  write them back as JSON a client reads as written;
* with ``max_depth``, arrays and objects nested deeper than that — ``json_too_deep``: the C parser
  stops only near the interpreter's recursion limit, and Python code walking such a value
  (copying, patching, serializing) would then overflow the stack.
* with ``unicode`` (by default whenever ``finite``), a string or member name holding a lone surrogate
  (``"\\ud800"`` without its pair) — ``json_lone_surrogate``: it is no Unicode character, so the value
  could not be written as UTF-8 (stored, hashed, sent back) and failed later, as a 500.
* always, nesting deeper than the C parser reads (it stops near the interpreter's recursion limit, about
  1,000 levels, with "maximum recursion depth exceeded while decoding a JSON array", which says nothing of
  the text) — ``json_too_deep``, naming how deep the text nests and the limit.

Text that is not JSON at all raises :class:`json.JSONDecodeError`, as :func:`json.loads` does;
:func:`not_json` says what is wrong with it and where (``the body is not JSON: line 3 column 5: Expecting ','
delimiter``), the words every refusal of such text uses.

Cost: the parse itself (C) plus one Python call per object (repeated names) and, with ``finite``,
per non-integer number — about 1.25× :func:`json.loads` without ``finite``, 1.8× with it (13 and
19 ms for a 500 kB description: ``bench/json_parse.py``); the depth
check keeps only brackets and quotes (``bytes.translate``) and counts them with numpy, run only
when the text holds more brackets than ``max_depth``. The pointer of a refused value is found by
a walk of the parsed value, only on failure. Pure, no I/O.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

from .wire import json_pointer, shown

__all__ = [
    "MAX_DEPTH",
    "UTF8_BOM",
    "JsonTextError",
    "loads",
    "nesting_depth",
    "not_json",
    "syntax_error",
    "without_bom",
]

#: Nesting accepted in request JSON: descriptions nest about 6 levels, a JSON Patch adds 2.
MAX_DEPTH = 64

#: Each byte's step of the nesting depth (int8): +1 opens an array or object, -1 (0xff) closes one.
_STEP = bytes(1 if c in b"[{" else 0xFF if c in b"]}" else 0 for c in range(256))
#: An integer literal beyond a double has at least 309 digits; only text holding such a run pays for a
#: Python call per integer (the check of :func:`loads` with ``finite``).
_LONG_DIGITS = 309
#: Each byte as ``1`` if an ASCII digit, else ``0``: a run of digits is then a run of ``1`` that
#: ``bytes.find`` finds (0.6 ms for a 500 kB description; the regex ``[0-9]{309}`` took 8.7 ms).
_DIGIT_BYTES = bytes(0x31 if 0x30 <= c <= 0x39 else 0x30 for c in range(256))
#: Every byte but brackets and quotes: what the depth count deletes first.
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'[]{}"')
#: A ``\\uD800``–``\\uDFFF`` escape: only text holding one can decode to a lone surrogate (a pair decodes to one
#: character; UTF-8 bytes cannot encode a surrogate at all).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class JsonTextError(ValueError):
    """Text that is not strict JSON: ``pointer`` locates the value, ``code`` names the rule."""

    def __init__(self, pointer: str, code: str, message: str) -> None:
        super().__init__(message)
        self.pointer, self.code, self.message = pointer, code, message


class _Repeated(dict[str, Any]):
    """An object that had a member name twice (the marker the locating walk looks for)."""

    name = ""


class _NotFinite(float):
    """A NaN / Infinity literal or an overflowing number (the marker the locating walk looks for)."""

    text = ""


#: A UTF-8 byte order mark: RFC 8259 §8.1 lets a parser ignore one before JSON text, which it is no part of.
UTF8_BOM = b"\xef\xbb\xbf"


def without_bom(data: bytes) -> bytes:
    """``data`` without a leading UTF-8 byte order mark: JSON text as it is stored and sent back, so that a
    description sent with one and without one is one content-addressed blob, served starting with its JSON."""
    return data.removeprefix(UTF8_BOM)


def nesting_depth(data: bytes) -> int:
    """How deep arrays and objects nest in the valid JSON text ``data`` (0 for a scalar)."""
    import numpy as np  # here, not above: a server process answering only reads never loads numpy

    if b"\\" in data:  # escapes go first, pairwise from the left as the lexer reads them: \\ then \"
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    codes = np.frombuffer(data.translate(None, _NOT_STRUCTURE), np.uint8)
    step = np.frombuffer(_STEP, np.int8)[codes]
    quotes = np.flatnonzero(codes == ord('"'))
    if quotes.size:  # brackets between a string's opening and closing quote do not count
        edge = np.zeros(codes.size + 1, np.int8)
        edge[quotes[0::2]] = 1
        edge[quotes[1::2]] = -1
        step[np.cumsum(edge[:-1], dtype=np.int8).astype(bool)] = 0
    return int(np.cumsum(step, dtype=np.int32).max(initial=0))


def loads(
    text: str | bytes, *, finite: bool = True, max_depth: int | None = MAX_DEPTH, unicode: bool | None = None
) -> Any:
    """The JSON value of ``text``; :class:`JsonTextError` for what the module docstring lists.

    Text that does not parse raises :class:`json.JSONDecodeError` (a ValueError), as :func:`json.loads` does.
    """
    raw = text if isinstance(text, bytes) else None
    if isinstance(text, bytes):  # a leading byte order mark is ignored (RFC 8259 §8.1 allows it), as json.loads does
        text = text.decode("utf-8").removeprefix("\ufeff")
    found = False  # a marker was made: only then is the value walked to locate it

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal found
        value = dict(items)
        if len(value) == len(items):
            return value
        repeated = _Repeated(value)
        seen: set[str] = set()
        repeated.name = next(k for k, _ in items if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        found = True
        return repeated

    def not_finite(literal: str) -> float:
        nonlocal found
        marker = _NotFinite(literal)
        marker.text = literal
        found = True
        return marker

    def number(literal: str) -> float:
        value = float(literal)
        return value if math.isfinite(value) else not_finite(literal)

    def integer(literal: str) -> int | float:
        # float() of the text never raises (inf past a double); int() refuses texts past 4300 digits,
        # all of which are past a double, so it is reached only for numbers it converts.
        return int(literal) if len(literal) < 309 or math.isfinite(float(literal)) else not_finite(literal)

    options: dict[str, Any] = {"object_pairs_hook": pairs}
    if finite:
        options["parse_constant"] = not_finite
        options["parse_float"] = number
        if _has_long_digits(text, raw):
            options["parse_int"] = integer
    elif _has_long_digits(text, raw):
        # int() refuses a text of more than 4,300 digits, and json.loads with it, with no place and a
        # hint about sys.set_int_max_str_digits: such an integer reads as the infinity it is past a
        # double, as 1e400 does, for the caller's checks to refuse at its pointer.
        options["parse_int"] = _unbounded_int
    try:
        value = json.loads(text, **options)
    except RecursionError:
        raise _too_deep(text, raw, max_depth) from None
    if max_depth is not None and text.count("[") + text.count("{") > max_depth:
        depth = nesting_depth(text.encode() if raw is None else raw)  # str text is encoded only here
        if depth > max_depth:
            message = f"the JSON nests {depth} levels deep; at most {max_depth} are accepted"
            raise JsonTextError("", "json_too_deep", message)
    if found:
        _refuse(value)
    if (finite if unicode is None else unicode) and _SURROGATE_ESCAPE.search(text):
        _refuse_surrogate(value)
    return value


def _too_deep(text: str, raw: bytes | None, max_depth: int | None) -> JsonTextError:
    """``json_too_deep`` for text the C parser gave up on (it recursed past the interpreter's limit): how deep the
    text nests, and the limit that refused it (``max_depth``, else the parser's own)."""
    depth = nesting_depth(text.encode("utf-8", "surrogatepass") if raw is None else raw)
    if max_depth is not None:
        return JsonTextError(
            "", "json_too_deep", f"the JSON nests {depth:,} levels deep; at most {max_depth} are accepted"
        )
    limit = sys.getrecursionlimit()
    message = (
        f"the JSON nests {depth:,} levels deep, deeper than the parser reads (Python's recursion limit, {limit:,})"
    )
    return JsonTextError("", "json_too_deep", message)


def syntax_error(exc: ValueError) -> str:
    """Where and what is wrong with text :func:`json.loads` refused: ``line 3 column 5: Expecting ',' delimiter``
    (lines and columns count characters from 1, as editors do)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"line {exc.lineno} column {exc.colno}: {_SAID.get(exc.msg, exc.msg)}"
    return str(exc)


#: The parser's words that do not say what is wrong to someone who did not write it.
_SAID = {"Extra data": "more follows the JSON value (one value per text)"}


def not_json(exc: ValueError, subject: str) -> str:
    """The sentence refusing ``subject`` (``the body``, ``the description``) for text :func:`json.loads` refused:
    ``the body is not JSON: line 3 column 5: Expecting ',' delimiter``, or ``the body is empty: it must be JSON``
    (white space alone is empty too)."""
    if isinstance(exc, json.JSONDecodeError) and not exc.doc.strip():
        return f"{subject} is empty: it must be JSON"
    return f"{subject} is not JSON: {syntax_error(exc)}"


def _has_long_digits(text: str, raw: bytes | None) -> bool:
    """Whether ``text`` (whose UTF-8 bytes are ``raw``, when the caller has them) holds a run of
    :data:`_LONG_DIGITS` ASCII digits. Other characters encode to bytes outside the digits' range."""
    data = raw if raw is not None else text.encode("utf-8", "surrogatepass")
    return data.translate(_DIGIT_BYTES).find(b"1" * _LONG_DIGITS) >= 0


def _refuse_surrogate(value: Any) -> None:
    """Raise :class:`JsonTextError` at the first string holding a lone surrogate (depth-first, in document order;
    a member name's at its object, whose pointer holds no surrogate)."""
    stack: list[tuple[tuple[object, ...], Any]] = [((), value)]
    while stack:
        path, item = stack.pop()
        bad = isinstance(item, str) and _SURROGATE.search(item) is not None
        if isinstance(item, dict):
            bad = any(_SURROGATE.search(key) for key in item)
            stack.extend(((*path, k), v) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(item))))
        if bad:
            what = "a member name of this object holds" if isinstance(item, dict) else "this string holds"
            message = f"{what} a lone surrogate escape (\\ud800-\\udfff without its pair): it is no Unicode character"
            raise JsonTextError(json_pointer(path), "json_lone_surrogate", message)


def _unbounded_int(literal: str) -> int | float:
    return int(literal) if len(literal) < 4000 else float(literal)


def _refuse(value: Any) -> None:
    """Raise :class:`JsonTextError` for the first marker in ``value`` (depth-first, in document order)."""
    stack: list[tuple[tuple[object, ...], Any]] = [((), value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, _Repeated):
            message = f"member {item.name!r} appears more than once in this object"
            raise JsonTextError(json_pointer(path), "json_duplicate_key", message)
        if isinstance(item, _NotFinite):
            refused = "NaN, Infinity and numbers beyond ±1.8e308 are refused"
            message = f"{shown(item.text)} is not a finite JSON number ({refused})"
            raise JsonTextError(json_pointer(path), "json_not_finite", message)
        if isinstance(item, dict):
            stack.extend(((*path, k), v) for k, v in reversed(item.items()))
        elif isinstance(item, list):
            stack.extend(((*path, i), v) for i, v in reversed(list(enumerate(item))))
