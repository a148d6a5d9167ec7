"""The words of an MCP tool's refused arguments (docs/mcp.md, "Tools"): counts and kinds said as English says them."""

from __future__ import annotations

from sceneforge.mcp_server.arguments import refused_arguments


def _message(value: object, schema: dict) -> str:
    errors = [{"type": "int_type", "loc": ("x",), "input": value}]
    return refused_arguments("t", errors, {"properties": {"x": schema}})["errors"][0]["message"]


def test_one_member_or_item_is_said_in_the_singular() -> None:
    assert "is an object of 1 member, not an integer" in _message({"a": 1}, {"type": "integer"})
    assert "is an array of 1 item, not an integer" in _message([1], {"type": "integer"})
    assert "is an array of 2 items" in _message([1, 2], {"type": "integer"})


def test_an_arrays_items_are_named_in_the_plural_whatever_their_kind() -> None:
    for kind, plural in (("boolean", "booleans"), ("number", "numbers"), ("integer", "integers")):
        message = _message("s", {"type": "array", "items": {"type": kind}})
        assert message.endswith(f"x must be an array of {plural}"), message
