"""Known answers from the standards' own tables, written out here as the standards print them,
and never derived from the code under test.

Each table is compared both ways against the project's codec: encoding a name gives its code
on the wire, and decoding the code gives the name back. A wrong row in any of the project's
tables (two codes swapped, a value off by one, a row missing) fails here by name.

Sources: OMA-TS-MMS-ENC-V1_3 §7.3 and §7.4 (Table 25 and the value clauses), WAP-230-WSP
§8.4 and Appendix A (Tables 38, 39, 40; OMNA's registry for the codes after 0x34), 3GPP TS
23.038 §6.2.1 (GSM 7-bit default alphabet and its extension table), 3GPP TS 23.140 §8.7.4
(MM7 request status codes), SMPP v3.4 §5.1.2 and §5.1.3 (command ids, command statuses).
"""

from __future__ import annotations

import re

import pytest

from mmsc.mm7 import status as mm7_status
from mmsc.mm7.soap import build_fault
from mmsc.pdu import fields as F
from mmsc.pdu import values as V
from wap_push import smpp, sms, wsp
from wap_push.wsp import ContentType, Reader, WspDecodeError, WspEncodeError

H = bytes.fromhex

# -- OMA-MMS-ENC 1.3 §7.4, Table 25: header field names and their assigned numbers ---------------

MMS_HEADER_FIELDS = [
    (0x01, "Bcc"), (0x02, "Cc"), (0x03, "X-Mms-Content-Location"), (0x04, "Content-Type"),
    (0x05, "Date"), (0x06, "X-Mms-Delivery-Report"), (0x07, "X-Mms-Delivery-Time"),
    (0x08, "X-Mms-Expiry"), (0x09, "From"), (0x0A, "X-Mms-Message-Class"),
    (0x0B, "Message-ID"), (0x0C, "X-Mms-Message-Type"), (0x0D, "X-Mms-MMS-Version"),
    (0x0E, "X-Mms-Message-Size"), (0x0F, "X-Mms-Priority"), (0x10, "X-Mms-Read-Report"),
    (0x11, "X-Mms-Report-Allowed"), (0x12, "X-Mms-Response-Status"),
    (0x13, "X-Mms-Response-Text"), (0x14, "X-Mms-Sender-Visibility"), (0x15, "X-Mms-Status"),
    (0x16, "Subject"), (0x17, "To"), (0x18, "X-Mms-Transaction-Id"),
    (0x19, "X-Mms-Retrieve-Status"), (0x1A, "X-Mms-Retrieve-Text"),
    (0x1B, "X-Mms-Read-Status"), (0x1C, "X-Mms-Reply-Charging"),
    (0x1D, "X-Mms-Reply-Charging-Deadline"), (0x1E, "X-Mms-Reply-Charging-ID"),
    (0x1F, "X-Mms-Reply-Charging-Size"), (0x20, "X-Mms-Previously-Sent-By"),
    (0x21, "X-Mms-Previously-Sent-Date"), (0x22, "X-Mms-Store"), (0x23, "X-Mms-MM-State"),
    (0x24, "X-Mms-MM-Flags"), (0x25, "X-Mms-Store-Status"), (0x26, "X-Mms-Store-Status-Text"),
    (0x27, "X-Mms-Stored"), (0x28, "X-Mms-Attributes"), (0x29, "X-Mms-Totals"),
    (0x2A, "X-Mms-Mbox-Totals"), (0x2B, "X-Mms-Quotas"), (0x2C, "X-Mms-Mbox-Quotas"),
    (0x2D, "X-Mms-Message-Count"), (0x2E, "Content"), (0x2F, "X-Mms-Start"),
    (0x30, "Additional-headers"), (0x31, "X-Mms-Distribution-Indicator"),
    (0x32, "X-Mms-Element-Descriptor"), (0x33, "X-Mms-Limit"),
    (0x34, "X-Mms-Recommended-Retrieval-Mode"), (0x35, "X-Mms-Recommended-Retrieval-Mode-Text"),
    (0x36, "X-Mms-Status-Text"), (0x37, "X-Mms-Applic-ID"), (0x38, "X-Mms-Reply-Applic-ID"),
    (0x39, "X-Mms-Aux-Applic-Info"), (0x3A, "X-Mms-Content-Class"), (0x3B, "X-Mms-DRM-Content"),
    (0x3C, "X-Mms-Adaptation-Allowed"), (0x3D, "X-Mms-Replace-ID"), (0x3E, "X-Mms-Cancel-ID"),
    (0x3F, "X-Mms-Cancel-Status"),
]


@pytest.mark.parametrize("code,name", MMS_HEADER_FIELDS, ids=[n for _, n in MMS_HEADER_FIELDS])
def test_mms_header_field_code_and_name(code: int, name: str) -> None:
    """Name -> the short-integer code on the wire (0x80 | code), and back (X-Mms-Attributes
    carries field codes, §7.3.3, so its codec is the table's own encoder and decoder)."""
    codec = F.FieldCode()
    assert codec.encode(name) == bytes((0x80 | code,))
    assert codec.encode(name.upper()) == bytes((0x80 | code,))  # field names are case-blind
    assert codec.decode(Reader(bytes((0x80 | code,)))) == name
    assert F.BY_CODE[code].name == name and F.BY_NAME[name.lower()].code == code


def test_mms_header_table_has_no_other_row() -> None:
    assert sorted((f.code, f.name) for f in F.FIELDS) == MMS_HEADER_FIELDS


def test_applic_ids_travel_under_their_own_codes() -> None:
    """X-Mms-Applic-ID (0x37) and X-Mms-Reply-Applic-ID (0x38) in a real PDU, decoded from
    octets written by hand: m-send-conf with both, each a Text-string."""
    from mmsc.pdu import decode, encode

    octets = H("8c81" "98") + b"t\0" + H("8d93" "9280") + H("b7") + b"app\0" + H("b8") + b"reply\0"
    pdu = decode(octets)
    assert (pdu.applic_id, pdu.reply_applic_id) == ("app", "reply")
    assert encode(pdu) == octets


# -- OMA-MMS-ENC 1.3 §7.3: token values ---------------------------------------------------------

TOKEN_TABLES = {
    # §7.3.30 X-Mms-Message-Type
    "MessageType": [
        (128, "m-send-req"), (129, "m-send-conf"), (130, "m-notification-ind"),
        (131, "m-notifyresp-ind"), (132, "m-retrieve-conf"), (133, "m-acknowledge-ind"),
        (134, "m-delivery-ind"), (135, "m-read-rec-ind"), (136, "m-read-orig-ind"),
        (137, "m-forward-req"), (138, "m-forward-conf"), (139, "m-mbox-store-req"),
        (140, "m-mbox-store-conf"), (141, "m-mbox-view-req"), (142, "m-mbox-view-conf"),
        (143, "m-mbox-upload-req"), (144, "m-mbox-upload-conf"), (145, "m-mbox-delete-req"),
        (146, "m-mbox-delete-conf"), (147, "m-mbox-descr"), (148, "m-delete-req"),
        (149, "m-delete-conf"), (150, "m-cancel-req"), (151, "m-cancel-conf"),
    ],
    # §7.3.48 X-Mms-Response-Status: Ok, the MMS 1.0 codes, then the 1.1+ ranges
    "ResponseStatus": [
        (128, "Ok"), (129, "Error-unspecified"), (130, "Error-service-denied"),
        (131, "Error-message-format-corrupt"), (132, "Error-sending-address-unresolved"),
        (133, "Error-message-not-found"), (134, "Error-network-problem"),
        (135, "Error-content-not-accepted"), (136, "Error-unsupported-message"),
        (192, "Error-transient-failure"), (193, "Error-transient-sending-address-unresolved"),
        (194, "Error-transient-message-not-found"), (195, "Error-transient-network-problem"),
        (196, "Error-transient-partial-success"),
        (224, "Error-permanent-failure"), (225, "Error-permanent-service-denied"),
        (226, "Error-permanent-message-format-corrupt"),
        (227, "Error-permanent-sending-address-unresolved"),
        (228, "Error-permanent-message-not-found"), (229, "Error-permanent-content-not-accepted"),
        (230, "Error-permanent-reply-charging-limitations-not-met"),
        (231, "Error-permanent-reply-charging-request-not-accepted"),
        (232, "Error-permanent-reply-charging-forwarding-denied"),
        (233, "Error-permanent-reply-charging-not-supported"),
        (234, "Error-permanent-address-hiding-not-supported"),
        (235, "Error-permanent-lack-of-prepaid"),
    ],
    # §7.3.50 X-Mms-Retrieve-Status
    "RetrieveStatus": [
        (128, "Ok"), (192, "Error-transient-failure"), (193, "Error-transient-message-not-found"),
        (194, "Error-transient-network-problem"), (224, "Error-permanent-failure"),
        (225, "Error-permanent-service-denied"), (226, "Error-permanent-message-not-found"),
        (227, "Error-permanent-content-unsupported"),
    ],
    # §7.3.54 X-Mms-Status
    "Status": [
        (128, "Expired"), (129, "Retrieved"), (130, "Rejected"), (131, "Deferred"),
        (132, "Unrecognised"), (133, "Indeterminate"), (134, "Forwarded"), (135, "Unreachable"),
    ],
    # §7.3.40 X-Mms-Read-Status
    "ReadStatus": [(128, "Read"), (129, "Deleted-without-being-read")],
    # §7.3.27 X-Mms-Message-Class (class-identifier)
    "MessageClass": [(128, "Personal"), (129, "Advertisement"), (130, "Informational"),
                     (131, "Auto")],
    # §7.3.35 X-Mms-Priority
    "Priority": [(128, "Low"), (129, "Normal"), (130, "High")],
    # §7.3.52 X-Mms-Sender-Visibility
    "SenderVisibility": [(128, "Hide"), (129, "Show")],
    # §7.3.58 X-Mms-Store-Status
    "StoreStatus": [
        (128, "Success"), (192, "Error-transient-failure"),
        (193, "Error-transient-network-problem"), (224, "Error-permanent-failure"),
        (225, "Error-permanent-service-denied"), (226, "Error-permanent-message-format-corrupt"),
        (227, "Error-permanent-message-not-found"), (228, "Error-permanent-mmbox-full"),
    ],
    # §7.3.33 X-Mms-MM-State
    "MmState": [(128, "Draft"), (129, "Sent"), (130, "New"), (131, "Retrieved"),
                (132, "Forwarded")],
    # §7.3.6 X-Mms-Cancel-Status
    "CancelStatus": [(128, "Cancel-request-successfully-received"),
                     (129, "Cancel-request-corrupted")],
    # §7.3.9 X-Mms-Content-Class
    "ContentClass": [(128, "text"), (129, "image-basic"), (130, "image-rich"),
                     (131, "video-basic"), (132, "video-rich"), (133, "megapixel"),
                     (134, "content-basic"), (135, "content-rich")],
    # §7.3.43 X-Mms-Reply-Charging
    "ReplyCharging": [(128, "Requested"), (129, "Requested-text-only"), (130, "Accepted"),
                      (131, "Accepted-text-only")],
    # §7.3.39 X-Mms-Recommended-Retrieval-Mode
    "RetrievalMode": [(128, "Manual")],
    # §7.3.32 X-Mms-MM-Flags token
    "MmFlagAction": [(128, "Add"), (129, "Remove"), (130, "Filter")],
    # §7.3.25-26 X-Mms-Mbox-Totals / -Quotas unit token
    "MboxUnit": [(128, "Messages"), (129, "Size")],
}
TOKEN_ROWS = [(table, code, label) for table, rows in TOKEN_TABLES.items()
              for code, label in rows]


@pytest.mark.parametrize("table,code,label", TOKEN_ROWS,
                         ids=[f"{t}-{c}" for t, c, _ in TOKEN_ROWS])
def test_token_value(table: str, code: int, label: str) -> None:
    """Label -> octet through the field codec (as the JSON form and the encoder use it), and
    octet -> label through its decoder."""
    codec = F.Tokens(getattr(V, table))
    assert codec.encode(codec.from_json(label)) == bytes((code,))
    assert codec.encode(codec.from_json(label.upper())) == bytes((code,))
    decoded = codec.decode(Reader(bytes((code,))))
    assert int(decoded) == code and codec.to_json(decoded) == label


@pytest.mark.parametrize("table", sorted(TOKEN_TABLES))
def test_token_table_has_no_other_value(table: str) -> None:
    assert sorted((int(m), m.label) for m in getattr(V, table)) == TOKEN_TABLES[table]


# -- OMA-MMS-ENC 1.3 §7.3: structured header values, JSON form and octets ----------------------
# The MMBox fields, the forwarding history and the element descriptor, written out from the
# grammar of §7.3 and the WSP primitives (WAP-230-WSP §8.4.2); each JSON form (what
# `mmsc decode --json` prints, `mmsc encode` reads) -> octets -> JSON form.

DATE_2020 = bytes.fromhex("045E0BE100")  # Long-integer 1577836800 (2020-01-01T00:00:00Z)

#: (field, JSON form, octets of the value after the field code)
CASES = [
    # §7.3.25 X-Mms-Mbox-Totals: Value-length (Message-total-token 128 | Size-total-token 129)
    # Integer-value; 5 is a Short-integer (0x85), 300 a Long-integer of two octets
    ("X-Mms-Mbox-Totals", {"unit": "Messages", "value": 5}, bytes.fromhex("028085")),
    ("X-Mms-Mbox-Totals", {"unit": "Size", "value": 300}, bytes.fromhex("048102012C")),
    # §7.3.26 X-Mms-Mbox-Quotas: the same grammar
    ("X-Mms-Mbox-Quotas", {"unit": "Size", "value": 127}, bytes.fromhex("0281FF")),
    # §7.3.32 X-Mms-MM-Flags: Value-length (Add 128 | Remove 129 | Filter 130)
    # Encoded-string-value (a Text-string, or Value-length Char-set Text-string; utf-8 is
    # MIBenum 106, Short-integer 0xEA; a Text-string whose first octet is 128 or more starts
    # with the Quote 0x7F, WSP §8.4.2.1)
    ("X-Mms-MM-Flags", {"action": "Add", "keyword": "urgent"},
     bytes.fromhex("0880") + b"urgent\x00"),
    ("X-Mms-MM-Flags", {"action": "Remove", "keyword": {"text": "\u00e9", "charset": "utf-8"}},
     bytes.fromhex("078105EA7FC3A900")),
    # §7.3.37 X-Mms-Previously-Sent-By: Value-length Forwarded-count-value (Integer-value)
    # Encoded-string-value
    ("X-Mms-Previously-Sent-By", {"count": 2, "value": "+33611111111/TYPE=PLMN"},
     bytes.fromhex("1882") + b"+33611111111/TYPE=PLMN\x00"),
    # §7.3.38 X-Mms-Previously-Sent-Date: Value-length Forwarded-count-value Date-value
    ("X-Mms-Previously-Sent-Date", {"count": 1, "value": "2020-01-01T00:00:00Z"},
     bytes.fromhex("0681") + DATE_2020),
    # §7.3.17 X-Mms-Element-Descriptor: Value-length Content-Reference-value (Text-string)
    # *(Parameter); an untyped parameter is Token-text Untyped-value (WSP §8.4.2.4), the
    # value here a Quoted-string (one of the forms of Text-value, the one the encoder writes)
    ("X-Mms-Element-Descriptor", {"reference": "cid:1", "params": {}},
     bytes.fromhex("06") + b"cid:1\x00"),
    ("X-Mms-Element-Descriptor", {"reference": "cid:1", "params": {"x-name": "v"}},
     bytes.fromhex("10") + b"cid:1\x00x-name\x00\"v\x00"),
    # §7.3.27 X-Mms-Message-Class: Class-identifier (Personal 128 ...) or Token-text
    ("X-Mms-Message-Class", "Personal", bytes.fromhex("80")),
    ("X-Mms-Message-Class", "x-campaign", b"x-campaign\x00"),
    # §7.3.3 X-Mms-Attributes: another field's code as a Short-integer (Subject, 0x16)
    ("X-Mms-Attributes", "Subject", bytes.fromhex("96")),
    # §7.3.21 From: Value-length (Address-present-token 128 Encoded-string-value |
    # Insert-address-token 129)
    ("From", "+33611111111/TYPE=PLMN", bytes.fromhex("1880") + b"+33611111111/TYPE=PLMN\x00"),
    ("From", "<insert-address>", bytes.fromhex("0181")),
]


@pytest.mark.parametrize(("name", "form", "octets"), CASES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(CASES)])
def test_structured_values_both_ways(name: str, form: dict, octets: bytes) -> None:
    codec = F.BY_NAME[name.lower()].codec
    assert codec.encode(codec.from_json(form)) == octets
    reader = Reader(octets)
    assert codec.to_json(codec.decode(reader)) == form
    assert reader.pos == len(octets)  # the whole value, nothing more


def test_dates_without_a_zone_and_out_of_range() -> None:
    """Date-value (§7.3.12): seconds since 1970-01-01T00:00:00Z as a Long-integer; a date
    with no zone is taken as UTC; 2^64 - 1 seconds is no date a decoder can give."""
    from datetime import datetime

    codec = F.BY_NAME["date"].codec
    assert codec.encode(datetime(2020, 1, 1)) == DATE_2020
    with pytest.raises(WspDecodeError, match="date 18446744073709551615 out of range"):
        codec.decode(Reader(bytes.fromhex("08FFFFFFFFFFFFFFFF")))


def test_a_from_without_its_token_is_read_with_a_warning() -> None:
    """Some encoders write From as a bare Encoded-string-value (no Value-length and
    Address-present-token): read, and said in the warnings."""
    reader = Reader(b"+33611111111/TYPE=PLMN\x00")
    assert F.BY_NAME["from"].codec.to_json(F.BY_NAME["from"].codec.decode(reader)) == \
        "+33611111111/TYPE=PLMN"
    assert [w for w in reader.warnings if "address token" in w][0].startswith(
        "From without an address token, read as an encoded string")


def test_mms_version_both_forms_and_its_limits() -> None:
    """X-Mms-MMS-Version (§7.3.34): a Short-integer, major version in bits 6-4 and minor in
    bits 3-0, so 1.2 is 0x92 and 7.14 the largest there is (0xFE); some encoders write it
    as a Text-string, read with a warning."""
    codec = F.BY_NAME["x-mms-mms-version"].codec
    assert codec.encode("1.2") == bytes.fromhex("92")
    assert codec.encode("7.14") == bytes.fromhex("FE")
    for bad in ("8.0", "1.15", "1", "1.2.3", "a.b"):
        with pytest.raises(WspEncodeError, match=f"invalid MMS version '{bad}'"):
            codec.encode(bad)
    reader = Reader(b"1.2\x00")
    assert codec.decode(reader) == "1.2" and reader.pos == 4
    assert [w for w in reader.warnings if "text" in w][0].startswith("version written as text")
    assert codec.decode(Reader(bytes.fromhex("90"))) == "1.0"


def test_unassigned_header_codes_and_errors_name_the_header() -> None:
    """A header with a code §7.4 leaves unassigned (kept as raw octets) goes back under its
    code (0x45 | 0x80); with a text value it is an application header (Token-text name,
    Text-string value). An encode error names the header it is about: the Content-Type, or
    the multipart body."""
    from mmsc.pdu import PduEncodeError, encode
    from mmsc.pdu.jsonform import from_json

    head = {"X-Mms-Transaction-Id": "t", "X-Mms-MMS-Version": "1.2", "From": "<insert-address>",
            "Content-Type": "application/vnd.wap.multipart.mixed"}
    octets = encode(from_json({"message_type": "m-send-req",
                               "headers": {**head, "X-Mms-Unassigned-0x45": {"raw": "81"}},
                               "parts": []}))
    assert bytes.fromhex("C581") in octets and b"Unassigned" not in octets
    octets = encode(from_json({"message_type": "m-send-req",
                               "headers": {**head, "X-Mms-Unassigned-0x45": "v"},
                               "parts": []}))
    assert b"X-Mms-Unassigned-0x45\x00v\x00" in octets
    typed = {"media_type": "image/jpeg", "params": {"x": 5}}
    with pytest.raises(PduEncodeError, match="^Content-Type: parameter 'x' takes text"):
        encode(from_json({"message_type": "m-send-req",
                          "headers": {**head, "Content-Type": typed}}))
    with pytest.raises(PduEncodeError, match="^multipart: "):
        encode(from_json({"message_type": "m-send-req", "headers": head,
                          "parts": [{"content_type": typed, "base64": ""}]}))


def test_an_unknown_token_label_is_named_in_the_error() -> None:
    from mmsc.pdu import PduEncodeError
    from mmsc.pdu.jsonform import from_json

    with pytest.raises(PduEncodeError, match="'Urgent' is not a Priority value$"):
        from_json({"message_type": "m-send-req", "headers": {"X-Mms-Priority": "Urgent"}})


#: JSON values of the wrong shape, and what the error says was expected (every codec error
#: reads "expected <what>, got <value>").
MALFORMED = [
    ("X-Mms-Mbox-Totals", ["Messages", 5], "{'unit': u, 'value': n}"),
    ("X-Mms-Mbox-Totals", {"unit": "Messages", "value": "5"}, "a count"),
    ("X-Mms-MM-Flags", "urgent", "{'action': a, 'keyword': k}"),
    ("X-Mms-Previously-Sent-By", {"count": "2", "value": "x"}, "a count"),
    ("X-Mms-Previously-Sent-By", 2, "{'count': n, 'value': v}"),
    ("X-Mms-Element-Descriptor", {"reference": 1}, "a reference"),
    ("X-Mms-Element-Descriptor", "cid:1", "{'reference': r, 'params': {...}}"),
    ("Date", 1577836800, "an ISO 8601 date"),
    ("Content-Type", {"media_type": 1}, "a media type"),
    ("X-Mms-Attributes", 22, "a header name"),
    ("Subject", 5, "text"),
    ("Subject", {"text": 5, "charset": "utf-8"}, "text"),
    ("X-Mms-Delivery-Report", "yes", "true or false"),
    ("X-Mms-Expiry", {"relative": "60"}, "seconds"),
    ("X-Mms-Priority", 1.5, "a Priority label"),
]


@pytest.mark.parametrize(("name", "form", "what"), MALFORMED,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(MALFORMED)])
def test_malformed_structured_values_say_what_was_expected(name: str, form: object,
                                                           what: str) -> None:
    codec = F.BY_NAME[name.lower()].codec
    with pytest.raises(WspEncodeError, match="^" + re.escape(f"expected {what}, got ")):
        codec.encode(codec.from_json(form))


def test_header_names_and_token_numbers_in_the_json_form() -> None:
    """X-Mms-Attributes names a header field (an unknown one is refused by name); a token
    may be given by its number as well as its label."""
    with pytest.raises(WspEncodeError, match="^'X-Nothing' is not an MMS header field$"):
        F.BY_NAME["x-mms-attributes"].codec.encode("X-Nothing")
    priority = F.BY_NAME["x-mms-priority"].codec
    assert priority.encode(priority.from_json(130)) == bytes.fromhex("82")  # High


@pytest.mark.parametrize(("name", "value", "what"), [
    ("X-Mms-Element-Descriptor", "cid:1", "an element descriptor"),
    ("X-Mms-Previously-Sent-By", "+33611111111/TYPE=PLMN", "a count and a value"),
    ("X-Mms-Mbox-Totals", 5, "a mailbox limit"),
    ("Subject", 5, "text"),
    ("Message-ID", 5, "text"),
    ("X-Mms-Message-Size", "5", "an integer"),
    ("X-Mms-Delivery-Report", "yes", "true or false"),
    ("From", 5, "an address"),
    ("Content-Type", "image/jpeg", "a content type"),
    ("X-Mms-Priority", "High", "a Priority token"),
])
def test_a_value_of_the_wrong_kind_is_refused_by_name(name: str, value: object,
                                                      what: str) -> None:
    """Given to the encoder directly (not from JSON), a value of another type is refused,
    naming what the field holds."""
    with pytest.raises(WspEncodeError, match="^" + re.escape(f"expected {what}, got ")):
        F.BY_NAME[name.lower()].codec.encode(value)
    with pytest.raises(WspEncodeError, match="^expected raw octets, got "):
        F.RAW.encode("81")


def test_text_that_is_no_text_in_its_charset_keeps_its_octets_in_json() -> None:
    """A Subject in ISO-10646-UCS-2 (MIBenum 1000) whose octets are no text (a lone
    surrogate, D800): the JSON form keeps them as "raw" (upper-case hex) beside the
    charset, and the PDU written from that JSON holds the same octets."""
    codec = F.BY_NAME["subject"].codec
    octets = bytes.fromhex("060203E8D80000")
    form = codec.to_json(codec.decode(Reader(octets)))
    assert (form["charset"], form["raw"]) == ("iso-10646-ucs-2", "D800")
    assert codec.encode(codec.from_json(form)) == octets


def test_a_raw_value_without_octets_is_empty() -> None:
    assert F.RAW.from_json({}).octets == b""


def test_an_untyped_parameter_value_as_token_text_reads_the_same() -> None:
    """The other form of Text-value, Token-text (no quote), decodes to the same JSON."""
    codec = F.BY_NAME["x-mms-element-descriptor"].codec
    octets = bytes.fromhex("0F") + b"cid:1\x00x-name\x00v\x00"
    assert codec.to_json(codec.decode(Reader(octets))) == {"reference": "cid:1",
                                                          "params": {"x-name": "v"}}


@pytest.mark.parametrize("field,table", [
    ("X-Mms-Message-Type", "MessageType"), ("X-Mms-Response-Status", "ResponseStatus"),
    ("X-Mms-Retrieve-Status", "RetrieveStatus"), ("X-Mms-Status", "Status"),
    ("X-Mms-Read-Status", "ReadStatus"), ("X-Mms-Priority", "Priority"),
    ("X-Mms-Sender-Visibility", "SenderVisibility"), ("X-Mms-Store-Status", "StoreStatus"),
    ("X-Mms-MM-State", "MmState"), ("X-Mms-Cancel-Status", "CancelStatus"),
    ("X-Mms-Content-Class", "ContentClass"), ("X-Mms-Reply-Charging", "ReplyCharging"),
    ("X-Mms-Recommended-Retrieval-Mode", "RetrievalMode"),
])
def test_each_token_field_reads_its_own_table(field: str, table: str) -> None:
    codec = F.BY_NAME[field.lower()].codec
    assert isinstance(codec, F.Tokens) and codec.table is getattr(V, table)


def test_small_tokens_of_composite_values() -> None:
    """Yes 128 / No 129 (§7.3.15 and alike); From: Address-present 128, Insert-address 129
    (§7.3.21); times: Absolute 128, Relative 129 (§7.3.20); MMS version 1.2 = 0x92 (§7.3.34);
    Message-Class Personal as the class-identifier 128."""
    assert F.YesNo().encode(True) == H("80") and F.YesNo().encode(False) == H("81")
    assert F.YesNo().decode(Reader(H("80"))) is True and F.YesNo().decode(Reader(H("81"))) is False
    assert F.From().encode(V.InsertAddress.TOKEN) == H("0181")
    assert F.From().encode("a") == H("03806100")
    from datetime import timedelta
    assert F.Time().encode(timedelta(seconds=60)) == H("0381013c")
    assert F.Version().encode("1.2") == H("92") and F.Version().decode(Reader(H("93"))) == "1.3"
    assert F.ClassValue().encode(V.MessageClass.PERSONAL) == H("80")


# -- WAP-230-WSP Table 40 (and OMNA): well-known content types ---------------------------------

WSP_CONTENT_TYPES = [
    (0x00, "*/*"), (0x01, "text/*"), (0x02, "text/html"), (0x03, "text/plain"),
    (0x04, "text/x-hdml"), (0x05, "text/x-ttml"), (0x06, "text/x-vCalendar"),
    (0x07, "text/x-vCard"), (0x08, "text/vnd.wap.wml"), (0x09, "text/vnd.wap.wmlscript"),
    (0x0A, "text/vnd.wap.wta-event"), (0x0B, "multipart/*"), (0x0C, "multipart/mixed"),
    (0x0D, "multipart/form-data"), (0x0E, "multipart/byteranges"),
    (0x0F, "multipart/alternative"), (0x10, "application/*"), (0x11, "application/java-vm"),
    (0x12, "application/x-www-form-urlencoded"), (0x13, "application/x-hdmlc"),
    (0x14, "application/vnd.wap.wmlc"), (0x15, "application/vnd.wap.wmlscriptc"),
    (0x16, "application/vnd.wap.wta-eventc"), (0x17, "application/vnd.wap.uaprof"),
    (0x18, "application/vnd.wap.wtls-ca-certificate"),
    (0x19, "application/vnd.wap.wtls-user-certificate"), (0x1A, "application/x-x509-ca-cert"),
    (0x1B, "application/x-x509-user-cert"), (0x1C, "image/*"), (0x1D, "image/gif"),
    (0x1E, "image/jpeg"), (0x1F, "image/tiff"), (0x20, "image/png"),
    (0x21, "image/vnd.wap.wbmp"), (0x22, "application/vnd.wap.multipart.*"),
    (0x23, "application/vnd.wap.multipart.mixed"),
    (0x24, "application/vnd.wap.multipart.form-data"),
    (0x25, "application/vnd.wap.multipart.byteranges"),
    (0x26, "application/vnd.wap.multipart.alternative"), (0x27, "application/xml"),
    (0x28, "text/xml"), (0x29, "application/vnd.wap.wbxml"),
    (0x2A, "application/x-x968-cross-cert"), (0x2B, "application/x-x968-ca-cert"),
    (0x2C, "application/x-x968-user-cert"), (0x2D, "text/vnd.wap.si"),
    (0x2E, "application/vnd.wap.sic"), (0x2F, "text/vnd.wap.sl"),
    (0x30, "application/vnd.wap.slc"), (0x31, "text/vnd.wap.co"),
    (0x32, "application/vnd.wap.coc"), (0x33, "application/vnd.wap.multipart.related"),
    (0x34, "application/vnd.wap.sia"), (0x35, "text/vnd.wap.connectivity-xml"),
    (0x36, "application/vnd.wap.connectivity-wbxml"), (0x37, "application/pkcs7-mime"),
    (0x38, "application/vnd.wap.hashed-certificate"),
    (0x39, "application/vnd.wap.signed-certificate"),
    (0x3A, "application/vnd.wap.cert-response"), (0x3B, "application/xhtml+xml"),
    (0x3C, "application/wml+xml"), (0x3D, "text/css"), (0x3E, "application/vnd.wap.mms-message"),
    (0x3F, "application/vnd.wap.rollover-certificate"), (0x40, "application/vnd.wap.locc+wbxml"),
    (0x41, "application/vnd.wap.loc+xml"), (0x42, "application/vnd.syncml.dm+wbxml"),
    (0x43, "application/vnd.syncml.dm+xml"), (0x44, "application/vnd.syncml.notification"),
    (0x45, "application/vnd.wap.xhtml+xml"), (0x46, "application/vnd.wv.csp.cir"),
    (0x47, "application/vnd.oma.dd+xml"), (0x48, "application/vnd.oma.drm.message"),
    (0x49, "application/vnd.oma.drm.content"), (0x4A, "application/vnd.oma.drm.rights+xml"),
    (0x4B, "application/vnd.oma.drm.rights+wbxml"), (0x4C, "application/vnd.wv.csp+xml"),
    (0x4D, "application/vnd.wv.csp+wbxml"), (0x4E, "application/vnd.syncml.ds.notification"),
    (0x4F, "audio/*"), (0x50, "video/*"), (0x51, "application/vnd.oma.dd2+xml"),
    (0x52, "application/mikey"),
]


@pytest.mark.parametrize("code,media", WSP_CONTENT_TYPES, ids=[m for _, m in WSP_CONTENT_TYPES])
def test_wsp_content_type(code: int, media: str) -> None:
    """Constrained-media: the short-integer form both ways; with a parameter, the general
    form carries the same code (§8.4.2.24)."""
    octet = bytes((0x80 | code,))
    assert wsp.encode_content_type(ContentType(media)) == octet
    assert Reader(octet).content_type() == ContentType(media)
    general = wsp.encode_content_type(ContentType(media, {"charset": "utf-8"}))
    assert general == H("03") + octet + H("81ea")
    assert Reader(general).content_type() == ContentType(media, {"charset": "utf-8"})


def test_wsp_content_type_table_has_no_other_row() -> None:
    assert sorted(wsp.CONTENT_TYPES.items()) == WSP_CONTENT_TYPES


def test_smil_has_no_code_and_travels_as_text() -> None:
    assert wsp.encode_content_type(ContentType("application/smil")) == b"application/smil\0"


# -- WAP-230-WSP Table 38: well-known parameters ------------------------------------------------

# (code, name, value octets as the table's encoding says, the value read)
WSP_PARAMETERS = [
    (0x00, "q", "01", "1"),                          # Q-value (uintvar)
    (0x01, "charset", "ea", "utf-8"),                # Well-known-charset
    (0x02, "level", "92", "1.2"),                    # Version-value
    (0x03, "type", "9e", "image/jpeg"),              # Integer-value (1.1)
    (0x05, "name", "6100", "a"),                     # Text-string (1.1)
    (0x06, "filename", "6100", "a"),                 # Text-string (1.1)
    (0x07, "differences", "6100", "a"),              # Field-name
    (0x08, "padding", "85", "5"),                    # Short-integer
    (0x09, "type", "9e", "image/jpeg"),              # Constrained-encoding (1.2)
    (0x0A, "start", "3c613e00", "<a>"),              # Text-string (1.2)
    (0x0B, "start-info", "6100", "a"),               # Text-string (1.2)
    (0x0C, "comment", "6100", "a"),                  # Text-string (1.3)
    (0x0D, "domain", "6100", "a"),                   # Text-string (1.3)
    (0x0E, "max-age", "83", "3"),                    # Delta-seconds-value
    (0x0F, "path", "6100", "a"),                     # Text-string (1.3)
    (0x10, "secure", "00", ""),                      # No-value
    (0x11, "sec", "81", "1"),                        # Short-integer (1.4)
    (0x12, "mac", "6100", "a"),                      # Text-value
    (0x13, "creation-date", "0101", "1"),            # Date-value
    (0x14, "modification-date", "0101", "1"),        # Date-value
    (0x15, "read-date", "0101", "1"),                # Date-value
    (0x16, "size", "8a", "10"),                      # Integer-value
    (0x17, "name", "6100", "a"),                     # Text-value (1.4)
    (0x18, "filename", "6100", "a"),                 # Text-value (1.4)
    (0x19, "start", "3c613e00", "<a>"),              # Text-value (1.4)
    (0x1A, "start-info", "6100", "a"),               # Text-value (1.4)
    (0x1B, "comment", "6100", "a"),                  # Text-value (1.4)
    (0x1C, "domain", "6100", "a"),                   # Text-value (1.4)
    (0x1D, "path", "6100", "a"),                     # Text-value (1.4)
]


@pytest.mark.parametrize("code,name,value,read", WSP_PARAMETERS,
                         ids=[f"{c:#04x}-{n}" for c, n, _, _ in WSP_PARAMETERS])
def test_wsp_parameter_decodes_by_code(code: int, name: str, value: str, read: str) -> None:
    params = H(f"{0x80 | code:02x}{value}")
    octets = wsp.encode_value_length(1 + len(params)) + H("83") + params
    assert Reader(octets).content_type() == ContentType("text/plain", {name: read})


@pytest.mark.parametrize("name,value,octets", [
    # the 1.2 codes that handsets expect (§8.4.2.4)
    ("charset", "utf-8", "81ea"), ("type", "image/jpeg", "899e"),
    ("name", "a", "856100"), ("filename", "a", "866100"),
    ("start", "<a>", "8a3c613e00"), ("start-info", "a", "8b6100"),
])
def test_wsp_parameter_encodes_to_its_code(name: str, value: str, octets: str) -> None:
    assert wsp.encode_parameters({name: value}) == H(octets)


def test_wsp_parameter_table_has_no_other_row() -> None:
    assert sorted((c, n) for c, (n, _) in wsp.PARAMETERS.items()) == \
        [(c, n) for c, n, _, _ in WSP_PARAMETERS]


# -- WAP-230-WSP Table 39: header field names -------------------------------------------------

WSP_HEADER_FIELDS = [
    (0x00, "Accept"), (0x01, "Accept-Charset"), (0x02, "Accept-Encoding"),
    (0x03, "Accept-Language"), (0x04, "Accept-Ranges"), (0x05, "Age"), (0x06, "Allow"),
    (0x07, "Authorization"), (0x08, "Cache-Control"), (0x09, "Connection"),
    (0x0A, "Content-Base"), (0x0B, "Content-Encoding"), (0x0C, "Content-Language"),
    (0x0D, "Content-Length"), (0x0E, "Content-Location"), (0x0F, "Content-MD5"),
    (0x10, "Content-Range"), (0x11, "Content-Type"), (0x12, "Date"), (0x13, "Etag"),
    (0x14, "Expires"), (0x15, "From"), (0x16, "Host"), (0x17, "If-Modified-Since"),
    (0x18, "If-Match"), (0x19, "If-None-Match"), (0x1A, "If-Range"),
    (0x1B, "If-Unmodified-Since"), (0x1C, "Location"), (0x1D, "Last-Modified"),
    (0x1E, "Max-Forwards"), (0x1F, "Pragma"), (0x20, "Proxy-Authenticate"),
    (0x21, "Proxy-Authorization"), (0x22, "Public"), (0x23, "Range"), (0x24, "Referer"),
    (0x25, "Retry-After"), (0x26, "Server"), (0x27, "Transfer-Encoding"), (0x28, "Upgrade"),
    (0x29, "User-Agent"), (0x2A, "Vary"), (0x2B, "Via"), (0x2C, "Warning"),
    (0x2D, "WWW-Authenticate"), (0x2E, "Content-Disposition"), (0x2F, "X-Wap-Application-Id"),
    (0x30, "X-Wap-Content-URI"), (0x31, "X-Wap-Initiator-URI"), (0x32, "Accept-Application"),
    (0x33, "Bearer-Indication"), (0x34, "Push-Flag"), (0x35, "Profile"), (0x36, "Profile-Diff"),
    (0x37, "Profile-Warning"), (0x38, "Expect"), (0x39, "TE"), (0x3A, "Trailer"),
    (0x3B, "Accept-Charset"), (0x3C, "Accept-Encoding"), (0x3D, "Cache-Control"),
    (0x3E, "Content-Range"), (0x3F, "X-Wap-Tod"), (0x40, "Content-ID"), (0x41, "Set-Cookie"),
    (0x42, "Cookie"), (0x43, "Encoding-Version"), (0x44, "Profile-Warning"),
    (0x45, "Content-Disposition"), (0x46, "X-WAP-Security"), (0x47, "Cache-Control"),
]


def test_wsp_header_field_names() -> None:
    assert sorted(wsp.HEADER_FIELDS.items()) == WSP_HEADER_FIELDS
    for code, name in WSP_HEADER_FIELDS:
        assert Reader(bytes((0x80 | code,)) + H("80")).wsp_header()[0] == name


@pytest.mark.parametrize("name,value,octets", [
    ("Content-Location", "a", "8e6100"), ("Content-ID", "<a>", "c0223c613e00"),
    ("X-Wap-Application-Id", 4, "af84"), ("Content-Length", 5, "8d85"),
])
def test_wsp_header_encodes_under_its_first_code(name: str, value: object, octets: str) -> None:
    """A header whose name has several codes (1.1 and a 1.3/1.4 re-encoding) goes under the
    first, which every handset reads."""
    assert wsp.encode_wsp_header(name, value) == H(octets)  # type: ignore[arg-type]
    assert Reader(H(octets)).wsp_header() == (name, value)


# -- character sets by IANA MIBenum (WSP Table 42) ------------------------------------------------

@pytest.mark.parametrize("mib,name", [
    (3, "us-ascii"), (4, "iso-8859-1"), (17, "shift_jis"), (106, "utf-8"),
    (1000, "iso-10646-ucs-2"), (1015, "utf-16"), (2026, "big5"),
])
def test_charset_mibenum(mib: int, name: str) -> None:
    assert wsp.charset_name(mib) == name and wsp.charset_mib(name) == mib
    assert wsp.encode_parameters({"charset": name}) == H("81") + wsp.encode_integer_value(mib)


# -- WSP primitives at their boundaries (§8.1.2, §8.4.2.1, §8.4.2.2) ------------------------------

@pytest.mark.parametrize("value,octets", [
    (0, "00"), (1, "01"), (127, "7f"), (128, "8100"), (16383, "ff7f"), (16384, "818000"),
    (2097151, "ffff7f"), (2097152, "81808000"), (268435455, "ffffff7f"),
    (268435456, "8180808000"), (0xFFFFFFFF, "8fffffff7f"),
])
def test_uintvar_boundaries(value: int, octets: str) -> None:
    assert wsp.encode_uintvar(value) == H(octets)
    r = Reader(H(octets))
    assert r.uintvar() == value and r.at_end()


@pytest.mark.parametrize("octets", [
    "9080808000",    # 2^32: five octets but over 32 bits
    "8080808080",    # no last octet within the five allowed
    "808080808000",  # six octets
    "ff",            # ends in the middle
])
def test_uintvar_out_of_bounds_is_refused(octets: str) -> None:
    with pytest.raises(WspDecodeError):
        Reader(H(octets)).uintvar()


@pytest.mark.parametrize("value", [-1, 0x100000000])
def test_uintvar_encode_out_of_range(value: int) -> None:
    with pytest.raises(WspEncodeError):
        wsp.encode_uintvar(value)


@pytest.mark.parametrize("length,octets", [
    (0, "00"), (30, "1e"), (31, "1f1f"), (127, "1f7f"), (128, "1f8100"),
])
def test_value_length_boundaries(length: int, octets: str) -> None:
    assert wsp.encode_value_length(length) == H(octets)
    r = Reader(H(octets) + bytes(length))
    assert r.value_length() == length and r.remaining == length


def test_value_length_refuses_what_is_not_one() -> None:
    with pytest.raises(WspDecodeError, match="value-length"):
        Reader(H("20") + bytes(40)).value_length()
    with pytest.raises(WspDecodeError, match="exceeds"):
        Reader(H("1e") + bytes(29)).value_length()  # one octet short


def test_short_integer_boundaries() -> None:
    assert wsp.encode_short_integer(0) == H("80") and wsp.encode_short_integer(127) == H("ff")
    assert Reader(H("ff")).short_integer() == 127 and Reader(H("80")).short_integer() == 0
    with pytest.raises(WspEncodeError):
        wsp.encode_short_integer(128)
    with pytest.raises(WspDecodeError):
        Reader(H("7f")).short_integer()
    assert wsp.encode_integer_value(127) == H("ff")
    assert wsp.encode_integer_value(128) == H("0180")


@pytest.mark.parametrize("length", range(1, 31))
def test_long_integer_of_each_length(length: int) -> None:
    """Short-length 1..30, then the big-endian octets: the smallest and the largest value of
    each length."""
    smallest = 0 if length == 1 else 1 << (8 * (length - 1))
    largest = (1 << (8 * length)) - 1
    for value, body in ((smallest, bytes(1) if length == 1 else H("01") + bytes(length - 1)),
                        (largest, b"\xff" * length)):
        octets = bytes((length,)) + body
        assert wsp.encode_long_integer(value) == octets
        assert Reader(octets).long_integer() == value


def test_long_integer_beyond_30_octets() -> None:
    with pytest.raises(WspEncodeError):
        wsp.encode_long_integer(1 << 240)
    for length in (0, 31):
        with pytest.raises(WspDecodeError, match="long-integer length"):
            Reader(bytes((length,)) + bytes(31)).long_integer()


@pytest.mark.parametrize("text,octets", [
    ("", "00"), ("a", "6100"), ("\x7e", "7e00"),
    ("é", "7fc3a900"),            # first octet 0xC3 >= 0x80: the Quote 0x7F first
    ("aé", "61c3a900"),           # only the first octet matters
    ("\x7f", "7f7f00"),           # 0x7F itself is quoted so that it survives
])
def test_text_string_quote(text: str, octets: str) -> None:
    assert wsp.encode_text_string(text) == H(octets)
    assert Reader(H(octets)).text_string() == text


def test_quoted_string() -> None:
    assert wsp.encode_quoted_string("<a>") == H("223c613e00")
    assert Reader(H("223c613e00")).quoted_string() == "<a>"
    assert Reader(H("223c613e00")).text_value() == "<a>"


def test_encoded_string_value_forms() -> None:
    """Text-string for ASCII; Value-length Char-set Text-string otherwise (UTF-8 = 106 =
    0xEA), the Text-string quoted when its first octet is >= 0x80."""
    assert wsp.encode_encoded_string_value("a") == H("6100")
    assert wsp.encode_encoded_string_value("é") == H("05ea7fc3a900")
    assert Reader(H("05ea7fc3a900")).encoded_string_value() == "é"
    assert Reader(H("04eac3a900")).encoded_string_value() == "é"  # the quote forgotten


# -- 3GPP TS 23.038 §6.2.1: GSM 7-bit default alphabet and extension table -----------------------

# The default alphabet by septet value, sixteen to a row (0x1B is the escape to the extension
# table; it stands for no character of its own).
GSM7_ROWS = {
    0x00: ["@", "£", "$", "¥", "è", "é", "ù", "ì", "ò", "Ç", "\n", "Ø", "ø", "\r", "Å", "å"],
    0x10: ["Δ", "_", "Φ", "Γ", "Λ", "Ω", "Π", "Ψ", "Σ", "Θ", "Ξ", None, "Æ", "æ", "ß", "É"],
    0x20: [" ", "!", '"', "#", "¤", "%", "&", "'", "(", ")", "*", "+", ",", "-", ".", "/"],
    0x30: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", ":", ";", "<", "=", ">", "?"],
    0x40: ["¡", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O"],
    0x50: ["P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", "Ä", "Ö", "Ñ", "Ü", "§"],
    0x60: ["¿", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o"],
    0x70: ["p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "ä", "ö", "ñ", "ü", "à"],
}
GSM7_DEFAULT = [(row + i, ch) for row, chars in GSM7_ROWS.items()
                for i, ch in enumerate(chars) if ch is not None]
# The extension table: each is ESC (0x1B) then this septet.
GSM7_EXTENSION = [
    (0x0A, "\f"), (0x14, "^"), (0x28, "{"), (0x29, "}"), (0x2F, "\\"), (0x3C, "["),
    (0x3D, "~"), (0x3E, "]"), (0x40, "|"), (0x65, "€"),
]


def test_gsm7_default_alphabet_both_ways() -> None:
    assert len(GSM7_DEFAULT) == 127
    for code, ch in GSM7_DEFAULT:
        assert sms.gsm7_septets(ch) == [code], (hex(code), ch)
        assert sms.gsm7_text([code]) == ch, (hex(code), ch)


@pytest.mark.parametrize("code,ch", GSM7_EXTENSION, ids=[f"{c:#04x}" for c, _ in GSM7_EXTENSION])
def test_gsm7_extension_both_ways(code: int, ch: str) -> None:
    assert sms.gsm7_septets(ch) == [0x1B, code]
    assert sms.gsm7_text([0x1B, code]) == ch


def test_gsm7_extension_table_has_no_other_row() -> None:
    assert sorted((c, ch) for ch, c in sms.GSM7_EXTENSION.items()) == GSM7_EXTENSION


def test_gsm7_brackets_packed_known_answer() -> None:
    """"[a]" = ESC 3C, 61, ESC 3E: five septets, packed LSB first into five octets
    (TS 23.038 §6.1.2.1.1), the text SMS that carries it, and back."""
    assert sms.gsm7_septets("[a]") == [0x1B, 0x3C, 0x61, 0x1B, 0x3E]
    packed = sms.pack_septets([0x1B, 0x3C, 0x61, 0x1B, 0x3E])
    assert packed == H("1b5e78e303")
    (segment,) = sms.encode_text("[a]")
    assert segment.data_coding == sms.DCS_GSM7 and segment.user_data == packed
    assert segment.user_data_length == 5
    assert sms.decode_text(packed, 5, sms.DCS_GSM7, has_udh=False) == (None, "[a]")


# -- 3GPP TS 23.140 §8.7.4: MM7 request status codes ---------------------------------------------

MM7_STATUS = [
    (1000, "Success"), (1100, "Partial success"),
    (2000, "Client error"), (2001, "Operation restricted"), (2002, "Address Error"),
    (2003, "Address Not Found"), (2004, "Multimedia content refused"),
    (2005, "Message ID Not found"), (2006, "LinkedID not found"),
    (2007, "Message format corrupt"), (2008, "Application ID not found"),
    (2009, "Reply Application ID not found"),
    (3000, "Server Error"), (3001, "Not Possible"), (3002, "Message rejected"),
    (3003, "Multiple addresses not supported"), (3004, "Application Addressing not supported"),
    (4000, "General service error"), (4001, "Improper identification"),
    (4002, "Unsupported version"), (4003, "Unsupported operation"), (4004, "Validation error"),
    (4005, "Service error"), (4006, "Service unavailable"), (4007, "Service denied"),
    (4008, "Application denied"),
]


NAMESPACE = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4"


def test_mm7_status_table() -> None:
    assert sorted(mm7_status.STATUS.items()) == MM7_STATUS


@pytest.mark.parametrize("code,text", MM7_STATUS, ids=[str(c) for c, _ in MM7_STATUS])
def test_mm7_status_on_the_wire(code: int, text: str) -> None:
    """The fault the MMSC writes carries the code and the standard's text; 3xxx is the
    server's fault, the others the client's (SOAP 1.1 faultcode)."""
    xml = build_fault(namespace=NAMESPACE, version="6.8.0", transaction_id="t",
                      status=code).decode()
    assert f"<StatusCode>{code}</StatusCode>" in xml and f"<StatusText>{text}</StatusText>" in xml
    assert f"<faultcode>env:{'Server' if 3000 <= code < 4000 else 'Client'}</faultcode>" in xml


def test_mm7_unknown_codes_by_their_class() -> None:
    assert mm7_status.status_text(2099) == "Client error"
    assert mm7_status.status_text(3999) == "Server Error"
    assert mm7_status.status_text(4500) == "General service error"
    assert mm7_status.is_success(1100) and not mm7_status.is_success(2000)


# -- SMPP v3.4 §5.1.2 command ids and §5.1.3 command statuses -------------------------------------

SMPP_COMMANDS = [
    ("generic_nack", 0x80000000),
    ("bind_receiver", 0x00000001), ("bind_receiver_resp", 0x80000001),
    ("bind_transmitter", 0x00000002), ("bind_transmitter_resp", 0x80000002),
    ("submit_sm", 0x00000004), ("submit_sm_resp", 0x80000004),
    ("deliver_sm", 0x00000005), ("deliver_sm_resp", 0x80000005),
    ("unbind", 0x00000006), ("unbind_resp", 0x80000006),
    ("bind_transceiver", 0x00000009), ("bind_transceiver_resp", 0x80000009),
    ("enquire_link", 0x00000015), ("enquire_link_resp", 0x80000015),
]


@pytest.mark.parametrize("name,command_id", SMPP_COMMANDS, ids=[n for n, _ in SMPP_COMMANDS])
def test_smpp_command_id(name: str, command_id: int) -> None:
    """The id in octets 4..7 of the header, both ways."""
    frame = smpp.encode_pdu(smpp.Pdu(name, 7))
    assert frame[4:8] == command_id.to_bytes(4, "big")
    assert smpp.decode_pdu(frame).command == name


def test_smpp_command_table_has_no_other_row() -> None:
    assert sorted((n, c) for n, (c, _) in smpp.COMMANDS.items()) == sorted(SMPP_COMMANDS)


SMPP_STATUSES = [
    (0x00, "ESME_ROK"), (0x01, "ESME_RINVMSGLEN"), (0x02, "ESME_RINVCMDLEN"),
    (0x03, "ESME_RINVCMDID"), (0x04, "ESME_RINVBNDSTS"), (0x05, "ESME_RALYBND"),
    (0x06, "ESME_RINVPRTFLG"), (0x07, "ESME_RINVREGDLVFLG"), (0x08, "ESME_RSYSERR"),
    (0x0A, "ESME_RINVSRCADR"), (0x0B, "ESME_RINVDSTADR"), (0x0C, "ESME_RINVMSGID"),
    (0x0D, "ESME_RBINDFAIL"), (0x0E, "ESME_RINVPASWD"), (0x0F, "ESME_RINVSYSID"),
    (0x11, "ESME_RCANCELFAIL"), (0x13, "ESME_RREPLACEFAIL"), (0x14, "ESME_RMSGQFUL"),
    (0x15, "ESME_RINVSERTYP"), (0x33, "ESME_RINVNUMDESTS"), (0x34, "ESME_RINVDLNAME"),
    (0x40, "ESME_RINVDESTFLAG"), (0x42, "ESME_RINVSUBREP"), (0x43, "ESME_RINVESMCLASS"),
    (0x44, "ESME_RCNTSUBDL"), (0x45, "ESME_RSUBMITFAIL"), (0x48, "ESME_RINVSRCTON"),
    (0x49, "ESME_RINVSRCNPI"), (0x50, "ESME_RINVDSTTON"), (0x51, "ESME_RINVDSTNPI"),
    (0x53, "ESME_RINVSYSTYP"), (0x54, "ESME_RINVREPFLAG"), (0x55, "ESME_RINVNUMMSGS"),
    (0x58, "ESME_RTHROTTLED"), (0x61, "ESME_RINVSCHED"), (0x62, "ESME_RINVEXPIRY"),
    (0x63, "ESME_RINVDFTMSGID"), (0x64, "ESME_RX_T_APPN"), (0x65, "ESME_RX_P_APPN"),
    (0x66, "ESME_RX_R_APPN"), (0x67, "ESME_RQUERYFAIL"), (0xC0, "ESME_RINVOPTPARSTREAM"),
    (0xC1, "ESME_ROPTPARNOTALLWD"), (0xC2, "ESME_RINVPARLEN"), (0xC3, "ESME_RMISSINGOPTPARAM"),
    (0xC4, "ESME_RINVOPTPARAMVAL"), (0xFE, "ESME_RDELIVERYFAILURE"), (0xFF, "ESME_RUNKNOWNERR"),
]


def test_smpp_statuses_both_ways() -> None:
    assert sorted((c, n) for c, (n, _) in smpp.STATUSES.items()) == SMPP_STATUSES
    for code, name in SMPP_STATUSES:
        assert smpp.status_name(code) == name and smpp.STATUS_CODES[name] == code
        frame = smpp.encode_pdu(smpp.Pdu("submit_sm_resp", 1, code))
        assert frame[8:12] == code.to_bytes(4, "big")
        assert smpp.decode_pdu(frame).status == code


@pytest.mark.parametrize("code,decision", [
    (0x00, "ok"), (0x14, "throttle"), (0x58, "throttle"), (0x08, "retry"), (0x0D, "retry"),
    (0x04, "rebind"), (0x0B, "permanent"), (0x01, "permanent"), (0x400, "retry"),
    (0x4FF, "retry"), (0x3FF, "permanent"), (0x500, "permanent"),
])
def test_smpp_retry_decisions(code: int, decision: str) -> None:
    """Throttling statuses slow down; system errors retry; a wrong bind state rebinds;
    address and length errors never retry; 0x400..0x4FF are vendor codes, retried."""
    assert smpp.retry_decision(code) == decision
