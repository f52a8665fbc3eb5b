"""Bounds on what one HTTP client may hold of the server: time to send a request's head and
body, and connections open at once per client address.

aiohttp closes a connection that has not completed a request head within its keep-alive
timeout (it counts from the connection's start, then from the end of each answer), so
``[http] header_timeout`` is passed as that. A body is read through :func:`read_body`, which
gives up when no octet came for ``[http] read_timeout`` or the whole body took longer than
``[http] body_timeout`` (RFC 9110 §15.5.9: 408 Request Timeout), and which turns a client
that hung up mid-upload into one INFO line instead of a traceback. :class:`LimitedSite`
listens like :class:`aiohttp.web.TCPSite` and closes at once a connection from an address
that has ``[http] max_connections_per_client`` open already; the trusted proxies (the WAP
gateway every handset comes through) are exempt.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BodyLimits:
    """How long a request body may take: ``idle`` seconds without an octet, ``total`` in all."""

    idle: float = 15.0
    total: float = 120.0


BODY_LIMITS = web.AppKey("mmsc.body_limits", BodyLimits)


class BodyTooLarge(Exception):
    """The body is over the limit the handler gave; ``received`` is what was read of it (a
    little past the limit, no further)."""

    def __init__(self, received: bytes) -> None:
        super().__init__(f"request body over the limit ({len(received)} octets read)")
        self.received = received


class ClientGone(Exception):
    """The client hung up or broke off before its body was complete: nobody to answer."""


async def read_body(request: web.Request, limit: int) -> bytes:
    """The request's body, at most ``limit`` octets (else :class:`BodyTooLarge`), within the
    application's :class:`BodyLimits` (else HTTP 408, connection closed). A client that
    hangs up raises :class:`ClientGone` after one INFO line."""
    limits = request.config_dict.get(BODY_LIMITS) or BodyLimits()
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(limits.total):
            while chunk := await asyncio.wait_for(request.content.readany(), limits.idle):
                size += len(chunk)
                chunks.append(chunk)
                if size > limit:
                    raise BodyTooLarge(b"".join(chunks))
    except TimeoutError:
        log.info("%s %s from %s: body not received in time (%d octets came); 408",
                 request.method, request.path, request.remote, size)
        raise web.HTTPRequestTimeout(text="request body not received in time\n",
                                     headers={"Connection": "close"}) from None
    except (ConnectionError, HttpProcessingError) as exc:
        log.info("%s %s from %s: the client broke off its upload after %d octets (%s)",
                 request.method, request.path, request.remote, size,
                 type(exc).__name__)
        raise ClientGone() from None
    return b"".join(chunks)


@web.middleware
async def client_gone(request: web.Request,
                      handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    """A handler whose client hung up ends quietly: there is no one to answer, and
    :func:`read_body` has said so in the log."""
    try:
        return await handler(request)
    except ClientGone:
        return web.Response(status=400, headers={"Connection": "close"})


class _Counted(asyncio.Protocol):
    """aiohttp's protocol for one connection, counted per peer address while it is open: a
    connection over the limit is closed before aiohttp sees it."""

    def __init__(self, site: LimitedSite, inner: asyncio.Protocol) -> None:
        self._site = site
        self._inner = inner
        self._peer: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = peer[0] if isinstance(peer, tuple) else ""
        if not self._site.admit(address):
            transport.abort()
            return
        self._peer = address
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._peer is None:  # refused: aiohttp never had it
            return
        self._site.release(self._peer)
        self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class LimitedSite(web.BaseSite):
    """A TCP site like :class:`aiohttp.web.TCPSite`, with at most ``per_client`` open
    connections per client address (0: no limit) except from ``exempt`` addresses."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, *, per_client: int,
                 exempt: Collection[str] = (), reuse_port: bool | None = None) -> None:
        super().__init__(runner)
        self._host, self._port = host, port
        self._per_client = per_client
        self._exempt = frozenset(exempt)
        self._reuse_port = reuse_port
        self.open: Counter[str] = Counter()
        self._refusing: set[str] = set()  # addresses told about once while at their limit

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    def admit(self, address: str) -> bool:
        """Count a new connection from ``address``; False (and a log line) when that address
        is at its limit."""
        if self._per_client and address and address not in self._exempt and \
                self.open[address] >= self._per_client:
            if address not in self._refusing:
                self._refusing.add(address)
                log.warning("connections from %s refused while it has %d open "
                            "([http] max_connections_per_client)", address, self.open[address])
            return False
        self.open[address] += 1
        return True

    def release(self, address: str) -> None:
        self.open[address] -= 1
        if self.open[address] <= 0:
            del self.open[address]
        self._refusing.discard(address)

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None

        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Counted(self, server()), self._host, self._port, reuse_port=self._reuse_port)
