"""Lines and bodies the SDK's JSON parser refuses, read as JSON-RPC 2.0 answers them: the request's ``id``
when Python's parser can still read one, and where the text is not strict JSON (a lone surrogate)."""

from __future__ import annotations

import json
from typing import Any

from .. import jsontext

__all__ = ["id_of", "unreadable"]


def id_of(errors: list[dict[str, Any]]) -> str | int | None:
    """The ``id`` of a JSON object the errors were about, if it has one a client can match (a string or an
    integer); else None, as JSON-RPC 2.0 answers what it cannot tell the id of."""
    for e in errors:
        found = e.get("input")
        if isinstance(found, dict):
            rid = found.get("id")
            if isinstance(rid, str | int) and not isinstance(rid, bool):
                return rid
    return None


def unreadable(line: Any) -> tuple[str | int | None, str]:
    """The ``id`` and the parse error of a line the SDK's JSON parser refused.

    Python's parser reads more than the SDK's, such as a string with a lone surrogate (``"\\ud800"``, which
    ``JSON.stringify`` writes for half an emoji). Such a request was answered with ``id`` null, which no
    client matches, so it waited until its timeout; it is now answered with its ``id``, saying where the
    text is not strict JSON.
    """
    why = "Parse error: the line is not JSON, or nests too deep"
    if not isinstance(line, str):
        return None, why
    try:
        # An integer past Python's 4,300 digits (which the SDK's parser refuses as "number out of range") is read
        # as None here: json.loads raised on it, and a request holding one was answered "not JSON" with id null.
        value = json.loads(line, parse_int=_integer)
        jsontext.loads(line, max_depth=None)
    except jsontext.JsonTextError as exc:
        why = f"Parse error: not strict JSON at {exc.pointer or '/'}: {exc.message}"
    except (ValueError, RecursionError):
        return None, why
    return id_of([{"input": value}]), why


def _integer(digits: str) -> int | None:
    """An integer's JSON text as :func:`json.loads` reads it; None past the digits Python converts."""
    try:
        return int(digits)
    except ValueError:
        return None
