"""The embedded object store: one file per object under a root folder (``./data/objects``).

Writes are atomic and durable: a temporary file in the object's folder, fsync, rename onto
the final name, fsync of the folder (and of the parents of folders just made). A crash
leaves the old object or the new one, never a torn one; the temporary file it may leave is
removed by :meth:`FilesystemStore.sweep_temporary` at start-up. No path of an object
may pass through a symbolic link below the root, so one planted in the folder cannot
lead a read or a write outside it. Deleting an object removes the folders it leaves empty.
"""

from __future__ import annotations

import os
import secrets
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .base import (
    ChunkFeed, InvalidKey, ObjectNotFound, ObjectStore, ObjectStoreError, StoreRequestError,
    StoreUnavailable,
)

#: Temporary files start with a dot, which no valid key segment can.
TEMP_PREFIX = ".tmp-"
#: How many times a write makes its folder again when a delete removed it meanwhile.
_ATTEMPTS = 3


def fsync_folder(folder: Path) -> None:
    """Make the entries of ``folder`` (names made, renamed, removed in it) durable."""
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
                        fsync_folder(folder)
                    finally:
                        self._lock.acquire()
                        entry.running = False
                        self._lock.notify_all()
                    entry.done = max(entry.done, target)
            finally:
                entry.users -= 1
                if entry.users == 0:
                    del self._folders[folder]


def _files(folder: Path, base: str) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """The regular files below ``folder`` as (``base`` + relative name, entry); symbolic
    links are neither listed nor followed."""
    try:
        with os.scandir(folder) as scan:
            entries = list(scan)
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        name = base + entry.name
        if entry.is_dir(follow_symlinks=False):
            yield from _files(Path(entry.path), f"{name}/")
        elif entry.is_file(follow_symlinks=False):
            yield name, entry


class FilesystemStore(ObjectStore):
    """Objects as files under ``root``; key ``a/b/c`` is the file ``root/a/b/c``. The root
    is made on the first write. ``timeout`` bounds each operation (see :class:`ObjectStore`):
    a folder on a network file system that stops answering."""

    def __init__(self, root: str | Path, *, timeout: float | None = None) -> None:
        self.root = Path(root).absolute()
        super().__init__(str(self.root), timeout)
        self._folder_sync = _FolderSync()

    # -- paths -----------------------------------------------------------------------------------

    def _path(self, key: str) -> Path:
        """``root/key`` (a valid key or folder prefix: no ``..``, no empty segment), refused
        when one of its components below the root is a symbolic link: one planted there
        could lead a read or a write outside the root. One ``lstat`` per existing component
        (a ``resolve()`` of both paths took five times as many system calls)."""
        path = self.root / key
        current = str(self.root)
        for segment in key.split("/"):
            if not segment:
                continue
            current = f"{current}/{segment}"
            try:
                mode = os.lstat(current).st_mode
            except (FileNotFoundError, NotADirectoryError):
                break  # the rest is not there yet, so no link can be in it
            if stat.S_ISLNK(mode):
                raise InvalidKey(f"{key!r} passes through the symbolic link {current}, which "
                                 f"may lead outside the store root {self.root}")
        return path

    def _make_folder(self, folder: Path) -> list[Path]:
        """Create ``folder`` and its missing parents; return the folders that got a new
        entry, deepest last, for the writer to sync once its object is in place."""
        try:
            os.mkdir(folder)
        except FileExistsError:  # (a file of that name fails the write that follows)
            return []
        except FileNotFoundError:
            changed = self._make_folder(folder.parent)
            try:
                os.mkdir(folder)
            except FileExistsError:
                return changed
            return [*changed, folder.parent]
        return [folder.parent]

    def _prune(self, folder: Path) -> None:
        """Remove ``folder`` and its parents below the root while they are empty."""
        while folder != self.root and folder.is_relative_to(self.root):
            try:
                folder.rmdir()
            except OSError:  # not empty (or already gone, or in use): stop here
                return
            folder = folder.parent

    def _temporary(self, path: Path) -> tuple[Path, BinaryIO, list[Path]]:
        """A new temporary file next to ``path``, its folder made first (and the folders
        that changed on the way, see :meth:`_make_folder`)."""
        attempts = _ATTEMPTS
        changed: list[Path] = []
        while True:
            changed += self._make_folder(path.parent)
            tmp = path.parent / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
            try:
                return tmp, open(tmp, "xb"), changed
            except FileNotFoundError:  # a delete pruned the folder just made
                attempts -= 1
                if not attempts:
                    raise

    # -- the backend -----------------------------------------------------------------------------

    def _write(self, key: str, feed: ChunkFeed) -> None:
        path = self._path(key)
        tmp, file, changed = self._temporary(path)
        try:
            with file:
                for chunk in feed:
                    file.write(chunk)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        # The object's folder, then the folders made for it, only now: on a journalling file
        # system the first sync commits the others' entries too, and theirs cost nothing.
        for folder in [path.parent, *reversed(changed)]:
            self._folder_sync.sync(folder)

    def _reader(self, key: str) -> BinaryIO:
        try:
            return open(self._path(key), "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectNotFound(f"no object {key!r} in {self.root}") from None

    def _version(self, key: str) -> str | None:
        """The file's inode, modification time and size: a put writes a new file and
        renames it over the old one, so the inode changes even within one clock tick."""
        try:
            found = os.stat(self._path(key))
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISREG(found.st_mode):
            return None
        return f"{found.st_ino:x}-{found.st_mtime_ns:x}-{found.st_size:x}"

    def _delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return
        self._prune(path.parent)

    def _list(self, prefix: str) -> list[str]:
        folder = prefix.rpartition("/")[0]
        names = _files(self._path(folder), f"{folder}/" if folder else "")
        return [name for name, _entry in names if name.startswith(prefix)]

    def _sweep(self, older_than: float) -> int:
        limit = time.time() - older_than
        removed = 0
        for _name, entry in list(_files(self.root, "")):
            if entry.name.startswith(TEMP_PREFIX) and entry.stat().st_mtime <= limit:
                path = Path(entry.path)
                path.unlink(missing_ok=True)
                self._prune(path.parent)
                removed += 1
        return removed

    def _failure(self, exc: Exception, operation: str, key: str) -> ObjectStoreError | None:
        if not isinstance(exc, OSError):
            return None
        where = self._where(operation, key)
        if isinstance(exc, (NotADirectoryError, IsADirectoryError, FileExistsError)):
            return StoreRequestError(f"{where}: an object and a folder would share a name "
                                     f"({exc.strerror})")
        if isinstance(exc, PermissionError):
            return StoreRequestError(f"{where}: permission denied ({exc.strerror})")
        return StoreUnavailable(f"{where}: {exc.strerror or exc}, retry later")

    async def sweep_temporary(self, older_than: float = 0.0) -> int:
        """Remove temporary files of interrupted writes older than ``older_than`` seconds
        (0 at start-up, when no write of this store can be in flight), and the folders
        they leave empty; return how many files."""
        return await self._blocking("sweep_temporary", "", self._sweep, older_than,
                                    bounded=False)
