"""Readiness (``GET /readyz``): whether this process can take and deliver messages now.

``/healthz`` is liveness: the process runs, answered 200 whatever its parts do.
Readiness asks the parts: the state store (a read by primary key), the object store (an
existence check) and the SMSC bind. A load balancer stops sending traffic to a node that is
not ready and sends it again once it is. Each store probe has a short time limit
(:data:`PROBE_TIMEOUT`) and the outcome is kept :data:`KEEP` seconds, so frequent checks
from several balancers cost each store one probe a second at most; callers that arrive
during a probe share it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable

from mmsc.state import StateStore
from mmsc.store import ObjectStore

log = logging.getLogger(__name__)

#: Longest wait for one store's probe, in seconds.
PROBE_TIMEOUT = 2.0
#: How long an outcome is reused, in seconds.
KEEP = 1.0
#: What the probes look up: never written, so the answer is "absent", from a store that works.
PROBE_KEY = "readyz"


async def _probe(name: str, check: Awaitable[object]) -> str | None:
    """None when ``check`` completes in time, else ``name`` and why it failed."""
    try:
        async with asyncio.timeout(PROBE_TIMEOUT):
            await check
    except TimeoutError:
        return f"{name}: no answer within {PROBE_TIMEOUT:g} s"
    except Exception as exc:  # noqa: BLE001 - whatever the store raises, it is not ready
        return f"{name}: {exc}"
    return None


class Readiness:
    """The readiness of one process: its stores and its SMSC bind (``smsc_bound``)."""

    def __init__(self, objects: ObjectStore, state: StateStore, smsc_bound: Callable[[], bool],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.objects = objects
        self.state = state
        self.smsc_bound = smsc_bound
        self.clock = clock
        self._down: list[str] = []
        self._at = -math.inf
        self._lock = asyncio.Lock()

    async def down(self) -> list[str]:
        """What is down, one ``"<part>: <why>"`` each; empty when the process is ready."""
        async with self._lock:
            if self.clock() - self._at >= KEEP:
                down = await self._check()
                if down != self._down:
                    if down:
                        log.warning("not ready: %s", "; ".join(down))
                    else:
                        log.info("ready again")
                self._down, self._at = down, self.clock()
            return self._down

    async def _check(self) -> list[str]:
        probes = await asyncio.gather(
            _probe("state store", self.state.get_message(PROBE_KEY)),
            _probe("object store", self.objects.exists(PROBE_KEY)))
        down = [problem for problem in probes if problem is not None]
        if not self.smsc_bound():
            down.append("SMSC: not bound")
        return down
