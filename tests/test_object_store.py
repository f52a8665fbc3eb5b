"""One suite, three backends: the local folder and two S3 server processes on loopback, the
moto_server emulator and SeaweedFS, a real object store (the shared servers of conftest.py);
then what only one backend has: paths and crashes, error classes over HTTP."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from minio import Minio

from helpers.s3servers import S3_SERVERS, S3Process, SeaweedFS, free_port, moto_server
from mmsc.store import (
    FilesystemStore, InvalidKey, ObjectNotFound, ObjectStore, S3Store, StoreRequestError,
    StoreUnavailable, message_key, message_prefix, validate_id, validate_key, validate_prefix,
)

MIB = 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ["..", "../x", "a/../../b", "/etc/passwd", "a\\b", "%2e%2e", "a\x00b", "é", "",
           ".hidden", ".tmp-0123", "a//b", "a/", "x" * 129, "a b", "~root", "C:\\x", "a/./b",
           "a\n", "/".join(["a"] * 17), "/".join(["x" * 100] * 11)]
#: Hostile as keys but fine as listing prefixes.
LISTABLE = {"", "a/"}


def fresh_bucket() -> str:
    return f"mmsc-{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["filesystem", *S3_SERVERS])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStore]:
    """Each backend, empty: a new folder, or a new bucket on each S3 server (made by the
    store on first use)."""
    if request.param == "filesystem":
        backend: ObjectStore = FilesystemStore(tmp_path / "objects")
    else:
        backend = S3Store(request.getfixturevalue(request.param).endpoint, "testing",
                          "testing", fresh_bucket(), part_size=5 * MIB)
    yield backend
    await backend.close()


def temporary_files(folder: Path) -> list[Path]:
    return list(folder.rglob(".tmp-*"))


# -- both backends ---------------------------------------------------------------------------


async def test_a_version_changes_with_each_write(store: ObjectStore) -> None:
    """What caches made from an object are keyed by: none for a missing object, another
    one after each write of other content (a ReplaceReq's), the same while untouched."""
    key = "messages/v1/original.mime"
    assert await store.version(key) is None and not await store.exists(key)
    await store.put(key, b"first content")
    first = await store.version(key)
    assert first is not None and await store.version(key) == first and await store.exists(key)
    await store.put(key, b"other content")
    assert await store.version(key) not in (None, first)
    await store.delete(key)
    assert await store.version(key) is None


@pytest.mark.parametrize("size", [0, 5, 3 * 1000 * 1000])
async def test_put_get_open_round_trip(store: ObjectStore, size: int) -> None:
    data = os.urandom(size)
    key = message_key("m1", "original.mime")
    await store.put(key, data)
    assert await store.get(key) == data
    assert await store.exists(key)
    chunks = [chunk async for chunk in store.open(key, 100_000)]
    assert b"".join(chunks) == data and all(len(chunk) <= 100_000 for chunk in chunks)


async def test_overwrite_replaces(store: ObjectStore) -> None:
    await store.put("a/b", b"old and longer")
    await store.put("a/b", memoryview(b"new"))
    assert await store.get("a/b") == b"new"


async def test_put_stream_from_a_sync_iterable(store: ObjectStore) -> None:
    pieces = [os.urandom(300_000) for _ in range(4)]
    assert await store.put_stream("s/known", iter(pieces), 1_200_000) == 1_200_000
    assert await store.put_stream("s/unknown", pieces) == 1_200_000
    assert await store.get("s/known") == await store.get("s/unknown") == b"".join(pieces)


async def test_put_stream_from_an_async_generator_never_holds_the_object(
        store: ObjectStore) -> None:
    """24 MiB of unknown length: five 5 MiB parts on S3, and never the whole in memory."""
    block = os.urandom(MIB)

    async def blocks() -> AsyncIterator[bytes]:
        for _ in range(24):
            yield block

    tracemalloc.start()
    try:
        written = await store.put_stream("big/object", blocks())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert written == 24 * MIB
    assert peak < 20 * MIB
    assert await store.get("big/object") == block * 24
    if isinstance(store, S3Store):
        client = Minio(store.endpoint, "testing", "testing", secure=False)
        stat = await asyncio.to_thread(client.stat_object, store.bucket, "big/object")
        assert stat.etag is not None and stat.etag.endswith("-5")  # a multipart upload


@pytest.mark.parametrize("chunks, length", [
    ([b"12345"], 10), ([b"12345", b"678"], 5), ([b"12345", b"", b"6"], 5), ([b"123"], 0)])
async def test_a_wrong_length_stores_nothing(store: ObjectStore, chunks: list[bytes],
                                             length: int) -> None:
    with pytest.raises(StoreRequestError, match="announced"):
        await store.put_stream("l/object", chunks, length)
    assert not await store.exists("l/object")
    with pytest.raises(ValueError):
        await store.put_stream("l/object", chunks, -1)


async def test_a_cancelled_put_stream_stores_nothing(store: ObjectStore,
                                                     tmp_path: Path) -> None:
    asked_again, never = asyncio.Event(), asyncio.Event()

    async def stalls() -> AsyncIterator[bytes]:
        yield b"first"
        asked_again.set()
        await never.wait()
        yield b"never"

    task = asyncio.create_task(store.put_stream("c/object", stalls()))
    await asyncio.wait_for(asked_again.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    deadline = time.monotonic() + 5  # the worker thread gives up and removes its file
    while temporary_files(tmp_path) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert temporary_files(tmp_path) == []
    assert not await store.exists("c/object")
    await store.put("c/object", b"later")
    assert await store.get("c/object") == b"later"


async def test_missing_objects(store: ObjectStore) -> None:
    key = message_key("nothing", "original.mime")
    with pytest.raises(ObjectNotFound):
        await store.get(key)
    with pytest.raises(ObjectNotFound):
        [chunk async for chunk in store.open(key)]
    assert not await store.exists(key)
    await store.delete(key)  # not an error


async def test_delete_and_list_by_prefix(store: ObjectStore) -> None:
    keys = ["messages/abc/original.mime", "messages/abc/adapted/p1.mms",
            "messages/ab/original.mime", "uaprof/x.rdf"]
    for key in keys:
        await store.put(key, b"x")
    assert await store.list("messages/abc/") == ["messages/abc/adapted/p1.mms",
                                                 "messages/abc/original.mime"]
    assert await store.list(message_prefix("ab")) == ["messages/ab/original.mime"]
    assert await store.list("messages/ab") == sorted(keys[:3])  # a plain string prefix
    assert await store.list("messages/abc/original.mime") == ["messages/abc/original.mime"]
    assert await store.list() == sorted(keys)
    assert await store.list("nothing/") == []
    await store.delete("messages/abc/original.mime")
    assert not await store.exists("messages/abc/original.mime")
    assert await store.list("messages/abc/") == ["messages/abc/adapted/p1.mms"]


@pytest.mark.parametrize("bad", HOSTILE, ids=repr)
async def test_hostile_keys_are_refused_by_every_method(store: ObjectStore, bad: str) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"x"

    calls = [lambda: store.put(bad, b"x"), lambda: store.put_stream(bad, [b"x"]),
             lambda: store.put_stream(bad, chunks()), lambda: store.get(bad),
             lambda: store.exists(bad), lambda: store.delete(bad),
             lambda: store.put(f"messages/{bad}/original.mime", b"x")]
    if bad not in LISTABLE:
        calls.append(lambda: store.list(bad))
    for call in calls:
        with pytest.raises(InvalidKey):
            await call()
    with pytest.raises(InvalidKey):
        store.open(bad)
    assert await store.list() == []


# -- keys ------------------------------------------------------------------------------------


def test_keys_are_made_from_validated_ids() -> None:
    assert message_key("0190ab", "original.mime") == "messages/0190ab/original.mime"
    assert message_key("m1", "adapted/p-1_x.mms") == "messages/m1/adapted/p-1_x.mms"
    assert message_prefix("m1") == "messages/m1/"
    assert validate_key("/".join(["a"] * 16)) and validate_key("x" * 128)
    assert validate_key("/".join(["x" * 100] * 10) + "/" + "x" * 14)  # 1024 characters
    assert validate_prefix("") == "" and validate_prefix("messages/") == "messages/"
    with pytest.raises(InvalidKey, match="longer than 1024"):
        validate_key("/".join(["x" * 100] * 10) + "/" + "x" * 15)
    with pytest.raises(InvalidKey, match="more than 16 segments"):
        validate_key("/".join(["a"] * 17))
    with pytest.raises(InvalidKey, match=r"segment 2 '\.\.'"):
        validate_key("a/../b")
    for prefix in ("/", "a//", "../"):
        with pytest.raises(InvalidKey):
            validate_prefix(prefix)


@pytest.mark.parametrize("bad", HOSTILE, ids=repr)
def test_hostile_ids_make_no_key(bad: str) -> None:
    with pytest.raises(InvalidKey):
        validate_id(bad)
    with pytest.raises(InvalidKey):
        message_key(bad, "original.mime")
    with pytest.raises(InvalidKey):
        message_prefix(bad)
    with pytest.raises(InvalidKey):
        message_key("m1", bad)


# -- the local folder ------------------------------------------------------------------------


def snapshot(folder: Path) -> list[tuple[str, bytes | None]]:
    return sorted((str(p.relative_to(folder)), p.read_bytes() if p.is_file() else None)
                  for p in folder.rglob("*"))


async def test_hostile_ids_write_nothing_anywhere(tmp_path: Path) -> None:
    (tmp_path / "objects").mkdir()
    before = snapshot(tmp_path)
    store = FilesystemStore(tmp_path / "objects")
    for bad in HOSTILE:
        for key in (bad, f"messages/{bad}/original.mime", f"{bad}/x", f"x/{bad}"):
            with pytest.raises(InvalidKey):
                await store.put(key, b"x")
            with pytest.raises(InvalidKey):
                await store.put_stream(key, [b"x"])
            with pytest.raises(InvalidKey):
                await store.delete(key)
    assert snapshot(tmp_path) == before


async def test_a_symlink_inside_the_root_leads_nowhere(tmp_path: Path) -> None:
    root, outside = tmp_path / "objects", tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"secret")
    root.mkdir()
    (root / "link").symlink_to(outside)  # planted inside the root
    (root / "file").symlink_to(outside / "secret")
    store = FilesystemStore(root)
    for call in (lambda: store.put("link/evil", b"x"), lambda: store.put("link/new/evil", b"x"),
                 lambda: store.put_stream("link/evil", [b"x"]), lambda: store.get("link/secret"),
                 lambda: store.exists("link/secret"), lambda: store.delete("link/secret"),
                 lambda: store.list("link/"), lambda: store.get("file"),
                 lambda: store.put("file", b"x"), lambda: store.delete("file")):
        with pytest.raises(InvalidKey, match="outside the store root"):
            await call()
    assert snapshot(outside) == [("secret", b"secret")]
    assert await store.list() == []  # symbolic links are not objects
    assert await store.sweep_temporary() == 0


async def test_an_object_and_a_folder_cannot_share_a_name(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "objects")
    await store.put("a/b", b"object")
    with pytest.raises(StoreRequestError, match="share a name"):
        await store.put("a/b/c", b"x")
    with pytest.raises(StoreRequestError, match="share a name"):
        await store.put("a", b"x")
    with pytest.raises(ObjectNotFound):
        await store.get("a")
    assert not await store.exists("a") and await store.list() == ["a/b"]
    assert temporary_files(tmp_path) == []


async def test_deleting_removes_the_emptied_folders(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    store = FilesystemStore(root)
    for key in ("messages/m1/adapted/p.mms", "messages/m1/original.mime",
                "messages/m2/original.mime"):
        await store.put(key, b"x")
    await store.delete("messages/m1/adapted/p.mms")
    assert not (root / "messages/m1/adapted").exists() and (root / "messages/m1").is_dir()
    await store.delete("messages/m1/original.mime")
    assert not (root / "messages/m1").exists() and (root / "messages/m2").is_dir()
    await store.delete("messages/m2/original.mime")
    assert list(root.iterdir()) == []


CRASH = """
import asyncio, os, sys
from mmsc.store import FilesystemStore

async def torn():
    yield b"new, but only the first half"
    os._exit(3)  # the power cut: no clean-up of any kind runs

asyncio.run(FilesystemStore(sys.argv[1]).put_stream("messages/m/original.mime", torn()))
"""


async def test_a_crash_mid_overwrite_keeps_the_old_object(tmp_path: Path) -> None:
    root = tmp_path / "objects"
    store = FilesystemStore(root)
    await store.put("messages/m/original.mime", b"old and whole")
    crashed = await asyncio.to_thread(subprocess.run, [sys.executable, "-c", CRASH, str(root)],
                                      cwd=ROOT, timeout=60)
    assert crashed.returncode == 3
    assert await store.get("messages/m/original.mime") == b"old and whole"
    assert len(temporary_files(root)) == 1  # the torn write, under a name no key can have
    (root / "messages/n").mkdir()
    (root / "messages/n/.tmp-0123456789abcdef").write_bytes(b"a first write, torn")
    assert await store.list() == ["messages/m/original.mime"]
    assert await store.sweep_temporary(older_than=3600) == 0
    assert await store.sweep_temporary() == 2
    assert temporary_files(root) == [] and not (root / "messages/n").exists()
    assert await store.get("messages/m/original.mime") == b"old and whole"


@pytest.mark.parametrize("call", ["replace", "fsync"])
async def test_a_failed_overwrite_keeps_the_old_object(tmp_path: Path, monkeypatch,
                                                        call: str) -> None:
    store = FilesystemStore(tmp_path / "objects")
    await store.put("messages/m/original.mime", b"old and whole")

    def fails(*args: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    with monkeypatch.context() as patch:
        patch.setattr(os, call, fails)
        with pytest.raises(StoreUnavailable, match="Input/output error"):
            await store.put("messages/m/original.mime", b"new")
    assert await store.get("messages/m/original.mime") == b"old and whole"
    assert temporary_files(tmp_path) == []


def test_folder_syncs_are_shared_but_never_early(tmp_path: Path, monkeypatch) -> None:
    """Writers needing the same folder fsync share one, but each returns only after an
    fsync that started after it asked (so its own rename is covered)."""
    from mmsc.store import filesystem

    syncs: list[tuple[float, float]] = []

    def slow_fsync(folder: Path) -> None:
        start = time.monotonic()
        time.sleep(0.01)
        syncs.append((start, time.monotonic()))

    monkeypatch.setattr(filesystem, "fsync_folder", slow_fsync)
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


# -- S3 --------------------------------------------------------------------------------------


async def test_s3_bucket_is_made_once_under_concurrent_first_use(
        s3_server: S3Process | SeaweedFS) -> None:
    bucket = fresh_bucket()
    nodes = [S3Store(s3_server.endpoint, "testing", "testing", bucket) for _ in range(2)]
    await asyncio.gather(*(nodes[i % 2].put(f"c/{i}", b"x") for i in range(12)))
    assert await nodes[0].list("c/") == sorted(f"c/{i}" for i in range(12))
    for node in nodes:
        await node.close()


async def test_s3_down_is_retry_later() -> None:
    store = S3Store(f"127.0.0.1:{free_port()}", "testing", "testing", "mmsc-down", timeout=2)
    start = time.monotonic()
    with pytest.raises(StoreUnavailable, match=r"unreachable.*retry later"):
        await store.put("messages/m/original.mime", b"x")
    with pytest.raises(StoreUnavailable):
        await store.get("messages/m/original.mime")
    with pytest.raises(StoreUnavailable):
        await store.list()
    assert time.monotonic() - start < 10
    await store.close()


async def test_a_hung_s3_server_is_retry_later_within_the_time_limit(
        s3_server: S3Process | SeaweedFS) -> None:
    """A server that takes connections and never answers (under SIGSTOP): each operation is
    StoreUnavailable within its time limit, retries included (generous margin: the old pool
    waited 10 s on each of three tries), and works again after SIGCONT."""
    limit = 1.5
    store = S3Store(s3_server.endpoint, "testing", "testing", fresh_bucket(), timeout=limit)
    await store.put("a/b", b"kept")
    os.kill(s3_server.process.pid, signal.SIGSTOP)
    try:
        for call in (store.get("a/b"), store.put("a/c", b"new"), store.exists("a/b")):
            start = time.monotonic()
            with pytest.raises(StoreUnavailable, match="retry later"):
                await call
            assert time.monotonic() - start < 3 * limit
    finally:
        os.kill(s3_server.process.pid, signal.SIGCONT)
    assert await store.get("a/b") == b"kept"
    await store.close()


async def test_s3_rejected_credentials_are_a_request_error() -> None:
    with moto_server(INITIAL_NO_AUTH_ACTION_COUNT="0") as server:  # moto checks keys
        store = S3Store(server.endpoint, "AKIANOSUCHKEY", "wrong", fresh_bucket())
        with pytest.raises(StoreRequestError, match="InvalidAccessKeyId"):
            await store.put("messages/m/original.mime", b"x")
        await store.close()


def test_s3_invalid_bucket_is_a_request_error() -> None:
    with pytest.raises(StoreRequestError, match="Bad_Bucket!"):
        S3Store("127.0.0.1:9", "testing", "testing", "Bad_Bucket!")


class _Answers(ThreadingHTTPServer):
    """A loopback HTTP server answering every object request with one S3 error (HEAD of the
    bucket answers 200), or every request with a bare status when ``code`` is None."""

    def __init__(self, status: int, code: str | None) -> None:
        super().__init__(("127.0.0.1", 0), _AnswerHandler)
        self.status, self.code = status, code


class _AnswerHandler(BaseHTTPRequestHandler):
    server: _Answers

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        code = self.server.code
        if code is None or self.command == "HEAD":
            body = b""
            self.send_response(200 if code is not None else self.server.status)
        else:
            body = (f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
                    f'<Message>as asked</Message></Error>').encode()
            self.send_response(self.server.status)
            self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize("status, code, error", [
    (503, "SlowDown", StoreUnavailable), (500, "InternalError", StoreUnavailable),
    (400, "RequestTimeout", StoreUnavailable), (429, "TooManyRequests", StoreUnavailable),
    (404, "NoSuchBucket", StoreUnavailable), (502, None, StoreUnavailable),
    (403, "AccessDenied", StoreRequestError), (400, "InvalidArgument", StoreRequestError),
    (403, None, StoreRequestError), (404, "NoSuchKey", ObjectNotFound)])
async def test_s3_answers_are_sorted_into_retry_later_or_bad_request(
        status: int, code: str | None, error: type[Exception]) -> None:
    server = _Answers(status, code)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        store = S3Store(f"127.0.0.1:{server.server_address[1]}", "testing", "testing",
                        "mmsc-answers", region="us-east-1")
        with pytest.raises(error) as raised:
            await store.get("messages/m/original.mime")
        assert type(raised.value) is error and "mmsc-answers" in str(raised.value)
        await store.close()
    finally:
        server.shutdown()
        server.server_close()
