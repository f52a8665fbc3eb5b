"""MM4 PDUs (3GPP TS 23.140 §8.4) as RFC 5322 messages: MM4_forward.REQ/RES,
MM4_delivery_report.REQ/RES and MM4_read_reply_report.REQ/RES. Sans-IO: octets in, a
:class:`Pdu` out, and back.

The MM4 information elements are ``X-Mms-*`` header fields; the forwarded MM travels as the
body (multipart/related or multipart/mixed, read and written by :mod:`mmsc.mime`, whose
header table already names the envelope fields as MM4 does). Addresses are the MMS address
with the MMSC's domain (GSMA IR.52): ``+33612345678/TYPE=PLMN@mms.mnc001.mcc208.3gppnetwork.org``.

What other implementations send is taken as it comes: header names in any case, the
message type in any case (``MM4_Delivery_report.RES``), the version under either name
(``X-Mms-3GPP-MMS-Version``, ``X-Mms-3GPP-Version``) and any 5.x or 6.x value, a numeric
request status (0 for Ok), ``From``/``To`` without a domain, Content-IDs without angle
brackets. What cannot be read raises :class:`Mm4Error` with the request status code that
answers it.
"""

from __future__ import annotations

import email.utils
import enum
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from email.message import Message as MimeEntity

from mmsc.message import Message
from mmsc.mime import content_from_mime, encode_words, envelope_from_headers, to_mime
from mmsc.mime_parse import damage, parse_entity

from . import status as st

#: The version of TS 23.140 mmsc writes (X-Mms-3GPP-MMS-Version).
VERSION = "6.8.0"
#: The local part of an MMSC's own address, where answers and reports go (IR.52).
SYSTEM_USER = "system-user"

VERSION_HEADER = "X-Mms-3GPP-MMS-Version"
_VERSION_NAMES = ("x-mms-3gpp-mms-version", "x-mms-3gpp-version")
TYPE_HEADER = "X-Mms-Message-Type"
TRANSACTION_HEADER = "X-Mms-Transaction-ID"
MESSAGE_ID_HEADER = "X-Mms-Message-ID"
ACK_HEADER = "X-Mms-Ack-Request"
ORIGINATOR_SYSTEM_HEADER = "X-Mms-Originator-System"
REQUEST_STATUS_HEADER = "X-Mms-Request-Status-Code"
STATUS_TEXT_HEADER = "X-Mms-Status-Text"
MM_STATUS_HEADER = "X-Mms-MM-Status-Code"
READ_STATUS_HEADER = "X-Mms-Read-Status"
FORWARD_COUNTER_HEADER = "X-Mms-Forward-Counter"
#: The MM4 fields this codec reads itself (the envelope fields are :mod:`mmsc.mime`'s).
_OWN = {*_VERSION_NAMES, *(name.lower() for name in (
    TYPE_HEADER, ACK_HEADER, ORIGINATOR_SYSTEM_HEADER, REQUEST_STATUS_HEADER,
    STATUS_TEXT_HEADER, MM_STATUS_HEADER, READ_STATUS_HEADER, FORWARD_COUNTER_HEADER,
    "message-id"))}

FORMAT_CORRUPT = "Error-message-format-corrupt"
UNSUPPORTED = "Error-unsupported-message"
ADDRESS_UNRESOLVED = "Error-sending-address-unresolved"


class Kind(enum.StrEnum):
    """X-Mms-Message-Type of MM4 (TS 23.140 §8.4)."""

    FORWARD_REQ = "MM4_forward.REQ"
    FORWARD_RES = "MM4_forward.RES"
    DELIVERY_REPORT_REQ = "MM4_delivery_report.REQ"
    DELIVERY_REPORT_RES = "MM4_delivery_report.RES"
    READ_REPLY_REQ = "MM4_read_reply_report.REQ"
    READ_REPLY_RES = "MM4_read_reply_report.RES"

    @classmethod
    def of(cls, text: str) -> Kind | None:
        """The type a peer wrote, in any case; None when MM4 has no such type."""
        key = text.strip().lower()
        return next((kind for kind in cls if kind.value.lower() == key), None)

    @property
    def is_request(self) -> bool:
        return self.value.endswith(".REQ")

    @property
    def answer(self) -> Kind:
        """The RES that answers this REQ."""
        return Kind(self.value[:-4] + ".RES")


class Mm4Error(ValueError):
    """An MM4 message that cannot be taken; ``status`` is the X-Mms-Request-Status-Code
    that answers it, ``pdu`` what could be read of it (to answer to)."""

    def __init__(self, status: str, why: str, pdu: Pdu | None = None) -> None:
        super().__init__(why)
        self.status = status
        self.pdu = pdu


@dataclass
class Pdu:
    """One MM4 PDU. ``sender`` and ``recipients`` are the From and To fields as MMS addresses
    (the domain of a PLMN address taken off, see :func:`local_address`). ``status`` is the
    request status label of a RES, the MM status label of a delivery report, the read status
    label of a read-reply report. ``message`` is the MM of a forward (its envelope's
    addresses as MMS addresses too)."""

    kind: Kind
    transaction_id: str
    message_id: str | None = None
    sender: str | None = None
    recipients: list[str] = field(default_factory=list)
    originator_system: str | None = None
    ack_request: bool = False
    status: str | None = None
    status_text: str | None = None
    date: datetime | None = None
    version: str = VERSION
    forward_counter: int | None = None
    message: Message | None = None


# -- addresses ---------------------------------------------------------------------------------

def local_address(text: str) -> str:
    """An MMS address from an MM4 one: ``+336.../TYPE=PLMN@domain`` (or ``+336...@domain``)
    → ``+336.../TYPE=PLMN``; an e-mail address stays as it is."""
    address = text.strip().strip("<>")
    local, at, _domain = address.rpartition("@")
    if not at:
        local = address
    number = local[: -len("/TYPE=PLMN")] if local.upper().endswith("/TYPE=PLMN") else local
    digits = number[1:] if number.startswith("+") else number
    if digits.isdigit() and 3 <= len(digits) <= 20:
        return f"{number}/TYPE=PLMN"
    return address


def mm4_address(address: str, domain: str) -> str:
    """The MM4 form of an MMS address: a PLMN address with ``@domain``; others as they are."""
    text = address.strip()
    return f"{text}@{domain}" if text.upper().endswith("/TYPE=PLMN") else text


def domain_of(address: str) -> str:
    """The domain of an address (lower case), empty when it has none."""
    return address.strip().strip("<>").rpartition("@")[2].lower() \
        if "@" in address else ""


def system_address(domain: str) -> str:
    """An MMSC's own address (X-Mms-Originator-System, the sender of RES and reports)."""
    return f"{SYSTEM_USER}@{domain}"


# -- reading -----------------------------------------------------------------------------------

def kind_of(entity: MimeEntity) -> str | None:
    """The X-Mms-Message-Type as written, or None: not MM4 (an e-mail, for MM3)."""
    value = entity.get(TYPE_HEADER)
    return str(value).strip() if value is not None else None


def parse(data: bytes) -> Pdu | None:
    """The MM4 PDU in ``data``; None when it has no X-Mms-Message-Type (not MM4). Raises
    :class:`Mm4Error` for an unknown type, a missing mandatory field, or a damaged body."""
    entity = parse_entity(data)
    written = kind_of(entity)
    if written is None:
        return None
    return parse_entity_pdu(entity, written)


def parse_entity_pdu(entity: MimeEntity, written: str) -> Pdu:
    """:func:`parse` of an entity already read, whose X-Mms-Message-Type is ``written``."""
    def header(name: str) -> str | None:
        value = entity.get(name)
        return " ".join(str(value).split()) if value is not None else None

    pdu = Pdu(kind=Kind.FORWARD_REQ, transaction_id=header(TRANSACTION_HEADER) or "",
              message_id=header(MESSAGE_ID_HEADER),
              originator_system=header(ORIGINATOR_SYSTEM_HEADER),
              ack_request=(header(ACK_HEADER) or "").lower() in ("yes", "true", "1"),
              status_text=header(STATUS_TEXT_HEADER))
    pdu.version = next((v for n in _VERSION_NAMES if (v := header(n))), VERSION)
    kind = Kind.of(written)
    if kind is None:  # no RES answers a type MM4 does not have
        raise Mm4Error(UNSUPPORTED, f"unknown MM4 message type {written!r}")
    pdu.kind = kind
    senders = email.utils.getaddresses([header("From") or ""])
    pdu.sender = local_address(senders[0][1] or senders[0][0]) if senders and any(
        senders[0]) else None
    pdu.recipients = [local_address(a or n) for n, a in
                      email.utils.getaddresses([header("To") or ""]) if a or n]
    date = header("Date")
    if date:
        try:
            pdu.date = email.utils.parsedate_to_datetime(date)
        except (TypeError, ValueError):
            pdu.date = None
    if not pdu.transaction_id:
        raise Mm4Error(FORMAT_CORRUPT, f"{kind} without {TRANSACTION_HEADER}", pdu)
    if kind.is_request and not pdu.message_id:
        raise Mm4Error(FORMAT_CORRUPT, f"{kind} without {MESSAGE_ID_HEADER}", pdu)
    if kind == Kind.FORWARD_REQ:
        _read_forward(entity, pdu)
    elif not kind.is_request:
        written_status = header(REQUEST_STATUS_HEADER)
        if written_status is None:
            raise Mm4Error(FORMAT_CORRUPT, f"{kind} without {REQUEST_STATUS_HEADER}", pdu)
        pdu.status = st.request_status(written_status) or "Error-unspecified"
    elif kind == Kind.DELIVERY_REPORT_REQ:
        mm_status = st.mm_status(header(MM_STATUS_HEADER) or "")
        if mm_status is None:
            raise Mm4Error(FORMAT_CORRUPT, f"{kind}: no known {MM_STATUS_HEADER}", pdu)
        pdu.status = st.mm_status_label(mm_status)
    else:
        read = st.read_status(header(READ_STATUS_HEADER) or "")
        if read is None:
            raise Mm4Error(FORMAT_CORRUPT, f"{kind}: no known {READ_STATUS_HEADER}", pdu)
        pdu.status = st.read_status_label(read)
    if kind.is_request and kind != Kind.FORWARD_REQ and pdu.sender is None:
        raise Mm4Error(FORMAT_CORRUPT, f"{kind} without From (the recipient)", pdu)
    return pdu


def _read_forward(entity: MimeEntity, pdu: Pdu) -> None:
    """The MM of an MM4_forward.REQ, with its envelope in MMS addresses."""
    hurt = damage(entity)
    if hurt is not None:
        raise Mm4Error(FORMAT_CORRUPT, f"damaged body: {hurt}", pdu)
    message = content_from_mime(entity)
    env = envelope_from_headers(entity, message.warnings.append)
    counter = next((v for n, v in env.extra_headers if n.lower() == "x-mms-forward-counter"),
                   "")
    pdu.forward_counter = int(counter) if counter.strip().isdigit() else None
    message.envelope = replace(
        env, originator=local_address(env.originator) if env.originator else None,
        to=[local_address(a) for a in env.to], cc=[local_address(a) for a in env.cc],
        bcc=[local_address(a) for a in env.bcc],
        extra_headers=[(n, v) for n, v in env.extra_headers if n.lower() not in _OWN])
    if message.envelope.originator is None:
        raise Mm4Error(ADDRESS_UNRESOLVED, "MM4_forward.REQ without From", pdu)
    if not message.parts:
        raise Mm4Error("Error-content-not-accepted", "MM4_forward.REQ without content", pdu)
    pdu.message = message


# -- writing -----------------------------------------------------------------------------------

def encode_forward(message: Message, *, transaction_id: str, domain: str,
                   recipient_domain: str, ack_request: bool = True,
                   forward_counter: int = 1) -> bytes:
    """An MM4_forward.REQ of ``message`` (its envelope's ``message_id`` is the
    X-Mms-Message-ID) from the MMSC of ``domain``: the sender's PLMN address gets ``domain``,
    the recipients' ``recipient_domain`` (the peer's); Bcc is left out (RFC 5322 §3.6.3)."""
    env = message.envelope
    own = {name.lower() for name in (VERSION_HEADER, *_OWN)}
    extra = [(VERSION_HEADER, VERSION), (TYPE_HEADER, Kind.FORWARD_REQ.value),
             (ACK_HEADER, "Yes" if ack_request else "No"),
             (ORIGINATOR_SYSTEM_HEADER, system_address(domain)),
             (FORWARD_COUNTER_HEADER, str(forward_counter)),
             ("Message-ID", f"<{env.message_id}@{domain}>"),
             *((n, v) for n, v in env.extra_headers if n.lower() not in own)]
    copy = replace(message, envelope=replace(
        env, transaction_id=transaction_id,
        originator=mm4_address(env.originator, domain) if env.originator else None,
        to=[mm4_address(a, recipient_domain) for a in env.to],
        cc=[mm4_address(a, recipient_domain) for a in env.cc], bcc=[],
        date=env.date or datetime.now(timezone.utc), extra_headers=extra))
    return to_mime(copy, include_bcc=False)


def encode(pdu: Pdu) -> bytes:
    """A RES, MM4_delivery_report.REQ or MM4_read_reply_report.REQ (no content): the fields
    as headers, ``sender`` and ``recipients`` written as given (MM4 form), an empty body."""
    if pdu.kind == Kind.FORWARD_REQ:
        raise ValueError("an MM4_forward.REQ is written by encode_forward")
    date = pdu.date or datetime.now(timezone.utc)
    headers = [("From", pdu.sender or ""), ("To", ", ".join(pdu.recipients)),
               ("Date", email.utils.format_datetime(date)),
               (VERSION_HEADER, pdu.version), (TYPE_HEADER, pdu.kind.value),
               (TRANSACTION_HEADER, pdu.transaction_id), (MESSAGE_ID_HEADER, pdu.message_id),
               (ORIGINATOR_SYSTEM_HEADER, pdu.originator_system)]
    if pdu.kind.is_request:
        headers.append((ACK_HEADER, "Yes" if pdu.ack_request else "No"))
    status_header = {Kind.DELIVERY_REPORT_REQ: MM_STATUS_HEADER,
                     Kind.READ_REPLY_REQ: READ_STATUS_HEADER}.get(pdu.kind,
                                                                   REQUEST_STATUS_HEADER)
    headers += [(status_header, pdu.status), (STATUS_TEXT_HEADER, pdu.status_text),
                ("MIME-Version", "1.0"), ("Content-Type", "text/plain; charset=us-ascii")]
    lines = [f"{name}: {encode_words(value)}\r\n" for name, value in headers if value]
    return ("".join(lines) + "\r\n").encode("ascii")


def answer(request: Pdu, status: str, *, domain: str, to: str, text: str | None = None) -> Pdu:
    """The RES to ``request`` with the request status ``status``, from this MMSC to ``to``
    (the request's X-Mms-Originator-System, else its SMTP envelope sender)."""
    return Pdu(request.kind.answer, request.transaction_id, message_id=request.message_id,
               sender=system_address(domain), recipients=[to], status=status,
               status_text=text)
