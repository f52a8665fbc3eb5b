"""The object store interface: put, get, stream, exists and version, delete, list by prefix.

:class:`ObjectStore` holds what every backend shares: key validation, running the blocking
work in the store's own worker threads (a store that hangs holds those, never the threads
the rest of the process shares), a time limit on each operation, turning a backend's
failures into the error classes below, and feeding a ``put_stream``'s chunks to the worker
thread. A backend writes only blocking methods (``_write``, ``_reader``, ``_version``,
``_delete``, ``_list``) and ``_failure``, which sorts its exceptions.

Errors say whether to retry: :class:`StoreUnavailable` means "retry later" (the endpoint is
down, slow or throttling, the disk is full), :class:`StoreRequestError` means the request
itself is wrong and will fail again.
"""

from __future__ import annotations

import abc
import asyncio
import concurrent.futures
import threading
from concurrent.futures import ThreadPoolExecutor
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from typing import Protocol, TypeVar

from mmsc import metrics


#: Chunk size for streaming reads.
CHUNK = 64 * 1024
#: Worker threads of one store: operations beyond that many at once wait their turn.
WORKERS = 16

T = TypeVar("T")


class ObjectStoreError(Exception):
    """Any object store failure."""


class ObjectNotFound(ObjectStoreError, KeyError):
    """No object under that key."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "object not found"


class InvalidKey(ObjectStoreError, ValueError):
    """A key outside the safe alphabet (see :mod:`mmsc.store.keys`)."""


class StoreUnavailable(ObjectStoreError):
    """Transient: the store cannot be reached, times out, asks to slow down. Retry later."""


class StoreRequestError(ObjectStoreError):
    """Permanent: the store refused the request (bad bucket, access denied, ...)."""


# keys.py raises InvalidKey, so it is imported once the errors exist; the functions are looked
# up at call time, which works whichever of the two modules is imported first.
from . import keys

Chunks = AsyncIterable[bytes] | Iterable[bytes]


class Reader(Protocol):
    """An object open for reading, as a backend's ``_reader`` returns it."""

    def read(self, size: int = -1) -> bytes: ...

    def close(self) -> None: ...


class ChunkFeed:
    """The chunks of one ``put_stream``, for a backend's blocking writer in a worker thread.

    A sync iterable is iterated in that thread; an async one is pulled from the event loop
    one chunk at a time, so neither is ever held whole. Iterating yields the non-empty
    chunks as byte views and counts them in :attr:`octets`. When ``length`` was announced,
    a stream that turns out longer or shorter raises StoreRequestError before its last
    chunk is handed over, so the writer never commits it. Once :meth:`close` is called (the
    caller went away), the next pull raises instead of waiting.
    """

    def __init__(self, chunks: Chunks, length: int | None, key: str,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.length = length
        self.octets = 0
        self._key = key
        self._closed = threading.Event()
        self._pending: concurrent.futures.Future[bytes | None] | None = None
        if isinstance(chunks, AsyncIterable):
            self._next = self._from_loop(chunks.__aiter__(), loop)
        else:
            iterator = iter(chunks)
            self._next = lambda: next(iterator, None)

    def _from_loop(self, iterator: AsyncIterator[bytes],
                   loop: asyncio.AbstractEventLoop) -> Callable[[], bytes | None]:
        async def step() -> bytes | None:
            try:
                return await iterator.__anext__()
            except StopAsyncIteration:
                return None

        def pull() -> bytes | None:
            future = asyncio.run_coroutine_threadsafe(step(), loop)
            self._pending = future
            if self._closed.is_set():  # close() may have looked before _pending was set
                future.cancel()
            try:
                return future.result()
            except concurrent.futures.CancelledError:
                raise self._abandoned() from None
            finally:
                self._pending = None

        return pull

    def _abandoned(self) -> ObjectStoreError:
        return ObjectStoreError(f"put {self._key!r} abandoned: the caller went away")

    def _pull(self) -> bytes | None:
        if self._closed.is_set():
            raise self._abandoned()
        return self._next()

    def _mismatch(self, what: str) -> StoreRequestError:
        return StoreRequestError(f"put {self._key!r}: the stream has {what} than the "
                                 f"{self.length} octets announced")

    def __iter__(self) -> Iterator[memoryview]:
        while (chunk := self._pull()) is not None:
            view = memoryview(chunk).cast("B")
            self.octets += view.nbytes
            if self.length is not None and (
                    self.octets > self.length
                    or (self.octets == self.length and self._more_follows())):
                raise self._mismatch("more octets")
            if view.nbytes:
                yield view
        if self.length is not None and self.octets < self.length:
            raise self._mismatch(f"{self.octets} octets, fewer")

    def _more_follows(self) -> bool:
        """Whether a non-empty chunk follows (the stream is then drained)."""
        while (chunk := self._pull()) is not None:
            if memoryview(chunk).nbytes:
                return True
        return False

    def close(self) -> None:
        """Stop feeding: the writer's next pull raises, a pull in progress is cancelled."""
        self._closed.set()
        pending = self._pending
        if pending is not None:
            pending.cancel()


class ObjectStore(abc.ABC):
    """Objects by key. Every method validates its key first and never blocks the loop.

    ``timeout`` (seconds, None for none) bounds each put, get, exists, delete and each
    chunk of a stream, waiting for a free worker thread and the backend's own retries
    included: past it the caller gets StoreUnavailable, while the abandoned work ends in its
    thread on the backend's own time limits. Listing and sweeping walk the whole store, so
    they are not bounded as a whole. ``location`` names the store in error messages.
    """

    def __init__(self, location: str, timeout: float | None = None) -> None:
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be positive, not {timeout}")
        self.location = location
        self.timeout = timeout
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="objects")

    # -- the interface ---------------------------------------------------------------------------

    async def put(self, key: str, data: bytes | memoryview) -> None:
        """Store ``data`` under ``key`` durably, replacing any object there atomically."""
        view = memoryview(data).cast("B")
        await self.put_stream(key, (view,), view.nbytes)

    async def put_stream(self, key: str, chunks: Chunks, length: int | None = None) -> int:
        """Store the concatenated chunks without holding them all in memory, replacing any
        object there atomically; return the octets written. ``length``, when given, must be
        exact (StoreRequestError otherwise, and nothing is stored)."""
        key = keys.validate_key(key)
        if length is not None and length < 0:
            raise ValueError(f"negative length {length} for {key!r}")
        feed = ChunkFeed(chunks, length, key, asyncio.get_running_loop())
        try:
            await self._blocking("put", key, self._write, key, feed)
        finally:
            feed.close()
        return feed.octets

    async def get(self, key: str) -> bytes:
        """The whole object; ObjectNotFound when there is none."""
        key = keys.validate_key(key)
        return await self._blocking("get", key, self._read_all, key)

    def open(self, key: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        """Stream an object in chunks of at most ``chunk_size`` octets. The key is checked
        now; ObjectNotFound comes from the first iteration."""
        key = keys.validate_key(key)
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, not {chunk_size}")
        return self._stream(key, chunk_size)

    async def exists(self, key: str) -> bool:
        return await self.version(key) is not None

    async def version(self, key: str) -> str | None:
        """A token that differs each time the object under ``key`` is written again, or
        None when there is none: what a cache of things made from the object is keyed by,
        so that none of them outlives the object it was made from."""
        key = keys.validate_key(key)
        return await self._blocking("exists", key, self._version, key)

    async def delete(self, key: str) -> None:
        """Remove an object; a missing key is not an error."""
        key = keys.validate_key(key)
        await self._blocking("delete", key, self._delete, key)

    async def list(self, prefix: str = "") -> list[str]:
        """The keys that start with ``prefix`` (see :func:`validate_prefix`), sorted. Names
        in the store that are not valid keys are never listed."""
        prefix = keys.validate_prefix(prefix)
        found = await self._blocking("list", prefix, self._list, prefix, bounded=False)
        return sorted(key for key in found if keys.is_valid_key(key))

    async def sweep_temporary(self, older_than: float = 0.0) -> int:
        """Remove what interrupted writes left behind, older than ``older_than`` seconds;
        return how many. Backends whose writes are atomic on the server (S3) have none."""
        return 0

    async def close(self) -> None:
        """Release the worker threads (one still waiting on the backend ends on its own);
        a backend that holds connections releases them too."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- what a backend provides (blocking, run in a worker thread) ------------------------------

    @abc.abstractmethod
    def _write(self, key: str, feed: ChunkFeed) -> None:
        """Store the chunks of ``feed`` under ``key``, committing only after the last."""

    @abc.abstractmethod
    def _reader(self, key: str) -> Reader:
        """Open the object for reading; ObjectNotFound when there is none."""

    @abc.abstractmethod
    def _version(self, key: str) -> str | None: ...

    @abc.abstractmethod
    def _delete(self, key: str) -> None: ...

    @abc.abstractmethod
    def _list(self, prefix: str) -> Iterable[str]:
        """Names that start with ``prefix`` (filtering invalid keys is done here, above)."""

    @abc.abstractmethod
    def _failure(self, exc: Exception, operation: str, key: str) -> ObjectStoreError | None:
        """The store error that ``exc`` raised by ``operation`` on ``key`` means, or None to
        let ``exc`` through unchanged (a programming error)."""

    # -- shared machinery ------------------------------------------------------------------------

    def _where(self, operation: str, key: str) -> str:
        """The start of an error message: what was done, on which key, in which store."""
        return f"{operation} {key!r} in {self.location}"

    async def _blocking(self, operation: str, key: str, function: Callable[..., T],
                        *args: object, bounded: bool = True) -> T:
        """``function(*args)`` in a worker thread, within :attr:`timeout` when ``bounded``,
        its failures sorted by ``_failure``."""
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout if bounded else None) as limit:
                return await loop.run_in_executor(self._pool, function, *args)
        except ObjectStoreError as exc:
            if not isinstance(exc, ObjectNotFound):
                metrics.object_store_error()
            raise
        except Exception as exc:
            metrics.object_store_error()
            if isinstance(exc, TimeoutError) and limit.expired():
                raise StoreUnavailable(f"{self._where(operation, key)}: no answer within "
                                       f"{self.timeout:g} s, retry later") from None
            error = self._failure(exc, operation, key)
            if error is None:
                raise
            raise error from exc

    def _read_all(self, key: str) -> bytes:
        reader = self._reader(key)
        try:
            return reader.read()
        finally:
            reader.close()

    async def _stream(self, key: str, chunk_size: int) -> AsyncIterator[bytes]:
        reader = await self._blocking("open", key, self._reader, key)
        try:
            while chunk := await self._blocking("read", key, reader.read, chunk_size):
                yield chunk
        finally:
            await asyncio.get_running_loop().run_in_executor(self._pool, reader.close)

