"""Conditional and range requests, decided as RFC 9110 says (§13 preconditions, §14 ranges).

Pure: header values in, a :class:`Plan` out. The HTTP edge (``api/responses.py``) sends it.

Order of evaluation (RFC 9110 §13.2.2): ``If-Match`` first (strong comparison; false is 412),
then ``If-None-Match`` (a match on GET/HEAD is 304), then ``Range`` — only on GET (§14.2: servers
ignore Range on other methods), only for the ``bytes`` unit, and only when ``If-Range`` (if sent)
matches the current strong ETag. A Range
header that does not parse is ignored (200), and so is one sent on several field lines (they are read joined by
commas, RFC 9110 §5.3, which no range set parses as); one that parses but has no satisfiable range is 416.
Satisfiable ranges are coalesced (RFC 9110 §15.3.7.2): merged where they overlap, repeat, touch or leave a
gap smaller than one multipart part's headers, so a 206 never carries a byte twice and is never much larger
than the representation itself; the parts keep the order the ranges were asked in (a merged one takes the
place of its first member), so a client that asks for what it needs most first gets it first.
Parts still further apart are *read* together when the bytes are in an object store (:func:`read_spans`): one
ranged GET per span of nearby parts rather than a round trip per part.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "COALESCE_GAP",
    "MAX_RANGES",
    "READ_GAP",
    "READ_SPAN",
    "ByteRange",
    "Plan",
    "RangeNotSatisfiable",
    "coalesce",
    "if_match_holds",
    "if_none_match_matches",
    "if_range_matches",
    "parse_etags",
    "parse_range",
    "plan",
    "quote_etag",
    "read_spans",
]

#: More ranges than this in one request are treated as an attack on the server (RFC 9110 §14.2): ignored.
MAX_RANGES = 64

#: Ranges this close are sent as one: a multipart part's own headers (boundary, Content-Type, Content-Range)
#: take about 100 bytes, so sending a smaller gap costs less than a part would.
COALESCE_GAP = 80

#: Parts of a multipart answer whose bytes lie this close are fetched from an object store by one read: a ranged
#: GET costs a round trip (about a millisecond on a LAN, tens across regions), which is the time to move this
#: many unwanted bytes more.
READ_GAP = 64 * 1024

#: A read that serves several parts is held in memory until they are sent: at most this many bytes. A part longer
#: than this is streamed by its own read.
READ_SPAN = 1 << 20


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Bytes ``[start, stop)`` of a representation."""

    start: int
    stop: int

    @property
    def length(self) -> int:
        return self.stop - self.start

    def content_range(self, total: int) -> str:
        return f"bytes {self.start}-{self.stop - 1}/{total}"


class RangeNotSatisfiable(Exception):
    """The Range header parsed but none of its ranges overlaps the representation (416)."""


@dataclass(frozen=True, slots=True)
class Plan:
    """What to send: 200 (whole), 206 (``ranges``), 304 or 412 (nothing), or 416 (nothing, ``Content-Range: */len``)."""

    status: int
    ranges: tuple[ByteRange, ...] = ()


def quote_etag(etag: str) -> str:
    """The strong entity-tag for an opaque tag: ``abc`` → ``"abc"``."""
    return f'"{etag}"'


def parse_etags(header: str) -> list[tuple[bool, str]] | None:
    """``If-None-Match`` / ``If-Match`` as (weak, opaque-tag-with-quotes) pairs; None for ``*``.

    Unquoted tags (a common client mistake) are read as if quoted, for reads; a draft write refuses them
    (``api/drafts.py``: its precondition is never guessed). A quoted tag followed by
    anything but a comma (``"rev-1"x``) makes the header malformed: no tags (it matches nothing).
    """
    text = header.strip()
    if text == "*":
        return None
    tags: list[tuple[bool, str]] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i] in " \t,":
            i += 1
        if i >= n:
            break
        weak = text.startswith("W/", i)
        if weak:
            i += 2
        if i < n and text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                break
            tags.append((weak, text[i : end + 1]))
            i = end + 1
            while i < n and text[i] in " \t":
                i += 1
            if i < n and text[i] != ",":
                return []
        else:
            end = text.find(",", i)
            end = n if end < 0 else end
            token = text[i:end].strip()
            if token:
                tags.append((weak, f'"{token}"'))
            i = end
    return tags


def if_none_match_matches(header: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` matches the current strong tag ``etag`` (unquoted) by weak comparison."""
    if header is None:
        return False
    current = quote_etag(etag)
    if header == current:  # the common revalidation: the one tag the client was given
        return True
    tags = parse_etags(header)
    if tags is None:
        return True
    return any(tag == current for _weak, tag in tags)


def if_match_holds(header: str | None, etag: str) -> bool:
    """Whether ``If-Match`` holds for the current strong tag ``etag`` (unquoted): absent, ``*``, or a strong tag
    equal to it (RFC 9110 §13.1.1: strong comparison, so a weak tag never matches)."""
    if header is None:
        return True
    tags = parse_etags(header)
    if tags is None:
        return True
    current = quote_etag(etag)
    return any(not weak and tag == current for weak, tag in tags)


def if_range_matches(header: str | None, etag: str) -> bool:
    """Whether ``If-Range`` lets the Range apply: a strong, equal entity-tag. Dates never match (no Last-Modified)."""
    if header is None:
        return True
    value = header.strip()
    if value.startswith("W/") or not value.startswith('"'):
        return False
    return value == quote_etag(etag)


#: A position of more digits than this (leading zeros aside) is past any representation: read as this.
_BEYOND = 10**20


def _int(text: str) -> int:
    """A byte position: ASCII digits, of any length (``int()`` refuses more than 4,300 digits: such a position is
    past the end, not bad syntax)."""
    text = text.strip()
    if not text.isdigit() or not text.isascii():
        raise ValueError(text)
    digits = text.lstrip("0")
    return _BEYOND if len(digits) > 20 else int(digits or "0")


def coalesce(ranges: list[ByteRange]) -> list[ByteRange]:
    """``ranges`` merged where they overlap or lie within :data:`COALESCE_GAP` bytes, in the order they were asked
    for (RFC 9110 §15.3.7.2: parts in the order of their range-specs, a merged one where its first member was)."""
    merged: list[tuple[int, ByteRange]] = []  # (position of its first member in ``ranges``, the merged range)
    for at in sorted(range(len(ranges)), key=lambda i: ranges[i].start):
        r = ranges[at]
        if merged and r.start <= merged[-1][1].stop + COALESCE_GAP:
            first, last = merged[-1]
            merged[-1] = (min(first, at), ByteRange(last.start, max(last.stop, r.stop)))
        else:
            merged.append((at, r))
    merged.sort(key=lambda m: m[0])
    return [r for _, r in merged]


def read_spans(ranges: tuple[ByteRange, ...] | list[ByteRange]) -> list[ByteRange]:
    """The reads that fetch ``ranges`` (disjoint, as :func:`parse_range` gives them) from an object store, by start.

    Ranges at most :data:`READ_GAP` apart share a read while it stays within :data:`READ_SPAN` bytes; a range
    longer than that is a read of its own. Every range lies within exactly one span.
    """
    spans: list[ByteRange] = []
    for r in sorted(ranges, key=lambda r: r.start):
        last = spans[-1] if spans else None
        if last is not None and r.start - last.stop <= READ_GAP and r.stop - last.start <= READ_SPAN:
            spans[-1] = ByteRange(last.start, max(last.stop, r.stop))
        else:
            spans.append(r)
    return spans


def parse_range(header: str, length: int) -> list[ByteRange] | None:
    """The satisfiable ranges of a ``Range`` header for a representation of ``length`` bytes, coalesced.

    The result is disjoint, in the order asked (see :func:`coalesce`); its total length is at most ``length``.

    None when the header is to be ignored (another unit, bad syntax, too many ranges), and for a suffix range
    (``bytes=-n``, n > 0) of an empty representation: RFC 9110 §14.1.1 calls it satisfiable (the whole, empty
    representation), but no ``Content-Range`` can state an empty range, so it is answered 200.
    Raises :class:`RangeNotSatisfiable` when it parses but no range overlaps the representation.
    """
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    parts = [p.strip() for p in spec.split(",")]
    parts = [p for p in parts if p]
    if not parts or len(parts) > MAX_RANGES:
        return None
    ranges: list[ByteRange] = []
    empty_whole = False  # a suffix range of an empty representation: satisfiable, yet no 206 can state it
    try:
        for part in parts:
            first, dash, last = part.partition("-")
            if not dash:
                return None
            if first.strip() == "":
                suffix = _int(last)
                if suffix > 0 and length > 0:
                    ranges.append(ByteRange(max(0, length - suffix), length))
                empty_whole = empty_whole or suffix > 0
                continue
            start = _int(first)
            end = _int(last) if last.strip() else None
            if end is not None and end < start:
                return None
            if start < length:
                stop = length if end is None else min(end + 1, length)
                ranges.append(ByteRange(start, stop))
    except ValueError:
        return None
    if not ranges and empty_whole:
        return None
    if not ranges:
        raise RangeNotSatisfiable(header)
    return coalesce(ranges)


def plan(
    method: str,
    etag: str,
    length: int,
    *,
    range_header: str | None = None,
    if_none_match: str | None = None,
    if_range: str | None = None,
    if_match: str | None = None,
) -> Plan:
    """Decide the response to a GET or HEAD of a representation with strong tag ``etag`` and ``length`` bytes."""
    if method not in _SAFE:
        method = method.upper()
    if not if_match_holds(if_match, etag):
        return _PRECONDITION_FAILED
    if method in _SAFE and if_none_match_matches(if_none_match, etag):
        return _NOT_MODIFIED
    if method != "GET" or range_header is None or not if_range_matches(if_range, etag):
        return _WHOLE
    try:
        ranges = parse_range(range_header, length)
    except RangeNotSatisfiable:
        return _UNSATISFIABLE
    if ranges is None:
        return _WHOLE
    return Plan(206, tuple(ranges))


_SAFE = frozenset({"GET", "HEAD"})
_NOT_MODIFIED, _WHOLE, _UNSATISFIABLE, _PRECONDITION_FAILED = Plan(304), Plan(200), Plan(416), Plan(412)
