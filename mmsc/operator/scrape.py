"""``GET /metrics`` in the Prometheus text format, and the middleware that times every HTTP
request by route (``mmsc_http_request_duration_seconds{route}``).

Only the addresses of ``[metrics] allow`` may scrape (default: loopback); others get 403.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from mmsc import metrics
from mmsc.state import StateStore

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def route_of(request: web.Request) -> str:
    """The route's pattern (``/m/{token}``), never the path itself (tokens would make a
    series each); ``unmatched`` for a path no route takes."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def timed(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Time each request by route, answered or failed."""
    started = time.perf_counter()
    try:
        return await handler(request)
    finally:
        metrics.http_request(route_of(request), time.perf_counter() - started)


class Scrape:
    """The ``/metrics`` handler: who may scrape, and the gauge read at each scrape."""

    def __init__(self, state: StateStore, allow: Iterable[str],
                 clock: Callable[[], float] = time.time) -> None:
        self.state = state
        self.clock = clock
        self.allow = [ipaddress.ip_network(a, strict=False) for a in allow]

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/metrics", self.metrics)]

    def allowed(self, remote: str | None) -> bool:
        try:
            address = ipaddress.ip_address((remote or "").partition("%")[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.allow)

    async def metrics(self, request: web.Request) -> web.Response:
        if not self.allowed(request.remote):
            log.warning("metrics scrape from %s refused: not in [metrics] allow", request.remote)
            return web.Response(status=403, text="forbidden\n")
        try:
            metrics.timers_due(await self.state.count_due(self.clock()))
        except Exception as exc:  # noqa: BLE001 - the counters are worth answering anyway
            log.warning("mmsc_timers_due not updated: %s", exc)
        return web.Response(body=metrics.exposition(),
                            headers={"Content-Type": metrics.CONTENT_TYPE})
