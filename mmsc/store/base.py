"""The object store interface: put, get, stream, exists, delete, list by prefix.

Errors say whether to retry: :class:`StoreUnavailable` means "retry later" (the endpoint is
down, slow or throttling), :class:`StoreRequestError` means the request itself is wrong and
will fail again.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterable, AsyncIterator, Iterable

#: Chunk size for streaming reads and writes.
CHUNK = 64 * 1024


class ObjectStoreError(Exception):
    """Any object store failure."""


class ObjectNotFound(ObjectStoreError, KeyError):
    """No object under that key."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "object not found"


class InvalidKey(ObjectStoreError, ValueError):
    """A key outside the safe alphabet (see :mod:`mmsc.store.keys`)."""


class StoreUnavailable(ObjectStoreError):
    """Transient: the store cannot be reached or asks to slow down. Retry later."""


class StoreRequestError(ObjectStoreError):
    """Permanent: the store refused the request (bad bucket, access denied, ...)."""


Chunks = AsyncIterable[bytes] | Iterable[bytes]


class ObjectStore(abc.ABC):
    """Objects by key. Every method validates its key first and never blocks the loop."""

    @abc.abstractmethod
    async def put(self, key: str, data: bytes | memoryview) -> None:
        """Store ``data`` under ``key`` durably, replacing any object there atomically."""

    @abc.abstractmethod
    async def put_stream(self, key: str, chunks: Chunks, length: int | None = None) -> int:
        """Store the concatenated chunks without holding them all in memory; return the
        octets written."""

    @abc.abstractmethod
    async def get(self, key: str) -> bytes: ...

    @abc.abstractmethod
    def open(self, key: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        """Stream an object's octets."""

    @abc.abstractmethod
    async def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    async def delete(self, key: str) -> None:
        """Remove an object; a missing key is not an error."""

    @abc.abstractmethod
    async def list(self, prefix: str = "") -> list[str]:
        """Keys that start with ``prefix``, sorted."""

    async def sweep_temporary(self) -> int:
        """Remove what interrupted writes left behind; return how many. Backends whose
        writes are atomic on the server (S3) have nothing to sweep."""
        return 0

    async def close(self) -> None:
        """Release connections."""
