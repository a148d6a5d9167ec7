"""The build a worker runs: description bytes and options in, a picklable result out.

This is the one function worker processes import; it stays free of database and network
code so a child process starts quickly and a crash in it cannot corrupt shared state.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..compile import BuildResult
from ..config import Limits
from ..errors import BuildCanceled, Issue, PassError, SceneInvalid
from .jobtype import JobType

if TYPE_CHECKING:  # the build workers' fork server imports this module; the settings load with the service
    from ..settings import JobTypeSettings, Settings

__all__ = ["JOB", "BuildFn", "BuildOutput", "compile_build", "error_from_wire", "error_to_wire"]


#: What a build hands back to the worker that publishes it: the compiler's own (picklable) result.
BuildOutput = BuildResult


#: ``(description bytes, options, limits, progress(stage, fraction)) -> BuildOutput``; a module-level function.
BuildFn = Callable[[bytes, dict[str, Any], Limits, Callable[[str, float], None]], BuildOutput]


def compile_build(
    data: bytes, options: dict[str, Any], limits: Limits, progress: Callable[[str, float], None]
) -> BuildOutput:
    """Compile with :func:`sceneforge.compile.compile_scene`, held to ``limits`` (the service's own).

    ``options["assets"]`` (``{asset id: bytes}``, fetched by the runner) is what ``asset:`` references resolve to;
    ``options["cellCache"]`` (a spec of :func:`~sceneforge.storage.cellcache.open_cell_cache`) makes the
    build incremental.
    """
    from ..compile import BuildOptions, compile_scene
    from ..errors import AssetError
    from ..storage.cellcache import open_cell_cache

    assets: dict[str, bytes] = options.get("assets") or {}

    def resolve(asset_id: str) -> bytes:
        try:
            return assets[asset_id]
        except KeyError:
            raise AssetError("", f"asset {asset_id!r} has not been uploaded", code="asset_not_found") from None

    opts = BuildOptions(
        quantize=bool(options.get("quantize", False)),
        compress=bool(options.get("compress", False)),
        fallback=bool(options.get("fallback", False)),
        instancing=bool(options.get("instancing", True)),
        limits=limits,
        cache=open_cell_cache(options.get("cellCache")),
    )
    return compile_scene(data, opts, resolve_asset=resolve, progress=progress)


def _text(exc: BaseException) -> str:
    """``str(exc)``, or a stand-in when the exception's own ``__str__`` fails."""
    try:
        return str(exc)
    except Exception as broken:
        return f"(its message could not be read: {type(broken).__name__})"


def error_to_wire(exc: BaseException) -> tuple[str, str, list[dict[str, str]]]:
    """``(kind, message, issues)`` — exceptions of the error tree do not all survive pickling. Never raises:
    an exception whose message cannot be read is reported by its type."""
    # A damaged instance (issues that cannot be read) is reported as "other", by its type and message.
    with contextlib.suppress(Exception):
        if isinstance(exc, BuildCanceled):
            return "canceled", _text(exc), []
        if isinstance(exc, SceneInvalid):
            return "invalid", _text(exc), [i.as_dict() for i in exc.issues]
        if isinstance(exc, PassError):
            return "pass", _text(exc), []
    return "other", f"{type(exc).__name__}: {_text(exc)}", []


def error_from_wire(kind: str, message: str, issues: list[dict[str, str]]) -> BaseException:
    if kind == "canceled":
        return BuildCanceled(message)
    if kind == "invalid":
        return SceneInvalid([Issue(i["path"], i["code"], i["message"]) for i in issues])
    if kind == "pass":
        return PassError("build", message)
    return RuntimeError(message)


def _settings(settings: Settings) -> JobTypeSettings:
    from ..settings import JobTypeSettings

    jobs = settings.jobs
    return JobTypeSettings(
        concurrency=jobs.workers,
        max_attempts=jobs.max_attempts,
        keep_completed=jobs.keep_jobs,
        keep_failed=jobs.keep_jobs,
        timeout_s=jobs.timeout_s or 3600.0,
    )


#: The ``build`` job type; its settings are the ``jobs`` section's (``SCENEFORGE_WORKERS``, ``SCENEFORGE_JOB_*``).
JOB = JobType("build", "compile a description into a new version (docs/scene-format.md)", compile_build, _settings)
