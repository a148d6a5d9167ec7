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


def test_a_string_given_shows_invisible_characters_as_escapes_and_letters_as_they_are() -> None:
    """A string argument echoed raw carried a bidirectional override or a zero-width character into the message,
    which then read as other text than the agent sent (Trojan Source)."""
    message = _message("ab\u202ecd\u200b \u2066x\U000e0041 Küche 厨房", {"type": "integer"})
    assert '"ab\\u202ecd\\u200b \\u2066x\\udb40\\udc41 Küche 厨房"' in message, message
    assert not any(ch in message for ch in "\u202e\u200b\u2066\U000e0041")
