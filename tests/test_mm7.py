"""MM7: the SOAP codec on the quirks real VASPs and MMSCs send, and the server end to end.

The fixtures are the project's own, written after the deviations listed in the shared
interop index (prefixes, missing namespaces, bare-text addresses, Content-IDs without angle
brackets, ``cid:`` with a space, no Content element, wrapped namespace URIs, ...)."""

from __future__ import annotations

import asyncio
import base64
import email
import io
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from mmsc.config import VaspConfig
from mmsc.message import Envelope, Message, MessagePart
from mmsc.mm7.soap import Address, Mm7Error, ReplyTo, build_deliver, build_fault, \
    build_report, build_response, build_submit, parse_request, parse_time, scan_reply_to, \
    split_attachments, to_message
from mmsc.mm7.status import STATUS, status_text
from mmsc.mime import from_mime, to_mime
from mmsc.mms_body import from_pdu
from mmsc.pdu import decode
from mmsc.server import Server
from wap_push.push import decode_push

from test_loop import B, config

NS5 = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-5-MM7-1-3"
NS6 = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4"
ENV = "http://schemas.xmlsoap.org/soap/envelope/"
GIF = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")


def envelope(body: str, *, tid: str = "tx-1", ns: str = NS6, prefix: str = "env") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<{prefix}:Envelope xmlns:{prefix}="{ENV}">'
            f'<{prefix}:Header><TransactionID xmlns="{ns}" {prefix}:mustUnderstand="1">{tid}'
            f'</TransactionID></{prefix}:Header><{prefix}:Body>{body}</{prefix}:Body>'
            f'</{prefix}:Envelope>')


def submit_body(ns: str | None = NS6, version: str = "6.8.0", sender: str =
                "<SenderAddress><ShortCode>36000</ShortCode></SenderAddress>",
                to: str = f"<Number>{B}</Number>", content: str =
                '<Content href="cid:content-1" allowAdaptations="true"/>',
                extra: str = "") -> str:
    xmlns = f' xmlns="{ns}"' if ns else ""
    return (f"<SubmitReq{xmlns}><MM7Version>{version}</MM7Version><SenderIdentification>"
            f"<VASPID>acme</VASPID><VASID>news</VASID>{sender}</SenderIdentification>"
            f"<Recipients><To>{to}</To></Recipients><ServiceCode>gold</ServiceCode>"
            f"<DeliveryReport>true</DeliveryReport><Subject>Daily news</Subject>{extra}"
            f"{content}</SubmitReq>")


def soap_with_attachments(soap: str, *, content_id: str = "<content-1>",
                          start: str = "<soap-start>") -> tuple[bytes, str]:
    """A SubmitReq as VASPs post it: the envelope, then a nested multipart/related with SMIL,
    text and a base64 GIF."""
    inner = (
        "--inner\r\nContent-Type: application/smil\r\nContent-ID: <smil>\r\n\r\n"
        '<smil><body><par dur="5s"><img src="cid:pic"/><text src="cid:txt"/></par></body></smil>'
        "\r\n--inner\r\nContent-Type: text/plain; charset=utf-8\r\nContent-ID: <txt>\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\nBonjour é\r\n"
        "--inner\r\nContent-Type: image/gif\r\nContent-ID: <pic>\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{base64.b64encode(GIF).decode()}\r\n"
        "--inner--\r\n")
    body = (f"--outer\r\nContent-Type: text/xml; charset=utf-8\r\nContent-ID: {start}\r\n\r\n"
            f"{soap}\r\n--outer\r\nContent-Type: multipart/related; boundary=\"inner\"; "
            f'type="application/smil"; start="<smil>"\r\nContent-ID: {content_id}\r\n\r\n'
            f"{inner}--outer--\r\n")
    return (body.encode(), 'multipart/related; boundary="outer"; type="text/xml"; '
            'start="<soap-start>"')


# -- the codec ----------------------------------------------------------------------------------

def written_soap(body: bytes, content_type: str = "text/xml") -> etree._Element:
    """The SOAP envelope of what the MMSC wrote (the root part of a multipart body)."""
    if content_type.startswith("multipart/"):
        body = email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode()
                                        + body).get_payload()[0].get_payload(decode=True)
    return etree.fromstring(body)


def strictly_in(xml: etree._Element, namespace: str) -> None:
    """The TransactionID and every element of the Body's operation are in ``namespace`` (a
    strict VASP reads them by qualified name, not by local name as the MMSC's reader does)."""
    header, body = xml.find(f"{{{ENV}}}Header"), xml.find(f"{{{ENV}}}Body")
    elements = [*header, *list(body.iter())[1:]]
    assert elements and {etree.QName(e).namespace for e in elements} == {namespace}


def test_status_table() -> None:
    assert len(STATUS) == 26 and STATUS[2007] == "Message format corrupt"
    assert status_text(4999) == "General service error" and status_text(1000) == "Success"


def test_submit_with_nested_multipart() -> None:
    body, ct = soap_with_attachments(envelope(submit_body()))
    req = parse_request(body, ct)
    assert (req.operation, req.namespace, req.version, req.transaction_id) == (
        "SubmitReq", NS6, "6.8.0", "tx-1")
    assert req.vasp_id == "acme" and req.vas_id == "news"
    message = to_message(req)
    env = message.envelope
    assert env.originator == "36000/TYPE=PLMN" and env.to == [f"{B}/TYPE=PLMN"]
    assert env.subject == "Daily news" and env.delivery_report is True
    assert env.service_code == "gold" and env.transaction_id == "tx-1"
    assert [p.content_type for p in message.parts] == ["application/smil", "text/plain",
                                                       "image/gif"]
    assert message.parts[1].decoded_text() == ("Bonjour é", [])
    assert message.parts[2].data == GIF and message.start == "smil"


def test_the_content_is_stored_as_the_vasp_sent_it() -> None:
    """The attachment's octets become the stored content as they came (no part is encoded
    again: issue 19), with the envelope's headers before them; read back, they give the
    same parts, and the 8-bit text part keeps its transfer encoding."""
    body, ct = soap_with_attachments(envelope(submit_body()))
    message = to_message(parse_request(body, ct))
    stored = to_mime(message)
    inner = body[body.index(b"--inner\r\n"):body.index(b"--inner--") + 9]
    assert stored.endswith(inner) and b"Content-Transfer-Encoding: 8bit\r\n\r\nBonjour \xc3\xa9" \
        in stored
    assert b'Content-Type: multipart/related; boundary="inner"; type="application/smil"' in stored
    again = from_mime(stored)
    assert again.parts == message.parts and (again.multipart, again.start) == ("related", "smil")
    assert again.envelope.subject == "Daily news"


@pytest.mark.parametrize("name, change", [
    ("its root is not first", lambda b: b.replace(b'start="<smil>"', b'start="<txt>"')),
    ("a nested multipart, flattened", lambda b: b.replace(
        b"--inner\r\nContent-Type: image/gif",
        b"--inner\r\nContent-Type: multipart/mixed; boundary=deep\r\n\r\n"
        b"--deep\r\nContent-Type: image/gif").replace(
        b"\r\n--inner--", b"\r\n--deep--\r\n--inner--")),
    ("an 8-bit Content-Type", lambda b: b.replace(b'type="application/smil"',
                                                  b'type="application/smil"; x="\xc3\xa9"')),
])
def test_content_that_would_not_read_back_the_same_is_encoded_again(name: str,
                                                                    change: object) -> None:
    """Where the octets as sent would not give the same message as stored (the store keeps
    the root first; a flattened multipart; a header to_mime must encode), the parts are
    written again, and read back the same."""
    body, ct = soap_with_attachments(envelope(submit_body()))
    message = to_message(parse_request(change(body), ct))
    assert message.received is None, name
    stored = to_mime(message)
    assert b"--inner" not in stored and b"boundary=\"=_mmsc_" in stored, name
    assert from_mime(stored).root_first().parts == message.root_first().parts, name


def test_a_message_changed_after_reading_is_encoded_again() -> None:
    """The octets as received stand for the parts read from them only: a message given
    other parts (or another root) is written from its parts."""
    body, ct = soap_with_attachments(envelope(submit_body()))
    message = to_message(parse_request(body, ct))
    assert message.received is not None
    fewer = replace(message, parts=message.parts[:2])
    assert from_mime(to_mime(fewer)).parts == fewer.parts
    other_root = replace(message, start="txt", parts=[message.parts[1], message.parts[0],
                                                      message.parts[2]])
    assert from_mime(to_mime(other_root)).start == "txt"
    assert b"--inner" in to_mime(message)


@pytest.mark.parametrize("name, soap, expect", [
    # body element without namespace: only TransactionID carries it
    ("no-namespace", envelope(submit_body(ns=None)), NS6),
    # mm7: prefixed body elements, REL-5 namespace, 5.3.0
    ("prefixed", envelope(submit_body(ns=None, version="5.3.0").replace("<", "<mm7:")
                          .replace("<mm7:/", "</mm7:").replace("<mm7:SubmitReq>",
                          f'<mm7:SubmitReq xmlns:mm7="{NS5}">'), ns=NS5), NS5),
    # a non-3GPP namespace, answered in kind
    ("vendor-namespace", envelope(submit_body(ns=NS6.replace("1-4", "6-7"), version="6.7.0")),
     NS6.replace("1-4", "6-7")),
    # a namespace URI wrapped over two lines by the generator
    ("wrapped-namespace", envelope(submit_body(ns=None)).replace(
        f'xmlns="{NS6}"', f'xmlns="{NS6[:40]}\n   {NS6[40:]}"'), NS6),
    # SOAP prefix soap-env instead of env
    ("soap-env-prefix", envelope(submit_body(), prefix="soap-env"), NS6),
])
def test_namespace_quirks(name: str, soap: str, expect: str) -> None:
    body, ct = soap_with_attachments(soap)
    req = parse_request(body, ct)
    assert req.operation == "SubmitReq" and req.namespace == expect, name
    assert to_message(req).envelope.to == [f"{B}/TYPE=PLMN"]


def test_address_quirks() -> None:
    bare = submit_body(sender="<SenderAddress>36000</SenderAddress>",
                       to=f"<Number>{B}/TYPE=PLMN</Number><ShortCode>777</ShortCode>"
                       "<RFC2822Address>bob@example.com</RFC2822Address>")
    env = to_message(parse_request(*soap_with_attachments(envelope(bare)))).envelope
    assert env.originator == "36000/TYPE=PLMN"
    assert env.to == [f"{B}/TYPE=PLMN", "777/TYPE=PLMN", "bob@example.com"]
    mail = submit_body(sender="<SenderAddress>news@acme.example</SenderAddress>")
    assert to_message(parse_request(*soap_with_attachments(envelope(mail)))).envelope \
        .originator == "news@acme.example"


@pytest.mark.parametrize("content, content_id", [
    ('<Content href="cid:content-1"/>', "content-1"),  # Content-ID without <>
    ('<Content href="cid: content-1"/>', "<content-1>"),  # a space after cid:
    ('<Content xmlns:mm7="urn:x" mm7:href="cid:content-1"/>', "<content-1>"),  # prefixed href
    ('<Content href="cid:nothing-like-it"/>', "<content-1>"),  # matches no part
    ("", "<content-1>"),  # no Content element at all
])
def test_content_reference_quirks(content: str, content_id: str) -> None:
    body, ct = soap_with_attachments(envelope(submit_body(content=content)),
                                     content_id=content_id)
    message = to_message(parse_request(body, ct))
    assert [p.content_type for p in message.parts][-1] == "image/gif"


def test_plain_xml_under_a_multipart_content_type() -> None:
    soap = envelope(submit_body(content="")).encode()
    req = parse_request(soap, "multipart/related; type=text/xml")
    assert req.operation == "SubmitReq" and req.content is None
    assert "multipart Content-Type over a plain XML body" in req.warnings
    with pytest.raises(Mm7Error) as refused:  # neither parts nor XML
        parse_request(b"garbage", "multipart/related; boundary=b; type=text/xml")
    assert (refused.value.status, refused.value.text) == (2007, "multipart body without parts")


@pytest.mark.parametrize("soap, status", [
    (b"", 2007), (b"<not-xml", 2007), (b"<a/>", 2007),
    (envelope("").encode(), 2007),
    (envelope(submit_body(version="1.0.0")).encode(), 4002),
    (b'<!DOCTYPE e [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>' + envelope(
        submit_body(extra="<Subject>&b;</Subject>")).split("?>", 1)[1].encode(), 2007),
    (b'<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + envelope(
        submit_body(extra="<LinkedID>&x;</LinkedID>")).split("?>", 1)[1].encode(), 2007),
    # malformed as a documentation example had it: "soap-env::Header", unbound prefix
    (envelope(submit_body()).replace("env:Header", "env::Header").encode(), 2007),
    (envelope(submit_body()).replace(f'xmlns:env="{ENV}"', "").encode(), 2007),
])
def test_malformed_requests_get_their_status(soap: bytes, status: int) -> None:
    with pytest.raises(Mm7Error) as error:
        parse_request(soap, "text/xml")
    assert error.value.status == status


def test_relative_and_absolute_times() -> None:
    soap = envelope(submit_body(extra="<ExpiryDate>P2DT3H</ExpiryDate><EarliestDeliveryTime>"
                                "2030-01-02T03:04:05Z</EarliestDeliveryTime>"))
    env = to_message(parse_request(*soap_with_attachments(soap))).envelope
    assert env.expiry.total_seconds() == 2 * 86400 + 3 * 3600
    assert env.earliest_delivery.isoformat() == "2030-01-02T03:04:05+00:00"


@pytest.mark.parametrize("kind, operation, stamp, status, text", [
    ("delivery", "DeliveryReportReq", "Date", "Retrieved", None),
    ("read", "ReadReplyReq", "TimeStamp", "Read", "opened")])
def test_a_built_report_reads_back_as_written(kind: str, operation: str, stamp: str,
                                               status: str, text: str | None) -> None:
    """A DeliveryReportReq (§8.7.8, with Date) or ReadReplyReq (§8.7.9, with TimeStamp) in the
    VASP's namespace: every element in it, the time in UTC, a digit string of up to 8 digits a
    ShortCode and a longer one a Number, StatusText only when there is one."""
    from datetime import datetime, timedelta, timezone
    xml = build_report(kind=kind, namespace=NS5, version="5.3.0", transaction_id="r1",
                       message_id="m1", recipient="123456789/TYPE=PLMN", sender="12345678",
                       status=status, text=text,
                       date=datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2))))
    req = parse_request(xml)
    assert (req.operation, req.namespace, req.fields["MMStatus"], req.fields["MessageID"]) == (
        operation, NS5, status, "m1")
    assert (req.recipient, req.sender) == (Address("Number", "123456789"),
                                           Address("ShortCode", "12345678"))
    assert req.fields.get("StatusText") == text
    written = written_soap(xml)
    strictly_in(written, NS5)
    report = written.find(f".//{{{NS5}}}{operation}")
    assert written.findtext(f".//{{{NS5}}}TransactionID") == "r1"
    assert report.findtext(f"{{{NS5}}}MM7Version") == "5.3.0"
    assert report.findtext(f"{{{NS5}}}{stamp}") == "2026-01-01T10:00:00+00:00"
    assert [etree.QName(e).localname for e in report] == [
        "MM7Version", "MessageID", "Recipient", "Sender", stamp, "MMStatus",
        *(["StatusText"] if text else [])]


@pytest.mark.parametrize("text, says", [(None, status_text(2007)), ("bad MIME", "bad MIME")])
def test_a_fault_says_why_in_its_faultstring(text: str | None, says: str) -> None:
    """SOAP 1.1 §4.4: faultcode and faultstring (unqualified, mandatory), then the detail: the
    given text, else the text of the status."""
    fault = written_soap(build_fault(namespace=NS6, version="6.8.0", transaction_id="f1",
                                     status=2007, text=text)).find(f".//{{{ENV}}}Fault")
    assert [child.tag for child in fault] == ["faultcode", "faultstring", "detail"]
    assert fault.findtext("faultstring") == says


@pytest.mark.parametrize("namespace, version", [
    (NS5, "5.3.0"), (NS6, "6.8.0"), (NS6.replace("REL-6-MM7-1-4", "REL-4-MM7-1-0"), "6.8.0")])
def test_a_request_without_mm7version_is_answered_in_its_release_default(
        namespace: str, version: str) -> None:
    """No MM7Version: the version of the namespace's release, 6.8.0 for a release this MMSC
    has no default for."""
    soap = envelope(submit_body(ns=namespace).replace("<MM7Version>6.8.0</MM7Version>", ""),
                    ns=namespace)
    assert "MM7Version" not in soap
    assert parse_request(*soap_with_attachments(soap)).version == version


@pytest.mark.parametrize("reports", [True, False, None])
def test_a_built_submit_reads_back_as_written(reports: bool | None) -> None:
    """What ``mmsc send`` builds (§8.7.2 SubmitReq, §9.2 SOAP with attachments) is read back
    by the MMSC's own parser field by field: identification, sender, each recipient list, the
    report requests (absent when not set), the subject, and the content."""
    message = Message(Envelope(to=[f"{B}/TYPE=PLMN"], cc=["c@example.com"], bcc=["36001"],
                               subject="Offer", delivery_report=reports, read_report=reports),
                      [MessagePart.from_text("hello", content_id="t")])
    body, content_type = build_submit(namespace=NS5, version="5.3.0", transaction_id="s1",
                                      vasp_id="vasp", vas_id="svc", sender="36000",
                                      message=message, content_id="body")
    req = parse_request(body, content_type)
    assert (req.operation, req.namespace, req.version, req.transaction_id) == (
        "SubmitReq", NS5, "5.3.0", "s1")
    assert (req.vasp_id, req.vas_id, req.sender) == ("vasp", "svc", Address("ShortCode", "36000"))
    assert (req.to, req.cc, req.bcc) == ([Address("Number", B)],
                                         [Address("RFC2822Address", "c@example.com")],
                                         [Address("ShortCode", "36001")])
    flag = {True: "true", False: "false", None: None}[reports]
    assert (req.fields.get("DeliveryReport"), req.fields.get("ReadReply")) == (flag, flag)
    assert req.fields["Subject"] == "Offer" and req.content_href == "cid:body"
    assert [(p.content_type, p.data) for p in to_message(req).parts] == [("text/plain", b"hello")]
    # RFC 2387: the start parameter names the root, the SOAP part; the Content element is in
    # the request's namespace and points at the content part by its Content-ID
    mime = email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    soap, content = mime.get_payload()
    assert (mime.get_content_type(), mime.get_param("type"), mime.get_param("start")) == (
        "multipart/related", "text/xml", soap["Content-ID"])
    assert content["Content-ID"] == "<body>"
    xml = written_soap(body, content_type)
    strictly_in(xml, NS5)
    submit = xml.find(f".//{{{NS5}}}SubmitReq")
    assert submit.find(f"{{{NS5}}}Content").get("href") == "cid:body"
    assert submit.findtext(f"{{{NS5}}}MM7Version") == "5.3.0"


def test_a_built_deliver_reads_back_as_written() -> None:
    """A DeliverReq to a VASP (§8.7.3) read back: its TransactionID and MM7Version (as
    elements of the request's namespace), linked ID, sender, recipients, time stamp, priority,
    subject and content."""
    from datetime import datetime, timezone
    sent = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    message = Message(Envelope(originator=f"{B}/TYPE=PLMN", to=["36000/TYPE=PLMN"],
                               date=sent, priority="High", subject="Hi", linked_id="L1"),
                      [MessagePart.from_text("yes")])
    body, content_type = build_deliver(namespace=NS5, version="5.3.0", transaction_id="d1",
                                       message=message)
    req = parse_request(body, content_type)
    assert (req.operation, req.namespace, req.version, req.transaction_id) == (
        "DeliverReq", NS5, "5.3.0", "d1")
    assert (req.sender, req.to) == (Address("Number", B), [Address("ShortCode", "36000")])
    assert {k: req.fields.get(k) for k in ("LinkedID", "Priority", "Subject")} == {
        "LinkedID": "L1", "Priority": "High", "Subject": "Hi"}
    assert parse_time(req.fields["TimeStamp"]) == sent
    assert [(p.content_type, p.data) for p in to_message(req).parts] == [("text/plain", b"yes")]
    xml = written_soap(body, content_type)
    strictly_in(xml, NS5)
    assert xml.findtext(f".//{{{NS5}}}TransactionID") == "d1"
    assert xml.findtext(f".//{{{NS5}}}DeliverReq/{{{NS5}}}MM7Version") == "5.3.0"


def test_a_built_submit_leaves_out_what_it_is_not_given() -> None:
    """No VASID, no sender and no subject: their elements are left out, not written empty."""
    body, content_type = build_submit(namespace=NS6, version="6.8.0", transaction_id="s2",
                                      vasp_id=None, vas_id=None, sender=None,
                                      message=Message(Envelope(to=[f"{B}/TYPE=PLMN"]),
                                                      [MessagePart.from_text("hi")]))
    req = parse_request(body, content_type)
    assert (req.vasp_id, req.vas_id, req.sender, req.to) == (None, None, None,
                                                             [Address("Number", B)])
    assert "Subject" not in req.fields and b"SenderIdentification" in body


class VaspEndpoint:
    """A VASP's report endpoint on loopback: records what arrives, answers each request with
    its Rsp in the request's namespace (or 503 while ``up`` is False)."""

    def __init__(self) -> None:
        self.received: list = []
        self.up = True
        self.url = ""
        self._runner = None

    async def __aenter__(self) -> "VaspEndpoint":
        from aiohttp import web

        async def handler(request: web.Request) -> web.Response:
            req = parse_request(await request.read(),
                                request.headers.get("Content-Type", "text/xml"))
            if not self.up:
                return web.Response(status=503, text="maintenance")
            self.received.append(req)
            return web.Response(body=build_response(
                req.operation.replace("Req", "Rsp"), namespace=req.namespace,
                version=req.version, transaction_id=req.transaction_id), content_type="text/xml")

        app = web.Application()
        app.add_routes([web.post("/reports", handler)])
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/reports"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()

    async def wait_for_reports(self, message_ids: list[str], timeout: float = 30) -> None:
        """Until a request has come for each of ``message_ids`` (or the timeout)."""
        for _ in range(int(timeout / 0.05)):
            if {r.fields.get("MessageID") for r in self.received} >= set(message_ids):
                return
            await asyncio.sleep(0.05)

    async def wait_for(self, operation: str) -> list:
        for _ in range(300):
            found = [r for r in self.received if r.operation == operation]
            if found:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {operation} arrived")


async def submit_all(url: str, tids: list[str], *, user: str = "acme", password: str = "pw",
                     new_connections: bool = False) -> list[str]:
    """One SubmitReq per TransactionID to ``url``/mm7, each answered 200; their MessageIDs.
    ``new_connections``: each on a connection of its own."""
    auth = {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}
    ids = []
    connector = aiohttp.TCPConnector(force_close=new_connections)
    async with aiohttp.ClientSession(connector=connector) as http:
        for tid in tids:
            body, ct = soap_with_attachments(envelope(submit_body(), tid=tid))
            async with http.post(f"{url}/mm7", data=body,
                                 headers={**auth, "Content-Type": ct}) as response:
                text = await response.text()
                assert response.status == 200, text
                ids.append(text.split("MessageID>")[1].split("<")[0])
    return ids


# -- the server -----------------------------------------------------------------------------

@pytest.fixture
async def server(tmp_path: Path):
    cfg = config(tmp_path)
    cfg.delivery.max_message_size = 100_000
    cfg.vasps = [VaspConfig("acme", "s3cret", ["36000"], rate_limit=0),
                 VaspConfig("slow", "pw", [], rate_limit=1)]
    s = Server(cfg)
    await s.start()
    yield s
    await s.close()


async def call(server: Server, body: bytes, ct: str = "text/xml", user: str = "acme",
               password: str = "s3cret") -> tuple[int, etree._Element, dict]:
    headers = {"Content-Type": ct}
    if user:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    async with aiohttp.ClientSession() as http:
        data = io.BytesIO(body) if len(body) > 1 << 20 else body
        async with http.post(f"{server.url}/mm7", data=data, headers=headers) as response:
            return response.status, etree.fromstring(await response.read()), \
                dict(response.headers)


def status_of(doc: etree._Element) -> tuple[str, int]:
    code = doc.find(".//{*}StatusCode")
    parent = code.getparent().getparent()
    return etree.QName(parent).namespace, int(code.text)


async def test_submit_reaches_the_handset(server: Server) -> None:
    status, doc, _ = await call(server, *soap_with_attachments(envelope(submit_body())))
    assert status == 200 and status_of(doc) == (NS6, 1000)
    message_id = doc.find(".//{*}MessageID").text
    b = server.handsets.handsets[B]
    await b.wait_for(lambda h: h.inbox)
    assert b.inbox[0].envelope.message_id == message_id
    assert b.inbox[0].envelope.originator == "36000/TYPE=PLMN"
    assert b.inbox[0].parts[-1].data == GIF
    again = await call(server, *soap_with_attachments(envelope(submit_body())))
    assert again[1].find(".//{*}MessageID").text == message_id  # same TransactionID
    record = await server.engine.state.get_message(message_id)
    assert record.vasp_id == "acme" and record.interface.value == "mm7"


async def test_answers_in_the_request_namespace_and_version(server: Server) -> None:
    soap = envelope(submit_body(ns=NS5, version="5.3.0"), ns=NS5, tid="tx-5")
    _, doc, _ = await call(server, *soap_with_attachments(soap))
    assert status_of(doc) == (NS5, 1000)
    assert doc.find(".//{*}MM7Version").text == "5.3.0"
    assert doc.find(".//{*}TransactionID").text == "tx-5"


async def test_security_and_errors(server: Server) -> None:
    body, ct = soap_with_attachments(envelope(submit_body()))
    for user, password in (("acme", "wrong"), ("nobody", "x"), ("", "")):
        status, doc, headers = await call(server, body, ct, user, password)
        assert status == 401 and status_of(doc)[1] == 4001 and "WWW-Authenticate" in headers
    forged = envelope(submit_body(sender="<SenderAddress><ShortCode>99999</ShortCode>"
                                  "</SenderAddress>"), tid="tx-forged")
    status, doc, _ = await call(server, *soap_with_attachments(forged))
    assert status == 500 and status_of(doc)[1] == 2001
    assert doc.find(f"{{{ENV}}}Body/{{{ENV}}}Fault/faultcode").text == "env:Client"
    xxe = (b'<!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           + envelope(submit_body(extra="<LinkedID>&x;</LinkedID>")).split("?>", 1)[1].encode())
    assert status_of((await call(server, xxe))[1])[1] == 2007
    huge = b"<" + b"a" * (100 * 1024 * 1024)
    status, doc, _ = await call(server, huge)
    assert status == 500 and status_of(doc)[1] == 2004
    deliver = envelope(f'<DeliverReq xmlns="{NS6}"><MM7Version>6.8.0</MM7Version>'
                       "</DeliverReq>")
    assert status_of((await call(server, deliver.encode()))[1])[1] == 4003
    async with aiohttp.ClientSession() as http:
        async with http.head(f"{server.url}/mm7") as response:
            assert response.status == 200
    status, doc, _ = await call(server, *soap_with_attachments(envelope(submit_body(),
                                                                        tid="tx-after")))
    assert status == 200 and status_of(doc)[1] == 1000  # still serving


async def test_a_fault_of_ours_is_still_a_soap_fault(server: Server,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import mmsc.mm7.server

    real = mmsc.mm7.server.parse_request

    def broken(body: bytes, content_type: str) -> object:
        raise AttributeError("a bug in reading")

    monkeypatch.setattr(mmsc.mm7.server, "parse_request", broken)
    body, ct = soap_with_attachments(envelope(submit_body(), tid="tx-bug"))
    status, doc, _ = await call(server, body, ct)
    assert status == 500 and status_of(doc)[1] == 3000
    assert doc.find(f"{{{ENV}}}Body/{{{ENV}}}Fault/faultcode").text == "env:Server"
    monkeypatch.setattr(mmsc.mm7.server, "parse_request", real)
    status, doc, _ = await call(server, body, ct)
    assert status == 200 and status_of(doc)[1] == 1000


async def test_rate_limit(server: Server) -> None:
    codes = []
    for i in range(3):
        body, ct = soap_with_attachments(envelope(submit_body(), tid=f"r{i}"))
        codes.append(status_of((await call(server, body, ct, "slow", "pw"))[1])[1])
    assert codes[0] == 1000 and 4006 in codes[1:]


async def test_delivery_report_reaches_the_vasp_in_its_namespace(tmp_path: Path) -> None:
    async with VaspEndpoint() as vasp:
        cfg = config(tmp_path)
        cfg.vasps = [VaspConfig("acme", "s3cret", ["36000"], report_url=vasp.url)]
        server = Server(cfg)
        await server.start()
        try:
            soap = envelope(submit_body(ns=NS5, version="5.3.0"), ns=NS5, tid="tx-r")
            _, doc, _ = await call(server, *soap_with_attachments(soap))
            message_id = doc.find(".//{*}MessageID").text
            (report,) = await vasp.wait_for("DeliveryReportReq")
            assert (report.namespace, report.version) == (NS5, "5.3.0")
            assert report.fields["MessageID"] == message_id
            assert report.fields["MMStatus"] == "Retrieved" and report.recipient.value == B
            for _ in range(100):
                kinds = [e.kind for e in await server.engine.state.events_of(message_id)]
                if "report-sent" in kinds:
                    break
                await asyncio.sleep(0.02)
            assert "report-sent" in kinds
        finally:
            await server.close()


async def test_mmsc_send_end_to_end_with_its_delivery_report(tmp_path: Path) -> None:
    """mmsc send → SubmitRsp 1000 → the handset is notified, fetches, acknowledges → the
    DeliveryReportReq (Retrieved, in the request's namespace) reaches mmsc send --listen."""
    import socket
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        listen = s.getsockname()[1]
    cfg = config(tmp_path)
    cfg.vasps = [VaspConfig("acme", "s3cret", ["36000"],
                            report_url=f"http://127.0.0.1:{listen}/mm7")]
    server = Server(cfg)
    await server.start()
    picture = tmp_path / "sun.gif"
    picture.write_bytes(GIF)
    try:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mmsc", "send", "--url", f"{server.url}/mm7", "--user", "acme",
            "--password", "s3cret", "--from", "36000", "--to", B, "--subject", "Hello",
            "--text", "Bonjour", "--file", str(picture), "--mm7-version", "5.3.0",
            "--listen", str(listen), "--wait", "30",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(child.communicate(), 60)
        assert child.returncode == 0, err.decode()
        first, second = out.decode().splitlines()
        message_id = first.split()[1].rstrip(":")
        assert first.endswith("1000 Success")
        assert second == (f"DeliveryReportReq {message_id}: Retrieved {B} (REL-5-MM7-1-3 5.3.0)")
        got = server.handsets.handsets[B].inbox[0]
        assert got.envelope.message_id == message_id and got.envelope.subject == "Hello"
        assert [p.content_type for p in got.parts] == ["application/smil", "text/plain",
                                                       "image/gif"]
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mmsc", "send", "--url", f"{server.url}/mm7", "--user", "acme",
            "--password", "wrong", "--to", B, "--text", "x",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(child.communicate(), 60)
        assert child.returncode == 1 and b"4001 Improper identification" in err
    finally:
        await server.close()


def cancel_or_replace(operation: str, message_id: str, tid: str) -> str:
    return envelope(f'<{operation} xmlns="{NS6}"><MM7Version>6.8.0</MM7Version>'
                    f"<MessageID>{message_id}</MessageID>"
                    + ('<Content href="cid:content-1"/>' if operation == "ReplaceReq" else "")
                    + f"</{operation}>", tid=tid)


async def test_cancel_and_replace(server: Server) -> None:
    from test_loop import F
    submit = envelope(submit_body(to=f"<Number>{F}</Number>"), tid="c1")  # F is offline
    message_id = (await call(server, *soap_with_attachments(submit)))[1] \
        .find(".//{*}MessageID").text
    new_body, ct = soap_with_attachments(cancel_or_replace("ReplaceReq", message_id, "c2"))
    new_body = new_body.replace(b"Bonjour \xc3\xa9", b"Replaced!")
    status, doc, _ = await call(server, new_body, ct)
    assert status == 200 and status_of(doc) == (NS6, 1000)
    assert doc.find(".//{*}ReplaceRsp") is not None
    record = await server.engine.state.get_message(message_id)
    octets = await server.engine.objects.get(record.object_key)
    stored = from_mime(octets)
    assert stored.parts[1].data == b"Replaced!" and stored.envelope.to == [f"{F}/TYPE=PLMN"]
    assert b"\r\n\r\nReplaced!\r\n--inner\r\n" in octets  # the new content kept as it came
    cancel = cancel_or_replace("CancelReq", message_id, "c3").encode()
    status, doc, _ = await call(server, cancel)
    assert status == 200 and doc.find(".//{*}CancelRsp") is not None
    (r,) = await server.engine.state.recipients_of(message_id)
    assert r.state.value == "rejected"
    assert "cancelled" in [e.kind for e in await server.engine.state.events_of(message_id)]
    assert status_of((await call(server, cancel))[1])[1] == 3001  # nothing left to cancel
    unknown = cancel_or_replace("CancelReq", "nope", "c4").encode()
    assert status_of((await call(server, unknown))[1])[1] == 2005
    other = cancel_or_replace("CancelReq", message_id, "c5").encode()
    assert status_of((await call(server, other, user="slow", password="pw"))[1])[1] == 2005


async def test_a_replaced_content_is_what_the_next_recipient_gets(server: Server) -> None:
    """A ReplaceReq after one recipient fetched (the content of that device's profile is
    then in memory and in the store): the next recipient with the same profile fetches the
    new content, not the copy made from the old one."""
    from test_loop import C, F
    locations: dict[str, str] = {}

    def on_sms(sms) -> None:
        if sms.destination == F and sms.ports:
            locations[F] = decode(decode_push(bytes(sms.payload)).data).content_location

    server.smsc.subscribe(on_sms)
    submit = envelope(submit_body(to=f"<Number>{C}</Number><Number>{F}</Number>"), tid="r1")
    message_id = (await call(server, *soap_with_attachments(submit)))[1] \
        .find(".//{*}MessageID").text
    c = server.handsets.handsets[C]  # fetches at once (and never acknowledges)
    await c.wait_for(lambda h: h.inbox)
    assert c.inbox[0].parts[1].data == "Bonjour é".encode()
    new_body, ct = soap_with_attachments(cancel_or_replace("ReplaceReq", message_id, "r2"))
    status, doc, _ = await call(server, new_body.replace(b"Bonjour \xc3\xa9", b"Replaced!"), ct)
    assert status == 200 and doc.find(".//{*}ReplaceRsp") is not None
    for _ in range(100):
        if F in locations:
            break
        await asyncio.sleep(0.05)
    async with aiohttp.ClientSession() as http:  # the same User-Agent as C's, so its profile
        async with http.get(locations[F]) as response:
            assert response.status == 200
            fetched = from_pdu(decode(await response.read()))
    assert [p.data for p in fetched.parts][1:] == [b"Replaced!", GIF]


async def test_read_reply_reaches_the_vasp(tmp_path: Path) -> None:
    from mmsc.pdu import MessageType, MmsPdu, ReadStatus
    from wap_push.wsp import EncodedString

    async with VaspEndpoint() as vasp:
        cfg = config(tmp_path)
        cfg.vasps = [VaspConfig("acme", "s3cret", ["36000"], report_url=vasp.url)]
        server = Server(cfg)
        await server.start()
        try:
            soap = envelope(submit_body(extra="<ReadReply>true</ReadReply>"), tid="rr")
            message_id = (await call(server, *soap_with_attachments(soap)))[1] \
                .find(".//{*}MessageID").text
            b = server.handsets.handsets[B]
            await b.wait_for(lambda h: h.inbox)
            await b._post(MmsPdu(MessageType.READ_REC_IND, message_id=message_id,
                                 to=[EncodedString("36000/TYPE=PLMN")],
                                 sender=EncodedString(f"{B}/TYPE=PLMN"),
                                 read_status=ReadStatus.READ), server.handsets.http)
            (read,) = await vasp.wait_for("ReadReplyReq")
            assert read.fields["MMStatus"] == "Read" and read.fields["MessageID"] == message_id
            assert read.recipient.value == B
            assert {r.operation for r in vasp.received} == {"ReadReplyReq", "DeliveryReportReq"}
        finally:
            await server.close()


SAMPLE, SAMPLE_TYPE = soap_with_attachments(envelope(submit_body()))


@settings(max_examples=300, deadline=None)
@given(st.one_of(
    st.binary(max_size=400),
    st.integers(0, len(SAMPLE)).map(lambda n: SAMPLE[:n]),
    st.tuples(st.integers(0, len(SAMPLE) - 1), st.binary(min_size=1, max_size=8)).map(
        lambda cut: SAMPLE[:cut[0]] + cut[1] + SAMPLE[cut[0] + len(cut[1]):])),
    st.sampled_from([SAMPLE_TYPE, "text/xml", "multipart/related", "multipart/related; "
                     'boundary="outer"', 'multipart/mixed; boundary=""', ""]))
def test_any_body_is_a_request_or_an_mm7_error(body: bytes, content_type: str) -> None:
    try:
        request = parse_request(body, content_type)
    except Mm7Error as error:
        assert error.status in STATUS
        return
    to_message(request)


async def test_a_handset_message_to_a_short_code_goes_to_the_vasp(tmp_path: Path) -> None:
    """MO: handset A sends to the VASP's short code over MM1; the VASP gets a DeliverReq
    (after a refusal, retried) and A gets its delivery report."""
    from test_loop import A, picture

    async with VaspEndpoint() as vasp:
        vasp.up = False
        cfg = config(tmp_path)
        cfg.delivery.renotify_backoff = [0.2]
        cfg.vasps = [VaspConfig("acme", "s3cret", ["36000"], report_url=vasp.url,
                                namespace=NS5, version="5.3.0")]
        server = Server(cfg)
        await server.start()
        try:
            message = picture()
            message.envelope.to = ["36000/TYPE=PLMN"]
            message.envelope.subject = "VOTE 3"
            a = server.handsets.handsets[A]
            conf = await a.send(message, server.handsets.http)
            (r,) = await server.engine.state.recipients_of(conf.message_id)
            assert r.route.value == "vasp"
            for _ in range(100):
                kinds = [e.kind for e in await server.engine.state.events_of(conf.message_id)]
                if "deliver-failed" in kinds:
                    break
                await asyncio.sleep(0.02)
            vasp.up = True
            (deliver,) = await vasp.wait_for("DeliverReq")
            assert (deliver.namespace, deliver.version) == (NS5, "5.3.0")
            assert deliver.sender.value == A and [t.value for t in deliver.to] == ["36000"]
            assert deliver.to[0].kind == "ShortCode" and deliver.fields["Subject"] == "VOTE 3"
            got = to_message(deliver)
            assert [p.data for p in got.parts] == [p.data for p in picture().parts]
            await a.wait_for(lambda h: h.reports)
            assert a.reports[0].status.label == "Retrieved"
        finally:
            await server.close()


def test_utf16_entity_declarations_are_refused_too() -> None:
    """The byte search for <!ENTITY misses UTF-16; the parsed DTD is checked as well."""
    doc = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE e [<!ENTITY a "aaaa">]>'
           + envelope(submit_body(extra="<LinkedID>&a;</LinkedID>")).split("?>", 1)[1])
    with pytest.raises(Mm7Error) as error:
        parse_request(doc.encode("utf-16"), "text/xml")
    assert error.value.status == 2007 and "entities" in error.value.text


# -- every fault in the request's namespace, MM7Version and TransactionID ---------------------

NS6_0 = NS6.replace("REL-6-MM7-1-4", "REL-6-MM7-1-0")


def echoes(doc: etree._Element, status: int, ns: str, version: str, tid: str) -> None:
    """``doc`` is a SOAP Fault with ``status`` that answers in ``ns``, ``version``, ``tid``."""
    assert doc.find(f"{{{ENV}}}Body/{{{ENV}}}Fault") is not None
    assert status_of(doc) == (ns, status)
    assert doc.find(f".//{{{ns}}}RSErrorRsp/{{{ns}}}MM7Version").text == version, status
    assert doc.find(f"{{{ENV}}}Header/{{{ns}}}TransactionID").text == tid, status


def test_a_request_that_does_not_read_is_answered_where_it_came_from() -> None:
    soap = envelope(submit_body(ns=None, version="6.3.0"), ns=NS6_0, tid="t&amp;1").replace(
        f'xmlns="{NS6_0}"', f'xmlns="{NS6_0[:40]}\n  {NS6_0[40:]}"')
    with pytest.raises(Mm7Error) as error:
        parse_request(soap[:-40].encode())
    assert error.value.reply_to == ReplyTo(NS6_0, "6.3.0", "t&1")
    prefixed = envelope(submit_body(ns=None), ns=NS5).replace("TransactionID", "mm7:Transaction"
                                                                "ID").replace("<MM7", "<x:MM7")
    assert scan_reply_to(prefixed.encode()) == ReplyTo(NS5, "6.8.0", "tx-1")
    for garbage in (b"", b"\xff" * 40, b"<TransactionID>\x01</TransactionID>"):
        assert scan_reply_to(garbage) == ReplyTo()
    with pytest.raises(Mm7Error) as error:  # unsupported: answered in what mmsc speaks
        parse_request(envelope(submit_body(ns=NS5, version="4.0.0"), ns=NS5).encode())
    assert error.value.reply_to == ReplyTo(NS5, "5.3.0", "tx-1")


@pytest.mark.parametrize("ns, version", [(NS5, "5.3.0"), (NS6_0, "6.3.0")])
async def test_every_fault_echoes_the_request(server: Server, monkeypatch: pytest.MonkeyPatch,
                                              ns: str, version: str) -> None:
    def submit(tid: str, **changes: str) -> tuple[bytes, str]:
        return soap_with_attachments(envelope(submit_body(ns=ns, version=version, **changes),
                                              ns=ns, tid=tid))

    async def fault(status: int, tid: str, body: bytes, ct: str = "text/xml",
                    user: str = "acme", password: str = "s3cret", answer_version: str = version,
                    ) -> None:
        http_status, doc, _ = await call(server, body, ct, user, password)
        assert http_status == (401 if status == 4001 else 500), (status, tid)
        echoes(doc, status, ns, answer_version, tid)

    await fault(4001, "f-auth", *submit("f-auth"), password="wrong")
    await fault(4001, "f-nobody", *submit("f-nobody"), user="nobody")
    big = submit("f-big")
    await fault(2004, "f-big", big[0].replace(b"Bonjour", b"x" * 600_000), big[1])
    huge = submit("f-huge")  # under the body limit, over the message size
    await fault(2004, "f-huge", huge[0].replace(b"Bonjour", b"x" * 150_000), huge[1])
    cut = envelope(submit_body(ns=ns, version=version), ns=ns, tid="f-cut").encode()
    await fault(2007, "f-cut", cut[:len(cut) // 2])  # XML cut short: found by the scan
    trunc = submit("f-trunc")  # a multipart cut short: 2007 before the envelope is read
    await fault(2007, "f-trunc", trunc[0][:len(trunc[0]) - 40], trunc[1])
    await fault(2007, "f-date", *submit("f-date", extra="<ExpiryDate>soon</ExpiryDate>"))
    await fault(2001, "f-sender", *submit(
        "f-sender", sender="<SenderAddress><ShortCode>99999</ShortCode></SenderAddress>"))
    await fault(2002, "f-to", *submit("f-to", to=""))
    await fault(2007, "f-empty", envelope(submit_body(ns=ns, version=version, content=""),
                                          ns=ns, tid="f-empty").encode())
    await fault(4002, "f-version", envelope(submit_body(ns=ns, version="1.0.0"), ns=ns,
                                            tid="f-version").encode(),
                answer_version="5.3.0" if "REL-5" in ns else "6.8.0")
    await fault(4003, "f-op", envelope(f'<DeliverReq xmlns="{ns}"><MM7Version>{version}'
                                       "</MM7Version></DeliverReq>", ns=ns, tid="f-op").encode())
    await fault(2005, "f-cancel", envelope(
        f'<CancelReq xmlns="{ns}"><MM7Version>{version}</MM7Version><MessageID>nope'
        "</MessageID></CancelReq>", ns=ns, tid="f-cancel").encode())
    for i in range(3):
        http_status, doc, _ = await call(server, *submit(f"f-rate{i}"), "slow", "pw")
        if http_status == 500:
            echoes(doc, 4006, ns, version, f"f-rate{i}")
            break
    else:
        raise AssertionError("no 4006 for a VASP over its rate")

    async def down(*args: object, **kwargs: object) -> None:
        raise StateError("database is locked")

    from mmsc.state import StateError
    monkeypatch.setattr(server.engine, "submit", down)
    await fault(4006, "f-store", *submit("f-store"))

    def broken(body: bytes, content_type: str) -> object:
        raise AttributeError("a bug in reading")

    import mmsc.mm7.server
    monkeypatch.setattr(mmsc.mm7.server, "parse_request", broken)
    await fault(3000, "f-bug", *submit("f-bug"))


# -- damaged bodies: refused with 2007, never delivered ---------------------------------------

async def stored_parts(server: Server, message_id: str) -> list[tuple[str, bytes]]:
    record = await server.engine.state.get_message(message_id)
    stored = from_mime(await server.engine.objects.get(record.object_key))
    return [(p.content_type, p.data) for p in stored.parts]


async def test_a_submit_cut_anywhere_is_refused_or_whole(server: Server) -> None:
    """A SubmitReq (with an epilogue after its close delimiter) cut at every 7th octet from a
    seeded start: each answer is a 2xxx fault, or, only for a cut after the close
    delimiter, a 1000 whose stored content is the original's."""
    import random

    def sample(tid: str) -> tuple[bytes, str]:
        body, ct = soap_with_attachments(envelope(submit_body(), tid=tid))
        return body + b"an epilogue, which RFC 2046 says to ignore\r\n", ct

    whole, ct = sample("cut-00000")
    original = [(p.content_type, p.data) for p in to_message(parse_request(whole, ct)).parts]
    closed = whole.index(b"--outer--") + len(b"--outer--")
    offsets = sorted({*range(random.Random(14).randrange(7), len(whole), 7),
                      closed - 1, closed, len(whole) - 1})
    accepted = []
    for n in offsets:
        body = sample(f"cut-{n:05d}")[0][:n]
        http_status, doc, _ = await call(server, body, ct)
        code = status_of(doc)[1]
        if n >= closed:
            assert (http_status, code) == (200, 1000), n
            accepted.append(doc.find(".//{*}MessageID").text)
        else:
            assert http_status == 500 and 2000 <= code < 3000, (n, code)
            assert doc.find(f"{{{ENV}}}Body/{{{ENV}}}Fault") is not None
    assert len(set(accepted)) == len(accepted) > 1
    for message_id in accepted:
        assert await stored_parts(server, message_id) == original


@pytest.mark.parametrize("name, damage, says", [
    ("no close delimiter", lambda b: b[:b.index(b"--outer--")], "without its close delimiter"),
    ("no inner close delimiter", lambda b: b.replace(b"--inner--\r\n", b""),
     "multipart/related <content-1> without its close delimiter"),
    ("broken base64", lambda b: b.replace(b"R0lGODlh", b"R0lG%%lh"),
     "image/gif <pic>: base64 with characters outside its alphabet"),
    ("base64 cut short", lambda b: b.replace(b"AOw==", b"AO"), "base64 cut short"),
    ("broken quoted-printable", lambda b: b.replace(
        b"Content-Transfer-Encoding: 8bit\r\n\r\nBonjour \xc3\xa9",
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\nBonjour =C3=ZZ"),
     "quoted-printable with a broken escape"),
])
async def test_damaged_content_is_refused_with_2007(server: Server, name: str, damage: object,
                                                    says: str) -> None:
    body, ct = soap_with_attachments(envelope(submit_body(), tid=f"dmg-{name}"))
    http_status, doc, _ = await call(server, damage(body), ct)
    assert http_status == 500 and status_of(doc) == (NS6, 2007), name
    assert says in doc.find(".//{*}StatusText").text, name
    assert doc.find(f"{{{ENV}}}Header/{{{NS6}}}TransactionID").text == f"dmg-{name}"


@pytest.mark.parametrize("name, quirk", [
    ("base64 without its padding", lambda b: b.replace(b"AOw==", b"AOw")),
    ("Content-ID without brackets", lambda b: b.replace(b"Content-ID: <pic>", b"Content-ID: pic")),
    ("raw binary part", lambda b: b.replace(
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.b64encode(GIF),
        b"Content-Transfer-Encoding: binary\r\n\r\n" + GIF)),
    ("quoted-printable soft line break", lambda b: b.replace(
        b"Content-Transfer-Encoding: 8bit\r\n\r\nBonjour \xc3\xa9",
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\nBon=\r\njour =c3=a9")),
])
async def test_quirks_are_still_taken(server: Server, name: str, quirk: object) -> None:
    body, ct = soap_with_attachments(envelope(submit_body(), tid=f"quirk-{name}"))
    http_status, doc, _ = await call(server, quirk(body), ct)
    assert (http_status, status_of(doc)) == (200, (NS6, 1000)), name
    parts = await stored_parts(server, doc.find(".//{*}MessageID").text)
    assert parts[1:] == [("text/plain", "Bonjour é".encode()), ("image/gif", GIF)], name


# -- a VASP's report endpoint with credentials --------------------------------------------------

class Refusing:
    """A VASP endpoint on loopback (raw asyncio) that answers every request 401 with neither
    Content-Length nor chunking and keeps the connection open, as a China Mobile MM7
    gateway does; it records the Authorization header of each request."""

    def __init__(self) -> None:
        self.authorizations: list[str | None] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> "Refusing":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for writer in self._writers:
            writer.close()
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
                fields = dict(line.lower().split(": ", 1)[0:1] + [line.split(": ", 1)[1]]
                              for line in head.split("\r\n")[1:] if ": " in line)
                await reader.readexactly(int(fields.get("content-length", 0)))
                self.authorizations.append(fields.get("authorization"))
                writer.write(b'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="mm7"'
                             b"\r\nContent-Type: text/html\r\n\r\n<html>no entry")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


@pytest.mark.parametrize("in_url", [False, True])
async def test_reports_to_an_endpoint_with_credentials(tmp_path: Path, in_url: bool,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """The credentials reach the VASP, from report_username/report_password or from the
    URL's userinfo; a 401 without length on a kept-alive connection fails the try at once
    (not after the 15 s timeout); the password is nowhere in the log, the events or the
    state store."""
    import logging

    caplog.set_level(logging.DEBUG)
    password = "pa55-Wörd"
    async with Refusing() as vasp:
        cfg = config(tmp_path)
        url = f"http://127.0.0.1:{vasp.port}/mm7/reports"
        cfg.vasps = [VaspConfig("acme", "s3cret", ["36000"], report_url=url)]
        if in_url:
            cfg.vasps[0].report_url = url.replace("//", "//cmcc:pa55-W%C3%B6rd@")
        else:
            cfg.vasps[0].report_username, cfg.vasps[0].report_password = "cmcc", password
        server = Server(cfg)
        await server.start()
        try:
            _, doc, _ = await call(server, *soap_with_attachments(envelope(submit_body())))
            message_id = doc.find(".//{*}MessageID").text
            events: list = []
            for _ in range(200):  # 10 s: well under the reporter's 15 s timeout
                events = await server.engine.state.events_of(message_id)
                if "report-retry" in [e.kind for e in events]:
                    break
                await asyncio.sleep(0.05)
            (failed,) = [e for e in events if e.kind == "report-retry"]
            assert "401" in failed.detail["why"] and failed.detail["to"] == url
            assert vasp.authorizations[0] == "Basic " + base64.b64encode(
                f"cmcc:{password}".encode()).decode()
            assert (await server.engine.state.get_vasp("acme")).report_url == url
        finally:
            await server.close()
    for secret in (password, "pa55"):
        assert secret not in caplog.text
        assert all(secret not in str(e.detail) for e in events)
        for file in tmp_path.glob("mmsc.db*"):
            assert secret.encode() not in file.read_bytes()


def test_report_credentials_settings(tmp_path: Path) -> None:
    from mmsc.config import ConfigError, load

    def vasp(extra: str) -> Path:
        path = tmp_path / "mmsc.toml"
        path.write_text(f'[[vasp]]\nid = "acme"\npassword = "pw"\n{extra}\n')
        return path

    loaded = load(vasp('report_url = "http://v.example/r"\nreport_username = "u"\n'
                       'report_password = "p"'), environ={}).vasps[0]
    assert (loaded.report_username, loaded.report_password) == ("u", "p")
    for wrong in ('report_password = "p"', 'report_username = "a:b"',
                  'report_url = "http://x:y@v.example/r"\nreport_username = "u"'):
        with pytest.raises(ConfigError, match="report_"):
            load(vasp(wrong), environ={})


def test_times_as_ts_23140_allows_them() -> None:
    """ExpiryDate and EarliestDeliveryTime (TS 23.140 §8.7.2) are an xs:dateTime or an
    xs:duration; a duration's year counts 365 days and its month 30; a date without a zone
    is UTC; anything else is refused with 2007 (Message format corrupt), saying what."""
    from datetime import UTC, datetime, timedelta

    assert parse_time("P1Y2M3DT4H5M6S") == timedelta(days=365 + 2 * 30 + 3, hours=4,
                                                      minutes=5, seconds=6)
    assert parse_time("PT1.5S") == timedelta(seconds=1.5)
    assert parse_time("2020-01-01T00:00:00") == datetime(2020, 1, 1, tzinfo=UTC)
    with pytest.raises(Mm7Error) as refused:
        parse_time("soon")
    assert (refused.value.status, str(refused.value), refused.value.text) == (
        2007, "not a date or duration: 'soon'", "not a date or duration: 'soon'")


def test_a_deliver_keeps_its_timestamp_and_a_response_is_in_one_namespace() -> None:
    """A DeliverReq's TimeStamp (§8.7.3) becomes the message's date; a response (here
    SubmitRsp with its MessageID) and a fault's detail are, element by element, in the
    request's namespace (a strict VASP reads them by qualified name)."""
    from datetime import UTC, datetime

    sent = datetime(2020, 1, 1, 12, 0, tzinfo=UTC)
    message = Message(Envelope(originator=f"{B}/TYPE=PLMN", to=["36000/TYPE=PLMN"],
                               date=sent), [MessagePart.from_text("hello", content_id="t")])
    body, content_type = build_deliver(namespace=NS6, version="6.8.0", transaction_id="d1",
                                       message=message)
    assert to_message(parse_request(body, content_type)).envelope.date == sent
    rsp = etree.fromstring(build_response("SubmitRsp", namespace=NS6, version="6.8.0",
                                          transaction_id="s1", message_id="m-1"))
    strictly_in(rsp, NS6)
    assert rsp.findtext(f".//{{{NS6}}}MessageID") == "m-1"
    assert rsp.findtext(f".//{{{NS6}}}MM7Version") == "6.8.0"
    fault = etree.fromstring(build_fault(namespace=NS6, version="6.8.0", transaction_id="s1",
                                         status=2007))
    detail = fault.find(".//detail")
    assert {etree.QName(e).namespace for e in detail.iter() if e is not detail} == {NS6}


def three_attachments(content: str, *, extra: str = "", to: str = f"<Number>{B}</Number>",
                    header_tid: bool = True) -> tuple[bytes, str]:
    """A SubmitReq with three attachments after the envelope: text "B" (Content-Location:
    b.txt), "A" (Content-ID <a>) and "C" (Content-Location: c.txt); the first is what a
    reference that matches nothing falls back to."""
    soap = envelope(submit_body(content=content, extra=extra, to=to))
    if not header_tid:
        soap = soap.replace(f'<TransactionID xmlns="{NS6}" env:mustUnderstand="1">tx-1'
                            "</TransactionID>", "")
    body = (f"--b\r\nContent-Type: text/xml\r\nContent-ID: <soap>\r\n\r\n{soap}\r\n"
            "--b\r\nContent-Type: text/plain\r\nContent-Location: b.txt\r\n\r\nB\r\n"
            "--b\r\nContent-Type: text/plain\r\nContent-ID: <a>\r\n\r\nA\r\n"
            "--b\r\nContent-Type: text/plain\r\nContent-Location: c.txt\r\n\r\nC\r\n--b--\r\n")
    return body.encode(), 'multipart/related; boundary="b"; type="text/xml"; start="<soap>"'


@pytest.mark.parametrize(("href", "data"), [("cid:a", b"A"), ("CID:a", b"A"), ("c.txt", b"C"),
                                            ("cid:none", b"B")])
def test_the_content_is_the_part_its_href_names(href: str, data: bytes) -> None:
    """Content href (TS 23.140 §8.7.2, RFC 2392): a ``cid:`` URL (the scheme in any case)
    names a part by its Content-ID, anything else by its Content-Location; one that names
    no part falls back to the first attachment."""
    req = parse_request(*three_attachments(f'<Content href="{href}"/>'))
    assert [p.data for p in to_message(req).parts] == [data]


def test_submit_fields_and_what_the_parser_says() -> None:
    """MessageClass and Priority reach the envelope; Recipients hold only the address
    elements of §8.7.2 (Number, ShortCode, RFC2822Address; others are no address); a
    request without a TransactionID in the Header is read, with a warning; a Body with no
    MM7 request at all (an empty Body) is refused with 2007 saying so."""
    extra = "<MessageClass>Informational</MessageClass><Priority>High</Priority>"
    to = f"<Number>{B}</Number><RFC2822Address>bob@example.com</RFC2822Address>" \
        "<Extra>not an address</Extra>"
    req = parse_request(*three_attachments('<Content href="cid:a"/>', extra=extra, to=to,
                                         header_tid=False))
    env = to_message(req).envelope
    assert (env.message_class, env.priority) == ("Informational", "High")
    assert req.to == [Address("Number", B), Address("RFC2822Address", "bob@example.com")]
    assert "no TransactionID in the SOAP Header" in req.warnings
    with pytest.raises(Mm7Error) as refused:
        parse_request(envelope("").encode(), "text/xml")
    assert (refused.value.status, refused.value.text) == (2007,
                                                         "the SOAP Body holds no MM7 request")


def test_where_a_request_without_namespaces_is_answered() -> None:
    """A VASP's answer whose elements carry no namespace (a common deviation): the
    namespace is the TransactionID's, and its StatusCode is still read; with no namespace
    anywhere, the default, said in a warning. An envelope that is no XML says which part
    failed (the SOAP envelope)."""
    rsp = "<DeliverRsp><MM7Version>6.8.0</MM7Version><Status><StatusCode>1000</StatusCode>" \
        "</Status></DeliverRsp>"
    req = parse_request(envelope(rsp, ns=NS5).encode(), "text/xml")
    assert (req.namespace, req.status_code) == (NS5, 1000)
    bare = envelope(rsp).replace(f' xmlns="{NS6}"', "")
    req = parse_request(bare.encode(), "text/xml")
    assert req.warnings[0].startswith("no MM7 namespace; answering in http://www.3gpp.org/")
    with pytest.raises(Mm7Error) as refused:
        parse_request(b"<env:Envelope", "text/xml")
    assert refused.value.text.startswith("the SOAP envelope is not well-formed XML")


def test_what_the_mmsc_writes_is_declared_xml_with_its_status() -> None:
    """Every answer starts with the XML declaration; its Status holds the StatusCode (a
    strict VASP reads Status/StatusCode by name); a fault's faultcode is a QName whose
    prefix (env) is declared for the SOAP envelope namespace."""
    body = build_response("SubmitRsp", namespace=NS6, version="6.8.0", transaction_id="s1")
    assert body.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert etree.fromstring(body).findtext(
        f".//{{{NS6}}}Status/{{{NS6}}}StatusCode") == "1000"
    fault = etree.fromstring(build_fault(namespace=NS6, version="6.8.0", transaction_id="s1",
                                         status=2007))
    prefix, _, _ = fault.findtext(".//faultcode").partition(":")
    assert (prefix, fault.nsmap[prefix]) == ("env", ENV)


def test_the_sender_is_the_first_address_element() -> None:
    """SenderAddress (§8.7.2) holds one of Number, ShortCode, RFC2822Address: an element of
    another name before it is passed over; an RFC2822Address is an e-mail originator."""
    for sender, originator in (
            ("<SenderAddress><Extra>x</Extra><ShortCode>36000</ShortCode></SenderAddress>",
             "36000/TYPE=PLMN"),
            ("<SenderAddress><RFC2822Address>news@acme.example</RFC2822Address>"
             "</SenderAddress>", "news@acme.example")):
        body = soap_with_attachments(envelope(submit_body(sender=sender)))
        assert to_message(parse_request(*body)).envelope.originator == originator


def test_the_start_part_is_the_envelope_wherever_it_stands() -> None:
    """SOAP with attachments: the part the ``start`` parameter names is the envelope, even
    when the attachment comes first (some VASP libraries write them in that order); the
    others are the attachments, in their order."""
    soap = b"<env:Envelope xmlns:env='http://schemas.xmlsoap.org/soap/envelope/'/>"
    body = (b"--b\r\nContent-Type: text/plain\r\nContent-ID: <first>\r\n\r\nattachment one\r\n"
            b"--b\r\nContent-Type: text/xml\r\nContent-ID: <soap>\r\n\r\n" + soap + b"\r\n"
            b"--b\r\nContent-Type: text/plain\r\nContent-ID: <last>\r\n\r\nattachment two\r\n"
            b"--b--\r\n")
    envelope, attachments, warnings = split_attachments(
        body, 'multipart/related; boundary="b"; type="text/xml"; start="<soap>"')
    assert envelope == soap and warnings == []
    assert [p["Content-ID"] for p in attachments] == ["<first>", "<last>"]
    envelope, attachments, warnings = split_attachments(
        body, 'multipart/related; boundary="b"; type="text/xml"; start="<nowhere>"')
    assert envelope == b"attachment one"
    assert [p["Content-ID"] for p in attachments] == ["<soap>", "<last>"]
    assert warnings == ["start '<nowhere>' names no part; the first part is the envelope"]



def test_a_timestamp_that_is_a_duration_gives_no_date() -> None:
    """TimeStamp is an xs:dateTime (TS 23.140 §8.7.2); one written as a duration (PT1H)
    cannot be the message's date: the message has none (it is dated at acceptance), and is
    not refused for it."""
    body = envelope(submit_body(extra="<TimeStamp>PT1H</TimeStamp>"))
    assert to_message(parse_request(*soap_with_attachments(body))).envelope.date is None
    body = envelope(submit_body(extra="<TimeStamp>2021-03-04T05:06:07Z</TimeStamp>"))
    assert to_message(parse_request(*soap_with_attachments(body))).envelope.date == \
        datetime(2021, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
