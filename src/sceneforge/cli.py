"""The ``sceneforge`` command line (docs/cli.md).

Exit codes: 0 success, 2 invalid input (one ``<json-pointer>: <message>`` line per error on
stderr, nothing written), 1 anything else (a bad ``SCENEFORGE_*`` value included). Each command
reads the :class:`~sceneforge.settings.Settings` once, its flags overriding the environment
(docs/configuration.md), and passes them on. Heavy libraries are imported inside the commands
that need them: ``sceneforge --help`` and ``validate`` stay fast.

Unlike the rest of the package, this module's annotations are objects, not strings (no ``from __future__
import annotations``): typer reads every command's parameters from them on each run, whichever command runs,
and a string annotation is compiled and evaluated each time (its ``typer.Option(...)`` made again), ~5 ms of
every command's start-up. Names imported only for type checking are quoted.
"""

import errno
import json
import os
import re
import sys
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from .errors import AssetError, SceneforgeError, SceneInvalid
from .wire import MAX_INT64, utc_now_iso

if TYPE_CHECKING:
    from .config import Limits
    from .settings import Settings

__all__ = ["app", "main"]

# Plain help (no rich markup): rich.markdown alone costs more than the start-up budget of `--help`.
app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    help="Compile and serve portal-culled indoor scenes.",
)
keys_app = typer.Typer(no_args_is_help=True, help="API keys of the service.")
db_app = typer.Typer(no_args_is_help=True, help="The service's metadata database.")
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")

EXIT_INVALID = 2


def _fail_invalid(exc: SceneInvalid) -> typer.Exit:
    for issue in exc.issues:
        typer.echo(issue.line(), err=True)
    return typer.Exit(EXIT_INVALID)


def load_settings(**sections: dict[str, Any]) -> "Settings":
    """The settings of this command: the environment, with ``sections`` (from flags) on top.

    A bad value exits 1 with one ``SCENEFORGE_<NAME>: <problem>`` line per error.
    """
    from pydantic import ValidationError

    from .settings import Settings, env_var

    overrides: dict[str, Any] = {}
    for name, values in sections.items():
        given = {k: v for k, v in values.items() if v is not None}
        if given:
            overrides[name] = given
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        for error in exc.errors():
            where = [str(part) for part in error["loc"]]
            try:
                name = env_var(where[0], where[1])
            except (IndexError, KeyError):
                name = ".".join(where)
            typer.echo(f"error: {name}: {error['msg']} (got {_without_password(error.get('input'))!r})", err=True)
        raise typer.Exit(1) from None


def _without_password(value: Any) -> Any:
    """A URL as an error line may show it: the password of ``scheme://user:password@host`` written ``***``."""
    return re.sub(r"(//[^/@:]*:)[^/@]*@", r"\1***@", value) if isinstance(value, str) else value


#: Every setting's environment variable starts with this (tests/test_cli.py checks it against
#: :func:`sceneforge.settings.env_vars`).
_ENV_PREFIX = "SCENEFORGE_"


def load_limits() -> "Limits":
    """``load_settings().limits``, without building the settings when no ``SCENEFORGE_*`` variable is set.

    With none set (empty counts as unset, as in :class:`~sceneforge.settings.Settings`) the
    settings are their defaults, so this is ``Limits()``; importing pydantic-settings and
    validating every section would cost ~0.1 s of a ``build``'s start-up for nothing. With any
    set, the full settings are read, and a bad value anywhere exits 1 as for every command.
    """
    if any(name.startswith(_ENV_PREFIX) and value.strip() for name, value in os.environ.items()):
        return load_settings().limits
    from .config import Limits

    return Limits()


def _input_limit(spec: Path, limits: "Limits") -> tuple[int, str]:
    """The most bytes SPEC may hold and the setting that says so: a tagged ``.glb`` is an upload, else a body."""
    if spec.suffix.lower() == ".glb":
        return limits.max_upload_bytes, "SCENEFORGE_MAX_UPLOAD_BYTES"
    return limits.max_body_bytes, "SCENEFORGE_MAX_BODY_BYTES"


def _read_spec(spec: Path, limits: "Limits") -> bytes:
    """SPEC's bytes, at most the input limit: a file larger is refused before it is read, and a device or a
    pipe (no size to check first; /dev/zero never ends) is read no further than one byte past the limit."""
    from .errors import Issue, LimitExceeded
    from .report import read_at_most

    cap, name = _input_limit(spec, limits)
    try:
        with spec.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > cap:
                raise LimitExceeded(name, size, cap, what="input size (bytes)")
            data = read_at_most(fh, cap + 1)
    except OSError as exc:
        raise SceneInvalid([AssetError("", f"cannot read {spec}: {exc.strerror}").issues[0]]) from None
    if len(data) > cap:
        raise SceneInvalid(
            [Issue("", "limit_exceeded", f"the input is more than {cap:,} bytes, above the limit ({name})")]
        )
    return data


def file_asset_resolver(base: Path, max_bytes: int) -> Any:
    """``asset:<path-or-id>`` → the file at that path, relative to the spec's folder."""

    def resolve(asset_id: str) -> bytes:
        path = (base / asset_id).resolve()
        if not path.is_file():
            raise AssetError(
                "", f"asset file {asset_id!r} not found next to the description ({path})", "asset_not_found"
            )
        if path.stat().st_size > max_bytes:
            raise AssetError("", f"asset {asset_id!r} is larger than SCENEFORGE_MAX_UPLOAD_BYTES ({max_bytes:,} bytes)")
        return path.read_bytes()

    return resolve


@contextmanager
def _progress_reporter(enabled: bool) -> Iterator[Any]:
    """A rich progress bar on a terminal, plain ``stage NN%`` lines otherwise."""
    if enabled and sys.stderr.isatty():
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(),
            transient=True,
        ) as bar:
            task = bar.add_task("build", total=1.0)
            yield lambda stage, fraction: bar.update(task, completed=fraction, description=stage)
    elif enabled:
        last: list[str] = []

        def plain(stage: str, fraction: float) -> None:
            if not last or last[-1] != stage:
                last.append(stage)
                typer.echo(f"{stage} {fraction * 100:.0f}%", err=True)

        yield plain
    else:
        yield lambda stage, fraction: None


EXIT_OUTPUT = 1


def _write_outputs(folder: Path, outputs: dict[Path, bytes]) -> None:
    """Make ``folder`` and write ``outputs`` into it atomically; a folder that cannot be made or
    written (a file in the way, no permission, a full disk) exits 1 with one line saying which and
    why, and writes nothing."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # "File exists" or "Not a directory" for a file in the way: say which file
        typer.echo(f"cannot write to {folder}: {_folder_problem(folder) or exc.strerror or exc}", err=True)
        raise typer.Exit(EXIT_OUTPUT) from None
    _write_atomically(outputs)


def _check_out_folder(folder: Path) -> None:
    """Refuse an output folder that cannot be one (a file, a file above it) before any work is done."""
    problem = _folder_problem(folder)
    if problem:
        typer.echo(f"cannot write to {folder}: {problem}", err=True)
        raise typer.Exit(EXIT_OUTPUT)


def _folder_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot be a folder (it is a file, a file stands above it, it cannot be looked at), or None
    when it is one or could be made: the nearest of it and its parents that exists decides."""
    import stat

    for place in (folder, *folder.parents):
        try:
            mode = os.stat(place).st_mode
        except (FileNotFoundError, NotADirectoryError):  # missing, or under a file: a parent says which
            continue
        except OSError as exc:  # no permission to look, a symlink loop
            return exc.strerror or str(exc)
        if stat.S_ISDIR(mode):
            return None
        return "it is a file, not a folder" if place == folder else f"{place} is a file, not a folder"
    return None


def _write_atomically(outputs: dict[Path, bytes]) -> None:
    """Write every file or none: each goes to a temp file first, then all are renamed. An error
    exits 1 naming the file it was writing."""
    temps: list[tuple[str, Path]] = []
    umask = os.umask(0)
    os.umask(umask)
    path = next(iter(outputs), Path())
    try:
        for path, data in outputs.items():
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            temps.append((tmp, path))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; outputs are ordinary files
        for _, path in temps:  # a rename onto a folder fails: known before the first file is in place
            if path.is_dir():
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR))
        # Ctrl-C between two renames would leave one file without the other, and so would a second command
        # writing the same files at once (its GLB beside this one's meta): the folders are locked meanwhile.
        with _signals_held(), _folders_locked(path.parent for _, path in temps):
            for tmp, path in temps:
                os.replace(tmp, path)
    except OSError as exc:  # no permission, a full disk, a folder where the file goes: the file it was for
        typer.echo(f"cannot write {path}: {exc.strerror or exc}", err=True)
        raise typer.Exit(EXIT_OUTPUT) from None
    finally:
        for tmp, _ in temps:
            if os.path.exists(tmp):
                os.unlink(tmp)


@contextmanager
def _folders_locked(folders: Iterable[Path]) -> Iterator[None]:
    """An exclusive ``flock`` on each of ``folders`` for the block: two commands putting files in one folder at
    once put them in one after the other. The lock goes with the descriptor, so a killed command holds none."""
    import fcntl

    fds: list[int] = []
    try:
        for folder in sorted(set(folders)):
            fds.append(os.open(folder, os.O_RDONLY | os.O_DIRECTORY))
            fcntl.flock(fds[-1], fcntl.LOCK_EX)
        yield
    finally:
        for fd in fds:
            os.close(fd)


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM that arrive in the block are raised again when it ends (and act as they would have).

    Their Python handlers are swapped, not the thread's signal mask: a signal sent to the process may be
    taken by any thread, and Python runs its handler in the main thread whichever did.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    held = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda number, frame: caught.append(number)) for sig in held}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for number in dict.fromkeys(caught):
            signal.raise_signal(number)


@app.command()
def build(
    spec: Annotated[Path, typer.Argument(help="A .json scene description or a tagged .glb export.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output folder.")],
    quantize: Annotated[
        bool | None,
        typer.Option("--quantize/--no-quantize", help="KHR_mesh_quantization (default: on with --compress)."),
    ] = None,
    compress: Annotated[
        bool, typer.Option(help="EXT_meshopt_compression of all buffers (quantized unless --no-quantize).")
    ] = False,
    fallback: Annotated[
        bool,
        typer.Option(help="With --compress: also store the uncompressed data, for viewers without meshopt."),
    ] = False,
    instancing: Annotated[
        bool, typer.Option(help="EXT_mesh_gpu_instancing for instances; --no-instancing expands them.")
    ] = True,
    pvs: Annotated[bool, typer.Option(help="Compute the potentially-visible set per cell.")] = True,
    all_uvs: Annotated[bool, typer.Option(help="Keep world-scaled UVs on untextured materials too.")] = False,
    progress: Annotated[bool, typer.Option(help="Show build progress on stderr.")] = True,
    cache: Annotated[
        Path | None,
        typer.Option(help="Reuse per-cell results from earlier builds kept in this folder (incremental build)."),
    ] = None,
    cache_size: Annotated[
        int, typer.Option(help="Most bytes the --cache folder keeps (least recently used entries go first).", min=1)
    ] = 1 << 30,
) -> None:
    """Build SPEC into OUT/<sceneId>.glb and OUT/<sceneId>.meta.json."""
    from .compile import BuildOptions, compile_scene
    from .encode.meta import with_version

    limits = load_limits()
    if fallback and not compress:
        typer.echo("--fallback needs --compress (it stores the uncompressed data next to the compressed)", err=True)
        raise typer.Exit(EXIT_INVALID)
    _check_out_folder(out)
    problem = None if cache is None else _folder_problem(cache)
    if problem:
        typer.echo(f"cannot use --cache {cache}: {problem}", err=True)
        raise typer.Exit(EXIT_OUTPUT)
    try:
        data = _read_spec(spec, limits)
        with _progress_reporter(progress) as report:
            result = compile_scene(
                data,
                BuildOptions(
                    # Like gltfpack -cc: compression works on quantized data unless asked otherwise.
                    quantize=compress if quantize is None else quantize,
                    compress=compress,
                    pvs=pvs,
                    all_uvs=all_uvs,
                    fallback=fallback,
                    instancing=instancing,
                    limits=limits,
                    cache=_cell_cache(cache, cache_size),
                ),
                resolve_asset=file_asset_resolver(spec.parent, limits.max_upload_bytes),
                progress=report,
            )
    except SceneInvalid as exc:
        raise _fail_invalid(exc) from None
    for warning in result.warnings:
        typer.echo(f"warning {warning.line()}", err=True)
    meta = with_version(result.meta, 1, utc_now_iso())
    glb_path = out / f"{result.scene_id}.glb"
    meta_path = out / f"{result.scene_id}.meta.json"
    for path in (glb_path, meta_path):  # a tagged GLB named <sceneId>.glb, built into its own folder
        if _same_file(path, spec):
            typer.echo(f"cannot write {path}: it is the input (SPEC)", err=True)
            raise typer.Exit(EXIT_OUTPUT)
    # Compact, formatted as the service serves it: an indented dump goes through json's pure-Python encoder
    # (~0.4 s and 2.5× the bytes on a 5,000-cell office); `jq .` pretty-prints it for reading.
    _write_outputs(out, {glb_path: result.glb, meta_path: json.dumps(meta, separators=(",", ":")).encode()})
    stats = meta["stats"]
    typer.echo(
        f"{glb_path} {len(result.glb):,} bytes, ETag {result.etag}, {len(meta['Meta']['cells'])} cells, "
        f"{meta['Meta']['portals']} portals, {stats['triangles']:,} triangles, {stats['drawCalls']} draw calls, "
        f"{stats['buildMs']} ms" + (f", {stats['cellsReused']} cells reused" if cache is not None else "")
    )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them is missing (or cannot be looked at): not the same file
        return False


def _cell_cache(folder: Path | None, max_bytes: int) -> Any:
    if folder is None:
        return None
    from .storage.cellcache import DirCellCache

    return DirCellCache(folder, max_bytes)


@app.command()
def validate(spec: Annotated[Path, typer.Argument(help="A .json scene description or a tagged .glb export.")]) -> None:
    """Check SPEC: errors (exit 2) and warnings (exit 0)."""
    # As the service checks a draft (check_scene): ingest, validation, room geometry and the scene's
    # limits, no optimize, visibility or encode. Validating with a build without the PVS wrote every
    # cell's reachable cells: quadratic, 420 MB at 2,000 connected cells, killed past 100 s at 20,000.
    from .compile import BuildOptions, checked_scene

    limits = load_limits()
    try:
        ir, warnings = checked_scene(
            _read_spec(spec, limits),
            BuildOptions(pvs=False, limits=limits),
            resolve_asset=file_asset_resolver(spec.parent, limits.max_upload_bytes),
        )
    except SceneInvalid as exc:
        raise _fail_invalid(exc) from None
    for warning in warnings:
        typer.echo(f"warning {warning.line()}")
    typer.echo(f"valid: {ir.scene_id}, {len(ir.cells)} cells, {len(ir.portals)} portals")


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(help="A GLB built by sceneforge (its .meta.json beside it adds the PVS).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Cells, portals, triangles, draw calls and a PVS summary of a built GLB."""
    from .report import meta_path_beside, read_glb_json, read_meta_beside, summarize_glb

    limits = load_limits()
    try:
        data, size = read_glb_json(file, limits.max_upload_bytes)
        summary = summarize_glb(data, None, size)
    except OSError as exc:
        typer.echo(f"{file}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    except SceneInvalid as exc:
        raise _fail_invalid(exc) from None
    try:
        meta = read_meta_beside(file, limits.max_upload_bytes)
    except (ValueError, RecursionError) as exc:  # the summary stands without the PVS
        typer.echo(f"{meta_path_beside(file)}: not used ({exc})", err=True)
    else:
        if meta is not None:
            summary = summarize_glb(data, meta, size)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{file.name}", show_header=False)
    for key, value in summary.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(value) or "-"
        elif isinstance(value, int):
            value = f"{value:,}"
        table.add_row(key, escape(str(value)))  # the file's own text, never markup
    Console().print(table)


class Level(StrEnum):
    maze = "maze"
    apartment = "apartment"


@app.command()
def generate(
    kind: Annotated[Level, typer.Argument(help="maze or apartment")],
    cells: Annotated[
        int, typer.Option("--cells", min=1, help="Number of cells: 1 to SCENEFORGE_MAX_CELLS (20,000 by default).")
    ],
    out: Annotated[Path, typer.Option("-o", "--out", help="Where to write the description (.json).")],
    seed: Annotated[
        int, typer.Option(min=0, max=MAX_INT64, help="Random seed (0 to 2^63-1): the same seed gives the same level.")
    ] = 0,
) -> None:
    """Write a procedural level description (for demos, tests and benchmarks)."""
    from .generate import generate_apartment, generate_maze

    limits = load_limits()  # as GET /generate: no level the build would then refuse
    if cells > limits.max_cells:
        message = f"{cells:,} is more than SCENEFORGE_MAX_CELLS ({limits.max_cells:,}), the most cells a build accepts"
        raise typer.BadParameter(message, param_hint="'--cells'")
    make = generate_maze if kind is Level.maze else generate_apartment
    description = make(cells, seed=seed)
    portals = len(description["portals"])
    if portals > limits.max_portals:  # only when SCENEFORGE_MAX_CELLS is raised alone: 1.15 portals per cell at most
        message = (
            f"{cells:,} cells make a level of {portals:,} portals, more than SCENEFORGE_MAX_PORTALS "
            f"({limits.max_portals:,}), the most portals a build accepts"
        )
        raise typer.BadParameter(message, param_hint="'--cells'")
    _write_outputs(out.parent, {out: json.dumps(description, separators=(",", ":")).encode()})
    typer.echo(
        f"{out}: {kind.value} {description['sceneId']}, "
        f"{len(description['cells'])} cells, {len(description['portals'])} portals"
    )


DataOption = Annotated[Path | None, typer.Option("--data", help="Data dir (default ./data or SCENEFORGE_DATA_DIR).")]


def _storage(data: Path | None) -> dict[str, Any]:
    """``--data`` as a storage override (resolved: server worker processes may start elsewhere)."""
    return {"data_dir": data.resolve() if data is not None else None}


def _service_settings(data: Path | None) -> "Settings":
    """The settings of a command that uses the data folder, that folder made first: one that cannot be
    (a file in the way, no permission) exits 1 with one line saying which and why."""
    settings = load_settings(storage=_storage(data))
    _make_data_folder(settings)
    return settings


def _make_data_folder(settings: "Settings") -> None:
    """Make the data folder of ``settings``; exit 1 with one line when it cannot be made (:func:`_service_settings`)."""
    folder = settings.storage.data_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = "it is a file, not a folder" if isinstance(exc, FileExistsError) else exc.strerror or str(exc)
        typer.echo(f"cannot use the data folder {folder} (--data or SCENEFORGE_DATA_DIR): {reason}", err=True)
        raise typer.Exit(EXIT_OUTPUT) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    data: DataOption = None,
    demo: Annotated[
        list[Path] | None, typer.Option("--demo", help="A description to build into the store at start.")
    ] = None,
) -> None:
    """Run the service: HTTP API, studio, job workers, events."""
    from .api.server import run_server

    _check_listen(host, port)
    settings = load_settings(storage=_storage(data))
    for path in demo or []:  # an invalid description is reported and skipped at start; one not there is a typo
        problem = _demo_problem(path, settings.limits)
        if problem:
            typer.echo(f"cannot read --demo {path}: {problem}", err=True)
            raise typer.Exit(EXIT_INVALID)
    _check_jwt_public_key(settings.auth.jwt_public_key)
    _make_data_folder(settings)
    _check_database(settings)
    run_server(settings, host, port, list(demo or []))


def _check_jwt_public_key(value: str) -> None:
    """Exit 1 with one line unless ``SCENEFORGE_JWT_PUBLIC_KEY`` is empty, PEM text or a PEM file that can be read,
    holding an RS256 public key: a path that is not there was taken for the key's text, and the server started
    answering every bearer token 401."""
    key = value.strip()
    if not key:
        return
    from jwt.algorithms import RSAAlgorithm
    from jwt.exceptions import InvalidKeyError

    problem = None
    if not key.startswith("-----"):  # a path, as the server reads it (api/auth.py)
        try:
            key = Path(key).read_text()
        except (OSError, UnicodeDecodeError) as exc:
            reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
            problem = f"neither PEM text nor a PEM file that can be read ({reason})"
    if problem is None:
        try:
            RSAAlgorithm(RSAAlgorithm.SHA256).prepare_key(key)
        except (InvalidKeyError, ValueError, TypeError) as exc:
            problem = f"not an RS256 public key in PEM ({exc})"
    if problem:
        typer.echo(f"error: SCENEFORGE_JWT_PUBLIC_KEY: {problem}", err=True)
        raise typer.Exit(EXIT_OUTPUT)


def _demo_problem(path: Path, limits: "Limits") -> str | None:
    """Why ``serve`` cannot read the ``--demo`` file at ``path`` (None when it can): the server reads each demo
    whole, so one that is not a regular file (/dev/zero never ends) or is past the input limit is refused."""
    import stat

    try:  # without blocking: a FIFO with no writer would hold the open
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        return exc.strerror or str(exc)
    try:
        info = os.fstat(fd)
    finally:
        os.close(fd)
    if stat.S_ISDIR(info.st_mode):
        return os.strerror(errno.EISDIR)
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a device or a pipe is never read whole)"
    cap, name = _input_limit(path, limits)
    if info.st_size > cap:
        return f"it is {info.st_size:,} bytes, above the limit of {cap:,} ({name})"
    return None


def _check_database(settings: "Settings") -> None:
    """Bring the database to the schema's head (as the service does when it starts) before anything else is
    prepared, so that one that cannot be used is said in one line (:func:`_database_errors`), not a traceback
    from inside the server's start-up."""
    from .storage import database_url, upgrade

    url = database_url(settings.storage)
    with _database_errors(url):
        upgrade(url)


def _check_listen(host: str, port: int) -> None:
    """Exit 1 with one line when ``host:port`` cannot be listened on (taken, not an address of this
    machine, not an address at all), before anything is prepared or a login URL printed."""
    import socket

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
            probe.bind(address)
    except OSError as exc:  # socket.gaierror included
        typer.echo(f"cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        raise typer.Exit(EXIT_OUTPUT) from None
    except ValueError as exc:  # a name IDNA cannot encode (a label empty or past 63 characters), a NUL
        typer.echo(f"cannot listen on {host}:{port}: not a host name ({exc.__cause__ or exc})", err=True)
        raise typer.Exit(EXIT_OUTPUT) from None


@app.command()
def mcp(
    http: Annotated[bool, typer.Option("--http", help="Serve streamable HTTP (at /mcp) instead of stdio.")] = False,
    host: Annotated[str, typer.Option(help="Interface to listen on with --http.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port with --http.")] = 8765,
    url: Annotated[str, typer.Option("--url", help="A running service to drive (default: the local data dir).")] = "",
    key: Annotated[
        str, typer.Option("--key", envvar="SCENEFORGE_API_KEY", help="API key for --url (or SCENEFORGE_API_KEY).")
    ] = "",
    data: DataOption = None,
) -> None:
    """Run a Model Context Protocol server for coding agents (docs/mcp.md)."""
    from .mcp_server import run

    if url:
        _check_service_url(url)
    if http:
        _check_listen(host, port)
    if url:
        settings = load_settings(storage=_storage(data))
    else:
        settings = _service_settings(data)
        _check_database(settings)
    run(settings, url=url, key=key, http=http, host=host, port=port)


def _check_service_url(url: str) -> None:
    """Exit 2 (a usage error) unless ``url`` is an ``http(s)://HOST[:PORT][/PATH]`` address."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        good = parts.scheme in {"http", "https"} and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a bad port or an unclosed [ of an IPv6 host
        good = False
    if not good:
        raise typer.BadParameter(f"{url!r} is not an http(s)://HOST[:PORT] address", param_hint="'--url'")


@app.command()
def worker(
    celery_args: Annotated[list[str] | None, typer.Argument(help="Extra arguments for the Celery worker.")] = None,
    queues: Annotated[
        str, typer.Option(help="Job types this worker takes, comma-separated: build, preview, export, assist.")
    ] = "build,preview,export,assist",
) -> None:
    """Run a scale-out job worker (Celery; needs SCENEFORGE_BROKER_URL or SCENEFORGE_REDIS_URL)."""
    from .jobs.celery_app import run_worker

    run_worker(load_settings(), list(celery_args or []), [q.strip() for q in queues.split(",") if q.strip()])


class Scope(StrEnum):
    read = "read"
    write = "write"
    admin = "admin"


@keys_app.command("create")
def keys_create(
    scope: Annotated[Scope, typer.Option(help="read ⊂ write ⊂ admin")] = Scope.write,
    name: Annotated[
        str, typer.Option(help="A label to recognise the key by: one line of printable text, 200 characters at most.")
    ] = "",
    data: DataOption = None,
) -> None:
    """Create an API key; the key alone is printed on the last line (it is stored hashed)."""
    from .storage import database_url
    from .storage.keys import add_key  # the database alone: not the server module (web app, jobs, events)

    _check_key_name(name)
    settings = _service_settings(data)
    with _database_errors(database_url(settings.storage)):
        key = add_key(settings.storage, scope.value, name)
    typer.echo(f"created a {scope.value} key{f' {name!r}' if name else ''}; it is shown only once:", err=True)
    typer.echo(key)


#: Control characters (C0, DEL, C1), line and paragraph separators, bidirectional overrides and isolates (they
#: reorder the text shown after them), and lone surrogates (what Python makes of argument bytes that are not UTF-8).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _check_key_name(name: str) -> None:
    """Exit 2 (a usage error) unless ``name`` fits the database's column and holds no control character: a
    name is printed by ``keys list``, where an escape sequence would drive the terminal that shows it."""
    from .storage.tables import MAX_KEY_NAME_CHARS

    if len(name) > MAX_KEY_NAME_CHARS:
        message = f"{len(name):,} characters, more than the {MAX_KEY_NAME_CHARS} a key's name holds"
        raise typer.BadParameter(message, param_hint="'--name'")
    found = _CONTROL.search(name)
    if found:
        char = found.group()
        what = "a byte that is not UTF-8" if "\ud800" <= char <= "\udfff" else f"control character U+{ord(char):04X}"
        message = f"{what} at character {found.start() + 1}: a key's name is one line of printable text"
        raise typer.BadParameter(message, param_hint="'--name'")


def _database_place(url: str) -> str:
    """What a database error line names: the SQLite file, or the server part of another URL (no password)."""
    return url.split(":///", 1)[1] if url.startswith("sqlite") else url.split("@")[-1]


@contextmanager
def _database_errors(url: str) -> Iterator[None]:
    """Exit 1 with one ``cannot use the database WHERE: <reason>`` line when the database cannot be opened
    or used (a file that is not a database, a folder in its place, a server that refuses), not a traceback."""
    from sqlalchemy.exc import ArgumentError, DBAPIError

    try:
        yield
    except (DBAPIError, OSError, ArgumentError) as exc:  # ArgumentError: a URL SQLAlchemy cannot read
        if isinstance(exc, DBAPIError) and isinstance(exc.orig, OSError):  # a server that refused (storage.database)
            reason = exc.orig.strerror or str(exc.orig)
        elif isinstance(exc, DBAPIError):
            reason = str(exc.orig)
        else:
            reason = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        typer.echo(f"cannot use the database {_database_place(url)}: {reason.strip().splitlines()[0]}", err=True)
        raise typer.Exit(EXIT_OUTPUT) from None


@asynccontextmanager
async def _database(data: Path | None) -> AsyncIterator[tuple[Any, Any]]:
    """The configured storage settings and a database engine, opened as the server opens it (migrated only when
    ``auto_migrate`` is on: where ``sceneforge db upgrade`` is a deploy step, no other command changes the schema)."""
    from .storage.stores import open_database

    storage = _service_settings(data).storage
    engine = await open_database(storage)
    try:
        yield storage, engine
    finally:
        await engine.dispose()


def _run_on_database(data: Path | None, action: Any) -> Any:
    """``asyncio.run(action())``, a database that cannot be used said in one line (:func:`_database_errors`)."""
    import asyncio

    from .storage import database_url

    with _database_errors(database_url(load_settings(storage=_storage(data)).storage)):
        return asyncio.run(action())


async def _with_keys(data: Path | None, action: Any) -> Any:
    """Run ``action(KeyRepository)`` on the configured database."""
    from .storage import KeyRepository

    async with _database(data) as (_, engine):
        return await action(KeyRepository(engine))


@keys_app.command("list")
def keys_list(
    data: DataOption = None,
    all_keys: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array instead of a table.")] = False,
) -> None:
    """List API keys (id, scope, name, created, revoked); the secrets are not stored, so never shown."""

    keys = _run_on_database(data, lambda: _with_keys(data, lambda repo: repo.list_keys(include_revoked=all_keys)))
    rows = [key.as_dict() for key in keys]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    typer.echo(f"{'id':>6}  {'scope':<6}  {'created (UTC)':<24}  {'revoked (UTC)':<24}  name")
    for row in rows:
        typer.echo(
            f"{row['id']:>6}  {row['scope']:<6}  {row['createdUtc']:<24}  {row['revokedUtc'] or '-':<24}  "
            + _printable(row["name"])
        )


def _printable(text: str) -> str:
    """``text`` with every character that is not printable (control characters, line breaks, bidirectional
    overrides, lone surrogates) written as its Python escape (``\\x1b``, ``\\n``, ``\\u202e``): a stored name
    is shown as text, never acted on by the terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(min=1, max=MAX_INT64, help="The key's id (see `sceneforge keys list`).")],
    data: DataOption = None,
) -> None:
    """Revoke an API key: every instance sharing the database refuses it from its next request on."""

    record = _run_on_database(data, lambda: _with_keys(data, lambda repo: repo.revoke(key_id)))
    typer.echo(f"revoked key {record.id} ({record.scope}{f', {record.name!r}' if record.name else ''})")


#: The longest ``gc --grace``: 100 years (a timedelta holds less than 10^9 days).
MAX_GRACE_S = 100 * 365 * 86400.0


@app.command()
def gc(
    data: DataOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="List the orphan blobs; remove nothing.")] = False,
    grace_s: Annotated[
        float,
        typer.Option(
            "--grace", min=0, max=MAX_GRACE_S, help="Leave blobs younger than this many seconds (writes in flight)."
        ),
    ] = 3600.0,
) -> None:
    """Remove blobs no record refers to (left by crashes or older versions); prints each one."""
    from datetime import timedelta

    from .storage import open_blob_store
    from .storage.gc import collect

    async def run() -> Any:
        async with _database(data) as (storage, engine):
            return await collect(engine, open_blob_store(storage), dry_run=dry_run, grace=timedelta(seconds=grace_s))

    report = _run_on_database(data, run)
    verb = "would remove" if dry_run else "removed"
    for blob in report.orphans:
        typer.echo(f"{verb} {blob.key} {blob.bytes} bytes")
    for partial in report.partials:
        typer.echo(f"{verb} unfinished write {partial.key} {partial.bytes} bytes")
    typer.echo(
        f"{verb} {len(report.orphans)} orphan blob(s), {report.orphan_bytes:,} bytes; "
        f"{len(report.partials)} unfinished write(s), {report.partial_bytes:,} bytes; "
        f"kept {report.kept} referenced, {report.too_young} younger than {grace_s:g} s",
        err=True,
    )


@db_app.command("upgrade")
def db_upgrade(
    data: DataOption = None,
) -> None:
    """Apply the schema migrations to the configured database (SQLite or PostgreSQL)."""
    from .storage import database_url, upgrade

    url = database_url(load_settings(storage=_storage(data)).storage)
    if url.startswith("sqlite"):  # the database file lives in the data folder
        url = database_url(_service_settings(data).storage)
    with _database_errors(url):
        upgrade(url)
    typer.echo(f"database at head: {url.split('@')[-1]}")


def main() -> None:
    """The console script: run one command, then let the interpreter exit without a final sweep.

    ``gc.freeze()`` on the way out moves every object left to the collector's permanent
    generation, so the collections the interpreter runs while it shuts down skip them instead of
    walking the whole heap (numpy, pydantic's schemas, a build's IR) once more just before the
    process ends: ~0.07 s of CPU on ``build --help`` and a 2-room build, ~0.15 s on a
    1,000-cell maze (docs/benchmarks.md). Exit handlers still run; the memory goes back with the
    process.

    numpy's BLAS runs on one thread unless ``OPENBLAS_NUM_THREADS`` is set (read when numpy is
    first imported, inside the command): sceneforge's matrix products are small (transforms,
    3 × 3 frames), and OpenBLAS's idle worker threads spin after each call, ~0.08 s of CPU on a
    1,000-cell build for no gain in time.

    The one-shot commands (all but ``serve`` and ``worker``, the long-running ones) start with
    pydantic's plugins off unless ``PYDANTIC_DISABLE_PLUGINS`` is set: finding them reads the
    entry points of every installed package, ~6 ms of each start with this project's 147 packages
    (more in a larger environment), for observability hooks a build or a validation has no use for.
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if sys.argv[1:2] not in (["serve"], ["worker"]):
        os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        app()
    except SceneforgeError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    finally:
        from gc import freeze  # imported here: the module's ``gc`` is the storage command below

        freeze()


if __name__ == "__main__":
    main()
