"""The JSON form that `mmsc decode --json` prints and `mmsc encode` reads: hand-written or
hostile documents give PduEncodeError, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mmsc.pdu import PduEncodeError, decode, encode
from mmsc.pdu.fields import FIELDS
from mmsc.pdu.jsonform import from_json, to_json

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 2**70), st.text(max_size=8),
                    st.sampled_from(["Personal", "Ok", "1.2", "<insert-address>", "utf-8",
                                     "2020-01-01T00:00:00Z", "image/jpeg", "ff"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.sampled_from(["text", "charset", "relative", "absolute", "media_type",
                                     "params", "raw", "count", "value", "base64", "file",
                                     "content_type", "headers", "disposition"]), inner,
                    max_size=3)), max_leaves=8)
documents = st.fixed_dictionaries(
    {"message_type": st.sampled_from(["m-send-req", "m-retrieve-conf", "m-send-conf", "bogus"])},
    optional={"headers": st.dictionaries(st.sampled_from([f.name for f in FIELDS] + [
        "X-App", "X-Mms-Unassigned-0x05", "X-Mms-Unassigned-0x45"]),
                                         values, max_size=4),
              "parts": values, "body": values})


def refuse_file(name: str) -> bytes:
    raise PduEncodeError(f"no files here: {name}")


@settings(max_examples=1500, deadline=None)
@given(documents)
@example({"message_type": "m-send-req",  # found by a random seed: OverflowError in timedelta
          "headers": {"X-Mms-Delivery-Time": {"relative": 86400000000000}}})
@example({"message_type": "m-send-req", "headers": {"X-Mms-Expiry": {"relative": -1}}})
@example({"message_type": "m-send-req",  # found by mutation testing: AttributeError in wsp
          "headers": {"Content-Type": {"media_type": "image/jpeg", "params": {"x": 5}}}})
@example({"message_type": "m-send-req", "headers": {"X-Mms-Element-Descriptor": {
    "reference": "cid:1", "params": {"x": [1]}}}})
def test_hostile_json_gives_only_encode_errors(doc: dict) -> None:
    try:
        pdu = from_json(doc, refuse_file)
        octets = encode(pdu)
    except PduEncodeError:
        return
    assert to_json(decode(octets))["message_type"] == doc["message_type"]


def test_relative_times_at_the_limit() -> None:
    """The longest relative time a PDU may carry is timedelta's (86,399,999,999,999 s): it
    round-trips; one second more is an encode error from JSON and a decode error from octets,
    never an OverflowError."""
    from mmsc.pdu import PduDecodeError
    from mmsc.pdu.fields import MAX_INTERVAL
    from wap_push.wsp import encode_long_integer

    assert MAX_INTERVAL == 86_399_999_999_999
    head = bytes([0x8C, 0x80, 0x98]) + b"t\x00" + bytes([0x8D, 0x92])
    for seconds, ok in ((MAX_INTERVAL, True), (MAX_INTERVAL + 1, False)):
        value = b"\x81" + encode_long_integer(seconds)
        octets = head + bytes([0x88, len(value)]) + value
        doc = {"message_type": "m-send-req", "headers": {"X-Mms-Expiry": {"relative": seconds}}}
        if ok:
            assert to_json(decode(octets))["headers"]["X-Mms-Expiry"] == {"relative": seconds}
            assert from_json(doc, refuse_file).expiry.total_seconds() >= seconds - 1
        else:
            with pytest.raises(PduDecodeError):
                decode(octets)
            with pytest.raises(PduEncodeError):
                from_json(doc, refuse_file)


def test_application_headers_in_the_json_form() -> None:
    """Application headers (OMA-MMS-ENC §7.3: Application-header = Token-text
    Application-specific-value) keep their order; one named more than once becomes a list;
    a content-type value keeps its JSON shape both ways. An m-send-conf written out: type
    0x8C 0x81, X-Mms-Transaction-Id 0x98, X-Mms-MMS-Version 0x8D 1.0 (0x90), X-Mms-Response-
    Status 0x92 Ok (0x80), then X-App three times (Token-text, Text-string)."""
    octets = bytes([0x8C, 0x81, 0x98]) + b"t1\x00" + bytes([0x8D, 0x90, 0x92, 0x80]) + \
        b"X-App\x00a\x00" + b"X-App\x00b\x00" + b"X-App\x00c\x00"
    doc = to_json(decode(octets))
    assert doc["message_type"] == "m-send-conf"
    assert doc["headers"]["X-App"] == ["a", "b", "c"]
    typed = {"message_type": "m-send-conf",
             "headers": {"X-Mms-Transaction-Id": "t1", "X-Mms-MMS-Version": "1.0",
                         "X-Mms-Response-Status": "Ok",
                         "X-Kind": {"media_type": "image/jpeg", "params": {"x-q": "1"}}}}
    assert to_json(from_json(typed, refuse_file))["headers"] == typed["headers"]


def test_part_data_forms_and_document_shape() -> None:
    """Part data go out as size and SHA-256 (and base64 only when asked), and come in as
    base64 or a file name for the loader; a document without a message type, part data in
    neither form, or a file with no loader are encode errors that say so. A field that may
    repeat (To) is a list even with one value."""
    doc = {"message_type": "m-send-req",
           "headers": {"X-Mms-Transaction-Id": "t1", "X-Mms-MMS-Version": "1.2",
                       "From": "<insert-address>", "To": ["+33611111111/TYPE=PLMN"],
                       "Content-Type": {"media_type": "application/vnd.wap.multipart.mixed",
                                        "params": {}}},
           "parts": [{"content_type": "text/plain", "headers": {}, "base64": "aGk="},
                     {"content_type": "text/plain", "headers": {}, "file": "two.txt"}]}
    pdu = from_json(doc, {"two.txt": b"ho"}.__getitem__)
    assert [bytes(p.data) for p in pdu.parts] == [b"hi", b"ho"]
    out = to_json(pdu)
    assert out["headers"]["To"] == ["+33611111111/TYPE=PLMN"]
    # "hi": 2 octets, SHA-256 written out
    assert {k: out["parts"][0][k] for k in ("size", "sha256")} == {
        "size": 2,
        "sha256": "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4"}
    assert "base64" not in out["parts"][0]
    assert to_json(pdu, include_data=True)["parts"][1]["base64"] == "aG8="
    with pytest.raises(PduEncodeError, match="no file loader"):
        from_json(doc)
    with pytest.raises(PduEncodeError, match="^part data need 'base64' or 'file'$"):
        from_json({**doc, "parts": [{"content_type": "text/plain"}]}, refuse_file)
    for shapeless in ({"headers": {}}, ["m-send-req"]):
        with pytest.raises(PduEncodeError,
                           match="^a PDU JSON document is an object with a message_type$"):
            from_json(shapeless)
    with pytest.raises(PduEncodeError, match="^unknown message type 153$"):
        from_json({"message_type": 0x99})


def test_json_dates_are_utc_wherever_the_host_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dates in the JSON form are written in UTC ("Z"), also on a host whose local zone is
    not UTC; a subject given as plain text (a PDU built in code) is written as text."""
    import time
    from datetime import UTC, datetime

    from mmsc.pdu import MessageType, MmsPdu

    pdu = MmsPdu(MessageType.SEND_REQ, "t", "1.2", date=datetime(2020, 1, 1, tzinfo=UTC),
                 subject="Hi")
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        headers = to_json(pdu)["headers"]
    finally:
        monkeypatch.undo()
        time.tzset()
    assert (headers["Date"], headers["Subject"]) == ("2020-01-01T00:00:00Z", "Hi")
