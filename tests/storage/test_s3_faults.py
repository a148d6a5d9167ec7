"""An S3 endpoint that stops answering, answers errors or cannot be reached: every blob operation ends within the
configured timeout (``SCENEFORGE_S3_TIMEOUT_S``) as a :class:`StorageError` naming the blob store and what S3 did,
never a bare botocore error (an HTTP 500) nor a request held for minutes; and the API answers 503 with its code.

A server that accepts connections and never answers is what a stopped (``SIGSTOP``) SeaweedFS is to a client: the
kernel completes the handshake, nothing reads the request.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from sceneforge.errors import NotFound, StorageError, StorageFull
from sceneforge.storage import S3BlobStore
from sceneforge.storage.s3 import SMALL_PUT_BYTES
from tests.api.conftest import TEST01, s3_storage, start_api

#: A blob operation not ended by then is held without bound (botocore's default was 60 s a try, 4 tries).
HANG_S = 60.0
TIMEOUT_S = 0.3


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """Accepts connections and never answers (never even reads)."""
    with socket.create_server(("127.0.0.1", 0), backlog=64) as server:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"


def _answering(status: int, code: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>".encode()
            self.send_response(status)
            self.send_header("content-type", "application/xml")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _answer

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def erring_endpoint() -> Iterator[Callable[[int, str], str]]:
    """``start(status, code)``: an endpoint answering every request with that S3 error."""
    servers: list[ThreadingHTTPServer] = []

    def start(status: int, code: str) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _answering(status, code))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _store(endpoint: str) -> S3BlobStore:
    return S3BlobStore("b", endpoint_url=endpoint, access_key="k", secret_key="s", timeout_s=TIMEOUT_S)


def _ends(operation: Callable[[], object]) -> BaseException | None:
    """What ``operation`` raised (None: nothing); fails when it is still running after :data:`HANG_S`."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            operation()
            outcome.append(None)
        except BaseException as exc:  # handed to the test
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(HANG_S)
    assert outcome, f"still waiting on S3 after {HANG_S:g} s"
    return outcome[0]


KEY = "0" * 64


def _operations(store: S3BlobStore) -> dict[str, Callable[[], object]]:
    return {
        "put": lambda: store.put(b"glTF scene"),
        "size": lambda: store.size(KEY),
        "exists": lambda: store.exists(KEY),
        "read": lambda: b"".join(store.iter_range(KEY, 0, 10)),
        "delete": lambda: store.delete(KEY),
        "withdraw": lambda: store.withdraw(KEY),
        "restore": lambda: store.restore(KEY, f".out-{KEY}.{'0' * 32}"),
        "purge": lambda: store.purge(f".out-{KEY}.{'0' * 32}"),
        "listing": lambda: list(store.listing()),
        "withdrawn": lambda: list(store.withdrawn()),
    }


OPERATIONS = ["put", "size", "exists", "read", "delete", "withdraw", "restore", "purge", "listing", "withdrawn"]


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_silent_s3_ends_each_operation_within_its_timeout(silent_endpoint: str, operation: str) -> None:
    error = _ends(_operations(_store(silent_endpoint))[operation])
    assert isinstance(error, StorageError) and not isinstance(error, NotFound), repr(error)
    assert error.code == "blob_store_unavailable"
    assert error.public is not None and f"S3 did not answer within {TIMEOUT_S:g} s (SCENEFORGE_S3_TIMEOUT_S)" in (
        error.public
    )
    assert "127.0.0.1" not in error.public  # the address stays in the log


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize(("status", "code"), [(500, "InternalError"), (503, "SlowDown")])
def test_s3_answering_errors_is_a_storage_error_saying_so(
    erring_endpoint: Callable[[int, str], str], operation: str, status: int, code: str
) -> None:
    """``put`` and ``delete`` let botocore's ``ClientError`` through (an HTTP 500 from the API)."""
    error = _ends(_operations(_store(erring_endpoint(status, code)))[operation])
    assert isinstance(error, StorageError) and not isinstance(error, NotFound | StorageFull), repr(error)
    assert error.code == "blob_store_unavailable"
    assert error.public is not None and f"S3 answered {status}" in error.public


def test_s3_out_of_room_is_storage_full(erring_endpoint: Callable[[int, str], str]) -> None:
    store = _store(erring_endpoint(507, "InsufficientStorage"))
    error = _ends(lambda: store.put(b"glTF"))
    assert isinstance(error, StorageFull) and error.code == "blob_store_full", repr(error)


def test_s3_that_refuses_connections_is_a_storage_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        endpoint = f"http://127.0.0.1:{closed.getsockname()[1]}"
    store = _store(endpoint)
    for operation, verb in ((lambda: store.put(b"glTF"), "write"), (lambda: store.get("0" * 64), "read")):
        error = _ends(operation)
        assert isinstance(error, StorageError) and error.code == "blob_store_unavailable", repr(error)
        assert error.public == f"the blob store could not {verb}: S3 could not be reached (EndpointConnectionError)"


def test_a_small_put_and_a_get_are_one_request_each(s3_server: Any) -> None:
    """A small blob is written without asking first whether it is stored, and read whole in one GET; a large one is
    looked for first (its bytes are not sent again)."""
    from tests.storage.conftest import s3_store

    store = s3_store(s3_server)
    sent: list[str] = []
    store.client.meta.events.register("before-send.s3", lambda request, **_: sent.append(request.method))
    small = b"small blob " + os.urandom(8)
    key = store.put(small)
    assert store.put(small) == key and sent == ["PUT", "PUT"]
    sent.clear()
    assert store.get(key) == small and sent == ["GET"]
    with pytest.raises(NotFound):
        store.get("f" * 64)
    sent.clear()
    big = os.urandom(SMALL_PUT_BYTES + 1)
    store.put(big)
    store.put(big)
    assert sent == ["HEAD", "PUT", "HEAD"]


def test_the_api_answers_503_while_s3_is_silent_and_works_once_it_answers(
    tmp_path: Path, s3_server: Any, silent_endpoint: str
) -> None:
    # The working server keeps the default timeout: a write to SeaweedFS on a loaded machine can take longer than
    # TIMEOUT_S, which only the silent endpoint's client is held to.
    for api in start_api(tmp_path, storage=s3_storage(s3_server)):
        headers = {**api.auth(), "content-type": "application/json"}
        built = api.post("/scenes/build", content=TEST01, headers=headers)
        assert built.status_code == 200, built.text
        store = api.services.blobs
        assert isinstance(store, S3BlobStore)
        working, working_timeout_s = store.client, store.timeout_s
        store.client, store.timeout_s = _store(silent_endpoint).client, TIMEOUT_S  # S3 stops answering
        try:
            reply = api.post("/jobs/enqueue", content=TEST01.replace(b"hall", b"lobby"), headers=headers)
            assert reply.status_code == 503, reply.text
            assert reply.json()["code"] == "blob_store_unavailable"
            assert "did not answer within" in reply.json()["detail"]
            for url in ("/scenes/test01.glb", f"/scenes/test01.{built.json()['eTag']}.glb"):  # a GLB read
                glb = api.get(url)  # answered "500 the representation could not be read"
                assert glb.status_code == 503, glb.text
                assert glb.headers["content-type"] == "application/problem+json"
                assert glb.json()["code"] == "blob_store_unavailable"
                assert f"S3 did not answer within {TIMEOUT_S:g} s" in glb.json()["detail"]
        finally:
            store.client, store.timeout_s = working, working_timeout_s
        assert api.get("/scenes/test01.glb").status_code == 200
        again = api.post("/jobs/enqueue", content=TEST01.replace(b"hall", b"lobby"), headers=headers)
        assert again.status_code == 200, again.text
