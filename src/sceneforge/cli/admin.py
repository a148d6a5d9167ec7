"""The service's administration commands: API keys (``keys create|list|revoke``), orphan blob
collection (``gc``) and schema migrations (``db upgrade``)."""

import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from ..wire import MAX_INT64
from .database import database_errors, run_on_database, service_database
from .program import (
    DataOption,
    app,
    db_app,
    keys_app,
    load_settings,
    printable,
    say,
    service_settings,
    storage_override,
)

__all__ = ["MAX_GRACE_S", "Scope", "db_upgrade", "gc", "keys_create", "keys_list", "keys_revoke"]


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
    from ..storage import database_url
    from ..storage.keys import add_key  # the database alone: not the server module (web app, jobs, events)

    _check_key_name(name)
    settings = service_settings(data)
    with database_errors(database_url(settings.storage)):
        key = add_key(settings.storage, scope.value, name)
    typer.echo(f"created a {scope.value} key{f' {name!r}' if name else ''}; it is shown only once:", err=True)
    say(key)


#: Control characters (C0, DEL, C1), line and paragraph separators, bidirectional overrides and isolates (they
#: reorder the text shown after them), and lone surrogates (what Python makes of argument bytes that are not UTF-8).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _check_key_name(name: str) -> None:
    """Exit 2 (a usage error) unless ``name`` fits the database's column and holds no control character: a
    name is printed by ``keys list``, where an escape sequence would drive the terminal that shows it."""
    from ..storage.tables import MAX_KEY_NAME_CHARS

    if len(name) > MAX_KEY_NAME_CHARS:
        message = f"{len(name):,} characters, more than the {MAX_KEY_NAME_CHARS} a key's name holds"
        raise typer.BadParameter(message, param_hint="'--name'")
    found = _CONTROL.search(name)
    if found:
        char = found.group()
        what = "a byte that is not UTF-8" if "\ud800" <= char <= "\udfff" else f"control character U+{ord(char):04X}"
        message = f"{what} at character {found.start() + 1}: a key's name is one line of printable text"
        raise typer.BadParameter(message, param_hint="'--name'")


async def _with_keys(data: Path | None, action: Any) -> Any:
    """Run ``action(KeyRepository)`` on the configured database."""
    from ..storage import KeyRepository

    async with service_database(data) as (_, engine):
        return await action(KeyRepository(engine))


@keys_app.command("list")
def keys_list(
    data: DataOption = None,
    all_keys: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array instead of a table.")] = False,
) -> None:
    """List API keys (id, scope, name, created, revoked); the secrets are not stored, so never shown."""

    keys = run_on_database(data, lambda: _with_keys(data, lambda repo: repo.list_keys(include_revoked=all_keys)))
    rows = [key.as_dict() for key in keys]
    if as_json:
        say(json.dumps(rows, indent=2))
        return
    say(f"{'id':>6}  {'scope':<6}  {'created (UTC)':<24}  {'revoked (UTC)':<24}  name")
    for row in rows:
        say(
            f"{row['id']:>6}  {row['scope']:<6}  {row['createdUtc']:<24}  {row['revokedUtc'] or '-':<24}  "
            + printable(row["name"])
        )


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(min=1, max=MAX_INT64, help="The key's id (see `sceneforge keys list`).")],
    data: DataOption = None,
) -> None:
    """Revoke an API key: every instance sharing the database refuses it from its next request on."""

    record = run_on_database(data, lambda: _with_keys(data, lambda repo: repo.revoke(key_id)))
    say(f"revoked key {record.id} ({record.scope}{f', {record.name!r}' if record.name else ''})")


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

    from ..storage import open_blob_store
    from ..storage.gc import collect

    async def run() -> Any:
        async with service_database(data) as (storage, engine):
            return await collect(engine, open_blob_store(storage), dry_run=dry_run, grace=timedelta(seconds=grace_s))

    report = run_on_database(data, run)
    verb = "would remove" if dry_run else "removed"
    for blob in report.orphans:
        say(f"{verb} {blob.key} {blob.bytes} bytes")
    for partial in report.partials:
        say(f"{verb} unfinished write {partial.key} {partial.bytes} bytes")
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
    from ..storage import database_url, upgrade

    url = database_url(load_settings(storage=storage_override(data)).storage)
    if url.startswith("sqlite"):  # the database file lives in the data folder
        url = database_url(service_settings(data).storage)
    with database_errors(url):
        upgrade(url)
    say(f"database at head: {url.split('@')[-1]}")
