"""Several SMSC routes behind one messenger: each SMS goes to a live route that serves its
number, by weight, and to another one when that route fails.

A route is one SMSC (or aggregator) account: ``binds`` SMPP sessions to it (an SMS goes
over the next live one), the number prefixes it serves and a weight. For a number:

- the routes that serve it are ranked by their longest prefix of it (a route without
  prefixes serves every number, at rank 0); the best-ranked live routes share the traffic
  by weight, with a smooth weighted round-robin (weights 3 and 1 give exactly 3 SMS of 4
  and 1 of 4, spread, not in runs); the others are its spares, best rank first;
- a route is live while one of its binds is bound and it is not backing off. A route that
  answers ESME_RTHROTTLED (0x58) or ESME_RMSGQFUL (0x14), or does not answer a submit_sm in
  time, or loses its link under a submit, backs off for its ``backoff`` seconds, and the same
  SMS goes at once to the next route that serves the number;
- when none is left the SMS fails as :class:`SmppLinkError` (decision "link": the caller
  keeps it and sends it again when ``on_bound`` says a route is back: a bind succeeded or a
  back-off ended). A number no route serves fails for good (ESME_RINVDSTADR).

An SMS whose submit_sm the SMSC took is never sent again on another route. A refused
submit (throttled, queue full) was not taken, so it can go elsewhere. A submit with no
answer in time is the one doubt: the SMSC may have taken it. It goes to the next route at
once, as the single-route client's caller would send it again later anyway (at least
once): a repeated notification carries the same transaction id, which handsets
de-duplicate. An SMS of several segments is committed to the route that took its first
one; a failure at a later segment sends it whole to the next route (the orphan segments
never make a whole SMS at the first).

With a single route nothing fails over: its client slows down and retries on throttling
(``SmppConfig.throttle_retries``) and its errors go to the caller as they are, as with one
:class:`SmppClient`.

Delivery receipts: with several routes the SMSC message ids that the sends return, and
those of the receipts handed to ``on_receipt``, are qualified by the route's name
(``"<route>:<id>"``), since two SMSCs may hand out the same ids; with one route they are
the SMSC's own. :func:`wap_push.smpp.message_id_keys` keeps the qualifier.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .smpp import STATUS_CODES, Receipt
from .smpp_client import SmppClient, SmppConfig, SmppLinkError, SmppSendError

log = logging.getLogger(__name__)

#: The retry decisions of a submit that send the SMS on to the next route.
FAILOVER = ("link", "throttle")


@dataclass
class RouteConfig:
    """One SMSC route: its name, which numbers it serves, its share, its sessions."""

    name: str
    smpp: SmppConfig = field(default_factory=SmppConfig)
    prefixes: Sequence[str] = ()  # empty: every number, at rank 0
    weight: int = 1
    binds: int = 1  # SMPP sessions; smpp.max_rate is shared among them
    backoff: float = 30.0  # seconds a failed route is skipped


class Route:
    """A route at run time: its binds and its back-off."""

    def __init__(self, config: RouteConfig, clients: list[SmppClient]) -> None:
        self.config = config
        self.name = config.name
        self.clients = clients
        self.until = 0.0  # skipped until this loop time
        self.current = 0  # smooth weighted round-robin
        self._next = 0
        self.timer: asyncio.TimerHandle | None = None  # the end of the back-off

    @property
    def bound(self) -> bool:
        return any(c.connected for c in self.clients)

    def live(self, now: float) -> bool:
        return now >= self.until and self.bound

    def rank(self, number: str) -> int | None:
        """The length of the longest prefix of ``number`` (0 without prefixes); None when
        the route does not serve it."""
        if not self.config.prefixes:
            return 0
        return max((len(p) for p in self.config.prefixes if number.startswith(p)), default=None)

    def client(self) -> SmppClient:
        """The next bound session (round robin), or the next one when none is bound."""
        for _ in range(len(self.clients)):
            self._next = (self._next + 1) % len(self.clients)
            if self.clients[self._next].connected:
                break
        return self.clients[self._next]


class Router:
    """The engine's messenger over several SMSC routes (the interface of SmppClient:
    ``connected``, ``send_push``, ``send_text``, ``on_receipt``, ``on_message``, ``serves``,
    ``on_bound``, ``start``, ``close``). ``on_outcome(route, outcome)`` is told of each
    submit: "sent", or why the route was skipped ("throttle", "link"). A handset's SMS may
    come over any route; each session joins the segments it receives itself."""

    def __init__(self, routes: Sequence[RouteConfig],
                 on_receipt: Callable[[Receipt], None] | None = None,
                 on_message: Callable[[Any], None] | None = None,
                 on_bound: Callable[[], None] | None = None,
                 on_outcome: Callable[[str, str], None] | None = None) -> None:
        if not routes:
            raise ValueError("a router needs at least one route")
        self.on_receipt = on_receipt
        self.on_message = on_message
        self.on_bound = on_bound
        self.on_outcome = on_outcome
        self.failover = len(routes) > 1
        self.routes = [self._route(r) for r in routes]

    def _route(self, config: RouteConfig) -> Route:
        smpp = dataclasses.replace(config.smpp, max_rate=config.smpp.max_rate / config.binds)
        if self.failover:  # a throttled route is skipped, not waited for
            smpp.throttle_retries = 0
        route = Route(config, [])
        route.clients = [SmppClient(smpp, on_receipt=lambda r, n=route: self._receipt(n, r),
                                    on_message=self._message,
                                    on_bound=lambda n=route: self._bound(n))
                         for _ in range(config.binds)]
        return route

    @property
    def serves(self) -> Callable[[str], bool] | None:
        """Which numbers take handsets' SMS (SmppClient.serves), for every session."""
        return self.routes[0].clients[0].serves

    @serves.setter
    def serves(self, predicate: Callable[[str], bool] | None) -> None:
        for route in self.routes:
            for client in route.clients:
                client.serves = predicate

    @property
    def connected(self) -> bool:
        """Some route can take an SMS now (bound, not backing off)."""
        now = asyncio.get_running_loop().time()
        return any(r.live(now) for r in self.routes)

    @property
    def bound(self) -> bool:
        """Some route has a bind (readiness: a throttled SMSC is still there)."""
        return any(r.bound for r in self.routes)

    async def start(self, *, retry: bool = False) -> bool:
        """Connect and bind every session of every route (see :meth:`SmppClient.start`);
        True when at least one is bound."""
        started = await asyncio.gather(*(c.start(retry=retry) for r in self.routes
                                         for c in r.clients), return_exceptions=True)
        for outcome in started:
            if isinstance(outcome, BaseException):  # refused or unreachable, without retry
                await self.close()
                raise outcome
        return any(started)

    async def close(self) -> None:
        for route in self.routes:
            if route.timer is not None:
                route.timer.cancel()
        await asyncio.gather(*(c.close() for r in self.routes for c in r.clients))

    # -- callbacks of the sessions ------------------------------------------------------------

    def _receipt(self, route: Route, receipt: Receipt) -> None:
        if self.on_receipt is not None:
            self.on_receipt(dataclasses.replace(
                receipt, message_id=self._qualified(route, receipt.message_id)))

    def _message(self, pdu: Any) -> None:
        if self.on_message is not None:
            self.on_message(pdu)

    def _bound(self, route: Route) -> None:
        log.info("SMSC route %s bound (%d of %d sessions)", route.name,
                 sum(c.connected for c in route.clients), len(route.clients))
        if self.on_bound is not None:
            self.on_bound()

    def _back(self, route: Route) -> None:
        """A back-off ended: the route takes SMS again."""
        route.timer = None
        if route.bound:
            log.info("SMSC route %s back after its back-off", route.name)
            if self.on_bound is not None:
                self.on_bound()

    # -- sending ------------------------------------------------------------------------------

    def _qualified(self, route: Route, message_id: str) -> str:
        return f"{route.name}:{message_id}" if self.failover else message_id

    async def send_push(self, destination: str, push_pdu: bytes) -> list[str]:
        """A WSP push over a route that serves ``destination`` (SmppClient.send_push)."""
        return await self._send(destination, lambda c: c.send_push(destination, push_pdu))

    async def send_text(self, destination: str, text: str,
                        source: str | None = None) -> list[str]:
        """A text SMS over a route that serves ``destination`` (SmppClient.send_text), from
        ``source`` when given."""
        return await self._send(destination, lambda c: c.send_text(destination, text, source))

    async def _send(self, number: str,
                    sending: Callable[[SmppClient], Awaitable[list[str]]]) -> list[str]:
        ranked: dict[int, list[Route]] = {}
        for route in self.routes:
            rank = route.rank(number)
            if rank is not None:
                ranked.setdefault(rank, []).append(route)
        if not ranked:
            raise SmppSendError(STATUS_CODES["ESME_RINVDSTADR"],
                                f"no SMSC route serves {number}")
        skipped: list[str] = []
        for rank in sorted(ranked, reverse=True):
            group = ranked[rank]
            while live := [r for r in group if r.live(asyncio.get_running_loop().time())]:
                route = self._pick(live)
                try:
                    ids = await sending(route.client())
                except SmppSendError as exc:
                    if not self.failover or exc.decision not in FAILOVER:
                        raise
                    self._skip(route, exc, number)
                    skipped.append(f"{route.name}: {exc}")
                    group = [r for r in group if r is not route]
                    continue
                self._outcome(route, "sent")
                return [self._qualified(route, i) for i in ids]
        raise SmppLinkError(f"no SMSC route to {number} is up"
                            + (f" ({'; '.join(skipped)})" if skipped else ""))

    @staticmethod
    def _pick(live: list[Route]) -> Route:
        """Smooth weighted round-robin: each route gains its weight, the richest is picked
        and pays the total."""
        for route in live:
            route.current += route.config.weight
        best = max(live, key=lambda r: r.current)
        best.current -= sum(r.config.weight for r in live)
        return best

    def _skip(self, route: Route, exc: SmppSendError, number: str) -> None:
        """Back off ``route`` after a failed submit; :meth:`_back` when the back-off ends."""
        loop = asyncio.get_running_loop()
        backoff = route.config.backoff
        route.until = loop.time() + backoff
        if route.timer is not None:
            route.timer.cancel()
        route.timer = loop.call_later(backoff, self._back, route)
        self._outcome(route, exc.decision)
        log.warning("SMSC route %s skipped for %.0f s: %s (the SMS to %s tries another route)",
                    route.name, backoff, exc, number)

    def _outcome(self, route: Route, outcome: str) -> None:
        if self.on_outcome is not None:
            self.on_outcome(route.name, outcome)
