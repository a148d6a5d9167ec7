"""Names a description accepts that are awkward wherever they are written out: markup, odd Unicode, names
that differ only by case or normalization, names that collide once cleaned for a file format."""

from __future__ import annotations

#: Cell and material ids awkward in documents (SVG, XML) and files (OBJ, USD), every one distinct, for the
#: writers of those, which take the scene as built: some of them (C1 controls, overrides, zero-width spaces, line
#: separators) a description refuses (docs/scene-format.md, "Names"), the writers hold to them all the same.
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
