"""The scale-out object store: an S3 bucket (MinIO in deployments) through the ``minio`` client.

The bucket is created on first use when missing. Streams of unknown length go up as a
multipart upload, one part at a time, never whole in memory. Errors are sorted into
"retry later" (:class:`StoreUnavailable`: connection refused, timeouts, 5xx, SlowDown) and
"bad request" (:class:`StoreRequestError`: access denied, invalid bucket, other 4xx).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from io import BytesIO, RawIOBase
from typing import Any, TypeVar

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error, ServerError

from .base import (
    CHUNK, Chunks, ObjectNotFound, ObjectStore, ObjectStoreError, StoreRequestError,
    StoreUnavailable,
)
from .keys import validate_key, validate_prefix

T = TypeVar("T")
MIB = 1024 * 1024
#: S3 error codes that mean "try again later" whatever the HTTP status.
_TRANSIENT_CODES = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout",
                    "RequestTimeTooSkewed", "OperationAborted"}
_MISSING_CODES = {"NoSuchKey", "NoSuchObject"}


class _ChunkReader(RawIOBase):
    """A file-like ``read(n)`` over chunks that arrive one by one (for ``put_object``)."""

    def __init__(self, next_chunk: Callable[[], bytes | None]) -> None:
        self._next = next_chunk
        self._buffer = b""
        self._done = False
        self.count = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while not self._done and (size < 0 or len(self._buffer) < size):
            chunk = self._next()
            if chunk is None:
                self._done = True
            else:
                self._buffer += chunk
        if size < 0:
            size = len(self._buffer)
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        self.count += len(out)
        return out


def _sync_source(chunks: Iterable[bytes]) -> Callable[[], bytes | None]:
    iterator: Iterator[bytes] = iter(chunks)
    return lambda: next(iterator, None)


def _async_source(chunks: AsyncIterable[bytes],
                  loop: asyncio.AbstractEventLoop) -> Callable[[], bytes | None]:
    """Pull the next chunk of an async iterable from a worker thread, through the loop."""
    iterator = chunks.__aiter__()

    async def pull() -> bytes | None:
        try:
            return await iterator.__anext__()
        except StopAsyncIteration:
            return None

    return lambda: asyncio.run_coroutine_threadsafe(pull(), loop).result()


class S3Store(ObjectStore):
    """Objects in one bucket of an S3-compatible server."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str, *,
                 secure: bool = False, region: str | None = None, timeout: float = 10.0,
                 part_size: int = 8 * MIB) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.part_size = part_size
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=min(timeout, 3.0), read=timeout),
            retries=urllib3.Retry(total=1, backoff_factor=0.2,
                                  status_forcelist=(500, 502, 503, 504)),
            maxsize=16)
        self._client = Minio(endpoint, access_key=access_key, secret_key=secret_key,
                             secure=secure, region=region, http_client=http)
        self._http = http
        self._bucket_ready = False
        self._bucket_lock = threading.Lock()

    # -- errors ----------------------------------------------------------------------------------

    def _call(self, what: str, key: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one client call, sorting its failure into the store's error classes."""
        try:
            self._ensure_bucket()
            return fn(*args, **kwargs)
        except ObjectStoreError:
            raise
        except S3Error as exc:
            where = f"{what} {key!r} in {self.bucket} at {self.endpoint}"
            if exc.code in _MISSING_CODES:
                raise ObjectNotFound(key) from None
            status = exc.response.status if exc.response is not None else 0
            if exc.code in _TRANSIENT_CODES or status >= 500 or status == 429:
                raise StoreUnavailable(f"{where}: {exc.code} ({status}), retry later") from exc
            raise StoreRequestError(f"{where}: {exc.code} ({status}) {exc.message}") from exc
        except ServerError as exc:
            raise StoreUnavailable(f"{what} {key!r} at {self.endpoint}: server error "
                                   f"{exc.status_code}, retry later") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StoreUnavailable(f"{what} {key!r}: {self.endpoint} unreachable "
                                   f"({type(exc).__name__}), retry later") from exc
        except (MinioException, ValueError) as exc:
            raise StoreRequestError(f"{what} {key!r} at {self.endpoint}: {exc}") from exc

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        with self._bucket_lock:
            if self._bucket_ready:
                return
            if not self._client.bucket_exists(self.bucket):
                try:
                    self._client.make_bucket(self.bucket)
                except S3Error as exc:
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise
            self._bucket_ready = True

    async def _run(self, what: str, key: str, fn: Callable[..., T], *args: Any,
                   **kwargs: Any) -> T:
        return await asyncio.to_thread(self._call, what, key, fn, *args, **kwargs)

    # -- blocking work ---------------------------------------------------------------------------

    def _put(self, key: str, reader: Any, length: int) -> None:
        self._client.put_object(self.bucket, key, reader, length,
                                part_size=self.part_size if length < 0 else 0)

    def _read(self, key: str) -> bytes:
        response = self._client.get_object(self.bucket, key)
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    def _exists(self, key: str) -> bool:
        try:
            self._client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING_CODES or exc.code == "NoSuchKey":
                return False
            raise
        return True

    def _list(self, prefix: str) -> list[str]:
        return sorted(o.object_name for o in self._client.list_objects(
            self.bucket, prefix=prefix, recursive=True) if o.object_name is not None)

    # -- the interface ---------------------------------------------------------------------------

    async def put(self, key: str, data: bytes | memoryview) -> None:
        validate_key(key)
        await self._run("put", key, self._put, key, BytesIO(data), len(data))

    async def put_stream(self, key: str, chunks: Chunks, length: int | None = None) -> int:
        validate_key(key)
        if isinstance(chunks, AsyncIterable):
            source = _async_source(chunks, asyncio.get_running_loop())
        else:
            source = _sync_source(chunks)
        reader = _ChunkReader(source)
        await self._run("put", key, self._put, key, reader, -1 if length is None else length)
        return reader.count

    async def get(self, key: str) -> bytes:
        validate_key(key)
        return await self._run("get", key, self._read, key)

    async def open(self, key: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        validate_key(key)
        response = await self._run("open", key, self._client.get_object, self.bucket, key)
        try:
            while chunk := await self._run("read", key, response.read, chunk_size):
                yield chunk
        finally:
            response.close()
            response.release_conn()

    async def exists(self, key: str) -> bool:
        validate_key(key)
        return await self._run("stat", key, self._exists, key)

    async def delete(self, key: str) -> None:
        validate_key(key)
        await self._run("delete", key, self._client.remove_object, self.bucket, key)

    async def list(self, prefix: str = "") -> list[str]:
        validate_prefix(prefix)
        return await self._run("list", prefix, self._list, prefix)

    async def close(self) -> None:
        self._http.clear()
