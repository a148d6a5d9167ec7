"""API keys: random, high-entropy secrets stored only as their SHA-256, each with one scope.

Scopes nest: ``read`` ⊂ ``write`` ⊂ ``admin`` (a key of a scope may do what the ones before allow).
A key is never deleted, only revoked (``revoked_at`` set); :meth:`KeyRepository.lookup` reads the
table on every call (one indexed query), so a revocation holds at once for every process sharing
the database. See docs/security.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ..errors import NotFound
from ..wire import iso_utc
from .database import utcnow, write_transaction
from .tables import api_keys

if TYPE_CHECKING:
    from ..settings import StorageSettings

__all__ = ["KEY_PREFIX", "SCOPES", "ApiKey", "KeyRepository", "add_key", "hash_key", "scope_allows"]

#: Scopes from least to most powerful.
SCOPES = ("read", "write", "admin")
#: Keys start with this so they are recognisable in logs and secret scanners.
KEY_PREFIX = "sfk_"


def scope_allows(granted: str, needed: str) -> bool:
    """Whether a credential of scope ``granted`` may do what needs ``needed``."""
    if granted not in SCOPES or needed not in SCOPES:
        return False
    return SCOPES.index(granted) >= SCOPES.index(needed)


def hash_key(key: str) -> str:
    """What is stored for ``key``: the SHA-256 hex. Keys carry 256 random bits, so no salt or stretching is needed."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: int
    scope: str
    name: str
    created_at: datetime
    revoked_at: datetime | None

    def as_dict(self) -> dict[str, object]:
        """The wire form (never the secret: it is not stored)."""
        return {
            "id": self.id,
            "scope": self.scope,
            "name": self.name,
            "createdUtc": iso_utc(self.created_at),
            "revokedUtc": iso_utc(self.revoked_at),
        }


def _record(row: Any) -> ApiKey:
    return ApiKey(row.id, row.scope, row.name, row.created_at, row.revoked_at)


class KeyRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(self, scope: str, name: str = "") -> tuple[str, ApiKey]:
        """A new key of ``scope``: returns the secret (shown once, never stored) and its record."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(
                insert(api_keys).values(key_hash=hash_key(secret), scope=scope, name=name, created_at=now)
            )
            inserted = result.inserted_primary_key
            assert inserted is not None
            key_id = int(inserted[0])
        return secret, ApiKey(key_id, scope, name, now, None)

    async def lookup(self, secret: str) -> ApiKey | None:
        """The live (not revoked) key whose secret is ``secret``, else None."""
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(api_keys).where(api_keys.c.key_hash == hash_key(secret), api_keys.c.revoked_at.is_(None))
                )
            ).first()
        return None if row is None else _record(row)

    async def list_keys(self, *, include_revoked: bool = True) -> list[ApiKey]:
        """Every key (oldest first), revoked ones too unless ``include_revoked`` is False."""
        query = select(api_keys).order_by(api_keys.c.id)
        if not include_revoked:
            query = query.where(api_keys.c.revoked_at.is_(None))
        async with self.engine.connect() as conn:
            return [_record(row) for row in (await conn.execute(query)).all()]

    async def get(self, key_id: int) -> ApiKey:
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(api_keys).where(api_keys.c.id == key_id))).first()
        if row is None:
            raise NotFound(f"no API key with id {key_id}")
        return _record(row)

    async def revoke(self, key_id: int) -> ApiKey:
        """Revoke a live key; returns its record. :class:`NotFound` when no live key has ``key_id``."""
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        if result.rowcount == 0:
            raise NotFound(f"no live API key with id {key_id}")
        return await self.get(key_id)

    async def count(self, scope: str | None = None) -> int:
        """Live keys (of ``scope`` when given)."""
        query = select(func.count()).select_from(api_keys).where(api_keys.c.revoked_at.is_(None))
        if scope is not None:
            query = query.where(api_keys.c.scope == scope)
        async with self.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())


def add_key(cfg: StorageSettings, scope: str, name: str = "") -> str:
    """Make an API key of ``scope`` in the database ``cfg`` selects, opened as the service opens it
    (:func:`~sceneforge.storage.stores.open_database`); returns the secret, shown only this once. Blocking.

    What ``sceneforge keys create`` runs: the database alone, no blob store, web app or job service.
    """
    from .stores import open_database

    async def create() -> str:
        engine = await open_database(cfg)
        try:
            key, _record = await KeyRepository(engine).create(scope, name)
            return key
        finally:
            await engine.dispose()

    return asyncio.run(create())
