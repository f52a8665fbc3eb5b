"""WSP primitives: the binary encodings of WAP-230-WSP §8.4 (headers) and §8.5 (multipart).

Sans-IO: bytes in, typed values out, and back. Decoding goes through a :class:`Reader`, a bounded
cursor over one buffer that raises :class:`WspDecodeError` (naming the field and the byte offset)
for every malformed input and never lets ``IndexError`` or ``UnicodeDecodeError`` escape.
Part bodies are returned as ``memoryview`` slices of the input, so decoding never copies media.

Every standard table is one mapping that encoders and decoders both read: the typed parameters
and the header value codecs below, the rest (well-known content types, character sets, header
field names, dispositions) in :mod:`wap_push.wsp_tables`.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from typing import Callable, Iterable, Union

from .wsp_tables import (
    ANY_CHARSET, CHARSET_BY_NAME, CHARSETS, CONTENT_TYPE_CODES, CONTENT_TYPES, DISPOSITION_CODES,
    DISPOSITIONS, HEADER_FIELD_CODES, HEADER_FIELDS, UNKNOWN_CHARSET_PREFIX, WIDE_CODECS,
)

# ---------------------------------------------------------------------------------------------
# Errors


class WspDecodeError(ValueError):
    """Malformed WSP bytes: ``reason`` at byte ``offset`` while decoding ``field``."""

    def __init__(self, reason: str, offset: int, field: str | None = None) -> None:
        self.reason = reason
        self.offset = offset
        self.field = field
        where = f"{field}: " if field else ""
        super().__init__(f"{where}{reason} at offset {offset}")


class WspEncodeError(ValueError):
    """A value that the WSP encodings cannot represent."""


# ---------------------------------------------------------------------------------------------
# Character sets (the table is in wsp_tables)


def charset_name(mib: int) -> str:
    """IANA name of a MIBenum; unknown numbers get a stable ``x-mibenum-N`` name."""
    known = CHARSETS.get(mib)
    return known[0] if known else f"{UNKNOWN_CHARSET_PREFIX}{mib}"


def charset_mib(name: str) -> int:
    """MIBenum of a charset name (any alias Python knows), for encoding."""
    key = name.strip().lower()
    if key in CHARSET_BY_NAME:
        return CHARSET_BY_NAME[key]
    if key.startswith(UNKNOWN_CHARSET_PREFIX) and key[len(UNKNOWN_CHARSET_PREFIX):].isdigit():
        return int(key[len(UNKNOWN_CHARSET_PREFIX):])
    try:
        return CHARSET_BY_NAME[codecs.lookup(key).name]
    except LookupError:
        pass
    raise WspEncodeError(f"charset {name!r} has no MIBenum")


def python_codec(charset: str) -> str | None:
    """The Python codec for a charset name, or None when Python cannot decode it."""
    key = charset.strip().lower()
    mib = CHARSET_BY_NAME.get(key)
    if mib is not None:
        return CHARSETS[mib][1]
    try:
        return codecs.lookup(key).name
    except LookupError:
        return None


# ---------------------------------------------------------------------------------------------
# Values


@dataclass
class ContentType:
    """A media type with its parameters (names in lower case, values as text)."""

    media_type: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def is_multipart(self) -> bool:
        mt = self.media_type.lower()
        return mt.startswith("application/vnd.wap.multipart.") or mt.startswith("multipart/")

    def __str__(self) -> str:
        return "".join([self.media_type, *(f'; {k}="{v}"' for k, v in self.params.items())])


@dataclass
class Disposition:
    """A Content-Disposition value: ``inline``/``attachment``/``form-data`` and parameters."""

    kind: str
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RawValue:
    """A header value kept as its encoded octets (a field this codec does not interpret)."""

    octets: bytes


class EncodedString(str):
    """Text with the charset it travelled in (WSP Encoded-string-value, §8.4.2.1).

    It is a ``str``, so it compares equal to plain text; ``charset`` is None for the
    plain Text-string form. ``raw`` keeps the original octets when they were not valid in
    their charset, so that re-encoding gives them back unchanged.
    """

    charset: str | None
    raw: bytes | None

    def __new__(cls, text: str, charset: str | None = None,
                raw: bytes | None = None) -> EncodedString:
        obj = super().__new__(cls, text)
        obj.charset = charset
        obj.raw = raw
        return obj

    def __repr__(self) -> str:
        return f"EncodedString({str(self)!r}, charset={self.charset!r})"

    def __reduce__(self) -> tuple:
        return (EncodedString, (str(self), self.charset, self.raw))


HeaderValue = Union[str, int, ContentType, Disposition, RawValue]


@dataclass
class Part:
    """One entry of a WSP multipart body (§8.5.3): content type, headers, and data (zero-copy)."""

    content_type: ContentType
    headers: list[tuple[str, HeaderValue]] = field(default_factory=list)
    data: bytes | memoryview = b""

    def header(self, name: str) -> HeaderValue | None:
        key = name.lower()
        return next((v for n, v in self.headers if n.lower() == key), None)

    @property
    def content_id(self) -> str | None:
        value = self.header("Content-ID")
        return value if isinstance(value, str) else None

    @property
    def content_location(self) -> str | None:
        value = self.header("Content-Location")
        return value if isinstance(value, str) else None


# ---------------------------------------------------------------------------------------------
# Decoding


class Reader:
    """A cursor over ``data[pos:end]``. Every read checks its bounds.

    ``field`` names what is being decoded (for error messages); ``warnings`` collects lenient
    decisions and is shared with sub-readers.
    """

    __slots__ = ("data", "view", "pos", "end", "field", "warnings")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None,
                 warnings: list[str] | None = None, view: memoryview | None = None) -> None:
        self.data = data
        self.view = view if view is not None else memoryview(data)
        self.pos = pos
        self.end = len(data) if end is None else end
        self.field: str | None = None
        self.warnings: list[str] = [] if warnings is None else warnings

    def error(self, reason: str, offset: int | None = None) -> WspDecodeError:
        return WspDecodeError(reason, self.pos if offset is None else offset, self.field)

    def warn(self, message: str) -> None:
        where = f"{self.field}: " if self.field else ""
        self.warnings.append(f"{where}{message} (offset {self.pos})")

    # -- raw octets -------------------------------------------------------------------------

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def at_end(self) -> bool:
        return self.pos >= self.end

    def peek(self) -> int:
        if self.pos >= self.end:
            raise self.error("unexpected end of data")
        return self.data[self.pos]

    def octet(self) -> int:
        if self.pos >= self.end:
            raise self.error("unexpected end of data")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def take(self, n: int) -> memoryview:
        """The next ``n`` octets as a zero-copy slice."""
        if n < 0 or n > self.end - self.pos:
            raise self.error(f"length {n} exceeds the {self.end - self.pos} octets left")
        start = self.pos
        self.pos += n
        return self.view[start:self.pos]

    def bounded(self, length: int) -> Reader:
        """A sub-reader over the next ``length`` octets; this reader skips past them."""
        if length > self.end - self.pos:
            raise self.error(f"value length {length} exceeds the {self.end - self.pos} octets left")
        sub = Reader(self.data, self.pos, self.pos + length, self.warnings, self.view)
        sub.field = self.field
        self.pos += length
        return sub

    def rest(self) -> memoryview:
        return self.take(self.end - self.pos)

    # -- integers (§8.4.2.1, §8.1.2) ------------------------------------------------------------

    def uintvar(self) -> int:
        """Uintvar-integer (§8.1.2): 7 bits per octet, high bit = continue, at most 5 octets."""
        start = self.pos
        value = 0
        for _ in range(5):
            b = self.octet()
            value = (value << 7) | (b & 0x7F)
            if not b & 0x80:
                if value > 0xFFFFFFFF:
                    raise self.error("uintvar exceeds 32 bits", start)
                return value
        raise self.error("uintvar longer than 5 octets", start)

    def short_integer(self) -> int:
        """Short-integer: one octet with the high bit set, value 0..127."""
        b = self.octet()
        if not b & 0x80:
            raise self.error(f"expected a short-integer, found 0x{b:02x}", self.pos - 1)
        return b & 0x7F

    def long_integer(self) -> int:
        """Long-integer: Short-length (0..30) then that many big-endian octets."""
        start = self.pos
        length = self.octet()
        if length == 0 or length > 30:
            raise self.error(f"invalid long-integer length {length}", start)
        return int.from_bytes(self.take(length), "big")

    def integer_value(self) -> int:
        """Integer-value = Short-integer | Long-integer."""
        return self.short_integer() if self.peek() & 0x80 else self.long_integer()

    def value_length(self) -> int:
        """Value-length (§8.4.2.2): 0..30 itself, or Length-quote (31) + uintvar."""
        start = self.pos
        b = self.octet()
        if b <= 30:
            length = b
        elif b == 31:
            length = self.uintvar()
        else:
            raise self.error(f"expected a value-length, found 0x{b:02x}", start)
        if length > self.end - self.pos:
            raise self.error(f"value length {length} exceeds the {self.end - self.pos} octets left",
                             start)
        return length

    def length_bounded(self) -> Reader:
        """Read a Value-length and return a sub-reader over the value it covers."""
        return self.bounded(self.value_length())

    # -- strings (§8.4.2.1) -----------------------------------------------------------------------

    def _cstring(self) -> bytes:
        """Octets up to End-of-string (0x00). A missing terminator at the end of the value is
        accepted with a warning (handsets omit it on the last header)."""
        nul = self.data.find(b"\x00", self.pos, self.end)
        if nul < 0:
            self.warn("text without its terminating NUL")
            raw = self.data[self.pos:self.end]
            self.pos = self.end
            return raw
        raw = self.data[self.pos:nul]
        self.pos = nul + 1
        return raw

    def text_bytes(self) -> bytes:
        """Text-string octets: an initial Quote (0x7F) is dropped."""
        if self.peek() == 0x7F:
            self.pos += 1
        return self._cstring()

    def text_string(self) -> str:
        """Text-string decoded as UTF-8; undecodable octets survive as surrogate escapes."""
        return self.text_bytes().decode("utf-8", "surrogateescape")

    def token_text(self) -> str:
        """Token-text: a NUL-terminated token (the first octet must be printable)."""
        b = self.peek()
        if b < 0x20 or b >= 0x7F:
            raise self.error(f"expected token text, found 0x{b:02x}")
        return self._cstring().decode("utf-8", "surrogateescape")

    def quoted_string(self) -> str:
        """Quoted-string: 0x22 then text to NUL (the closing quote is implied)."""
        if self.peek() == 0x22:
            self.pos += 1
        return self._cstring().decode("utf-8", "surrogateescape")

    def text_value(self) -> str:
        """Text-value = No-value (0x00) | Token-text | Quoted-string."""
        b = self.peek()
        if b == 0:
            self.pos += 1
            return ""
        if b == 0x22:
            return self.quoted_string()
        return self.text_string()

    def encoded_string_value(self) -> EncodedString:
        """Encoded-string-value = Text-string | Value-length Char-set Text-string (§8.4.2.1, and
        OMA-MMS-ENC §7.2.9). The text is decoded with its charset; an unknown charset or
        undecodable octets are a warning, not an error."""
        first = self.peek()
        if first > 31:
            return EncodedString(self.text_string())
        if first == 0:  # an empty Text-string, not a zero Value-length
            self.pos += 1
            return EncodedString("")
        sub = self.length_bounded()
        mib = sub.charset_value()
        name = charset_name(mib) if mib is not None else ANY_CHARSET
        codec = python_codec(name) if mib is not None else None
        if codec in WIDE_CODECS:
            raw = bytes(sub.rest())
            raw = raw[:-1] if len(raw) % 2 else raw.removesuffix(b"\x00\x00")
        elif sub.at_end():
            raw = b""
        else:
            raw = sub.text_bytes()
            if not sub.at_end():
                sub.warn("octets after the text of an encoded string")
        text = _decode_text(raw, codec, sub)
        return EncodedString(text, name, None if _reencodes(text, codec, raw) else raw)

    def charset_value(self) -> int | None:
        """Well-known-charset = Any-charset (128) | Integer-value. None means any charset."""
        if self.peek() == 0x80:
            self.pos += 1
            self.warn("charset '*' (any charset)")
            return None
        return self.integer_value()

    # -- content types and parameters (§8.4.2.24, §8.4.2.4) ----------------------------------------

    def content_type(self) -> ContentType:
        """Content-type-value = Constrained-media | Content-general-form."""
        start = self.pos
        b = self.peek()
        if b & 0x80:
            return ContentType(self._well_known_media(self.short_integer()))
        if b > 31:
            return ContentType(self._extension_media(start))
        sub = self.length_bounded()
        if sub.at_end():
            raise sub.error("empty content type")
        first = sub.peek()
        media = self._well_known_media(sub.integer_value()) if first & 0x80 or first <= 30 \
            else sub._extension_media(sub.pos)
        return ContentType(media, sub.parameters())

    def _extension_media(self, start: int) -> str:
        """Extension-media: a media type as text, which cannot be empty or start with a
        control character (TEXT excludes CTLs, WSP §8.4.2.1)."""
        media = self.text_string()
        if not media:
            raise self.error("empty content type", start)
        if media[0] < " ":
            raise self.error(f"media type starts with control octet 0x{ord(media[0]):02x}", start)
        return media

    def _well_known_media(self, code: int) -> str:
        media = CONTENT_TYPES.get(code)
        if media is None:
            self.warn(f"unassigned well-known content type 0x{code:02x}")
            return "application/octet-stream"
        return media

    def parameters(self) -> dict[str, str]:
        """Parameters to the end of this reader: Typed-parameter | Untyped-parameter."""
        params: dict[str, str] = {}
        while not self.at_end():
            b = self.peek()
            if b & 0x80 or b <= 30:
                code = self.integer_value()
                spec = PARAMETERS.get(code)
                if spec is None:
                    name, value = f"x-wsp-param-{code:#04x}", self._untyped_value()
                    self.warn(f"unassigned parameter 0x{code:02x}")
                else:
                    name, value = spec[0], spec[1](self)
            else:
                name = self.token_text().lower()
                value = self._untyped_value()
            params[name] = value
        return params

    def _untyped_value(self) -> str:
        """Untyped-value = Integer-value | Text-value."""
        b = self.peek()
        if b & 0x80 or 1 <= b <= 30:
            return str(self.integer_value())
        return self.text_value()

    # -- headers (§8.4.2.6) ----------------------------------------------------------------------------

    def generic_value(self) -> bytes:
        """The octets of a header value whose encoding is not known, by the general rule of
        §8.4.1.2: Short-integer (1 octet), Value-length + data, or Text-string. A text that
        lacked its End-of-string gets it back, so that the value re-encodes well-formed."""
        start = self.pos
        b = self.peek()
        if b & 0x80:
            self.pos += 1
        elif b <= 31:
            length = self.value_length()  # advances past the length octets first
            self.pos += length
        else:
            return encode_text_bytes(self.text_bytes())
        return bytes(self.data[start:self.pos])

    def wsp_header(self) -> tuple[str, HeaderValue]:
        """One header: Well-known-header (short-integer field name) or Application-header."""
        start = self.pos
        b = self.peek()
        if b & 0x80:
            code = self.short_integer()
            name = HEADER_FIELDS.get(code, f"x-wsp-header-{code:#04x}")
            self.field = name
            decoder = HEADER_VALUE_DECODERS.get(name.lower())
            value: HeaderValue = decoder(self) if decoder else RawValue(self.generic_value())
        elif b >= 0x20:
            name = self.token_text()
            self.field = name
            value = self.text_string()
            if name.lower() in HEADER_VALUE_DECODERS:  # a known header spelt out as text
                name = HEADER_FIELDS[HEADER_FIELD_CODES[name.lower()]]
        else:
            raise self.error(f"expected a header, found 0x{b:02x}", start)
        return name, value

    def wsp_headers(self) -> list[tuple[str, HeaderValue]]:
        headers = []
        while not self.at_end():
            headers.append(self.wsp_header())
        return headers

    # -- multipart (§8.5) -------------------------------------------------------------------------------

    def multipart(self) -> list[Part]:
        """Multipart body (§8.5.2): uintvar entry count, then per entry uintvar headers length,
        uintvar data length, content type, headers, data."""
        self.field = "multipart"
        count = self.uintvar()
        if count > self.remaining:
            raise self.error(f"{count} entries cannot fit in {self.remaining} octets")
        parts = []
        for index in range(count):
            self.field = f"part {index}"
            headers_len = self.uintvar()
            data_len = self.uintvar()
            head = self.bounded(headers_len)
            content_type = head.content_type()
            headers = head.wsp_headers()
            self.field = f"part {index}"
            parts.append(Part(content_type, headers, self.take(data_len)))
        return parts


def _decode_text(raw: bytes, codec: str | None, reader: Reader) -> str:
    if codec is None:
        reader.warn("unknown charset, text read as UTF-8")
        return raw.decode("utf-8", "surrogateescape")
    if codec == "utf-8" and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode(codec)
    except (UnicodeDecodeError, LookupError):
        reader.warn(f"text is not valid {codec}, kept as raw octets")
        return raw.decode("utf-8", "surrogateescape")


def _reencodes(text: str, codec: str | None, raw: bytes) -> bool:
    """Whether encoding ``text`` in ``codec`` gives ``raw`` back (a UTF-8 BOM aside)."""
    if codec is None:
        return True
    try:
        return text.encode(codec, "surrogateescape") == (
            raw.removeprefix(b"\xef\xbb\xbf") if codec == "utf-8" else raw)
    except UnicodeError:
        return False


def _charset_param(r: Reader) -> str:
    b = r.peek()
    if 0x20 <= b < 0x80:  # a handset writing the charset name as text
        return r.text_string().lower()
    mib = r.charset_value()
    return ANY_CHARSET if mib is None else charset_name(mib)


def _media_param(r: Reader) -> str:
    """Type parameter: Constrained-encoding (well-known short-integer or Extension-media)."""
    b = r.peek()
    if b & 0x80 or b <= 30:
        return r._well_known_media(r.integer_value())
    return r.text_string()


def _version_param(r: Reader) -> str:
    if r.peek() & 0x80:
        v = r.short_integer()
        return f"{v >> 4}.{v & 0x0F}" if v & 0x0F != 0x0F else str(v >> 4)
    return r.text_string()


def _int_param(r: Reader) -> str:
    return str(r.integer_value())


def _no_value(r: Reader) -> str:
    if r.octet() != 0:
        raise r.error("expected No-value (0x00)", r.pos - 1)
    return ""


#: Typed parameters, WAP-230-WSP Table 38: code -> (name, value decoder).
PARAMETERS: dict[int, tuple[str, Callable[[Reader], str]]] = {
    0x00: ("q", lambda r: str(r.uintvar())),
    0x01: ("charset", _charset_param),
    0x02: ("level", _version_param),
    0x03: ("type", _media_param),
    0x05: ("name", Reader.text_string),
    0x06: ("filename", Reader.text_string),
    0x07: ("differences", Reader.text_value),
    0x08: ("padding", _int_param),
    0x09: ("type", _media_param),
    0x0A: ("start", Reader.text_string),
    0x0B: ("start-info", Reader.text_string),
    0x0C: ("comment", Reader.text_string),
    0x0D: ("domain", Reader.text_string),
    0x0E: ("max-age", _int_param),
    0x0F: ("path", Reader.text_string),
    0x10: ("secure", _no_value),
    0x11: ("sec", _int_param),
    0x12: ("mac", Reader.text_value),
    0x13: ("creation-date", _int_param),
    0x14: ("modification-date", _int_param),
    0x15: ("read-date", _int_param),
    0x16: ("size", _int_param),
    0x17: ("name", Reader.text_value),
    0x18: ("filename", Reader.text_value),
    0x19: ("start", Reader.text_value),
    0x1A: ("start-info", Reader.text_value),
    0x1B: ("comment", Reader.text_value),
    0x1C: ("domain", Reader.text_value),
    0x1D: ("path", Reader.text_value),
}


def _disposition_value(r: Reader) -> Disposition:
    """Content-disposition-value = Value-length Disposition *(Parameter) (§8.4.2.53).
    A bare token without the Value-length is accepted with a warning."""
    if r.peek() & 0x80:
        r.warn("content disposition without a value length")
        return Disposition(DISPOSITIONS.get(r.octet(), "attachment"))
    sub = r.length_bounded()
    if sub.at_end():
        raise sub.error("empty content disposition")
    b = sub.peek()
    kind = DISPOSITIONS.get(sub.octet()) if b & 0x80 else sub.token_text()
    if kind is None:
        sub.warn(f"unknown disposition 0x{b:02x}, read as attachment")
        kind = "attachment"
    return Disposition(kind, sub.parameters())


def _content_id_value(r: Reader) -> str:
    return r.quoted_string()


def _app_id_value(r: Reader) -> HeaderValue:
    """X-Wap-Application-Id: Uri-value | App-assigned-code (Integer-value)."""
    b = r.peek()
    if b & 0x80 or b <= 30:
        return r.integer_value()
    return r.text_string()


#: Value decoders for the WSP headers this codec interprets; others stay RawValue.
HEADER_VALUE_DECODERS: dict[str, Callable[[Reader], HeaderValue]] = {
    "content-location": Reader.text_string,
    "content-base": Reader.text_string,
    "content-id": _content_id_value,
    "content-disposition": _disposition_value,
    "content-type": Reader.content_type,
    "content-length": Reader.integer_value,
    "x-wap-application-id": _app_id_value,
    "x-wap-content-uri": Reader.text_string,
    "x-wap-initiator-uri": Reader.text_string,
    "push-flag": Reader.short_integer,
}


# ---------------------------------------------------------------------------------------------
# Encoding


def encode_uintvar(value: int) -> bytes:
    """Uintvar-integer (§8.1.2)."""
    if not 0 <= value <= 0xFFFFFFFF:
        raise WspEncodeError(f"uintvar out of range: {value}")
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def encode_short_integer(value: int) -> bytes:
    if not 0 <= value <= 127:
        raise WspEncodeError(f"short-integer out of range: {value}")
    return bytes((0x80 | value,))


def encode_long_integer(value: int) -> bytes:
    """Long-integer: Short-length + the minimal big-endian octets (at least one)."""
    if value < 0:
        raise WspEncodeError(f"long-integer cannot be negative: {value}")
    octets = value.to_bytes(max(1, (value.bit_length() + 7) // 8), "big")
    if len(octets) > 30:
        raise WspEncodeError("long-integer longer than 30 octets")
    return bytes((len(octets),)) + octets


def encode_integer_value(value: int) -> bytes:
    return encode_short_integer(value) if 0 <= value <= 127 else encode_long_integer(value)


def encode_value_length(length: int) -> bytes:
    return bytes((length,)) if length <= 30 else b"\x1f" + encode_uintvar(length)


def with_length(value: bytes) -> bytes:
    """Prefix a value with its Value-length."""
    return encode_value_length(len(value)) + value


def _no_nul(raw: bytes) -> bytes:
    if b"\x00" in raw:
        raise WspEncodeError("text cannot contain NUL")
    return raw


def encode_text_bytes(raw: bytes) -> bytes:
    """Text-string: Quote (0x7F) before a first octet >= 0x80, then the text and NUL.
    A first octet 0x7F (not TEXT, but seen) is quoted too, so that it survives decoding."""
    _no_nul(raw)
    return (b"\x7f" if raw[:1] >= b"\x7f" else b"") + raw + b"\x00"


def encode_text_string(text: str) -> bytes:
    return encode_text_bytes(text.encode("utf-8", "surrogateescape"))


def encode_token_text(text: str) -> bytes:
    if not text.isascii():
        raise WspEncodeError(f"not a token: {text!r}")
    raw = _no_nul(text.encode("ascii"))
    if not raw or raw[0] < 0x20 or raw[0] >= 0x7F:
        raise WspEncodeError(f"not a token: {text!r}")
    return raw + b"\x00"


def encode_quoted_string(text: str) -> bytes:
    return b'"' + _no_nul(text.encode("utf-8", "surrogateescape")) + b"\x00"


def encode_encoded_string_value(text: str) -> bytes:
    """Encoded-string-value. Text with a ``charset`` attribute (EncodedString) keeps it; plain
    ASCII text goes as a Text-string; other text goes as UTF-8 with its charset. Text that
    starts with a control character takes the charset form too: as a bare Text-string its
    first octet would read as a Value-length."""
    charset = getattr(text, "charset", None)
    if charset is None:
        if not text or (text.isascii() and text[0] >= " "):
            return encode_text_string(text)
        charset = "utf-8"
    kept = getattr(text, "raw", None)
    if charset == ANY_CHARSET:
        prefix = b"\x80"
        raw = str(text).encode("utf-8", "surrogateescape")
    elif kept is not None:  # octets that were not valid in their charset: as they came
        prefix, raw = encode_integer_value(charset_mib(charset)), kept
    else:
        prefix = encode_integer_value(charset_mib(charset))
        codec = python_codec(charset)
        if codec == "utf-8" and text.startswith("\ufeff"):
            text = "\ufeff" + text  # the decoder drops one leading BOM: keep the text's own
        codec = codec or "utf-8"  # an unknown charset was read as UTF-8: written back the same
        try:
            raw = str(text).encode(codec, "surrogateescape")
        except UnicodeEncodeError as exc:
            raise WspEncodeError(f"text cannot be encoded in {charset}") from exc
    body = raw + b"\x00" if _is_wide(charset) else encode_text_bytes(raw)
    return with_length(prefix + body)


def _is_wide(charset: str) -> bool:
    return charset != ANY_CHARSET and python_codec(charset) in WIDE_CODECS


def _encode_media(media_type: str) -> bytes:
    if not media_type or media_type[0] < " ":
        raise WspEncodeError(f"invalid media type {media_type!r}")
    code = CONTENT_TYPE_CODES.get(media_type.lower())
    return encode_short_integer(code) if code is not None else encode_text_string(media_type)


def _encode_param(name: str, value: str) -> bytes:
    if not isinstance(value, str):  # a JSON form may hold anything
        raise WspEncodeError(f"parameter {name!r} takes text, not {value!r}")
    key = name.lower()
    encoder = PARAMETER_ENCODERS.get(key)
    if encoder is not None:
        return encoder(value)
    if value.isdigit() and str(int(value)) == value and int(value) <= 0xFFFFFFFF:
        return encode_token_text(key) + encode_integer_value(int(value))
    return encode_token_text(key) + encode_quoted_string(value)


def _encode_charset_param(value: str) -> bytes:
    """Charset as a Well-known-charset; a charset with no MIBenum goes as an Untyped-parameter
    (``charset`` Token-text and a Quoted-string, §8.4.2.4) rather than failing the message."""
    if value == ANY_CHARSET:
        return b"\x81\x80"
    try:
        return b"\x81" + encode_integer_value(charset_mib(value))
    except WspEncodeError:
        return encode_token_text("charset") + encode_quoted_string(value)


#: The 1.2 parameter encodings that handsets expect (§8.4.2.4, Table 38).
PARAMETER_ENCODERS: dict[str, Callable[[str], bytes]] = {
    "charset": _encode_charset_param,
    "type": lambda v: b"\x89" + _encode_media(v),
    "name": lambda v: b"\x85" + encode_text_string(v),
    "filename": lambda v: b"\x86" + encode_text_string(v),
    "start": lambda v: b"\x8a" + encode_text_string(v),
    "start-info": lambda v: b"\x8b" + encode_text_string(v),
}


def encode_parameters(params: dict[str, str]) -> bytes:
    return b"".join(_encode_param(k, v) for k, v in params.items())


def encode_content_type(ct: ContentType) -> bytes:
    """Content-type-value: the short well-known form when there are no parameters, else the
    general form Value-length Media-type Parameters (§8.4.2.24)."""
    media = _encode_media(ct.media_type)
    if not ct.params:
        return media
    return with_length(media + encode_parameters(ct.params))


def _encode_disposition(value: HeaderValue) -> bytes:
    if not isinstance(value, Disposition):
        raise WspEncodeError("Content-Disposition needs a Disposition value")
    code = DISPOSITION_CODES.get(value.kind.lower())
    kind = bytes((code,)) if code is not None else encode_token_text(value.kind)
    return with_length(kind + encode_parameters(value.params))


def _text_header(value: HeaderValue) -> bytes:
    if not isinstance(value, str):
        raise WspEncodeError("this header takes text")
    return encode_text_string(value)


def _expect_int(value: HeaderValue) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise WspEncodeError("this header takes an integer")
    return value


def _integer_header(value: HeaderValue) -> bytes:
    return encode_integer_value(_expect_int(value))


def _app_id_header(value: HeaderValue) -> bytes:
    """Integer-value | Uri-value: a text that would read as an integer is refused."""
    if isinstance(value, int):
        return _integer_header(value)
    if not isinstance(value, str) or value[:1] < " ":
        raise WspEncodeError(f"X-Wap-Application-Id takes a code or a URI, not {value!r}")
    return encode_text_string(value)


def _content_id_header(value: HeaderValue) -> bytes:
    if not isinstance(value, str):
        raise WspEncodeError("Content-ID takes text")
    return encode_quoted_string(value)


#: Value encoders for the interpreted WSP headers: the inverse of HEADER_VALUE_DECODERS.
HEADER_VALUE_ENCODERS: dict[str, Callable[[HeaderValue], bytes]] = {
    "content-location": _text_header,
    "content-base": _text_header,
    "content-id": _content_id_header,
    "content-disposition": _encode_disposition,
    "content-type": lambda v: encode_content_type(v) if isinstance(v, ContentType)
    else _text_header(v),
    "content-length": _integer_header,
    "x-wap-application-id": _app_id_header,
    "x-wap-content-uri": _text_header,
    "x-wap-initiator-uri": _text_header,
    "push-flag": lambda v: encode_short_integer(_expect_int(v)),
}


def raw_value_octets(value: RawValue) -> bytes:
    """The octets of a raw header value, checked to be exactly one value by the general rule
    of §8.4.1.2 (so that what follows it still parses)."""
    octets = value.octets
    reader = Reader(octets)
    try:
        whole = reader.generic_value() == octets and reader.at_end()
    except WspDecodeError:
        whole = False
    if not whole:
        raise WspEncodeError(f"raw octets {octets.hex()!r} are not one header value")
    return octets


def encode_wsp_header(name: str, value: HeaderValue) -> bytes:
    """One header: well-known code + value when the name is in Table 39, else an
    Application-header (Token-text name, Text-string value)."""
    key = name.lower()
    code = HEADER_FIELD_CODES.get(key)
    if code is None or (key not in HEADER_VALUE_ENCODERS and isinstance(value, str)):
        if not isinstance(value, str):
            raise WspEncodeError(f"header {name!r} takes text")
        return encode_token_text(name) + encode_text_string(value)
    if isinstance(value, RawValue):
        return encode_short_integer(code) + raw_value_octets(value)
    encoder = HEADER_VALUE_ENCODERS.get(key, _text_header)
    return encode_short_integer(code) + encoder(value)


def encode_wsp_headers(headers: Iterable[tuple[str, HeaderValue]]) -> bytes:
    return b"".join(encode_wsp_header(n, v) for n, v in headers)


def encode_multipart(parts: list[Part]) -> list[bytes | memoryview]:
    """Multipart body (§8.5) as a list of chunks; part data is not copied."""
    chunks: list[bytes | memoryview] = [encode_uintvar(len(parts))]
    for part in parts:
        head = encode_content_type(part.content_type) + encode_wsp_headers(part.headers)
        chunks.append(encode_uintvar(len(head)) + encode_uintvar(len(part.data)) + head)
        chunks.append(part.data)
    return chunks
