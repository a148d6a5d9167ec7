"""The command line as scripts use it: exit codes, stderr lines, files written or not."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from sceneforge.cli import app
from sceneforge.errors import SceneInvalid
from tests.scenes import TEST01, TWO_ROOMS, scene
from tests.support.servers import free_port

runner = CliRunner()
#: The port of the serve commands these tests expect to stop before listening: not the default 8000, which a
#: server beside the tests (`make run`) may hold, and the refusal would then be the port's, not the one tested.
PORT = str(free_port())


def _write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc))
    return path


def test_build_writes_glb_and_meta(tmp_path: Path) -> None:
    spec = _write(tmp_path / "s.json", TEST01)
    result = runner.invoke(app, ["build", str(spec), "-o", str(tmp_path / "out"), "--no-progress"])
    assert result.exit_code == 0, result.output
    glb = (tmp_path / "out" / "test01.glb").read_bytes()
    text = (tmp_path / "out" / "test01.meta.json").read_text()
    meta = json.loads(text)
    assert glb[:4] == b"glTF" and meta["Bytes"] == len(glb)
    assert text == json.dumps(meta, separators=(",", ":"))  # compact, formatted like the service's /meta
    assert list(meta) == [
        "ETag", "Bytes", "TimestampUtc", "Meta", "formatVersion", "sceneId", "version", "stats", "visibility",
        "warnings",
    ]  # fmt: skip
    assert meta["version"] == 1 and meta["TimestampUtc"].endswith("Z")
    assert (tmp_path / "out" / "test01.glb").stat().st_mode & 0o044  # readable by others, not 0600


def test_build_on_a_full_disk_says_so_in_one_line_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills while the meta is written, after the GLB: exit 1 naming the file and the reason, and
    neither output nor any temp file is left (the GLB is not renamed into place without its meta)."""
    spec = _write(tmp_path / "s.json", TEST01)
    out = tmp_path / "out"
    real_fdopen = os.fdopen

    class Full:
        def __init__(self, fh: object) -> None:
            self.fh = fh

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *_exc: object) -> None:
            self.fh.close()  # type: ignore[attr-defined]

        def write(self, _data: bytes) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def full_for_meta(fd: int, *args: object, **kwargs: object) -> object:
        fh = real_fdopen(fd, *args, **kwargs)  # type: ignore[call-overload]
        return Full(fh) if ".meta.json." in os.readlink(f"/proc/self/fd/{fd}") else fh

    monkeypatch.setattr(os, "fdopen", full_for_meta)
    result = runner.invoke(app, ["build", str(spec), "-o", str(out), "--no-progress"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == f"cannot write {out / 'test01.meta.json'}: No space left on device"
    assert list(out.iterdir()) == []


def test_invalid_input_exits_2_with_pointer_lines_and_writes_nothing(tmp_path: Path) -> None:
    doc = scene(TEST01)
    doc["portals"][0]["to"] = "attic"
    doc["cells"][1]["cellId"] = "hall"
    spec = _write(tmp_path / "bad.json", doc)
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "sceneforge.cli", "build", str(spec), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert "/cells/1/cellId: cellId 'hall' is also used by /cells/0" in lines
    assert "/portals/0/to: no cell 'attic'" in lines
    assert not out.exists() or not any(out.iterdir())


def test_validate_exit_codes(tmp_path: Path) -> None:
    assert runner.invoke(app, ["validate", str(_write(tmp_path / "ok.json", TWO_ROOMS))]).exit_code == 0
    bad = scene(TWO_ROOMS, sceneId="")
    result = runner.invoke(app, ["validate", str(_write(tmp_path / "bad.json", bad))])
    assert result.exit_code == 2 and "/sceneId:" in result.output


def test_validate_checks_without_visibility_or_encode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """validate checks as the service checks a draft (check_scene): a build without the PVS, which it ran,
    lists every cell's reachable cells in the meta and the GLB, all of a connected level's in each:
    quadratic, 420 MB at 2,000 cells, killed past 100 s at 20,000. The counts it prints are the build's."""
    import sceneforge.compile as compile_module
    from sceneforge.generate import generate_maze

    spec = _write(tmp_path / "maze.json", generate_maze(30))

    def no_stage(*args: object, **kwargs: object) -> None:
        raise AssertionError("validate ran a build stage it does not need")

    with monkeypatch.context() as patched:
        patched.setattr(compile_module, "_visibility", no_stage)
        patched.setattr(compile_module, "_cell_boxes", no_stage)
        result = runner.invoke(app, ["validate", str(spec)])
    assert result.exit_code == 0, result.output
    built = runner.invoke(app, ["build", str(spec), "-o", str(tmp_path / "out"), "--no-progress"])
    assert built.exit_code == 0, built.output
    meta = json.loads(next((tmp_path / "out").glob("*.meta.json")).read_text())
    cells, portals = len(meta["Meta"]["cells"]), meta["Meta"]["portals"]
    assert result.output.splitlines()[-1].endswith(f", {cells} cells, {portals} portals"), result.output


def test_warnings_are_printed_but_valid(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(_write(tmp_path / "t.json", TEST01))])
    assert result.exit_code == 0
    assert "portal_not_touching" not in result.output and "warning /portals/0:" in result.output


def test_inspect_json_summarises_the_glb(tmp_path: Path) -> None:
    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    runner.invoke(app, ["build", str(spec), "-o", str(tmp_path), "--compress", "--no-progress"])
    result = runner.invoke(app, ["inspect", str(tmp_path / "two-rooms.glb"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["cells"] == 2 and summary["portals"] == 1 and summary["sceneId"] == "two-rooms"
    assert summary["drawCalls"] >= 2 and summary["triangles"] > 0
    assert "EXT_meshopt_compression" in summary["extensions"]
    assert summary["pvs"] == {"mean": 2.0, "max": 2, "min": 2}


def test_inspect_rejects_a_non_glb(tmp_path: Path) -> None:
    path = tmp_path / "x.glb"
    path.write_bytes(b"not a glb at all")
    assert runner.invoke(app, ["inspect", str(path)]).exit_code == 2


def test_generate_then_build_a_maze(tmp_path: Path) -> None:
    spec = tmp_path / "maze.json"
    result = runner.invoke(app, ["generate", "maze", "--cells", "12", "--seed", "2", "-o", str(spec)])
    assert result.exit_code == 0, result.output
    doc = json.loads(spec.read_text())
    assert len(doc["cells"]) == 12
    build = runner.invoke(app, ["build", str(spec), "-o", str(tmp_path / "out"), "--no-progress"])
    assert build.exit_code == 0, build.output
    assert (tmp_path / "out" / f"{doc['sceneId']}.glb").exists()


def test_generate_to_standard_output_pipes_into_build(tmp_path: Path) -> None:
    """``generate … -o -`` writes the description to standard output (it wrote a file named ``-``), its summary
    to stderr, so ``generate … -o - | sceneforge build - -o out`` builds the level."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    made = subprocess.run(
        [sys.executable, "-m", "sceneforge", "generate", "maze", "--cells", "7", "--seed", "3", "-o", "-"],
        cwd=tmp_path, env=env, capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    doc = json.loads(made.stdout)
    summary = f"-: maze {doc['sceneId']}, 7 cells, {len(doc['portals'])} portals"
    assert len(doc["cells"]) == 7 and made.stderr.decode().strip() == summary
    assert not (tmp_path / "-").exists()
    built = subprocess.run(
        [sys.executable, "-m", "sceneforge", "build", "-", "-o", str(tmp_path / "out"), "--no-progress"],
        input=made.stdout, env=env, capture_output=True, timeout=60,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "out" / f"{doc['sceneId']}.glb").exists()


def test_asset_paths_resolve_relative_to_the_spec(tmp_path: Path) -> None:
    (tmp_path / "props").mkdir()
    (tmp_path / "props" / "crate.obj").write_text("v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3\nf 1 3 4\n")
    doc = scene(TWO_ROOMS)
    doc["cells"][0]["meshes"] = [
        {"meshId": "asset:props/crate.obj", "transform": [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0.1, 1, 1]}
    ]
    result = runner.invoke(
        app, ["build", str(_write(tmp_path / "s.json", doc)), "-o", str(tmp_path / "o"), "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    missing = scene(TWO_ROOMS)
    missing["cells"][0]["meshes"] = [{"meshId": "asset:props/nope.obj"}]
    result = runner.invoke(app, ["build", str(_write(tmp_path / "m.json", missing)), "-o", str(tmp_path / "m")])
    assert result.exit_code == 2 and "/cells/0/meshes/0/meshId:" in result.output
    assert not (tmp_path / "m").exists()


#: Asset names no file next to a description can have: a NUL character (no name holds one: the description's rule for
#: names refuses it, before any file is looked for), a name or a path longer than the system takes, a symbolic link that
#: leads to itself (made by the test).
_UNREADABLE_ASSETS = {
    "nul": ("a\x00b.obj", "U+0000 (a control character) at character 8"),
    "long name": ("x" * 300 + ".png", "File name too long"),
    "long path": ("d/" * 2100 + "x.png", "File name too long"),
    "link loop": ("loop.obj", "symbolic link"),
}


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(sorted(_UNREADABLE_ASSETS)), texture=st.booleans())
def test_an_asset_name_no_file_can_have_is_an_error_at_its_pointer_not_a_traceback(
    tmp_path: Path, kind: str, texture: bool
) -> None:
    """The CLI's resolver met a name the file system refuses (a NUL, a name past 255 bytes, a path past 4,096, a link
    loop) with Python's own exception: a traceback and exit 1. It is the description's error at the place that names
    the asset, and nothing is written."""
    name, says = _UNREADABLE_ASSETS[kind]
    texture = texture or kind == "long path"  # a meshId holds at most 512 characters
    loop = tmp_path / "loop.obj"
    if not loop.is_symlink():
        loop.symlink_to(tmp_path / "loop.obj")
    doc = scene(TWO_ROOMS)
    if texture:
        doc["materials"]["t"] = {"baseColorTexture": f"asset:{name}"}
        pointer = "/materials/t/baseColorTexture"
    else:
        doc["cells"][0]["meshes"] = [{"meshId": f"asset:{name}"}]
        pointer = "/cells/0/meshes/0/meshId"
    out = tmp_path / f"out-{kind}-{texture}"
    result = runner.invoke(app, ["build", str(_write(tmp_path / "s.json", doc)), "-o", str(out), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.output.startswith(f"{pointer}: ") and says in result.output
    assert not out.exists()


def test_an_asset_file_over_the_upload_limit_is_limit_exceeded_naming_its_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An asset file larger than SCENEFORGE_MAX_UPLOAD_BYTES was reported as ``asset_not_found``: it is
    ``limit_exceeded``, its size and the limit given, at the place that names it."""
    from sceneforge.cli.files import file_asset_resolver
    from sceneforge.compile import compile_scene

    (tmp_path / "crate.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n" + "# padding\n" * 200)
    doc = scene(TWO_ROOMS)
    doc["cells"][0]["meshes"] = [{"meshId": "asset:crate.obj"}]
    with pytest.raises(SceneInvalid) as caught:
        compile_scene(json.dumps(doc).encode(), resolve_asset=file_asset_resolver(tmp_path, 1000))
    [issue] = caught.value.issues
    assert (issue.path, issue.code) == ("/cells/0/meshes/0/meshId", "limit_exceeded")
    assert "2,032 bytes" in issue.message and "(1,000 bytes)" in issue.message
    assert "SCENEFORGE_MAX_UPLOAD_BYTES" in issue.message


_TRIANGLE_OBJ = "v 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nf 1 2 3\nf 1 3 4\n"


def _asset_tree(tmp_path: Path) -> Path:
    """``tmp_path/level`` holding a description's folder (``props/crate.obj``, ``wood.png``), and beside it, outside
    that folder, ``secret/key.obj`` and ``secret/key.png`` (valid assets: a build reading them succeeds), reached by
    the links ``level/escape.obj`` (a file link) and ``level/elsewhere`` (a folder link); ``level/inner.obj`` links
    to a file inside."""
    from tests.support.scenes import png_bytes

    level, secret = tmp_path / "level", tmp_path / "secret"
    (level / "props").mkdir(parents=True, exist_ok=True)
    secret.mkdir(exist_ok=True)
    (level / "props" / "crate.obj").write_text(_TRIANGLE_OBJ)
    (level / "wood.png").write_bytes(png_bytes())
    (secret / "key.obj").write_text(_TRIANGLE_OBJ)
    (secret / "key.png").write_bytes(png_bytes())
    for link, target in (("escape.obj", secret / "key.obj"), ("elsewhere", secret), ("inner.obj", "props/crate.obj")):
        if not (level / link).is_symlink():
            (level / link).symlink_to(target)
    return level


def _with_asset(name: str, texture: bool) -> tuple[dict[str, object], str]:
    """TWO_ROOMS drawing ``asset:<name>`` as a mesh or a texture, and the pointer of that name."""
    doc = scene(TWO_ROOMS)
    if texture:
        doc["materials"]["plaster"] = {"baseColorTexture": f"asset:{name}"}
        return doc, "/materials/plaster/baseColorTexture"
    doc["cells"][0]["meshes"] = [{"meshId": f"asset:{name}"}]  # type: ignore[index]
    return doc, "/cells/0/meshes/0/meshId"


#: Asset paths that leave the description's folder, by kind: {secret} is the folder beside it, as an absolute path.
_ESCAPING_ASSETS = {
    "absolute": ("{secret}/key.{ext}", "is an absolute path"),
    "dot-dot": ("../secret/key.{ext}", "resolves to {secret}/key.{ext}, outside"),
    "dot-dot inside first": ("props/../../secret/key.{ext}", "resolves to {secret}/key.{ext}, outside"),
    "deep dot-dot": ("props/" + "../" * 12 + "{rooted}/key.{ext}", "resolves to {secret}/key.{ext}, outside"),
    "folder link": ("elsewhere/key.{ext}", "resolves to {secret}/key.{ext}, outside"),
    "file link": ("escape.obj", "resolves to {secret}/key.obj, outside"),
}


@settings(max_examples=24, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(sorted(_ESCAPING_ASSETS)),
    texture=st.booleans(),
    command=st.sampled_from(["build", "validate"]),
)
def test_an_asset_path_leaving_the_descriptions_folder_is_refused_naming_the_rule(
    tmp_path: Path, kind: str, texture: bool, command: str
) -> None:
    """A description's ``asset:`` path was opened wherever it led: ``/etc/passwd``, ``../../.ssh/…``, a link out of
    the folder — a build read any file the user can, and a PNG so named was embedded in its output. An absolute
    path, and a path that resolves (``..`` and links followed) outside the description's folder, are
    ``asset_outside_folder`` at the place naming the asset, saying the rule; nothing is written."""
    level = _asset_tree(tmp_path)
    pattern, says = _ESCAPING_ASSETS[kind]
    ext = "obj" if kind == "file link" else "png" if texture else "obj"
    secret = tmp_path.resolve() / "secret"
    name = pattern.format(secret=secret, rooted=str(secret).lstrip("/"), ext=ext)
    says = says.format(secret=secret, ext=ext)
    doc, pointer = _with_asset(name, texture)
    spec = _write(level / "s.json", doc)
    out = tmp_path / "out"
    args = [command, str(spec)] + (["-o", str(out), "--no-progress"] if command == "build" else [])
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.output.startswith(f"{pointer}: asset file {name!r} {says}"), result.output
    assert "may not leave it" in result.output and str(level) in result.output
    assert not out.exists()
    from sceneforge.cli.files import file_asset_resolver
    from sceneforge.compile import compile_scene

    with pytest.raises(SceneInvalid) as caught:
        compile_scene(json.dumps(doc).encode(), resolve_asset=file_asset_resolver(level, 1 << 20))
    assert {(i.path, i.code) for i in caught.value.issues} == {(pointer, "asset_outside_folder")}, caught.value.issues


@pytest.mark.parametrize(
    ("name", "texture"),
    [
        ("props/crate.obj", False),
        ("./props/../props/crate.obj", False),
        ("inner.obj", False),
        ("wood.png", True),
        ("props/../wood.png", True),
    ],
    ids=["in a subfolder", "dot-dot staying inside", "link inside", "texture", "texture dot-dot inside"],
)
def test_an_asset_path_inside_the_descriptions_folder_is_read(tmp_path: Path, name: str, texture: bool) -> None:
    """``..`` and links that stay inside the folder are taken: only leaving it is refused."""
    level = _asset_tree(tmp_path)
    doc, _ = _with_asset(name, texture)
    result = runner.invoke(
        app, ["build", str(_write(level / "s.json", doc)), "-o", str(tmp_path / "o"), "--no-progress"]
    )
    assert result.exit_code == 0, result.output


def test_assets_dir_is_the_folder_asset_paths_are_read_in_and_may_not_leave(tmp_path: Path) -> None:
    """``--assets DIR`` (build and validate): the description's ``asset:`` paths are read in DIR, not beside it, and
    may not leave DIR; a DIR that is no folder is a usage error."""
    level = _asset_tree(tmp_path)
    doc, pointer = _with_asset("key.obj", False)
    spec = _write(tmp_path / "s.json", doc)  # beside the secret folder, not in it
    assets = ["--assets", str(tmp_path / "secret")]
    built = runner.invoke(app, ["build", str(spec), "-o", str(tmp_path / "o"), "--no-progress", *assets])
    assert built.exit_code == 0, built.output
    assert runner.invoke(app, ["validate", str(spec), *assets]).exit_code == 0
    doc, pointer = _with_asset("../level/props/crate.obj", False)
    spec = _write(tmp_path / "s.json", doc)
    refused = runner.invoke(app, ["validate", str(spec), *assets])
    assert refused.exit_code == 2 and refused.output.startswith(f"{pointer}: asset file '../level/props/crate.obj'")
    assert f"outside --assets {tmp_path / 'secret'}" in refused.output
    doc, _ = _with_asset("../secret/key.obj", False)  # in --assets, but not in the description's folder
    assert runner.invoke(app, ["validate", str(_write(level / "t.json", doc))]).exit_code == 2
    not_a_folder = runner.invoke(app, ["validate", str(spec), "--assets", str(level / "wood.png")])
    assert not_a_folder.exit_code == 2 and "--assets" in not_a_folder.output


def test_plain_progress_lines_when_not_a_terminal(tmp_path: Path) -> None:
    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    proc = subprocess.run(
        [sys.executable, "-m", "sceneforge.cli", "build", str(spec), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "100"},
    )
    stages = [line.split()[0] for line in proc.stderr.splitlines() if line.endswith("%")]
    assert stages[:2] == ["ingest", "validate"] and stages[-1] == "done"


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["sceneId", "cells", "portals", "materials"]), st.sampled_from([None, 3, "x", [], {}]))
def test_bad_top_level_values_never_leave_partial_output(tmp_path: Path, key: str, value: object) -> None:
    out = tmp_path / f"out-{key}-{type(value).__name__}"
    spec = _write(tmp_path / "s.json", scene(TWO_ROOMS, **{key: value}))
    result = runner.invoke(app, ["build", str(spec), "-o", str(out), "--no-progress"])
    if result.exit_code == 0:
        assert sorted(p.suffix for p in out.iterdir()) == [".glb", ".json"]
    else:
        assert result.exit_code == 2
        assert not out.exists() or not any(out.iterdir())


def test_db_upgrade_then_keys_create_prints_the_key_last(tmp_path: Path) -> None:
    env = {**os.environ, "SCENEFORGE_DATA_DIR": str(tmp_path / "data")}
    cli = [sys.executable, "-m", "sceneforge.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
    proc = subprocess.run(
        [*cli, "keys", "create", "--scope", "admin"], env=env, check=True, capture_output=True, text=True
    )
    key = proc.stdout.strip().splitlines()[-1]
    assert key.startswith("sfk_") and len(key) > 30
    # Stored hashed: the secret itself appears nowhere in the database file.
    assert key.encode() not in (tmp_path / "data" / "sceneforge.db").read_bytes()


@pytest.mark.parametrize("command", [["keys", "list"], ["keys", "revoke", "1"], ["gc", "--dry-run"]])
def test_database_commands_leave_the_schema_alone_when_auto_migrate_is_off(tmp_path: Path, command: list[str]) -> None:
    """With ``SCENEFORGE_AUTO_MIGRATE=false`` (migrations a deploy step) no command but ``db upgrade`` changes the
    schema: on a database not yet migrated it leaves it as it was (the keys commands say it cannot be used)."""
    data = tmp_path / "data"
    env = {**os.environ, "SCENEFORGE_DATA_DIR": str(data), "SCENEFORGE_AUTO_MIGRATE": "false"}
    data.mkdir()
    sqlite3.connect(data / "sceneforge.db").close()  # an empty database, as one made before its first upgrade
    proc = subprocess.run([sys.executable, "-m", "sceneforge.cli", *command], env=env, capture_output=True, text=True)
    if command[0] == "keys":  # gc with no blob has nothing to look up
        assert proc.returncode == 1 and "cannot use the database" in proc.stderr, proc.stderr
    with sqlite3.connect(data / "sceneforge.db") as db:
        assert db.execute("select name from sqlite_master").fetchall() == []
    env["SCENEFORGE_AUTO_MIGRATE"] = "true"  # the default: migrated first, as the server does
    proc = subprocess.run([sys.executable, "-m", "sceneforge.cli", *command], env=env, capture_output=True, text=True)
    with sqlite3.connect(data / "sceneforge.db") as db:
        assert ("alembic_version",) in db.execute("select name from sqlite_master").fetchall(), proc.stderr


def test_compress_quantizes_unless_told_not_to(tmp_path: Path) -> None:
    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    extensions = {}
    for name, flags in {"default": ["--compress"], "float": ["--compress", "--no-quantize"]}.items():
        out = tmp_path / name
        assert runner.invoke(app, ["build", str(spec), "-o", str(out), "--no-progress", *flags]).exit_code == 0
        result = runner.invoke(app, ["inspect", str(out / "two-rooms.glb"), "--json"])
        extensions[name] = json.loads(result.output)["extensions"]
    assert extensions["default"] == ["EXT_meshopt_compression", "KHR_mesh_quantization", "SCENEFORGE_bvh"]
    assert extensions["float"] == ["EXT_meshopt_compression", "SCENEFORGE_bvh"]


def test_build_cache_reuses_cells_and_writes_the_same_bytes(tmp_path: Path) -> None:
    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    args = ["build", str(spec), "--no-progress", "--cache", str(tmp_path / "cache")]
    first = runner.invoke(app, [*args, "-o", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    assert "0 cells reused" in first.output
    _write(spec, scene(TWO_ROOMS, props={"edited": "yes"}))
    second = runner.invoke(app, [*args, "-o", str(tmp_path / "b")])
    assert second.exit_code == 0, second.output
    assert "2 cells reused" in second.output
    cold = runner.invoke(app, ["build", str(spec), "--no-progress", "-o", str(tmp_path / "c")])
    assert cold.exit_code == 0
    assert (tmp_path / "b" / "two-rooms.glb").read_bytes() == (tmp_path / "c" / "two-rooms.glb").read_bytes()
    meta = json.loads((tmp_path / "b" / "two-rooms.meta.json").read_text())
    assert (meta["stats"]["cellsRebuilt"], meta["stats"]["cellsReused"]) == (0, 2)


@pytest.mark.parametrize("damage", ["byte_set", "nan_run", "cut_short", "swapped"])
def test_build_with_damaged_cache_entries_builds_them_again(tmp_path: Path, damage: str) -> None:
    """Entries damaged on disk are computed again, not used: a byte changed inside an entry's arrays was taken
    as it was (a NaN went into the GLB, or an index past the vertices failed the build with exit 1), and so
    was an entry holding another's bytes. The rebuild writes a cold build's bytes."""
    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    args = ["build", str(spec), "--no-progress", "--cache", str(tmp_path / "cache")]
    assert runner.invoke(app, [*args, "-o", str(tmp_path / "a")]).exit_code == 0
    files = sorted(p for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert len(files) > 2
    contents = [p.read_bytes() for p in files]
    for i, path in enumerate(files):
        data = bytearray(contents[i])
        middle = len(data) // 2
        if damage == "byte_set":
            data[middle] ^= 0x40
        elif damage == "nan_run":
            data[middle : middle + 16] = b"\xff" * 16
        elif damage == "cut_short":
            del data[middle:]
        else:
            data = bytearray(contents[(i + 1) % len(files)])
        path.write_bytes(bytes(data))
    again = runner.invoke(app, [*args, "-o", str(tmp_path / "b")])
    assert again.exit_code == 0, again.output
    assert "0 cells reused" in again.output
    assert runner.invoke(app, ["build", str(spec), "--no-progress", "-o", str(tmp_path / "c")]).exit_code == 0
    assert (tmp_path / "b" / "two-rooms.glb").read_bytes() == (tmp_path / "c" / "two-rooms.glb").read_bytes()
    # and the entries were written again: the next build reuses every cell
    assert "2 cells reused" in runner.invoke(app, [*args, "-o", str(tmp_path / "d")]).output


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("SCENEFORGE_")}


def _modules_after(argv: list[str], watched: tuple[str, ...], env: dict[str, str]) -> list[str]:
    """Which of ``watched`` the ``sceneforge`` process had imported when it exited (it must exit 0)."""
    code = (
        "import atexit, sys\n"
        f"atexit.register(lambda: print('LOADED', sorted(m for m in {watched!r} if m in sys.modules)))\n"
        f"sys.argv = ['sceneforge', *{argv!r}]\n"
        "from sceneforge.cli import main\n"
        "sys.exit(main())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("LOADED "))
    return json.loads(line.removeprefix("LOADED ").replace("'", '"'))  # type: ignore[no-any-return]


def test_build_imports_only_what_it_needs(tmp_path: Path) -> None:
    # Start-up counts in every build (docs/benchmarks.md): `build --help` loads no compiler, and a
    # build of a description without SCENEFORGE_* variables reads no settings and no GLB/OBJ readers.
    watched = (
        "numpy", "pydantic_settings", "sceneforge.settings", "sceneforge.compile", "sceneforge.ingest.tagged_glb",
        "sceneforge.ingest.assets", "trimesh", "manifold3d",
    )  # fmt: skip
    assert _modules_after(["build", "--help"], watched, _clean_env()) == []
    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    argv = ["build", str(spec), "-o", str(tmp_path / "out"), "--no-progress"]
    assert _modules_after(argv, watched, _clean_env()) == ["numpy", "sceneforge.compile"]
    env = {**_clean_env(), "SCENEFORGE_MAX_CELLS": "100"}
    assert "sceneforge.settings" in _modules_after(argv, watched, env)


def test_build_loads_none_of_the_service(tmp_path: Path) -> None:
    # The web, database, Celery and S3 libraries are the service's: a build, with its cell cache too, loads none.
    service = (
        "fastapi", "starlette", "sqlalchemy", "celery", "boto3", "redis", "sceneforge.storage.scenes",
        "sceneforge.jobs.service", "sceneforge.api",
    )  # fmt: skip
    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    argv = ["build", str(spec), "-o", str(tmp_path / "out"), "--no-progress"]
    assert _modules_after(argv, service, _clean_env()) == []
    assert _modules_after([*argv, "--cache", str(tmp_path / "cache")], service, _clean_env()) == []
    # Nor do the other commands of the compiler.
    level = tmp_path / "level.json"
    for other in (
        ["generate", "maze", "--cells", "3", "-o", str(level)],
        ["validate", str(level)],
        ["inspect", str(tmp_path / "out" / "two-rooms.glb")],
        ["inspect", str(tmp_path / "out" / "two-rooms.glb"), "--json"],
    ):
        assert _modules_after(other, service, _clean_env()) == [], other


#: What a server runs beside the database (the web app, the job service, the event streams) and the compiler.
SERVER_AND_COMPILER = (
    "fastapi", "starlette", "sceneforge.api", "sceneforge.jobs", "sceneforge.events", "celery", "boto3", "redis",
    "numpy", "sceneforge.compile", "sceneforge.model.description", "sceneforge.storage.scenes",
)  # fmt: skip


def test_the_key_and_database_commands_load_the_database_alone(tmp_path: Path) -> None:
    """``keys create`` imported the server module (FastAPI and every route, the job service, the event hub, the
    compiler) and opened all the service's parts (the blob store, the link secret) to write one row; ``keys list``
    and ``keys revoke`` loaded the scene repository for its clock. Each command on keys or the database loads the
    database code alone, and ``keys create`` still makes the data folder private (0700) first, as the server does."""
    data = ["--data", str(tmp_path / "data")]
    for argv in (
        ["keys", "create", "--scope", "read", *data],
        ["keys", "list", *data],
        ["keys", "revoke", "1", *data],
        ["db", "upgrade", *data],
        ["gc", "--dry-run", *data],
    ):
        assert _modules_after(argv, SERVER_AND_COMPILER, _clean_env()) == [], argv
    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700
    listed = json.loads(runner.invoke(app, ["keys", "list", "--all", "--json", *data]).stdout)
    assert [(row["id"], row["scope"], row["revokedUtc"] is not None) for row in listed] == [(1, "read", True)]


def test_mcp_with_a_url_loads_neither_the_service_nor_the_compiler() -> None:
    """``sceneforge mcp --url`` drives a running service over HTTP: it needs no database, web app or compiler, and
    it loaded the description model (pydantic, ~20 ms) for the scene-id pattern of its tools' parameters. With
    its standard input empty it answers nothing and exits 0."""
    argv = ["mcp", "--url", "http://127.0.0.1:9", "--key", "sfk_unused"]
    watched = (
        "fastapi", "sceneforge.api", "sqlalchemy", "sceneforge.storage", "sceneforge.jobs", "numpy",
        "sceneforge.compile", "sceneforge.model.description",
    )  # fmt: skip
    assert _modules_after(argv, watched, _clean_env()) == []


def test_every_command_s_annotations_are_objects_typer_need_not_evaluate() -> None:
    """typer reads the parameters of every command from its annotations on each run, whichever command runs: as
    strings (``from __future__ import annotations``) each was compiled and evaluated again, its ``typer.Option(...)``
    made anew, on every start of every command. They are objects, made once when the module is imported."""
    import inspect

    from sceneforge.cli import db_app, keys_app

    commands = [c.callback for group in (app, keys_app, db_app) for c in group.registered_commands]
    assert len(commands) == 12 and all(commands)
    strings = [
        (command.__name__, name)
        for command in commands
        if command is not None
        for name, annotation in inspect.get_annotations(command).items()
        if isinstance(annotation, str)
    ]
    assert strings == []


def test_limits_without_variables_are_the_settings_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from sceneforge.cli import program
    from sceneforge.config import Limits
    from sceneforge.settings import Settings, env_vars

    # The fast path of load_limits holds only if every setting is read from a SCENEFORGE_* variable.
    assert all(var.startswith(program.ENV_PREFIX) for var in env_vars().values())
    for name in [k for k in os.environ if k.startswith("SCENEFORGE_")]:
        monkeypatch.delenv(name)
    assert program.load_limits() == Settings().limits == Limits()
    monkeypatch.setenv("SCENEFORGE_MAX_CELLS", "  ")  # empty means unset, as in Settings
    assert program.load_limits() == Limits()
    monkeypatch.setenv("SCENEFORGE_MAX_CELLS", "1")
    assert program.load_limits() == Limits(max_cells=1)
    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    result = runner.invoke(app, ["build", str(spec), "-o", str(tmp_path / "out"), "--no-progress"])
    assert result.exit_code == 2 and "SCENEFORGE_MAX_CELLS" in result.output
    assert not (tmp_path / "out").exists()


def _blas_threads_seen(env: dict[str, str], tmp_path: Path) -> str:
    """OPENBLAS_NUM_THREADS as numpy saw it on import inside a ``sceneforge build`` process."""
    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    code = (
        "import atexit, os, sys\n"
        "atexit.register(lambda: print('BLAS', os.environ.get('OPENBLAS_NUM_THREADS')))\n"
        f"sys.argv = ['sceneforge', 'build', {str(spec)!r}, '-o', {str(tmp_path / 'out')!r}, '--no-progress']\n"
        "from sceneforge.cli import main\n"
        "sys.exit(main())\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    return next(x for x in proc.stdout.splitlines() if x.startswith("BLAS ")).removeprefix("BLAS ")


def test_blas_runs_on_one_thread_unless_told_otherwise(tmp_path: Path) -> None:
    env = {k: v for k, v in _clean_env().items() if k != "OPENBLAS_NUM_THREADS"}
    assert _blas_threads_seen(env, tmp_path) == "1"
    assert _blas_threads_seen({**env, "OPENBLAS_NUM_THREADS": "3"}, tmp_path) == "3"


def test_an_output_folder_no_file_can_be_made_in_is_refused_before_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sysfs takes no new file, not even from root (whom permissions do not stop): the build's outputs were written
    after the whole build (seconds on a large level) and then refused. Now refused first, nothing built, and the
    probe leaves nothing behind in a folder that takes files."""
    import sceneforge.compile

    spec = _write(tmp_path / "s.json", TEST01)
    real_compile = sceneforge.compile.compile_scene

    def not_built(*_: object, **__: object) -> None:
        raise AssertionError("built before the output folder was checked")

    monkeypatch.setattr(sceneforge.compile, "compile_scene", not_built)
    result = runner.invoke(app, ["build", str(spec), "-o", "/sys/kernel/sceneforge-out"])
    assert result.exit_code == 1
    assert result.output.startswith("cannot write to /sys/kernel/sceneforge-out: "), result.output
    assert not Path("/sys/kernel/sceneforge-out").exists()
    # Where the system has no unnamed files (O_TMPFILE: Linux), a named one is made and removed.
    monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    result = runner.invoke(app, ["build", str(spec), "-o", "/sys/kernel/sceneforge-out"])
    assert result.exit_code == 1 and result.output.startswith("cannot write to /sys/kernel/sceneforge-out: ")
    monkeypatch.setattr(sceneforge.compile, "compile_scene", real_compile)
    for out in (tmp_path / "out" / "deeper", tmp_path / "again"):
        assert runner.invoke(app, ["build", str(spec), "-o", str(out)]).exit_code == 0
        assert sorted(p.name for p in out.iterdir()) == ["test01.glb", "test01.meta.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again", "out", "s.json"]


def test_an_output_folder_that_cannot_be_written_is_named_and_nothing_is_built(tmp_path: Path) -> None:
    spec = _write(tmp_path / "s.json", TEST01)
    a_file = _write(tmp_path / "taken.json", {})
    # -o naming a file is refused before the build (no progress line), the file untouched.
    result = runner.invoke(app, ["build", str(spec), "-o", str(a_file)])
    assert result.exit_code == 1
    assert result.output.strip() == f"cannot write to {a_file}: it is a file, not a folder"
    assert a_file.read_text() == "{}"
    # A folder under a file cannot be made: one line saying which and why, before the build (no progress line).
    result = runner.invoke(app, ["build", str(spec), "-o", str(a_file / "out")])
    assert result.exit_code == 1
    assert result.output.strip() == f"cannot write to {a_file / 'out'}: {a_file} is a file, not a folder"
    # generate names the file in the way too ("File exists", "Not a directory" did not say which).
    for out, reason in ((a_file / "level.json", "it is"), (a_file / "sub" / "level.json", f"{a_file} is")):
        result = runner.invoke(app, ["generate", "maze", "--cells", "4", "-o", str(out)])
        assert result.exit_code == 1
        assert result.output.strip() == f"cannot write to {out.parent}: {reason} a file, not a folder"
    # A description written where a folder stands names the file; no temp file is left beside it.
    (tmp_path / "level.json").mkdir()
    result = runner.invoke(app, ["generate", "maze", "--cells", "4", "-o", str(tmp_path / "level.json")])
    assert result.exit_code == 1
    assert result.output.strip() == f"cannot write {tmp_path / 'level.json'}: Is a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["level.json", "s.json", "taken.json"]


@pytest.mark.parametrize(
    "command",
    [
        ["keys", "create", "--scope", "read"],
        ["keys", "list"],
        ["gc"],
        ["db", "upgrade"],
        ["serve", "--port", PORT],
        ["mcp"],
    ],
)
def test_a_data_folder_that_cannot_be_used_is_named(tmp_path: Path, command: list[str]) -> None:
    """--data naming a file: one line saying so, exit 1, no traceback, the file untouched."""
    a_file = _write(tmp_path / "data.json", {})
    result = runner.invoke(app, [*command, "--data", str(a_file)])
    assert result.exit_code == 1, result.output
    assert result.output.strip() == (
        f"cannot use the data folder {a_file} (--data or SCENEFORGE_DATA_DIR): it is a file, not a folder"
    )
    assert a_file.read_text() == "{}"


def test_serve_on_a_taken_port_says_so_before_preparing_anything(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["serve", "--port", str(port), "--data", str(tmp_path / "data")])
    assert result.exit_code == 1
    assert result.output.strip() == f"cannot listen on 127.0.0.1:{port}: Address already in use"
    assert not (tmp_path / "data").exists()  # no database, no admin key, no login URL printed
    result = runner.invoke(app, ["serve", "--host", "999.1.1.1", "--data", str(tmp_path / "data")])
    assert result.exit_code == 1 and result.output.startswith("cannot listen on 999.1.1.1:8000: ")


@pytest.mark.parametrize("seed", ["-1", str(1 << 63), "9" * 60])
def test_generate_refuses_a_seed_outside_its_range(tmp_path: Path, seed: str) -> None:
    """A negative seed crashed numpy with a traceback; one of 60 digits made a sceneId over 64 characters, a
    description the build refuses. The seed is 0..2^63-1, as for GET /generate; nothing is written."""
    out = tmp_path / "level.json"
    result = runner.invoke(app, ["generate", "maze", "--cells", "4", "--seed", seed, "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--seed'" in result.output and "Traceback" not in result.output
    assert not out.exists()
    result = runner.invoke(app, ["generate", "apartment", "--cells", "4", "--seed", str((1 << 63) - 1), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["validate", str(out)]).exit_code == 0


def _glb(doc: object) -> bytes:
    import struct

    chunk = json.dumps(doc).encode()
    chunk += b" " * (-len(chunk) % 4)
    return b"glTF" + struct.pack("<II", 2, 20 + len(chunk)) + struct.pack("<II", len(chunk), 0x4E4F534A) + chunk


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        ({"nodes": [{"extras": {"type": "cell"}}]}, "/nodes/0:"),
        ({"nodes": 5}, "/nodes:"),
        ({"nodes": [{}, {"mesh": 9}]}, "/nodes/1:"),
        ({"nodes": [{"extras": [1]}]}, "/nodes/0:"),
        ({"asset": "x", "scenes": 3}, ":"),
    ],
)
def test_inspect_a_glb_not_as_sceneforge_writes_it_says_where(tmp_path: Path, doc: object, where: str) -> None:
    """GLB JSON of another shape (a missing cellId, a mesh index past the meshes, an object where a list goes)
    crashed inspect with a traceback: exit 2 with one line naming the place."""
    path = tmp_path / "x.glb"
    path.write_bytes(_glb(doc))
    result = runner.invoke(app, ["inspect", str(path), "--json"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert result.output.startswith(where) and "not as sceneforge writes it" in result.output, result.output


@pytest.mark.parametrize("meta", [b"[1, 2]", b'{"visibility": "x"}', b'{"visibility": {"cells": [{"pvs": 3}]}}'])
def test_inspect_with_a_meta_of_another_shape_beside_it_still_summarises(tmp_path: Path, meta: bytes) -> None:
    """A .meta.json beside the GLB that is JSON but not a meta crashed inspect; it is left out, with a line
    saying so on stderr, and the GLB is summarised."""
    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    assert runner.invoke(app, ["build", str(spec), "-o", str(tmp_path), "--no-progress"]).exit_code == 0
    (tmp_path / "two-rooms.meta.json").write_bytes(meta)
    result = CliRunner().invoke(app, ["inspect", str(tmp_path / "two-rooms.glb"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["cells"] == 2 and "pvs" not in summary
    assert result.stderr.startswith(f"{tmp_path / 'two-rooms.meta.json'}: not used (")


def test_text_from_the_input_reaches_the_terminal_as_text(tmp_path: Path) -> None:
    """A GLB's generator, extensions and scene id, and a description's member names (in an error's pointer),
    went to the terminal as they were: escape sequences set its title, cleared the screen, a line break made
    two lines of one error. Each character that is not printable is shown as its escape, as ``keys list``
    shows names."""
    glb = tmp_path / "x.glb"
    glb.write_bytes(
        _glb(
            {
                "asset": {"version": "2.0", "generator": "\x1b]0;owned\x07\x1b[2Jgen"},
                "extensionsUsed": ["\x1b[5mEXT"],
                "scenes": [{"extras": {"sceneforge": {"sceneId": "a\u202eb"}}}],
            }
        )
    )
    result = runner.invoke(app, ["inspect", str(glb)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output
    assert "\\x1b]0;owned\\x07\\x1b[2Jgen" in result.output and "a\\u202eb" in result.output

    doc = scene(TWO_ROOMS)
    doc["cells"][0]["\x1b[2J\nx"] = 1
    result = runner.invoke(app, ["validate", str(_write(tmp_path / "s.json", doc))])
    assert result.exit_code == 2
    assert result.output.splitlines() == ["/cells/0/\\x1b[2J\\nx: unknown field '\\x1b[2J\\nx'"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_standard_output_on_a_full_disk_says_so_in_one_line(tmp_path: Path) -> None:
    """``sceneforge validate level.json > /dev/full`` (standard output on a full disk) ended in a traceback; each
    command's output now exits 1 with one line saying so (a closed pipe, ``| head``, stays click's: exit 1)."""
    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    assert runner.invoke(app, ["build", str(spec), "-o", str(tmp_path), "--no-progress"]).exit_code == 0
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    for command in (["validate", str(spec)], ["inspect", str(tmp_path / "two-rooms.glb")]):
        with open("/dev/full", "w") as full:
            proc = subprocess.run(
                [sys.executable, "-m", "sceneforge.cli", *command],
                stdout=full, stderr=subprocess.PIPE, text=True, env=env, check=False,
            )  # fmt: skip
        assert proc.returncode == 1, proc.stderr
        assert proc.stderr == "cannot write to standard output: No space left on device\n"


def test_inspect_reads_only_the_json_chunk(tmp_path: Path) -> None:
    """inspect read the whole file: /dev/zero (or any endless stream) grew memory until the process died.
    It reads the 20-byte header and the JSON chunk, no more."""
    result = runner.invoke(app, ["inspect", "/dev/zero"])
    assert result.exit_code == 2 and result.output.strip() == ": not a GLB file (no glTF magic)"
    path = tmp_path / "big.glb"
    path.write_bytes(_glb({"asset": {"version": "2.0"}}) + b"\0" * 1000)
    result = runner.invoke(app, ["inspect", str(path), "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["bytes"] == path.stat().st_size


@pytest.mark.parametrize("command", ["build", "validate"])
def test_an_endless_input_stream_stops_at_the_size_limit(tmp_path: Path, command: str) -> None:
    """A SPEC that is a device or a pipe has no size to check first: /dev/zero was read until memory ran out.
    The read stops past the limit, which the one error line names; nothing is written."""
    args = [command, "/dev/zero"] + (["-o", str(tmp_path / "out")] if command == "build" else [])
    result = runner.invoke(app, args, env={"SCENEFORGE_MAX_BODY_BYTES": "4096"})
    assert result.exit_code == 2, result.output
    assert result.output.strip() == ": the input is more than 4,096 bytes, above the limit (SCENEFORGE_MAX_BODY_BYTES)"
    assert not (tmp_path / "out").exists()


def test_mcp_http_on_a_taken_port_and_a_url_that_is_not_one_say_so_at_once(tmp_path: Path) -> None:
    """``mcp --http`` on a taken port opened the data dir, started, then logged a bind error and exited 3;
    ``--url localhost:8000`` (no scheme) or ``ftp://…`` started a server whose every tool answered
    "unreachable". Both are refused before anything is prepared, as ``serve`` does."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["mcp", "--http", "--port", str(port), "--data", str(tmp_path / "data")])
    assert result.exit_code == 1, result.output
    assert result.output.strip() == f"cannot listen on 127.0.0.1:{port}: Address already in use"
    assert not (tmp_path / "data").exists()
    for url in ("localhost:8000", "ftp://scenes.example.com", "http://", "http://[::1"):
        result = runner.invoke(app, ["mcp", "--url", url])
        assert result.exit_code == 2, (url, result.output)
        assert "Invalid value for '--url'" in result.output and "http(s)://HOST" in result.output, result.output


@pytest.mark.parametrize(
    "command",
    [
        ["keys", "create"],
        ["keys", "list"],
        ["keys", "revoke", "1"],
        ["gc"],
        ["db", "upgrade"],
        ["serve", "--port", PORT],
        ["mcp"],
    ],
)
@pytest.mark.parametrize("damage", ["garbage", "folder", "later_schema"])
def test_a_database_that_cannot_be_opened_is_named(tmp_path: Path, command: list[str], damage: str) -> None:
    """A data folder whose sceneforge.db is not a database (overwritten, cut short) or is a folder ended
    these commands with a SQLAlchemy traceback (``serve`` and ``mcp`` as they started): one line naming the
    database and the reason, exit 1, the file left as it was. So did one at a schema revision this version
    does not know (an alembic traceback), as a later version that upgraded it leaves it after a rollback."""
    data = tmp_path / "data"
    data.mkdir()
    db = data / "sceneforge.db"
    if damage == "garbage":
        db.write_bytes(b"this is not a database" * 100)
    elif damage == "folder":
        db.mkdir()
    else:
        assert runner.invoke(app, ["db", "upgrade", "--data", str(data)]).exit_code == 0
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE alembic_version SET version_num = '9999_later'")
        conn.close()
    result = runner.invoke(app, [*command, "--data", str(data)])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"cannot use the database {db}: "), result.output
    if damage == "garbage":
        assert db.read_bytes() == b"this is not a database" * 100
    elif damage == "later_schema":
        assert "'9999_later' (a schema this version of sceneforge does not know" in lines[0]
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [("9999_later",)]
        conn.close()


@pytest.mark.parametrize("name", ["two-rooms.glb", "two-rooms.meta.json"])
def test_build_never_replaces_its_own_input(tmp_path: Path, name: str) -> None:
    """A tagged GLB (or a description) named as the build's output, built into its own folder, was replaced by
    the output: the source was lost. Refused, exit 1, one line, the input untouched and nothing written."""
    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    assert runner.invoke(app, ["build", str(spec), "-o", str(tmp_path / "built"), "--no-progress"]).exit_code == 0
    source = tmp_path / "src" / name
    source.parent.mkdir()
    source.write_bytes(
        (tmp_path / "built" / "two-rooms.glb").read_bytes() if name.endswith(".glb") else spec.read_bytes()
    )
    before = source.read_bytes()
    result = runner.invoke(app, ["build", str(source), "-o", str(tmp_path / "src" / "."), "--no-progress"])
    assert result.exit_code == 1, result.output
    assert result.output.strip().splitlines()[-1] == f"cannot write {tmp_path / 'src' / name}: it is the input (SPEC)"
    assert source.read_bytes() == before and sorted(p.name for p in source.parent.iterdir()) == [name]


@pytest.mark.parametrize(
    ("command", "option"),
    [
        (["gc", "--grace", "1e400"], "'--grace'"),
        (["gc", "--grace", "1e300"], "'--grace'"),
        (["keys", "revoke", str(1 << 63)], "'key_id'"),
    ],
)
def test_numbers_past_what_the_command_can_hold_are_refused(tmp_path: Path, command: list[str], option: str) -> None:
    """``gc --grace 1e400`` and ``keys revoke 9223372036854775808`` ended in an OverflowError traceback (a
    timedelta, a SQLite INTEGER): a usage error naming the argument, exit 2."""
    result = runner.invoke(app, [*command, "--data", str(tmp_path / "data")])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for {option}" in result.output and "Traceback" not in result.output


def test_serve_with_a_demo_that_cannot_be_read_says_so_before_starting(tmp_path: Path) -> None:
    """``serve --demo missing.json`` ended in a FileNotFoundError traceback: one line, exit 2, nothing prepared."""
    missing = tmp_path / "missing.json"
    result = runner.invoke(app, ["serve", "--port", PORT, "--demo", str(missing), "--data", str(tmp_path / "data")])
    assert result.exit_code == 2, result.output
    assert result.output.strip() == f"cannot read --demo {missing}: No such file or directory"
    assert not (tmp_path / "data").exists()


def test_build_with_a_cache_that_is_a_file_says_so_once_before_the_build(tmp_path: Path) -> None:
    """``--cache FILE`` logged two lines per cell (each entry "unreadable", then "cannot write") and built
    anyway: 1,008 lines for a 500-cell maze. Refused before the build, as ``-o FILE`` is; the file untouched."""
    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    result = runner.invoke(
        app, ["build", str(spec), "-o", str(tmp_path / "out"), "--cache", str(spec), "--no-progress"]
    )
    assert result.exit_code == 1, result.output
    assert result.output.strip() == f"cannot use --cache {spec}: it is a file, not a folder"
    assert not (tmp_path / "out").exists() and json.loads(spec.read_text()) == TWO_ROOMS


def test_build_writes_both_files_or_neither(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The GLB was renamed into place before the meta: a folder where the meta goes failed the build (exit 1,
    "nothing written") with the new GLB already written, and Ctrl-C between the two renames left a GLB
    without its meta. Every target is checked first, and a stop signal waits until both are in place."""
    import signal

    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    out = tmp_path / "out"
    (out / "two-rooms.meta.json").mkdir(parents=True)
    result = runner.invoke(app, ["build", str(spec), "-o", str(out), "--no-progress"])
    assert result.exit_code == 1, result.output
    assert result.output.strip() == f"cannot write {out / 'two-rooms.meta.json'}: Is a directory"
    assert sorted(p.name for p in out.iterdir()) == ["two-rooms.meta.json"]

    (out / "two-rooms.meta.json").rmdir()
    replace = os.replace

    def interrupted(src: str, dst: str) -> None:
        replace(src, dst)
        os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C right after the first file is in place

    monkeypatch.setattr(os, "replace", interrupted)
    result = runner.invoke(app, ["build", str(spec), "-o", str(out), "--no-progress"])
    assert result.exit_code != 0, result.output  # the interrupt still ends the command (click: "Aborted!")
    assert sorted(p.name for p in out.iterdir()) == ["two-rooms.glb", "two-rooms.meta.json"]
    assert json.loads((out / "two-rooms.meta.json").read_text())["Bytes"] == (out / "two-rooms.glb").stat().st_size


#: Runs ``sceneforge build SPEC -o OUT`` with a stop signal sent to itself halfway through writing the GLB's temp file.
_SIGNAL_MID_WRITE = """
import os, signal, sys
from sceneforge.cli import main
stop = getattr(signal, sys.argv[1])
real_fdopen = os.fdopen
class Slow:
    def __init__(self, fh): self.fh = fh
    def __enter__(self): return self
    def __exit__(self, *exc): self.fh.close()
    def write(self, data):
        self.fh.write(data[: len(data) // 2])
        self.fh.flush()
        os.kill(os.getpid(), stop)
        self.fh.write(data[len(data) // 2 :])
def fdopen(fd, *args, **kwargs):
    fh = real_fdopen(fd, *args, **kwargs)
    return Slow(fh) if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp") else fh
os.fdopen = fdopen
sys.argv = ["sceneforge", "build", *sys.argv[2:], "--no-progress"]
main()
"""


@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_stop_signal_while_the_outputs_are_written_leaves_no_temp_file(tmp_path: Path, name: str) -> None:
    """SIGTERM (``kill``) or SIGHUP (the terminal closed) while a temp file was written ended the process at
    once and left the half-written ``.<sceneId>.glb.*.tmp`` in the output folder; like Ctrl-C, each now removes
    it, and the command still ends by that signal."""
    import signal

    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-c", _SIGNAL_MID_WRITE, name, str(spec), "-o", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
    )
    number = getattr(signal, name)
    assert proc.returncode in (-number, 128 + number), proc.stderr  # Ctrl-C: click's exit 130
    assert list(out.iterdir()) == []


_SIGNAL_AS_TEMP_MADE = """
import os, signal, sys
from sceneforge.cli import main
real_open = os.open
def made(path, *args, **kwargs):
    fd = real_open(path, *args, **kwargs)
    if str(path).endswith(".tmp"):
        os.kill(os.getpid(), signal.SIGTERM)  # lands before the next line of the caller
    return fd
os.open = made
sys.argv = ["sceneforge", "build", *sys.argv[1:], "--no-progress"]
main()
"""


def test_a_stop_signal_as_a_temp_file_is_made_leaves_it_not_behind(tmp_path: Path) -> None:
    """SIGTERM landing right after the temp file was made, before the write kept its name for the clean-up (inside
    ``mkstemp``), left the empty ``.<sceneId>.glb.*.tmp`` in the output folder. Its name is kept before it is made."""
    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.run(
        [sys.executable, "-c", _SIGNAL_AS_TEMP_MADE, str(spec), "-o", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
        check=False,
    )
    assert proc.returncode == -15, proc.stderr
    assert list(out.iterdir()) == []


def test_a_stop_signal_whose_handler_returns_still_stops_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A SIGTERM handler that only notes the signal (a supervisor's): the build removes its temp files and exits
    143, never reporting files it did not write."""
    import signal

    seen: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda number, frame: seen.append(number))
    try:
        real_fdopen = os.fdopen

        def fdopen(fd: int, *args: object, **kwargs: object) -> object:
            os.kill(os.getpid(), signal.SIGTERM)
            return real_fdopen(fd, *args, **kwargs)  # type: ignore[call-overload]

        monkeypatch.setattr(os, "fdopen", fdopen)
        spec = _write(tmp_path / "s.json", TWO_ROOMS)
        result = runner.invoke(app, ["build", str(spec), "-o", str(tmp_path / "out"), "--no-progress"])
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert result.exit_code == 143, result.output
    assert seen == [signal.SIGTERM]
    assert "two-rooms.glb" not in result.output
    assert list((tmp_path / "out").iterdir()) == []


def test_an_output_that_is_a_pipe_or_a_link_to_one_is_refused_not_replaced(tmp_path: Path) -> None:
    """Outputs are renamed into place, which replaces whatever is there: ``generate -o /dev/null`` run as root
    swapped the system's /dev/null for a regular file holding the level. A device, a pipe or a socket (or a
    link to one) is refused with one line, and stays as it was; a link to a regular file is replaced as before."""
    import stat

    fifo = tmp_path / "level.json"
    os.mkfifo(fifo)
    link = tmp_path / "link.json"
    link.symlink_to(fifo)
    for target in (fifo, link):
        result = runner.invoke(app, ["generate", "maze", "--cells", "3", "-o", str(target)])
        assert result.exit_code == 1, result.output
        assert result.output.strip() == f"cannot write {target}: it is a pipe, not a regular file"
    assert stat.S_ISFIFO(fifo.stat().st_mode) and link.is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["level.json", "link.json"]  # no temp file left

    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / "two-rooms.meta.json")
    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    result = runner.invoke(app, ["build", str(spec), "-o", str(out), "--no-progress"])
    assert result.exit_code == 1, result.output
    assert result.output.strip() == f"cannot write {out / 'two-rooms.meta.json'}: it is a pipe, not a regular file"
    assert [p.name for p in out.iterdir()] == ["two-rooms.meta.json"]  # the GLB not put in place without it

    kept = tmp_path / "kept.json"
    kept.write_text("{}")
    (tmp_path / "to-file.json").symlink_to(kept)
    result = runner.invoke(app, ["generate", "maze", "--cells", "3", "-o", str(tmp_path / "to-file.json")])
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "to-file.json").is_symlink() and kept.read_text() == "{}"


def test_an_output_linked_to_a_file_descriptor_is_refused_not_replaced(tmp_path: Path) -> None:
    """``-o /dev/stdout`` with standard output a regular file passed the checks (the link leads to a regular
    file) and the rename replaced the system's ``/dev/stdout`` link. A link through ``/proc`` (a descriptor of
    the process) is refused with one line, and stays a link; the file it leads to is left as it was."""
    held = tmp_path / "held.json"
    held.write_text("{}")
    with held.open("rb") as fh:
        for target, link in (("proc", f"/proc/self/fd/{fh.fileno()}"), ("dev", "/dev/fd/" + str(fh.fileno()))):
            out = tmp_path / f"{target}.json"
            out.symlink_to(link)
            result = runner.invoke(app, ["generate", "maze", "--cells", "3", "-o", str(out)])
            assert result.exit_code == 1, result.output
            message = "it is a link to a file descriptor, not a file (-o - writes standard output)"
            assert result.output.strip() == f"cannot write {out}: {message}"
            assert out.is_symlink() and held.read_text() == "{}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev.json", "held.json", "proc.json"]


def test_a_size_limit_past_what_a_read_can_ask_for_still_reads_the_file(tmp_path: Path) -> None:
    """A SCENEFORGE_MAX_BODY_BYTES or _UPLOAD_BYTES beyond what one read can ask for (an OverflowError) or the
    memory can hold (a read of that many bytes is allocated first) still reads a small file."""
    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    huge = {"SCENEFORGE_MAX_BODY_BYTES": "9" * 30, "SCENEFORGE_MAX_UPLOAD_BYTES": str(1 << 62)}
    result = runner.invoke(app, ["validate", str(spec)], env=huge)
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["build", str(spec), "-o", str(tmp_path), "--no-progress"]).exit_code == 0
    (tmp_path / "two-rooms.meta.json").write_text("[1]")  # read too, then left out: not a meta
    result = runner.invoke(app, ["inspect", str(tmp_path / "two-rooms.glb"), "--json"], env=huge)
    assert result.exit_code == 0 and json.loads(result.stdout)["cells"] == 2, result.output
    with open("/dev/zero", "rb"):
        result = runner.invoke(app, ["validate", "/dev/zero"], env={"SCENEFORGE_MAX_BODY_BYTES": str(3 << 20)})
    assert result.exit_code == 2 and "more than 3,145,728 bytes" in result.output, result.output


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("x" * 201, "201 characters, more than the 200 a key's name holds"),
        ("ci\x1b[2J\x1b[31mroot", "control character U+001B at character 3"),
        ("two\nlines", "control character U+000A at character 4"),
        ("c1\x9b31m", "control character U+009B at character 3"),
        ("admin\u202etxt.exe", "control character U+202E at character 6"),  # shown reversed after it
        ("line\u2028break", "control character U+2028 at character 5"),
        ("bad\udcff", "a byte that is not UTF-8 at character 4"),
    ],
)
def test_keys_create_refuses_a_name_too_long_or_with_control_characters(tmp_path: Path, name: str, reason: str) -> None:
    """``keys create --name`` stored any name: escape sequences that ``keys list`` then sent raw to the terminal,
    names past the database column's 200 characters (refused by PostgreSQL only, as a database error), and
    argument bytes that are not UTF-8 (a UnicodeEncodeError traceback). A usage error, exit 2, nothing made."""
    from sceneforge.storage.tables import MAX_KEY_NAME_CHARS, api_keys

    assert api_keys.c.name.type.length == MAX_KEY_NAME_CHARS == 200
    data = tmp_path / "data"
    result = runner.invoke(app, ["keys", "create", "--name", name, "--data", str(data)])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '--name': {reason}" in result.output and "Traceback" not in result.output
    assert not data.exists()


def test_keys_create_keeps_a_name_of_printable_text_up_to_the_limit(tmp_path: Path) -> None:
    data = ["--data", str(tmp_path / "data")]
    for name in ("x" * 200, "Café ☕ build bot"):
        result = runner.invoke(app, ["keys", "create", "--name", name, *data])
        assert result.exit_code == 0, result.output
    listed = json.loads(runner.invoke(app, ["keys", "list", "--json", *data]).stdout)
    assert [row["name"] for row in listed] == ["x" * 200, "Café ☕ build bot"]


def test_keys_list_never_prints_a_stored_name_s_control_characters(tmp_path: Path) -> None:
    """A name stored before ``keys create`` checked it (or by any other way in) went to the terminal raw: an
    escape sequence could clear the screen, recolour or rewrite the rows above it. Shown escaped instead."""
    from sceneforge.api.server import create_key
    from sceneforge.cli import load_settings

    data = tmp_path / "data"
    assert runner.invoke(app, ["db", "upgrade", "--data", str(data)]).exit_code == 0
    settings = load_settings(storage={"data_dir": data})
    for name in ("\x1b[2J\x1b]0;owned\x07ci", "two\nlines\x9b", "\u202eevil", "Café ☕"):
        create_key(settings, "read", name)
    result = runner.invoke(app, ["keys", "list", "--data", str(data)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 5 and all(line.isprintable() for line in lines)
    shown = ["\\x1b[2J\\x1b]0;owned\\x07ci", "two\\nlines\\x9b", "\\u202eevil", "Café ☕"]
    assert [line.endswith(f"  {name}") for line, name in zip(lines[1:], shown, strict=True)] == [True] * 4, lines
    listed = json.loads(runner.invoke(app, ["keys", "list", "--json", "--data", str(data)]).stdout)
    assert listed[0]["name"] == "\x1b[2J\x1b]0;owned\x07ci"  # JSON keeps the name as stored (escaped by JSON)


def test_generate_refuses_more_cells_than_the_build_accepts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``generate --cells`` took up to 100,000 while the build refuses more than SCENEFORGE_MAX_CELLS (20,000 by
    default): the level written was one the next ``build`` refused. It is bounded by that setting, as
    GET /generate is; nothing is written past it."""
    for name in [k for k in os.environ if k.startswith("SCENEFORGE_")]:
        monkeypatch.delenv(name)
    out = tmp_path / "level.json"
    for cells in ("20001", "100000", str(1 << 70)):
        result = runner.invoke(app, ["generate", "maze", "--cells", cells, "-o", str(out)])
        assert result.exit_code == 2, result.output
        assert "Invalid value for '--cells'" in result.output and "SCENEFORGE_MAX_CELLS (20,000)" in result.output
        assert not out.exists()
    result = runner.invoke(
        app, ["generate", "apartment", "--cells", "8", "-o", str(out)], env={"SCENEFORGE_MAX_CELLS": "7"}
    )
    assert result.exit_code == 2 and "8 is more than SCENEFORGE_MAX_CELLS (7)" in result.output, result.output
    result = runner.invoke(
        app, ["generate", "apartment", "--cells", "7", "-o", str(out)], env={"SCENEFORGE_MAX_CELLS": "7"}
    )
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["validate", str(out)], env={"SCENEFORGE_MAX_CELLS": "7"}).exit_code == 0
    out.unlink()
    few_portals = {"SCENEFORGE_MAX_PORTALS": "3"}  # the cell limit raised without the portal limit
    result = runner.invoke(app, ["generate", "maze", "--cells", "8", "-o", str(out)], env=few_portals)
    assert result.exit_code == 2 and "more than SCENEFORGE_MAX_PORTALS (3)" in result.output, result.output
    assert not out.exists()


def test_generate_takes_the_cells_the_template_takes(tmp_path: Path) -> None:
    """``generate apartment --cells 1`` wrote a level the apartment template (``GET /templates``: cells ≥ 2) refuses,
    as GET /generate did: all three read the template's minimum now."""
    out = tmp_path / "level.json"
    result = runner.invoke(app, ["generate", "apartment", "--cells", "1", "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--cells'" in result.output and "apartment levels have at least 2 cells" in result.output
    assert not out.exists()
    for kind, cells in (("apartment", "2"), ("maze", "1")):
        assert runner.invoke(app, ["generate", kind, "--cells", cells, "-o", str(out)]).exit_code == 0


@pytest.mark.parametrize("under", ["file", "loop"])
def test_build_with_a_cache_folder_that_cannot_be_made_says_so_once_before_the_build(
    tmp_path: Path, under: str
) -> None:
    """``--cache FILE/sub`` (a file above the folder) or a path through a symlink loop logged a line per cell
    ("unreadable"), then "cannot write" per batch, and built anyway. Refused before the build, as
    ``--cache FILE`` is."""
    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    if under == "loop":
        (tmp_path / "loop").symlink_to(tmp_path / "loop")
        cache, reason = tmp_path / "loop" / "cache", "Too many levels of symbolic links"
    else:
        cache, reason = spec / "cells" / "cache", f"{spec} is a file, not a folder"
    result = runner.invoke(app, ["build", str(spec), "-o", str(tmp_path / "out"), "--cache", str(cache)])
    assert result.exit_code == 1, result.output
    assert result.output.strip() == f"cannot use --cache {cache}: {reason}"
    assert not (tmp_path / "out").exists() and json.loads(spec.read_text()) == TWO_ROOMS


def test_serve_refuses_a_demo_that_is_not_a_regular_file_or_past_the_input_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server reads each ``--demo`` whole before building it: ``--demo /dev/zero`` grew its memory until the
    process was killed, and a file of any size was read whole before the build refused it. Both are refused at
    once, exit 2, one line, as a demo that cannot be read is; nothing is prepared."""
    import sceneforge.api.server
    from sceneforge.cli import service

    started: list[list[Path]] = []
    monkeypatch.setattr(service, "_check_listen", lambda host, port: None)
    monkeypatch.setattr(sceneforge.api.server, "run_server", lambda settings, host, port, demos: started.append(demos))
    data = tmp_path / "data"
    big = _write(tmp_path / "big.json", TWO_ROOMS)
    glb = tmp_path / "big.glb"
    glb.write_bytes(b"glTF" + b"\0" * 200)
    (tmp_path / "folder.json").mkdir()
    env = {"SCENEFORGE_MAX_BODY_BYTES": "100", "SCENEFORGE_MAX_UPLOAD_BYTES": "100"}
    for path, reason in [
        (Path("/dev/zero"), "not a regular file (a device or a pipe is never read whole)"),
        (big, f"it is {big.stat().st_size:,} bytes, above the limit of 100 (SCENEFORGE_MAX_BODY_BYTES)"),
        (glb, "it is 204 bytes, above the limit of 100 (SCENEFORGE_MAX_UPLOAD_BYTES)"),
        (tmp_path / "folder.json", "Is a directory"),
    ]:
        result = runner.invoke(app, ["serve", "--port", PORT, "--demo", str(path), "--data", str(data)], env=env)
        assert result.exit_code == 2, result.output
        assert result.output.strip() == f"cannot read --demo {path}: {reason}"
        assert not data.exists() and started == []
    result = runner.invoke(app, ["serve", "--port", PORT, "--demo", str(big), "--data", str(data)])
    assert result.exit_code == 0, result.output
    assert started == [[big]]


@pytest.mark.parametrize("command", [["serve"], ["mcp", "--http"]])
@pytest.mark.parametrize(("host", "reason"), [("a" * 64 + ".example", "too long"), ("a..b", "label empty")])
def test_listening_on_a_host_name_that_cannot_be_encoded_says_so(
    tmp_path: Path, command: list[str], host: str, reason: str
) -> None:
    """``--host`` with a label past 63 characters or an empty one ended in a UnicodeError traceback from the
    IDNA codec: one ``cannot listen on HOST:PORT`` line, exit 1, as for any host that is not one, nothing made."""
    data = tmp_path / "data"
    result = runner.invoke(app, [*command, "--host", host, "--data", str(data)])
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"cannot listen on {host}:") and "not a host name" in result.output
    assert reason in result.output and len(result.output.strip().splitlines()) == 1
    assert not data.exists()


def test_inspect_leaves_out_a_meta_beside_it_that_is_a_pipe(tmp_path: Path) -> None:
    """``FILE.meta.json`` is read without being named: one that was a FIFO held ``inspect`` forever, waiting
    for a writer. It is opened without blocking and left out, with the line saying why."""
    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    assert runner.invoke(app, ["build", str(spec), "-o", str(tmp_path), "--no-progress"]).exit_code == 0
    meta = tmp_path / "two-rooms.meta.json"
    meta.unlink()
    os.mkfifo(meta)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [sys.executable, "-m", "sceneforge.cli", "inspect", str(tmp_path / "two-rooms.glb"), "--json"]
    try:  # a generous limit that only catches the hang
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("inspect waited for a writer of the .meta.json pipe beside the GLB")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["cells"] == 2
    assert done.stderr.strip() == f"{meta}: not used (not a regular file)"


def test_a_blob_store_that_cannot_be_reached_stops_the_command_in_one_line(tmp_path: Path) -> None:
    """An S3 endpoint that refuses connections (or no credentials) ended ``serve`` and ``gc`` in a botocore
    traceback from inside the start-up; the command exits 1 with one line naming the bucket and the endpoint."""
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "SCENEFORGE_BLOBS": "s3",
        "SCENEFORGE_S3_BUCKET": "levels",
        "SCENEFORGE_S3_ENDPOINT": f"http://127.0.0.1:{port}",
        "SCENEFORGE_S3_ACCESS_KEY": "a",
        "SCENEFORGE_S3_SECRET_KEY": "b",
    }
    command = [sys.executable, "-m", "sceneforge.cli", "gc", "--dry-run", "--data", str(tmp_path / "data")]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith(
        f"error: cannot use the S3 bucket levels at http://127.0.0.1:{port} (SCENEFORGE_S3_*): "
    )


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("missing.pem", "neither PEM text nor a PEM file that can be read (No such file or directory)"),
        (".", "neither PEM text nor a PEM file that can be read (Is a directory)"),
        ("-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----", "not an RS256 public key in PEM ("),
    ],
)
def test_serve_with_a_jwt_public_key_it_cannot_use_says_so_before_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str, reason: str
) -> None:
    """A SCENEFORGE_JWT_PUBLIC_KEY path that is not there was taken for the key's text: the server started and
    answered every bearer token 401. ``serve`` exits 1 with one line before it prepares anything."""
    import socket

    import sceneforge.api.server

    started: list[object] = []
    monkeypatch.setattr(sceneforge.api.server, "run_server", lambda *args: started.append(args))
    monkeypatch.chdir(tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = tmp_path / "data"
    result = runner.invoke(
        app, ["serve", "--port", str(port), "--data", str(data)], env={"SCENEFORGE_JWT_PUBLIC_KEY": key}
    )
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: SCENEFORGE_JWT_PUBLIC_KEY: {reason}"), result.stderr
    assert len(result.stderr.splitlines()) == 1 and not data.exists() and not started


def test_two_builds_into_one_folder_put_their_files_in_one_after_the_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file went in whole, but two builds of one SPEC into one folder at once could leave one's GLB beside
    the other's meta (its ETag and Bytes another file's). The folder is locked (``flock``) while a build puts
    its files in: another command trying to meanwhile finds it held."""
    import fcntl

    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    out = tmp_path / "out"
    out.mkdir()
    replace, held = os.replace, []

    def watched(src: str, dst: str) -> None:
        fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY)  # as another process would
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held.append(dst)
        finally:
            os.close(fd)
        replace(src, dst)

    monkeypatch.setattr(os, "replace", watched)
    result = runner.invoke(app, ["build", str(spec), "-o", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert sorted(Path(p).name for p in held) == ["two-rooms.glb", "two-rooms.meta.json"]


def test_one_shot_commands_leave_pydantic_plugins_unloaded(tmp_path: Path) -> None:
    # Finding pydantic's plugins reads every installed package's entry points (docs/cli.md): a build and a
    # validation start without them, unless PYDANTIC_DISABLE_PLUGINS says otherwise (empty: plugins on).
    # An installed plugin here: a distribution whose ``pydantic`` entry point is a module of its own.
    site = tmp_path / "site"
    (site / "probe_plugin-1.0.dist-info").mkdir(parents=True)
    (site / "probe_plugin-1.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: probe-plugin\nVersion: 1.0\n"
    )
    (site / "probe_plugin-1.0.dist-info" / "entry_points.txt").write_text("[pydantic]\nprobe = probe_plugin:plugin\n")
    (site / "probe_plugin.py").write_text(
        "class Plugin:\n    def new_schema_validator(self, *args, **kwargs):\n        return None, None, None\n\n"
        "plugin = Plugin()\n"
    )
    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    env = {k: v for k, v in _clean_env().items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    env["PYTHONPATH"] = os.pathsep.join([str(site), *filter(None, [env.get("PYTHONPATH")])])
    watched = ("probe_plugin", "sceneforge.model.description")
    for argv in (["validate", str(spec)], ["build", str(spec), "-o", str(tmp_path / "out"), "--no-progress"]):
        assert _modules_after(argv, watched, env) == ["sceneforge.model.description"], argv
    kept = {**env, "PYDANTIC_DISABLE_PLUGINS": ""}
    assert _modules_after(["validate", str(spec)], watched, kept) == ["probe_plugin", "sceneforge.model.description"]


def _cli_with_input(args: list[str], data: bytes, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The command in a process of its own, ``data`` on its standard input (a real pipe, as a shell gives it)."""
    return subprocess.run(
        [sys.executable, "-m", "sceneforge.cli", *args],
        input=data,
        capture_output=True,
        env={**os.environ, **(env or {})},
    )


def test_spec_dash_reads_a_description_or_a_tagged_glb_from_standard_input(tmp_path: Path) -> None:
    """``jq … | sceneforge build - -o out``: SPEC ``-`` is standard input; the output is the file's build, and a GLB
    (the build's own, read back as a tagged export) is told from JSON by its magic."""
    spec = _write(tmp_path / "s.json", TEST01)
    proc = _cli_with_input(["build", "-", "-o", str(tmp_path / "piped"), "--no-progress"], spec.read_bytes())
    assert proc.returncode == 0, proc.stderr
    from_file = runner.invoke(app, ["build", str(spec), "-o", str(tmp_path / "file"), "--no-progress"])
    assert from_file.exit_code == 0, from_file.output
    glb = (tmp_path / "piped" / "test01.glb").read_bytes()
    assert glb == (tmp_path / "file" / "test01.glb").read_bytes()
    proc = _cli_with_input(["validate", "-"], glb)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().splitlines()[-1].startswith("valid: test01, ")


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"{" + b" " * 5000, ": the input is more than 4,096 bytes, above the limit (SCENEFORGE_MAX_BODY_BYTES)"),
        (b"glTF" + b"\0" * 5000, ": the input is more than 4,200 bytes, above the limit (SCENEFORGE_MAX_UPLOAD_BYTES)"),
        (b"", ": the description is empty: it must be JSON"),
    ],
)
def test_standard_input_is_held_to_the_limit_of_what_it_holds(tmp_path: Path, data: bytes, line: str) -> None:
    env = {"SCENEFORGE_MAX_BODY_BYTES": "4096", "SCENEFORGE_MAX_UPLOAD_BYTES": "4200"}
    proc = _cli_with_input(["build", "-", "-o", str(tmp_path / "out"), "--no-progress"], data, env)
    assert proc.returncode == 2 and proc.stderr.decode().strip() == line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("redirect", "line"),
    [
        ("<&-", ": cannot read standard input (SPEC -): it is closed"),
        ("0>{tmp}/input.txt", ": cannot read standard input (SPEC -): Bad file descriptor"),
    ],
)
def test_standard_input_that_cannot_be_read_is_said_so(tmp_path: Path, redirect: str, line: str) -> None:
    """Standard input closed, or opened for writing only: one line and exit 2 (a traceback and exit 1 before)."""
    for command in ("validate -", f"build - -o {tmp_path / 'out'} --no-progress"):
        proc = subprocess.run(
            ["sh", "-c", f'exec "$0" -m sceneforge.cli {command} {redirect.format(tmp=tmp_path)}', sys.executable],
            capture_output=True,
        )
        assert proc.returncode == 2 and proc.stderr.decode().strip() == line, proc.stderr
    assert not (tmp_path / "out").exists()


def test_standard_input_from_a_terminal_is_refused_not_waited_on(tmp_path: Path) -> None:
    """``sceneforge validate -`` typed with nothing piped in waited, silently, for a scene typed by hand."""
    leader, terminal = os.openpty()
    try:
        for args in (["validate", "-"], ["build", "-", "-o", str(tmp_path / "out"), "--no-progress"]):
            proc = subprocess.run(
                [sys.executable, "-m", "sceneforge.cli", *args], stdin=terminal, capture_output=True, timeout=30
            )
            line = ": standard input is a terminal (SPEC -): pipe or redirect the description or GLB into it"
            assert proc.returncode == 2 and proc.stderr.decode().strip() == line, proc.stderr
    finally:
        os.close(leader)
        os.close(terminal)
    assert not (tmp_path / "out").exists()


def test_python_dash_m_sceneforge_is_the_console_script(tmp_path: Path) -> None:
    """``python -m sceneforge`` answers as ``sceneforge`` does: its help lists the commands, and a build writes the
    GLB (there was no ``__main__``: 'sceneforge is a package and cannot be directly executed')."""
    spec = _write(tmp_path / "two.json", scene(TEST01))
    helped = subprocess.run([sys.executable, "-m", "sceneforge", "--help"], capture_output=True, text=True, check=False)
    assert helped.returncode == 0 and "build" in helped.stdout and "serve" in helped.stdout
    built = subprocess.run(
        [sys.executable, "-m", "sceneforge", "build", str(spec), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    assert [p.suffix for p in (tmp_path / "out").iterdir() if p.suffix == ".glb"] == [".glb"]


@pytest.mark.parametrize(
    ("args", "template", "params"),
    [
        (["office", "--storeys", "3", "--rooms", "4", "--seed", "5"], "office", {"storeys": 3, "rooms": 4, "seed": 5}),
        (["office"], "office", {}),
        (["gallery", "--halls", "4", "--cabinets", "1"], "gallery", {"halls": 4, "cabinets": 1.0}),
    ],
)
def test_generate_writes_the_office_and_gallery_templates(
    tmp_path: Path, args: list[str], template: str, params: dict[str, object]
) -> None:
    """``generate office`` and ``generate gallery`` write the level the draft template of that name makes
    (``GET /templates``: the same parameters and defaults), and it builds."""
    from sceneforge.generate.templates import from_template

    spec = tmp_path / "level.json"
    result = runner.invoke(app, ["generate", *args, "-o", str(spec)])
    assert result.exit_code == 0, result.output
    doc = json.loads(spec.read_text())
    assert doc == from_template(template, params)
    build = runner.invoke(app, ["build", str(spec), "-o", str(tmp_path / "out"), "--no-progress"])
    assert build.exit_code == 0, build.output
    assert json.loads((tmp_path / "out" / f"{doc['sceneId']}.meta.json").read_text())["stats"]["booleanCells"] == 0


@pytest.mark.parametrize(
    ("args", "named", "why"),
    [
        (["maze"], "--cells", "maze levels need a number of cells"),
        (["maze", "--cells", "3", "--storeys", "2"], "--storeys", "an option of office levels, not of maze ones"),
        (["office", "--cells", "30"], "--cells", "an option of maze and apartment levels, not of office ones"),
        (["gallery", "--rooms", "3"], "--rooms", "an option of office levels, not of gallery ones"),
        (["office", "--storeys", "51"], "--storeys", "less than or equal to 50"),
        (["office", "--rooms", "0"], "--rooms", "greater than or equal to 1"),
        (["gallery", "--cabinets", "1.5"], "--cabinets", "less than or equal to 1"),
        (["gallery", "--seed", str(1 << 63)], "--seed", "0<=x<=9223372036854775807"),
    ],
)
def test_generate_refuses_options_a_kind_does_not_take_or_out_of_bounds(
    tmp_path: Path, args: list[str], named: str, why: str
) -> None:
    out = tmp_path / "level.json"
    result = runner.invoke(app, ["generate", *args, "-o", str(out)])
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{named}'" in result.output and why in result.output, result.output
    assert not out.exists()


def test_generate_refuses_an_office_past_the_cell_limit(tmp_path: Path) -> None:
    """An office's options bound its storeys and rooms, not its cells: a level the build would refuse under
    SCENEFORGE_MAX_CELLS is refused naming the options, and nothing is written."""
    out = tmp_path / "level.json"
    limited = {"SCENEFORGE_MAX_CELLS": "30"}
    result = runner.invoke(app, ["generate", "office", "--storeys", "2", "--rooms", "8", "-o", str(out)], env=limited)
    assert result.exit_code == 2, result.output
    assert "'--storeys'/'--rooms'" in result.output and "more than SCENEFORGE_MAX_CELLS (30)" in result.output
    assert not out.exists()
    result = runner.invoke(app, ["generate", "office", "--storeys", "1", "--rooms", "3", "-o", str(out)], env=limited)
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["validate", str(out)], env=limited).exit_code == 0


def test_generate_help_states_the_templates_bounds_and_defaults() -> None:
    """The options' help gives each parameter's bounds and default as the template's model has them (the
    help is written out so that ``--help`` builds no model): they must not drift apart."""
    from sceneforge.generate.templates import TEMPLATES

    text = " ".join(runner.invoke(app, ["generate", "--help"], env={"COLUMNS": "400"}).output.split())
    for kind, names in (("office", ("storeys", "rooms")), ("gallery", ("halls", "cabinets"))):
        fields = TEMPLATES[kind].params.model_fields
        for name in names:
            bounds = {type(m).__name__: m for m in fields[name].metadata}
            low, high = bounds["Ge"].ge, bounds["Le"].le
            expected = f"--{name} <{type(fields[name].default).__name__}> {kind}: "
            assert expected in text, (expected, text)
            said = text.split(expected, 1)[1]
            assert f", {low:g} to {high:g} [default: {fields[name].default:g}]" in said.split("--", 1)[0], said[:200]


def test_build_removes_the_temp_files_a_killed_build_left_and_nothing_else(tmp_path: Path) -> None:
    """A build killed (SIGKILL, a power cut) while it wrote its outputs leaves ``.<name>.<random>.tmp`` beside them,
    which nothing removed: the next build of those outputs removes the ones older than an hour (a write in flight is
    seconds old), and no other file of the folder."""
    from sceneforge.cli.files import STALE_TEMP_S

    spec = _write(tmp_path / "s.json", TWO_ROOMS)
    out = tmp_path / "out"
    out.mkdir()
    old = time.time() - STALE_TEMP_S - 60
    left = [out / ".two-rooms.glb.k3_9xq0a.tmp", out / ".two-rooms.meta.json.abcd1234.tmp"]
    kept = [
        out / ".two-rooms.glb.zz00zz00.tmp",  # another build's, in flight
        out / ".notes.abcd1234.tmp",  # not an output's
        out / ".two-rooms.glb.tmp",  # not a temp file's name
        out / "maze.glb",
    ]
    for path in [*left, *kept]:
        path.write_bytes(b"half")
    for path in [*left, *kept[1:]]:
        os.utime(path, (old, old))
    result = runner.invoke(app, ["build", str(spec), "-o", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert not any(path.exists() for path in left)
    assert all(path.read_bytes() == b"half" for path in kept)
