"""What an operator asks of the MMSC (the JSON API and the web console, ``mmsc.operator``):
find messages, see one whole (envelope, parts, recipients, the event timeline, the adapted
variants, the PDUs a recipient got), cancel, notify again, and count. Every answer is plain
JSON-ready data; the interfaces only carry it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mmsc.pdu import decode
from mmsc.pdu.jsonform import to_json
from mmsc.state import Event, MessageRecord, RecipientRecord, RecipientState
from mmsc.store import message_prefix
from wap_push.push import decode_push

from . import notices, offload
from .engine import Engine, safe_name

#: What a MessageID looks like (mmsc's own are hex; others may come from elsewhere).
_MESSAGE_ID = re.compile(r"[A-Za-z0-9._@-]{8,100}")
#: A number as an operator types it: digits, an optional leading +, spaces or dashes.
_NUMBER = re.compile(r"\+?[0-9][0-9 .-]{2,30}")
#: The token of a content location is never kept (only its digest): the PDU shows this.
TOKEN_NOT_KEPT = "<token>"


class NotFound(LookupError):
    """No such message or recipient."""


class Conflict(ValueError):
    """The action does not apply to the message or recipient as it is now."""


def addresses(text: str) -> list[str]:
    """The stored forms a number or an address typed by an operator may take: with and
    without its ``+`` (a query string's ``+`` arrives as a space), with and without
    ``/TYPE=PLMN``."""
    text = text.strip()
    number = notices.plmn_number(text) or (re.sub(r"[ .-]", "", text)
                                           if _NUMBER.fullmatch(text) else None)
    if number is None:
        return [text]
    bare = number.lstrip("+")
    return [form for n in (f"+{bare}", bare) for form in (n, notices.mms_address(n))]


def _message(m: MessageRecord) -> dict[str, Any]:
    return {"id": m.id, "interface": m.interface.value, "originator": m.originator,
            "subject": m.subject, "created_at": m.created_at, "size": m.size,
            "vasp_id": m.vasp_id, "message_class": m.message_class, "priority": m.priority,
            "expiry_at": m.expiry_at, "delivery_report": m.delivery_report,
            "read_report": m.read_report, "transaction_id": m.transaction_id,
            "service_code": m.service_code, "content_type": m.content_type}


def _recipient(r: RecipientRecord, refetched: tuple[int, float] | None) -> dict[str, Any]:
    """A recipient row, with how often it fetched its copy again after the first fetch (and
    when it last did; counted, not in the timeline: see ``Retrieval.fetch``)."""
    again, last = refetched or (0, None)
    return {"id": r.id, "address": r.address, "kind": r.kind, "route": r.route.value,
            "state": r.state.value, "final": r.state.final, "attempts": r.attempts,
            "next_attempt_at": r.next_attempt_at, "updated_at": r.updated_at,
            "device_profile": r.device_profile, "fetched_again": again,
            "last_fetched_again_at": last}


def _event(e: Event, who: dict[int, str]) -> dict[str, Any]:
    return {"id": e.id, "at": e.at, "kind": e.kind, "recipient_id": e.recipient_id,
            "recipient": who.get(e.recipient_id or 0), "detail": e.detail}


@dataclass
class Operations:
    """The operator's view of one engine."""

    engine: Engine

    async def search(self, *, msisdn: str | None = None, vasp: str | None = None,
                     state: RecipientState | None = None, since: float | None = None,
                     limit: int = 50) -> list[dict[str, Any]]:
        """Messages newest first, each with its recipients' states."""
        found = await self.engine.state.search_messages(
            addresses=addresses(msisdn) if msisdn else (), vasp_id=vasp, state=state,
            since=since, limit=limit)
        return [await self._summary(m) for m in found]

    async def find(self, text: str, limit: int = 50) -> list[dict[str, Any]]:
        """The console's search box: a MessageID, a VASP's id, or a number (in that order of
        trying); empty: the newest messages."""
        text = text.strip()
        if not text:
            return await self.search(limit=limit)
        message = await self.engine.state.get_message(text) \
            if _MESSAGE_ID.fullmatch(text) else None
        if message is not None:
            return [await self._summary(message)]
        if await self.engine.state.get_vasp(text) is not None:
            return await self.search(vasp=text, limit=limit)
        return await self.search(msisdn=text, limit=limit)

    async def _summary(self, m: MessageRecord) -> dict[str, Any]:
        """A message with its recipients' states."""
        recipients = await self.engine.state.recipients_of(m.id)
        return {**_message(m), "recipients": [{"address": r.address, "state": r.state.value}
                                               for r in recipients]}

    async def message(self, message_id: str) -> dict[str, Any]:
        """Everything about one message; NotFound. The parts are read from the object store
        (a store error goes up: the interface answers 503)."""
        m = await self.engine.state.get_message(message_id)
        if m is None:
            raise NotFound(message_id)
        recipients = await self.engine.state.recipients_of(message_id)
        events = await self.engine.state.events_of(message_id)
        refetched = await self.engine.state.refetches(message_id)
        who = {r.id or 0: r.address for r in recipients}
        content = await self.engine.original(m)
        variants = await self.engine.objects.list(f"{message_prefix(message_id)}adapted/")
        return {
            "message": _message(m),
            "parts": [{"index": i, "content_type": p.content_type, "size": len(p.data),
                       "content_id": p.content_id, "content_location": p.content_location,
                       "charset": p.charset} for i, p in enumerate(content.parts)],
            "recipients": [_recipient(r, refetched.get(r.id or 0)) for r in recipients],
            "events": [_event(e, who) for e in events],
            "adapted": [{"key": key, "profile": key.rsplit("/", 1)[-1].rsplit("-", 1)[0],
                         "notes": [note for e in events if e.kind == "adapted"
                                   and safe_name(e.detail.get("profile", "")) ==
                                   key.rsplit("/", 1)[-1].rsplit("-", 1)[0]
                                   for note in e.detail.get("report", [])]}
                        for key in variants],
        }

    async def recipient(self, message_id: str, which: str) -> RecipientRecord:
        """A recipient of a message by its id or its address (a number in any form);
        NotFound."""
        recipients = await self.engine.state.recipients_of(message_id)
        forms = set(addresses(which))
        for r in recipients:
            if str(r.id) == which or r.address in forms or r.address == which:
                return r
        raise NotFound(f"{message_id} {which}")

    async def pdus(self, message_id: str, which: str) -> dict[str, Any]:
        """The M-Notification.ind and the M-Retrieve.conf a recipient got (the last ones),
        as ``mmsc decode --json`` shows them; None for one it did not get. The token of the
        content location is not kept: it reads ``<token>``."""
        m = await self.engine.state.get_message(message_id)
        if m is None:
            raise NotFound(message_id)
        r = await self.recipient(message_id, which)
        own = [e for e in await self.engine.state.events_of(message_id) if e.recipient_id == r.id]
        notified = [e for e in own if e.kind == "notified"]
        fetched = [e for e in own if e.kind in ("fetched", "fetched-again")]  # -again: before V9
        notification = retrieve = None
        if notified and r.transaction_id:
            push = notices.notification(
                transaction_id=r.transaction_id,
                content_location=f"{self.engine.settings.public_url}/m/{TOKEN_NOT_KEPT}",
                size=notified[-1].detail.get("size", m.size), expiry=self.engine.expiry(m),
                message_class=m.message_class, subject=m.subject, sender=m.originator or None)
            notification = to_json(decode(decode_push(push).data))
        if fetched:
            content = await self._as_fetched(m, fetched[-1].detail.get("profile"))
            retrieve = to_json(notices.retrieve_conf(
                transaction_id=r.transaction_id, message_id=m.id, created_at=m.created_at,
                content=content))
        refetched = (await self.engine.state.refetches(message_id)).get(r.id or 0)
        return {"recipient": _recipient(r, refetched), "notification": notification,
                "retrieve_conf": retrieve}

    async def _as_fetched(self, m: MessageRecord, profile: str | None) -> Any:
        """The content as the recipient retrieved it: the variant adapted for its device
        profile when one was made, else the original with every part shown."""
        original = (await self.engine.original(m)).with_every_part_shown()
        if profile:
            prefix = f"{message_prefix(m.id)}adapted/{safe_name(profile)}-"
            for key in await self.engine.objects.list(f"{message_prefix(m.id)}adapted/"):
                if key.startswith(prefix):
                    return await offload.decode(await self.engine.objects.get(key))
        return original

    async def cancel(self, message_id: str) -> int:
        """Stop the recipients that have not retrieved it; NotFound; Conflict when every one
        has retrieved it (or ended) already."""
        stopped = await self.engine.cancel(message_id, None)
        if stopped is None:
            raise NotFound(message_id)
        if stopped == 0:
            raise Conflict("every recipient has retrieved the message or ended already")
        return stopped

    async def renotify(self, message_id: str, which: str) -> None:
        """Notify a recipient again now; NotFound; Conflict when it is in no state for it."""
        r = await self.recipient(message_id, which)
        done = await self.engine.renotify(message_id, r.id or 0)
        if done is None:
            raise NotFound(f"{message_id} {which}")
        if not done:
            raise Conflict(f"{r.address} is {r.state.value} ({r.route.value}): nothing to "
                           "notify again")

    async def stats(self, since: float, until: float) -> dict[str, Any]:
        counts = await self.engine.state.state_counts(since=since, until=until)
        states: dict[str, int] = {}
        for per_state in counts["recipients"].values():
            for state, count in per_state.items():
                states[state] = states.get(state, 0) + count
        return {"since": since, "until": until, "messages": counts["messages"],
                "recipients": states, "by_interface": counts["recipients"]}
