"""MM ⇄ MIME (RFC 2045-2047, RFC 2387 multipart/related), as stored and as carried by MM7 and MM4.

The envelope travels in the message headers, named as MM4 names them (3GPP TS 23.140 §8.4.1:
``X-Mms-Message-ID``, ``X-Mms-Read-Reply``, ...); the content as a multipart/related (root
first, ``type`` and ``start`` parameters) or a multipart/mixed. Part data are carried
byte-exact: quoted-printable with CR and LF escaped for mostly-ASCII text, base64 otherwise,
7bit only for plain CRLF text, so a reading gives back the very octets that were written.
"""

from __future__ import annotations

import binascii
import email.header
import email.policy
import email.utils
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import Message as MimeEntity
from typing import Callable, Iterable
from urllib.parse import quote

from .mime_parse import multipart_body, parse_entity
from .message import RELATED, Envelope, Message, MessagePart, MimeContent, ReceivedContent, \
    TimeSpec, strip_brackets

#: compat32 keeps header values as written (MMS addresses such as ``+336.../TYPE=PLMN`` are
#: not RFC 5322 addresses and must not be re-parsed); CRLF line ends as MM4 and MM7 send.
POLICY = email.policy.compat32.clone(linesep="\r\n", max_line_length=78)
#: Header fields of the MIME structure itself, never envelope fields.
_STRUCTURAL = {"mime-version", "content-type", "content-transfer-encoding", "content-id",
               "content-location", "content-disposition", "content-description"}


# -- header value codecs: text <-> envelope value ----------------------------------------------

def _read_text(value: str, warn: Callable[[str], None]) -> str:
    return value.strip()


def _read_subject(value: str, warn: Callable[[str], None]) -> str:
    return value  # spaces are part of a subject ("Fwd: ")


def _read_bool(value: str, warn: Callable[[str], None]) -> bool | None:
    word = value.strip().lower()
    if word in ("yes", "true", "1"):
        return True
    if word in ("no", "false", "0"):
        return False
    warn(f"not Yes or No: {value!r}")
    return None


def _read_int(value: str, warn: Callable[[str], None]) -> int | None:
    if value.strip().isdigit():
        return int(value.strip())
    warn(f"not a number: {value!r}")
    return None


def _read_date(value: str, warn: Callable[[str], None]) -> datetime | None:
    try:
        date = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        warn(f"not an RFC 5322 date: {value!r}")
        return None
    return date if date.tzinfo else date.replace(tzinfo=timezone.utc)


def _read_time(value: str, warn: Callable[[str], None]) -> TimeSpec | None:
    """An absolute date, or a relative time in seconds (TS 23.140 §8.4.1.1 X-Mms-Expiry)."""
    if value.strip().isdigit():
        return timedelta(seconds=int(value.strip()))
    return _read_date(value, warn)


def _read_addresses(values: list[str]) -> list[str]:
    """Addresses of To/Cc/Bcc/From; a display name is dropped, a bare MMS address such as
    ``+33600000001/TYPE=PLMN`` is kept as written."""
    found = []
    for name, address in email.utils.getaddresses(values):
        address = address or name
        if address:
            found.append(address)
    return found


def _write_bool(value: bool) -> str:
    return "Yes" if value else "No"


def _write_date(value: datetime) -> str:
    return email.utils.format_datetime(value if value.tzinfo else value.replace(tzinfo=timezone.utc))


def _write_time(value: TimeSpec) -> str:
    if isinstance(value, timedelta):
        return str(int(value.total_seconds()))
    return _write_date(value)


def _write_text(value: str) -> str:
    return encode_words(value)


@dataclass(frozen=True)
class HeaderRow:
    """One envelope field carried as a MIME header: its name, the Envelope attribute, and the
    reader and writer of its text form."""

    name: str
    attr: str
    read: Callable[[str, Callable[[str], None]], object]
    write: Callable[[object], str]


def _row(name: str, attr: str, read: Callable, write: Callable = str) -> HeaderRow:  # type: ignore[type-arg]
    return HeaderRow(name, attr, read, write)


#: Envelope fields in MIME headers (TS 23.140 §8.4.1.1 MM4 names, §8.7 MM7 element names).
HEADERS: tuple[HeaderRow, ...] = (
    _row("X-Mms-Message-ID", "message_id", _read_text),
    _row("X-Mms-Transaction-ID", "transaction_id", _read_text),
    _row("Date", "date", _read_date, _write_date),
    _row("Subject", "subject", _read_subject, _write_text),
    _row("X-Mms-Expiry", "expiry", _read_time, _write_time),
    _row("X-Mms-Earliest-Delivery-Time", "earliest_delivery", _read_time, _write_time),
    _row("X-Mms-Message-Class", "message_class", _read_text),
    _row("X-Mms-Priority", "priority", _read_text),
    _row("X-Mms-Delivery-Report", "delivery_report", _read_bool, _write_bool),
    _row("X-Mms-Read-Reply", "read_report", _read_bool, _write_bool),
    _row("X-Mms-Sender-Visibility", "sender_visibility", _read_text),
    _row("X-Mms-VASP-ID", "vasp_id", _read_text),
    _row("X-Mms-VAS-ID", "vas_id", _read_text),
    _row("X-Mms-Service-Code", "service_code", _read_text),
    _row("X-Mms-Linked-ID", "linked_id", _read_text),
    _row("X-Mms-Reply-Charging", "reply_charging", _read_text),
    _row("X-Mms-Reply-Charging-Deadline", "reply_charging_deadline", _read_time, _write_time),
    _row("X-Mms-Reply-Charging-Size", "reply_charging_size", _read_int),
    _row("X-Mms-Reply-Charging-ID", "reply_charging_id", _read_text),
)
_ADDRESS_HEADERS = (("From", "originator"), ("To", "to"), ("Cc", "cc"), ("Bcc", "bcc"))
_BY_NAME = {row.name.lower(): row for row in HEADERS}
_KNOWN = _STRUCTURAL | set(_BY_NAME) | {name.lower() for name, _ in _ADDRESS_HEADERS}


# -- RFC 2047 ----------------------------------------------------------------------------------

_FOLD = re.compile(r"\r?\n(?=[ \t])")  # RFC 5322 §2.2.3 unfolding


def decode_words(value: str | email.header.Header, warn: Callable[[str], None]) -> str:
    """Header text with RFC 2047 encoded-words decoded. Raw 8-bit octets (handsets that put
    UTF-8 straight into headers; the parser hands them over as a Header of unknown-8bit) are
    read as UTF-8; an unknown charset is a warning."""
    if isinstance(value, email.header.Header):
        value = "".join(chunk.decode("utf-8", "replace") if isinstance(chunk, bytes) else chunk
                        for chunk, _charset in email.header.decode_header(value))
    value = _FOLD.sub("", value)
    if "=?" not in value:
        return value
    try:
        return str(email.header.make_header(email.header.decode_header(value)))
    except LookupError as exc:
        warn(f"header {value!r}: {exc}; read as UTF-8")
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        warn(f"header {value!r}: broken encoded-word ({exc}); kept as written")
        return value
    return "".join(chunk.decode("utf-8", "replace") if isinstance(chunk, bytes) else chunk
                   for chunk, _charset in email.header.decode_header(value))


def encode_words(text: str) -> str:
    """Text for a header: as is when ASCII, else RFC 2047 encoded-words in UTF-8 (also for
    text with leading or trailing spaces, which a header line would lose)."""
    if text.isascii() and "\n" not in text and "\r" not in text and text == text.strip():
        return text
    if any("\udc80" <= c <= "\udcff" for c in text):  # octets that were not valid text
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return email.header.Header(text, "utf-8").encode()


# -- MM -> MIME --------------------------------------------------------------------------------

def to_mime(message: Message, *, include_bcc: bool = True) -> bytes:
    """The MM as a MIME message: envelope headers, then the content with its root first.
    ``include_bcc=False`` for copies that go to recipients (RFC 5322 §3.6.3)."""
    content = _as_received(message) or content_to_mime(message)
    headers: list[tuple[str, str]] = []
    env = message.envelope
    for name, attr in _ADDRESS_HEADERS:
        value = getattr(env, attr)
        if attr == "bcc" and not include_bcc:
            continue
        addresses = [value] if isinstance(value, str) else list(value or ())
        if addresses:
            headers.append((name, ", ".join(addresses)))
    for row in HEADERS:
        value = getattr(env, row.attr)
        if value is not None:
            headers.append((row.name, row.write(value)))
    headers += [(name, encode_words(value)) for name, value in env.extra_headers]
    headers += [("MIME-Version", "1.0"), ("Content-Type", content.content_type)]
    return _header_block(headers) + content.body


def _as_received(message: Message) -> MimeContent | None:
    """The content as it came (:func:`keep_received`) while the message still has the shape
    read from it; None when it has changed since, or came otherwise."""
    received = message.received
    if received is None or message.shape != received.shape:
        return None
    return received.mime


def content_to_mime(message: Message) -> MimeContent:
    """The content as multipart/related with ``type`` and ``start`` (RFC 2387 §3.1-3.2) and
    the root first, or multipart/mixed. The body is assembled directly from the encoded
    parts (the stdlib generator rewrites every line, 50 times slower on large media)."""
    message = message.root_first()
    encoded = [(_part_headers(part), *_transfer_encode(part)) for part in message.parts]
    boundary = _boundary(payload for _headers, cte, payload in encoded if cte == "7bit")
    params = [f"multipart/{message.multipart}"]
    root = message.root
    if message.multipart == RELATED and root is not None:
        params.append(f'type="{root.media_type}"')
        if root.content_id:
            params.append(f'start="<{root.content_id}>"')
    params.append(f'boundary="{boundary}"')
    delimiter = b"--" + boundary.encode("ascii")
    chunks = []
    for headers, cte, payload in encoded:
        chunks += [delimiter, b"\r\n", _header_block([*headers, ("Content-Transfer-Encoding", cte)]),
                   payload, b"\r\n"]
    chunks += [delimiter, b"--\r\n"]
    return MimeContent("; ".join(params), b"".join(chunks))


def _boundary(plain_payloads: Iterable[bytes]) -> str:
    """A boundary no payload contains. Base64 and quoted-printable output cannot hold
    ``=_`` (RFC 2045 §6.7, §6.8), so only 7bit payloads need checking."""
    payloads = list(plain_payloads)
    while True:
        boundary = f"=_mmsc_{secrets.token_hex(12)}"
        if not any(boundary.encode("ascii") in payload for payload in payloads):
            return boundary


def _header_block(headers: list[tuple[str, str]]) -> bytes:
    """Header lines folded by the stdlib (RFC 5322 §2.2.3), ending with the empty line. A
    value that is not ASCII (an odd address or id from a handset) goes as encoded-words."""
    return b"".join(_header_line(name, value if value.isascii() else encode_words(value))
                    for name, value in headers if _TOKEN.fullmatch(name)) + b"\r\n"


def _header_line(name: str, value: str) -> bytes:
    """``POLICY.fold_binary(name, value)``; a short printable ASCII line, which it leaves
    as it is, is written directly (the stdlib's folding costs 5 µs a line)."""
    if len(name) + len(value) <= POLICY.max_line_length - 2 and _PRINTABLE.fullmatch(value):
        return f"{name}: {value}\r\n".encode("ascii")
    return POLICY.fold_binary(name, value)


_PRINTABLE = re.compile(r"[ -~\t]*")


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_MEDIA = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _parameter(name: str, value: str) -> str:
    """``name="value"``, or RFC 2231 ``name*=utf-8''%..`` for text that is not plain ASCII
    (octets that were not valid in their charset travel as they came)."""
    if value.isascii() and value.isprintable():
        return '{}="{}"'.format(name, value.replace("\\", "\\\\").replace('"', '\\"'))
    octets = value.encode("utf-8", "surrogateescape")
    return f"{name}*=utf-8''{quote(octets, safe='')}"


def _with_parameters(value: str, params: dict[str, str]) -> str:
    return "; ".join([value, *(_parameter(k, v) for k, v in params.items()
                               if _TOKEN.fullmatch(k))])


def _part_headers(part: MessagePart) -> list[tuple[str, str]]:
    """Content-Type with its parameters, Content-ID, Content-Location, Content-Disposition.
    A media type that is not ``type/subtype`` of tokens (a handset's garbage) is written as
    application/octet-stream rather than breaking the header."""
    params = dict(part.params)
    if part.charset:
        params = {"charset": part.charset, **params}
    media = part.content_type if _MEDIA.fullmatch(part.content_type) else \
        "application/octet-stream"
    headers = [("Content-Type", _with_parameters(media, params))]
    if part.content_id:
        headers.append(("Content-ID", f"<{part.content_id}>"))
    if part.content_location:
        headers.append(("Content-Location", part.content_location))
    if part.disposition or part.filename:
        kind = part.disposition if part.disposition and _TOKEN.fullmatch(part.disposition) \
            else "attachment"
        headers.append(("Content-Disposition", _with_parameters(
            kind, {"filename": part.filename} if part.filename else {})))
    return headers


_ASCII = bytes(range(0x80))


def _transfer_encode(part: MessagePart) -> tuple[str, bytes]:
    """The transfer encoding that gives the octets back exactly (RFC 2045 §6): 7bit for
    ASCII text with CRLF lines only, quoted-printable (CR and LF escaped) for other mostly
    ASCII text, base64 for the rest. Payload lines end in CRLF, without a final one."""
    data = bytes(part.data)
    textual = part.is_text or part.is_smil or part.media_type.endswith("+xml")
    if textual and b"\0" not in data:
        if data.isascii() and _crlf_lines_only(data):
            return "7bit", data
        if len(data.translate(None, _ASCII)) * 5 < len(data):
            return "quoted-printable", _crlf(binascii.b2a_qp(data, istext=False))
    return "base64", _base64_lines(data)


def _base64_lines(data: bytes) -> bytes:
    """Base64 in lines of 76 characters joined by CRLF (RFC 2045 §6.8), without a final
    line end: what ``encodebytes`` gives with CRLF, a third faster."""
    text = binascii.b2a_base64(data, newline=False)
    return b"\r\n".join([text[i:i + 76] for i in range(0, len(text), 76)])


def _crlf(lines: bytes) -> bytes:
    return lines.rstrip(b"\n").replace(b"\n", b"\r\n")


def _crlf_lines_only(data: bytes) -> bool:
    lines = data.split(b"\r\n")
    return all(b"\r" not in line and b"\n" not in line and len(line) <= 998 for line in lines) \
        and not data.endswith(b"\r\n") and not data.startswith(b".")


# -- MIME -> MM --------------------------------------------------------------------------------

def from_mime(data: bytes) -> Message:
    """Read a MIME message (stored, MM4 or the content of an MM7 request) into an MM.
    Never fails on content: what it cannot read becomes a warning in ``message.warnings``."""
    entity = parse_entity(data)
    message = content_from_mime(entity)
    message.envelope = envelope_from_headers(entity, message.warnings.append)
    return message


def keep_received(entity: MimeEntity, message: Message) -> None:
    """Let ``message``, read from ``entity`` by :func:`content_from_mime`, be stored as it
    came (``message.received``) when those octets read back as the same message: a
    multipart read on the fast road (:func:`mmsc.mime_parse.multipart_body`, which reads
    the same octets the same way again) without any warning, its root first as the store
    keeps a message (:meth:`Message.root_first`), its Content-Type printable ASCII that
    :func:`to_mime` writes as it is. The stored original is only ever read back, never
    sent on as it is, so its parts may keep the transfer encodings they came in. Storing it
    then encodes no part again (docs/performance.md, "MM7 submits under load")."""
    body = multipart_body(entity)
    if body is None or message.warnings or not message.parts \
            or message.root is not message.parts[0]:
        return
    content_type = _FOLD.sub("", str(entity.get("Content-Type", "")))
    if content_type.isascii() and content_type.isprintable():
        message.received = ReceivedContent(MimeContent(content_type, body), message.shape)


def envelope_from_headers(entity: MimeEntity, warn: Callable[[str], None]) -> Envelope:
    """The envelope fields of a MIME message's headers (the table above); other non-MIME
    headers are kept in ``extra_headers``."""
    env = Envelope()
    for name, attr in _ADDRESS_HEADERS:
        values = entity.get_all(name) or []
        addresses = _read_addresses([decode_words(v, warn) for v in values])
        if attr == "originator":
            env.originator = addresses[0] if addresses else None
        else:
            setattr(env, attr, addresses)
    for name, value in entity.items():
        row = _BY_NAME.get(name.lower())
        if row is not None:
            text = decode_words(value, warn)
            setattr(env, row.attr, row.read(text, lambda w, n=name: warn(f"{n}: {w}")))
        elif name.lower() not in _KNOWN:
            env.extra_headers.append((name, decode_words(value, warn)))
    return env


def content_from_mime(entity: MimeEntity) -> Message:
    """The content of a MIME entity: its parts in order (nested multiparts flattened, with a
    warning), the multipart kind and the root's Content-ID."""
    message = Message()
    if entity.get_content_maintype() != "multipart":
        message.parts.append(_part_from_mime(entity, message.warnings.append))
        return message
    message.multipart = entity.get_content_subtype()
    start = entity.get_param("start")
    if isinstance(start, str) and start.strip():
        message.start = strip_brackets(start)
    for child in _leaves(entity, message.warnings.append):
        message.parts.append(_part_from_mime(child, message.warnings.append))
    if entity.defects:
        message.warnings.extend(f"MIME: {type(d).__name__}" for d in entity.defects)
    if message.start is not None and message.root is not None \
            and message.root.content_id != message.start:
        message.warnings.append(f"start <{message.start}> names no part; the first is the root")
    return message


def _leaves(entity: MimeEntity, warn: Callable[[str], None]) -> list[MimeEntity]:
    leaves = []
    for child in entity.get_payload() or []:
        if not isinstance(child, MimeEntity):
            continue
        if child.get_content_maintype() == "multipart":
            warn(f"nested {child.get_content_type()} flattened into the message's parts")
            leaves += _leaves(child, warn)
        else:
            leaves.append(child)
    return leaves


def _part_from_mime(entity: MimeEntity, warn: Callable[[str], None]) -> MessagePart:
    params = {}
    for key, value in (entity.get_params() or [])[1:]:  # the first is the media type itself
        params[key.lower()] = decode_words(email.utils.collapse_rfc2231_value(value), warn)
    charset = params.pop("charset", None)
    content_id = entity.get("Content-ID")
    location = entity.get("Content-Location")
    disposition = entity.get_content_disposition() if entity.get("Content-Disposition") else None
    filename = entity.get_param("filename", header="content-disposition")
    if filename is not None:
        filename = email.utils.collapse_rfc2231_value(filename)
    if entity.get_content_type() == "message/rfc822":
        payload = entity.get_payload()
        data = payload[0].as_bytes(policy=POLICY) if payload else b""
    else:
        data = entity.get_payload(decode=True) or b""
    part = MessagePart(
        content_type=entity.get_content_type(), data=data, charset=charset,
        content_id=strip_brackets(decode_words(content_id, warn)) if content_id else None,
        content_location=decode_words(str(location), warn).strip() if location else None,
        params=params, disposition=disposition,
        filename=decode_words(filename, warn) if filename else None)
    for defect in entity.defects:
        warn(f"part {part.label}: {type(defect).__name__}")
    return part
