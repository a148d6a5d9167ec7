"""The studio page and the browser code it loads, all served from the installed package.

``/`` → ``sceneforge/studio/index.html``; ``/studio/*`` → that folder; ``/clients/js/*`` → the JS
runtime (``sceneforge/studio/runtime``, copied from ``clients/js`` into the wheel at build time;
the checkout's ``clients/js`` when running from a source tree); ``/vendor/three/*`` and
``/vendor/three-mesh-bvh/*`` → the pinned ES modules vendored under ``sceneforge/studio/vendor``
(``tools/vendor_js.py``; versions in its ``VERSIONS.json``). Nothing is read from the working
folder, so ``sceneforge serve`` serves the same studio from anywhere. A folder that is absent
gives clean 404s.

Conditional and range requests follow the rules of the API's own files (:mod:`.delivery`): ``/``
answers ``If-None-Match`` with 304 like every other file here, an ``If-Match`` that does not hold is a
problem+json 412 (before any 304, RFC 9110 §13.2.2), and a ``Range`` that
:func:`~.delivery.parse_range` ignores (another unit, bad syntax, more than 64 ranges) is ignored
(200; Starlette alone answered 400, though RFC 9110 §14.2 has a server ignore a unit it does not
know), one it reads is sent as its coalesced, satisfiable ranges, and one with no range inside the file is
a problem+json 416.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from .delivery import RangeNotSatisfiable, if_match_holds, parse_range
from .problems import problem
from .responses import NO_STORE

__all__ = ["RUNTIME_DIR", "STUDIO_DIR", "VENDOR_DIR", "mount_studio"]

STUDIO_DIR = Path(__file__).resolve().parent.parent / "studio"
VENDOR_DIR = STUDIO_DIR / "vendor"
#: The JS runtime inside an installed wheel; from a source tree, the checkout's ``clients/js``.
RUNTIME_DIR = STUDIO_DIR / "runtime" if (STUDIO_DIR / "runtime").is_dir() else STUDIO_DIR.parents[2] / "clients" / "js"


class _OptionalStatic(StaticFiles):
    """StaticFiles that answers 404 (instead of failing) while its folder does not exist."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory, check_dir=False)

    async def check_config(self) -> None:
        if not Path(str(self.directory)).is_dir():
            raise HTTPException(404, "not found")
        await super().check_config()

    async def get_response(self, path: str, scope: Scope) -> Response:
        self.config_checked = False  # the folder may appear or vanish while the server runs
        return await super().get_response(path, scope)

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        if_match = _joined(scope["headers"], b"if-match")
        etag = response.headers.get("etag", "")
        if if_match is not None and not if_match_holds(if_match, etag.removeprefix('"').removesuffix('"')):
            # RFC 9110 §13.2.2: If-Match is evaluated first (before If-None-Match's 304), by strong comparison
            detail = f"If-Match does not hold: the current ETag is {etag}"
            return problem(412, detail, {"etag": etag, "cache-control": NO_STORE})
        if not isinstance(response, FileResponse):  # a 304
            return response
        size = stat_result.st_size
        applies = scope["method"] == "GET" and _if_range_holds(scope["headers"], response)
        try:
            headers = _ranged(scope["headers"], size, applies)
        except RangeNotSatisfiable:
            detail = f"the file has {size} bytes"
            return problem(416, detail, {"content-range": f"bytes */{size}", "cache-control": NO_STORE})
        return response if headers is None else _WithHeaders(response, headers)


def _if_range_holds(headers: list[tuple[bytes, bytes]], response: Response) -> bool:
    """Whether a ``Range`` may apply (RFC 9110 §13.1.5): no ``If-Range``, or one that is the file's strong ``ETag``
    or its ``Last-Modified`` date exactly (its lines joined, as :func:`_joined` reads them: several are none).
    Decided here, not by Starlette: its own 416 for a range past the end is a bare text/plain one, cacheable."""
    value = _joined(headers, b"if-range")
    if value is None:
        return True
    value = value.strip()
    return not value.startswith("W/") and value in (response.headers.get("etag"), response.headers.get("last-modified"))


def _ranged(headers: list[tuple[bytes, bytes]], size: int, applies: bool) -> list[tuple[bytes, bytes]] | None:
    """``headers`` with the ``Range`` a file of ``size`` bytes is sent by (:func:`parse_range`'s reading: none when it
    is to be ignored or does not ``apply``, its coalesced ranges when it is read); None when none was sent.
    :class:`RangeNotSatisfiable` when no range is inside the file."""
    value = _joined(headers, b"range")  # several lines joined (RFC 9110 §5.3): no range set, so ignored
    if value is None:
        return None
    ranges = parse_range(value, size) if applies else None  # RFC 9110 §14.2: Range is for GET; §13.1.5: If-Range
    rest = [(n, v) for n, v in headers if n not in (b"range", b"if-range")]  # decided: Starlette reads neither again
    if ranges is None:
        return rest
    return [*rest, (b"range", ("bytes=" + ",".join(f"{r.start}-{r.stop - 1}" for r in ranges)).encode("latin-1"))]


def _joined(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    """The field ``name``'s lines joined by commas (RFC 9110 §5.3); None when it was not sent."""
    values = [v.decode("latin-1") for n, v in headers if n == name]
    return ", ".join(values) if values else None


class _WithHeaders(Response):
    """``response`` sent for a request with other headers."""

    def __init__(self, response: Response, headers: list[tuple[bytes, bytes]]) -> None:
        self.response, self.request_headers = response, headers
        self.status_code, self.background, self.body = response.status_code, None, b""
        self.raw_headers = response.raw_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.response({**scope, "headers": self.request_headers}, receive, send)


def mount_studio(app: FastAPI) -> None:
    """Register the studio routes (page, runtime, vendored three.js) on ``app``."""
    index = STUDIO_DIR / "index.html"
    page = _OptionalStatic(STUDIO_DIR)

    @app.get("/", include_in_schema=False)
    async def studio_index(request: Request) -> Response:
        if not index.is_file():
            raise HTTPException(404, "the studio is not installed")
        response = await page.get_response("index.html", request.scope)  # 304 for its ETag, ranges as below
        if response.status_code < 400:  # the page; a 416 keeps its no-store (it is not the page)
            response.headers["cache-control"] = "no-cache"
        return response

    mounts = {
        "/studio": STUDIO_DIR,
        "/clients/js": RUNTIME_DIR,
        "/vendor/three": VENDOR_DIR / "three",
        "/vendor/three-mesh-bvh": VENDOR_DIR / "three-mesh-bvh",
    }
    for prefix, directory in mounts.items():
        app.mount(prefix, _OptionalStatic(directory), name=prefix.strip("/").replace("/", "-"))
