"""Files: everything the service keeps under its data dir is private to the service user
(directories 0700, files 0600) — blobs, the SQLite database and its WAL, secrets, the admin key —
whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from sceneforge.api.server import ensure_admin_key
from sceneforge.storage import default_url, upgrade
from tests.api.conftest import TEST01, start_api


@pytest.fixture
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _modes(root: Path) -> dict[str, int]:
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_files_data_dir_is_private_to_the_service_user(tmp_path: Path, open_umask: None) -> None:
    data = tmp_path / "data"
    for api in start_api(tmp_path):
        api.call(ensure_admin_key, api.services)
        built = api.post("/scenes/build", content=TEST01, headers={**api.auth(), "content-type": "application/json"})
        assert built.status_code == 200, built.text
        asset = api.post("/assets", content=b"v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n", headers=api.auth())
        assert asset.status_code == 201, asset.text
        link = api.post("/scenes/test01/links", headers=api.auth())
        assert link.status_code == 200, link.text
        modes = _modes(data)
    names = set(modes)
    assert {".", "blobs", "sceneforge.db", "admin.key", "link.secret"} <= names, names
    assert any(name.startswith("blobs/") and len(name) == len("blobs/ab/") + 62 for name in names), names
    wrong = {name: oct(mode) for name, mode in modes.items() if mode != (0o700 if (data / name).is_dir() else 0o600)}
    assert not wrong, wrong


def test_files_existing_database_is_narrowed_to_0600(tmp_path: Path, open_umask: None) -> None:
    db = tmp_path / "sceneforge.db"
    db.touch(mode=0o644)
    db.chmod(0o644)
    upgrade(default_url(tmp_path))
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
