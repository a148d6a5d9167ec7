"""Request bodies under a size limit: refused by ``Content-Length`` or while streaming, never read whole first."""

from __future__ import annotations

from starlette.requests import Request

from .problems import BodyTooLarge

__all__ = ["read_limited"]


async def read_limited(request: Request, maximum: int, limit: str) -> bytes:
    """The body, or :class:`BodyTooLarge` naming setting ``limit`` as soon as it is known to pass ``maximum`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > maximum:
        raise BodyTooLarge(limit, maximum)
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > maximum:
            raise BodyTooLarge(limit, maximum)
        parts.append(chunk)
    return b"".join(parts)
