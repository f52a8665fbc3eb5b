"""The embedded object store: one file per object under a root folder (``./data/objects``).

Writes are atomic and durable: a temporary file in the object's folder, fsync, rename onto
the final name, fsync of the folder (and of the parents of folders just made). A crash
leaves the old object or the new one, never a torn one; the temporary file it may leave is
removed by :meth:`FilesystemStore.sweep_temporary` at start-up.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .base import CHUNK, Chunks, InvalidKey, ObjectNotFound, ObjectStore
from .keys import validate_key, validate_prefix

#: Temporary files start with a dot, which no valid key segment can.
TEMP_PREFIX = ".tmp-"


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _FolderSync:
    """fsync of a folder, shared by the writers that need one at the same time (group commit
    for folder entries): a writer whose rename happened before a sync started is covered by
    it; one that arrives during a sync waits for the next, which covers all of them."""

    @dataclass
    class _Folder:
        requested: int = 0
        done: int = 0
        running: bool = False
        users: int = 0

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._folders: dict[Path, _FolderSync._Folder] = {}

    def sync(self, folder: Path) -> None:
        with self._lock:
            entry = self._folders.setdefault(folder, self._Folder())
            entry.users += 1
            entry.requested += 1
            mine = entry.requested
            try:
                while entry.done < mine:
                    if entry.running:
                        self._lock.wait()
                        continue
                    entry.running, target = True, entry.requested
                    self._lock.release()
                    try:
                        _fsync_dir(folder)
                    finally:
                        self._lock.acquire()
                        entry.running = False
                        self._lock.notify_all()
                    entry.done = max(entry.done, target)
            finally:
                entry.users -= 1
                if entry.users == 0:
                    del self._folders[folder]


class FilesystemStore(ObjectStore):
    """Objects as files under ``root``; key ``a/b/c`` is the file ``root/a/b/c``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).absolute()
        self._folder_sync = _FolderSync()

    # -- paths -----------------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        path = self.root / validate_key(key)
        real_root = self.root.resolve()
        if not path.resolve().is_relative_to(real_root):  # a symlink planted inside the root
            raise InvalidKey(f"key {key!r} resolves outside the store")
        return path

    def _make_folder(self, folder: Path) -> None:
        """Create ``folder`` and its missing parents, each new entry made durable."""
        missing = []
        while not folder.is_dir():
            missing.append(folder)
            folder = folder.parent
        for new in reversed(missing):
            try:
                new.mkdir()
            except FileExistsError:
                continue
            self._folder_sync.sync(new.parent)

    # -- blocking work, run in threads -----------------------------------------------------------

    def _begin(self, key: str) -> tuple[Path, Path, IO[bytes]]:
        path = self._path(key)
        self._make_folder(path.parent)
        tmp = path.parent / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
        return path, tmp, open(tmp, "xb")

    def _commit(self, path: Path, tmp: Path, file: IO[bytes]) -> None:
        try:
            file.flush()
            os.fsync(file.fileno())
        finally:
            file.close()
        os.replace(tmp, path)
        self._folder_sync.sync(path.parent)

    @staticmethod
    def _abort(tmp: Path, file: IO[bytes]) -> None:
        file.close()
        tmp.unlink(missing_ok=True)

    def _write(self, key: str, data: bytes | memoryview) -> None:
        path, tmp, file = self._begin(key)
        try:
            file.write(data)
            self._commit(path, tmp, file)
        except BaseException:
            self._abort(tmp, file)
            raise

    def _write_chunks(self, key: str, chunks: Iterable[bytes]) -> int:
        path, tmp, file = self._begin(key)
        try:
            written = sum(file.write(chunk) for chunk in chunks)
            self._commit(path, tmp, file)
        except BaseException:
            self._abort(tmp, file)
            raise
        return written

    def _read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None

    def _remove(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return
        folder = path.parent
        while folder != self.root:
            try:
                folder.rmdir()  # only when empty
            except OSError:
                break
            folder = folder.parent

    def _walk(self) -> Iterator[tuple[Path, str]]:
        for folder, dirs, files in os.walk(self.root):
            dirs.sort()
            for name in files:
                path = Path(folder) / name
                yield path, path.relative_to(self.root).as_posix()

    def _list(self, prefix: str) -> list[str]:
        validate_prefix(prefix)
        return sorted(key for path, key in self._walk()
                      if key.startswith(prefix) and not path.name.startswith(TEMP_PREFIX))

    def _sweep(self, older_than: float) -> int:
        limit = time.time() - older_than
        removed = 0
        for path, _key in list(self._walk()):
            if path.name.startswith(TEMP_PREFIX) and path.stat().st_mtime <= limit:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    # -- the interface ---------------------------------------------------------------------------

    async def put(self, key: str, data: bytes | memoryview) -> None:
        await asyncio.to_thread(self._write, key, data)

    async def put_stream(self, key: str, chunks: Chunks, length: int | None = None) -> int:
        if not isinstance(chunks, AsyncIterable):
            return await asyncio.to_thread(self._write_chunks, key, chunks)
        path, tmp, file = await asyncio.to_thread(self._begin, key)
        written = 0
        try:
            async for chunk in chunks:
                written += await asyncio.to_thread(file.write, chunk)
            await asyncio.to_thread(self._commit, path, tmp, file)
        except BaseException:
            self._abort(tmp, file)
            raise
        return written

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._read, key)

    async def open(self, key: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            file = await asyncio.to_thread(open, path, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(key) from None
        try:
            while chunk := await asyncio.to_thread(file.read, chunk_size):
                yield chunk
        finally:
            file.close()

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._remove, key)

    async def list(self, prefix: str = "") -> list[str]:
        return await asyncio.to_thread(self._list, prefix)

    async def sweep_temporary(self, older_than: float = 0.0) -> int:
        """Remove temporary files of interrupted writes older than ``older_than`` seconds
        (0 at start-up, when no write of this store can be in flight)."""
        return await asyncio.to_thread(self._sweep, older_than)
