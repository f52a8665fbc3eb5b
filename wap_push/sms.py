"""SMS user data for WAP push and for text SMS (3GPP TS 23.040, TS 23.038). Sans-IO.

- The User Data Header (TS 23.040 §9.2.3.24): UDHL, then information elements (IEI, IEDL,
  data). A WAP push uses 0x05 (16-bit application ports: destination 2948, source 9200,
  WAP-259-WDP Appendix B) and, over several segments, 0x00 (concatenation, 8-bit reference)
  or 0x08 (16-bit reference). The port element is repeated in every segment.
- Binary segmentation of a push PDU under a maximum user data size, and reassembly.
- Text: the GSM 7-bit default alphabet and its extension table (TS 23.038 §6.2.1), septet
  packing with fill bits after a UDH (TS 23.040 §9.2.3.16), UCS-2 otherwise, and the
  segment limits 160/153 (GSM) and 70/67 (UCS-2) of 140-octet user data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Information element identifiers (TS 23.040 §9.2.3.24).
IEI_CONCAT_8 = 0x00
IEI_PORTS_8 = 0x04
IEI_PORTS_16 = 0x05
IEI_CONCAT_16 = 0x08
#: WDP ports (WAP-259-WDP Appendix B): the connectionless WAP push service.
WAP_PUSH_PORT = 2948
WAP_PUSH_SOURCE_PORT = 9200
#: Octets of user data in one SMS (TS 23.040 §9.2.3.24: 140 octets, 160 septets).
MAX_USER_DATA = 140
#: The default cap for binary push segments: some handsets silently drop 140-octet ones.
DEFAULT_PUSH_USER_DATA = 128
#: Data coding schemes (TS 23.038 §4): GSM 7-bit default alphabet, 8-bit data, UCS-2.
DCS_GSM7 = 0x00
DCS_8BIT = 0x04
DCS_UCS2 = 0x08


@dataclass(frozen=True)
class UserDataHeader:
    """The information elements of a UDH, in order."""

    elements: tuple[tuple[int, bytes], ...]

    def element(self, iei: int) -> bytes | None:
        return next((data for i, data in self.elements if i == iei), None)

    @property
    def ports(self) -> tuple[int, int] | None:
        """(destination, source) application ports, when addressed."""
        data = self.element(IEI_PORTS_16)
        if data is not None and len(data) == 4:
            return int.from_bytes(data[:2], "big"), int.from_bytes(data[2:], "big")
        data = self.element(IEI_PORTS_8)
        if data is not None and len(data) == 2:
            return data[0], data[1]
        return None

    @property
    def concatenation(self) -> tuple[int, int, int] | None:
        """(reference, total, sequence) when the message is one segment of several."""
        data = self.element(IEI_CONCAT_8)
        if data is not None and len(data) == 3:
            return data[0], data[1], data[2]
        data = self.element(IEI_CONCAT_16)
        if data is not None and len(data) == 4:
            return int.from_bytes(data[:2], "big"), data[2], data[3]
        return None

    def encode(self) -> bytes:
        """UDHL followed by the elements."""
        if sum(2 + len(data) for _, data in self.elements) > 255:  # UDHL is one octet
            raise ValueError("user data header too long")
        body = b"".join(bytes((iei, len(data))) + data for iei, data in self.elements)
        return bytes((len(body),)) + body


def split_user_data_header(user_data: bytes) -> tuple[UserDataHeader, bytes] | None:
    """Split SMS user data into its UDH and payload; None when the octets do not start with a
    well-formed UDH (the elements must fill UDHL exactly)."""
    if not user_data:
        return None
    udhl = user_data[0]
    if udhl < 2 or udhl + 1 > len(user_data):
        return None
    elements = []
    pos, end = 1, udhl + 1
    while pos < end:
        if pos + 2 > end:
            return None
        iei, length = user_data[pos], user_data[pos + 1]
        if pos + 2 + length > end:
            return None
        elements.append((iei, bytes(user_data[pos + 2:pos + 2 + length])))
        pos += 2 + length
    return UserDataHeader(tuple(elements)), bytes(user_data[end:])


def _concat_element(reference: int, total: int, sequence: int, ref16: bool) -> tuple[int, bytes]:
    if ref16:
        return IEI_CONCAT_16, reference.to_bytes(2, "big") + bytes((total, sequence))
    return IEI_CONCAT_8, bytes((reference, total, sequence))


# -- binary WAP push over SMS -------------------------------------------------------------------


def segment_push(push_pdu: bytes, reference: int, max_user_data: int = DEFAULT_PUSH_USER_DATA,
                 ref16: bool = False, destination_port: int = WAP_PUSH_PORT,
                 source_port: int = WAP_PUSH_SOURCE_PORT) -> list[bytes]:
    """The user data of each SMS carrying ``push_pdu`` (WDP over SMS, WAP-259-WDP §6.5):
    UDH with 16-bit ports in every segment, plus concatenation when more than one segment is
    needed, so that no segment's user data (UDH included) exceeds ``max_user_data``."""
    if not 0 <= reference <= (0xFFFF if ref16 else 0xFF):
        raise ValueError("concatenation reference out of range")
    ports = (IEI_PORTS_16, destination_port.to_bytes(2, "big") + source_port.to_bytes(2, "big"))
    single = UserDataHeader((ports,)).encode()
    if len(single) + len(push_pdu) <= max_user_data:
        return [single + push_pdu]
    udh_size = len(UserDataHeader((ports, _concat_element(0, 1, 1, ref16))).encode())
    room = max_user_data - udh_size
    if room <= 0:
        raise ValueError(f"no room for data in {max_user_data} octets of user data")
    chunks = [push_pdu[i:i + room] for i in range(0, len(push_pdu), room)]
    if len(chunks) > 255:
        raise ValueError(f"{len(chunks)} segments exceed the 255 that concatenation allows")
    return [UserDataHeader((ports, _concat_element(reference, len(chunks), n, ref16))).encode()
            + chunk for n, chunk in enumerate(chunks, start=1)]


@dataclass
class _Pending:
    total: int
    first_seen: float
    chunks: dict[int, bytes] = field(default_factory=dict)


class Reassembler:
    """Reassembly of concatenated SMS (TS 23.040 §9.2.3.24.1), sans-IO: the caller passes the
    current time. Segments may come out of order or twice; a message whose segments do not
    all arrive within ``timeout`` seconds is dropped."""

    def __init__(self, timeout: float = 300.0) -> None:
        self.timeout = timeout
        self._pending: dict[tuple[str, int, int], _Pending] = {}

    def feed(self, sender: str, user_data: bytes, now: float, has_udh: bool = True
             ) -> tuple[UserDataHeader | None, bytes] | None:
        """Add one SMS's user data (``has_udh``: the TP-UDHI flag, esm_class 0x40 in SMPP);
        return (header, payload) of the whole message when it is complete (at once for a
        single segment), else None. A malformed UDH raises ValueError."""
        self.expire(now)
        if not has_udh:
            return None, user_data
        split = split_user_data_header(user_data)
        if split is None:
            raise ValueError("malformed user data header")
        udh, payload = split
        concat = udh.concatenation
        if concat is None or concat[1] <= 1:
            return udh, payload
        reference, total, sequence = concat
        if not 1 <= sequence <= total:
            return None
        key = (sender, reference, total)
        pending = self._pending.setdefault(key, _Pending(total, now))
        pending.chunks.setdefault(sequence, payload)
        if len(pending.chunks) < total:
            return None
        del self._pending[key]
        return udh, b"".join(pending.chunks[n] for n in range(1, total + 1))

    def expire(self, now: float) -> int:
        """Drop incomplete messages older than the timeout; return how many."""
        stale = [k for k, p in self._pending.items() if now - p.first_seen > self.timeout]
        for key in stale:
            del self._pending[key]
        return len(stale)

    @property
    def pending(self) -> int:
        return len(self._pending)


# -- text SMS ------------------------------------------------------------------------------------

#: GSM 7-bit default alphabet (TS 23.038 §6.2.1), by septet value; 0x1B is the escape.
GSM7_BASIC = ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
              "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
#: The extension table (TS 23.038 §6.2.1.1): reached through the escape, two septets each.
GSM7_EXTENSION = {"\f": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F, "[": 0x3C,
                  "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65}
GSM7_ESCAPE = 0x1B
_BASIC = {ch: i for i, ch in enumerate(GSM7_BASIC) if i != GSM7_ESCAPE}
_EXTENSION_BY_SEPTET = {v: k for k, v in GSM7_EXTENSION.items()}


def gsm7_septets(text: str) -> list[int] | None:
    """The septets of ``text`` in the GSM default alphabet, or None if a character is not
    in it (then the message must go as UCS-2)."""
    out: list[int] = []
    for ch in text:
        if ch in _BASIC:
            out.append(_BASIC[ch])
        elif ch in GSM7_EXTENSION:
            out += (GSM7_ESCAPE, GSM7_EXTENSION[ch])
        else:
            return None
    return out


def gsm7_text(septets: list[int] | bytes) -> str:
    """Text from septets; an escape before an unassigned extension code reads as a space
    (TS 23.038 §6.2.1.1 note), a trailing escape is dropped."""
    chars = []
    escaped = False
    for s in septets:
        if escaped:
            chars.append(_EXTENSION_BY_SEPTET.get(s, " "))
            escaped = False
        elif s == GSM7_ESCAPE:
            escaped = True
        else:
            chars.append(GSM7_BASIC[s & 0x7F])
    return "".join(chars)


def pack_septets(septets: list[int], fill_bits: int = 0) -> bytes:
    """Pack septets least significant bit first (TS 23.038 §6.1.2.1.1), after ``fill_bits``
    zero bits (TS 23.040 §9.2.3.24: the fill that aligns text after a UDH on a septet)."""
    out = bytearray((fill_bits + 7 * len(septets) + 7) // 8)
    for i, septet in enumerate(septets):
        bit = fill_bits + 7 * i
        out[bit // 8] |= (septet << (bit % 8)) & 0xFF
        if bit % 8 > 1:
            out[bit // 8 + 1] |= septet >> (8 - bit % 8)
    return bytes(out)


def unpack_septets(data: bytes, count: int, fill_bits: int = 0) -> list[int]:
    """The inverse of :func:`pack_septets`: ``count`` septets after ``fill_bits``."""
    value = int.from_bytes(data, "little") >> fill_bits
    return [(value >> (7 * i)) & 0x7F for i in range(count)]


def fill_bits_after(udh_octets: int) -> int:
    """Fill bits so that 7-bit text after a UDH of ``udh_octets`` (UDHL included) starts on a
    septet boundary (TS 23.040 §9.2.3.24)."""
    return (7 - (udh_octets * 8) % 7) % 7


#: Per-segment capacity in characters (septets or UCS-2 code units): single, concatenated.
#: A concatenated segment loses 6 octets to its UDH (5 for the 8-bit concatenation element,
#: 1 for UDHL): 153 septets or 67 UCS-2 characters remain.
LIMITS = {DCS_GSM7: (160, 153), DCS_UCS2: (70, 67)}


@dataclass(frozen=True)
class TextPlan:
    """How a text travels: its coding, its length in that coding, how many segments, why."""

    data_coding: int
    units: int
    segments: int
    reason: str


def plan_text(text: str) -> TextPlan:
    """How many SMS ``text`` needs, and why (TS 23.038, TS 23.040)."""
    septets = gsm7_septets(text)
    if septets is not None:
        coding, units = DCS_GSM7, len(septets)
        escapes = sum(1 for ch in text if ch in GSM7_EXTENSION)
        why = "GSM 7-bit default alphabet" + (
            f" ({escapes} extension character{'s' if escapes != 1 else ''} counted twice)"
            if escapes else "")
    else:
        odd = next(ch for ch in text if gsm7_septets(ch) is None)
        coding, units = DCS_UCS2, len(text.encode("utf-16-be")) // 2
        why = f"UCS-2, because {odd!r} (U+{ord(odd):04X}) is not in the GSM 7-bit alphabet"
    single, multi = LIMITS[coding]
    if units <= single:
        return TextPlan(coding, units, 1, f"{why}: {units} of {single} in one SMS")
    count = len(split_text(text, coding))
    return TextPlan(coding, units, count,
                    f"{why}: {units} > {single}, so {count} segments of at most {multi}")


def split_text(text: str, coding: int | None = None) -> list[str]:
    """Split ``text`` into the texts of its segments, never cutting an escape sequence or a
    surrogate pair."""
    if coding is None:
        coding = DCS_GSM7 if gsm7_septets(text) is not None else DCS_UCS2
    single, multi = LIMITS[coding]
    chars = list(text)
    if coding == DCS_GSM7:
        sizes = [len(gsm7_septets(ch) or ()) for ch in chars]
    else:
        sizes = [len(ch.encode("utf-16-be")) // 2 for ch in chars]
    if sum(sizes) <= single:
        return [text]
    segments: list[str] = []
    current, used = "", 0
    for ch, size in zip(chars, sizes):
        if used + size > multi:
            segments.append(current)
            current, used = "", 0
        current += ch
        used += size
    segments.append(current)
    return segments


@dataclass(frozen=True)
class TextSegment:
    """One SMS of a text message: the user data (UDH and text) as it goes in an SMS-SUBMIT.

    ``user_data`` packs GSM text into septets after the fill bits; ``user_data_length`` is
    the TP-UDL (septets for GSM 7-bit, octets for UCS-2). ``udh`` is empty for a single SMS.
    """

    data_coding: int
    udh: bytes
    text: str
    user_data: bytes
    user_data_length: int


def encode_text(text: str, reference: int = 0, ref16: bool = False) -> list[TextSegment]:
    """The segments of a text SMS, in the fewest the coding allows."""
    coding = DCS_GSM7 if gsm7_septets(text) is not None else DCS_UCS2
    pieces = split_text(text, coding)
    out = []
    for n, piece in enumerate(pieces, start=1):
        udh = b"" if len(pieces) == 1 else UserDataHeader(
            (_concat_element(reference, len(pieces), n, ref16),)).encode()
        if coding == DCS_GSM7:
            septets = gsm7_septets(piece) or []
            fill = fill_bits_after(len(udh)) if udh else 0
            body = pack_septets(septets, fill)
            length = (len(udh) * 8 + fill) // 7 + len(septets)
        else:
            body = piece.encode("utf-16-be")
            length = len(udh) + len(body)
        out.append(TextSegment(coding, udh, piece, udh + body, length))
    return out


def decode_text(user_data: bytes, user_data_length: int, data_coding: int,
                has_udh: bool) -> tuple[UserDataHeader | None, str]:
    """Text from SMS user data (TP-UD with its TP-UDL), for GSM 7-bit or UCS-2."""
    udh = None
    offset = 0
    if has_udh:
        split = split_user_data_header(user_data)
        if split is None:
            raise ValueError("malformed user data header")
        udh = split[0]
        offset = user_data[0] + 1
    if data_coding == DCS_UCS2:
        return udh, user_data[offset:].decode("utf-16-be", "replace")
    if data_coding != DCS_GSM7:
        raise ValueError(f"data coding 0x{data_coding:02x} is not text")
    fill = fill_bits_after(offset) if offset else 0
    skip = (offset * 8 + fill) // 7
    septets = unpack_septets(user_data[offset:], max(0, user_data_length - skip), fill)
    return udh, gsm7_text(septets)
