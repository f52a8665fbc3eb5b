"""The relay engine: routes each recipient, moves it through the state machine of
ARCHITECTURE.md, and sends what each step needs (notification, link SMS, reports).

Every transition is one method here that writes one ``events`` row through
:meth:`StateStore.transition` (compare-and-set, so two nodes or a retried request never apply
a step twice). Timers are ``next_attempt_at`` values claimed by :meth:`Engine.run_due`:
nothing waits in memory, so a restart resumes where the process stopped.

Timer meaning per state: ``accepted`` → notify now (or at the earliest delivery time);
``notified`` and ``retrieved`` → no confirmation yet, notify again (back-off) or fall back to
the link SMS; ``deferred`` and ``fallback-sent`` → expiry.

An SMS that never reached the SMSC (no bind, the link dropped) is not a handset that did not
answer: the recipient is *parked*, its attempts unspent, and goes again as soon as the
messenger is bound again (:meth:`Engine.link_up`); its timer meanwhile is
:data:`PARKED_RETRY` at most, never past the expiry, so expiry and a process that never sees
the bind come back still act on time.

A message whose original is gone from the object store (deleted, the bucket lost) can never
be delivered: whichever step finds that out (a notification, a retrieval, the web viewer)
ends every recipient still waiting ``unreachable`` with the report owed, and raises
:class:`ContentLost`. A store that cannot answer now is another matter: that step is tried
again later.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NoReturn, Protocol
from urllib.parse import unquote

from mmsc import metrics
from mmsc.cache import TtlCache
from mmsc.ids import is_token, new_token, token_digest
from adaptation.ffmpeg import Ffmpeg
from adaptation.plan import MediaPart, plan
from adaptation.profile_fetch import ProfileFetcher
from adaptation.uaprof import DeviceProfile, from_accept_header, from_user_agent
from mmsc.message import Message, MessagePart
from mmsc.smil import SmilError, rewrite_references
from mmsc.pdu import ReadStatus, Status
from mmsc.state import (
    Interface, MessageRecord, RecipientRecord, RecipientState, ReportRecord, Route, StateError,
    StateStore, Subscriber,
)
from mmsc.store import ObjectNotFound, ObjectStore, ObjectStoreError, message_key

from . import notices, offload
from .accept import Accepted, accept
from .links import new_link
from .receipts import Receipts

log = logging.getLogger(__name__)
S = RecipientState

#: What the stores raise when they cannot serve a request now (down, too slow, refusing): an
#: interface answers "retry later" (MM7 fault 4006, MM1 transient failure, HTTP 503).
UNAVAILABLE = (ObjectStoreError, StateError, OSError)


class ContentLost(ObjectNotFound):
    """A message's original is gone from the object store. When it is raised, the message's
    waiting recipients have been ended ``unreachable``; an interface answers with its
    permanent "message not found"."""


class Reporter(Protocol):
    """What talks MM7 to VASPs (``mmsc.mm7.client.VaspReporter`` is one): the reports owed to
    them, and the messages handsets send to their short codes. Each returns whether it was
    taken, whether a failure is worth retrying, and a detail for the event."""

    async def send(self, report: ReportRecord) -> tuple[bool, bool, dict[str, Any]]: ...

    async def deliver(self, vasp_id: str, message: Message) -> tuple[bool, bool, dict[str, Any]]:
        ...


class Messenger(Protocol):
    """What the engine sends SMS through (``wap_push.smpp_client.SmppClient`` is one). A send
    that fails with ``decision`` "link" never reached the SMSC; ``connected`` says whether
    one can reach it now."""

    @property
    def connected(self) -> bool: ...

    async def send_push(self, destination: str, push_pdu: bytes) -> list[str]: ...

    async def send_text(self, destination: str, text: str) -> list[str]: ...


@dataclass
class Settings:
    """The engine's knobs (``[delivery]`` and ``[http] public_url`` of the configuration)."""

    public_url: str
    default_expiry: float = 3 * 86400.0
    renotify_backoff: Sequence[float] = (60.0, 300.0, 1800.0, 7200.0)
    fallback_after: float = 6 * 3600.0
    local_prefixes: Sequence[str] = ()  # empty: every number is served here
    report_backoff: Sequence[float] = (10.0, 60.0, 300.0, 1800.0, 3600.0)  # then given up
    profiles: dict[str, DeviceProfile] = field(default_factory=dict)  # by subscriber profile
    profile_fetcher: ProfileFetcher | None = None  # for x-wap-profile URLs
    ffmpeg: Ffmpeg = field(default_factory=Ffmpeg)  # how audio and video are transcoded
    adaptation_workers: int = 2  # adaptations running at once
    link_ttl: float = 3 * 86400.0  # how long a web link works after its SMS ([viewer])
    link_pin: bool = False  # the link SMS carries a PIN the viewer asks for
    claim_batch: int = 50
    claim_lease: float = 120.0
    node: str = field(default_factory=lambda: f"node-{secrets.token_hex(4)}")


#: X-Mms-Status of the delivery report for each final state (OMA-MMS-ENC §7.3.54).
_REPORT_STATUS = {S.ACKNOWLEDGED: Status.RETRIEVED, S.REJECTED: Status.REJECTED,
                  S.EXPIRED: Status.EXPIRED, S.UNREACHABLE: Status.UNREACHABLE,
                  S.FORWARDED: Status.FORWARDED}
#: States in which a handset may fetch the content (with a token, so notified at least
#: once: a fast handset may fetch before ``notified`` is written).
_FETCHABLE = (S.ACCEPTED, S.ADAPTED, S.NOTIFIED, S.DEFERRED, S.RETRIEVED, S.FALLBACK_SENT,
              S.ACKNOWLEDGED)
_NOT_YET_RETRIEVED = (S.ACCEPTED, S.ADAPTED, S.NOTIFIED, S.DEFERRED, S.FALLBACK_SENT)
_WAITING = (S.ACCEPTED, S.ADAPTED, S.NOTIFIED, S.DEFERRED, S.RETRIEVED, S.FALLBACK_SENT)
#: Seconds a parked recipient waits at most for the bind that resumes it (rows parked by
#: another process, or by a submit_sm_resp that never came while the link stayed up).
PARKED_RETRY = 60.0


def safe_name(name: str) -> str:
    """A profile name as an object-key segment."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)[:40]
    return cleaned.lstrip(".-_") or "profile"


def token_from_path(text: str) -> str:
    """The token of a content location path, tolerating handsets that URL-escape it twice."""
    token = text.rsplit("/", 1)[-1]
    for _ in range(2):
        if "%" not in token:
            break
        token = unquote(token)
    return token


class Engine:
    """Store-and-forward for every recipient of every message."""

    def __init__(self, objects: ObjectStore, state: StateStore, messenger: Messenger,
                 settings: Settings, clock: Callable[[], float] = time.time,
                 reporter: Reporter | None = None) -> None:
        self.objects = objects
        self.state = state
        self.messenger = messenger
        self.reporter = reporter
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
        self.receipts = Receipts(self)  # the SMSC's delivery receipts (mmsc/relay/receipts.py)

    # -- accepting -------------------------------------------------------------------------------

    async def route(self, address: str) -> Route:
        """Per recipient: e-mail → MM3; a number outside the local prefixes → another
        operator's MMSC (MM4); a local number → its subscriber entry (MMS or legacy; unknown
        local numbers are taken as MMS handsets); any other address → MM4."""
        text = str(address)
        number = notices.plmn_number(text)
        if number is None:
            return Route.EMAIL if "@" in text and "/TYPE=" not in text.upper() else Route.MM4
        if number in await self._vasps_by_number():
            return Route.VASP
        prefixes = self.settings.local_prefixes
        if prefixes and not any(number.startswith(p) for p in prefixes):
            return Route.MM4
        subscriber = await self._subscribers.get(number, self.state.get_subscriber)
        if subscriber is not None and not subscriber.mms_capable:
            return Route.LEGACY
        return Route.MMS

    async def _vasps_by_number(self) -> dict[str, str]:
        """Short codes and numbers of the VASPs (their allowed senders) → VASP id."""
        async def load(_: None) -> dict[str, str]:
            return {sender: vasp.id for vasp in await self.state.list_vasps()
                    for sender in vasp.allowed_senders if vasp.enabled}
        return await self._vasp_numbers.get(None, load)

    async def submit(self, message: Message, interface: Interface,
                     vasp_id: str | None = None, mm7_namespace: str | None = None,
                     mm7_version: str | None = None) -> Accepted:
        """Accept durably (see :mod:`mmsc.relay.accept`), then wake the scheduler."""
        routes = {str(a).strip(): await self.route(a) for a in message.envelope.recipients}
        done = await accept(message, objects=self.objects, state=self.state,
                            interface=interface, route=routes.__getitem__, now=self.clock(),
                            vasp_id=vasp_id, mm7_namespace=mm7_namespace,
                            mm7_version=mm7_version)
        if not done.duplicate:
            metrics.accepted(interface.value)
            metrics.reached(S.ACCEPTED.value, len(done.recipients))
        self.wake.set()
        return done

    # -- the scheduler ---------------------------------------------------------------------------

    async def run_due(self) -> int:
        """One pass: claim due recipients and take each one step; returns how many."""
        now = self.clock()
        due = await self.state.claim_due(now=now, owner=self.settings.node,
                                         limit=self.settings.claim_batch,
                                         lease=self.settings.claim_lease)
        messages = await self.state.get_messages({r.message_id for r in due}) if due else {}
        await asyncio.gather(*(self._guarded_step(r, messages.get(r.message_id)) for r in due))
        return len(due)

    async def _guarded_step(self, recipient: RecipientRecord,
                            message: MessageRecord | None) -> None:
        """One recipient's step; the claimed ones run side by side, so that one slow SMSC
        answer does not hold up the others."""
        try:
            if message is not None:  # deleted since the claim: nothing left to do
                await self._step(recipient, message)
        except ContentLost:
            pass  # the message's deliveries were ended, and that was logged
        except Exception:  # noqa: BLE001 - one recipient must not stop the others
            log.exception("step of recipient %s of %s failed; retried when its claim lapses",
                          recipient.id, recipient.message_id)

    async def run(self, interval: float = 1.0) -> None:
        """The scheduler loop: a pass every ``interval`` seconds, or at once when woken (also
        when woken during a pass)."""
        while True:
            self.wake.clear()
            try:
                if self._bound_again:
                    await self._resume_parked()
                while await self.run_due() >= self.settings.claim_batch:
                    pass
                await self.send_reports()
                await self.receipts.prune()
            except Exception:  # noqa: BLE001 - the store may be down for a while
                log.exception("scheduler pass failed")
            try:
                await asyncio.wait_for(self.wake.wait(), interval)
            except TimeoutError:
                pass

    def link_up(self) -> None:
        """The messenger is bound (again): the recipients parked here go at the next pass,
        now. Call it on the loop."""
        self._bound_again = True
        self.wake.set()

    async def _resume_parked(self) -> None:
        """Make the parked recipients due now (one ``resumed`` event each). Parking happens
        in passes only, so every recipient parked before the bind is in the map; a claim a
        pass holds on one is left alone, and one that moved on is not touched."""
        self._bound_again = False
        parked, self._parked = self._parked, {}
        now = self.clock()
        for recipient_id, state in parked.items():
            await self.state.transition(recipient_id, expected=(state,), to=state, now=now,
                                        kind="resumed", next_attempt_at=now, release=False)
        if parked:
            log.info("SMSC link up: %d parked recipients resumed", len(parked))

    async def _park(self, r: RecipientRecord, message: MessageRecord, kind: str,
                    why: str) -> None:
        """The SMS never left: no attempt spent; due again at the next bind (:meth:`link_up`),
        after PARKED_RETRY at the latest, or at the expiry if sooner."""
        until = min(self.expiry(message), self.clock() + PARKED_RETRY)
        moved = await self._move(r, r.state, kind=kind, detail={"why": why},
                                 next_attempt_at=until)
        if moved is not None and moved.id is not None:
            self._parked[moved.id] = moved.state

    async def _step(self, r: RecipientRecord, message: MessageRecord) -> None:
        now = self.clock()
        if r.state == S.NOTIFIED:
            await self.receipts.unfetched(r)
        if now >= self.expiry(message):
            await self._finish(r, message, S.EXPIRED, kind="expired")
        elif r.route == Route.MMS and r.state in (S.ACCEPTED, S.ADAPTED):
            await self._notify(r, message)
        elif r.route == Route.MMS and r.state in (S.NOTIFIED, S.RETRIEVED):
            if now - message.created_at >= self.settings.fallback_after:
                await self._send_link(r, message)
            else:
                await self._notify(r, message)
        elif r.route == Route.LEGACY and r.state == S.ACCEPTED:
            await self._send_link(r, message)
        elif r.route == Route.VASP and r.state == S.ACCEPTED:
            await self._deliver_to_vasp(r, message)
        elif r.route in (Route.MM4, Route.EMAIL) and r.state == S.ACCEPTED:
            await self._finish(r, message, S.UNREACHABLE, kind="unreachable",
                               detail={"why": f"no {r.route.value} interface in this mmsc yet"})
        else:  # deferred, fallback-sent: their timer is the expiry
            await self._move(r, r.state, kind="timer", next_attempt_at=self.expiry(message))

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

    # -- transitions -----------------------------------------------------------------------------

    async def _notify(self, r: RecipientRecord, message: MessageRecord) -> None:
        """accepted|notified|retrieved → notified: an M-Notification.ind by WAP push."""
        if r.transaction_id is None:  # made at acceptance, in the same commit, so that a
            # notification repeated after a crash carries the same transaction id (handsets
            # de-duplicate on it); a row without one gets it before the push goes out
            tid = new_token()
            r = await self._move(r, r.state, kind="transaction-id", transaction_id=tid,
                                 release=False) or r
            if r.transaction_id != tid:
                return
        if not self.messenger.connected:
            await self._park(r, message, "notify-parked", "no SMSC link")
            return
        # each notification carries a token of its own; the store keeps only its digest, so
        # it is written before the push leaves (a handset may fetch at once)
        token = new_token()
        await self.state.add_content_token(r.id or 0, token_digest(token), now=self.clock())
        attempts = r.attempts + 1
        number = notices.plmn_number(r.address) or r.address
        try:
            size = await self._retrieval_size(r, message)
            push = notices.notification(
                transaction_id=r.transaction_id,
                content_location=f"{self.settings.public_url}/m/{token}",
                size=size, expiry=self.expiry(message),
                message_class=message.message_class, subject=message.subject,
                sender=message.originator or None)
            ids = await self.messenger.send_push(number, push)
        except ContentLost:
            raise
        except Exception as exc:  # noqa: BLE001 - SMSC refusal or link down, store down
            decision = getattr(exc, "decision", "retry")
            if decision == "link":
                await self._park(r, message, "notify-parked", str(exc))
            elif decision == "permanent":
                await self._finish(r, message, S.UNREACHABLE, kind="unreachable",
                                   detail={"why": str(exc)})
            else:
                await self._move(r, r.state, kind="notify-failed", detail={"why": str(exc)},
                                 attempts=attempts,
                                 next_attempt_at=self.clock() + self._backoff(attempts))
            return
        detail = {"attempt": attempts, "octets": len(push), "size": size, "smsc_ids": ids,
                  "segments": len(ids)}
        moved = await self._move(r, S.NOTIFIED, kind="notified", attempts=attempts, detail=detail,
                                 next_attempt_at=self.clock() + self._backoff(attempts))
        if moved is None:  # the handset was faster: it fetched or answered already
            await self.state.add_event(r.message_id, "notified", now=self.clock(),
                                       recipient_id=r.id, detail=detail)
        await self.receipts.record(r, message, "push", ids)

    async def _retrieval_size(self, r: RecipientRecord, message: MessageRecord) -> int:
        """X-Mms-Message-Size of the notification: the size of what the handset will
        retrieve (OMA-MMS-ENC §7.3.27; handsets decide on it whether to fetch at once). For
        a subscriber whose device profile is configured, the content is adapted now (the
        recipient state machine's ``accepted → (adapted) → notified``): made once, kept, and
        reused by the retrieval. Otherwise, or if adapting fails, the original's size. Either
        way the content must be there: ContentLost when it is gone, a store error when it
        cannot be read now (the handset would fetch in vain)."""
        profile = await self._configured_profile(r)
        if profile is None:
            await self._check_content(message)
            return message.size
        original = await self.original(message)
        try:
            content = await self.adapt(r, message, original, profile)
        except Exception as exc:  # noqa: BLE001 - the notification goes out regardless
            log.warning("%s %s: not adapted before the notification: %s", message.id,
                        r.address, exc)
            return message.size
        return content.size

    async def original(self, message: MessageRecord) -> Message:
        """The message as accepted, read from the object store (parsed in a worker thread
        when large, see :mod:`offload`); ContentLost when it is gone."""
        try:
            data = await self.objects.get(message.object_key)
        except ObjectNotFound:
            await self._content_lost(message)
        return await offload.decode(data)

    async def _check_content(self, message: MessageRecord) -> None:
        """ContentLost when the message's original is gone (one existence check)."""
        if not await self.objects.exists(message.object_key):
            await self._content_lost(message)

    async def _content_lost(self, message: MessageRecord) -> NoReturn:
        """The original of ``message`` is gone: data loss, logged at ERROR. Every recipient
        still waiting for it ends ``unreachable`` (event ``content-lost``) with the report
        owed to the originator; then ContentLost."""
        log.error("DATA LOSS: the content of message %s is gone from the object store (%s); "
                  "its waiting recipients end unreachable", message.id, message.object_key)
        for r in await self.state.recipients_of(message.id):
            if r.state in _WAITING:
                await self._finish(r, message, S.UNREACHABLE, kind="content-lost",
                                   expected=_WAITING, detail={"key": message.object_key})
        raise ContentLost(f"the content of message {message.id} is gone "
                          f"({message.object_key})")

    async def _send_link(self, r: RecipientRecord, message: MessageRecord) -> None:
        """accepted (legacy) | notified | retrieved → fallback-sent: a text SMS with the web
        link (and its PIN), see :mod:`mmsc.relay.links`. Each attempt makes a new link: only
        digests are stored, so a link whose SMS failed never works."""
        if not self.messenger.connected:
            await self._park(r, message, "link-parked", "no SMSC link")
            return
        link = new_link(now=self.clock(), ttl=self.settings.link_ttl,
                        message_expiry=self.expiry(message), with_pin=self.settings.link_pin)
        text = notices.link_text(sender=message.originator, subject=message.subject,
                                 link=f"{self.settings.public_url}/v/{link.token}", pin=link.pin)
        number = notices.plmn_number(r.address) or r.address
        try:
            await self._check_content(message)
            ids = await self.messenger.send_text(number, text)
        except ContentLost:
            raise
        except Exception as exc:  # noqa: BLE001 - SMSC refusal or link down, store down
            if getattr(exc, "decision", "retry") == "link":
                await self._park(r, message, "link-parked", str(exc))
            else:
                await self._move(r, r.state, kind="link-failed", detail={"why": str(exc)},
                                 next_attempt_at=self.clock() + self._backoff(r.attempts + 1))
            return
        await self._move(r, S.FALLBACK_SENT, kind="fallback-sent", viewer_token=link.digest,
                         viewer_pin=link.pin_digest, viewer_expires_at=link.expires_at,
                         detail={"smsc_ids": ids, "pin": link.pin is not None},
                         next_attempt_at=self.expiry(message))
        await self.receipts.record(r, message, "link", ids)

    async def viewed(self, r: RecipientRecord, message: MessageRecord) -> None:
        """The recipient opened its web link: a delivery, like M-Acknowledge.ind. The first
        view moves a waiting recipient to ``acknowledged`` (event ``viewed``), and the report
        owed to the originator says Retrieved (MM7 DeliveryReportReq MMStatus ``Retrieved``,
        M-Delivery.ind X-Mms-Status Retrieved: TS 23.140 and OMA-MMS-ENC have no status of
        their own for a web view); later views are ``viewed-again`` events."""
        moved = await self._finish(r, message, S.ACKNOWLEDGED, kind="viewed",
                                   expected=_WAITING, detail={"via": "web"})
        if moved is None:
            await self.state.add_event(message.id, "viewed-again", now=self.clock(),
                                       recipient_id=r.id)

    async def _deliver_to_vasp(self, r: RecipientRecord, message: MessageRecord) -> None:
        """accepted → acknowledged (the VASP took it), rejected, or unreachable: an MM7
        DeliverReq with the message to the VASP that owns the short code (TS 23.140
        §8.7.3), retried with back-off."""
        number = notices.plmn_number(r.address) or r.address
        vasp_id = (await self._vasps_by_number()).get(number)
        if self.reporter is None or vasp_id is None:
            await self._finish(r, message, S.UNREACHABLE, kind="unreachable",
                               detail={"why": f"no VASP for {number}"})
            return
        content = await self.original(message)
        content.envelope.message_id = message.id
        taken, retry, detail = await self.reporter.deliver(vasp_id, content)
        attempts = r.attempts + 1
        if taken:
            await self._finish(r, message, S.ACKNOWLEDGED, kind="delivered-to-vasp",
                               detail=detail)
        elif retry and attempts <= len(self.settings.report_backoff):
            await self._move(r, r.state, kind="deliver-failed", detail=detail, attempts=attempts,
                             next_attempt_at=self.clock() + self._backoff(attempts))
        else:
            await self._finish(r, message, S.REJECTED if not retry else S.UNREACHABLE,
                               kind="vasp-refused" if not retry else "unreachable",
                               detail=detail)

    async def _finish(self, r: RecipientRecord, message: MessageRecord, to: RecipientState, *,
                      kind: str, detail: dict[str, Any] | None = None,
                      expected: Sequence[RecipientState] | None = None) -> RecipientRecord | None:
        """Into a final state, then the report to the originator: for a VASP, written to the
        report outbox in the same transaction (so a crash cannot lose it); for a handset, an
        M-Delivery.ind by WAP push."""
        status = _REPORT_STATUS.get(to)
        owed = status is not None and message.delivery_report
        outbox = ("delivery", status.label) if owed and message.interface == Interface.MM7 \
            else None
        moved = await self._move(r, to, kind=kind, detail=detail, expected=expected,
                                 next_attempt_at=None, report=outbox)
        if moved is not None and owed and outbox is None:
            await self._report(moved, message)
        if outbox is not None:
            self.wake.set()
        return moved

    async def _report(self, r: RecipientRecord, message: MessageRecord) -> None:
        """The M-Delivery.ind by WAP push to a handset originator (OMA-MMS-ENC §6.7.1)."""
        status = _REPORT_STATUS[r.state]
        number = notices.plmn_number(message.originator)
        if message.interface != Interface.MM1 or number is None:
            metrics.report("mm1", "undeliverable")
            await self.state.add_event(message.id, "report-undeliverable", now=self.clock(),
                                       recipient_id=r.id, detail={"status": status.label})
            return
        push = notices.delivery_ind(message_id=message.id, recipient=r.address, status=status,
                                    date=self.clock())
        try:
            ids = await self.messenger.send_push(number, push)
        except Exception as exc:  # noqa: BLE001
            metrics.report("mm1", "failed")
            log.warning("delivery report for %s to %s failed: %s", message.id, number, exc)
            return
        metrics.report("mm1", "sent")
        await self.receipts.record(r, message, "report", ids)
        await self.state.add_event(message.id, "report-sent", now=self.clock(),
                                   recipient_id=r.id, detail={"status": status.label,
                                                              "to": number})

    async def send_reports(self) -> int:
        """Send the reports owed to VASPs that are due, retrying with back-off."""
        if self.reporter is None:
            return 0
        due = await self.state.claim_reports(now=self.clock(), limit=self.settings.claim_batch,
                                             lease=self.settings.claim_lease)
        await asyncio.gather(*(self._send_report(report) for report in due))
        return len(due)

    async def _send_report(self, report: ReportRecord) -> None:
        assert self.reporter is not None
        try:
            sent, retry, detail = await self.reporter.send(report)
        except Exception as exc:  # noqa: BLE001 - a report must not stop the loop
            sent, retry, detail = False, True, {"why": repr(exc)}
        steps = self.settings.report_backoff
        again = None
        if not sent and retry and report.attempts < len(steps):
            again = self.clock() + steps[report.attempts]
        metrics.report("mm7", "sent" if sent else "retry" if again else "abandoned")
        await self.state.report_done(report.id or 0, now=self.clock(), sent=sent,
                                     next_attempt_at=again, detail=detail)
        if not sent:
            log.warning("report %s for %s not delivered (%s): %s", report.id, report.message_id,
                        "retried" if again else "given up", detail)

    # -- what handsets say over MM1 --------------------------------------------------------------

    async def by_content_location(self, text: str,
                                  caller: str | None = None) -> RecipientRecord | None:
        """The recipient a content location (or its token) was sent to. What a handset sent
        is checked for a token's shape before any lookup, which is by the token's digest.
        ``caller`` is the number a trusted proxy's header names: when given, the token must
        have been sent to that number (a token alone is enough only without one)."""
        token = token_from_path(text)
        if not is_token(token):
            return None
        return self._callers(await self.state.recipient_by_token(
            content_digest=token_digest(token)), caller)

    async def by_transaction(self, transaction_id: str,
                             caller: str | None = None) -> RecipientRecord | None:
        """The recipient of the notifications that carry ``transaction_id`` (what
        m-notifyresp-ind and m-acknowledge-ind echo), with ``caller`` as above. Before
        schema 5 the transaction id was the content token: such an id is found by digest."""
        if not is_token(transaction_id):
            return None
        r = await self.state.recipient_by_transaction(transaction_id) or \
            await self.state.recipient_by_token(content_digest=token_digest(transaction_id))
        return self._callers(r, caller)

    @staticmethod
    def _callers(r: RecipientRecord | None, caller: str | None) -> RecipientRecord | None:
        """``r`` when no trusted header named a caller, or when it names r's number."""
        if r is not None and caller is not None and \
                (notices.plmn_number(r.address) or r.address) != \
                (notices.plmn_number(caller) or caller):
            log.warning("%s's delivery of %s named by %s: refused", r.address,
                        r.message_id, caller)
            return None
        return r

    async def fetch(self, token: str, headers: Mapping[str, str] | None = None,
                    caller: str | None = None,
                    ) -> tuple[RecipientRecord, MessageRecord, Message] | None:
        """``GET /m/<token>``: the recipient and its message adapted for the device, or None
        when the token is unknown, the message expired, or the recipient may no longer
        fetch. The device is what the request's ``x-wap-profile`` names (from an allowed
        host), else the subscriber's configured profile, else the device class its
        ``User-Agent`` names, else what its ``Accept`` header says, else the conservative
        class (see :mod:`adaptation.uaprof`)."""
        r = await self.by_content_location(token, caller)
        if r is None or r.state not in _FETCHABLE:
            return None
        message = await self.state.get_message(r.message_id)
        if message is None or self.clock() >= self.expiry(message):
            return None
        headers = headers or {}
        profile = await self._profile(r, headers)
        content = await self.adapt(r, message, await self.original(message), profile)
        seen = {"profile": profile.name, "user_agent": headers.get("User-Agent", "")[:200],
                "octets": content.size}
        if r.state in _WAITING:
            wait = self._backoff(max(r.attempts, 1))
            await self._move(r, S.RETRIEVED, kind="fetched", expected=_WAITING, detail=seen,
                             next_attempt_at=self.clock() + wait)
        else:
            await self.state.add_event(r.message_id, "fetched-again", now=self.clock(),
                                       recipient_id=r.id, detail=seen)
        return r, message, content

    async def _profile(self, r: RecipientRecord, headers: Mapping[str, str]) -> DeviceProfile:
        fetcher = self.settings.profile_fetcher
        if fetcher is not None:
            fetched = await fetcher.profile(headers.get("x-wap-profile"),
                                            headers.get("x-wap-profile-diff"))
            if fetched is not None:
                return fetched
        return (await self._configured_profile(r)
                or from_user_agent(headers.get("User-Agent") or "", self.settings.profiles)
                or from_accept_header(headers.get("Accept") or ""))

    async def _configured_profile(self, r: RecipientRecord) -> DeviceProfile | None:
        """The device profile configured for the recipient's subscriber, if any."""
        number = notices.plmn_number(r.address)
        subscriber = await self._subscribers.get(number, self.state.get_subscriber) \
            if number else None
        if subscriber is None or subscriber.device_profile is None:
            return None
        return self.settings.profiles.get(subscriber.device_profile)

    async def adapt(self, r: RecipientRecord, record: MessageRecord, content: Message,
                    profile: DeviceProfile) -> Message:
        """The content as a device of ``profile`` can take it, its SMIL showing every part
        (:meth:`Message.with_every_part_shown`). Made once per device profile
        and message (adaptation/plan.py, in a worker thread), kept in the object store at
        ``messages/<id>/adapted/<profile-key>.mime`` and reused; concurrent first fetches
        for the same profile wait for one adaptation. What was changed goes into the
        message's events."""
        content = content.with_every_part_shown()
        digest = hashlib.sha256(repr(profile).encode()).hexdigest()[:16]
        key = message_key(record.id, f"adapted/{safe_name(profile.name)}-{digest}.mime")
        lock, users = self._adapting.get(key, (asyncio.Lock(), 0))
        self._adapting[key] = (lock, users + 1)
        try:
            async with lock:
                if await self.objects.exists(key):
                    cached = await offload.decode(await self.objects.get(key))
                    return replace(content, parts=cached.parts)
                adapted = await self._adapted_parts(r, record, content, profile)
                if adapted is None:
                    return content
                await self.objects.put(key, await offload.encode(
                    replace(content, parts=adapted)))
                return replace(content, parts=adapted)
        finally:
            lock, users = self._adapting[key]
            if users == 1:
                del self._adapting[key]
            else:
                self._adapting[key] = (lock, users - 1)

    async def _adapted_parts(self, r: RecipientRecord, record: MessageRecord, content: Message,
                             profile: DeviceProfile) -> list[MessagePart] | None:
        """The adapted parts with the SMIL rewritten, or None when nothing had to change."""
        parts = [MediaPart(p.content_type, p.data, p.content_id, p.content_location, p.charset)
                 for p in content.parts]
        async with self._adaptation_slots:  # a bounded pool: ffmpeg and Pillow are heavy
            result = await asyncio.to_thread(plan, parts, profile, self.settings.ffmpeg)
        metrics.adapted(result.timings)
        if not result.report:
            return None
        adapted = [MessagePart(p.content_type, p.data, charset=p.charset,
                               content_id=p.content_id, content_location=p.content_location)
                   for p in result.parts]
        smil = content.smil
        if smil is not None and result.renames:
            index = content.parts.index(smil)
            try:
                adapted[index].data = rewrite_references(
                    smil.data, result.renames, parts=content.parts, kinds=result.kinds)
            except SmilError as exc:  # passed on as it came, and said so
                result.report.append(f"SMIL not rewritten ({exc}): it may name parts that "
                                     "were renamed or removed")
        await self.state.add_event(record.id, "adapted", now=self.clock(), recipient_id=r.id,
                                   detail={"profile": profile.name, "report": result.report})
        return adapted

    async def notify_response(self, transaction_id: str, status: Status | int,
                              caller: str | None = None) -> bool:
        """M-NotifyResp.ind (OMA-MMS-ENC §6.3): Retrieved confirms, Deferred postpones,
        Rejected and Unrecognised end the delivery. False when the transaction is unknown or
        belongs to another number than ``caller``."""
        r = await self.by_transaction(transaction_id, caller)
        if r is None:
            return False
        message = await self.state.get_message(r.message_id)
        if message is None:
            return False
        waiting = _WAITING
        if status == Status.RETRIEVED:
            await self._finish(r, message, S.ACKNOWLEDGED, kind="acknowledged", expected=waiting)
        elif status == Status.DEFERRED:
            await self._move(r, S.DEFERRED, kind="deferred",
                             expected=(S.ACCEPTED, S.ADAPTED, S.NOTIFIED, S.RETRIEVED),
                             next_attempt_at=self.expiry(message))
        elif status in (Status.REJECTED, Status.UNRECOGNISED):
            label = Status(status).label.lower()
            await self._finish(r, message, S.REJECTED, kind=label, expected=waiting,
                               detail={"status": label})
        else:
            await self.state.add_event(r.message_id, "notifyresp", now=self.clock(),
                                       recipient_id=r.id, detail={"status": int(status)})
        return True

    async def acknowledge(self, transaction_id: str, caller: str | None = None) -> bool:
        """M-Acknowledge.ind (OMA-MMS-ENC §6.4): the deferred retrieval is complete."""
        r = await self.by_transaction(transaction_id, caller)
        message = await self.state.get_message(r.message_id) if r else None
        if r is None or message is None:
            return False
        await self._finish(r, message, S.ACKNOWLEDGED, kind="acknowledged", expected=_WAITING)
        return True

    async def read_report(self, message_id: str, reader: str, status: ReadStatus | int) -> bool:
        """M-Read-Rec.ind (OMA-MMS-ENC §6.7.2) from a recipient: an M-Read-Orig.ind by WAP
        push to a handset originator that asked for read reports."""
        message = await self.state.get_message(message_id)
        if message is None:
            return False
        recipients = {notices.plmn_number(r.address) or r.address: r
                      for r in await self.state.recipients_of(message_id)}
        r = recipients.get(notices.plmn_number(reader) or reader)
        if r is None:
            return False
        await self.state.add_event(message_id, "read-report", now=self.clock(),
                                   recipient_id=r.id, detail={"status": int(status)})
        if message.read_report and message.interface == Interface.MM7:
            label = "Read" if status == ReadStatus.READ else "Deleted"
            await self.state.queue_report(message_id, r.id, "read", label, now=self.clock())
            self.wake.set()
            return True
        number = notices.plmn_number(message.originator)
        if message.read_report and number is not None and message.interface == Interface.MM1:
            push = notices.read_orig_ind(message_id=message_id, recipient=r.address,
                                         originator=message.originator,
                                         status=ReadStatus(status), date=self.clock())
            await self.receipts.record(r, message, "report",
                                       await self.messenger.send_push(number, push))
        return True

    async def forward(self, content_location: str, forwarder: str,
                      message: Message) -> Accepted | None:
        """M-Forward.req (OMA-MMS-ENC §6.5.1): the content a recipient was notified of,
        sent on to new recipients with ``message``'s envelope. None when the forwarder is not
        a recipient of that content, or it has expired or is lost."""
        r = await self.by_content_location(content_location, forwarder)
        if r is None:
            return None
        original = await self.state.get_message(r.message_id)
        if original is None or self.clock() >= self.expiry(original):
            return None
        try:
            content = await self.original(original)
        except ContentLost:
            return None
        content.envelope = message.envelope
        done = await self.submit(content, Interface.MM1)
        await self.state.add_event(r.message_id, "forwarded-by-recipient", now=self.clock(),
                                   recipient_id=r.id, detail={"as": done.message_id})
        return done

    # -- what VASPs ask over MM7 -----------------------------------------------------------------

    async def _own_message(self, message_id: str, vasp_id: str) -> MessageRecord | None:
        message = await self.state.get_message(message_id)
        if message is None or message.vasp_id != vasp_id:
            return None
        return message

    async def cancel(self, message_id: str, vasp_id: str | None) -> int | None:
        """CancelReq (TS 23.140 §8.7.5), or an operator's cancel (``vasp_id`` None): stop
        delivery to the recipients that have not retrieved the message yet (they end
        ``rejected``, event ``cancelled``, no report). Returns how many were stopped, or None
        for a message this VASP did not send (or, for an operator, that does not exist)."""
        found = await self._own_message(message_id, vasp_id) if vasp_id is not None else \
            await self.state.get_message(message_id)
        if found is None:
            return None
        stopped = 0
        for r in await self.state.recipients_of(message_id):
            if r.state in _NOT_YET_RETRIEVED and await self._move(
                    r, S.REJECTED, kind="cancelled", expected=_NOT_YET_RETRIEVED,
                    next_attempt_at=None) is not None:
                stopped += 1
        return stopped

    async def renotify(self, message_id: str, recipient_id: int) -> bool | None:
        """An operator asks for a new notification now (a handset that lost the push, or
        deferred): a recipient of a local MMS handset that has not confirmed yet becomes due
        at once (a deferred one is waiting for a notification again), event
        ``renotify-requested``; the scheduler then notifies it, with back-off as usual. None
        for an unknown recipient, False when it is in no state to be notified."""
        r = await self.state.get_recipient(recipient_id)
        if r is None or r.message_id != message_id:
            return None
        waiting = (S.ACCEPTED, S.ADAPTED, S.NOTIFIED, S.DEFERRED, S.RETRIEVED)
        if r.route != Route.MMS or r.state not in waiting:
            return False
        moved = await self._move(r, S.NOTIFIED if r.state == S.DEFERRED else r.state,
                                 kind="renotify-requested", next_attempt_at=self.clock())
        self.wake.set()
        return moved is not None

    async def replace(self, message_id: str, vasp_id: str, content: Message) -> bool | None:
        """ReplaceReq (TS 23.140 §8.7.6): new content for the recipients that fetch from now
        on (the envelope stays). None for a message this VASP did not send or whose content is
        lost; False when every recipient has retrieved it already."""
        record = await self._own_message(message_id, vasp_id)
        if record is None:
            return None
        recipients = await self.state.recipients_of(message_id)
        if not any(r.state in _NOT_YET_RETRIEVED for r in recipients):
            return False
        try:
            stored = await self.original(record)
        except ContentLost:
            return None
        stored.parts, stored.multipart, stored.start = (content.parts, content.multipart,
                                                        content.start)
        await self.objects.put(record.object_key, await offload.encode(stored))
        await self.state.add_event(message_id, "replaced", now=self.clock(),
                                   detail={"parts": len(content.parts), "octets": content.size})
        return True
