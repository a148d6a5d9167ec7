"""The repository is self-contained: code, tests and docs refer to the project's own docs/, never outside it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ["src", "tests", "docs", "clients", "bench", "tools", "README.md", "setup.py", "Makefile"]
SUFFIXES = {".py", ".md", ".js", ".mjs", ".html", ".toml", ".txt", ".lua", ""}
#: What would point outside the repository (names of documents that live beside it, not in it).
#: (Spelled in pieces, so that this file does not hold the strings it looks for.)
_NAMES = [
    *("DESIGN" + tail for tail in (".md", " \u00a7", "'s")),
    *(name + ".md" for name in ("SERVICES", "CONVENTIONS")),
    ".." + "/shared",
]
OUTSIDE = re.compile("|".join(re.escape(name) for name in _NAMES))
DOC_REF = re.compile(r"docs/([A-Za-z0-9_-]+\.md)")


def _files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED:
        path = ROOT / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += [
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix in SUFFIXES
                and "vendor" not in p.relative_to(ROOT).parts
                and "__pycache__" not in p.parts
            ]
    return files


def test_nothing_points_outside_the_repository() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()[:100]}"
        for path in _files()
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert found == []


def test_the_contracts_are_written_in_docs() -> None:
    contracts = {"api.md", "scene-format.md", "meta.md", "jobs.md", "events.md", "cli.md"}
    assert contracts <= {p.name for p in (ROOT / "docs").glob("*.md")}
    refs = {name for path in _files() for name in DOC_REF.findall(path.read_text(encoding="utf-8", errors="replace"))}
    assert contracts <= refs  # and the code refers to them
