"""One suite, two backends: the local folder and a real S3 server process (moto_server)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from mmsc.store import (
    FilesystemStore, InvalidKey, ObjectNotFound, ObjectStore, S3Store, StoreRequestError,
    StoreUnavailable, message_key, validate_id,
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible server process on loopback for the whole session."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                               "-p", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("moto_server did not start")
            time.sleep(0.1)
    yield f"127.0.0.1:{port}"
    server.terminate()
    server.wait(10)


@pytest.fixture(params=["filesystem", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStore]:
    if request.param == "filesystem":
        backend: ObjectStore = FilesystemStore(tmp_path / "objects")
    else:
        endpoint = request.getfixturevalue("s3_endpoint")
        backend = S3Store(endpoint, "testing", "testing", f"mmsc-{uuid.uuid4().hex[:12]}",
                          part_size=5 * 1024 * 1024)
    yield backend
    await backend.close()


HOSTILE = ["..", "../x", "a/../../b", "/etc/passwd", "a\\b", "%2e%2e", "a\x00b", "é", "",
           ".hidden", "a//b", "a/", "x" * 129, "a b", "~root", "C:\\x", "a/./b"]


async def test_put_get_round_trip(store: ObjectStore) -> None:
    for i, data in enumerate([b"", b"hello", os.urandom(3 * 1024 * 1024)]):
        key = f"messages/m{i}/original.mime"
        await store.put(key, data)
        assert await store.get(key) == data
        assert await store.exists(key)
        assert b"".join([chunk async for chunk in store.open(key, 100_000)]) == data


async def test_overwrite_replaces(store: ObjectStore) -> None:
    await store.put("a/b", b"old")
    await store.put("a/b", memoryview(b"new one"))
    assert await store.get("a/b") == b"new one"


async def test_put_stream_sync_and_async_multipart(store: ObjectStore) -> None:
    pieces = [os.urandom(700_000) for _ in range(18)]  # 12.6 MB: three 5 MiB parts on S3

    async def agen() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    assert await store.put_stream("big/async", agen()) == sum(map(len, pieces))
    assert await store.get("big/async") == b"".join(pieces)
    assert await store.put_stream("big/sync", iter(pieces[:3]), 2_100_000) == 2_100_000
    assert await store.get("big/sync") == b"".join(pieces[:3])


async def test_missing_objects(store: ObjectStore) -> None:
    with pytest.raises(ObjectNotFound):
        await store.get("messages/nothing/original.mime")
    with pytest.raises(ObjectNotFound):
        [chunk async for chunk in store.open("messages/nothing/original.mime")]
    assert not await store.exists("messages/nothing/original.mime")
    await store.delete("messages/nothing/original.mime")  # not an error


async def test_delete_and_list_by_prefix(store: ObjectStore) -> None:
    for key in ["messages/abc/original.mime", "messages/abc/adapted/p1.mms",
                "messages/ab/original.mime", "uaprof/x.rdf"]:
        await store.put(key, b"x")
    assert await store.list("messages/abc/") == ["messages/abc/adapted/p1.mms",
                                                 "messages/abc/original.mime"]
    assert await store.list("messages/ab/") == ["messages/ab/original.mime"]
    assert len(await store.list("messages/ab")) == 3  # a partial segment is a plain prefix
    assert len(await store.list()) == 4
    await store.delete("messages/abc/original.mime")
    assert await store.list("messages/abc/") == ["messages/abc/adapted/p1.mms"]


@pytest.mark.parametrize("bad", HOSTILE)
async def test_hostile_keys_are_refused_everywhere(store: ObjectStore, bad: str) -> None:
    with pytest.raises(InvalidKey):
        validate_id(bad)
    with pytest.raises(InvalidKey):
        message_key(bad, "original.mime")
    for call in (lambda: store.put(bad, b"x"), lambda: store.get(bad),
                 lambda: store.exists(bad), lambda: store.delete(bad),
                 lambda: store.put_stream(bad, [b"x"]),
                 lambda: store.put(f"messages/{bad}/original.mime", b"x")):
        with pytest.raises(InvalidKey):
            await call()
    with pytest.raises(InvalidKey):
        [chunk async for chunk in store.open(bad)]


async def test_no_write_escapes_the_folder(tmp_path: Path) -> None:
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    store = FilesystemStore(tmp_path / "objects")
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "objects").mkdir()
    (tmp_path / "objects" / "link").symlink_to(outside)  # planted inside the root
    for bad in HOSTILE:
        with pytest.raises(InvalidKey):
            await store.put(f"messages/{bad}/original.mime", b"x")
    with pytest.raises(InvalidKey):
        await store.put("link/evil", b"x")
    with pytest.raises(InvalidKey):
        await store.get("link/evil")
    assert list(outside.iterdir()) == []
    after = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    assert set(after) - set(before) == {Path("objects"), Path("objects/link"), Path("outside")}


async def test_a_crash_mid_overwrite_keeps_the_old_object(tmp_path: Path, monkeypatch) -> None:
    store = FilesystemStore(tmp_path / "objects")
    await store.put("messages/m/original.mime", b"old and whole")

    def power_cut(*args: object) -> None:
        raise OSError("power cut")

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", power_cut)
        with pytest.raises(OSError):
            await store.put("messages/m/original.mime", b"new")
    assert await store.get("messages/m/original.mime") == b"old and whole"
    # a kill leaves the temporary file behind (the error path above already removed it)
    (tmp_path / "objects" / "messages" / "m" / ".tmp-0123456789abcdef").write_bytes(b"ne")
    assert await store.list() == ["messages/m/original.mime"]
    assert await store.sweep_temporary() == 1
    assert not list((tmp_path / "objects").rglob(".tmp-*"))


async def test_s3_down_is_retry_later() -> None:
    store = S3Store(f"127.0.0.1:{free_port()}", "testing", "testing", "mmsc-down", timeout=2)
    with pytest.raises(StoreUnavailable, match="retry later"):
        await store.put("messages/m/original.mime", b"x")
    with pytest.raises(StoreUnavailable):
        await store.get("messages/m/original.mime")


async def test_s3_bad_request_is_not_retry(s3_endpoint: str) -> None:
    store = S3Store(s3_endpoint, "testing", "testing", "Bad_Bucket!")
    with pytest.raises(StoreRequestError):
        await store.put("messages/m/original.mime", b"x")


def test_folder_syncs_are_shared_but_never_early(tmp_path: Path, monkeypatch) -> None:
    """Writers needing the same folder fsync share one, but each returns only after an
    fsync that started after it asked (so its own rename is covered)."""
    import threading

    from mmsc.store import filesystem

    syncs: list[tuple[float, float]] = []

    def slow_fsync(folder: Path) -> None:
        start = time.monotonic()
        time.sleep(0.01)
        syncs.append((start, time.monotonic()))

    monkeypatch.setattr(filesystem, "_fsync_dir", slow_fsync)
    sync = filesystem._FolderSync()
    calls: list[tuple[float, float]] = []

    def writer() -> None:
        asked = time.monotonic()
        sync.sync(tmp_path)
        calls.append((asked, time.monotonic()))

    threads = [threading.Thread(target=writer) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 40 and len(syncs) < 40
    for asked, returned in calls:
        assert any(start >= asked and end <= returned for start, end in syncs)
    assert sync._folders == {}
