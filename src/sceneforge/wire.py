"""Wire forms every serializer shares: UTC timestamps and JSON pointers (docs/api.md, "Conventions").

* :func:`iso_utc` — one timestamp format for the whole service: ISO 8601, UTC, milliseconds,
  ``Z`` (``2026-01-02T03:04:05.678Z``). Jobs, versions, scenes, links, events and the meta's
  ``TimestampUtc`` all use it.
* :func:`json_pointer` — an RFC 6901 pointer from path tokens, escaped by the ``jsonpointer`` library;
  :func:`json_pointer_within` — the pointer of the longest prefix of the tokens that fits a length.
* :data:`MAX_INT64` — the largest id, version, revision or event ``seq`` there can be (the databases'
  signed 64-bit integer columns); :func:`shown` — a client's text as an error message quotes it;
  :func:`json_type` — the JSON type of a parsed value, as an error message names it (:func:`a_json_type`: with
  its article).

Pure, no I/O; a few microseconds per call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import overload

from jsonpointer import JsonPointer, escape

__all__ = [
    "MAX_INT64",
    "a_json_type",
    "header_text",
    "iso_utc",
    "json_pointer",
    "json_pointer_within",
    "json_type",
    "one_line",
    "shown",
    "storable",
    "utc_now_iso",
]

#: The largest value of a signed 64-bit integer column (PostgreSQL ``BIGINT``, SQLite ``INTEGER``).
MAX_INT64 = 2**63 - 1


@overload
def iso_utc(value: datetime) -> str: ...
@overload
def iso_utc(value: None) -> None: ...
def iso_utc(value: datetime | None) -> str | None:
    """``2026-01-02T03:04:05.678Z`` (UTC, milliseconds truncated), or None. A naive value is taken as UTC."""
    if value is None:
        return None
    value = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    return value.isoformat(timespec="milliseconds") + "Z"


def utc_now_iso() -> str:
    """The current time in the :func:`iso_utc` format."""
    return iso_utc(datetime.now(UTC))


def json_pointer(tokens: Iterable[object]) -> str:
    """The RFC 6901 pointer of ``tokens`` (``~`` → ``~0``, ``/`` → ``~1``); ``""`` for the whole document."""
    return str(JsonPointer.from_parts(list(tokens)).path)


def json_pointer_within(tokens: Sequence[object], limit: int) -> tuple[str, int]:
    """``(pointer, n)``: the RFC 6901 pointer of ``tokens[:n]``, the longest prefix of ``tokens`` whose pointer has at
    most ``limit`` characters (what :func:`json_pointer` writes). A token is escaped (by the library, as there) only
    once it fits unescaped, so a member name of megabytes costs a length check, not a copy."""
    parts: list[str] = []
    size = 0
    for token in tokens:
        text = str(token)
        if size + 1 + len(text) > limit:  # escaping only makes a token longer
            break
        text = escape(text)
        if size + 1 + len(text) > limit:
            break
        parts.append(text)
        size += 1 + len(text)
    return "".join(f"/{part}" for part in parts), len(parts)


def header_text(value: str) -> str:
    """A header value as the client wrote it: the server decodes header bytes as Latin-1, so bytes that are valid
    UTF-8 (what ``curl -H`` sends from a UTF-8 terminal) are read again as UTF-8; any others stay Latin-1."""
    try:
        return value.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


def shown(text: str, limit: int = 40) -> str:
    """``text`` cut to ``limit`` characters (``…`` marks a cut): what an error message quotes of a client's input."""
    return text if len(text) <= limit else text[:limit] + "…"


def json_type(value: object) -> str:
    """The JSON type of a parsed value (``null``, ``boolean``, ``number``, ``string``, ``array``, ``object``), as an
    error message names it: a client wrote JSON, not Python (``NoneType``, ``list``, ``<class 'str'>``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object" if isinstance(value, dict) else type(value).__name__


def a_json_type(value: object) -> str:
    """:func:`json_type` with its article, as a sentence says it: ``an array``, ``a string``, ``null``."""
    kind = json_type(value)
    return kind if kind == "null" else f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


#: Control characters (C0 — NUL and line breaks among them —, DEL, C1), the Unicode line and paragraph separators
#: (U+2028, U+2029: line breaks too, though not control characters) and lone surrogates.
_NOT_PLAIN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def one_line(text: str, limit: int | None = None) -> str:
    """``text`` as a one-line field stores it: every control character, line separator and lone surrogate a space
    (PostgreSQL refuses NUL in text, and a lone surrogate is not UTF-8), blanks around it dropped,
    cut to ``limit`` characters when given."""
    plain = _NOT_PLAIN.sub(" ", text).strip()
    return plain if limit is None else plain[:limit].rstrip()


#: What a text column cannot hold: NUL (PostgreSQL refuses it) and lone surrogates (not UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str) -> str:
    """``text`` with each NUL and lone surrogate replaced by U+FFFD, so every database stores it (line
    breaks and other text kept): for free text such as chat messages and a model's output."""
    return _UNSTORABLE.sub("\ufffd", text)


def names_a_row(key: str) -> bool:
    """Whether ``key`` (an id from a request) could be a row's key: a text column holds no NUL and no lone
    surrogate, so a key holding one names nothing — and PostgreSQL refuses it even as a query's parameter,
    so it is never sent there (a 404, not a 500)."""
    return _UNSTORABLE.search(key) is None
