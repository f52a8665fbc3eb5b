"""Decode and encode MMS PDUs (OMA-MMS-ENC 1.3 §7): sans-IO, driven by the header table.

Decoding is lenient where real handsets deviate (missing end-of-string on the last header,
``charset=*``, stray octets after the last part, unknown or application headers, fields in an
unusual order): each such decision is a line in ``pdu.warnings``. Anything malformed raises
:class:`PduDecodeError` naming the field and the byte offset, and nothing else.
Encoding is strict: fields in the standard's order, Content-Type last.
"""

from __future__ import annotations

from typing import Any

from wap_push import wsp
from wap_push.wsp import RawValue, Reader, WspDecodeError, WspEncodeError

from .errors import PduDecodeError, PduEncodeError
from .fields import BY_CODE, BY_ATTR, unassigned_code, unassigned_name
from .model import MmsPdu, problems
from .values import MessageType

_MESSAGE_TYPE_OCTET = 0x80 | BY_ATTR["message_type"].code
_CONTENT_TYPE = BY_ATTR["content_type"]


def decode(data: bytes | bytearray | memoryview) -> MmsPdu:
    """Decode one MMS PDU. Part data in the result are slices of ``data`` (no copy when
    ``data`` is ``bytes``)."""
    buf = data if isinstance(data, bytes) else bytes(data)
    reader = Reader(buf)
    try:
        return _decode(reader)
    except WspDecodeError as exc:
        raise PduDecodeError(exc.reason, exc.offset, exc.field) from None


def _decode(r: Reader) -> MmsPdu:
    r.field = "X-Mms-Message-Type"
    if r.at_end():
        raise r.error("empty PDU")
    if r.peek() != _MESSAGE_TYPE_OCTET:
        raise r.error("a PDU must start with X-Mms-Message-Type (0x8C)")
    values: dict[str, Any] = {}
    extra: list[tuple[str, Any]] = []
    while not r.at_end():
        b = r.peek()
        if b & 0x80:
            r.pos += 1
            row = BY_CODE.get(b & 0x7F)
            if row is None:
                r.field = unassigned_name(b & 0x7F)
                extra.append((r.field, RawValue(r.generic_value())))
                r.warn("unassigned header field, kept as raw octets")
                continue
            r.field = row.name
            value = row.codec.decode(r)
            if row.repeated:
                values.setdefault(row.attr, []).append(value)
            elif row.attr in values:
                r.warn("header repeated, first value kept")
            else:
                values[row.attr] = value
            if row is _CONTENT_TYPE:
                break
        elif b >= 0x20:
            r.field = "application header"
            name = r.token_text()
            r.field = name
            extra.append((name, r.text_string()))
        else:
            r.field = "header"
            raise r.error(f"octet 0x{b:02x} cannot start a header")

    message_type = values["message_type"]
    if not isinstance(message_type, MessageType):
        r.field = "X-Mms-Message-Type"
        raise r.error(f"unknown message type {message_type}", 0)
    values.setdefault("mms_version", None)
    content_type = values.get("content_type")
    if content_type is not None:
        if content_type.is_multipart:
            if r.at_end():
                r.field = "Content-Type"
                r.warn("multipart content type but no body")
            else:
                values["parts"] = r.multipart()
                if not r.at_end():
                    r.field = "multipart"
                    r.warn(f"{r.remaining} stray octets after the last part, ignored")
        else:
            values["body"] = r.rest()
    pdu = MmsPdu(extra_headers=extra, warnings=r.warnings, **values)
    pdu.warnings.extend(problems(pdu))
    return pdu


def encode(pdu: MmsPdu) -> bytes:
    """Encode a PDU. Fields go in the standard's order (§6), Content-Type last (§7.3.11).
    The encoder writes what it is given; :func:`mmsc.pdu.problems` says what a PDU lacks."""
    return b"".join(encode_chunks(pdu))


def encode_chunks(pdu: MmsPdu) -> list[bytes | bytearray | memoryview]:
    """The encoded PDU as a list of chunks; part data are passed through, not copied."""
    out = bytearray()
    for row, value in pdu.header_values():
        out.append(0x80 | row.code)
        out += _encode_value(row.name, row.codec.encode, value)
    for name, value in pdu.extra_headers:
        code = unassigned_code(name)
        if code is not None and isinstance(value, RawValue):
            out.append(0x80 | code)
            out += _encode_value(name, wsp.raw_value_octets, value)
        else:
            out += _encode_value(name, _application_header, (name, value))
    chunks: list[bytes | bytearray | memoryview] = [out]
    if pdu.content_type is not None:
        out.append(0x80 | _CONTENT_TYPE.code)
        out += _encode_value(_CONTENT_TYPE.name, _CONTENT_TYPE.codec.encode, pdu.content_type)
        if pdu.parts is not None:
            chunks += _encode_value("multipart", wsp.encode_multipart, pdu.parts)
        elif pdu.body is not None:
            chunks.append(pdu.body)
    return chunks


def _application_header(header: tuple[str, Any]) -> bytes:
    """Application-header (WSP §8.4.2.6): Token-text name, Text-string value."""
    name, value = header
    if not isinstance(value, str):
        raise WspEncodeError(f"application header {name!r} takes text, not {value!r}")
    return wsp.encode_token_text(name) + wsp.encode_text_string(value)


def _encode_value(name: str, encoder: Any, value: Any) -> Any:
    try:
        return encoder(value)
    except (WspEncodeError, UnicodeEncodeError) as exc:
        raise PduEncodeError(f"{name}: {exc}") from None
