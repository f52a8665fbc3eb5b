"""Accepting a message durably: the first step of store-and-forward (ARCHITECTURE.md).

Order of writes: the MIME original goes to the object store first, then the message row,
its recipient rows and the ``accepted`` events go to the state store in one transaction.
The commit of that transaction is the moment of acceptance; only after it may an interface
answer the sender (SubmitRsp, M-Send.conf, SMTP 250). A crash before the commit leaves at
most an object with no row: :func:`recover` removes such orphans once they are older than
any accept still in flight could be.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from mmsc.ids import message_id_time, new_message_id, new_token
from mmsc.message import Message, TimeSpec
from mmsc.state import (
    DuplicateMessage, Interface, MessageRecord, RecipientRecord, RecipientState, Route, StateStore,
    StateUnavailable,
)
from mmsc.store import ObjectStore, message_key, message_prefix

from . import offload

log = logging.getLogger(__name__)

#: The object that holds a message as accepted (ARCHITECTURE.md, "Data at rest").
ORIGINAL = "original.mime"
#: How old an object without a row must be before recovery deletes it: longer than any
#: accept can take between its object write and its commit.
ORPHAN_GRACE = 600.0


class AcceptError(ValueError):
    """The message cannot be accepted as it is (the interface maps it to its own status)."""


@dataclass(frozen=True)
class Accepted:
    """The outcome of :func:`accept`. ``duplicate`` is True when the same VASP sent the same
    TransactionID before: ``message_id`` is then the first message's id (TS 23.140 §8.7)."""

    message_id: str
    recipients: tuple[RecipientRecord, ...]
    duplicate: bool = False


async def accept(message: Message, *, objects: ObjectStore, state: StateStore,
                 interface: Interface, route: Callable[[str], Route], now: float,
                 vasp_id: str | None = None, mm7_namespace: str | None = None,
                 mm7_version: str | None = None, mm4_message_id: str | None = None,
                 mm4_reply_to: str | None = None) -> Accepted:
    """Store ``message`` and its recipients durably and return its id.

    ``route`` decides each recipient's route (the routing rules live in the engine);
    ``now`` is the acceptance time in unix seconds; an MM7 submit gives its namespace and
    version, in which the VASP's reports will be written; an MM4 forward the originating
    MMSC's message id and the address its reports go to. Raises :class:`AcceptError` for a
    message with no recipient; store errors propagate for the interface to answer
    "retry later", and leave nothing visible behind.
    """
    env = message.envelope
    addresses = _recipients(message)
    if not addresses:
        raise AcceptError("the message has no recipient")
    message_id = new_message_id(now)
    message = replace(message, envelope=replace(env, message_id=message_id))
    key = message_key(message_id, ORIGINAL)
    data = await offload.encode(message)
    await objects.put(key, data)
    record = MessageRecord(
        id=message_id, interface=interface, originator=env.originator or "", object_key=key,
        size=message.size, created_at=now,
        subject=str(env.subject) if env.subject is not None else None, message_class=env.message_class,
        priority=env.priority, date=env.date.timestamp() if env.date else now,
        expiry_at=_at(env.expiry, now), earliest_delivery_at=_at(env.earliest_delivery, now),
        delivery_report=bool(env.delivery_report), read_report=bool(env.read_report),
        vasp_id=vasp_id, transaction_id=env.transaction_id, linked_id=env.linked_id,
        service_code=env.service_code, content_type=f"multipart/{message.multipart}",
        mm7_namespace=mm7_namespace, mm7_version=mm7_version, mm4_message_id=mm4_message_id,
        mm4_reply_to=mm4_reply_to)
    due = record.earliest_delivery_at or now
    routes = {address: route(address) for address, _kind in addresses}
    rows = [RecipientRecord(id=None, message_id=message_id, address=address, kind=kind,
                            route=routes[address], state=RecipientState.ACCEPTED,
                            next_attempt_at=due, updated_at=now,
                            transaction_id=new_token() if routes[address] == Route.MMS
                            else None)
            for address, kind in addresses]
    try:
        stored = await state.accept_message(record, rows, {"octets": len(data)})
    except DuplicateMessage as dup:
        await _discard(objects, message_id)
        return Accepted(dup.message_id, tuple(await state.recipients_of(dup.message_id)),
                        duplicate=True)
    except BaseException as exc:
        if not (isinstance(exc, StateUnavailable) and exc.uncertain):
            await _discard(objects, message_id)
        # else: the database went away while committing, the rows may be there: the object
        # stays; recovery removes it later when they are not
        raise
    log.info("accepted %s from %s over %s: %d recipient(s), %d octets", message_id,
             env.originator, interface.value, len(stored), len(data))
    return Accepted(message_id, tuple(stored))


def _recipients(message: Message) -> list[tuple[str, str]]:
    """(address, kind) for To, Cc and Bcc, each address once, in order."""
    seen: set[str] = set()
    found = []
    env = message.envelope
    for kind, addresses in (("to", env.to), ("cc", env.cc), ("bcc", env.bcc)):
        for address in addresses:
            text = str(address).strip()
            if text and text not in seen:
                seen.add(text)
                found.append((text, kind))
    return found


def _at(value: TimeSpec | None, now: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return now + value.total_seconds()
    assert isinstance(value, datetime)
    return value.timestamp()


async def _discard(objects: ObjectStore, message_id: str) -> None:
    """Best effort: a failed delete leaves an orphan that :func:`recover` removes later."""
    try:
        for key in await objects.list(message_prefix(message_id)):
            await objects.delete(key)
    except Exception:  # noqa: BLE001 - the original error matters more than this one
        log.warning("could not remove the objects of unaccepted message %s", message_id,
                    exc_info=True)


@dataclass(frozen=True)
class Recovery:
    """What :func:`recover` cleaned: leftover temporary files and orphan messages."""

    temporary_files: int
    orphans: tuple[str, ...]


async def recover(objects: ObjectStore, state: StateStore, *, now: float,
                  grace: float = ORPHAN_GRACE) -> Recovery:
    """Clean what a crash can leave: temporary files of interrupted writes, and objects of
    messages that were never committed, once older than ``grace`` seconds (an accept
    in flight on another node may still commit a younger one)."""
    temporary = await objects.sweep_temporary()
    known = set(await state.list_message_ids())
    orphans = []
    for message_id in sorted({key.split("/")[1] for key in await objects.list("messages/")}):
        made = message_id_time(message_id)
        if message_id in known or (made is not None and made > now - grace):
            continue
        await _discard(objects, message_id)
        orphans.append(message_id)
    if temporary or orphans:
        log.warning("recovery removed %d temporary file(s) and %d orphan message(s)",
                    temporary, len(orphans))
    return Recovery(temporary, tuple(orphans))
