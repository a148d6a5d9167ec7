"""The studio is served whole from the installed package: every module its page reaches answers 200.

The crawl starts at the page's import map and module scripts and follows every static and dynamic
import (relative, absolute or through the import map), as a browser would, from any working folder.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tests.api.conftest import start_api

ROOT = Path(__file__).resolve().parents[2]
_IMPORT = re.compile(
    r"""^\s*(?:import|export)\b[^'";]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]"""
    r"""|\bimport\(\s*['"]([^'"]+)['"]\s*\)""",
    re.MULTILINE,
)
_SCRIPT = re.compile(r"""<script[^>]*type="module"[^>]*src="([^"]+)\"""")


def _resolve(specifier: str, base: str, imports: dict[str, str]) -> str | None:
    if specifier.startswith(("./", "../")):
        parts = base.rsplit("/", 1)[0].split("/")
        for piece in specifier.split("/"):
            if piece == "..":
                parts.pop()
            elif piece != ".":
                parts.append(piece)
        return "/".join(parts)
    if specifier.startswith("/"):
        return specifier
    if specifier in imports:
        return imports[specifier]
    prefix = max((k for k in imports if k.endswith("/") and specifier.startswith(k)), key=len, default=None)
    return None if prefix is None else imports[prefix] + specifier[len(prefix) :]


def test_studio_page_reaches_only_served_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # nothing may come from the working folder
    for api in start_api(tmp_path):
        page = api.get("/")
        assert page.status_code == 200
        imports: dict[str, str] = json.loads(page.text.split('type="importmap">', 1)[1].split("</script>", 1)[0])[
            "imports"
        ]
        todo = [*imports.values(), *_SCRIPT.findall(page.text)]
        todo = [url for url in todo if not url.endswith("/")]
        seen: dict[str, int] = {}
        while todo:
            url = todo.pop()
            if url in seen:
                continue
            response = api.get(url)
            seen[url] = response.status_code
            if response.status_code != 200:
                continue
            for groups in _IMPORT.findall(response.text):
                specifier = next(g for g in groups if g)
                target = _resolve(specifier, url, imports)
                assert target is not None, f"{url} imports {specifier!r}, which nothing maps"
                todo.append(target)
        assert [url for url, status in seen.items() if status != 200] == []
        assert {"/vendor/three/build/three.core.js", "/clients/js/core/PortalScene.js"} <= set(seen)
        assert len(seen) > 40


def test_vendored_modules_match_the_lock_file() -> None:
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        import vendor_js
    finally:
        sys.path.remove(str(ROOT / "tools"))
    assert vendor_js.check() == []
