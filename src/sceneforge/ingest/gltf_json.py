"""The glTF JSON as untrusted input: its chunk parsed (:func:`load_json`) and its fields read checked.

Each reader (:func:`obj`, :func:`json_list`, :func:`json_int`, :func:`floats`, :func:`unit_number`,
:func:`index`) returns the field as the type it names or raises :func:`glb_error`: a
:class:`~sceneforge.errors.SceneInvalid` whose issue path is a JSON pointer into the glTF JSON
(``/accessors/3/count``). :func:`finite_number` is the test for a number a double holds. Safe on any
JSON value: nothing here trusts a type, a length or an index it was not checked for.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import Issue, SceneInvalid

__all__ = ["finite_number", "floats", "glb_error", "index", "json_int", "json_list", "load_json", "obj", "unit_number"]

F64 = npt.NDArray[np.float64]


def glb_error(path: str, message: str, code: str = "glb_invalid") -> SceneInvalid:
    """The error raised for malformed GLB content at ``path`` (a pointer into the glTF JSON)."""
    return SceneInvalid([Issue(path, code, message)])


def obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise glb_error(path, "must be a JSON object")
    return value


def json_list(parent: dict[str, Any], key: str, path: str) -> list[Any]:
    value = parent.get(key, [])
    if not isinstance(value, list):
        raise glb_error(f"{path}/{key}", "must be a JSON array")
    return value


def json_int(parent: dict[str, Any], key: str, path: str, default: int | None = None, lo: int = 0) -> int:
    value = parent.get(key, default)
    if value is None:
        raise glb_error(f"{path}/{key}", "is required")
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise glb_error(f"{path}/{key}", f"must be an integer >= {lo}, got {value!r}")
    return value


def finite_number(value: Any) -> bool:
    """Whether a JSON value is a number a double holds: not a bool, NaN or an infinity, and no integer
    beyond a double (JSON has no limit). ``abs() < 1e300``, not ``np.isfinite``, which raises a
    TypeError or OverflowError on such an integer, and the error would lose its pointer."""
    return isinstance(value, int | float) and not isinstance(value, bool) and abs(value) < 1e300


def floats(parent: dict[str, Any], key: str, path: str, n: int, default: tuple[float, ...] | None = None) -> F64:
    """``n`` finite numbers at ``key``: ``default`` when it is absent or null; without a default, a null is
    refused like any other value that is not ``n`` numbers (a node's ``"translation": null``)."""
    value = parent.get(key)
    if value is None and default is not None:
        return np.asarray(default, dtype=np.float64)
    # finite_number written out (called per number, it was half the cost of a node's transform); numbers
    # within ±1e300 are finite as doubles, so the array needs no check of its own.
    if not isinstance(value, list) or len(value) != n:
        raise glb_error(f"{path}/{key}", f"must be {n} finite numbers")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < 1e300 for v in value):
        raise glb_error(f"{path}/{key}", f"must be {n} finite numbers")
    return np.asarray(value, dtype=np.float64)


def unit_number(parent: dict[str, Any], key: str, path: str, default: float = 1.0) -> float:
    value = parent.get(key, default)
    if not finite_number(value):
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise glb_error(f"{path}/{key}", f"must be a finite number, got {shown}")
    return float(min(max(value, 0.0), 1.0))


def index(parent: dict[str, Any], key: str, path: str, items: list[Any], what: str) -> int:
    value = json_int(parent, key, path)
    if value >= len(items):
        raise glb_error(f"{path}/{key}", f"refers to {what} {value}, but there are {len(items)}")
    return value


def load_json(raw_json: bytes) -> Any:
    """The value of a GLB's JSON chunk (its padding stripped), refused as :func:`glb_error` when it
    does not parse, an object names a member twice (``json_duplicate_key``: parsers disagree on which
    one counts, so two viewers could read two scenes from the same file — a description is refused
    for it too), or a string or member name holds a lone surrogate (``"\\ud800"`` without its pair: no
    Unicode character, so it cannot be written as UTF-8, and a cellId or name holding one would reach
    the outputs as JSON strict parsers refuse). Both are :func:`jsontext.loads <sceneforge.jsontext.loads>`'
    checks, the ones request bodies get; a lone surrogate is ``glb_invalid`` here, as for any unreadable GLB."""
    from .. import jsontext

    try:
        return jsontext.loads(raw_json.rstrip(b" \x00"), finite=False, max_depth=None, unicode=True)
    except jsontext.JsonTextError as exc:
        if exc.code == "json_too_deep":  # nested past the parser: a chunk that does not parse, as before it was named
            raise glb_error("", f"the GLB's JSON chunk does not parse: {exc.message}") from None
        code = "glb_invalid" if exc.code == "json_lone_surrogate" else exc.code
        raise glb_error(exc.pointer, exc.message, code) from None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise glb_error("", f"the GLB's JSON chunk does not parse: {exc}") from None
