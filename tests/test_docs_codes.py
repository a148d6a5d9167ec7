"""The error codes in the docs and in the code are the same set: every code the code can emit is
documented, and every code docs/scene-format.md lists is still emitted."""

from __future__ import annotations

import ast
import re
import typing
from pathlib import Path

from pydantic_core.core_schema import ErrorType

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "sceneforge"
#: Codes that never reach a user as a ``code``, with why.
UNSEEN = {
    "unsupported_media_type": "POST /assets answers it as a 415 whose detail is the message, without errors",
    "not_glb": "sceneforge inspect prints the message only (docs/cli.md)",
    "glb_no_cells": "previews and exports read GLBs sceneforge built, which always have cell nodes",
}
#: Callables that take an issue code, and the position of that argument.
CODE_ARGUMENT = {"Issue": 1, "JsonTextError": 1, "glb_error": 2, "AssetError": 2, "PydanticCustomError": 0}


def _str(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def emitted_codes() -> dict[str, str]:
    """Every literal issue code in the package, with one place it is emitted."""
    found: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            codes: list[str | None] = []
            if isinstance(node, ast.Call):
                func = node.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                at = CODE_ARGUMENT.get(name)
                if at is not None and len(node.args) > at:
                    codes.append(_str(node.args[at]))
                codes += [_str(k.value) for k in node.keywords if k.arg == "code"]
            elif isinstance(node, ast.Dict):
                codes += [_str(v) for k, v in zip(node.keys, node.values, strict=True) if _str(k) == "code"]
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):  # ``code``'s default goes out
                params = node.args  # when no code is given
                args = [*params.posonlyargs, *params.args]
                named = zip(args[len(args) - len(params.defaults) :], params.defaults, strict=True)
                defaults = [*named, *zip(params.kwonlyargs, params.kw_defaults, strict=True)]
                codes += [_str(default) for arg, default in defaults if arg.arg == "code"]
            for code in codes:
                if code is not None:
                    found.setdefault(code, f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def _docs_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])


def test_every_emitted_code_is_documented() -> None:
    codes = emitted_codes()
    assert len(codes) > 50  # the walk finds the codes at all
    documented = set(re.findall(r"`([a-z][a-z0-9_]*)`", _docs_text()))
    missing = [f"{code} ({where})" for code, where in sorted(codes.items()) if code not in documented | UNSEEN.keys()]
    assert missing == [], "codes the code emits that no doc names"


def test_every_code_scene_format_lists_is_emitted() -> None:
    doc = (ROOT / "docs" / "scene-format.md").read_text(encoding="utf-8")
    listed: set[str] = set()
    in_codes = False
    for line in doc.splitlines():
        if line.startswith("| code |"):
            in_codes = True
        elif not line.startswith("|"):
            in_codes = False
        elif in_codes:
            listed |= set(re.findall(r"`([a-z][a-z0-9_]*)`", line.split("|")[1]))
    assert {"glb_invalid", "json_invalid", "limit_exceeded"} <= listed
    literals = {
        node.value
        for path in SRC.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    pydantic = set(typing.get_args(ErrorType))  # the schema's codes (`missing`, `string_pattern_mismatch`, …)
    gone = sorted(listed - literals - pydantic)
    assert gone == [], "docs/scene-format.md lists codes nothing emits"
