"""An SMSC emulator: an asyncio SMPP 3.4 server for tests and for `make run`.

It binds ESMEs (transmitter, receiver, transceiver) with credentials, answers submit_sm with
message ids, sends delivery receipts as deliver_sm when asked, answers enquire_link and
unbind, and answers every malformed or unknown PDU with the right status instead of dying.
Concatenated segments (UDH or SAR TLVs) are reassembled, and each complete SMS goes to the
subscribers: that is how emulated handsets receive their pushes.

Fault injection for tests and demos, each switchable while it runs: ``latency`` before
each submit_sm_resp (an SMSC that answers slowly), a ``reject_rate`` of submits refused with
``reject_status``, a ``throttle`` in submits per second above which ESME_RTHROTTLED is
returned (0: every submit), ``drop_after`` PDUs after which the link is cut, and
``failing`` (an SMSC that is down behind an open port: every bind is cut at once and new
ones are refused with ESME_RBINDFAIL until it is set back to False).

Handsets' SMS (mobile originated): :meth:`SmscEmulator.send_mo` sends a text to a receiving
bind as deliver_sm, in one SMS or in segments (UDH with an 8- or 16-bit reference, or SAR
TLVs), and :meth:`SmscEmulator.deliver` sends any deliver_sm (broken ones for tests); both
return the statuses the ESME answered.

Receipts: in one of :data:`RECEIPT_STYLES`, to the submitting bind or (``spread_receipts``,
as SMSCs that hand an account's receipts to any of its binds) to another bind of the same
account; a number in ``undeliverable`` gets nothing and its SMS are receipted UNDELIV.
Addresses arrive as the ESME writes them (TON and NPI) and are kept as mmsc writes them:
``+33600000001`` for TON 1 ``33600000001``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Collection, Coroutine

from .smpp import (
    COMMAND_NAMES, ESM_DELIVERY_RECEIPT, ESM_UDHI, ESME_ROK, RECEIPT_STATES, RESPONSE_BIT,
    STATUS_CODES, TLV_MESSAGE_PAYLOAD, TLV_MESSAGE_STATE, TLV_RECEIPTED_MESSAGE_ID,
    TLV_SAR_MSG_REF_NUM, TLV_SAR_SEGMENT_SEQNUM, TLV_SAR_TOTAL_SEGMENTS, Framer, Pdu, Receipt,
    SmppAddress, SmppError, decode_pdu, encode_pdu, format_receipt, from_smpp_address,
    to_smpp_address,
)
from .sms import (
    DCS_GSM7, DCS_UCS2, IEI_CONCAT_16, Reassembler, UserDataHeader, encode_text, gsm7_septets,
    gsm7_text, split_user_data_header,
)

log = logging.getLogger(__name__)

_TEXT_CODINGS = {DCS_GSM7: "gsm7", 0x01: "ascii", 0x03: "latin-1", DCS_UCS2: "utf-16-be"}
_BIND_MODES = {"bind_transmitter": "tx", "bind_receiver": "rx", "bind_transceiver": "trx"}
#: How :meth:`SmscEmulator.send_mo` splits a long text: UDH with an 8-bit or a 16-bit
#: reference (TS 23.040 §9.2.3.24.1, .8), or the SAR TLVs (SMPP 3.4 §5.3.2.22-24).
MO_CONCATENATION = ("udh8", "udh16", "sar")
#: How receipts are written: the Appendix B text with the receipted_message_id and
#: message_state TLVs, the TLVs alone (no text), or a bare ``id:... stat:...`` text.
RECEIPT_STYLES = ("standard", "tlv", "minimal")


@dataclass
class ReceivedSms:
    """One complete SMS as the emulator received it (segments already joined)."""

    system_id: str
    source: str
    destination: str
    data_coding: int
    payload: bytes
    udh: UserDataHeader | None = None
    message_ids: list[str] = field(default_factory=list)
    #: The addresses as they came: TON, NPI and address field.
    source_smpp: SmppAddress | None = None
    destination_smpp: SmppAddress | None = None
    at: float = 0.0  # loop time the last segment came

    @property
    def ports(self) -> tuple[int, int] | None:
        return self.udh.ports if self.udh else None

    @property
    def text(self) -> str | None:
        """The text of a text SMS (SMPP carries GSM 7-bit unpacked, a septet an octet)."""
        codec = _TEXT_CODINGS.get(self.data_coding)
        if codec is None:
            return None
        if codec == "gsm7":
            return gsm7_text(self.payload)
        return self.payload.decode(codec, "replace")


@dataclass(eq=False)
class _Session:
    writer: asyncio.StreamWriter
    system_id: str = ""
    mode: str = ""  # tx, rx or trx once bound
    pdus: int = 0
    sequence: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def can_send(self) -> bool:
        return self.mode in ("tx", "trx")

    @property
    def can_receive(self) -> bool:
        return self.mode in ("rx", "trx")


#: The faults an emulator can be switched to as a whole (:attr:`SmscEmulator.fault`).
FAULTS = ("normal", "failing", "throttling", "slow")
#: The answer delay of the ``slow`` fault: past the 10 s an SMPP client waits by default.
SLOW_LATENCY = 12.0


class SmscEmulator:
    """An SMPP server on loopback. ``accounts`` maps system_id to password (None: any).
    ``received`` holds the latest ``keep`` complete SMS (an emulator left running for days
    must not keep them all)."""

    def __init__(self, accounts: dict[str, str] | None = None, *, latency: float = 0.0,
                 reject_rate: float = 0.0, reject_status: int = STATUS_CODES["ESME_RSUBMITFAIL"],
                 throttle: float | None = None, drop_after: int | None = None,
                 receipt_delay: float = 0.0, seed: int | None = None,
                 reassembly_timeout: float = 300.0, keep: int = 10_000,
                 receipts: str = "standard", spread_receipts: bool = False,
                 undeliverable: Collection[str] = ()) -> None:
        if receipts not in RECEIPT_STYLES:
            raise ValueError(f"receipt style {receipts!r} is not one of {RECEIPT_STYLES}")
        self.accounts = accounts
        self.receipts = receipts
        self.spread_receipts = spread_receipts
        self.undeliverable = set(undeliverable)
        self.receipts_to_other_binds = 0
        self.latency = latency
        self.reject_rate = reject_rate
        self.reject_status = reject_status
        self.throttle = throttle
        self.drop_after = drop_after
        self._failing = False
        self.receipt_delay = receipt_delay
        self.received: deque[ReceivedSms] = deque(maxlen=keep)
        self.submitted = 0
        self.commands: Counter[str] = Counter()  # every well-formed PDU received, by command
        self._random = random.Random(seed)
        self._subscribers: list[Callable[[ReceivedSms], None]] = []
        self._sessions: set[_Session] = set()
        self._server: asyncio.Server | None = None
        self._ids = itertools.count(1)
        self._recent: deque[float] = deque()
        self._reassembler = Reassembler(reassembly_timeout)
        self._segment_ids: dict[tuple[str, int], list[str]] = {}
        self._tasks: set[asyncio.Task] = set()
        self._serving: set[asyncio.Task] = set()  # one task a connection
        self._answers: dict[tuple[_Session, int], asyncio.Future[int]] = {}
        self._mo_reference = 0

    @property
    def failing(self) -> bool:
        """Down: no bind is kept or accepted."""
        return self._failing

    @failing.setter
    def failing(self, on: bool) -> None:
        self._failing = on
        if on:
            log.info("fault injection: SMSC failing, %d binds cut", len(self._sessions))
            for session in list(self._sessions):
                session.writer.close()

    @property
    def sessions(self) -> int:
        """The ESME sessions bound now."""
        return sum(1 for s in self._sessions if s.mode)

    @property
    def fault(self) -> str:
        """The fault it plays now, as one of :data:`FAULTS` (a mix set field by field reads
        as the first that applies)."""
        if self._failing:
            return "failing"
        if self.throttle is not None:
            return "throttling"
        return "slow" if self.latency >= SLOW_LATENCY else "normal"

    @fault.setter
    def fault(self, name: str) -> None:
        """Play one of :data:`FAULTS` (the console's live page switches them): ``normal``;
        ``failing`` (binds cut and refused); ``throttling`` (ESME_RTHROTTLED above one
        submit a second); ``slow`` (each answer :data:`SLOW_LATENCY` late, past a client's
        usual response timeout)."""
        if name not in FAULTS:
            raise ValueError(f"fault {name!r} is not one of {FAULTS}")
        self.throttle = 1.0 if name == "throttling" else None
        self.latency = SLOW_LATENCY if name == "slow" else 0.0
        self.failing = name == "failing"
        log.info("fault injection: SMSC %s", name)

    def subscribe(self, callback: Callable[[ReceivedSms], None]) -> None:
        """Call ``callback`` with every complete SMS."""
        self._subscribers.append(callback)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[str, int]:
        self._server = await asyncio.start_server(self._serve, host, port)
        address = self._server.sockets[0].getsockname()
        log.info("SMSC emulator listening on %s:%s", address[0], address[1])
        return address[0], address[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions):
            session.writer.close()
        for task in list(self._tasks):
            task.cancel()
        if self._serving:  # each connection ends on its closed socket: let it (a task left
            # to the loop's shutdown is cancelled, and asyncio 3.11 logs that as an error)
            await asyncio.wait(list(self._serving), timeout=2)
        if self._server is not None:
            await self._server.wait_closed()

    # -- the connection ----------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(writer)
        self._sessions.add(session)
        serving = asyncio.current_task()
        if serving is not None:
            self._serving.add(serving)
        framer = Framer()
        try:
            while data := await reader.read(65536):
                for frame in framer.feed(data):
                    if not await self._handle(session, frame):
                        return
        except SmppError as exc:  # framing lost: say why, then close
            log.warning("SMPP framing error from %s: %s", session.system_id or "unbound", exc)
            await self._send(session, Pdu("generic_nack", exc.sequence, exc.status))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._sessions.discard(session)
            if serving is not None:
                self._serving.discard(serving)
            writer.close()

    async def _send(self, session: _Session, pdu: Pdu) -> None:
        try:
            session.writer.write(encode_pdu(pdu))
            await session.writer.drain()
        except ConnectionError:
            pass

    async def _handle(self, session: _Session, frame: bytes) -> bool:
        """Answer one PDU; False when the link is to close."""
        session.pdus += 1
        if self.drop_after is not None and session.pdus > self.drop_after:
            log.info("fault injection: dropping the link of %s", session.system_id)
            return False
        try:
            pdu = decode_pdu(frame)
        except SmppError as exc:
            log.warning("malformed SMPP PDU from %s: %s", session.system_id or "unbound", exc)
            name = _response_name(exc.command_id)
            await self._send(session, Pdu(name, exc.sequence, exc.status))
            return True
        self.commands[pdu.command] += 1
        if pdu.is_response:  # a deliver_sm_resp someone may wait for; enquire_link_resp
            answer = self._answers.pop((session, pdu.sequence), None)
            if answer is not None and not answer.done():
                answer.set_result(pdu.status)
            return True
        if pdu.command in _BIND_MODES:
            await self._bind(session, pdu)
        elif pdu.command == "enquire_link":
            await self._send(session, pdu.response())
        elif pdu.command == "unbind":
            await self._send(session, pdu.response())
            return False
        elif not session.mode:
            await self._send(session, pdu.response(STATUS_CODES["ESME_RINVBNDSTS"]))
        elif pdu.command == "submit_sm":
            await self._submit(session, pdu)
        else:
            await self._send(session, Pdu("generic_nack", pdu.sequence,
                                          STATUS_CODES["ESME_RINVCMDID"]))
        return True

    async def _bind(self, session: _Session, pdu: Pdu) -> None:
        system_id, password = pdu.get("system_id", ""), pdu.get("password", "")
        if session.mode:
            status = STATUS_CODES["ESME_RALYBND"]
        elif self._failing:
            status = STATUS_CODES["ESME_RBINDFAIL"]
        elif self.accounts is not None and system_id not in self.accounts:
            status = STATUS_CODES["ESME_RINVSYSID"]
        elif self.accounts is not None and self.accounts[system_id] != password:
            status = STATUS_CODES["ESME_RINVPASWD"]
        else:
            status = ESME_ROK
            session.system_id, session.mode = system_id, _BIND_MODES[pdu.command]
        log.info("%s from %r: %s", pdu.command, system_id, "ok" if not status else hex(status))
        await self._send(session, pdu.response(status, system_id="mmsc-smsc"))

    # -- submit_sm ---------------------------------------------------------------------------

    def _throttled(self) -> bool:
        if self.throttle is None:
            return False
        now = asyncio.get_running_loop().time()
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.throttle:
            return True
        self._recent.append(now)
        return False

    async def _submit(self, session: _Session, pdu: Pdu) -> None:
        if not session.can_send:
            await self._send(session, pdu.response(STATUS_CODES["ESME_RINVBNDSTS"]))
            return
        if self.latency:
            await asyncio.sleep(self.latency)
        if self._throttled():
            await self._send(session, pdu.response(STATUS_CODES["ESME_RTHROTTLED"]))
            return
        if self.reject_rate and self._random.random() < self.reject_rate:
            await self._send(session, pdu.response(self.reject_status))
            return
        message_id = f"{next(self._ids):08X}"
        self.submitted += 1
        await self._send(session, pdu.response(message_id=message_id))
        if pdu.get("registered_delivery", 0) & 0x03:
            self._later(self._receipt(session, pdu, message_id))
        try:
            self._collect(session, pdu, message_id)
        except ValueError as exc:
            log.warning("undeliverable SMS from %s: %s", session.system_id, exc)

    def _collect(self, session: _Session, pdu: Pdu, message_id: str) -> None:
        """Reassemble; hand every complete SMS to the subscribers."""
        wire = _addresses(pdu)
        source, destination = (from_smpp_address(a.ton, a.address) for a in wire)
        data = pdu.tlvs.get(TLV_MESSAGE_PAYLOAD) or pdu.get("short_message", b"")
        sender = f"{session.system_id}|{source}|{destination}"
        has_udh = bool(pdu.get("esm_class", 0) & ESM_UDHI)
        sar = pdu.tlvs.get(TLV_SAR_MSG_REF_NUM)
        if sar is not None and not has_udh:  # SAR TLVs (§5.3.2.22-24): the same as a UDH
            data = UserDataHeader(((IEI_CONCAT_16, _sar_element(pdu, sar)),)).encode() + data
            has_udh = True
        split = split_user_data_header(data) if has_udh else None
        concat = split[0].concatenation if split else None
        key = (sender, concat[0] if concat else -1)
        ids = self._segment_ids.setdefault(key, [])
        ids.append(message_id)
        while len(self._segment_ids) > 10_000:  # incomplete messages from a misbehaving ESME
            del self._segment_ids[next(iter(self._segment_ids))]
        result = self._reassembler.feed(sender, data, asyncio.get_running_loop().time(),
                                        has_udh=has_udh)
        if result is None:
            return
        self._segment_ids.pop(key, None)
        udh, payload = result
        if sar is not None and not pdu.get("esm_class", 0) & ESM_UDHI:
            udh = None  # the header was built from the TLVs, not sent
        sms = ReceivedSms(session.system_id, source, destination, pdu.get("data_coding", 0),
                          payload, udh, ids, *wire, at=asyncio.get_running_loop().time())
        self.received.append(sms)
        if destination in self.undeliverable:
            log.info("SMS to %s not delivered (an undeliverable number)", destination)
            return
        for callback in self._subscribers:
            try:
                callback(sms)
            except Exception:  # a subscriber's failure must not stop the SMSC
                log.exception("SMS subscriber failed")

    def _later(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _receiver(self, origin: _Session) -> _Session | None:
        """Where a receipt for what ``origin`` submitted goes: ``origin`` when it receives,
        else (or first, with ``spread_receipts``) another receiving bind of its account."""
        binds = [s for s in self._sessions if s.system_id == origin.system_id and s.can_receive]
        others = [s for s in binds if s is not origin]
        if others and (self.spread_receipts or origin not in binds):
            self.receipts_to_other_binds += 1
            return others[0]
        return origin if origin in binds else None

    async def _receipt(self, origin: _Session, submit: Pdu, message_id: str) -> None:
        """A delivery receipt (Appendix B) in the configured style, DELIVRD, or UNDELIV for
        an undeliverable number; from the handset's address to the ESME's, as submitted."""
        if self.receipt_delay:
            await asyncio.sleep(self.receipt_delay)
        target = self._receiver(origin)
        if target is None:
            log.info("no receiver bound for %s: receipt for %s dropped", origin.system_id,
                     message_id)
            return
        source, destination = _addresses(submit)
        failed = from_smpp_address(destination.ton, destination.address) in self.undeliverable
        state, error = ("UNDELIV", "001") if failed else ("DELIVRD", "000")
        now = datetime.now()
        text = {"standard": format_receipt(Receipt(message_id, state, error, now, now)),
                "tlv": b"", "minimal": f"id:{message_id} stat:{state}".encode()}[self.receipts]
        tlvs = {} if self.receipts == "minimal" else {
            TLV_RECEIPTED_MESSAGE_ID: message_id.encode() + b"\x00",
            TLV_MESSAGE_STATE: bytes([RECEIPT_STATES[state]])}
        deliver = Pdu("deliver_sm", next(target.sequence), fields={
            "source_addr_ton": destination.ton, "source_addr_npi": destination.npi,
            "source_addr": destination.address, "dest_addr_ton": source.ton,
            "dest_addr_npi": source.npi, "destination_addr": source.address,
            "esm_class": ESM_DELIVERY_RECEIPT, "short_message": text}, tlvs=tlvs)
        await self._send(target, deliver)


    # -- mobile-originated SMS -----------------------------------------------------------------

    async def deliver(self, source: str, destination: str, short_message: bytes = b"", *,
                      data_coding: int = DCS_GSM7, esm_class: int = 0,
                      tlvs: dict[int, bytes] | None = None, system_id: str | None = None,
                      timeout: float = 10.0) -> int:
        """One deliver_sm to a receiving bind (of ``system_id`` when given); the status of
        its deliver_sm_resp. LookupError when no ESME can receive, TimeoutError without an
        answer."""
        target = next((s for s in self._sessions if s.can_receive
                       and (system_id is None or s.system_id == system_id)), None)
        if target is None:
            raise LookupError("no receiver or transceiver bound")
        src, dst = to_smpp_address(source), to_smpp_address(destination)
        pdu = Pdu("deliver_sm", next(target.sequence), fields={
            "source_addr_ton": src.ton, "source_addr_npi": src.npi, "source_addr": src.address,
            "dest_addr_ton": dst.ton, "dest_addr_npi": dst.npi, "destination_addr": dst.address,
            "esm_class": esm_class, "data_coding": data_coding,
            "short_message": short_message}, tlvs=dict(tlvs or {}))
        answer = asyncio.get_running_loop().create_future()
        self._answers[(target, pdu.sequence)] = answer
        await self._send(target, pdu)
        try:
            return await asyncio.wait_for(answer, timeout)
        finally:
            self._answers.pop((target, pdu.sequence), None)

    async def send_mo(self, source: str, destination: str, text: str, *,
                      concatenation: str = "udh8", system_id: str | None = None) -> list[int]:
        """A handset's text SMS to ``destination``: GSM 7-bit (a septet an octet) or UCS-2,
        in as many segments as it needs, each joined by ``concatenation`` (one of
        :data:`MO_CONCATENATION`); the deliver_sm_resp status of each segment."""
        if concatenation not in MO_CONCATENATION:
            raise ValueError(f"concatenation {concatenation!r} is not one of {MO_CONCATENATION}")
        self._mo_reference = (self._mo_reference + 1) % 256
        segments = encode_text(text, self._mo_reference, ref16=concatenation == "udh16")
        statuses = []
        for number, seg in enumerate(segments, start=1):
            body = bytes(gsm7_septets(seg.text) or []) if seg.data_coding == DCS_GSM7 \
                else seg.text.encode("utf-16-be")
            tlvs: dict[int, bytes] = {}
            udh = seg.udh
            if udh and concatenation == "sar":
                udh, tlvs = b"", {TLV_SAR_MSG_REF_NUM: self._mo_reference.to_bytes(2, "big"),
                                  TLV_SAR_TOTAL_SEGMENTS: bytes([len(segments)]),
                                  TLV_SAR_SEGMENT_SEQNUM: bytes([number])}
            statuses.append(await self.deliver(
                source, destination, udh + body, data_coding=seg.data_coding,
                esm_class=ESM_UDHI if udh else 0, tlvs=tlvs, system_id=system_id))
        return statuses


def _response_name(command_id: int) -> str:
    """The response to send for a request that failed to decode."""
    if command_id & RESPONSE_BIT:
        return "generic_nack"
    return COMMAND_NAMES.get(command_id | RESPONSE_BIT, "generic_nack")


def _addresses(pdu: Pdu) -> tuple[SmppAddress, SmppAddress]:
    """The source and destination of a submit_sm as they came."""
    return (SmppAddress(pdu.get("source_addr_ton", 0), pdu.get("source_addr_npi", 0),
                        pdu.get("source_addr", "")),
            SmppAddress(pdu.get("dest_addr_ton", 0), pdu.get("dest_addr_npi", 0),
                        pdu.get("destination_addr", "")))


def _sar_element(pdu: Pdu, reference: bytes) -> bytes:
    """A 16-bit concatenation element from the SAR TLVs."""
    total = pdu.tlvs.get(TLV_SAR_TOTAL_SEGMENTS, b"\x01")[:1] or b"\x01"
    sequence = pdu.tlvs.get(TLV_SAR_SEGMENT_SEQNUM, b"\x01")[:1] or b"\x01"
    return (int.from_bytes(reference, "big") & 0xFFFF).to_bytes(2, "big") + total + sequence
