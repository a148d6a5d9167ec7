"""The compiler's one entry point: description or tagged-GLB bytes in, GLB + visibility out.

Pure: no file, network or database access. Assets are fetched through the caller's
``resolve_asset`` callback, progress is reported through ``progress`` (which may raise
:class:`~sceneforge.errors.BuildCanceled` to stop the build between stages).

Stages, in order (each is one module, see docs/architecture.md)::

    ingest → validate → geometry → optimize passes → visibility → encode
"""

from __future__ import annotations

import gc
import hashlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from .config import Limits
from .errors import MAX_LISTED_WARNINGS, Issue, LimitExceeded, SceneInvalid, capped
from .glb_magic import is_glb

if TYPE_CHECKING:  # numpy and the IR load with the first build, not with ``sceneforge --help``
    from .incremental import CellCache

__all__ = [
    "AssetResolver",
    "BuildOptions",
    "BuildResult",
    "Progress",
    "SceneInput",
    "check_scene",
    "checked_scene",
    "compile_scene",
    "etag_of",
]

#: Returns the bytes of asset ``asset_id`` (the text after ``asset:``); raises ``AssetError`` if unknown.
AssetResolver = Callable[[str], bytes]
#: Called with (stage name, overall fraction 0..1) between and inside stages. May raise ``BuildCanceled``.
Progress = Callable[[str, float], None]

#: Where each stage starts in the overall 0..1 progress; chosen from profiles of 1,000-cell mazes.
STAGE_START = {"ingest": 0.0, "validate": 0.05, "geometry": 0.10, "optimize": 0.40, "visibility": 0.60, "encode": 0.85}


@dataclass(frozen=True, slots=True)
class BuildOptions:
    #: KHR_mesh_quantization: int16 positions, int8 normals (UVs stay float: world-scaled, unbounded).
    quantize: bool = False
    #: EXT_meshopt_compression of every vertex and index buffer (implies nothing about quantize).
    compress: bool = False
    #: Write the world-scaled UVs of untextured materials too (by default only textured ones carry UVs).
    all_uvs: bool = False
    #: Compute the potentially-visible set. Without it every cell's ``pvs`` lists all cells reachable by portals.
    pvs: bool = True
    limits: Limits = field(default_factory=Limits)
    #: Per-cell results of earlier builds (:mod:`sceneforge.incremental`); None builds every cell.
    cache: CellCache | None = field(default=None, compare=False)
    #: With ``compress``: also store the uncompressed bytes, EXT_meshopt_compression optional (gltfpack ``-cf``).
    fallback: bool = False
    #: Emit ``instances`` with EXT_mesh_gpu_instancing; ``False`` expands them into their cells' geometry.
    instancing: bool = True


@dataclass(frozen=True, slots=True)
class BuildResult:
    scene_id: str
    glb: bytes
    etag: str
    #: The meta JSON of docs/meta.md minus what storage adds (``version``, ``TimestampUtc``).
    meta: dict[str, Any]
    warnings: list[Issue]


def etag_of(data: bytes) -> str:
    """docs/meta.md: the first 16 hex characters of the SHA-256 of the GLB bytes."""
    return hashlib.sha256(data).hexdigest()[:16]


def _no_progress(stage: str, fraction: float) -> None:
    return None


def _missing_asset(asset_id: str) -> bytes:
    from .errors import AssetError

    raise AssetError("", f"asset {asset_id!r} is not available to this build", code="asset_not_found")


#: What the entry points take: the description's JSON text (bytes or str) or a tagged GLB's bytes, or the
#: description as parsed JSON (a mapping, written back to JSON text so every limit and check applies alike).
SceneInput = bytes | bytearray | memoryview | str | Mapping[str, Any]


def compile_scene(
    data: SceneInput,
    options: BuildOptions | None = None,
    *,
    resolve_asset: AssetResolver = _missing_asset,
    progress: Progress = _no_progress,
) -> BuildResult:
    """Compile a JSON description (or a tagged GLB, recognised by its magic) into a GLB.

    ``data`` is the description's JSON text (bytes or str), the description as a mapping (``json.load``'s
    result), or a tagged GLB's bytes; anything else is a :class:`TypeError` that says what is taken.

    Raises :class:`SceneInvalid` (with every issue found) for bad input, :class:`LimitExceeded`
    when a configured limit is passed, and whatever ``progress`` raises. Never returns partial
    output: the GLB is produced by the last stage only.

    The cyclic garbage collector is paused for the build (see :func:`_collector_paused`).
    """
    with _collector_paused():
        return _compile(data, options, resolve_asset, progress)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector, and restore it on the way out (also on errors).

    A build allocates ~10⁵ container objects (IR lists, JSON dicts) and frees almost no cycles
    (15 collected in a 1,000-cell maze), yet the collector's generation scans walk them again
    and again: a fresh-process 1,000-cell maze build took 0.295 s median CPU with it on and
    0.216 s paused (6 runs of each, alternating). What is deferred to after the build is one
    young-generation pass (~7,000 objects, most of them freed by then). Process-wide, so with
    builds in threads the first to pause it is the one that resumes it; a build running past
    that point simply runs with the collector on.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _compile(data: SceneInput, options: BuildOptions | None, resolve: AssetResolver, progress: Progress) -> BuildResult:
    from . import validate
    from .encode.glb import EncodeOptions, encode_glb_indexed
    from .encode.meta import body_and_digest, finish_meta
    from .encode.quantize import GridTooCoarse
    from .geometry.footprint import cell_plans
    from .geometry.rooms import build_rooms
    from .incremental import pack_cell
    from .passes import optimize

    options = options or BuildOptions()
    limits = options.limits
    started = time.perf_counter()
    ir, warnings = _ingest(data, limits, resolve, progress)
    cache = _Batched(options.cache, ir.scene_id) if options.cache is not None else None
    options = replace(options, cache=cache)

    progress("geometry", STAGE_START["geometry"])
    keys, reused = _cached_cells(ir, options)
    built = [i for i in range(len(ir.cells)) if i not in reused]  # fresh.cells' indices in ir.cells
    fresh = ir if not reused else replace(ir, cells=[ir.cells[i] for i in built])
    boolean = {built[k] for k in build_rooms(fresh)} | {i for i, (_, _, was) in reused.items() if was}
    raw = {i: sum(s.triangle_count for s in ir.cells[i].surfaces) for i in built}
    triangles = sum(raw.values()) + sum(count for count, _, _ in reused.values())
    warnings = warnings + validate.validate_scene(ir, limits, surface_triangles=triangles)
    errors = [w for w in warnings if w.severity == "error"]
    if errors:
        raise SceneInvalid(errors)

    progress("optimize", STAGE_START["optimize"])
    if not options.instancing:
        from .passes.expand import expand_instances

        expand_instances()(fresh)
    elif any(c.instances for c in ir.cells):
        from .passes.expand import expand_sheared_instances

        # Copies EXT_mesh_gpu_instancing cannot draw (sheared, mirrored) become geometry. Reused cells lose
        # those groups too: their cached surfaces hold the copies (what is added here is replaced).
        expand_sheared_instances()(ir)
    optimize(fresh)
    for i, (_, surfaces, _) in reused.items():
        ir.cells[i].surfaces = surfaces
        if not options.instancing:
            ir.cells[i].instances = []  # the cached surfaces hold the expanded copies
    if options.cache is not None and raw:
        options.cache.put_many({keys[i]: pack_cell(raw[i], ir.cells[i].surfaces, i in boolean) for i in raw})

    progress("visibility", STAGE_START["visibility"])
    boxes = _cell_boxes(ir, keys, options)  # the cells' final geometry: one computation for visibility and encode
    plans = cell_plans(ir.cells, ir.portals)  # likewise each cell's plan outline (the meta's floor, the index's floors)
    visibility, walked = _visibility(ir, options, boxes, plans)

    progress("encode", STAGE_START["encode"])
    encode_options = EncodeOptions(
        quantize=options.quantize, compress=options.compress, all_uvs=options.all_uvs, fallback=options.fallback
    )
    body, digest = body_and_digest(ir, visibility, warnings, options.cache)

    def encode() -> tuple[bytes, Any]:
        return encode_glb_indexed(
            ir,
            encode_options,
            meta_digest=digest,
            pvs=[cell.pvs for cell in visibility.cells],
            pvs_sets=visibility.sets,
            trees=options.cache,
            cell_keys=keys or None,
            boxes=boxes,
            plans=plans,
        )

    try:
        glb, index = encode()
    except GridTooCoarse as coarse:  # a quantized file would lose triangles: positions stay float32
        message = (
            f"positions are stored as float32, not quantized: the scene's 16-bit grid ({coarse.step:g} m steps)"
            f" would collapse {coarse.lost:,} triangles (walls or details thinner than a step)"
        )
        warnings = [*warnings, Issue("", "quantize_skipped", message, "warning")]
        encode_options = replace(encode_options, quantize=False)
        body, digest = body_and_digest(ir, visibility, warnings, options.cache)
        glb, index = encode()
    etag = etag_of(glb)
    build_ms = round((time.perf_counter() - started) * 1000)
    meta = finish_meta(body, glb=glb, etag=etag, build_ms=build_ms, index=index)
    meta["stats"]["cellsRebuilt"] = len(ir.cells) - len(reused)
    meta["stats"]["cellsReused"] = len(reused)
    meta["stats"]["pvsCellsWalked"] = walked
    # Rooms whose shell needed the boolean fallback, built in this build or reused from the cache (docs/meta.md).
    meta["stats"]["booleanCells"] = len(boolean)
    if cache is not None:
        cache.flush()
    progress("done", 1.0)
    return BuildResult(scene_id=ir.scene_id, glb=glb, etag=etag, meta=meta, warnings=warnings)


class _Batched:
    """The build's cache, with the scene's records (the PVS flow's, :func:`~.incremental.flow_key`,
    and the text chunks of :mod:`.encode.text_record`) read with the first lookup (the cells') and
    written together at the end of the build: no round trip of their own to a remote cache."""

    def __init__(self, cache: CellCache, scene_id: str) -> None:
        from .encode.text_record import text_key
        from .incremental import flow_key

        self.cache = cache
        self.records = [flow_key(scene_id), *(text_key(scene_id, what) for what in ("meta", "encode", "boxes"))]
        #: The records read (None: absent) or written in this build; before the first lookup, none.
        self.known: dict[str, bytes | None] | None = None
        self.held: dict[str, bytes] = {}

    def get_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        if self.known is None:
            found = self.cache.get_many([*keys, *(k for k in self.records if k not in keys)])
            self.known = {k: found.get(k) for k in self.records}
            return {k: found[k] for k in keys if k in found}
        out = {k: v for k in keys if k in self.known and (v := self.known[k]) is not None}
        rest = [k for k in keys if k not in self.known]
        if rest:
            out.update(self.cache.get_many(rest))
        return out

    def put_many(self, entries: Mapping[str, bytes]) -> None:
        held = {k: v for k, v in entries.items() if k in self.records}
        self.held.update(held)
        if self.known is not None:
            self.known.update(held)
        rest = {k: v for k, v in entries.items() if k not in held}
        if rest:
            self.cache.put_many(rest)

    def flush(self) -> None:
        """Write the records this build made (one ``put_many``)."""
        if self.held:
            self.cache.put_many(self.held)
            self.held = {}


def _cell_boxes(ir: Any, keys: list[str], options: BuildOptions) -> Any:
    """:func:`~sceneforge.geometry.bounds.cell_boxes` of the cells' final geometry. With a cache, a
    cell's box is a function of its key (what its geometry depends on, see :func:`cell_keys`), so
    the boxes of every run of :data:`~.encode.text_record.CHUNK` cells whose keys an earlier build
    of the scene recorded are that build's (the same numbers), the others computed."""
    from .geometry.bounds import cell_boxes

    n = len(ir.cells)
    if options.cache is None or not n or len(keys) != n:
        return cell_boxes(ir.cells)
    import numpy as np

    from .encode.text_record import CHUNK, TextRecord, load, save, text_key

    record_key = text_key(ir.scene_id, "boxes")
    previous = load(options.cache, record_key)
    known = previous.chunks if previous is not None else {}
    starts = range(0, n, CHUNK)
    chunk_keys = [hashlib.sha256(" ".join(["boxes", *keys[a : a + CHUNK]]).encode()).digest() for a in starts]
    found = [known.get(k, "") for k in chunk_keys]  # recorded boxes: hex text, 6 doubles (96 digits) a cell
    missing = [k for k, a in enumerate(starts) if len(found[k]) != 96 * len(ir.cells[a : a + CHUNK])]
    if 4 * len(missing) > len(found):  # most of the scene is new: one computation for every cell
        computed = cell_boxes(ir.cells)
        found = [computed[a : a + CHUNK].tobytes().hex() for a in starts]
    for k in missing if 4 * len(missing) <= len(found) else []:
        found[k] = cell_boxes(ir.cells[k * CHUNK : (k + 1) * CHUNK]).tobytes().hex()
    try:
        boxes = np.frombuffer(bytes.fromhex("".join(found)), "<f8").reshape(n, 6).copy()
    except ValueError:  # not hex: a damaged record
        boxes = cell_boxes(ir.cells)
        found = [boxes[a : a + CHUNK].tobytes().hex() for a in starts]
    save(options.cache, record_key, TextRecord(dict(zip(chunk_keys, found, strict=True))), previous)
    return boxes


def _visibility(ir: Any, options: BuildOptions, boxes: Any, plans: Any) -> tuple[Any, int]:
    """The visibility stage and the number of cells the PVS flow walked from. With a cache and the
    PVS on, the last flow of this scene (:mod:`sceneforge.visibility.reuse`) spares the cells no
    edit can have changed, and this flow is recorded for the next build."""
    from .incremental import flow_key
    from .visibility import build_portal_graph, compute_visibility
    from .visibility.reuse import FlowRecord, flow_sets

    if options.cache is None or not options.pvs:
        limit = options.limits.max_pvs_entries
        return compute_visibility(ir, pvs=options.pvs, boxes=boxes, max_entries=limit, plans=plans), len(
            ir.cells
        ) if options.pvs else 0
    key = flow_key(ir.scene_id)
    found = options.cache.get_many([key]).get(key)
    previous = FlowRecord.unpack(found) if found is not None else None
    sets, record, walked = flow_sets(ir, build_portal_graph(ir), previous, max_pairs=options.limits.max_pvs_entries)
    if previous is None or walked or not record.same_graph(previous):  # else the stored record is this one
        options.cache.put_many({key: record.pack()})
    visibility = compute_visibility(
        ir, pvs=True, sets=sets, boxes=boxes, max_entries=options.limits.max_pvs_entries, plans=plans
    )
    return visibility, walked


def _cached_cells(ir: Any, options: BuildOptions) -> tuple[list[str], dict[int, tuple[int, list[Any], bool]]]:
    """Every cell's key and, by cell index, the ``(raw triangles, optimized surfaces, boolean)`` the cache holds."""
    if options.cache is None:
        return [], {}
    from .incremental import cell_keys, unpack_cell

    # "sheared mirrored": cells cached since sheared, then mirrored instance copies became geometry (older
    # entries lack them)
    keys = cell_keys(ir, salt=f"instancing={options.instancing} sheared mirrored")
    found = options.cache.get_many(keys)
    reused = {}
    heads: dict[bytes, object] = {}  # entry headers read so far (cells of one shape share theirs)
    for i, key in enumerate(keys):
        entry = found.get(key)
        unpacked = unpack_cell(entry, heads) if entry is not None else None
        if unpacked is not None:
            reused[i] = unpacked
    return keys, reused


def _input_bytes(data: SceneInput) -> bytes:
    """``data`` as the bytes the stages read: text is UTF-8, a mapping is written as JSON (non-finite
    numbers as JSON's NaN/Infinity tokens, which the parser then rejects with their pointer). A mapping
    JSON cannot hold — a value of no JSON type (a set), an integer past Python's 4,300 digits, a cycle,
    nesting past the interpreter's stack — is :class:`SceneInvalid` ``json_invalid`` at ``""``, as the
    same text would be."""
    if isinstance(data, bytes):
        return data
    if isinstance(data, bytearray | memoryview):
        return bytes(data)
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass")
    if isinstance(data, Mapping):
        import json

        try:
            return json.dumps(data).encode("ascii")
        except (TypeError, ValueError, RecursionError) as exc:
            raise SceneInvalid([Issue("", "json_invalid", f"the mapping is not JSON: {exc}")]) from None
    raise TypeError(
        f"a scene is its description's JSON text (bytes or str), the description as a mapping, or a tagged GLB's"
        f" bytes, not {type(data).__name__}"
    )


def _ingest(data: SceneInput, limits: Limits, resolve: AssetResolver, progress: Progress) -> tuple[Any, list[Issue]]:
    """Stages ingest and validate: the scene IR (no geometry yet) and the warnings so far."""
    from . import validate
    from .ingest.description import description_to_ir, parse_description
    from .ingest.portal_sides import face_portals

    progress("ingest", STAGE_START["ingest"])
    data = _input_bytes(data)
    if is_glb(data):
        from .ingest.tagged_glb import tagged_glb_to_ir

        if len(data) > limits.max_upload_bytes:
            raise LimitExceeded(
                "SCENEFORGE_MAX_UPLOAD_BYTES", len(data), limits.max_upload_bytes, what="input size (bytes)"
            )
        ir, warnings = tagged_glb_to_ir(data, limits)
        ir.portals, _ = face_portals(ir.cells, ir.portals)  # outlines have no winding to warn about
        return ir, warnings
    if len(data) > limits.max_body_bytes:
        raise LimitExceeded(
            "SCENEFORGE_MAX_BODY_BYTES", len(data), limits.max_body_bytes, what="description size (bytes)"
        )
    description = parse_description(data, limits)
    progress("validate", STAGE_START["validate"])
    warnings = validate.validate_description(description, limits)
    ir = description_to_ir(description, resolve, limits)
    ir.portals, turned = face_portals(ir.cells, ir.portals)
    reversed_: list[Issue] = []
    for k in turned[:MAX_LISTED_WARNINGS]:
        p = ir.portals[k]
        message = (
            f"{p.label}: the quad's normal (right-hand rule) points into {p.from_cell!r};"
            f" it is read the other way round, facing {p.to_cell!r}"
        )
        reversed_.append(Issue(f"{p.pointer}/quad", "portal_reversed", message, "warning"))
    return ir, warnings + capped(reversed_, "/portals", "portals read the other way round", len(turned))


def check_scene(
    data: SceneInput,
    options: BuildOptions | None = None,
    *,
    resolve_asset: AssetResolver = _missing_asset,
    progress: Progress = _no_progress,
) -> list[Issue]:
    """Validate a description or tagged GLB as a build would, without building it: ingest,
    validation and room geometry (which finds rooms too small for their walls, triangle limits,
    portals off their cells). Returns the warnings; raises :class:`SceneInvalid` on errors, and
    whatever ``progress`` raises (it is called between the stages, as a build's is).
    Costs about the geometry stage of a build, no optimize, visibility or encode."""
    return checked_scene(data, options, resolve_asset=resolve_asset, progress=progress)[1]


def checked_scene(
    data: SceneInput,
    options: BuildOptions | None = None,
    *,
    resolve_asset: AssetResolver = _missing_asset,
    progress: Progress = _no_progress,
) -> tuple[Any, list[Issue]]:
    """:func:`check_scene`, returning the scene IR it checked (cells with their room geometry, portals)
    with the warnings. Nothing in it grows faster than the scene: a build without the PVS lists each
    cell's reachable cells, every cell of a connected 20,000-cell level in each of them."""
    from . import validate
    from .geometry.rooms import generate_rooms

    options = options or BuildOptions()
    with _collector_paused():
        ir, warnings = _ingest(data, options.limits, resolve_asset, progress)
        progress("geometry", STAGE_START["geometry"])
        generate_rooms(ir)
        progress("geometry", STAGE_START["optimize"])  # the geometry's own checks follow
        warnings = warnings + validate.validate_scene(ir, options.limits)
    errors = [w for w in warnings if w.severity == "error"]
    if errors:
        raise SceneInvalid(errors)
    return ir, warnings
