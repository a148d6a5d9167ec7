"""The service's commands: ``serve`` (HTTP API, studio, workers), ``mcp`` (the Model Context Protocol
server) and ``worker`` (a scale-out Celery worker); each checks what it can before it starts."""

import errno
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .database import check_database
from .files import input_limit
from .program import (
    EXIT_INVALID,
    EXIT_OUTPUT,
    DataOption,
    app,
    load_settings,
    make_data_folder,
    service_settings,
    storage_override,
)

if TYPE_CHECKING:
    from ..config import Limits

__all__ = ["mcp", "serve", "worker"]


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
    from ..api.server import run_server

    _check_listen(host, port)
    settings = load_settings(storage=storage_override(data))
    for path in demo or []:  # an invalid description is reported and skipped at start; one not there is a typo
        problem = _demo_problem(path, settings.limits)
        if problem:
            typer.echo(f"cannot read --demo {path}: {problem}", err=True)
            raise typer.Exit(EXIT_INVALID)
    _check_jwt_public_key(settings.auth.jwt_public_key)
    make_data_folder(settings)
    check_database(settings)
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
    cap, name = input_limit(path, limits)
    if info.st_size > cap:
        return f"it is {info.st_size:,} bytes, above the limit of {cap:,} ({name})"
    return None


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
    from ..mcp_server import run

    if url:
        _check_service_url(url)
    if http:
        _check_listen(host, port)
    if url:
        settings = load_settings(storage=storage_override(data))
    else:
        settings = service_settings(data)
        check_database(settings)
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
    from ..jobs.celery_app import run_worker

    run_worker(load_settings(), list(celery_args or []), [q.strip() for q in queues.split(",") if q.strip()])
