"""Emulated handsets: virtual phones attached to the SMSC emulator that behave like MMS clients.

Each receives the SMS addressed to its number, decodes a WAP push, fetches the content over
real HTTP (MM1) with its number in the WAP-gateway header, answers, and keeps an inbox.
Behaviours: ``auto`` (fetch, then M-NotifyResp.ind Retrieved), ``defer`` (M-NotifyResp.ind
Deferred; :meth:`EmulatedHandset.fetch_deferred` fetches later and acknowledges), ``never-ack``
(fetches, never answers: the most reported real-world failure), ``offline`` (receives
nothing), ``legacy`` (no MMS: only text SMS). Like real MMS clients, a handset does not fetch
again for a transaction it already retrieved: it only repeats its answer.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field

import aiohttp

from wap_push.push import decode_push
from wap_push.smsc import ReceivedSms, SmscEmulator
from wap_push.sms import WAP_PUSH_PORT
from wap_push.wsp import WspDecodeError

from mmsc.message import Message
from mmsc.mms_body import from_pdu, to_pdu
from mmsc.pdu import MessageType, MmsPdu, PduDecodeError, Status, decode, encode

log = logging.getLogger(__name__)
MMS_TYPE = "application/vnd.wap.mms-message"


@dataclass
class EmulatedHandset:
    """One virtual phone. ``inbox`` holds every message it retrieved, in order."""

    msisdn: str
    behaviour: str
    mmsc_url: str
    msisdn_header: str = "X-MSISDN"
    inbox: list[Message] = field(default_factory=list)
    notifications: list[MmsPdu] = field(default_factory=list)
    reports: list[MmsPdu] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: The SMSC it is attached to (set by :class:`HandsetNetwork`), for :meth:`send_sms`.
    smsc: SmscEmulator | None = None
    _done: set[str] = field(default_factory=set)
    _deferred: list[MmsPdu] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def headers(self) -> dict[str, str]:
        return {self.msisdn_header: self.msisdn}

    async def receive(self, sms: ReceivedSms, http: aiohttp.ClientSession) -> None:
        """Handle one complete SMS addressed to this phone."""
        if self.behaviour == "offline":
            return
        if sms.ports is None or sms.ports[0] != WAP_PUSH_PORT:
            self.texts.append(sms.text or "")
            log.info("%s got a text SMS: %s", self.msisdn, sms.text)
        elif self.behaviour != "legacy":
            try:
                await self._push(bytes(sms.payload), http)
            except (WspDecodeError, PduDecodeError, aiohttp.ClientError, OSError) as exc:
                self.errors.append(str(exc))
                log.warning("%s could not handle a push: %s", self.msisdn, exc)
        async with self._changed:
            self._changed.notify_all()

    async def _push(self, data: bytes, http: aiohttp.ClientSession) -> None:
        pdu = decode(decode_push(data).data)
        if pdu.message_type in (MessageType.DELIVERY_IND, MessageType.READ_ORIG_IND):
            self.reports.append(pdu)
            log.info("%s got %s for %s: %s", self.msisdn, pdu.message_type.label,
                     pdu.message_id, getattr(pdu.status or pdu.read_status, "label", ""))
            return
        if pdu.message_type != MessageType.NOTIFICATION_IND or not pdu.content_location:
            return
        self.notifications.append(pdu)
        tid = pdu.transaction_id or ""
        if tid in self._done:  # a repeated notification for a message already here: say so
            if self.behaviour == "auto":  # again (the first answer may have been lost)
                await self._post(MmsPdu(MessageType.NOTIFYRESP_IND, transaction_id=tid,
                                        status=Status.RETRIEVED), http)
            return
        if self.behaviour == "defer":
            self._deferred.append(pdu)
            await self._post(MmsPdu(MessageType.NOTIFYRESP_IND, transaction_id=tid,
                                    status=Status.DEFERRED), http)
            return
        if not await self._fetch(pdu.content_location, http):
            return
        self._done.add(tid)
        if self.behaviour == "auto":
            await self._post(MmsPdu(MessageType.NOTIFYRESP_IND, transaction_id=tid,
                                    status=Status.RETRIEVED), http)

    async def _fetch(self, location: str, http: aiohttp.ClientSession) -> bool:
        async with http.get(location, headers=self.headers) as response:
            body = await response.read()
        conf = decode(body)
        if conf.retrieve_status not in (None, 128):
            self.errors.append(f"retrieve status {conf.retrieve_status}")
            return False
        message = from_pdu(conf)
        message.envelope.message_id = conf.message_id
        self.inbox.append(message)
        log.info("%s retrieved %s from %s: %d part(s)", self.msisdn, conf.message_id,
                 message.envelope.originator, len(message.parts))
        return True

    async def _post(self, pdu: MmsPdu, http: aiohttp.ClientSession) -> bytes:
        async with http.post(f"{self.mmsc_url}/mms", data=encode(pdu),
                             headers={**self.headers, "Content-Type": MMS_TYPE}) as response:
            return await response.read()

    async def fetch_deferred(self, http: aiohttp.ClientSession) -> int:
        """Fetch what was deferred, acknowledging each (M-Acknowledge.ind)."""
        count = 0
        while self._deferred:
            pdu = self._deferred.pop(0)
            if await self._fetch(pdu.content_location or "", http):
                self._done.add(pdu.transaction_id or "")
                await self._post(MmsPdu(MessageType.ACKNOWLEDGE_IND,
                                        transaction_id=pdu.transaction_id), http)
                count += 1
        return count

    async def send(self, message: Message, http: aiohttp.ClientSession) -> MmsPdu:
        """Send an MMS (m-send-req over MM1) and return the m-send-conf."""
        pdu = to_pdu(message)
        pdu.transaction_id = pdu.transaction_id or f"{self.msisdn[-4:]}-{id(message) % 10**6}"
        return decode(await self._post(pdu, http))

    async def send_sms(self, to: str, text: str) -> list[int]:
        """Send a text SMS (to a short code, say) through the SMSC: the statuses mmsc
        answered to its segments' deliver_sm."""
        if self.smsc is None:
            raise RuntimeError(f"{self.msisdn} is not attached to an SMSC")
        log.info("%s sends an SMS to %s: %s", self.msisdn, to, text)
        return await self.smsc.send_mo(self.msisdn, to, text)

    async def wait_for(self, predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
        """Wait until ``predicate(self)`` holds (for tests and the demo)."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: predicate(self)), timeout)


class HandsetNetwork:
    """The emulated handsets of an SMSC emulator (and of more, :meth:`listen`): routes each
    SMS to its phone, whichever SMSC it came through."""

    def __init__(self, smsc: SmscEmulator, handsets: list[EmulatedHandset]) -> None:
        self.handsets = {h.msisdn: h for h in handsets}
        for handset in handsets:
            handset.smsc = smsc
        self.http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self._tasks: set[asyncio.Task] = set()
        self.listen(smsc)

    def listen(self, smsc: SmscEmulator) -> None:
        """Take the SMS of one more SMSC emulator too (several routes, as in the demo)."""
        smsc.subscribe(self._deliver)

    def _deliver(self, sms: ReceivedSms) -> None:
        handset = self.handsets.get(sms.destination)
        if handset is None:
            return
        task = asyncio.get_running_loop().create_task(handset.receive(sms, self.http))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.http.close()


def describe_sms(sms: ReceivedSms) -> str:
    """One line for an SMS the emulator received; a WAP push shows the MMS notification
    inside it."""
    head = f"{sms.system_id or '-'} {sms.source} -> {sms.destination}"
    if sms.ports and sms.ports[0] == WAP_PUSH_PORT:
        try:
            push = decode_push(sms.payload)
            pdu = decode(bytes(push.data)) if push.is_mms else None
        except WspDecodeError as exc:
            return f"{head} push, undecodable: {exc}"
        if pdu is None:
            return f"{head} push {push.content_type.media_type}, {len(push.data)} octets"
        fields = [MessageType(pdu.message_type).label, f"tid={pdu.transaction_id}"]
        fields += [f"from={pdu.sender}"] if isinstance(pdu.sender, str) else []
        fields += [f"subject={pdu.subject}"] if pdu.subject is not None else []
        fields += [f"size={pdu.message_size}", f"url={pdu.content_location}"]
        return f"{head} push {' '.join(fields)}"
    if sms.text is not None:
        return f"{head} text {json.dumps(sms.text, ensure_ascii=False)}"
    return f"{head} binary {len(sms.payload)} octets {sms.payload[:32].hex()}"
