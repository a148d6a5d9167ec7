"""Tool arguments outside a tool's input schema, refused as the service refuses a request (docs/mcp.md, "Tools").

The SDK checks a call's arguments against the tool's parameters (pydantic) before the tool runs and, when they do
not hold, answers pydantic's text: a model class name (``publishArguments``), ``[type=int_type, input_value=…]``
and a link to pydantic's site, and no structured content. :func:`refused_arguments` says the same as the service's
422 does instead: the tool error's object ``{"ok": false, "status": 422, "detail", "errors": [{path, code,
message}]}``, each message naming the argument, what was given (its JSON type, its value cut to 40 characters)
and the rule from the tool's input schema (``version is the string "1", not an integer: version must be an
integer from 1 to 9,223,372,036,854,775,807``); ``path`` is the argument's JSON pointer (``/ops/0``), ``code``
pydantic's error type. Pure, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ..errors import Issue, RequestInvalid, listed
from ..wire import json_pointer, json_type, shown

__all__ = ["ArgumentsInvalid", "refused_arguments"]

#: What each of pydantic's type errors asked for, as JSON names it.
_EXPECTED = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "string_type": "a string",
    "dict_type": "an object",
    "list_type": "an array",
    "bool_type": "a boolean",
    "float_type": "a number",
    "none_required": "null",
}


def _given(value: Any) -> str:
    """A value as a message quotes it: its JSON type and its JSON text cut to 40 characters (an object or array by
    its size: its text may be megabytes)."""
    if isinstance(value, dict):
        return f"an object of {len(value):,} member{'' if len(value) == 1 else 's'}"
    if isinstance(value, list):
        return f"an array of {len(value):,} item{'' if len(value) == 1 else 's'}"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, str):  # cut, then quoted: the quotes stay around what is shown
        from ..model.description import printable  # only to word a refusal: `mcp --url` loads no compiler module

        return f"the string {printable(json.dumps(shown(value), ensure_ascii=False))}"
    try:
        return f"the {json_type(value)} {shown(repr(value))}"
    except ValueError:  # an integer past Python's 4,300 digits
        digits = abs(value).bit_length() * 30103 // 100000 + 1 if isinstance(value, int) else 0
        return f"a number of about {digits:,} digits"


def _schema_at(parameters: Mapping[str, Any], loc: Sequence[Any]) -> Mapping[str, Any]:
    """The input schema of the argument at ``loc`` (an index goes to ``items``); ``{}`` when it names none."""
    schema: Any = parameters
    for token in loc:
        if not isinstance(schema, Mapping):
            return {}
        schema = schema.get("items", {}) if isinstance(token, int) else schema.get("properties", {}).get(token, {})
    return schema if isinstance(schema, Mapping) else {}


def _rule(schema: Mapping[str, Any]) -> str:
    """What a value of ``schema`` must be, as a sentence ends: ``an integer from 1 to 9,223,372,036,854,775,807``."""
    options = [s for s in schema.get("anyOf", ()) if isinstance(s, Mapping)]
    if options:
        return " or ".join(_rule(option) for option in options)
    kind = schema.get("type")
    if kind == "null":
        return "null"
    if kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and high is not None:
            return f"an integer from {low:,} to {high:,}"
        return f"an integer of at least {low:,}" if low is not None else "an integer"
    if kind == "string":
        parts = [f"matching {schema['pattern']}"] if "pattern" in schema else []
        if "maxLength" in schema:
            parts.append(f"of at most {schema['maxLength']:,} characters")
        return " ".join(["a string", *parts])
    if kind == "array":
        items = schema.get("items")
        return (
            f"an array of {_plural(_rule(items))}" if isinstance(items, Mapping) and items.get("type") else "an array"
        )
    return {"object": "an object", "boolean": "a boolean", "number": "a number"}.get(str(kind), "")


def _plural(rule: str) -> str:
    """``an integer`` → ``integers``: what an array's items must be, said of them all (a rule with words after the
    kind, ``a string matching …``, is said of each: ``an array of a string matching …``)."""
    kinds = {"an object": "objects", "a string": "strings", "an integer": "integers", "a boolean": "booleans",
             "a number": "numbers", "an array": "arrays", "null": "nulls"}  # fmt: skip
    return kinds.get(rule, rule)


def _problem(error: Mapping[str, Any]) -> str:
    """What is wrong with the value, as a sentence goes on after the argument's name."""
    kind, value, ctx = str(error.get("type")), error.get("input"), error.get("ctx") or {}
    if kind == "missing":
        return "is missing"
    if kind in _EXPECTED:
        return f"is {_given(value)}, not {_EXPECTED[kind]}"
    if kind in {"string_too_long", "string_too_short"} and isinstance(value, str):
        bound = ctx.get("max_length") if kind == "string_too_long" else ctx.get("min_length")
        side = "above the limit" if kind == "string_too_long" else "below the least"
        return f"is {len(value):,} characters, {side} of {bound:,}"
    bounds = {"greater_than_equal": ("ge", "below the least value"), "greater_than": ("gt", "not above"),
              "less_than_equal": ("le", "above the largest value"), "less_than": ("lt", "not below")}  # fmt: skip
    if kind in bounds and ctx.get(bounds[kind][0]) is not None:
        limit = ctx[bounds[kind][0]]
        return f"is {_given(value)}, {bounds[kind][1]} {limit:,}"
    return f"is {_given(value)}"  # the rule that follows says what it must be


def _name(loc: Sequence[Any]) -> str:
    """An argument's name as a message says it: ``ops[0]`` for an item."""
    return "".join(f"[{token}]" if isinstance(token, int) else (f".{token}" if i else str(token))
                   for i, token in enumerate(loc))  # fmt: skip


def refused_arguments(tool: str, errors: Sequence[Mapping[str, Any]], parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The tool error's object for ``errors`` (pydantic's, of the call's arguments) against the tool's input
    schema ``parameters``: ``{"ok": false, "status": 422, "detail", "errors"}`` (at most
    :data:`~sceneforge.errors.MAX_ISSUES` issues)."""

    def issue(error: Mapping[str, Any]) -> Issue:
        loc = list(error.get("loc", ()))
        schema = _schema_at(parameters, loc)
        name, rule, described = _name(loc), _rule(schema), schema.get("description")
        message = f"{name} {_problem(error)}" + (f": {name} must be {rule}" if rule else "")
        if described and error.get("type") in {"missing", "string_pattern_mismatch"}:  # what the rule is for
            message += f" ({described})"
        return Issue(json_pointer(loc), str(error.get("type", "invalid")), message)

    refused = ArgumentsInvalid(listed((issue(e) for e in errors), len(errors)))
    return {"ok": False, "status": 422, "detail": f"{tool}: {refused}", "errors": [i.as_dict() for i in refused.issues]}


class ArgumentsInvalid(RequestInvalid):
    """A tool call's arguments outside the tool's input schema (its message headed ``invalid arguments``)."""

    invalid: ClassVar[str] = "invalid arguments"
