"""The connectionless WSP Push PDU (WAP-230-WSP §8.2.4.1), as a WAP push SMS carries it.

    Push PDU = TID (1 octet) | PDU type (0x06 Push, 0x07 ConfirmedPush) | HeadersLen (uintvar)
               | ContentType | Headers | Data

For MMS the content type is ``application/vnd.wap.mms-message`` (0xBE) and the headers hold
``X-Wap-Application-Id: x-wap-application:mms.ua`` (0xAF 0x84). Sans-IO.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .wsp import (
    ContentType, HeaderValue, Reader, WspDecodeError, encode_content_type, encode_uintvar,
    encode_wsp_headers,
)

#: WSP PDU types (WAP-230-WSP Table 34) of the push family.
PUSH = 0x06
CONFIRMED_PUSH = 0x07
MMS_CONTENT_TYPE = "application/vnd.wap.mms-message"
#: x-wap-application:mms.ua, WINA push application id 4 (WAP-230-WSP §8.4.2.54).
MMS_UA_APPLICATION_ID = 4


@dataclass
class PushPdu:
    """A decoded push: its headers and the data it carries (a zero-copy slice)."""

    transaction_id: int
    pdu_type: int
    content_type: ContentType
    headers: list[tuple[str, HeaderValue]] = field(default_factory=list)
    data: bytes | memoryview = b""

    @property
    def is_mms(self) -> bool:
        return self.content_type.media_type.lower() == MMS_CONTENT_TYPE


def decode_push(data: bytes | bytearray | memoryview) -> PushPdu:
    """Decode a push PDU; raises :class:`WspDecodeError` on malformed input."""
    r = Reader(data if isinstance(data, bytes) else bytes(data))
    r.field = "push TID"
    tid = r.octet()
    r.field = "push PDU type"
    pdu_type = r.octet()
    if pdu_type not in (PUSH, CONFIRMED_PUSH):
        raise r.error(f"PDU type 0x{pdu_type:02x} is not a push", 1)
    r.field = "push headers"
    head = r.bounded(r.uintvar())
    if head.at_end():
        raise head.error("push without a content type")
    head.field = "push Content-Type"
    content_type = head.content_type()
    headers = head.wsp_headers()
    return PushPdu(tid, pdu_type, content_type, headers, r.rest())


def encode_push(data: bytes, transaction_id: int = 0,
                content_type: ContentType | None = None,
                headers: list[tuple[str, HeaderValue]] | None = None) -> bytes:
    """Wrap ``data`` (by default an encoded MMS PDU) in a push PDU addressed to the MMS user
    agent."""
    if not 0 <= transaction_id <= 255:
        raise ValueError("push transaction id is one octet")
    if headers is None:
        headers = [("X-Wap-Application-Id", MMS_UA_APPLICATION_ID)]
    head = encode_content_type(content_type or ContentType(MMS_CONTENT_TYPE))
    head += encode_wsp_headers(headers)
    return bytes((transaction_id, PUSH)) + encode_uintvar(len(head)) + head + data


__all__ = ["CONFIRMED_PUSH", "MMS_CONTENT_TYPE", "MMS_UA_APPLICATION_ID", "PUSH", "PushPdu",
           "WspDecodeError", "decode_push", "encode_push"]
