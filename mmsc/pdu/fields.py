"""The MMS header field table (OMA-MMS-ENC 1.3 §7.4, Table 25) and its value codecs.

One row per field: code, the name OMA-MMS-ENC writes, the attribute of :class:`MmsPdu` it fills,
and the codec of its value (§7.3). The decoder, the encoder and the JSON form all read this
table; nothing else lists the fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, UTC
from abc import ABC, abstractmethod
from typing import Any

from wap_push import wsp
from wap_push.wsp import ContentType, EncodedString, RawValue, Reader, WspEncodeError

from .values import (
    CancelStatus, ContentClass, Counted, ElementDescriptor, InsertAddress, MboxLimit, MboxUnit,
    MessageClass, MessageType, MmFlag, MmFlagAction, MmState, Priority, ReadStatus,
    ReplyCharging, ResponseStatus, RetrievalMode, RetrieveStatus, SenderVisibility, Status,
    StoreStatus, Token,
)

JSON = Any


class Codec(ABC):
    """How one kind of header value travels: on the wire (decode/encode) and in JSON."""

    @abstractmethod
    def decode(self, r: Reader) -> Any:
        """Read one value at the reader's position."""

    @abstractmethod
    def encode(self, value: Any) -> bytes:
        """The value's octets (without the field code)."""

    def to_json(self, value: Any) -> JSON:
        return value

    def from_json(self, value: JSON) -> Any:
        return value


def _expect(value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise WspEncodeError(f"expected {what}, got {value!r}")
    return value


class Text(Codec):
    """Text-string (§7.2.3 via WSP §8.4.2.1): ids, URIs."""

    def decode(self, r: Reader) -> str:
        return r.text_string()

    def encode(self, value: str) -> bytes:
        return wsp.encode_text_string(_expect(value, str, "text"))

    def from_json(self, value: JSON) -> str:
        return _expect(value, str, "text")


class Encoded(Codec):
    """Encoded-string-value (§7.2.9): Subject, addresses, response texts."""

    def decode(self, r: Reader) -> EncodedString:
        return r.encoded_string_value()

    def encode(self, value: str) -> bytes:
        return wsp.encode_encoded_string_value(_expect(value, str, "text"))

    def to_json(self, value: EncodedString) -> JSON:
        charset = getattr(value, "charset", None)
        if charset is None:
            return str(value)
        raw = getattr(value, "raw", None)
        return {"text": str(value), "charset": charset,
                **({"raw": raw.hex().upper()} if raw is not None else {})}

    def from_json(self, value: JSON) -> EncodedString:
        if isinstance(value, dict):
            raw = value.get("raw")
            charset = value.get("charset")
            return EncodedString(_expect(value.get("text"), str, "text"),
                                 None if charset is None else _expect(charset, str, "charset"),
                                 bytes.fromhex(raw) if isinstance(raw, str) else None)
        return EncodedString(_expect(value, str, "text"))


class LongInt(Codec):
    """Long-integer: Message-Size, Reply-Charging-Size."""

    def decode(self, r: Reader) -> int:
        return r.long_integer()

    def encode(self, value: int) -> bytes:
        return wsp.encode_long_integer(_expect(value, int, "an integer"))

    def from_json(self, value: JSON) -> int:
        return _expect(value, int, "an integer")


class IntegerValue(LongInt):
    """Integer-value: counts and limits of the MMBox PDUs."""

    def decode(self, r: Reader) -> int:
        return r.integer_value()

    def encode(self, value: int) -> bytes:
        return wsp.encode_integer_value(_expect(value, int, "an integer"))


def date_from_seconds(r: Reader, seconds: int) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise r.error(f"date {seconds} out of range") from None


def seconds_from_date(value: datetime) -> int:
    _expect(value, datetime, "a date")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def date_to_json(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def date_from_json(value: JSON) -> datetime:
    parsed = datetime.fromisoformat(_expect(value, str, "an ISO 8601 date").replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Date(Codec):
    """Date-value: Long-integer seconds since 1970-01-01T00:00:00Z (WSP §8.4.2.12)."""

    def decode(self, r: Reader) -> datetime:
        return date_from_seconds(r, r.long_integer())

    def encode(self, value: datetime) -> bytes:
        return wsp.encode_long_integer(seconds_from_date(value))

    def to_json(self, value: datetime) -> str:
        return date_to_json(value)

    def from_json(self, value: JSON) -> datetime:
        return date_from_json(value)


class YesNo(Codec):
    """Yes (128) / No (129) fields (§7.3.15 and the like)."""

    def decode(self, r: Reader) -> bool:
        b = r.octet()
        if b not in (128, 129):
            raise r.error(f"expected Yes (0x80) or No (0x81), found 0x{b:02x}", r.pos - 1)
        return b == 128

    def encode(self, value: bool) -> bytes:
        return b"\x80" if _expect(value, bool, "true or false") else b"\x81"

    def from_json(self, value: JSON) -> bool:
        return _expect(value, bool, "true or false")


class Tokens(Codec):
    """A one-octet token from a table; an unassigned octet is kept as an int with a warning."""

    def __init__(self, table: type[Token]) -> None:
        self.table = table

    def decode(self, r: Reader) -> Token | int:
        b = r.octet()
        try:
            return self.table(b)
        except ValueError:
            r.warn(f"unassigned {self.table.__name__} value 0x{b:02x}")
            return b

    def encode(self, value: Token | int) -> bytes:
        if not isinstance(value, int) or isinstance(value, bool) or not 128 <= value <= 255:
            raise WspEncodeError(f"expected a {self.table.__name__} token, got {value!r}")
        return bytes((value,))

    def to_json(self, value: Token | int) -> JSON:
        return value.label if isinstance(value, Token) else value

    def from_json(self, value: JSON) -> Token | int:
        if isinstance(value, str):
            return self.table.from_label(value)
        return _expect(value, int, f"a {self.table.__name__} label")


class ClassValue(Codec):
    """X-Mms-Message-Class: a class-identifier token or Token-text (§7.3.27)."""

    tokens = Tokens(MessageClass)

    def decode(self, r: Reader) -> Token | int | str:
        return self.tokens.decode(r) if r.peek() & 0x80 else r.token_text()

    def encode(self, value: Token | int | str) -> bytes:
        if isinstance(value, str):
            return wsp.encode_token_text(value)
        return self.tokens.encode(value)

    def to_json(self, value: Token | int | str) -> JSON:
        return value if isinstance(value, str) else self.tokens.to_json(value)

    def from_json(self, value: JSON) -> Token | int | str:
        try:
            return self.tokens.from_json(value)
        except ValueError:
            return _expect(value, str, "a message class")


class Version(Codec):
    """X-Mms-MMS-Version: Short-integer, major in bits 6-4, minor in bits 3-0 (§7.3.34)."""

    def decode(self, r: Reader) -> str:
        if not r.peek() & 0x80:
            r.warn("version written as text")
            return r.text_string()
        v = r.short_integer()
        return f"{v >> 4}.{v & 0x0F}"

    def encode(self, value: str) -> bytes:
        major, _, minor = _expect(value, str, "a version like 1.2").partition(".")
        if not (major.isdigit() and minor.isdigit() and int(major) <= 7 and int(minor) <= 14):
            raise WspEncodeError(f"invalid MMS version {value!r}")
        return wsp.encode_short_integer(int(major) << 4 | int(minor))


#: The longest interval a relative time may carry (Python's timedelta limit, about 2.7 million
#: years; Delta-seconds-value has no bound of its own).
MAX_INTERVAL = timedelta.max.days * 86400 + timedelta.max.seconds  # total_seconds() rounds up


class Time(Codec):
    """Expiry, Delivery-Time, Reply-Charging-Deadline: Value-length, then Absolute-token (128)
    + Date-value, or Relative-token (129) + Delta-seconds-value (§7.3.20, §7.3.12)."""

    def decode(self, r: Reader) -> datetime | timedelta:
        sub = r.length_bounded()
        start = sub.pos
        token = sub.octet()
        seconds = sub.long_integer()
        if token == 128:
            return date_from_seconds(sub, seconds)
        if token == 129:
            if seconds > MAX_INTERVAL:
                raise sub.error(f"relative time of {seconds} s out of range", start)
            return timedelta(seconds=seconds)
        raise sub.error(f"expected Absolute (0x80) or Relative (0x81) token, found 0x{token:02x}",
                        start)

    def encode(self, value: datetime | timedelta) -> bytes:
        if isinstance(value, timedelta):
            seconds = int(value.total_seconds())
            return wsp.with_length(b"\x81" + wsp.encode_long_integer(seconds))
        return wsp.with_length(b"\x80" + wsp.encode_long_integer(seconds_from_date(value)))

    def to_json(self, value: datetime | timedelta) -> JSON:
        if isinstance(value, timedelta):
            return {"relative": int(value.total_seconds())}
        return {"absolute": date_to_json(value)}

    def from_json(self, value: JSON) -> datetime | timedelta:
        if isinstance(value, dict) and "relative" in value:
            seconds = _expect(value["relative"], int, "seconds")
            if not 0 <= seconds <= MAX_INTERVAL:  # Delta-seconds-value is unsigned
                raise WspEncodeError(f"relative time of {seconds} s out of range "
                                     f"(0 to {MAX_INTERVAL})")
            return timedelta(seconds=seconds)
        if isinstance(value, dict) and "absolute" in value:
            return date_from_json(value["absolute"])
        raise WspEncodeError(f"expected {{'relative': s}} or {{'absolute': date}}, got {value!r}")


INSERT_ADDRESS_JSON = "<insert-address>"


class From(Codec):
    """From: Value-length (Address-present-token (128) Encoded-string-value |
    Insert-address-token (129)) (§7.3.21). A bare Encoded-string-value, as some encoders
    write it, is accepted with a warning."""

    def decode(self, r: Reader) -> EncodedString | InsertAddress:
        start = r.pos
        if r.peek() <= 31:
            sub = r.length_bounded()
            token = sub.octet() if not sub.at_end() else None
            if token == 129:
                return InsertAddress.TOKEN
            if token == 128:
                return sub.encoded_string_value()
            r.pos = start
        r.warn("From without an address token, read as an encoded string")
        return r.encoded_string_value()

    def encode(self, value: EncodedString | InsertAddress) -> bytes:
        if value is InsertAddress.TOKEN:
            return b"\x01\x81"
        return wsp.with_length(b"\x80" + wsp.encode_encoded_string_value(
            _expect(value, str, "an address")))

    def to_json(self, value: EncodedString | InsertAddress) -> JSON:
        return INSERT_ADDRESS_JSON if value is InsertAddress.TOKEN else ENCODED.to_json(value)

    def from_json(self, value: JSON) -> EncodedString | InsertAddress:
        return InsertAddress.TOKEN if value == INSERT_ADDRESS_JSON else ENCODED.from_json(value)


class CountedValue(Codec):
    """Value-length Forwarded-count-value (Integer-value) and a value (§7.3.37, §7.3.38)."""

    def __init__(self, inner: Codec) -> None:
        self.inner = inner

    def decode(self, r: Reader) -> Counted:
        sub = r.length_bounded()
        return Counted(sub.integer_value(), self.inner.decode(sub))

    def encode(self, value: Counted) -> bytes:
        _expect(value, Counted, "a count and a value")
        return wsp.with_length(wsp.encode_integer_value(value.count) + self.inner.encode(value.value))

    def to_json(self, value: Counted) -> JSON:
        return {"count": value.count, "value": self.inner.to_json(value.value)}

    def from_json(self, value: JSON) -> Counted:
        _expect(value, dict, "{'count': n, 'value': v}")
        return Counted(_expect(value.get("count"), int, "a count"), self.inner.from_json(value.get("value")))


class Flags(Codec):
    """X-Mms-MM-Flags: Value-length (Add | Remove | Filter token) Encoded-string-value."""

    tokens = Tokens(MmFlagAction)

    def decode(self, r: Reader) -> MmFlag:
        sub = r.length_bounded()
        return MmFlag(self.tokens.decode(sub), sub.encoded_string_value())

    def encode(self, value: MmFlag) -> bytes:
        _expect(value, MmFlag, "an MM flag")
        return wsp.with_length(self.tokens.encode(value.action)
                               + wsp.encode_encoded_string_value(value.keyword))

    def to_json(self, value: MmFlag) -> JSON:
        return {"action": self.tokens.to_json(value.action), "keyword": ENCODED.to_json(value.keyword)}

    def from_json(self, value: JSON) -> MmFlag:
        _expect(value, dict, "{'action': a, 'keyword': k}")
        return MmFlag(self.tokens.from_json(value.get("action")), ENCODED.from_json(value.get("keyword")))


class Limit(Codec):
    """X-Mms-Mbox-Totals / -Quotas: Value-length (Messages | Size token) Integer-value."""

    tokens = Tokens(MboxUnit)

    def decode(self, r: Reader) -> MboxLimit:
        sub = r.length_bounded()
        return MboxLimit(self.tokens.decode(sub), sub.integer_value())

    def encode(self, value: MboxLimit) -> bytes:
        _expect(value, MboxLimit, "a mailbox limit")
        return wsp.with_length(self.tokens.encode(value.unit) + wsp.encode_integer_value(value.value))

    def to_json(self, value: MboxLimit) -> JSON:
        return {"unit": self.tokens.to_json(value.unit), "value": value.value}

    def from_json(self, value: JSON) -> MboxLimit:
        _expect(value, dict, "{'unit': u, 'value': n}")
        return MboxLimit(self.tokens.from_json(value.get("unit")), _expect(value.get("value"), int, "a count"))


class Descriptor(Codec):
    """X-Mms-Element-Descriptor: Value-length Content-Reference-value (Text-string)
    *(Parameter) (§7.3.17)."""

    def decode(self, r: Reader) -> ElementDescriptor:
        sub = r.length_bounded()
        return ElementDescriptor(sub.text_string(), sub.parameters())

    def encode(self, value: ElementDescriptor) -> bytes:
        _expect(value, ElementDescriptor, "an element descriptor")
        return wsp.with_length(wsp.encode_text_string(value.reference)
                               + wsp.encode_parameters(value.params))

    def to_json(self, value: ElementDescriptor) -> JSON:
        return {"reference": value.reference, "params": dict(value.params)}

    def from_json(self, value: JSON) -> ElementDescriptor:
        _expect(value, dict, "{'reference': r, 'params': {...}}")
        return ElementDescriptor(_expect(value.get("reference"), str, "a reference"),
                                 dict(value.get("params") or {}))


class ContentTypeValue(Codec):
    """Content-Type: Content-type-value (WSP §8.4.2.24), always the last header (§7.3.11)."""

    def decode(self, r: Reader) -> ContentType:
        return r.content_type()

    def encode(self, value: ContentType) -> bytes:
        return wsp.encode_content_type(_expect(value, ContentType, "a content type"))

    def to_json(self, value: ContentType) -> JSON:
        return content_type_to_json(value)

    def from_json(self, value: JSON) -> ContentType:
        return content_type_from_json(value)


def content_type_to_json(value: ContentType) -> JSON:
    return value.media_type if not value.params else {"media_type": value.media_type,
                                                      "params": dict(value.params)}


def content_type_from_json(value: JSON) -> ContentType:
    if isinstance(value, str):
        return ContentType(value)
    _expect(value, dict, "a content type")
    return ContentType(_expect(value.get("media_type"), str, "a media type"),
                       dict(value.get("params") or {}))


class Raw(Codec):
    """A value this codec keeps as octets (by the general WSP value rule, §8.4.1.2)."""

    def decode(self, r: Reader) -> RawValue:
        return RawValue(r.generic_value())

    def encode(self, value: RawValue) -> bytes:
        return wsp.raw_value_octets(_expect(value, RawValue, "raw octets"))

    def to_json(self, value: RawValue) -> JSON:
        return {"raw": value.octets.hex().upper()}

    def from_json(self, value: JSON) -> RawValue:
        _expect(value, dict, "{'raw': hex}")
        return RawValue(bytes.fromhex(str(value.get("raw", ""))))


class FieldCode(Codec):
    """X-Mms-Attributes: the short-integer code of another header field (§7.3.3)."""

    def decode(self, r: Reader) -> str:
        code = r.short_integer()
        row = BY_CODE.get(code)
        return row.name if row else f"0x{code:02x}"

    def encode(self, value: str) -> bytes:
        row = BY_NAME.get(_expect(value, str, "a header name").lower())
        if row is None:
            raise WspEncodeError(f"{value!r} is not an MMS header field")
        return wsp.encode_short_integer(row.code)


ENCODED = Encoded()
TEXT = Text()
RAW = Raw()


@dataclass(frozen=True)
class Field:
    """One row of the header field table."""

    code: int
    name: str
    attr: str
    codec: Codec
    repeated: bool = False


def _tokens(table: type[Token]) -> Tokens:
    return Tokens(table)


#: OMA-MMS-ENC 1.3 Table 25: the assigned header field codes 0x01..0x3F.
FIELDS: tuple[Field, ...] = (
    Field(0x01, "Bcc", "bcc", ENCODED, repeated=True),
    Field(0x02, "Cc", "cc", ENCODED, repeated=True),
    Field(0x03, "X-Mms-Content-Location", "content_location", TEXT),
    Field(0x04, "Content-Type", "content_type", ContentTypeValue()),
    Field(0x05, "Date", "date", Date()),
    Field(0x06, "X-Mms-Delivery-Report", "delivery_report", YesNo()),
    Field(0x07, "X-Mms-Delivery-Time", "delivery_time", Time()),
    Field(0x08, "X-Mms-Expiry", "expiry", Time()),
    Field(0x09, "From", "sender", From()),
    Field(0x0A, "X-Mms-Message-Class", "message_class", ClassValue()),
    Field(0x0B, "Message-ID", "message_id", TEXT),
    Field(0x0C, "X-Mms-Message-Type", "message_type", _tokens(MessageType)),
    Field(0x0D, "X-Mms-MMS-Version", "mms_version", Version()),
    Field(0x0E, "X-Mms-Message-Size", "message_size", LongInt()),
    Field(0x0F, "X-Mms-Priority", "priority", _tokens(Priority)),
    Field(0x10, "X-Mms-Read-Report", "read_report", YesNo()),
    Field(0x11, "X-Mms-Report-Allowed", "report_allowed", YesNo()),
    Field(0x12, "X-Mms-Response-Status", "response_status", _tokens(ResponseStatus)),
    Field(0x13, "X-Mms-Response-Text", "response_text", ENCODED),
    Field(0x14, "X-Mms-Sender-Visibility", "sender_visibility", _tokens(SenderVisibility)),
    Field(0x15, "X-Mms-Status", "status", _tokens(Status)),
    Field(0x16, "Subject", "subject", ENCODED),
    Field(0x17, "To", "to", ENCODED, repeated=True),
    Field(0x18, "X-Mms-Transaction-Id", "transaction_id", TEXT),
    Field(0x19, "X-Mms-Retrieve-Status", "retrieve_status", _tokens(RetrieveStatus)),
    Field(0x1A, "X-Mms-Retrieve-Text", "retrieve_text", ENCODED),
    Field(0x1B, "X-Mms-Read-Status", "read_status", _tokens(ReadStatus)),
    Field(0x1C, "X-Mms-Reply-Charging", "reply_charging", _tokens(ReplyCharging)),
    Field(0x1D, "X-Mms-Reply-Charging-Deadline", "reply_charging_deadline", Time()),
    Field(0x1E, "X-Mms-Reply-Charging-ID", "reply_charging_id", TEXT),
    Field(0x1F, "X-Mms-Reply-Charging-Size", "reply_charging_size", LongInt()),
    Field(0x20, "X-Mms-Previously-Sent-By", "previously_sent_by", CountedValue(ENCODED), True),
    Field(0x21, "X-Mms-Previously-Sent-Date", "previously_sent_date", CountedValue(Date()), True),
    Field(0x22, "X-Mms-Store", "store", YesNo()),
    Field(0x23, "X-Mms-MM-State", "mm_state", _tokens(MmState)),
    Field(0x24, "X-Mms-MM-Flags", "mm_flags", Flags(), repeated=True),
    Field(0x25, "X-Mms-Store-Status", "store_status", _tokens(StoreStatus)),
    Field(0x26, "X-Mms-Store-Status-Text", "store_status_text", ENCODED),
    Field(0x27, "X-Mms-Stored", "stored", YesNo()),
    Field(0x28, "X-Mms-Attributes", "attributes", FieldCode(), repeated=True),
    Field(0x29, "X-Mms-Totals", "totals", YesNo()),
    Field(0x2A, "X-Mms-Mbox-Totals", "mbox_totals", Limit()),
    Field(0x2B, "X-Mms-Quotas", "quotas", YesNo()),
    Field(0x2C, "X-Mms-Mbox-Quotas", "mbox_quotas", Limit()),
    Field(0x2D, "X-Mms-Message-Count", "message_count", IntegerValue()),
    Field(0x2E, "Content", "content", RAW),
    Field(0x2F, "X-Mms-Start", "start", IntegerValue()),
    Field(0x30, "Additional-headers", "additional_headers", RAW),
    Field(0x31, "X-Mms-Distribution-Indicator", "distribution_indicator", YesNo()),
    Field(0x32, "X-Mms-Element-Descriptor", "element_descriptor", Descriptor()),
    Field(0x33, "X-Mms-Limit", "limit", IntegerValue()),
    Field(0x34, "X-Mms-Recommended-Retrieval-Mode", "recommended_retrieval_mode",
          _tokens(RetrievalMode)),
    Field(0x35, "X-Mms-Recommended-Retrieval-Mode-Text", "recommended_retrieval_mode_text",
          ENCODED),
    Field(0x36, "X-Mms-Status-Text", "status_text", ENCODED),
    Field(0x37, "X-Mms-Applic-ID", "applic_id", TEXT),
    Field(0x38, "X-Mms-Reply-Applic-ID", "reply_applic_id", TEXT),
    Field(0x39, "X-Mms-Aux-Applic-Info", "aux_applic_info", TEXT),
    Field(0x3A, "X-Mms-Content-Class", "content_class", _tokens(ContentClass)),
    Field(0x3B, "X-Mms-DRM-Content", "drm_content", YesNo()),
    Field(0x3C, "X-Mms-Adaptation-Allowed", "adaptation_allowed", YesNo()),
    Field(0x3D, "X-Mms-Replace-ID", "replace_id", TEXT),
    Field(0x3E, "X-Mms-Cancel-ID", "cancel_id", TEXT),
    Field(0x3F, "X-Mms-Cancel-Status", "cancel_status", _tokens(CancelStatus)),
)

BY_CODE: dict[int, Field] = {f.code: f for f in FIELDS}
BY_NAME: dict[str, Field] = {f.name.lower(): f for f in FIELDS}
BY_ATTR: dict[str, Field] = {f.attr: f for f in FIELDS}

#: The name given to a header whose code the table does not assign, kept as raw octets.
UNASSIGNED_PREFIX = "X-Mms-Unassigned-"


def unassigned_name(code: int) -> str:
    return f"{UNASSIGNED_PREFIX}0x{code:02X}"


def unassigned_code(name: str) -> int | None:
    """The code an ``X-Mms-Unassigned-0xNN`` name stands for, if the table leaves it free."""
    if not name.startswith(UNASSIGNED_PREFIX):
        return None
    try:
        code = int(name[len(UNASSIGNED_PREFIX):], 16)
    except ValueError:
        return None
    return code if code < 0x80 and code not in BY_CODE else None

