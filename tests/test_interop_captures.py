"""Other vendors' MM7 and MM4 messages, byte for byte, as test data: each one accepted or
refused as the interop index says (``mm7/INDEX.md``, ``mm4/INDEX.md``).

Where the captures are: ``$MMSC_INTEROP``, else ``shared/interop`` beside the repository
(``<repo>/../shared/interop``), where the project's workplace and CI keep them. The MM7 index
says the project's tests must not read that folder because it is not on a user's machine;
issue 20 asks that they do, because it is there for CI. Both hold: the tests read it where it
is, and are skipped, saying why, where it is not (a user's clone). The project's own fixtures
(tests/test_mm7.py) keep covering the same quirks everywhere.

MM7: every sample goes through the project's parser (``mmsc.mm7.soap.parse_request``, which
reads requests, responses and faults alike); the SubmitReq samples are also POSTed to a
running server, and so are the malformed ones, which must get a SOAP Fault 2007 in the
request's namespace with its TransactionID. MM4: through the MM4 codec (``mmsc.mm4.codec``).
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path

import aiohttp
import pytest
from lxml import etree

from mmsc.config import VaspConfig
from mmsc.mm4 import codec as mm4_codec
from mmsc.mm7.soap import Mm7Error, parse_request

from test_loop import config, running

ROOT = Path(__file__).resolve().parent.parent
INTEROP = Path(os.environ.get("MMSC_INTEROP") or ROOT.parent / "shared" / "interop")
MM7, MM4 = INTEROP / "mm7", INTEROP / "mm4"
NS = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/"

pytestmark = pytest.mark.skipif(
    not (MM7 / "INDEX.md").is_file(),
    reason=f"no interop captures at {INTEROP} (set MMSC_INTEROP; they are kept beside the "
           "repository on the project's machines and CI, not in a user's clone)")


def http_message(raw: bytes) -> tuple[bytes, str, dict[str, str]]:
    """The body, Content-Type and headers of a capture: a whole HTTP message (request or
    response), a MIME body without its HTTP headers (the boundary read from its first
    delimiter line), or bare XML."""
    if raw.startswith((b"POST ", b"HTTP/")):
        end = re.search(rb"\r?\n\r?\n", raw)
        assert end is not None
        head = re.sub(rb"\r?\n[ \t]+", b" ", raw[:end.start()])  # folded header lines
        headers = {}
        for line in head.splitlines()[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower().decode()] = value.strip().decode()
        return raw[end.end():], headers.get("content-type", "text/xml"), headers
    first = raw.lstrip().split(b"\n", 1)[0].strip()
    if first.startswith(b"--"):
        return raw, f'multipart/related; boundary="{first[2:].decode()}"', {}
    return raw, "text/xml", {}


# -- MM7 -------------------------------------------------------------------------------------------

# file -> (operation, namespace suffix, MM7Version, TransactionID, StatusCode, sender,
#          recipients (To), content parts); or the StatusCode of the MM7 error that refuses it.
ACCEPTED = {
    "instantcom-mm7/deliver-req-post.txt": (
        "DeliverReq", "REL-6-MM7-1-4", "6.7.0", "vas00324-dlvr", None,
        "97254265781@OMMS.com", [], 1),
    "instantcom-mm7/deliver-req1.txt": (
        "DeliverReq", "REL-6-MM7-1-4", "6.7.0", "vas00324-dlvr", None,
        "97254265781@OMMS.com", [], 1),
    "instantcom-mm7/deliver-req2.txt": (
        "DeliverReq", "REL-6-MM7-1-4", "6.7.0", "vas00324-dlvr", None,
        "97254265781@OMMS.com", [], 2),
    "instantcom-mm7/deliver-req3.txt": (
        "DeliverReq", "REL-6-MM7-1-4", "6.8.0", "4E073C7AQ479306TW26785I371H3M1HA", None,
        "+3859100010010/TYPE=PLMN", ["88888/TYPE=PLMN"], 2),
    "instantcom-mm7/deliver-req4.txt": (
        "DeliverReq", "REL-6-MM7-1-4", "6.8.0", "0Q296S401H79CPSU13V1K431DRK3G49M", None,
        None, [], 2),
    "instantcom-mm7/deliver-req5.txt": (
        "DeliverReq", "REL-6-MM7-1-4", "6.8.0", "11398c6a2e9f00000010", None,
        "+381600001200", ["121399"], 2),
    "instantcom-mm7/deliver-req6-hw.txt": (
        "DeliverReq", "REL-5-MM7-1-0", "5.2.0", "713808", None,
        "13951900000", ["13900000001"], 2),
    "instantcom-mm7/caixin-deliver-req-cmcc.txt": (
        "DeliverReq", "REL-6-MM7-1-0", "6.3.0", "1220000002841151119175558001", None,
        "+8618703815655", ["10085"], 3),
    "instantcom-mm7/fault.xml": ("Fault", None, "6.8.0", "123456", 4002, None, [], None),
    "instantcom-mm7/fault_02.xml": ("Fault", None, "6.8.0", "0_1500103103727", 2002, None, [],
                                    None),
    "instantcom-mm7/submit-rsp.xml": (
        "SubmitRsp", "REL-6-MM7-6-7", "6.7.0", "vas00001-sub", 1000, None, [], None),
    "skycore-api-docs/mm7Submit-01-SubmitReq-envelope.txt": (
        "SubmitReq", "REL-6-MM7-1-4", "6.8.0", "1000001", None, "111122", ["16172383232"],
        None),
    "skycore-api-docs/mm7Submit-02-SubmitRsp-success.txt": (
        "SubmitRsp", "REL-6-MM7-1-4", "6.8.0", "1000001", 1000, None, [], None),
    "skycore-api-docs/mm7Submit-04-SubmitReq-full-http-multipart.txt": (
        "SubmitReq", "REL-6-MM7-1-4", "6.8.0", "555e29f8879be", None, "111122",
        ["16179593069"], 2),
    "skycore-api-docs/mm7Submit-05-SubmitRsp-full-http.txt": (
        "SubmitRsp", "REL-6-MM7-1-4", "6.8.0", "1000001", 1000, None, [], None),
    "skycore-api-docs/mm7Deliver-02-DeliverRsp-envelope.txt": (
        "DeliverRsp", "REL-6-MM7-1-4", "6.8.0", "1000001", 1000, None, [], None),
    "skycore-api-docs/mm7Deliver-04-DeliverRsp-full-http.txt": (
        "DeliverRsp", "REL-6-MM7-1-4", "6.8.0", "1000001", 1000, None, [], None),
    "skycore-api-docs/mm7DeliveryReport-01-DeliveryReportReq-envelope.txt": (
        "DeliveryReportReq", "REL-6-MM7-1-4", "6.8.0", "10000001", None, "111122", [], None),
    "skycore-api-docs/mm7DeliveryReport-02-DeliveryReportRsp-envelope.txt": (
        "DeliveryReportRsp", "REL-6-MM7-1-4", "6.8.0", "1000001", 1000, None, [], None),
    "skycore-api-docs/mm7DeliveryReport-03-DeliveryReportReq-full-http.txt": (
        "DeliveryReportReq", "REL-6-MM7-1-4", "6.8.0", "10000001", None, "111122", [], None),
    "skycore-api-docs/mm7DeliveryReport-04-DeliveryReportRsp-full-http.txt": (
        "DeliveryReportRsp", "REL-6-MM7-1-4", "6.8.0", "1000001", 1000, None, [], None),
}
#: The malformed ones, each with the TransactionID the fault must still echo.
REFUSED = {
    # the closing Fault tag is written as an opening tag
    "skycore-api-docs/mm7Submit-03-SubmitReq-RSErrorRsp-fault-2007.txt": "1000001",
    # the soap-env prefix is never bound
    "skycore-api-docs/mm7Deliver-01-DeliverReq-envelope.txt": "1000001",
    # soap-env::Header
    "skycore-api-docs/mm7Deliver-03-DeliverReq-full-http-multipart.txt": "1000001",
}


def test_every_mm7_capture_is_listed_here() -> None:
    """A capture added to the folder gets its expectation here (the SMIL samples are not MM7
    messages)."""
    found = {f"{p.parent.name}/{p.name}" for p in MM7.glob("*/*") if "smil" not in p.name}
    assert found == set(ACCEPTED) | set(REFUSED)


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_mm7_capture_is_read(name: str) -> None:
    operation, suffix, version, tid, status, sender, to, parts = ACCEPTED[name]
    body, content_type, _ = http_message((MM7 / name).read_bytes())
    request = parse_request(body, content_type)
    assert (request.operation, request.version, request.transaction_id) == \
        (operation, version, tid)
    if suffix is not None:
        assert request.namespace == NS + suffix
    assert request.status_code == status
    assert (request.sender.value if request.sender else None) == sender
    assert [a.value for a in request.to] == to
    if parts is None:
        assert request.content is None
    else:
        assert request.content is not None and len(request.content.parts) == parts
        assert all(p.data for p in request.content.parts)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_malformed_mm7_capture_is_refused_with_2007(name: str) -> None:
    body, content_type, _ = http_message((MM7 / name).read_bytes())
    with pytest.raises(Mm7Error) as caught:
        parse_request(body, content_type)
    assert caught.value.status == 2007
    reply_to = caught.value.reply_to
    assert reply_to is not None and reply_to.transaction_id == REFUSED[name]
    assert reply_to.namespace == NS + "REL-6-MM7-1-4"


def fault_or_response(xml: bytes) -> tuple[str, int, str]:
    """(the operation element's name, StatusCode, TransactionID) of an answer."""
    doc = etree.fromstring(xml)
    body = doc.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
    assert body is not None
    return (etree.QName(body[0]).localname, int(doc.findtext(".//{*}StatusCode") or 0),
            doc.findtext(".//{*}TransactionID") or "")


async def test_mm7_captures_posted_to_a_running_server(tmp_path: Path) -> None:
    """The full SubmitReq over HTTP is accepted (SubmitRsp 1000); the envelope-only SubmitReq
    of the same documentation, whose attachment the page leaves out, gets Fault 2007 (no
    content); every malformed sample gets Fault 2007 with its TransactionID; a DeliverReq
    (which only an MMSC sends) gets Fault 4003; and the server serves on."""
    cfg = config(tmp_path)
    cfg.vasps = [VaspConfig("skycore", "pw", ["111122"], rate_limit=0)]
    auth = {"Authorization": "Basic " + base64.b64encode(b"skycore:pw").decode()}
    cases = [("skycore-api-docs/mm7Submit-04-SubmitReq-full-http-multipart.txt", 200,
              "SubmitRsp", 1000, "555e29f8879be"),
             ("skycore-api-docs/mm7Submit-01-SubmitReq-envelope.txt", 500, "Fault", 2007,
              "1000001"),
             ("instantcom-mm7/deliver-req3.txt", 500, "Fault", 4003,
              "4E073C7AQ479306TW26785I371H3M1HA")]
    cases += [(name, 500, "Fault", 2007, tid) for name, tid in sorted(REFUSED.items())]
    async with running(cfg) as server:
        async with aiohttp.ClientSession() as http:
            for name, http_status, element, code, tid in cases:
                body, content_type, headers = http_message((MM7 / name).read_bytes())
                sent = {"Content-Type": content_type,
                        "SOAPAction": headers.get("soapaction", '""'), **auth}
                async with http.post(f"{server.url}/mm7", data=body, headers=sent) as response:
                    answer = await response.read()
                assert response.status == http_status, (name, answer[:300])
                assert fault_or_response(answer) == (element, code, tid), name
            async with http.head(f"{server.url}/mm7") as response:
                assert response.status == 200
        message_ids = await server.engine.state.list_message_ids()
        assert len(message_ids) == 1


# -- MM4 --------------------------------------------------------------------------------------------

# file -> (X-Mms-Message-Type as MM4 names it, TransactionID, status label, recipients of
#          the forwarded message, its part types)
MM4_CAPTURES = {
    "mmsgw-forward-req-with-image.eml": (
        "MM4_forward.REQ", None, ["+14155550123/TYPE=PLMN"],
        ["application/smil", "text/plain", "image/png"]),
    "mmsgw-forward-req-two-recipients.eml": (
        "MM4_forward.REQ", None, ["+14155550124/TYPE=PLMN", "+14155550123/TYPE=PLMN"], None),
    "mmsgw-delivery-report-res.eml": ("MM4_delivery_report.RES", "Ok", None, None),
    "javamail-forward-res.eml": ("MM4_forward.RES", "Ok", None, None),
    "javamail-delivery-report-req.eml": ("MM4_delivery_report.REQ", "Forwarded", None, None),
    "javamail-read-reply-report-req.eml": ("MM4_read_reply_report.REQ", "Read", None, None),
}


def test_every_mm4_capture_is_listed_here() -> None:
    assert {p.name for p in MM4.glob("*.eml")} == set(MM4_CAPTURES)


@pytest.mark.parametrize("name", sorted(MM4_CAPTURES))
def test_mm4_capture_is_read(name: str) -> None:
    kind, status, to, types = MM4_CAPTURES[name]
    pdu = mm4_codec.parse((MM4 / name).read_bytes())
    assert pdu is not None and str(pdu.kind.value) == kind and pdu.transaction_id
    if status is not None:
        assert pdu.status == status
    if to is not None:
        assert pdu.message is not None and pdu.message.envelope.to == to
        assert pdu.message.parts and all(p.data for p in pdu.message.parts)
    if types is not None:
        assert [p.content_type for p in pdu.message.parts] == types
