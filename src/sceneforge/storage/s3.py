"""The scale-out blob store: an S3-compatible bucket (AWS, SeaweedFS, MinIO, moto).

Path-style addressing (``http://endpoint/bucket/key``) so any host name works. Reads are ranged
GETs streamed in chunks from the response body; a blob is never held whole in memory unless the
caller asks for :meth:`~BlobStore.get`. :meth:`~S3BlobStore.listing` pages through the prefix
(1,000 keys a request). Opened from the storage settings by :func:`~sceneforge.storage.stores.open_blob_store`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ..errors import NotFound, StorageError, StorageFull
from .blobs import (
    CHUNK_SIZE,
    WITHDRAWN_PREFIX,
    BlobInfo,
    BlobStore,
    blob_key,
    check_key,
    is_key,
    withdrawn_key,
    withdrawn_name,
)

__all__ = ["S3BlobStore"]


#: Seconds an S3 request may wait to connect and for each read of its answer (``SCENEFORGE_S3_TIMEOUT_S``).
DEFAULT_TIMEOUT_S = 10.0
#: Retries of a request that failed or timed out (botocore's ``max_attempts``: 4 tries in all).
RETRIES = 3


#: Blobs up to this many bytes are written without asking first whether they are stored: one request instead of
#: two (the same bytes written again are the same object); a larger one is looked for first, not sent again.
SMALL_PUT_BYTES = 1 << 20

#: What S3 answers when the caller's own bucket exists already (another instance made it first).
_OWNED = "BucketAlreadyOwnedByYou"


def _answer(exc: Exception) -> tuple[str, int | None]:
    """The error code and HTTP status of an S3 error answer (``""`` and None for an error that is not one)."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", "")), response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def _is_missing(exc: Exception) -> bool:
    code, status = _answer(exc)
    return code in {"404", "NoSuchKey", "NotFound", "NoSuchBucket"} or status == 404


class S3BlobStore(BlobStore):
    """Blobs as objects ``<prefix><key>`` in one bucket."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        region: str = "us-east-1",
        prefix: str = "blobs/",
        create_bucket: bool = False,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix, self.timeout_s = bucket, prefix, timeout_s
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=Config(
                s3={"addressing_style": "path"},
                signature_version="s3v4",
                retries={"max_attempts": RETRIES},
                connect_timeout=timeout_s,  # botocore's 60 s each, 4 tries: a stopped server held a request 4 min
                read_timeout=timeout_s,
            ),
        )
        if create_bucket:
            self.ensure_bucket()

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist yet. An endpoint that cannot be reached or refuses (no
        credentials, a bucket that cannot be made) is a :class:`StorageError` naming the bucket and the endpoint:
        the commands that open the store at start say so in one line and stop."""
        from botocore.exceptions import BotoCoreError, ClientError

        where = f"S3 bucket {self.bucket} at {self.client.meta.endpoint_url} (SCENEFORGE_S3_*)"
        try:
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if not _is_missing(exc):
                    raise
                try:
                    self.client.create_bucket(Bucket=self.bucket)
                except ClientError as exc:
                    # Another instance starting at the same time made it between the two calls.
                    if _answer(exc)[0] != _OWNED:
                        raise
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot use the {where}: {exc}") from exc

    def _object(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _fault(self, exc: Exception, doing: str) -> StorageError:
        """``exc`` (an S3 error answer, a timeout, a connection that failed) as the :class:`StorageError` clients get:
        code ``blob_store_unavailable`` (``blob_store_full`` for 507 or a quota), saying what S3 did without its
        address."""
        from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

        full = False
        if isinstance(exc, ClientError):
            code, status = _answer(exc)
            reason = f"S3 answered {status or ''} {code}".replace("  ", " ").strip()
            full = status == 507 or code in {"InsufficientStorage", "QuotaExceeded"}
        elif isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
            reason = f"S3 did not answer within {self.timeout_s:g} s (SCENEFORGE_S3_TIMEOUT_S)"
        else:
            reason = f"S3 could not be reached ({type(exc).__name__})"
        message = f"S3 bucket {self.bucket} at {self.client.meta.endpoint_url}: could not {doing}: {exc}"
        verb = doing.split(" ")[0]
        if full:
            public = f"the blob store has no room left: {reason}; nothing was stored"
            return StorageFull(message, code="blob_store_full", public=public)
        return StorageError(message, code="blob_store_unavailable", public=f"the blob store could not {verb}: {reason}")

    def _write(self, key: str, data: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=self._object(key), Body=data)
        except (BotoCoreError, ClientError) as exc:
            raise self._fault(exc, f"write blob {key}") from exc

    def put(self, data: bytes) -> str:
        if len(data) > SMALL_PUT_BYTES:
            return super().put(data)
        key = blob_key(data)
        self._write(key, data)
        return key

    def get(self, key: str) -> bytes:
        """The whole blob in one GET (the store's own :meth:`~BlobStore.get` asks for its size first)."""
        response = self._read(key, self.client.get_object)
        return b"".join(self._stream(response["Body"], int(response["ContentLength"]), CHUNK_SIZE, key))

    def _read(self, key: str, request: Any, **params: Any) -> Any:
        """The answer of ``request`` (a client call) for blob ``key``: :class:`NotFound` when S3 has no such object,
        a :class:`StorageError` when it fails."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return request(Bucket=self.bucket, Key=self._object(key), **params)
        except (BotoCoreError, ClientError) as exc:
            if isinstance(exc, ClientError) and _is_missing(exc):
                raise NotFound(f"blob {key} does not exist") from None
            raise self._fault(exc, f"read blob {key}") from exc

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except NotFound:
            return False
        return True

    def size(self, key: str) -> int:
        return int(self._read(key, self.client.head_object)["ContentLength"])

    def iter_range(self, key: str, start: int, stop: int, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        if stop <= start:
            self.size(key)  # an empty range of a missing blob is still NotFound
            return iter(())
        response = self._read(key, self.client.get_object, Range=f"bytes={start}-{stop - 1}")
        return self._stream(response["Body"], stop - start, chunk_size, key)

    def _stream(self, body: Any, expected: int, chunk_size: int, key: str) -> Iterator[bytes]:
        from botocore.exceptions import BotoCoreError

        sent = 0
        try:
            for chunk in body.iter_chunks(chunk_size):
                sent += len(chunk)
                yield chunk
        except BotoCoreError as exc:  # S3 stopped answering (or cut the body) midway: the read timeout ends it
            raise self._fault(exc, f"read blob {key}") from exc
        finally:
            body.close()
        if sent != expected:
            raise StorageError(f"S3 returned {sent} bytes for a range of {expected}")

    def delete(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            name = self._object(key)
        except NotFound:
            return
        try:
            self.client.delete_object(Bucket=self.bucket, Key=name)
        except (BotoCoreError, ClientError) as exc:
            raise self._fault(exc, f"delete blob {key}") from exc

    def withdraw(self, key: str) -> str | None:
        from botocore.exceptions import BotoCoreError, ClientError

        # S3 has no rename: a server-side copy aside, then the delete. A put in between finds the blob
        # and writes nothing, and its writer's ensure() (after its commit) finds it gone and writes it.
        token = withdrawn_name(key)
        try:
            self._copy(self._object(key), self.prefix + token)
        except (BotoCoreError, ClientError) as exc:
            if isinstance(exc, ClientError) and _is_missing(exc):
                return None
            raise self._fault(exc, f"move blob {key} aside") from exc
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._object(key))
        except (BotoCoreError, ClientError) as exc:  # still in place: the copy aside goes
            self.purge(token)
            raise self._fault(exc, f"move blob {key} aside") from exc
        return token

    def _copy(self, source: str, target: str) -> None:
        self.client.copy_object(Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": source})

    def _token_object(self, token: str, key: str | None = None) -> str:
        found = withdrawn_key(token)
        if found is None or (key is not None and found != key):
            raise NotFound(f"{token!r} is not a withdrawn blob{'' if key is None else ' of ' + key}")
        return self.prefix + token

    def restore(self, key: str, token: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._copy(self._token_object(token, key), self._object(key))
        except (BotoCoreError, ClientError) as exc:
            if isinstance(exc, ClientError) and _is_missing(exc):
                return
            raise self._fault(exc, f"restore blob {key}") from exc
        self.purge(token)

    def purge(self, token: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._token_object(token))
        except (BotoCoreError, ClientError) as exc:
            raise self._fault(exc, f"delete withdrawn blob {token}") from exc

    def _pages(self, prefix: str) -> Iterator[dict[str, Any]]:
        """The listing of ``prefix``, page by page; S3 failing midway is a :class:`StorageError`."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield from self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        except (BotoCoreError, ClientError) as exc:
            raise self._fault(exc, f"list {prefix}") from exc

    def withdrawn(self) -> Iterator[tuple[str, str, datetime]]:
        for page in self._pages(self.prefix + WITHDRAWN_PREFIX):
            for item in page.get("Contents", ()):
                token = str(item["Key"])[len(self.prefix) :]
                key = withdrawn_key(token)
                if key is not None:
                    yield key, token, item["LastModified"]

    def listing(self) -> Iterator[BlobInfo]:
        for page in self._pages(self.prefix):
            for item in page.get("Contents", ()):
                key = str(item["Key"])[len(self.prefix) :]
                if is_key(key):
                    yield BlobInfo(key, int(item["Size"]), item["LastModified"])

    def ping(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise StorageError(f"S3 bucket {self.bucket} is not reachable: {exc}") from exc

    def presigned_url(self, key: str, expires_s: int = 300, content_type: str | None = None) -> str | None:
        params: dict[str, str] = {"Bucket": self.bucket, "Key": self._object(key)}
        if content_type:
            params["ResponseContentType"] = content_type
        return str(self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s))
