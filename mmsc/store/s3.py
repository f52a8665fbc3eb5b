"""The scale-out object store: an S3 bucket (MinIO in deployments) through the ``minio`` client.

The bucket is made on first use when missing. A stream of unknown length goes up as a
multipart upload, one part at a time, never whole in memory. Each operation has a time
limit, retries included (the HTTP pool's three tries share it), so a store that is down or
hung fails within it. Errors are sorted into
"retry later" (:class:`StoreUnavailable`: connection refused, timeouts, 5xx, SlowDown) and
"bad request" (:class:`StoreRequestError`: access denied, invalid bucket, other 4xx).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import urllib3
from minio import Minio
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.helpers import MAX_PART_SIZE, MIN_PART_SIZE, check_bucket_name

from .base import (
    ChunkFeed, ObjectNotFound, ObjectStore, ObjectStoreError, StoreRequestError,
    StoreUnavailable,
)

MIB = 1024 * 1024
#: S3 error codes that mean "try again later" whatever the HTTP status.
_TRANSIENT_CODES = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout",
                    "Throttling"}
#: HTTP statuses urllib3 retries (twice, quickly) before the error reaches the store.
_RETRIED_STATUSES = (500, 502, 503, 504)
#: Tries of one HTTP request (the first and two retries); each waits a share of the limit.
_TRIES = 3


def _transient(status: int) -> bool:
    return status >= 500 or status == 429


class _FeedReader:
    """``read(n)`` over a put's chunks: the file-like object ``put_object`` reads parts from."""

    def __init__(self, chunks: Iterator[memoryview]) -> None:
        self._chunks = chunks
        self._current = memoryview(b"")

    def read(self, size: int) -> bytes:
        pieces: list[memoryview] = []
        wanted = size
        while wanted > 0:
            if not self._current:
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._current = chunk
            pieces.append(self._current[:wanted])
            self._current = self._current[wanted:]
            wanted -= len(pieces[-1])
        return b"".join(pieces)  # the one copy


class _Download:
    """An object being read: ``read`` and ``close`` over minio's HTTP response."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self._response = response

    def read(self, size: int = -1) -> bytes:
        return self._response.read(None if size < 0 else size)

    def close(self) -> None:
        self._response.close()
        self._response.release_conn()


class S3Store(ObjectStore):
    """Objects in one bucket of an S3-compatible server at ``endpoint`` (``host:port``).

    ``timeout`` bounds each operation, retries included (see :class:`ObjectStore`); each of
    the three tries of a request waits at most a third of it for the server (connecting at
    most 3 seconds), so the worker thread gives up about when the caller did;
    ``part_size`` is the multipart upload part (5 MiB to 5 GiB): a put holds about three
    parts in memory at most (one here, two copies inside minio), whatever the object's size.
    An invalid bucket name is a StoreRequestError here.
    """

    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str, *,
                 secure: bool = False, region: str | None = None, timeout: float = 30.0,
                 part_size: int = 8 * MIB) -> None:
        try:
            check_bucket_name(bucket, strict=True)
        except ValueError as exc:
            raise StoreRequestError(f"S3 bucket {bucket!r} at {endpoint}: {exc}") from None
        if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
            raise ValueError(f"part_size {part_size} is outside {MIN_PART_SIZE} to "
                             f"{MAX_PART_SIZE} octets")
        super().__init__(f"bucket {bucket} at {endpoint}", timeout)
        self.endpoint = endpoint
        self.bucket = bucket
        self.part_size = part_size
        per_try = timeout / _TRIES
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=min(per_try, 3.0), read=per_try),
            retries=urllib3.Retry(total=_TRIES - 1, backoff_factor=0.1,
                                  status_forcelist=_RETRIED_STATUSES, raise_on_status=False,
                                  respect_retry_after_header=False),
            maxsize=16)
        self._client = Minio(endpoint, access_key=access_key, secret_key=secret_key,
                             secure=secure, region=region, http_client=self._http)
        self._bucket_ready = False
        self._bucket_lock = threading.Lock()

    def _ready(self) -> Minio:
        """The client, once the bucket is known to exist (made on the first call)."""
        if not self._bucket_ready:
            with self._bucket_lock:
                if not self._bucket_ready:
                    self._make_bucket()
                    self._bucket_ready = True
        return self._client

    def _make_bucket(self) -> None:
        if self._client.bucket_exists(self.bucket):
            return
        try:
            self._client.make_bucket(self.bucket)
        except S3Error as exc:
            if exc.code != "BucketAlreadyOwnedByYou":  # another node made it meanwhile
                raise

    # -- the backend -----------------------------------------------------------------------------

    def _write(self, key: str, feed: ChunkFeed) -> None:
        # -1 is "unknown", also for 0: minio would not read at all, so the feed could not
        # check that nothing follows.
        self._ready().put_object(self.bucket, key, _FeedReader(iter(feed)), feed.length or -1,
                                 part_size=self.part_size, num_parallel_uploads=1)

    def _reader(self, key: str) -> _Download:
        return _Download(self._ready().get_object(self.bucket, key))

    def _version(self, key: str) -> str | None:
        """The object's ETag and modification time (an identical object written again may
        keep its ETag, never its time)."""
        try:
            found = self._ready().stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code == "NoSuchKey":
                return None
            raise
        return f"{found.etag}-{found.last_modified.isoformat() if found.last_modified else ''}"

    def _delete(self, key: str) -> None:
        self._ready().remove_object(self.bucket, key)

    def _list(self, prefix: str) -> list[str]:
        found = self._ready().list_objects(self.bucket, prefix=prefix, recursive=True)
        return [item.object_name for item in found if item.object_name is not None]

    def _failure(self, exc: Exception, operation: str, key: str) -> ObjectStoreError | None:
        where = self._where(operation, key)
        if isinstance(exc, S3Error):
            status = exc.response.status if exc.response is not None else 0
            if exc.code == "NoSuchKey":
                return ObjectNotFound(f"no object {key!r} in {self.location}")
            if exc.code == "NoSuchBucket":  # removed behind our back: make it again next time
                self._bucket_ready = False
                return StoreUnavailable(f"{where}: the bucket is gone; it is made again on "
                                        "the next call, retry later")
            if exc.code in _TRANSIENT_CODES or _transient(status):
                return StoreUnavailable(f"{where}: {exc.code} (HTTP {status}), retry later")
            return StoreRequestError(f"{where}: {exc.code} (HTTP {status}): {exc.message}")
        if isinstance(exc, ServerError):
            kind = StoreUnavailable if _transient(exc.status_code) else StoreRequestError
            return kind(f"{where}: HTTP {exc.status_code} with no S3 error")
        if isinstance(exc, InvalidResponseError):  # an answer that is not S3: a proxy's page
            return StoreUnavailable(f"{where}: the server did not answer as S3 ({exc}), "
                                    "retry later")
        if isinstance(exc, urllib3.exceptions.HTTPError | OSError):
            reason = getattr(exc, "reason", None) or exc
            return StoreUnavailable(f"{where}: {self.endpoint} unreachable ({reason}), "
                                    "retry later")
        return None

    async def close(self) -> None:
        await asyncio.to_thread(self._http.clear)
        await super().close()
