"""The compiler's commands: ``build``, ``validate``, ``inspect``, ``generate`` (docs/cli.md)."""

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import SceneInvalid
from ..wire import MAX_INT64, utc_now_iso
from .files import STDOUT, check_out_folder, file_asset_resolver, folder_problem, read_spec, same_file, write_outputs
from .program import EXIT_INVALID, EXIT_OUTPUT, app, fail_invalid, load_limits, printable, say, stdout_errors

__all__ = ["Level", "build", "generate", "inspect", "validate"]

#: ``--assets DIR`` of build and validate: the folder ``asset:`` paths are found in and may not leave.
_ASSETS_HELP = (
    "Folder the description's asset: paths are relative to, which they may not leave (default: SPEC's folder; the"
    " current folder for SPEC -)."
)
AssetsOption = Annotated[
    Path | None, typer.Option("--assets", help=_ASSETS_HELP, exists=True, file_okay=False, dir_okay=True)
]


def _asset_resolver(spec: Path, assets: Path | None, max_bytes: int) -> Any:
    """The ``asset:`` files of ``spec``: in ``assets`` when given, else in SPEC's folder (the current one for ``-``)."""
    if assets is not None:
        return file_asset_resolver(assets, max_bytes, named=f"--assets {assets}")
    return file_asset_resolver(spec.parent, max_bytes)


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


@app.command()
def build(
    spec: Annotated[
        Path, typer.Argument(help="A .json scene description or a tagged .glb export; - reads standard input.")
    ],
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
    assets: AssetsOption = None,
) -> None:
    """Build SPEC into OUT/<sceneId>.glb and OUT/<sceneId>.meta.json."""
    from ..compile import BuildOptions, compile_scene
    from ..encode.meta import with_version

    limits = load_limits()
    if fallback and not compress:
        typer.echo("--fallback needs --compress (it stores the uncompressed data next to the compressed)", err=True)
        raise typer.Exit(EXIT_INVALID)
    check_out_folder(out)
    problem = None if cache is None else folder_problem(cache)
    if problem:
        typer.echo(f"cannot use --cache {cache}: {problem}", err=True)
        raise typer.Exit(EXIT_OUTPUT)
    try:
        data = read_spec(spec, limits)
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
                resolve_asset=_asset_resolver(spec, assets, limits.max_upload_bytes),
                progress=report,
            )
    except SceneInvalid as exc:
        raise fail_invalid(exc) from None
    for warning in result.warnings:
        typer.echo(f"warning {printable(warning.line())}", err=True)
    meta = with_version(result.meta, 1, utc_now_iso())
    glb_path = out / f"{result.scene_id}.glb"
    meta_path = out / f"{result.scene_id}.meta.json"
    for path in (glb_path, meta_path):  # a tagged GLB named <sceneId>.glb, built into its own folder
        if same_file(path, spec):
            typer.echo(f"cannot write {path}: it is the input (SPEC)", err=True)
            raise typer.Exit(EXIT_OUTPUT)
    # Compact, formatted as the service serves it: an indented dump goes through json's pure-Python encoder
    # (~0.4 s and 2.5× the bytes on a 5,000-cell office); `jq .` pretty-prints it for reading.
    write_outputs(out, {glb_path: result.glb, meta_path: json.dumps(meta, separators=(",", ":")).encode()})
    stats = meta["stats"]
    say(
        f"{glb_path} {len(result.glb):,} bytes, ETag {result.etag}, {len(meta['Meta']['cells'])} cells, "
        f"{meta['Meta']['portals']} portals, {stats['triangles']:,} triangles, {stats['drawCalls']} draw calls, "
        f"{stats['buildMs']} ms" + (f", {stats['cellsReused']} cells reused" if cache is not None else "")
    )


def _cell_cache(folder: Path | None, max_bytes: int) -> Any:
    if folder is None:
        return None
    from ..storage.cellcache import DirCellCache

    return DirCellCache(folder, max_bytes)


@app.command()
def validate(
    spec: Annotated[
        Path, typer.Argument(help="A .json scene description or a tagged .glb export; - reads standard input.")
    ],
    assets: AssetsOption = None,
) -> None:
    """Check SPEC: errors (exit 2) and warnings (exit 0)."""
    # As the service checks a draft (check_scene): ingest, validation, room geometry and the scene's
    # limits, no optimize, visibility or encode. Validating with a build without the PVS wrote every
    # cell's reachable cells: quadratic, 420 MB at 2,000 connected cells, killed past 100 s at 20,000.
    from ..compile import BuildOptions, checked_scene

    limits = load_limits()
    try:
        ir, warnings = checked_scene(
            read_spec(spec, limits),
            BuildOptions(pvs=False, limits=limits),
            resolve_asset=_asset_resolver(spec, assets, limits.max_upload_bytes),
        )
    except SceneInvalid as exc:
        raise fail_invalid(exc) from None
    for warning in warnings:
        say(f"warning {printable(warning.line())}")
    say(f"valid: {ir.scene_id}, {len(ir.cells)} cells, {len(ir.portals)} portals")


@app.command()
def inspect(
    file: Annotated[Path, typer.Argument(help="A GLB built by sceneforge (its .meta.json beside it adds the PVS).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Cells, portals, triangles, draw calls and a PVS summary of a built GLB."""
    from ..report import meta_path_beside, read_glb_json, read_meta_beside, summarize_glb

    limits = load_limits()
    try:
        data, size = read_glb_json(file, limits.max_upload_bytes)
        summary = summarize_glb(data, None, size)
    except OSError as exc:
        typer.echo(f"{file}: {exc.strerror}", err=True)
        raise typer.Exit(1) from None
    except SceneInvalid as exc:
        raise fail_invalid(exc) from None
    try:
        meta = read_meta_beside(file, limits.max_upload_bytes)
    except (ValueError, RecursionError) as exc:  # the summary stands without the PVS
        typer.echo(f"{meta_path_beside(file)}: not used ({printable(str(exc))})", err=True)
    else:
        if meta is not None:
            summary = summarize_glb(data, meta, size)
    if as_json:
        say(json.dumps(summary, indent=2))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(printable(file.name)), show_header=False)
    for key, value in summary.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(value) or "-"
        elif isinstance(value, int):
            value = f"{value:,}"
        table.add_row(key, escape(printable(str(value))))  # the file's own text: never markup, nor escape codes
    with stdout_errors():
        Console().print(table)


class Level(StrEnum):
    maze = "maze"
    apartment = "apartment"
    office = "office"
    gallery = "gallery"


#: The options each kind of level is made from besides ``--seed``; the others are refused for it.
_KIND_OPTIONS = {
    Level.maze: ("cells",),
    Level.apartment: ("cells",),
    Level.office: ("storeys", "rooms"),
    Level.gallery: ("halls", "cabinets"),
}


@app.command()
def generate(
    kind: Annotated[Level, typer.Argument(help="maze, apartment, office or gallery")],
    out: Annotated[
        Path, typer.Option("-o", "--out", help="Where to write the description (.json); - writes standard output.")
    ],
    cells: Annotated[
        int | None,
        typer.Option(
            "--cells",
            min=1,
            help="maze, apartment: number of cells, 1 (an apartment: 2) to SCENEFORGE_MAX_CELLS (20,000 by default).",
        ),
    ] = None,
    storeys: Annotated[
        int | None, typer.Option(help="office: floors joined by a stairwell, 1 to 50 [default: 2].")
    ] = None,
    rooms: Annotated[
        int | None, typer.Option(help="office: offices on each side of each floor's corridor, 1 to 200 [default: 10].")
    ] = None,
    halls: Annotated[
        int | None, typer.Option(help="gallery: exhibition halls in a row, 1 to 500 [default: 6].")
    ] = None,
    cabinets: Annotated[
        float | None, typer.Option(help="gallery: share of halls with side cabinets, 0 to 1 [default: 0.5].")
    ] = None,
    seed: Annotated[
        int,
        typer.Option(
            min=0,
            max=MAX_INT64,
            help="Random seed, 0 to 2^63-1: the same seed gives the same level.",
        ),
    ] = 0,
) -> None:
    """Write a procedural level description (for demos, tests and benchmarks)."""
    given = {"cells": cells, "storeys": storeys, "rooms": rooms, "halls": halls, "cabinets": cabinets}
    for name, value in given.items():
        if value is not None and name not in _KIND_OPTIONS[kind]:
            takes = " and ".join(k.value for k, names in _KIND_OPTIONS.items() if name in names)
            raise typer.BadParameter(f"an option of {takes} levels, not of {kind.value} ones", param_hint=f"'--{name}'")
    limits = load_limits()  # as GET /generate: no level the build would then refuse
    if kind in (Level.maze, Level.apartment):
        description = _cells_level(kind, cells, seed, limits.max_cells)
    else:
        description = _template_level(kind, {k: v for k, v in given.items() if v is not None}, seed)
    hint = "/".join(f"'--{name}'" for name in _KIND_OPTIONS[kind])
    count = len(description["cells"])
    if count > limits.max_cells:  # office and gallery: their options bound the level, not its cell count
        message = f"they make a level of {count:,} cells, more than SCENEFORGE_MAX_CELLS ({limits.max_cells:,})"
        raise typer.BadParameter(message, param_hint=hint)
    portals = len(description["portals"])
    if portals > limits.max_portals:  # only when SCENEFORGE_MAX_CELLS is raised alone: 1.15 portals per cell at most
        message = (
            f"they make a level of {portals:,} portals, more than SCENEFORGE_MAX_PORTALS "
            f"({limits.max_portals:,}), the most portals a build accepts"
        )
        raise typer.BadParameter(message, param_hint=hint)
    text = json.dumps(description, separators=(",", ":")).encode()
    summary = f"{kind.value} {description['sceneId']}, {count} cells, {portals} portals"
    if str(out) == STDOUT:  # ``generate … -o - | sceneforge build - -o out``: the summary goes to stderr
        with stdout_errors():
            sys.stdout.buffer.write(text)
            sys.stdout.buffer.flush()
        typer.echo(f"-: {summary}", err=True)
        return
    write_outputs(out.parent, {out: text})
    say(f"{out}: {summary}")


def _cells_level(kind: Level, cells: int | None, seed: int, max_cells: int) -> dict[str, Any]:
    """A maze or an apartment of ``cells`` rooms; ``--cells`` past the build's limit, or below the template's
    minimum, is refused before any work."""
    from ..generate import generate_apartment, generate_maze
    from ..generate.templates import cell_bounds

    if cells is None:
        raise typer.BadParameter(f"{kind.value} levels need a number of cells", param_hint="'--cells'")
    low, high = cell_bounds(kind.value, max_cells) or (1, max_cells)  # the template's (GET /templates), as /generate's
    if cells < low:
        raise typer.BadParameter(
            f"{kind.value} levels have at least {low:,} cells, not {cells:,}", param_hint="'--cells'"
        )
    if cells > high:
        message = f"{cells:,} is more than SCENEFORGE_MAX_CELLS ({max_cells:,}), the most cells a build accepts"
        raise typer.BadParameter(message, param_hint="'--cells'")
    make = generate_maze if kind is Level.maze else generate_apartment
    return make(cells, seed=seed)


def _template_level(kind: Level, params: dict[str, Any], seed: int) -> dict[str, Any]:
    """An office or a gallery from the draft template of that name (``GET /templates``): the same parameters,
    bounds and defaults; a parameter out of its bounds is refused naming its option."""
    from ..generate.templates import from_template

    try:
        return from_template(kind.value, {**params, "seed": seed})
    except SceneInvalid as exc:
        issue = exc.issues[0]
        option = issue.path.removeprefix("/params/").split("/")[0]
        raise typer.BadParameter(issue.message, param_hint=f"'--{option}'") from None
