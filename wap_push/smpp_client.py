"""An SMPP client (ESME) on smpplib, bridged to asyncio: smpplib's blocking socket I/O runs in
worker threads, results come back to the event loop as futures and callbacks.

- binds as transceiver, transmitter or receiver with system_id, password and system_type;
- submits WAP pushes (binary, UDHI, data_coding 0x04 or 0xF5) and text SMS (GSM 7-bit or
  UCS-2), segment by segment, under a maximum rate in messages per second;
- writes addresses by the rules of :data:`wap_push.smpp.ADDRESS_RULES` (E.164 numbers as
  TON 1 NPI 1 without their "+"), or with the TON and NPI the configuration fixes;
- asks for delivery receipts and hands each one, read from its text and TLVs, to
  ``on_receipt`` (matching it to what was sent is the caller's business: a receipt may
  come to another bind than the one that submitted);
- reads handsets' SMS (deliver_sm that are not receipts) with :mod:`wap_push.mo`, joins
  their segments, answers each with its status and hands complete texts to ``on_message``;
- keeps the link alive with enquire_link, and reconnects with exponential back-off (capped
  at ``reconnect_max``, so that a returning SMSC is bound again within seconds);
- ESME_RTHROTTLED and ESME_RMSGQFUL halve the rate and retry after a pause; every other
  status becomes :class:`SmppSendError` with the status's retry decision (smpp.STATUSES);
  an SMS that could not reach the SMSC (no bind, link lost, no answer) is :class:`SmppLinkError`.
"""

from __future__ import annotations

import asyncio
import socket
import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

import smpplib.client
import smpplib.exceptions
import smpplib.smpp

from .mo import MoError, MoReassembler, MoSegment, MoSms
from .smpp import (
    ESM_DELIVERY_RECEIPT, ESM_UDHI, ESME_ROK, STATUS_CODES, Receipt, from_smpp_address,
    read_receipt, retry_decision, status_name, to_smpp_address,
)
from .sms import DCS_8BIT, DCS_GSM7, encode_text, gsm7_septets, segment_push

log = logging.getLogger(__name__)


@dataclass
class SmppConfig:
    """How to reach and use one SMSC."""

    host: str = "127.0.0.1"
    port: int = 2775
    system_id: str = "mmsc"
    password: str = ""
    system_type: str = ""
    bind: str = "transceiver"           # transceiver | transmitter | receiver
    source_addr: str = "MMSC"
    max_rate: float = 10.0              # messages per second (long numbers ~10, short codes ~100)
    push_data_coding: int = DCS_8BIT    # 0x04, or 0xF5 (class 1, 8-bit) for some networks
    push_max_user_data: int = 128       # octets per push segment, UDH included
    enquire_link_interval: float = 30.0
    response_timeout: float = 10.0
    reconnect_min: float = 0.5
    reconnect_max: float = 10.0
    throttle_retries: int = 5
    #: TON and NPI of the source and destination addresses; None: by ADDRESS_RULES.
    source_ton: int | None = None
    source_npi: int | None = None
    dest_ton: int | None = None
    dest_npi: int | None = None


#: What a failed connect and bind raises (a refused bind is a PDUError with its status), and
#: answering a PDU when the link is gone or no longer bound (closing).
_BIND_ERRORS = (OSError, smpplib.exceptions.PDUError, smpplib.exceptions.ConnectionError)


class SmppSendError(Exception):
    """A submit the SMSC refused (or that could not be sent). ``decision`` is "retry",
    "throttle", "rebind", "permanent", or "link" (:class:`SmppLinkError`)."""

    def __init__(self, status: int, message: str = "") -> None:
        self.status = status
        self.decision = retry_decision(status)
        super().__init__(message or f"{status_name(status)} ({self.decision})")


class SmppLinkError(SmppSendError):
    """The SMS did not reach the SMSC, or no answer came back: no bind, the link dropped, or
    the submit_sm_resp is overdue. Nothing about the destination: send it again once the
    link is up (``connected``)."""

    def __init__(self, message: str) -> None:
        super().__init__(0x08, message)  # ESME_RSYSERR, as the status it stands for
        self.decision = "link"


class _Sequence:
    """A thread-safe sequence generator for smpplib (§3.2: 1 .. 0x7FFFFFFF)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0

    @property
    def sequence(self) -> int:
        return self._value

    def next_sequence(self) -> int:
        with self._lock:
            self._value = self._value % 0x7FFFFFFF + 1
            return self._value


class _Client(smpplib.client.Client):
    """smpplib's client with sends serialised: the reader thread answers deliver_sm and
    enquire_link while the loop's worker threads submit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._send_lock = threading.Lock()

    def send_pdu(self, p: Any) -> Any:
        with self._send_lock:
            return super().send_pdu(p)

    def dispatch(self, pdu: Any) -> None:
        """Act on one PDU read by the reader thread; requests from the SMSC are answered."""
        if pdu.is_error():
            self.error_pdu_handler(pdu)
        if pdu.command == "submit_sm_resp":
            self.message_sent_handler(pdu=pdu)
        elif pdu.command == "deliver_sm":
            self._reply("deliver_sm_resp", pdu, self.message_received_handler(pdu=pdu))
        elif pdu.command == "enquire_link":
            self._reply("enquire_link_resp", pdu)
        elif pdu.command == "unbind":
            self._reply("unbind_resp", pdu)

    def _reply(self, command: str, request: Any, status: int | None = None) -> None:
        response = smpplib.smpp.make_pdu(command, client=self, status=status or ESME_ROK)
        response.sequence = request.sequence
        self.send_pdu(response)


class RateLimiter:
    """Spaces sends at ``rate`` per second; :meth:`slow_down` halves it for a while."""

    def __init__(self, rate: float) -> None:
        self.nominal = self.rate = rate
        self._next = 0.0

    async def wait(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        start = max(now, self._next)
        self._next = start + 1.0 / self.rate
        if start > now:
            await asyncio.sleep(start - now)
        if self.rate < self.nominal:  # recover gently after a throttle
            self.rate = min(self.nominal, self.rate * 1.1)

    def slow_down(self) -> None:
        self.rate = max(self.nominal / 64, self.rate / 2)


class SmppClient:
    """One SMPP session to one SMSC, for use from the event loop."""

    def __init__(self, config: SmppConfig,
                 on_receipt: Callable[[Receipt], None] | None = None,
                 on_message: Callable[[MoSms], None] | None = None,
                 on_bound: Callable[[], None] | None = None,
                 serves: Callable[[str], bool] | None = None) -> None:
        self.config = config
        self.on_receipt = on_receipt  # called on the loop with each delivery receipt
        #: called on the loop with each complete mobile-originated SMS (wap_push.mo)
        self.on_message = on_message
        #: whether an MO SMS to this number is taken; called in the reader thread, so it
        #: must be quick and thread-safe (a set lookup). None: MO SMS are refused.
        self.serves = serves
        self.mo = MoReassembler()
        self.on_bound = on_bound  # called on the loop each time a bind succeeds
        self.limiter = RateLimiter(config.max_rate)
        self._client: _Client | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pending: dict[int, asyncio.Future] = {}
        self._bound = asyncio.Event()
        self._first_bind: asyncio.Future | None = None
        self._runner: asyncio.Task | None = None
        self._closing = False
        self._reference = 0
        self.binds = 0
        #: Submits for the sender thread: a queue hand-off costs the loop less than a
        #: thread-pool job per PDU (ThreadPoolExecutor.submit and its future).
        self._outbox: queue.SimpleQueue[tuple[_Client, Any] | None] = queue.SimpleQueue()
        self._sender: threading.Thread | None = None

    # -- link ----------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Bound to the SMSC right now."""
        return self._bound.is_set()

    async def start(self, *, retry: bool = False) -> bool:
        """Connect and bind. If the first bind fails, raise SmppSendError (refused) or OSError
        (unreachable) and stop; with ``retry``, go on trying with back-off in the background
        (as after a lost link) and return False. True once bound."""
        self._loop = asyncio.get_running_loop()
        self._first_bind = self._loop.create_future()
        self._sender = threading.Thread(target=self._send_loop, name="smpp-send", daemon=True)
        self._sender.start()
        self._runner = asyncio.create_task(self._run(retry))
        try:
            await self._first_bind
        except (*_BIND_ERRORS, SmppSendError):
            if not retry:
                raise
            return False
        return True

    async def close(self) -> None:
        """Unbind (the reader thread takes the unbind_resp and stops), then disconnect."""
        self._closing = True
        client = self._client
        if client is not None and self._bound.is_set():
            try:
                await asyncio.to_thread(
                    client.send_pdu, smpplib.smpp.make_pdu("unbind", client=client))
            except Exception:  # the link may already be gone
                pass
        if self._runner is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._runner), 2.0)
            except (TimeoutError, asyncio.CancelledError):
                self._runner.cancel()
        if client is not None:
            await asyncio.to_thread(client.disconnect)
        if self._sender is not None:
            self._outbox.put(None)
            await asyncio.to_thread(self._sender.join, 2.0)

    def _send_loop(self) -> None:
        """The sender thread: each queued submit_sm goes out; a failed send fails its
        submit (on the loop) with the reason."""
        assert self._loop is not None
        while (item := self._outbox.get()) is not None:
            client, pdu = item
            try:
                client.send_pdu(pdu)
            except Exception as exc:  # noqa: BLE001 - socket gone, or smpplib refused it
                self._loop.call_soon_threadsafe(self._send_failed, pdu.sequence, exc)

    def _send_failed(self, sequence: int, exc: Exception) -> None:
        future = self._pending.pop(sequence, None)
        if future is not None and not future.done():
            future.set_exception(SmppLinkError(f"send failed: {exc}"))

    async def _run(self, retry: bool) -> None:
        delay = self.config.reconnect_min
        failures: list[str] = []  # why each bind since the last good one failed
        while not self._closing:
            try:
                self._client = await asyncio.to_thread(self._connect)
            except _BIND_ERRORS as exc:
                error = _bind_error(exc)
                self._bind_failed(error, failures, delay)
                if self._first_bind is not None and not self._first_bind.done():
                    self._first_bind.set_exception(error)
                    if not retry:
                        return
                await asyncio.sleep(delay)
                delay = min(self.config.reconnect_max, delay * 2)
                continue
            if failures:
                log.info("SMPP bound to %s:%s after %d failed attempts", self.config.host,
                         self.config.port, len(failures))
            delay, failures = self.config.reconnect_min, []
            self.binds += 1
            self._bound.set()
            if self._first_bind is not None and not self._first_bind.done():
                self._first_bind.set_result(None)
            if self.on_bound is not None:
                self.on_bound()
            keepalive = asyncio.create_task(self._keepalive(self._client))
            try:
                await asyncio.to_thread(self._read_loop, self._client)
            finally:
                keepalive.cancel()
                self._bound.clear()
                self._fail_pending(SmppLinkError("SMPP link lost"))
                if not self._closing:
                    await asyncio.to_thread(self._client.disconnect)
            if not self._closing:
                log.warning("SMPP link to %s:%s lost; reconnecting", self.config.host,
                            self.config.port)
                await asyncio.sleep(delay)

    def _bind_failed(self, error: Exception, failures: list[str], delay: float) -> None:
        """Log a failed bind: the first of a run, and each change of reason, as a warning (a
        bind refused for good, a wrong system_id or password say, as an error: a setting to
        fix, still tried again in case the SMSC's side is fixed); repeats quietly."""
        where = f"{self.config.host}:{self.config.port}"
        if isinstance(error, SmppSendError) and error.decision == "permanent":
            level, why = logging.ERROR, f"refused: {error}, check system_id and password"
        else:
            level, why = logging.WARNING, f"failed: {error}"
        if failures and failures[-1] == why:
            level = logging.DEBUG
        failures.append(why)
        log.log(level, "SMPP bind to %s %s; trying again in %.1f s (then every %.0f s at most)",
                where, why, delay, self.config.reconnect_max)

    def _connect(self) -> _Client:
        client = _Client(self.config.host, self.config.port, timeout=self.config.response_timeout,
                         sequence_generator=_Sequence(), allow_unknown_opt_params=True)
        client.set_message_sent_handler(self._on_response)
        client.set_error_pdu_handler(self._on_response)
        client.set_message_received_handler(self._on_deliver)
        try:
            client.connect()
        except smpplib.exceptions.ConnectionError:
            if client._socket is not None:  # noqa: SLF001 - smpplib keeps the failed socket
                client._socket.close()  # noqa: SLF001
                client._socket = None  # noqa: SLF001
            raise
        # One PDU per send: without TCP_NODELAY, Nagle holds a submit back until the previous
        # segment is acknowledged, 40 ms with delayed ACKs (measured by bench/loop.py).
        client._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # noqa: SLF001
        bind = getattr(client, f"bind_{self.config.bind}")
        try:
            bind(system_id=self.config.system_id, password=self.config.password,
                 system_type=self.config.system_type)
        except Exception:
            client.disconnect()
            raise
        return client

    def _read_loop(self, client: _Client) -> None:
        """Runs in a worker thread until the link drops or the client closes."""
        while True:
            try:
                pdu = client.read_pdu()
            except TimeoutError:
                continue  # keep-alive is the enquire_link task's job
            except Exception as exc:  # socket closed, reset, or a PDU smpplib cannot parse
                if not self._closing:
                    log.info("SMPP reader stops: %s", exc)
                return
            if pdu.command == "unbind_resp" and self._closing:
                return
            try:
                client.dispatch(pdu)
            except _BIND_ERRORS as exc:  # the answer found the link gone (or unbound)
                if not self._closing:
                    log.info("SMPP reader stops: %s", exc or type(exc).__name__)
                return

    async def _keepalive(self, client: _Client) -> None:
        while True:
            await asyncio.sleep(self.config.enquire_link_interval)
            await asyncio.to_thread(
                lambda: client.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=client)))

    def _fail_pending(self, error: Exception) -> None:
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(error)

    # -- callbacks from the reader thread ----------------------------------------------------

    def _on_response(self, pdu: Any) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._resolve, pdu.sequence, pdu.status,
                                        getattr(pdu, "message_id", None))

    def _resolve(self, sequence: int, status: int, message_id: bytes | None) -> None:
        """Runs on the loop, in the order the reader saw the PDUs."""
        future = self._pending.pop(sequence, None)
        if future is None or future.done():
            return
        if status == ESME_ROK:
            future.set_result((message_id or b"").decode("ascii", "replace"))
        else:
            future.set_exception(SmppSendError(status))

    def _on_deliver(self, pdu: Any) -> int:
        """A deliver_sm, in the reader thread. A receipt is answered ESME_ROK whatever it
        holds (an SMSC sends a refused receipt again and again) and goes to the loop; any
        other is a handset's SMS (:meth:`_on_mo`)."""
        assert self._loop is not None
        if not pdu.esm_class & ESM_DELIVERY_RECEIPT:
            return self._on_mo(pdu)
        receipted = getattr(pdu, "receipted_message_id", None)
        receipt = read_receipt(
            pdu.short_message or b"",
            receipted.decode("ascii", "replace") if receipted else None,
            getattr(pdu, "message_state", None), getattr(pdu, "network_error_code", None))
        if receipt is None:
            log.warning("deliver_sm marked as a receipt that says nothing of a message: "
                        "%r", (pdu.short_message or b"")[:160])
        elif self.on_receipt is not None:
            self._loop.call_soon_threadsafe(self.on_receipt, receipt)
        return ESME_ROK

    def _on_mo(self, pdu: Any) -> int:
        """A mobile-originated SMS, decoded here (cheap and pure: the status must go back
        now). To a number mmsc does not serve: ESME_RINVDSTADR (§5.1.3, the SMSC routed it
        here by mistake); unreadable: the :class:`MoError`'s status (ESME_RX_P_APPN, not to
        be retried); else ESME_ROK, and a complete text goes to ``on_message`` on the loop."""
        assert self._loop is not None
        segment = MoSegment(
            source=from_smpp_address(pdu.source_addr_ton, _text(pdu.source_addr)),
            destination=from_smpp_address(pdu.dest_addr_ton, _text(pdu.destination_addr)),
            data_coding=pdu.data_coding or 0, short_message=pdu.short_message or b"",
            esm_class=pdu.esm_class or 0,
            message_payload=getattr(pdu, "message_payload", None),
            sar=None if getattr(pdu, "sar_msg_ref_num", None) is None else (
                pdu.sar_msg_ref_num, getattr(pdu, "sar_total_segments", None) or 0,
                getattr(pdu, "sar_segment_seqnum", None) or 0))
        if self.serves is None or not self.serves(segment.destination):
            log.warning("MO SMS from %s to %s refused: no service at that number",
                        segment.source, segment.destination)
            return STATUS_CODES["ESME_RINVDSTADR"]
        dropped = self.mo.dropped
        try:
            sms = self.mo.feed(segment, time.monotonic())
        except MoError as exc:
            log.warning("MO SMS from %s to %s refused (%s): %s", segment.source,
                        segment.destination, status_name(exc.status), exc)
            return exc.status
        finally:
            if self.mo.dropped > dropped:
                log.warning("%d incomplete MO SMS dropped (segments missing after %.0f s, or "
                            "too many waiting)", self.mo.dropped - dropped, self.mo.timeout)
        if sms is not None and self.on_message is not None:
            self._loop.call_soon_threadsafe(self.on_message, sms)
        return ESME_ROK

    # -- sending -------------------------------------------------------------------------------

    async def submit(self, destination: str, short_message: bytes, *, esm_class: int = 0,
                     data_coding: int = DCS_GSM7, registered_delivery: bool = True,
                     source: str | None = None) -> str:
        """Submit one SMS; return the SMSC's message id. Throttling statuses slow the client
        down and retry; other refusals raise SmppSendError."""
        for attempt in range(self.config.throttle_retries + 1):
            await self.limiter.wait()
            try:
                await asyncio.wait_for(self._bound.wait(), self.config.response_timeout)
            except TimeoutError:
                raise SmppLinkError("not bound to the SMSC") from None
            try:
                return await self._submit_once(destination, short_message, esm_class,
                                               data_coding, registered_delivery, source)
            except SmppSendError as exc:
                if exc.decision != "throttle" or attempt == self.config.throttle_retries:
                    raise
                self.limiter.slow_down()
                await asyncio.sleep(min(5.0, 0.05 * 2 ** attempt))
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _submit_once(self, destination: str, short_message: bytes, esm_class: int,
                           data_coding: int, registered_delivery: bool,
                           source: str | None) -> str:
        client = self._client
        if client is None:
            raise SmppLinkError("not bound to the SMSC")
        assert self._loop is not None
        c = self.config
        src = to_smpp_address(source or c.source_addr, c.source_ton, c.source_npi)
        dst = to_smpp_address(destination, c.dest_ton, c.dest_npi)
        pdu = smpplib.smpp.make_pdu(
            "submit_sm", client=client, source_addr=src.address, source_addr_ton=src.ton,
            source_addr_npi=src.npi, destination_addr=dst.address, dest_addr_ton=dst.ton,
            dest_addr_npi=dst.npi, esm_class=esm_class, data_coding=data_coding,
            registered_delivery=registered_delivery, short_message=short_message)
        future = self._loop.create_future()
        self._pending[pdu.sequence] = future
        self._outbox.put((client, pdu))
        try:
            return await asyncio.wait_for(future, self.config.response_timeout)
        except TimeoutError:
            self._pending.pop(pdu.sequence, None)
            raise SmppLinkError("no submit_sm_resp in time") from None

    def _next_reference(self) -> int:
        self._reference = (self._reference + 1) % 256
        return self._reference

    async def send_push(self, destination: str, push_pdu: bytes) -> list[str]:
        """A WSP push in as many binary segments as the user data cap needs."""
        segments = segment_push(push_pdu, self._next_reference(),
                                max_user_data=self.config.push_max_user_data)
        return [await self.submit(destination, seg, esm_class=ESM_UDHI,
                                  data_coding=self.config.push_data_coding)
                for seg in segments]

    async def send_text(self, destination: str, text: str,
                        source: str | None = None) -> list[str]:
        """A text SMS: GSM 7-bit (a septet an octet, as SMPP carries it) or UCS-2, from
        ``source`` (a VASP's short code, say), else from the configured source_addr."""
        ids = []
        for seg in encode_text(text, self._next_reference()):
            body = bytes(gsm7_septets(seg.text) or []) if seg.data_coding == DCS_GSM7 \
                else seg.text.encode("utf-16-be")
            ids.append(await self.submit(destination, seg.udh + body,
                                         esm_class=ESM_UDHI if seg.udh else 0,
                                         data_coding=seg.data_coding, source=source))
        return ids


def _text(value: bytes | str | None) -> str:
    """An address field as smpplib hands it (octets or text)."""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value or ""


def _bind_error(exc: Exception) -> Exception:
    if isinstance(exc, smpplib.exceptions.PDUError) and len(exc.args) > 1:
        return SmppSendError(int(exc.args[1]), f"bind refused: {status_name(int(exc.args[1]))}")
    return exc
