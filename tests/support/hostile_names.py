"""Names a description accepts that are awkward wherever they are written out: markup, odd Unicode, names
that differ only by case or normalization, names that collide once cleaned for a file format."""

from __future__ import annotations

#: Cell and material ids a description accepts (1-128 characters, no C0 control or DEL) that are awkward in
#: documents (SVG, XML) and files (OBJ, USD): every one distinct.
HOSTILE_IDS = [
    "<script>alert(1)</script>",
    '"><svg onload=alert(1)>',
    "]]>",
    "a&b",
    "q'\"q",
    "</text>",
    "&amp;",
    "<!--",
    "<?xml x?>",
    "\x85nel\x9f",
    "\u202eRTL",
    "zw\u200bj\u200d",
    "e\u0301",
    "\xe9",
    "\U0001f600\U0001f3e0",
    "x" * 128,
    "A",
    "a",
    "1abc",
    "a.b",
    "a/b",
    "a b",
    "a-b",
    "a_b",
    "\ufeffbom",
    "\u2028ls",
    ".",
    "/",
    "\U0010ffff",
    "\ufffe",
    "\uffff",
    "a\uffffb",
    "<script>",
    '"><svg onload=x>',
    "_1abc",
    "a_b_2",
    "l\u2028s",
    "#x",
    "tail\\",
]
