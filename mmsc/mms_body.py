"""MM ⇄ MMS binary encapsulation (OMA-MMS-ENC 1.3), as carried by MM1.

:func:`to_pdu` gives the m-send-req a handset would send, or the m-retrieve-conf an MMSC
hands over; :func:`from_pdu` reads either (or any PDU with content) into a :class:`Message`.
Only the fields that the PDU type lists (§6) are written: Bcc, for one, never reaches an
m-retrieve-conf. Part octets pass through untouched, in their declared charset.
"""

from __future__ import annotations

from wap_push.wsp import ANY_CHARSET, ContentType, Disposition, EncodedString, Part

from .message import RELATED, Envelope, Message, MessagePart, strip_brackets
from .pdu import (
    LAYOUTS, InsertAddress, MessageClass, MessageType, MmsPdu, Priority, ReplyCharging,
    SenderVisibility,
)
from .pdu.values import Token

#: WSP multipart types for each MM multipart kind (WAP-230-WSP Table 40; OMA-MMS-ENC §7.3.11).
_MULTIPART_TYPES = {
    "related": "application/vnd.wap.multipart.related",
    "mixed": "application/vnd.wap.multipart.mixed",
    "alternative": "application/vnd.wap.multipart.alternative",
}
_MULTIPART_KINDS = {media: kind for kind, media in _MULTIPART_TYPES.items()}
#: Envelope attributes that are tokens in the PDU: attribute -> token table.
_TOKENS: dict[str, type[Token]] = {
    "message_class": MessageClass, "priority": Priority,
    "sender_visibility": SenderVisibility, "reply_charging": ReplyCharging,
}
#: Envelope attributes carried by the PDU as they are.
_SAME = ("transaction_id", "message_id", "date", "expiry", "delivery_report",
         "reply_charging_deadline", "reply_charging_size", "reply_charging_id")


def to_pdu(message: Message, message_type: MessageType = MessageType.SEND_REQ) -> MmsPdu:
    """The MM as a PDU of ``message_type``, with the fields that type lists (§6)."""
    env = message.envelope
    allowed = {name.rstrip("!") for name in LAYOUTS[message_type].split()}
    values: dict[str, object] = {}
    for attr in _SAME:
        values[attr] = getattr(env, attr)
    values["sender"] = EncodedString(env.originator) if env.originator else InsertAddress.TOKEN
    values["delivery_time"] = env.earliest_delivery
    values["read_report"] = env.read_report
    values["subject"] = env.subject if env.subject is None or isinstance(env.subject, EncodedString) \
        else EncodedString(env.subject)
    for attr in ("to", "cc", "bcc"):
        values[attr] = [a if isinstance(a, EncodedString) else EncodedString(a)
                        for a in getattr(env, attr)]
    for attr, table in _TOKENS.items():
        values[attr] = _token(table, getattr(env, attr))
    pdu = MmsPdu(message_type, **{k: v for k, v in values.items() if k in allowed})
    if message_type == MessageType.RETRIEVE_CONF and pdu.sender is InsertAddress.TOKEN:
        pdu.sender = None  # the insert-address token belongs to requests only (§7.3.21)
    pdu.extra_headers = list(env.extra_headers)
    pdu.content_type, pdu.parts = _content(message)
    return pdu


def _token(table: type[Token], label: str | None) -> Token | str | None:
    if label is None:
        return None
    try:
        return table.from_label(label)
    except ValueError:
        return label if table is MessageClass else None  # a class may be Token-text (§7.3.27)


def _content(message: Message) -> tuple[ContentType, list[Part]]:
    message = message.root_first()
    params: dict[str, str] = {}
    root = message.root
    if message.multipart == RELATED and root is not None:
        if root.content_id:
            params["start"] = f"<{root.content_id}>"
        params["type"] = root.media_type
    media = _MULTIPART_TYPES.get(message.multipart, _MULTIPART_TYPES["mixed"])
    return ContentType(media, params), [_part(p) for p in message.parts]


def _part(part: MessagePart) -> Part:
    params = dict(part.params)
    if part.charset:
        params = {"charset": part.charset, **params}
    headers: list[tuple[str, object]] = []
    if part.content_id:
        headers.append(("Content-ID", f"<{part.content_id}>"))
    if part.content_location:
        headers.append(("Content-Location", part.content_location))
    if part.disposition or part.filename:
        extra = {"filename": part.filename} if part.filename else {}
        headers.append(("Content-Disposition", Disposition(part.disposition or "attachment", extra)))
    return Part(ContentType(part.content_type, params), headers, part.data)  # type: ignore[arg-type]


def from_pdu(pdu: MmsPdu) -> Message:
    """The MM a PDU carries (m-send-req, m-retrieve-conf, m-forward-req, ...)."""
    env = Envelope(**{attr: getattr(pdu, attr) for attr in _SAME})
    sender = pdu.sender
    env.originator = sender if isinstance(sender, str) else None
    env.earliest_delivery = pdu.delivery_time
    env.read_report = pdu.read_report
    env.subject = pdu.subject
    env.to, env.cc, env.bcc = list(pdu.to), list(pdu.cc), list(pdu.bcc)
    for attr in _TOKENS:
        value = getattr(pdu, attr)
        setattr(env, attr, value.label if isinstance(value, Token) else
                (value if isinstance(value, str) else None))
    env.extra_headers = [(n, v) for n, v in pdu.extra_headers if isinstance(v, str)]
    message = Message(env, warnings=list(pdu.warnings))
    content_type = pdu.content_type
    if content_type is None:
        return message
    if pdu.parts is None:
        message.parts.append(_message_part(Part(content_type, [], pdu.body or b"")))
        return message
    message.multipart = _MULTIPART_KINDS.get(content_type.media_type.lower(), "mixed")
    start = content_type.params.get("start")
    if start:
        message.start = strip_brackets(start)
    message.parts = [_message_part(p) for p in pdu.parts]
    return message


def _message_part(part: Part) -> MessagePart:
    params = dict(part.content_type.params)
    charset = params.pop("charset", None)
    disposition = part.header("Content-Disposition")
    kind = filename = None
    if isinstance(disposition, Disposition):
        kind, filename = disposition.kind, disposition.params.get("filename")
    content_id = part.content_id
    return MessagePart(
        content_type=part.content_type.media_type, data=bytes(part.data),
        charset=None if charset == ANY_CHARSET else charset,
        content_id=strip_brackets(content_id) if content_id else None,
        content_location=part.content_location, params=params,
        disposition=kind, filename=filename)
