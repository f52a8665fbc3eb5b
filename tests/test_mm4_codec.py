"""The MM4 codec alone (mmsc/mm4/codec.py, status.py): round trips, the status tables, other
vendors' messages (fixtures/mm4/) and bad input answered with the right status."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from mmsc.message import Envelope, Message, MessagePart
from mmsc.mm4 import status as st
from mmsc.mm4.codec import (
    Kind, Mm4Error, Pdu, answer, encode, encode_forward, local_address, mm4_address, parse,
)
from mmsc.pdu import ReadStatus, Status

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "mm4"
OURS, THEIRS = "mms.mnc001.mcc208.3gppnetwork.org", "mms.mnc010.mcc208.3gppnetwork.org"


def mm() -> Message:
    return Message(Envelope(message_id="m-1", originator="+33611111111/TYPE=PLMN",
                            to=["+33722222222/TYPE=PLMN"], subject="Beach",
                            delivery_report=True, read_report=False),
                   [MessagePart("application/smil", b"<smil/>", content_id="s"),
                    MessagePart("image/png", b"\x89PNG\r\n\x00\xff" * 50, content_id="img"),
                    MessagePart.from_text("Wish you were here", content_id="t")],
                   multipart="related", start="s")


def test_forward_round_trip_in_ir52_addresses() -> None:
    data = encode_forward(mm(), transaction_id="t-1", domain=OURS, recipient_domain=THEIRS)
    mail = email.message_from_bytes(data, policy=email.policy.default)
    assert mail["From"] == f"+33611111111/TYPE=PLMN@{OURS}"
    assert mail["To"] == f"+33722222222/TYPE=PLMN@{THEIRS}"
    assert mail["X-Mms-Message-Type"] == "MM4_forward.REQ"
    assert mail["X-Mms-3GPP-MMS-Version"] == "6.8.0"
    assert mail["X-Mms-Originator-System"] == f"system-user@{OURS}"
    assert mail["X-Mms-Ack-Request"] == "Yes" and mail["X-Mms-Delivery-Report"] == "Yes"
    assert mail.get_content_type() == "multipart/related"
    pdu = parse(data)
    assert pdu is not None and pdu.kind == Kind.FORWARD_REQ and pdu.ack_request
    assert (pdu.transaction_id, pdu.message_id) == ("t-1", "m-1")
    assert pdu.originator_system == f"system-user@{OURS}"
    got = pdu.message
    assert got is not None
    assert got.envelope.originator == "+33611111111/TYPE=PLMN"
    assert got.envelope.to == ["+33722222222/TYPE=PLMN"] and got.envelope.subject == "Beach"
    assert [p.data for p in got.parts] == [p.data for p in mm().parts]
    assert "x-mms-message-type" not in {n.lower() for n, _ in got.envelope.extra_headers}




@pytest.mark.parametrize("kind,status_header,status", [
    (Kind.FORWARD_RES, "X-Mms-Request-Status-Code", "Ok"),
    (Kind.DELIVERY_REPORT_REQ, "X-Mms-MM-Status-Code", "Retrieved"),
    (Kind.READ_REPLY_REQ, "X-Mms-Read-Status", "Deleted without being read"),
    (Kind.READ_REPLY_RES, "X-Mms-Request-Status-Code", "Error-message-not-found"),
])
def test_reports_and_answers_round_trip(kind: Kind, status_header: str, status: str) -> None:
    pdu = Pdu(kind, "t-9", message_id="m-9", sender=f"+33722222222/TYPE=PLMN@{THEIRS}",
              recipients=[f"+33611111111/TYPE=PLMN@{OURS}"],
              originator_system=f"system-user@{THEIRS}", status=status)
    data = encode(pdu)
    mail = email.message_from_bytes(data, policy=email.policy.default)
    assert mail[status_header] == status and mail["X-Mms-Message-Type"] == kind.value
    back = parse(data)
    assert back is not None and back.kind == kind and back.status == status
    assert back.sender == "+33722222222/TYPE=PLMN"
    assert back.recipients == ["+33611111111/TYPE=PLMN"]


def test_answer_echoes_the_request() -> None:
    request = Pdu(Kind.DELIVERY_REPORT_REQ, "t-3", message_id="m-3")
    res = answer(request, "Ok", domain=OURS, to="mmsc@peer.example")
    assert res.kind == Kind.DELIVERY_REPORT_RES and res.recipients == ["mmsc@peer.example"]
    assert (res.transaction_id, res.message_id, res.sender) == \
        ("t-3", "m-3", f"system-user@{OURS}")


def test_status_tables() -> None:
    assert st.request_status("ok") == "Ok" and st.request_status("0") == "Ok"
    assert st.request_status("ERROR-NETWORK-PROBLEM") == "Error-network-problem"
    assert st.request_status("3") == "Error-unspecified" and st.request_status("bogus") is None
    assert st.is_ok("Ok") and not st.is_ok("Error-unspecified")
    assert st.mm_status("retrieved") == Status.RETRIEVED
    assert st.mm_status_label(Status.UNREACHABLE) == "Indeterminate"
    assert st.read_status("Deleted-without-being-read") == ReadStatus.DELETED_WITHOUT_BEING_READ
    for label, value in st.MM_STATUS.items():
        assert st.mm_status_label(value) == label


def test_addresses() -> None:
    assert local_address(f"+33612345678/TYPE=PLMN@{OURS}") == "+33612345678/TYPE=PLMN"
    assert local_address("<+33612345678@example.net>") == "+33612345678/TYPE=PLMN"
    assert local_address("+33612345678/TYPE=PLMN") == "+33612345678/TYPE=PLMN"
    assert local_address("alice@example.com") == "alice@example.com"
    assert mm4_address("+33612345678/TYPE=PLMN", OURS) == f"+33612345678/TYPE=PLMN@{OURS}"
    assert mm4_address("alice@example.com", OURS) == "alice@example.com"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_mmsgw_forward_with_image() -> None:
    pdu = parse(fixture("mmsgw-forward-req-with-image.eml"))
    assert pdu is not None and pdu.kind == Kind.FORWARD_REQ and pdu.ack_request
    assert pdu.version == "6.10.0" and pdu.forward_counter == 1
    assert pdu.originator_system == "mms_events@foreign.example"
    message = pdu.message
    assert message is not None
    assert message.envelope.originator == "+33612345678/TYPE=PLMN"
    assert message.envelope.to == ["+14155550123/TYPE=PLMN"]
    assert message.envelope.message_class == "personal" and message.envelope.delivery_report
    assert [p.content_type for p in message.parts] == ["application/smil", "text/plain",
                                                       "image/png"]
    assert [p.content_id for p in message.parts] == ["pres", "txt1", "img1"]
    assert message.root is message.parts[0] and message.parts[2].data.startswith(b"\x89PNG")


def test_mmsgw_two_recipients() -> None:
    pdu = parse(fixture("mmsgw-forward-req-two-recipients.eml"))
    assert pdu is not None and pdu.message is not None
    assert pdu.message.envelope.to == ["+14155550124/TYPE=PLMN", "+14155550123/TYPE=PLMN"]


def test_mmsgw_delivery_report_res_with_a_capital() -> None:
    pdu = parse(fixture("mmsgw-delivery-report-res.eml"))
    assert pdu is not None and pdu.kind == Kind.DELIVERY_REPORT_RES
    assert pdu.status == "Ok" and pdu.transaction_id == "ourmmsc-T0002"


def test_javamail_forward_res_numeric_status_other_version_header() -> None:
    pdu = parse(fixture("javamail-forward-res.eml"))
    assert pdu is not None and pdu.kind == Kind.FORWARD_RES
    assert pdu.status == "Ok" and pdu.version == "6.16.0"


def test_javamail_reports() -> None:
    delivery = parse(fixture("javamail-delivery-report-req.eml"))
    assert delivery is not None and delivery.kind == Kind.DELIVERY_REPORT_REQ
    assert delivery.status == "Forwarded" and delivery.sender == "+19862000842/TYPE=PLMN"
    assert delivery.message_id == "ce32be91-fa63-4db3-b2df-c74b3633603f"
    read = parse(fixture("javamail-read-reply-report-req.eml"))
    assert read is not None and read.kind == Kind.READ_REPLY_REQ and read.status == "Read"


def test_header_names_in_any_case() -> None:
    data = encode(Pdu(Kind.FORWARD_RES, "t-1", message_id="m-1", status="Ok",
                      sender="system-user@x.example", recipients=["system-user@y.example"]))
    lowered = b"\r\n".join(line.split(b":", 1)[0].lower() + b":" + line.split(b":", 1)[1]
                           if b":" in line else line for line in data.split(b"\r\n"))
    pdu = parse(lowered.replace(b"MM4_forward.RES", b"mm4_FORWARD.res"))
    assert pdu is not None and pdu.kind == Kind.FORWARD_RES and pdu.status == "Ok"


def test_not_mm4_is_none() -> None:
    assert parse(b"From: alice@example.com\r\nSubject: hi\r\n\r\nhello\r\n") is None


@pytest.mark.parametrize("data,status", [
    (b"X-Mms-Message-Type: MM4_fancy.REQ\r\nX-Mms-Transaction-ID: 1\r\n\r\n",
     "Error-unsupported-message"),
    (b"X-Mms-Message-Type: MM4_forward.REQ\r\nX-Mms-Message-ID: 1\r\nFrom: +33611111111/TYPE=PLMN"
     b"\r\n\r\nx", "Error-message-format-corrupt"),  # no transaction id
    (b"X-Mms-Message-Type: MM4_forward.REQ\r\nX-Mms-Transaction-ID: 1\r\n"
     b"From: +33611111111/TYPE=PLMN\r\n\r\nx", "Error-message-format-corrupt"),  # no message id
    (b"X-Mms-Message-Type: MM4_forward.REQ\r\nX-Mms-Transaction-ID: 1\r\nX-Mms-Message-ID: 2\r\n"
     b"Content-Type: text/plain\r\n\r\nhello", "Error-sending-address-unresolved"),
    (b"X-Mms-Message-Type: MM4_forward.REQ\r\nX-Mms-Transaction-ID: 1\r\nX-Mms-Message-ID: 2\r\n"
     b"From: +33611111111/TYPE=PLMN\r\nContent-Type: multipart/related; boundary=b\r\n\r\n"
     b"--b\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBO!!\r\n",
     "Error-message-format-corrupt"),  # cut short, broken base64
    (b"X-Mms-Message-Type: MM4_delivery_report.REQ\r\nX-Mms-Transaction-ID: 1\r\n"
     b"X-Mms-Message-ID: 2\r\nFrom: +33611111111/TYPE=PLMN\r\nX-Mms-MM-Status-Code: Happy\r\n\r\n",
     "Error-message-format-corrupt"),
    (b"X-Mms-Message-Type: MM4_forward.RES\r\nX-Mms-Transaction-ID: 1\r\n\r\n",
     "Error-message-format-corrupt"),  # no request status
])
def test_bad_input_gets_its_status(data: bytes, status: str) -> None:
    with pytest.raises(Mm4Error) as caught:
        parse(data)
    assert caught.value.status == status
    assert (caught.value.pdu is None) == (status == "Error-unsupported-message")
