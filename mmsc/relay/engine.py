"""The relay engine: routes each recipient, moves it through the state machine of
ARCHITECTURE.md, and sends what each step needs (notification, link SMS, reports).

Every transition is one method that writes one ``events`` row through
:meth:`StateStore.transition` (compare-and-set, so two nodes or a retried request never apply
a step twice). The engine is put together from one module per idea:

- :mod:`.routing`: where each recipient's copy goes;
- :mod:`.scheduler`: the timers (re-notification, fallback, expiry, parked SMS);
- :mod:`.delivery`: the steps that send (notification, link SMS, MM7 DeliverReq);
- :mod:`.hold`: no SMS of an Advertisement outside the sending hours (:mod:`.hours`);
- :mod:`.interconnect`: other operators' MMSCs (MM4) and e-mail (MM3);
- :mod:`.retrieval`: content locations, the original, adaptation for the device;
- :mod:`.reports`: final states and the reports they owe;
- :mod:`.optout`, :mod:`.mo_sms`, :mod:`.senders`: advertising's opt-out, handsets' SMS to
  VASPs, and the pace of each VASP sender's SMS;
- :mod:`.requests`: what handsets and VASPs say about accepted messages;
- :mod:`.core`: settings, service protocols, state groups shared by all of them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from mmsc import metrics
from mmsc.cache import SizedLru, TtlCache
from mmsc.message import Message
from mmsc.state import (
    Interface, MessageRecord, RecipientRecord, RecipientState, StateStore, Subscriber,
)
from mmsc.store import ObjectStore

from .accept import Accepted, accept
from .core import UNAVAILABLE, ContentLost, Mailer, Messenger, Reporter, Settings
from .delivery import Delivery
from .hold import Hold
from .interconnect import Interconnect
from .mo_sms import MobileOriginated
from .optout import OptOuts
from .reports import Reports
from .requests import Requests
from .retrieval import Retrieval, safe_name, token_from_path
from .routing import Routing
from .receipts import Receipts
from .scheduler import Scheduler
from .senders import Pacing, SenderLimits

__all__ = ["UNAVAILABLE", "ContentLost", "Engine", "Mailer", "Messenger", "Reporter", "Settings",
           "safe_name", "token_from_path"]

log = logging.getLogger(__name__)


class Engine(Routing, Scheduler, Delivery, Hold, Interconnect, Retrieval, Reports, Requests,
             OptOuts, MobileOriginated, Pacing):
    """Store-and-forward for every recipient of every message."""

    def __init__(self, objects: ObjectStore, state: StateStore, messenger: Messenger,
                 settings: Settings, clock: Callable[[], float] = time.time,
                 reporter: Reporter | None = None, mailer: Mailer | None = None) -> None:
        self.objects = objects
        self.state = state
        self.messenger = messenger
        self.reporter = reporter
        self.mailer = mailer
        self.settings = settings
        self.clock = clock
        self.wake = asyncio.Event()
        #: VASP numbers and subscribers, read on every message, change rarely (TtlCache).
        self._vasp_numbers: TtlCache[None, dict[str, str]] = TtlCache()
        self._subscribers: TtlCache[str, Subscriber | None] = TtlCache()
        self._adapting: dict[str, tuple[asyncio.Lock, int]] = {}  # key -> (lock, users)
        self._adaptation_slots = asyncio.Semaphore(max(1, settings.adaptation_workers))
        #: Recipients parked for want of an SMSC link, by id, with the state they wait in.
        self._parked: dict[int, RecipientState] = {}
        self._bound_again = False
        #: What fetches got, by adapted key (Retrieval.fetch), bounded by size.
        self._served: SizedLru[str, Message] = SizedLru(settings.content_cache)
        #: Repeated fetches not yet written: recipient id -> (count, last at).
        self._refetched: dict[int, tuple[int, float]] = {}
        self.receipts = Receipts(self)  # the SMSC's delivery receipts (mmsc/relay/receipts.py)
        self.senders = SenderLimits(settings.advertising.sender_mps)  # mmsc/relay/senders.py
        self._mo_tasks: set[asyncio.Task] = set()  # MO SMS being accepted (mmsc/relay/mo_sms.py)

    async def submit(self, message: Message, interface: Interface,
                     vasp_id: str | None = None, mm7_namespace: str | None = None,
                     mm7_version: str | None = None, mm4_message_id: str | None = None,
                     mm4_reply_to: str | None = None) -> Accepted:
        """Accept durably (see :mod:`mmsc.relay.accept`), then wake the scheduler. A VASP's
        message without a class gets the VASP's ``default_class``."""
        default_class = self.settings.default_classes.get(vasp_id or "")
        if default_class and message.envelope.message_class is None:
            message = replace(message, envelope=replace(message.envelope,
                                                        message_class=default_class))
        routes = {str(a).strip(): await self.route(a) for a in message.envelope.recipients}
        done = await accept(message, objects=self.objects, state=self.state,
                            interface=interface, route=routes.__getitem__, now=self.clock(),
                            vasp_id=vasp_id, mm7_namespace=mm7_namespace,
                            mm7_version=mm7_version, mm4_message_id=mm4_message_id,
                            mm4_reply_to=mm4_reply_to)
        if not done.duplicate:
            metrics.accepted(interface.value)
            metrics.reached(RecipientState.ACCEPTED.value, len(done.recipients))
        self.wake.set()
        return done

    def expiry(self, message: MessageRecord) -> float:
        return message.expiry_at or message.created_at + self.settings.default_expiry

    def _backoff(self, attempts: int) -> float:
        steps = self.settings.renotify_backoff
        return steps[min(attempts, len(steps)) - 1] if steps else 60.0

    async def _move(self, r: RecipientRecord, to: RecipientState, *, kind: str,
                    expected: Sequence[RecipientState] | None = None,
                    detail: dict[str, Any] | None = None, **changes: Any) -> RecipientRecord | None:
        moved = await self.state.transition(r.id or 0, expected=expected or (r.state,), to=to,
                                            now=self.clock(), kind=kind, detail=detail,
                                            **changes)
        if moved is None:
            return None
        if moved.before != to:
            metrics.reached(to.value)
        log.info("%s %s: %s -> %s (%s)", r.message_id, r.address, moved.before.value,
                 to.value, kind)
        return moved.record

