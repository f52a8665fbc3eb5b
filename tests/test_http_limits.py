"""What one HTTP client may hold of mmsc (issue 14 items 10 and 11): slow request heads and
bodies are cut off after the documented timeouts, an address has a bounded number of open
connections, and a client that hangs up mid-upload is one INFO line, not a traceback."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from mmsc.config import Config, VaspConfig
from mmsc.server import Server

from test_loop import config, running


def limited(tmp_path: Path) -> Config:
    cfg = config(tmp_path)
    cfg.http.header_timeout = 1.0
    cfg.http.read_timeout = 1.0
    cfg.http.body_timeout = 2.0
    return cfg


async def closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """Everything the server sent until it closed the connection; fails when it is still
    open after ``seconds``."""
    return await asyncio.wait_for(reader.read(), seconds)


async def trickle(writer: asyncio.StreamWriter, data: bytes, pause: float) -> None:
    """Send ``data`` an octet at a time, ``pause`` seconds apart, until the peer is gone."""
    try:
        for octet in data:
            writer.write(bytes([octet]))
            await writer.drain()
            await asyncio.sleep(pause)
    except ConnectionError:
        pass


HEAD = b"POST /mms HTTP/1.1\r\nHost: mmsc\r\nContent-Type: application/vnd.wap.mms-message\r\n"


async def test_a_slow_request_head_is_cut_off(tmp_path: Path) -> None:
    async with running(limited(tmp_path)) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        sender = asyncio.create_task(trickle(writer, HEAD + b"X-Padding: " + b"a" * 200, 0.2))
        assert await closed_within(reader, 8.0) == b""  # closed, nothing answered
        sender.cancel()
        writer.close()


@pytest.mark.parametrize("pause", [None, 0.3])  # no octet at all / a trickle of octets
async def test_a_slow_request_body_gets_408(tmp_path: Path, pause: float | None) -> None:
    async with running(limited(tmp_path)) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(HEAD + b"Content-Length: 1000\r\n\r\n")
        sender = asyncio.create_task(trickle(writer, b"\x8c" * 1000, pause)) if pause else None
        answer = await closed_within(reader, 8.0)
        assert answer.startswith(b"HTTP/1.1 408 ")
        if sender is not None:
            sender.cancel()
        writer.close()
        assert (await server.engine.state.list_message_ids()) == []


async def test_connections_per_client_address_are_bounded(tmp_path: Path) -> None:
    cfg = limited(tmp_path)
    cfg.http.header_timeout = 30.0
    cfg.http.trusted_proxies = ["192.0.2.1"]  # loopback is an ordinary client here
    cfg.http.max_connections_per_client = 3
    async with running(cfg) as server:
        held = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(3)]
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await closed_within(reader, 5.0) == b""  # the fourth: closed at once
        writer.close()
        held[0][1].close()
        await held[0][1].wait_closed()
        await asyncio.sleep(0.2)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: mmsc\r\nConnection: close\r\n\r\n")
        assert (await closed_within(reader, 5.0)).startswith(b"HTTP/1.1 200 ")
        for _, w in held[1:]:
            w.close()


async def test_the_trusted_proxy_is_not_bounded(tmp_path: Path) -> None:
    """Every handset comes through the WAP gateway's address: it is exempt."""
    cfg = limited(tmp_path)
    cfg.http.max_connections_per_client = 2
    async with running(cfg) as server:
        held = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(4)]
        reader, writer = held[-1]
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: mmsc\r\nConnection: close\r\n\r\n")
        assert (await closed_within(reader, 5.0)).startswith(b"HTTP/1.1 200 ")
        for _, w in held:
            w.close()


@pytest.mark.parametrize("path", ["/mms", "/mm7"])
async def test_an_aborted_upload_is_one_info_line(tmp_path: Path, path: str,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    cfg = limited(tmp_path)
    cfg.vasps = [VaspConfig("acme", "secret")]  # so that MM7 reads the body too
    async with running(cfg) as server:
        with caplog.at_level(logging.INFO):
            for _ in range(3):
                reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
                writer.write(HEAD.replace(b"/mms", path.encode()) +
                             b"Authorization: Basic YWNtZTpzZWNyZXQ=\r\n"
                             b"Content-Length: 100000\r\n\r\n" + b"\x8c" * 3000)
                await writer.drain()
                writer.transport.abort()  # hang up mid-upload
            await asyncio.sleep(0.5)
            assert await healthy(server)
    broke = [r for r in caplog.records if "broke off its upload" in r.getMessage()]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert len(broke) == 3 and all(r.levelno == logging.INFO for r in broke)
    assert errors == [], [r.getMessage() for r in errors]


async def healthy(server: Server) -> bool:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: mmsc\r\nConnection: close\r\n\r\n")
    answer = await closed_within(reader, 5.0)
    writer.close()
    return answer.startswith(b"HTTP/1.1 200 ")
