"""WSP primitives (WAP-230-WSP §8.4, §8.5): known answers built by hand from the clauses, and
round trips. Each octet string below is written from the grammar named next to it."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from wap_push import wsp
from wap_push.wsp import ContentType, Disposition, EncodedString, Part, RawValue, Reader

H = bytes.fromhex


def reader(hexstr: str) -> Reader:
    return Reader(H(hexstr))


# §8.1.2 Variable length unsigned integers: 7 bits an octet, most significant first,
# continuation bit set on all but the last octet.
UINTVARS = [(0, "00"), (127, "7f"), (128, "8100"), (0x3FFF, "ff7f"), (0x4000, "818000"),
            (0xFFFFFFFF, "8fffffff7f")]


@pytest.mark.parametrize("value,octets", UINTVARS)
def test_uintvar_known_answers(value: int, octets: str) -> None:
    assert wsp.encode_uintvar(value) == H(octets)
    r = reader(octets)
    assert r.uintvar() == value and r.at_end()


@pytest.mark.parametrize("octets,reason", [("ffffffff7f", "32 bits"), ("808080808000", "5 octets"),
                                           ("8080", "end of data")])
def test_uintvar_rejects(octets: str, reason: str) -> None:
    with pytest.raises(wsp.WspDecodeError, match=reason):
        reader(octets).uintvar()


def test_integers() -> None:
    # §8.4.2.1 Short-integer = OCTET with the high bit set; Long-integer = Short-length
    # Multi-octet-integer; Integer-value = Short-integer | Long-integer.
    assert wsp.encode_short_integer(4) == H("84")
    assert wsp.encode_long_integer(0x1234) == H("021234")
    assert wsp.encode_long_integer(0) == H("0100")
    assert wsp.encode_integer_value(127) == H("ff")
    assert wsp.encode_integer_value(128) == H("0180")
    assert reader("84").short_integer() == 4
    assert reader("03012345").long_integer() == 0x012345
    assert reader("0180").integer_value() == 128
    with pytest.raises(wsp.WspDecodeError, match="long-integer length 0"):
        reader("00").long_integer()
    with pytest.raises(wsp.WspDecodeError, match="short-integer"):
        reader("04").short_integer()
    with pytest.raises(wsp.WspEncodeError):
        wsp.encode_short_integer(128)


def test_value_length() -> None:
    # §8.4.2.2 Value-length = Short-length (0..30) | Length-quote (31) Length (uintvar)
    assert wsp.encode_value_length(30) == H("1e")
    assert wsp.encode_value_length(31) == H("1f1f")
    assert wsp.encode_value_length(200) == H("1f8148")
    assert reader("1f8148" + "00" * 200).value_length() == 200
    with pytest.raises(wsp.WspDecodeError, match="exceeds"):
        reader("0500").value_length()
    with pytest.raises(wsp.WspDecodeError, match="value-length"):
        reader("20").value_length()


def test_strings() -> None:
    # §8.4.2.1 Text-string = [Quote] *TEXT End-of-string; Quote (127) when the first octet
    # is >= 128. Quoted-string = <Octet 34> *TEXT End-of-string.
    assert wsp.encode_text_string("abc") == H("61626300")
    assert wsp.encode_text_string("é") == H("7fc3a900")
    assert reader("7fc3a900").text_string() == "é"
    assert wsp.encode_quoted_string("<a>") == H("223c613e00")
    assert reader("223c613e00").quoted_string() == "<a>"
    assert reader("00").text_value() == ""
    r = reader("616263")
    assert r.text_string() == "abc" and r.warnings and "NUL" in r.warnings[0]
    with pytest.raises(wsp.WspEncodeError):
        wsp.encode_text_string("a\x00b")


def test_encoded_string_value() -> None:
    # OMA-MMS-ENC §7.2.9 / WSP §8.4.2.1: Encoded-string-value = Text-string |
    # Value-length Char-set Text-string; UTF-8 is MIBenum 106 = short-integer 0xEA.
    assert wsp.encode_encoded_string_value("Hi") == H("486900")
    assert wsp.encode_encoded_string_value("Пи") == H("07ea7fd09fd0b800")
    value = reader("07ea7fd09fd0b800").encoded_string_value()
    assert value == "Пи" and value.charset == "utf-8"
    latin = reader("04 84 e9 74 00".replace(" ", "")).encoded_string_value()
    assert latin == "ét" and latin.charset == "iso-8859-1"
    # UTF-16 (MIBenum 1015 = long-integer 02 03F7): the text holds NULs, the value runs to its end
    wide = EncodedString("ok", "utf-16")
    octets = wsp.encode_encoded_string_value(wide)
    assert octets[:4] == H("0a0203f7") and reader(octets.hex()).encoded_string_value() == "ok"


def test_unknown_charset_is_a_warning() -> None:
    r = reader("0502270f4100")  # MIBenum 9999, then "A"
    value = r.encoded_string_value()
    assert value == "A" and value.charset == "x-mibenum-9999"
    assert any("unknown charset" in w for w in r.warnings)
    assert wsp.encode_encoded_string_value(value) == H("0502270f4100")


def test_invalid_utf8_text_is_kept() -> None:
    r = reader("03ea" + "ff00")
    value = r.encoded_string_value()
    assert "not valid" in r.warnings[0]
    assert value.encode("utf-8", "surrogateescape") == b"\xff"


CONTENT_TYPES = [
    # §8.4.2.24 Constrained-media: a well-known short-integer, or Extension-media text
    (ContentType("image/jpeg"), "9e"),
    (ContentType("application/smil"), "6170706c69636174696f6e2f736d696c00"),
    # Content-general-form = Value-length Media-type; multipart/related with Type (0x89) and
    # Start (0x8A) as in OMA-MMS-ENC §7.2.11.
    (ContentType("application/vnd.wap.multipart.related",
                 {"type": "application/smil", "start": "<s>"}),
     "18" "b3" "89" "6170706c69636174696f6e2f736d696c00" "8a" "3c733e00"),
    # Charset 0x81 with MIBenum 106 (utf-8) and Name 0x85
    (ContentType("text/plain", {"charset": "utf-8", "name": "a.txt"}),
     "0a" "83" "81ea" "85612e74787400"),
]


@pytest.mark.parametrize("ct,octets", CONTENT_TYPES)
def test_content_type_known_answers(ct: ContentType, octets: str) -> None:
    assert wsp.encode_content_type(ct) == H(octets)
    assert reader(octets).content_type() == ct


def test_content_type_lenient_forms() -> None:
    # WSP 1.4 renumbered Name/Filename/Start to 0x97/0x98/0x99 (Text-value): accept both.
    ct = reader("0d83" "97612e74787400" "99" "3c733e00").content_type()
    assert ct == ContentType("text/plain", {"name": "a.txt", "start": "<s>"})
    # charset=* (Any-charset 0x80) from handsets: accepted, with a warning
    r = reader("0383" "8180")
    assert r.content_type().params == {"charset": "*"} and r.warnings
    # an untyped parameter: Token-text name and a Text-value
    assert reader("0983" "666f6f00" "62617200").content_type().params == {"foo": "bar"}
    with pytest.raises(wsp.WspDecodeError, match="empty content type"):
        reader("00").content_type()


def test_part_headers() -> None:
    # Content-Location 0x8E (Text-string), Content-ID 0xC0 (Quoted-string),
    # Content-Disposition 0xAE = Value-length Disposition (Inline 130) Filename (0x86) text
    octets = "8e612e6a706700" "c0223c613e00" "ae08" "82" "86612e6a706700"
    headers = reader(octets).wsp_headers()
    assert headers == [("Content-Location", "a.jpg"), ("Content-ID", "<a>"),
                       ("Content-Disposition", Disposition("inline", {"filename": "a.jpg"}))]
    assert wsp.encode_wsp_headers(headers) == H(octets)
    # Application-header: Token-text name, Text-string value; unknown well-known: raw octets
    assert reader("582d4100763100" "9f83" "a3020102" "8e6100").wsp_headers() == [
        ("X-A", "v1"), ("Pragma", RawValue(H("83"))), ("Range", RawValue(H("020102"))),
        ("Content-Location", "a")]


def test_multipart_known_answer() -> None:
    # §8.5.2: nEntries (uintvar), then HeadersLen, DataLen, ContentType, Headers, Data
    parts = [Part(ContentType("text/plain"), [("Content-ID", "<t>")], b"Hi"),
             Part(ContentType("image/gif"), [], b"GIF89a")]
    octets = b"".join(wsp.encode_multipart(parts))
    assert octets == H("02" "07" "02" "83" "c0223c743e00" "4869" "01" "06" "9d" "474946383961")
    r = Reader(octets)
    decoded = r.multipart()
    assert decoded == parts and r.at_end()
    assert isinstance(decoded[1].data, memoryview) and decoded[1].data.obj is octets


def test_multipart_rejects_lies() -> None:
    with pytest.raises(wsp.WspDecodeError, match="cannot fit"):
        Reader(H("7f00")).multipart()
    with pytest.raises(wsp.WspDecodeError, match="exceeds"):
        Reader(H("01" "01" "10" "83" "41")).multipart()


def test_charset_tables_agree() -> None:
    for mib, (name, _) in wsp.CHARSETS.items():
        assert wsp.charset_name(mib) == name and wsp.charset_mib(name) == mib
    assert wsp.charset_mib("UTF8") == 106 and wsp.charset_mib("latin1") == 4
    with pytest.raises(wsp.WspEncodeError):
        wsp.charset_mib("no-such-charset")


def test_well_known_table_is_one_to_one() -> None:
    assert len(wsp.CONTENT_TYPE_CODES) == len(wsp.CONTENT_TYPES)
    for code, name in wsp.CONTENT_TYPES.items():
        assert reader(wsp.encode_content_type(ContentType(name)).hex()).content_type().media_type \
            == name
        assert wsp.encode_content_type(ContentType(name)) == bytes((0x80 | code,))


@given(st.integers(0, 0xFFFFFFFF))
def test_uintvar_round_trip(n: int) -> None:
    assert Reader(wsp.encode_uintvar(n)).uintvar() == n


@given(st.integers(0, 2**240 - 1))
def test_long_integer_round_trip(n: int) -> None:
    assert Reader(wsp.encode_long_integer(n)).long_integer() == n


texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))


@given(texts, st.sampled_from([None, "utf-8", "utf-16", "iso-8859-1", "shift_jis", "us-ascii"]))
@example("\ufeff", None)  # found by a random seed: a text that is only a BOM (ZWNBSP)
@example("\ufeffab", "utf-8")
def test_encoded_string_round_trip(text: str, charset: str | None) -> None:
    """Exact round trips: a leading U+FEFF of the text itself survives (the encoder writes a
    BOM before it, which the decoder drops)."""
    value = EncodedString(text, charset)
    try:
        octets = wsp.encode_encoded_string_value(value)
    except wsp.WspEncodeError:
        return  # the text has characters the charset cannot carry
    if charset and text.encode(wsp.python_codec(charset)).decode(wsp.python_codec(charset)) != text:
        return  # a lossy mapping of the charset itself (Shift_JIS writes U+00A5 as 0x5C)
    decoded = Reader(octets).encoded_string_value()
    plain = not text or (text.isascii() and text[0] >= " ")
    effective = charset or (None if plain else "utf-8")
    assert decoded.charset == effective
    assert decoded == text


tokens = st.text("abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)
param_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=20)


@given(st.sampled_from(sorted(wsp.CONTENT_TYPE_CODES) + ["application/smil", "audio/amr"]),
       st.dictionaries(st.sampled_from(["name", "filename", "start", "start-info"])
                       | tokens.filter(lambda t: t not in ("charset", "type")),
                       param_values, max_size=4),
       st.sampled_from([None, "utf-8", "us-ascii", "big5"]))
def test_content_type_round_trip(media: str, params: dict[str, str], charset: str | None) -> None:
    if charset:
        params = {"charset": charset, **params}
    ct = ContentType(media, params)
    decoded = Reader(wsp.encode_content_type(ct)).content_type()
    assert decoded.media_type.lower() == media.lower() and decoded.params == params


@pytest.mark.parametrize("raw", [b"\xef\xbb\xbfhello", b"hello", b"\xef\xbb\xbf\xef\xbb\xbfx"])
def test_unknown_charset_text_reencodes_octet_for_octet(raw: bytes) -> None:
    """An unknown MIBenum's text is read as UTF-8 and written back the same: a BOM it carried
    is neither dropped nor doubled (found by fuzzing: the encoder added a second one). The only
    change is the strict form: a Quote (0x7F) before a first octet >= 0x80 (WSP §8.4.2.1)."""
    octets = wsp.with_length(wsp.encode_integer_value(3000) + raw + b"\x00")
    decoded = Reader(octets).encoded_string_value()
    assert decoded.charset == "x-mibenum-3000"
    quote = b"\x7f" if raw[0] >= 0x80 else b""
    strict = wsp.with_length(wsp.encode_integer_value(3000) + quote + raw + b"\x00")
    assert wsp.encode_encoded_string_value(decoded) == strict
    assert Reader(strict).encoded_string_value() == decoded


# -- at the boundaries (each of these killed a mutant that survived; see docs/testing.md) ---------

@pytest.mark.parametrize("octets,value", [
    ("04 81 85" "6100", Disposition("attachment", {"name": "a"})),   # Value-length, token, param
    ("01 82", Disposition("inline")),
    ("01 80", Disposition("form-data")),
])
def test_content_disposition_forms(octets: str, value: Disposition) -> None:
    r = Reader(H("ae") + H(octets))  # Content-Disposition 0x2E
    assert r.wsp_header() == ("Content-Disposition", value) and r.at_end() and not r.warnings
    assert wsp.encode_wsp_header("Content-Disposition", value) == H("ae") + H(octets)


def test_content_disposition_leniency_and_refusals() -> None:
    """A Token-text kind; a bare token without Value-length (a warning); an unknown code read
    as attachment (a warning); an empty value refused."""
    r = Reader(H("ae 05") + b"mine\0")
    assert r.wsp_header() == ("Content-Disposition", Disposition("mine")) and not r.warnings
    assert wsp.encode_wsp_header("Content-Disposition", Disposition("mine")) == H("ae05") + b"mine\0"
    r = Reader(H("ae 81"))
    assert r.wsp_header() == ("Content-Disposition", Disposition("attachment"))
    assert r.warnings == ["Content-Disposition: content disposition without a value length "
                          "(offset 1)"]
    r = Reader(H("ae 01 9f"))
    assert r.wsp_header() == ("Content-Disposition", Disposition("attachment"))
    assert r.warnings == ["Content-Disposition: unknown disposition 0x9f, read as attachment "
                          "(offset 3)"]
    with pytest.raises(wsp.WspDecodeError, match="empty content disposition"):
        Reader(H("ae 00")).wsp_header()
    with pytest.raises(wsp.WspEncodeError, match="needs a Disposition value"):
        wsp.encode_wsp_header("Content-Disposition", 3)


@pytest.mark.parametrize("octets,level", [("92", "1.2"), ("9f", "1"), ("8f", "0"),
                                          ("312e3300", "1.3")])
def test_level_parameter(octets: str, level: str) -> None:
    """Version-value: Short-integer major<<4|minor (minor 15 = none), or Text-string."""
    body = H("83 82") + H(octets)
    assert Reader(bytes((len(body),)) + body).content_type() == \
        ContentType("text/plain", {"level": level})


def test_secure_parameter_is_no_value() -> None:
    assert Reader(H("03 83 90 00")).content_type() == ContentType("text/plain", {"secure": ""})
    with pytest.raises(wsp.WspDecodeError, match=r"^expected No-value \(0x00\)") as caught:
        Reader(H("03 83 90 01")).content_type()
    assert caught.value.offset == 3


@pytest.mark.parametrize("octets,params", [
    ("0a 83 66 6f 6f 00 82", {"foo": "2"}),               # Token-text, Short-integer
    ("0b 83 66 6f 6f 00 01 ff", {"foo": "255"}),          # Long-integer
    ("0b 83 66 6f 6f 00 22 61 00", {"foo": "a"}),          # Quoted-string
    ("09 83 66 6f 6f 00 00", {"foo": ""}),                # No-value
    ("0b 83 66 6f 6f 00 62 61 00", {"foo": "ba"}),        # Token-text value
])
def test_untyped_parameters(octets: str, params: dict[str, str]) -> None:
    raw = H(octets)
    raw = bytes((len(raw) - 1,)) + raw[1:]
    assert Reader(raw).content_type() == ContentType("text/plain", params)


@pytest.mark.parametrize("value,octets", [(4, "84"), (0x1234, "021234"),
                                          ("x-wap-application:mms.ua", b"x-wap-application:mms.ua\0")])
def test_application_id_both_forms(value: int | str, octets: str | bytes) -> None:
    raw = H(octets) if isinstance(octets, str) else octets
    assert wsp.encode_wsp_header("X-Wap-Application-Id", value) == H("af") + raw
    assert Reader(H("af") + raw).wsp_header() == ("X-Wap-Application-Id", value)


@pytest.mark.parametrize("name,value,why", [
    ("X-Wap-Application-Id", "\x05text", "takes a code or a URI"),
    ("X-Wap-Application-Id", "", "takes a code or a URI"),
    ("X-Wap-Application-Id", 2.5, "takes a code or a URI"),
    ("Content-ID", 5, "Content-ID takes text"),
    ("Content-Location", 5, "takes text"),
    ("Content-Length", "5", "takes an integer"),
    ("Content-Length", True, "takes an integer"),
    ("Push-Flag", True, "takes an integer"),
    ("X-Unknown", 5, "takes text"),
])
def test_header_values_of_the_wrong_kind(name: str, value: object, why: str) -> None:
    with pytest.raises(wsp.WspEncodeError, match=why):
        wsp.encode_wsp_header(name, value)  # type: ignore[arg-type]


@pytest.mark.parametrize("octets,ok", [
    ("85", True), ("0161", True), ("1f0161", True), ("6100", True),
    ("", False), ("0261", False), ("8585", False), ("61", False),
])
def test_raw_values_must_be_exactly_one_value(octets: str, ok: bool) -> None:
    value = RawValue(H(octets))
    if ok:
        assert wsp.raw_value_octets(value) == H(octets)
        assert wsp.encode_wsp_header("Age", value) == H("85") + H(octets)
    else:
        with pytest.raises(wsp.WspEncodeError, match="are not one header value"):
            wsp.raw_value_octets(value)


def test_generic_values_by_the_general_rule() -> None:
    """§8.4.1.2: a short integer is one octet, a Value-length covers its data, a text ends
    at NUL (given back when it was missing)."""
    r = Reader(H("85 1f02aabb 0161 6162"))
    assert [r.generic_value() for _ in range(3)] == [H("85"), H("1f02aabb"), H("0161")]
    assert r.generic_value() == b"ab\0" and r.at_end()
    assert r.warnings == ["text without its terminating NUL (offset 7)"]


def test_text_value_forms() -> None:
    assert Reader(H("00")).text_value() == ""
    assert Reader(H("226100")).text_value() == "a"
    assert Reader(H("7fc3a900")).text_value() == "é"


def test_decode_errors_say_where() -> None:
    error = wsp.WspDecodeError("bad", 7, "Subject")
    assert (error.reason, error.offset, error.field) == ("bad", 7, "Subject")
    assert str(error) == "Subject: bad at offset 7"
    assert str(wsp.WspDecodeError("bad", 0)) == "bad at offset 0"


def test_mutation_known_answers_of_the_primitives() -> None:
    """Details the mutation run found unchecked, each from WAP-230-WSP §8.4.2: a bounded
    value cannot be read past its end; an untyped parameter with a number is Token-text
    and Integer-value; a charset with no MIBenum goes as an untyped ``charset`` parameter
    with a Quoted-string; an unassigned well-known header or parameter is named by its
    code (with a warning); a parameter cannot start with 0x1F; a charset name Python does not
    know (ISO-10646-UCS-2, MIBenum 1000) still names its codec; a multipart entry's headers
    cannot run past the body."""
    outer = Reader(b"\x02ab\x00cd")
    sub = outer.length_bounded()
    with pytest.raises(wsp.WspDecodeError, match="^length 3 exceeds the 2 octets left"):
        sub.take(3)
    assert bytes(sub.take(2)) == b"ab"
    after_one = Reader(b"X\x05ab")
    after_one.octet()
    with pytest.raises(wsp.WspDecodeError,
                       match="^value length 5 exceeds the 2 octets left at offset 1"):
        after_one.length_bounded()
    with pytest.raises(wsp.WspDecodeError, match="^uintvar longer than 5 octets at offset 0"):
        Reader(b"\x80\x80\x80\x80\x80\x01").uintvar()
    assert wsp.encode_parameters({"x-n": "5"}) == b"x-n\x00\x85"
    assert wsp.encode_parameters({"charset": "x-unknown"}) == b'charset\x00"x-unknown\x00'
    assert Reader(bytes([0xFF, 0x00])).wsp_header() == ("x-wsp-header-0x7f",
                                                        wsp.RawValue(b"\x00"))
    r = Reader(bytes([0xA9, 0x81]))
    assert r.parameters() == {"x-wsp-param-0x29": "1"}
    assert r.warnings == ["unassigned parameter 0x29 (offset 2)"]
    with pytest.raises(wsp.WspDecodeError, match="^expected token text, found 0x1f at offset 0"):
        Reader(bytes([0x1F, 0x01, 0x00])).parameters()
    assert wsp.python_codec("ISO-10646-UCS-2") == "utf-16-be"  # a name Python lacks
    # a multipart entry whose headers run past the body (after one octet read already)
    late = Reader(H("FF 01 0A 00 83"))
    late.octet()
    with pytest.raises(wsp.WspDecodeError,
                       match="^part 0: value length 10 exceeds the 1 octets left at offset 4"):
        late.multipart()
    five = Reader(H("FF 01 05 00 83"))  # 5 octets of headers, 1 left (after 4 read)
    five.octet()
    with pytest.raises(wsp.WspDecodeError,
                       match="^part 0: value length 5 exceeds the 1 octets left at offset 4"):
        five.multipart()


@pytest.mark.parametrize(("encode", "said"), [
    (lambda: wsp.encode_long_integer(-1), "long-integer cannot be negative: -1"),
    (lambda: wsp.encode_long_integer(2 ** 248), "long-integer longer than 30 octets"),
    (lambda: wsp.encode_token_text("\x7fx"), "not a token: '\\x7fx'"),
    (lambda: wsp.encode_token_text("\x1fx"), "not a token: '\\x1fx'"),
    (lambda: wsp.encode_content_type(wsp.ContentType("")), "invalid media type ''"),
    (lambda: wsp.encode_wsp_header("Content-Location", 5), "this header takes text"),
    (lambda: wsp.encode_text_string("a\x00b"), "text cannot contain NUL"),
])
def test_encode_errors_word_for_word(encode, said: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(wsp.WspEncodeError) as raised:
        encode()
    assert str(raised.value) == said


@pytest.mark.parametrize(("octets", "text", "charset", "warnings"), [
    # ISO-10646-UCS-2 (MIBenum 1000, a Long-integer 02 03E8): two octets a character, ended
    # by two zero octets, or by one (as some encoders write it)
    ("09 02 03E8 0041 0042 0000", "AB", "iso-10646-ucs-2", []),
    ("08 02 03E8 0041 0042 00", "AB", "iso-10646-ucs-2", []),
    ("01 EA", "", "utf-8", []),  # a charset and no text at all
    ("04 EA 6100 62", "a", "utf-8", ["octets after the text of an encoded string (offset 4)"]),
    # Any-charset (128): read as UTF-8, said twice
    ("04 80 6162 00", "ab", "*", ["charset '*' (any charset) (offset 2)",
                                 "unknown charset, text read as UTF-8 (offset 5)"]),
])
def test_encoded_string_value_forms_decoded(octets: str, text: str, charset: str,
                                            warnings: list[str]) -> None:
    """Encoded-string-value (WSP §8.4.2.1, OMA-MMS-ENC §7.2.9) in the forms the encoder
    never writes but handsets do."""
    r = Reader(H(octets))
    value = r.encoded_string_value()
    assert (str(value), value.charset, r.warnings) == (text, charset, warnings)
    assert r.at_end()


def test_encoded_string_values_written_and_kept() -> None:
    """What the encoder writes (WSP §8.4.2.1): Integer-value 0 is the Short-integer 0x80;
    text in Any-charset (128) is Value-length 0x80 Text-string. What the decoder keeps: a
    UTF-8 text's one leading BOM is dropped and the text re-encodes without it (no raw
    octets kept); UCS-2 octets that are no text (a lone surrogate, D800) are kept as they
    came and written back the same."""
    assert wsp.encode_integer_value(0) == b"\x80"
    assert wsp.encode_encoded_string_value(EncodedString("ab", "*")) == H("04 80 6162 00")
    bom = Reader(H("08 EA 7F EFBBBF 6162 00")).encoded_string_value()
    assert (str(bom), bom.charset, bom.raw) == ("ab", "utf-8", None)
    octets = H("06 02 03E8 D800 00")
    r = Reader(octets)
    lone = r.encoded_string_value()
    assert (lone.charset, lone.raw) == ("iso-10646-ucs-2", b"\xd8\x00")
    assert r.warnings == ["text is not valid utf-16-be, kept as raw octets (offset 7)"]
    assert wsp.encode_encoded_string_value(lone) == octets


def test_decode_errors_name_the_header_they_are_in() -> None:
    with pytest.raises(wsp.WspDecodeError, match="^unexpected end of data at offset 0$"):
        Reader(b"").peek()
    with pytest.raises(wsp.WspDecodeError,  # Content-Type (0x11), its value cut
                       match="^Content-Type: unexpected end of data at offset 2$"):
        Reader(bytes([0x91, 0x1F])).wsp_header()
    with pytest.raises(wsp.WspDecodeError,  # Date (0x12), kept raw, its length too long
                       match="^Date: value length 4 exceeds the 1 octets left at offset 1$"):
        Reader(bytes([0x92, 0x04, 0x01])).wsp_header()
    with pytest.raises(wsp.WspDecodeError,  # an application header with no value
                       match="^X-App: unexpected end of data at offset 6$"):
        Reader(b"X-App\x00").wsp_header()
