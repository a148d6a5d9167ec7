"""The ``sceneforge`` program: the Typer app and its groups, the exit codes, the settings every command
reads, and the console script (:func:`main`)."""

import gc
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ..errors import SceneforgeError, SceneInvalid

if TYPE_CHECKING:
    from ..config import Limits
    from ..settings import Settings

__all__ = [
    "ENV_PREFIX",
    "EXIT_INVALID",
    "EXIT_OUTPUT",
    "DataOption",
    "app",
    "db_app",
    "fail_invalid",
    "keys_app",
    "load_limits",
    "load_settings",
    "main",
    "make_data_folder",
    "printable",
    "say",
    "service_settings",
    "stdout_errors",
    "storage_override",
]


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


EXIT_OUTPUT = 1


def fail_invalid(exc: SceneInvalid) -> typer.Exit:
    for issue in exc.issues:
        typer.echo(printable(issue.line()), err=True)  # a pointer holds the input's member names as they are
    return typer.Exit(EXIT_INVALID)


@contextmanager
def stdout_errors() -> Iterator[None]:
    """Standard output that cannot be written (a full disk, ``> /dev/full``, a failing device) exits 1 with one
    line, not a traceback. A closed pipe (``| head``) is left to click: exit 1, without a word."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        typer.echo(f"cannot write to standard output: {exc.strerror or exc}", err=True)
        raise typer.Exit(EXIT_OUTPUT) from None


def say(text: str) -> None:
    """``typer.echo(text)`` to standard output, under :func:`stdout_errors`."""
    with stdout_errors():
        typer.echo(text)


def printable(text: str) -> str:
    """``text`` with every character that is not printable (control characters, line breaks, bidirectional
    overrides, lone surrogates) written as its Python escape (``\\x1b``, ``\\n``, ``\\u202e``): text from a
    file or the database (a member name in an error's pointer, a GLB's generator, a key's name) is shown as
    text, one line, never acted on by the terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def load_settings(**sections: dict[str, Any]) -> "Settings":
    """The settings of this command: the environment, with ``sections`` (from flags) on top.

    A bad value exits 1 with one ``SCENEFORGE_<NAME>: <problem>`` line per error.
    """
    from pydantic import ValidationError

    from ..settings import Settings, env_var

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
ENV_PREFIX = "SCENEFORGE_"


def load_limits() -> "Limits":
    """``load_settings().limits``, without building the settings when no ``SCENEFORGE_*`` variable is set.

    With none set (empty counts as unset, as in :class:`~sceneforge.settings.Settings`) the
    settings are their defaults, so this is ``Limits()``; importing pydantic-settings and
    validating every section would cost ~0.1 s of a ``build``'s start-up for nothing. With any
    set, the full settings are read, and a bad value anywhere exits 1 as for every command.
    """
    if any(name.startswith(ENV_PREFIX) and value.strip() for name, value in os.environ.items()):
        return load_settings().limits
    from ..config import Limits

    return Limits()


DataOption = Annotated[Path | None, typer.Option("--data", help="Data dir (default ./data or SCENEFORGE_DATA_DIR).")]


def storage_override(data: Path | None) -> dict[str, Any]:
    """``--data`` as a storage override (resolved: server worker processes may start elsewhere)."""
    return {"data_dir": data.resolve() if data is not None else None}


def service_settings(data: Path | None) -> "Settings":
    """The settings of a command that uses the data folder, that folder made first: one that cannot be
    (a file in the way, no permission) exits 1 with one line saying which and why."""
    settings = load_settings(storage=storage_override(data))
    make_data_folder(settings)
    return settings


def make_data_folder(settings: "Settings") -> None:
    """Make the data folder of ``settings``; exit 1 with one line when it cannot be made (:func:`service_settings`)."""
    folder = settings.storage.data_dir
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = "it is a file, not a folder" if isinstance(exc, FileExistsError) else exc.strerror or str(exc)
        typer.echo(f"cannot use the data folder {folder} (--data or SCENEFORGE_DATA_DIR): {reason}", err=True)
        raise typer.Exit(EXIT_OUTPUT) from None


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
        typer.echo(f"error: {printable(str(exc))}", err=True)
        sys.exit(1)
    finally:
        gc.freeze()
