"""Mobile-originated SMS from deliver_sm (SMPP 3.4 §4.6.1), sans-IO: the text of each
segment, and the reassembly of concatenated ones, with the status to answer a broken one.

- Text: ``short_message``, or the ``message_payload`` TLV (§5.3.2.32) when it is empty.
  ``data_coding`` (§5.2.19) 0 (the SMSC default alphabet: GSM 03.38, one septet an octet
  as SMPP carries it, with the extension table), 1 (IA5/ASCII), 3 (Latin-1), 8 (UCS-2,
  surrogate pairs joined), and the GSM message-class codings 0xF0-0xF3 (GSM 7-bit).
- Concatenation: a User Data Header (``esm_class`` UDHI 0x40; TS 23.040 §9.2.3.24.1 IEI
  0x00 with an 8-bit reference, §9.2.3.24.8 IEI 0x08 with a 16-bit one), or the SAR TLVs
  ``sar_msg_ref_num``, ``sar_total_segments``, ``sar_segment_seqnum`` (§5.3.2.22-24).
  Segments are joined as octets before the text is read, so an escape or a surrogate
  pair cut between two segments reads right.
- Bounds: a message whose segments do not all come within ``timeout`` seconds is dropped,
  and at most ``max_pending`` are waiting (the oldest goes first), so a handset or an SMSC
  that never finishes a message cannot grow memory.

A segment that cannot be read raises :class:`MoError` with the deliver_sm_resp status:
ESME_RX_P_APPN (0x65, "ESME receiver permanent application error", §5.1.3): the same
octets would fail again, so the SMSC must not retry them.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from .smpp import ESM_UDHI, STATUS_CODES
from .sms import gsm7_text, split_user_data_header

ESME_RX_P_APPN = STATUS_CODES["ESME_RX_P_APPN"]

#: data_coding (§5.2.19) → how its octets read.
CODINGS = {0x00: "gsm7", 0x01: "ascii", 0x03: "latin-1", 0x08: "utf-16-be",
           0xF0: "gsm7", 0xF1: "gsm7", 0xF2: "gsm7", 0xF3: "gsm7"}


class MoError(ValueError):
    """A deliver_sm that cannot be read; ``status`` is the deliver_sm_resp's."""

    def __init__(self, why: str, status: int = ESME_RX_P_APPN) -> None:
        super().__init__(why)
        self.status = status


@dataclass(frozen=True)
class MoSegment:
    """What a deliver_sm says of one SMS (addresses as mmsc writes them)."""

    source: str
    destination: str
    data_coding: int
    short_message: bytes
    esm_class: int = 0
    message_payload: bytes | None = None
    #: (sar_msg_ref_num, sar_total_segments, sar_segment_seqnum) when the TLVs are there.
    sar: tuple[int, int, int] | None = None


@dataclass(frozen=True)
class MoSms:
    """A complete mobile-originated text."""

    source: str
    destination: str
    text: str
    segments: int = 1


def decode(data_coding: int, octets: bytes) -> str:
    """The text of SMS user data (after its UDH) in ``data_coding``."""
    codec = CODINGS.get(data_coding)
    if codec is None:
        raise MoError(f"data_coding 0x{data_coding:02X} is not a text")
    if codec == "gsm7":
        if any(octet > 0x7F for octet in octets):
            raise MoError("an octet above 0x7F in GSM 7-bit text")
        return gsm7_text(octets)
    if codec == "utf-16-be" and len(octets) % 2:
        raise MoError("UCS-2 text of an odd number of octets")
    return octets.decode(codec, "replace")


@dataclass
class _Pending:
    total: int
    data_coding: int
    first_seen: float
    chunks: dict[int, bytes] = field(default_factory=dict)


class MoReassembler:
    """Concatenated MO SMS joined, keyed by (source, destination, reference)."""

    def __init__(self, *, timeout: float = 300.0, max_pending: int = 1000) -> None:
        self.timeout = timeout
        self.max_pending = max_pending
        self.dropped = 0  # incomplete messages given up (timeout or room)
        self._pending: OrderedDict[tuple[str, str, int], _Pending] = OrderedDict()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def feed(self, segment: MoSegment, now: float) -> MoSms | None:
        """The whole text once its last segment is in (at once for a single SMS), else
        None. Raises :class:`MoError` for a segment that cannot be read."""
        self.expire(now)
        data = segment.short_message or segment.message_payload or b""
        concat = segment.sar
        if segment.esm_class & ESM_UDHI:
            split = split_user_data_header(data)
            if split is None:
                raise MoError("user data header longer than the data, or malformed")
            udh, data = split
            concat = udh.concatenation or concat
        if concat is None or concat[1] == 1:
            if concat is not None and concat[2] != 1:
                raise MoError(f"segment {concat[2]} of 1")
            return MoSms(segment.source, segment.destination,
                         decode(segment.data_coding, data))
        reference, total, sequence = concat
        if total == 0 or not 1 <= sequence <= total:
            raise MoError(f"segment {sequence} of {total}")
        decode(segment.data_coding, data)  # a segment that cannot be read fails now
        key = (segment.source, segment.destination, reference)
        pending = self._pending.get(key)
        if pending is None or pending.total != total:  # a new message reusing the reference
            pending = self._pending[key] = _Pending(total, segment.data_coding, now)
            while len(self._pending) > self.max_pending:
                self._pending.popitem(last=False)
                self.dropped += 1
        pending.chunks.setdefault(sequence, data)  # a repeated segment is ignored
        if len(pending.chunks) < total:
            return None
        del self._pending[key]
        octets = b"".join(pending.chunks[n] for n in range(1, total + 1))
        return MoSms(segment.source, segment.destination, decode(pending.data_coding, octets),
                     total)

    def expire(self, now: float) -> int:
        """Drop the messages waiting longer than the timeout; how many."""
        stale = [k for k, p in self._pending.items() if now - p.first_seen > self.timeout]
        for key in stale:
            del self._pending[key]
        self.dropped += len(stale)
        return len(stale)
