"""SMPP 3.4 PDUs, sans-IO: framing, the commands an SMS gateway uses, TLVs, statuses, and the
text of delivery receipts (SMPP v3.4 Issue 1.2, §3 to §5 and Appendix B).

The command table and the status table are each one mapping; the encoder and the decoder are
generated from the command table's body layouts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

HEADER_SIZE = 16
#: Largest command_length accepted: a submit_sm with a full message_payload TLV fits easily.
MAX_PDU_SIZE = 65536
RESPONSE_BIT = 0x80000000


class SmppError(ValueError):
    """Malformed SMPP octets. ``status`` is the command_status the peer should be answered
    with (§5.1.3); ``fatal`` when the stream's framing is lost and the link must close."""

    def __init__(self, message: str, status: int, sequence: int = 0, command_id: int = 0,
                 fatal: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.sequence = sequence
        self.command_id = command_id
        self.fatal = fatal


# -- tables ----------------------------------------------------------------------------------

#: command_status values (§5.1.3): code -> (name, retry decision). The decision tells a
#: client what to do: "ok", "throttle" (slow down, then retry), "retry" (transient),
#: "rebind" (the session is not bound as it should be), "permanent" (do not retry).
STATUSES: dict[int, tuple[str, str]] = {
    0x00: ("ESME_ROK", "ok"), 0x01: ("ESME_RINVMSGLEN", "permanent"),
    0x02: ("ESME_RINVCMDLEN", "permanent"), 0x03: ("ESME_RINVCMDID", "permanent"),
    0x04: ("ESME_RINVBNDSTS", "rebind"), 0x05: ("ESME_RALYBND", "permanent"),
    0x06: ("ESME_RINVPRTFLG", "permanent"), 0x07: ("ESME_RINVREGDLVFLG", "permanent"),
    0x08: ("ESME_RSYSERR", "retry"), 0x0A: ("ESME_RINVSRCADR", "permanent"),
    0x0B: ("ESME_RINVDSTADR", "permanent"), 0x0C: ("ESME_RINVMSGID", "permanent"),
    0x0D: ("ESME_RBINDFAIL", "retry"), 0x0E: ("ESME_RINVPASWD", "permanent"),
    0x0F: ("ESME_RINVSYSID", "permanent"), 0x11: ("ESME_RCANCELFAIL", "permanent"),
    0x13: ("ESME_RREPLACEFAIL", "permanent"), 0x14: ("ESME_RMSGQFUL", "throttle"),
    0x15: ("ESME_RINVSERTYP", "permanent"), 0x33: ("ESME_RINVNUMDESTS", "permanent"),
    0x34: ("ESME_RINVDLNAME", "permanent"), 0x40: ("ESME_RINVDESTFLAG", "permanent"),
    0x42: ("ESME_RINVSUBREP", "permanent"), 0x43: ("ESME_RINVESMCLASS", "permanent"),
    0x44: ("ESME_RCNTSUBDL", "permanent"), 0x45: ("ESME_RSUBMITFAIL", "retry"),
    0x48: ("ESME_RINVSRCTON", "permanent"), 0x49: ("ESME_RINVSRCNPI", "permanent"),
    0x50: ("ESME_RINVDSTTON", "permanent"), 0x51: ("ESME_RINVDSTNPI", "permanent"),
    0x53: ("ESME_RINVSYSTYP", "permanent"), 0x54: ("ESME_RINVREPFLAG", "permanent"),
    0x55: ("ESME_RINVNUMMSGS", "permanent"), 0x58: ("ESME_RTHROTTLED", "throttle"),
    0x61: ("ESME_RINVSCHED", "permanent"), 0x62: ("ESME_RINVEXPIRY", "permanent"),
    0x63: ("ESME_RINVDFTMSGID", "permanent"), 0x64: ("ESME_RX_T_APPN", "retry"),
    0x65: ("ESME_RX_P_APPN", "permanent"), 0x66: ("ESME_RX_R_APPN", "permanent"),
    0x67: ("ESME_RQUERYFAIL", "permanent"), 0xC0: ("ESME_RINVOPTPARSTREAM", "permanent"),
    0xC1: ("ESME_ROPTPARNOTALLWD", "permanent"), 0xC2: ("ESME_RINVPARLEN", "permanent"),
    0xC3: ("ESME_RMISSINGOPTPARAM", "permanent"), 0xC4: ("ESME_RINVOPTPARAMVAL", "permanent"),
    0xFE: ("ESME_RDELIVERYFAILURE", "retry"), 0xFF: ("ESME_RUNKNOWNERR", "retry"),
}
STATUS_CODES = {name: code for code, (name, _) in STATUSES.items()}
ESME_ROK = 0x00


def status_name(code: int) -> str:
    return STATUSES.get(code, (f"0x{code:08X}", ""))[0]


def retry_decision(code: int) -> str:
    """What a client does after this status (vendor-specific codes 0x400..0x4FF: retry)."""
    return STATUSES.get(code, ("", "retry" if 0x400 <= code <= 0x4FF else "permanent"))[1]


# Body layouts: (field, kind). Kinds: ("c", n) C-Octet String of at most n octets with its
# NUL; ("u8",) one octet; ("sm",) sm_length then short_message.
_BIND = (("system_id", ("c", 16)), ("password", ("c", 9)), ("system_type", ("c", 13)),
         ("interface_version", ("u8",)), ("addr_ton", ("u8",)), ("addr_npi", ("u8",)),
         ("address_range", ("c", 41)))
_BIND_RESP = (("system_id", ("c", 16)),)
_SM = (("service_type", ("c", 6)), ("source_addr_ton", ("u8",)), ("source_addr_npi", ("u8",)),
       ("source_addr", ("c", 21)), ("dest_addr_ton", ("u8",)), ("dest_addr_npi", ("u8",)),
       ("destination_addr", ("c", 21)), ("esm_class", ("u8",)), ("protocol_id", ("u8",)),
       ("priority_flag", ("u8",)), ("schedule_delivery_time", ("c", 17)),
       ("validity_period", ("c", 17)), ("registered_delivery", ("u8",)),
       ("replace_if_present_flag", ("u8",)), ("data_coding", ("u8",)),
       ("sm_default_msg_id", ("u8",)), ("short_message", ("sm",)))
_MESSAGE_ID = (("message_id", ("c", 65)),)

#: Commands (§5.1.2): name -> (command_id, body layout). A response's id has the high bit.
COMMANDS: dict[str, tuple[int, tuple]] = {
    "generic_nack": (0x80000000, ()),
    "bind_receiver": (0x00000001, _BIND), "bind_receiver_resp": (0x80000001, _BIND_RESP),
    "bind_transmitter": (0x00000002, _BIND), "bind_transmitter_resp": (0x80000002, _BIND_RESP),
    "submit_sm": (0x00000004, _SM), "submit_sm_resp": (0x80000004, _MESSAGE_ID),
    "deliver_sm": (0x00000005, _SM), "deliver_sm_resp": (0x80000005, _MESSAGE_ID),
    "unbind": (0x00000006, ()), "unbind_resp": (0x80000006, ()),
    "bind_transceiver": (0x00000009, _BIND), "bind_transceiver_resp": (0x80000009, _BIND_RESP),
    "enquire_link": (0x00000015, ()), "enquire_link_resp": (0x80000015, ()),
}
COMMAND_NAMES = {cid: name for name, (cid, _) in COMMANDS.items()}

#: TLV tags used here (§5.3.2).
TLV_RECEIPTED_MESSAGE_ID = 0x001E
TLV_SOURCE_PORT = 0x020A
TLV_DESTINATION_PORT = 0x020B
TLV_SAR_MSG_REF_NUM = 0x020C
TLV_SAR_TOTAL_SEGMENTS = 0x020E
TLV_SAR_SEGMENT_SEQNUM = 0x020F
TLV_MESSAGE_PAYLOAD = 0x0424
TLV_MESSAGE_STATE = 0x0427

#: esm_class bits (§5.2.12).
ESM_UDHI = 0x40
ESM_DELIVERY_RECEIPT = 0x04


@dataclass
class Pdu:
    """One SMPP PDU: command name, status, sequence number, body fields and TLVs."""

    command: str
    sequence: int
    status: int = ESME_ROK
    fields: dict[str, Any] = field(default_factory=dict)
    tlvs: dict[int, bytes] = field(default_factory=dict)

    @property
    def command_id(self) -> int:
        return COMMANDS[self.command][0]

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)

    def response(self, status: int = ESME_ROK, **fields: Any) -> Pdu:
        """The response to this request, with the same sequence number."""
        name = COMMAND_NAMES.get(self.command_id | RESPONSE_BIT, "generic_nack")
        return Pdu(name, self.sequence, status, fields)

    def get(self, name: str, default: Any = None) -> Any:
        return self.fields.get(name, default)


def _default(kind: tuple) -> Any:
    return b"" if kind[0] == "sm" else ("" if kind[0] == "c" else 0)


def encode_pdu(pdu: Pdu) -> bytes:
    """The octets of a PDU. A response with an error status carries no body (§4.4.2)."""
    command_id, layout = COMMANDS[pdu.command]
    body = bytearray()
    if not (command_id & RESPONSE_BIT and pdu.status != ESME_ROK):
        for name, kind in layout:
            value = pdu.fields.get(name, _default(kind))
            if kind[0] == "c":
                raw = value.encode("ascii") if isinstance(value, str) else bytes(value)
                if b"\x00" in raw or len(raw) + 1 > kind[1]:
                    raise ValueError(f"{name} does not fit {kind[1]} octets")
                body += raw + b"\x00"
            elif kind[0] == "u8":
                body.append(int(value))
            else:
                if len(value) > 254:
                    raise ValueError("short_message over 254 octets: use message_payload")
                body.append(len(value))
                body += value
        for tag, value in pdu.tlvs.items():
            body += tag.to_bytes(2, "big") + len(value).to_bytes(2, "big") + value
    length = HEADER_SIZE + len(body)
    return (length.to_bytes(4, "big") + command_id.to_bytes(4, "big")
            + pdu.status.to_bytes(4, "big") + pdu.sequence.to_bytes(4, "big") + bytes(body))


def decode_pdu(frame: bytes) -> Pdu:
    """Decode one framed PDU (as :class:`Framer` yields). Raises :class:`SmppError` with the
    status to answer: ESME_RINVCMDID for an unknown command, ESME_RINVCMDLEN or
    ESME_RINVMSGLEN for a body that does not parse."""
    if len(frame) < HEADER_SIZE:
        raise SmppError("PDU shorter than its header", 0x02, fatal=True)
    command_id = int.from_bytes(frame[4:8], "big")
    status = int.from_bytes(frame[8:12], "big")
    sequence = int.from_bytes(frame[12:16], "big")
    name = COMMAND_NAMES.get(command_id)
    if name is None:
        raise SmppError(f"unknown command id 0x{command_id:08X}", 0x03, sequence, command_id)
    pdu = Pdu(name, sequence, status)
    body, pos = frame, HEADER_SIZE
    layout = COMMANDS[name][1]
    if command_id & RESPONSE_BIT and status != ESME_ROK and pos == len(body):
        return pdu
    for fname, kind in layout:
        if kind[0] == "c":
            nul = body.find(b"\x00", pos, min(len(body), pos + kind[1]))
            if nul < 0:
                if command_id & RESPONSE_BIT and pos == len(body):
                    break  # some SMSCs omit the body of a response
                raise SmppError(f"{fname}: no NUL within {kind[1]} octets", 0x02, sequence,
                                command_id)
            pdu.fields[fname] = body[pos:nul].decode("latin-1")
            pos = nul + 1
        elif kind[0] == "u8":
            if pos >= len(body):
                raise SmppError(f"{fname}: body ends early", 0x02, sequence, command_id)
            pdu.fields[fname] = body[pos]
            pos += 1
        else:
            if pos >= len(body) or pos + 1 + body[pos] > len(body):
                raise SmppError("sm_length exceeds the body", 0x01, sequence, command_id)
            pdu.fields[fname] = bytes(body[pos + 1:pos + 1 + body[pos]])
            pos += 1 + body[pos]
    while pos < len(body):
        if pos + 4 > len(body):
            raise SmppError("truncated TLV", 0xC0, sequence, command_id)
        tag = int.from_bytes(body[pos:pos + 2], "big")
        size = int.from_bytes(body[pos + 2:pos + 4], "big")
        if pos + 4 + size > len(body):
            raise SmppError(f"TLV 0x{tag:04X} longer than the body", 0xC2, sequence, command_id)
        pdu.tlvs[tag] = bytes(body[pos + 4:pos + 4 + size])
        pos += 4 + size
    return pdu


class Framer:
    """Split a byte stream into PDUs by command_length (§3.2). A length below 16 or above
    :data:`MAX_PDU_SIZE` loses the framing: SmppError with ``fatal`` set."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= 4:
            length = int.from_bytes(self._buffer[:4], "big")
            if not HEADER_SIZE <= length <= MAX_PDU_SIZE:
                sequence = int.from_bytes(self._buffer[12:16], "big") \
                    if len(self._buffer) >= 16 else 0
                self._buffer.clear()
                raise SmppError(f"command_length {length} out of range", 0x02, sequence,
                                fatal=True)
            if len(self._buffer) < length:
                break
            frames.append(bytes(self._buffer[:length]))
            del self._buffer[:length]
        return frames


# -- addresses (§5.2.5 type of number, §5.2.6 numbering plan indicator) -----------------------

TON_UNKNOWN, TON_INTERNATIONAL, TON_NATIONAL, TON_NETWORK, TON_ALPHANUMERIC = 0, 1, 2, 3, 5
NPI_UNKNOWN, NPI_E164 = 0, 1

#: How mmsc writes an address, first match wins: (kind, pattern, TON, NPI). The pattern's
#: group is what goes in the address field: an international number without its "+", as
#: SMSCs and HLRs store E.164 numbers (an SMSC that gets NPI 0 or a "+" may never deliver).
#: Short codes (3 to 8 digits) are network specific, as most SMSCs take them.
ADDRESS_RULES: tuple[tuple[str, re.Pattern[str], int, int], ...] = (
    ("international", re.compile(r"\+(\d{1,20})"), TON_INTERNATIONAL, NPI_E164),
    ("short code", re.compile(r"(\d{3,8})"), TON_NETWORK, NPI_UNKNOWN),
    ("national", re.compile(r"(\d+)"), TON_NATIONAL, NPI_E164),
    ("alphanumeric", re.compile(r"(.+)"), TON_ALPHANUMERIC, NPI_UNKNOWN),
)


@dataclass(frozen=True)
class SmppAddress:
    """An address as SMPP carries it: TON, NPI and the address field."""

    ton: int
    npi: int
    address: str


def to_smpp_address(address: str, ton: int | None = None, npi: int | None = None) -> SmppAddress:
    """The address fields for ``address`` by :data:`ADDRESS_RULES`; ``ton`` and ``npi``, when
    given, replace the rule's (for SMSCs that want something else). The "+" of an
    international number is dropped only when it goes out as TON international."""
    for _, pattern, rule_ton, rule_npi in ADDRESS_RULES:
        match = pattern.fullmatch(address)
        if match is not None:
            break
    else:  # the empty address: let the SMSC fill it in
        return SmppAddress(TON_UNKNOWN if ton is None else ton,
                           NPI_UNKNOWN if npi is None else npi, "")
    ton = rule_ton if ton is None else ton
    text = match.group(1) if ton == TON_INTERNATIONAL and rule_ton == TON_INTERNATIONAL \
        else address
    return SmppAddress(ton, rule_npi if npi is None else npi, text)


def from_smpp_address(ton: int, address: str) -> str:
    """An address an SMSC sent (deliver_sm of an MO SMS or a receipt, a submit_sm to the
    emulator) as mmsc writes it: an international number gets its "+" back."""
    if ton == TON_INTERNATIONAL and address.isdigit():
        return f"+{address}"
    return address


# -- delivery receipts (Appendix B) -----------------------------------------------------------

#: Final message states (Appendix B stat field, §5.2.28 message_state values).
RECEIPT_STATES = {"DELIVRD": 2, "EXPIRED": 3, "DELETED": 4, "UNDELIV": 5, "ACCEPTD": 6,
                  "UNKNOWN": 7, "REJECTD": 8, "ENROUTE": 1}
#: Other spellings of those states seen in receipt texts.
_STATE_ALIASES = {"DELIVERED": "DELIVRD", "UNDELIVERABLE": "UNDELIV", "FAILED": "UNDELIV",
                  "REJECTED": "REJECTD", "ACCEPTED": "ACCEPTD", "EXPIRD": "EXPIRED"}
#: What a final state says of the SMS. ENROUTE and ACCEPTD are not final: absent here.
RECEIPT_OUTCOMES = {"DELIVRD": "delivered", "UNDELIV": "undeliverable",
                    "REJECTD": "undeliverable", "EXPIRED": "undeliverable",
                    "DELETED": "undeliverable", "UNKNOWN": "unknown"}

#: The receipt text's fields, each looked for on its own: Appendix B is informative, and
#: SMSCs leave fields out (Jasmin has no sub: nor dlvrd:), reorder them, change their case.
_RECEIPT_FIELDS = {
    "id": re.compile(r"(?:^|\s)id:\s*(\S+)", re.I),
    "stat": re.compile(r"(?:^|\s)stat:\s*(\w+)", re.I),
    "err": re.compile(r"(?:^|\s)err:\s*(\w+)", re.I),
    "submit": re.compile(r"(?:^|\s)submit[ _]date:\s*(\d+)", re.I),
    "done": re.compile(r"(?:^|\s)done[ _]date:\s*(\d+)", re.I),
}
_RECEIPT_TEXT = re.compile(r"(?:^|\s)text:", re.I)
_RECEIPT_DATES = {10: "%y%m%d%H%M", 12: "%y%m%d%H%M%S", 14: "%Y%m%d%H%M%S"}


@dataclass(frozen=True)
class Receipt:
    """The text of an SMSC delivery receipt."""

    message_id: str
    state: str
    error: str = "000"
    submitted: datetime | None = None
    done: datetime | None = None
    text: str = ""

    @property
    def outcome(self) -> str | None:
        """"delivered", "undeliverable", "unknown", or None while not final."""
        return RECEIPT_OUTCOMES.get(self.state)


def _receipt_date(value: datetime | None) -> str:
    return value.strftime("%y%m%d%H%M") if value else ""


def format_receipt(receipt: Receipt) -> bytes:
    """Receipt text as SMSCs write it: ``id:... sub:001 dlvrd:001 submit date:YYMMDDhhmm
    done date:YYMMDDhhmm stat:DELIVRD err:000 text:...``."""
    delivered = "001" if receipt.state == "DELIVRD" else "000"
    return (f"id:{receipt.message_id} sub:001 dlvrd:{delivered} "
            f"submit date:{_receipt_date(receipt.submitted)} "
            f"done date:{_receipt_date(receipt.done)} stat:{receipt.state} err:{receipt.error} "
            f"text:{receipt.text[:20]}").encode("latin-1", "replace")


def _state(value: str) -> str:
    """A stat field as one of RECEIPT_STATES' names (a number is a message_state value)."""
    value = value.upper()
    if value.isdigit():
        return next((k for k, v in RECEIPT_STATES.items() if v == int(value)), "UNKNOWN")
    return _STATE_ALIASES.get(value, value)


def parse_receipt(short_message: bytes) -> Receipt | None:
    """The receipt in a deliver_sm's text, or None when it has no id or no stat. Fields
    are found wherever they are; what follows ``text:`` is the message's start, never
    fields; dates of 10, 12 or 14 digits are read, others left out."""
    body = short_message.decode("latin-1")
    cut = _RECEIPT_TEXT.search(body)
    head, text = (body[:cut.start()], body[cut.end():]) if cut else (body, "")
    found = {name: m.group(1) for name, pattern in _RECEIPT_FIELDS.items()
             if (m := pattern.search(head)) is not None}
    if "id" not in found or "stat" not in found:
        return None

    def date(name: str) -> datetime | None:
        value = found.get(name, "")
        try:
            return datetime.strptime(value, _RECEIPT_DATES[len(value)])
        except (KeyError, ValueError):
            return None

    return Receipt(found["id"], _state(found["stat"]), found.get("err", ""), date("submit"),
                   date("done"), text.strip())


def read_receipt(short_message: bytes, receipted_message_id: str | None = None,
                 message_state: int | None = None,
                 network_error_code: bytes | None = None) -> Receipt | None:
    """The receipt of a deliver_sm: its text, with the TLVs in the lead where present
    (receipted_message_id §5.3.2.12, message_state §5.3.2.35; network_error_code
    §5.3.2.31, a network type octet and a 16-bit error, stands in for a missing err).
    None when neither the TLVs nor the text say which message and what became of it."""
    text = parse_receipt(short_message)
    message_id = (receipted_message_id or "").rstrip("\x00") or (text and text.message_id)
    state = _state(str(message_state)) if message_state is not None else \
        (text.state if text else None)
    if not message_id or state is None:
        return None
    error = text.error if text and text.error else ""
    if not error and network_error_code is not None and len(network_error_code) == 3:
        error = f"{int.from_bytes(network_error_code[1:], 'big'):03d}"
    if text is None:
        return Receipt(message_id, state, error or "000")
    return Receipt(message_id, state, error or "000", text.submitted, text.done, text.text)


def message_id_keys(message_id: str) -> tuple[str, ...]:
    """The forms an SMSC message id is looked up under, best first: as written (lower case,
    leading zeros dropped: the stored form is this one), then, for SMSCs that answer
    submit_sm in one base and write receipts in the other, a decimal id written in hex and
    a hex id written in decimal. An id qualified by its SMSC route (``route:id``, see
    :mod:`wap_push.routes`) keeps its qualifier in front of every form."""
    route, colon, text = message_id.strip().lower().rpartition(":")
    keys = [text.lstrip("0") or "0"] if text else []
    if text.isdigit() and len(text) <= 20:
        keys.append(f"{int(text):x}")
    if text and len(text) <= 16 and all(c in "0123456789abcdef" for c in text):
        keys.append(str(int(text, 16)))
    return tuple(dict.fromkeys(route + colon + k for k in keys))
