"""Bad days of the object store, end to end over real HTTP and SMPP: a store that hangs (a
real S3 server process, moto_server, stopped with SIGSTOP) and content that is gone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from test_loop import config, running


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def get(url: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.read()


# -- readiness -------------------------------------------------------------------------------


async def test_readyz_names_each_part_that_is_down(tmp_path: Path) -> None:
    """/readyz: 200 while everything answers; 503 naming the SMSC once its bind is lost,
    then the state store too once that is gone; /healthz 200 throughout."""
    async with running(config(tmp_path)) as server:
        status, text = await get(f"{server.url}/readyz")
        assert status == 200 and text.decode().startswith("ready ")

        async def down(part: str) -> bool:
            status, text = await get(f"{server.url}/readyz")
            return status == 503 and f"\n{part}: " in f"\n{text.decode()}"
        assert server.smsc is not None
        await server.smsc.close()
        await until(lambda: down("SMSC"), "/readyz naming the SMSC")
        await server.engine.state.close()
        await until(lambda: down("state store"), "/readyz naming the state store")
        assert (await get(f"{server.url}/healthz"))[0] == 200
