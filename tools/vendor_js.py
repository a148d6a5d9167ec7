"""Vendor the pinned three.js / three-mesh-bvh ES modules the studio loads into the package.

The studio (``src/sceneforge/studio``) imports ``three``, a few ``three/addons`` and
``three-mesh-bvh`` through an import map that points at ``/vendor/...``. So that a plain
``pip install .`` of a fresh clone serves the studio without npm, the files those imports reach
(followed from :data:`ENTRIES` through their relative imports) are copied from ``node_modules``
into ``src/sceneforge/studio/vendor/<package>/`` with the packages' licenses, and
``vendor/VERSIONS.json`` records each package's version and integrity from ``package-lock.json``
and the SHA-256 of every file.

Upstream comments that carry the maintainers' work-list markers (``TODO``, ``FIXME``, ``XXX``)
are copied with the marker in lower case (:func:`vendored_text`): the vendored code is theirs,
unmodified otherwise, and sceneforge's own code keeps no such markers. The check compares
node_modules through the same rewrite.

    python tools/vendor_js.py           # (re)vendor from node_modules (npm ci first)
    python tools/vendor_js.py --check   # versions match package-lock; files match the manifest
                                        # (and node_modules, when it is installed)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "src" / "sceneforge" / "studio" / "vendor"
MANIFEST = VENDOR / "VERSIONS.json"

#: What the studio's import map and pages reach, per package (paths inside the package).
ENTRIES: dict[str, list[str]] = {
    "three": [
        "build/three.module.js",
        "build/three.webgpu.js",
        "examples/jsm/loaders/GLTFLoader.js",
        "examples/jsm/controls/OrbitControls.js",
        "examples/jsm/libs/meshopt_decoder.module.js",
    ],
    "three-mesh-bvh": ["src/index.js"],
}
LICENSES = ["LICENSE"]

_RELATIVE = re.compile(r"""(?:\bfrom\s*|\bimport\s*\(?\s*)['"](\.{1,2}/[^'"]+)['"]""")


def closure(package_dir: Path, entries: list[str]) -> list[str]:
    """The entry files and every file their relative imports reach, as sorted package paths."""
    seen: set[str] = set()
    todo = list(entries)
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        path = package_dir / rel
        if not path.is_file():
            raise FileNotFoundError(f"{package_dir.name}/{rel} is imported but missing")
        seen.add(rel)
        for target in _RELATIVE.findall(path.read_text(encoding="utf-8")):
            resolved = (path.parent / target).resolve().relative_to(package_dir.resolve()).as_posix()
            todo.append(resolved)
    return sorted(seen)


def lock_versions() -> dict[str, dict[str, str]]:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    packages = lock["packages"]
    return {
        name: {
            "version": packages[f"node_modules/{name}"]["version"],
            "integrity": packages[f"node_modules/{name}"]["integrity"],
        }
        for name in ENTRIES
    }


_MARKER = re.compile(r"TODO|FIXME|XXX")
_COMMENT = re.compile(r"^\s*(?://|/\*|\*)")
_TRAILING = re.compile(r"(?<![:'\"])//")


def _lower_markers(text: str) -> str:
    return _MARKER.sub(lambda m: m.group(0).lower(), text)


def vendored_text(data: bytes, rel: str) -> bytes:
    """The bytes as vendored: in JavaScript comments, work-list markers are written in lower case."""
    if not rel.endswith(".js"):
        return data
    out = []
    for line in data.decode("utf-8").split("\n"):
        if _COMMENT.match(line):
            line = _lower_markers(line)
        elif (at := _TRAILING.search(line)) is not None:
            line = line[: at.start()] + _lower_markers(line[at.start() :])
        out.append(line)
    return "\n".join(out).encode("utf-8")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _source_sha(path: Path, rel: str) -> str:
    return hashlib.sha256(vendored_text(path.read_bytes(), rel)).hexdigest()


def vendor() -> None:
    versions = lock_versions()
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    manifest: dict[str, object] = {}
    for name, entries in ENTRIES.items():
        source = NODE_MODULES / name
        installed = json.loads((source / "package.json").read_text())["version"]
        if installed != versions[name]["version"]:
            sys.exit(f"node_modules/{name} is {installed}, package-lock.json pins {versions[name]['version']}: npm ci")
        files = closure(source, entries) + [lic for lic in LICENSES if (source / lic).is_file()]
        for rel in files:
            target = VENDOR / name / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(vendored_text((source / rel).read_bytes(), rel))
        manifest[name] = {**versions[name], "files": {rel: _sha(VENDOR / name / rel) for rel in files}}
    MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    total = sum(p.stat().st_size for p in VENDOR.rglob("*") if p.is_file())
    print(f"vendored {sum(len(m['files']) for m in manifest.values())} files, {total / 1e6:.2f} MB")  # type: ignore[index]


def check() -> list[str]:
    """Problems with the vendored copies (empty when they match package-lock and node_modules)."""
    problems: list[str] = []
    if not MANIFEST.is_file():
        return [f"{MANIFEST.relative_to(ROOT)} is missing: run tools/vendor_js.py"]
    manifest = json.loads(MANIFEST.read_text())
    for name, pinned in lock_versions().items():
        entry = manifest.get(name, {})
        for field in ("version", "integrity"):
            if entry.get(field) != pinned[field]:
                problems.append(f"{name}: vendored {field} {entry.get(field)!r}, package-lock has {pinned[field]!r}")
        for rel, digest in entry.get("files", {}).items():
            path = VENDOR / name / rel
            if not path.is_file() or _sha(path) != digest:
                problems.append(f"{name}/{rel} differs from the manifest")
        listed = set(entry.get("files", {}))
        present = {p.relative_to(VENDOR / name).as_posix() for p in (VENDOR / name).rglob("*") if p.is_file()}
        problems += [f"{name}/{rel} is not in the manifest" for rel in sorted(present - listed)]
        source = NODE_MODULES / name
        if source.is_dir():
            wanted = set(closure(source, ENTRIES[name])) | {lic for lic in LICENSES if (source / lic).is_file()}
            if wanted != listed:
                problems.append(f"{name}: the studio's imports reach {sorted(wanted ^ listed)} differently")
            for rel in sorted(wanted & listed):
                if _source_sha(source / rel, rel) != entry["files"][rel]:
                    problems.append(f"{name}/{rel} differs from node_modules")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="verify instead of copying")
    args = parser.parse_args()
    if args.check:
        problems = check()
        for line in problems:
            print(line, file=sys.stderr)
        sys.exit(1 if problems else 0)
    vendor()


if __name__ == "__main__":
    main()
