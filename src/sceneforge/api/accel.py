"""When an ``X-Accel-Redirect`` makes a front nginx send exactly what :func:`.delivery.plan` decided.

With ``SCENEFORGE_DELIVERY=accel`` the app answers a GET of a local blob with ``X-Accel-Redirect`` and nginx
serves the file from an ``internal`` location (docs/deployment.md, "Delivery behind a proxy or a CDN"). nginx
then reads the client's own request headers again, against the file, with its own rules (its not-modified
and range filters; read in nginx 1.22's sources and its newest):

* ``If-Match`` and ``If-Unmodified-Since`` against its own validators: with the documented ``etag off`` there is
  no ETag of its own, so any ``If-Match`` but ``*`` is an HTML 412, and a date older than the file's mtime is
  one too (the app ignores ``If-Unmodified-Since``: there is no ``Last-Modified``).
* ``Range`` with its own parser: what it cannot parse, or a range that ends before it starts, is a 416 (the
  app ignores it: 200); overlapping ranges are never merged (a total past the file, or in nginx ≥ 1.23 past
  it plus 256 bytes a part and 4 KiB, is a whole 200); tabs are no whitespace; a Range on HEAD is honoured.
* ``If-Range`` compared byte for byte with the response's ETag at that point (the app's, which the documented
  ``add_header ETag $upstream_http_etag`` sets before nginx's range filter runs).

So :func:`nginx_sends` lets the app redirect only a GET whose answer nginx, re-reading the same headers,
sends byte for byte the same: a 200 of a request with no ``Range``, ``If-Match`` or ``If-Unmodified-Since``,
or a 206 whose one ``Range`` field line nginx parses into the very ranges the plan chose (with ``If-Range``, if
any, the exact ETag). Everything else — 304, 412, 416, HEAD, an empty blob, a Range answered whole, ranges
merged or clamped differently — the app answers itself (the same bytes, without the offload). ``If-Modified-
Since`` (a 304 from nginx only for the file's exact mtime) is left to the config's ``if_modified_since off``.
Cost: one scan of the Range value, only for a range request.
"""

from __future__ import annotations

from dataclasses import dataclass

from .delivery import ByteRange, Plan

__all__ = ["Conditions", "nginx_ranges", "nginx_sends"]

#: nginx's ``off_t`` bound: a position past it is a 416 there.
_OFF_T_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Conditions:
    """The request's fields that nginx reads again behind an ``X-Accel-Redirect``: each joined value (as the app
    read it) and how many field lines carried it."""

    range: str | None = None
    range_lines: int = 0
    if_range: str | None = None
    if_range_lines: int = 0
    if_match: bool = False
    if_unmodified_since: bool = False


def _number(text: str, p: int) -> tuple[int | None, int]:
    """The decimal number at ``text[p]`` and the index past it; None past nginx's ``off_t`` (a 416 there)."""
    q = p
    while "0" <= text[q] <= "9":
        q += 1
    digits = text[p:q].lstrip("0")
    if len(digits) > 19:  # int() of thousands of digits is refused (and slow): past the bound anyway
        return None, q
    value = int(digits or "0")
    return (value if value <= _OFF_T_MAX else None), q


def nginx_ranges(value: str, length: int) -> list[ByteRange] | int:
    """What nginx's range filter makes of one ``Range`` value for a file of ``length`` bytes (a line-by-line
    reading of its ``ngx_http_range_parse``, ``max_ranges`` unset): the ranges in the order asked, or the status
    it answers instead (200: the whole file; 416)."""
    if len(value) < 7 or value[:6].lower() != "bytes=":
        return 200
    text, p = value + "\0", 6  # nginx reads a NUL-terminated value
    ranges: list[ByteRange] = []
    size = 0
    while True:
        start: int | None = 0
        end: int | None = 0
        suffix = open_ended = False
        while text[p] == " ":
            p += 1
        if text[p] == "-":
            suffix, p = True, p + 1
        else:
            if not "0" <= text[p] <= "9":
                return 416
            start, p = _number(text, p)
            if start is None:
                return 416
            while text[p] == " ":
                p += 1
            if text[p] != "-":
                return 416
            p += 1
            while text[p] == " ":
                p += 1
            open_ended = text[p] in ",\0"
        if open_ended:
            end = length
        else:
            if not "0" <= text[p] <= "9":
                return 416
            end, p = _number(text, p)
            if end is None:
                return 416
            while text[p] == " ":
                p += 1
            if text[p] not in ",\0":
                return 416
            if suffix:
                start, end = (length - end if end < length else 0), length - 1
            end = length if end >= length else end + 1
        assert start is not None
        if start < end:
            ranges.append(ByteRange(start, end))
            size += end - start
        elif start == 0:
            return 200
        if text[p] != ",":
            break
        p += 1
    if not ranges:
        return 416
    if len(ranges) > 1 and (size > length or size + 256 * len(ranges) > length + 4096):
        return 200  # nginx 1.22's bound, and the stricter one of nginx >= 1.23 (max_ranges unset)
    return ranges


def nginx_sends(method: str, decided: Plan, length: int, quoted_etag: str, conditions: Conditions) -> bool:
    """Whether nginx, serving the blob by ``X-Accel-Redirect`` to this request, sends exactly ``decided``."""
    if method != "GET" or length == 0 or conditions.if_match or conditions.if_unmodified_since:
        return False
    if decided.status == 200:
        return conditions.range_lines == 0
    if decided.status != 206 or conditions.range_lines != 1 or conditions.range is None:
        return False
    if conditions.if_range_lines > 1 or (conditions.if_range_lines and conditions.if_range != quoted_etag):
        return False
    return nginx_ranges(conditions.range, length) == list(decided.ranges)
