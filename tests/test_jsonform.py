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
