"""The MM7 codec (sans-IO): SOAP 1.1 with attachments in, typed requests out; responses and
faults back, in the request's namespace and MM7Version (3GPP TS 23.140 §8.7, §9.2).

Reading is lenient where real VASPs and MMSCs deviate (see the quirks in the tests): body
elements with or without a namespace or prefix, bare-text addresses, Content-IDs without
angle brackets, ``cid:`` references with spaces or matching no part, a ``multipart/related``
Content-Type over a plain XML body. What cannot be read raises :class:`Mm7Error` with the
status to answer (2007 Message format corrupt, 4002 Unsupported version, ...).
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.message import Message as MimeEntity
from xml.sax.saxutils import unescape

from lxml import etree

from mmsc import xmlsafe
from mmsc.message import Envelope, Message, strip_brackets
from mmsc.mime import content_from_mime, content_to_mime, keep_received
from mmsc.mime_parse import damage, parse_entity
from mmsc.pdu import MessageClass

from .status import SUCCESS, fault_code, status_text

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS_PREFIX = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/"
DEFAULT_NAMESPACE = NS_PREFIX + "REL-6-MM7-1-4"
#: MM7Version to answer with when a request names none, by release.
DEFAULT_VERSIONS = {"REL-5": "5.3.0", "REL-6": "6.8.0"}
MAX_SOAP = 512 * 1024


@dataclass(frozen=True)
class ReplyTo:
    """What an answer echoes of its request (TS 23.140 §8.7: the TransactionID, and the
    namespace and MM7Version of the release the VASP speaks), faults included."""

    namespace: str = DEFAULT_NAMESPACE
    version: str = DEFAULT_VERSIONS["REL-6"]
    transaction_id: str = ""


class Mm7Error(ValueError):
    """A request mmsc cannot take: ``status`` is the MM7 StatusCode to answer with,
    ``reply_to`` what the fault echoes (set by :func:`parse_request`)."""

    def __init__(self, status: int, text: str, reply_to: ReplyTo | None = None) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.reply_to = reply_to


@dataclass(frozen=True)
class Address:
    """An MM7 address (§8.7.1 "Recipients"): Number, ShortCode or RFC2822Address."""

    kind: str
    value: str

    @property
    def mms(self) -> str:
        """As an MMS address: numbers and short codes are PLMN addresses."""
        if self.kind == "RFC2822Address" or "/TYPE=" in self.value.upper():
            return self.value
        return f"{self.value}/TYPE=PLMN"


@dataclass
class Mm7Request:
    """One request as read: the operation (``SubmitReq``, ...), where to answer (namespace,
    version, TransactionID), its simple fields by element name, addresses, and content."""

    operation: str
    namespace: str
    version: str
    transaction_id: str
    fields: dict[str, str] = field(default_factory=dict)
    vasp_id: str | None = None
    vas_id: str | None = None
    sender: Address | None = None
    recipient: Address | None = None  # of a DeliveryReportReq or ReadReplyReq
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    bcc: list[Address] = field(default_factory=list)
    content_href: str | None = None
    content: Message | None = None
    status_code: int | None = None  # of a response or fault
    warnings: list[str] = field(default_factory=list)

    @property
    def reply_to(self) -> ReplyTo:
        return ReplyTo(self.namespace, self.version, self.transaction_id)


# -- reading -----------------------------------------------------------------------------------

def _cid(reference: str) -> str:
    """A Content-ID or ``cid:`` reference compared loosely: no scheme, spaces, brackets."""
    text = reference.strip()
    if text[:4].lower() == "cid:":
        text = text[4:]
    return strip_brackets(text.strip())


def split_attachments(body: bytes, content_type: str) -> tuple[bytes, list[MimeEntity],
                                                                list[str]]:
    """The SOAP envelope's octets and the other MIME parts of an MM7 HTTP body (SOAP with
    attachments: the ``start`` part is the envelope, else the first part)."""
    warnings: list[str] = []
    if not content_type.lower().startswith("multipart/"):
        return body, [], warnings
    entity = parse_entity(b"Content-Type: " + content_type.encode("latin-1", "replace")
                                + b"\r\n\r\n" + body)
    parts = entity.get_payload() if entity.is_multipart() else None
    if not parts or not isinstance(parts, list):
        if body.lstrip()[:1] == b"<":
            warnings.append("multipart Content-Type over a plain XML body")
            return body, [], warnings
        raise Mm7Error(2007, "multipart body without parts")
    broken = damage(entity)
    if broken:
        raise Mm7Error(2007, f"the MIME body is damaged: {broken}")
    start = entity.get_param("start")
    root = parts[0]
    if isinstance(start, str) and start.strip():
        found = [p for p in parts if _cid(str(p.get("Content-ID", ""))) == _cid(start)]
        if found:
            root = found[0]
        else:
            warnings.append(f"start {start!r} names no part; the first part is the envelope")
    soap = root.get_payload(decode=True) or b""
    return soap, [p for p in parts if p is not root], warnings


def _children(element: etree._Element) -> list[etree._Element]:
    return [c for c in element if isinstance(c.tag, str)]


def _find(element: etree._Element | None, name: str) -> etree._Element | None:
    if element is None:
        return None
    return next((c for c in _children(element) if xmlsafe.local_name(c) == name), None)


def _text(element: etree._Element | None) -> str | None:
    if element is None or element.text is None:
        return None
    return element.text.strip()


def _address(element: etree._Element) -> Address | None:
    """Number / ShortCode / RFC2822Address child, or bare text (a common deviation)."""
    for child in _children(element):
        name = xmlsafe.local_name(child)
        if name in ("Number", "ShortCode", "RFC2822Address") and _text(child):
            return Address(name, _text(child) or "")
    text = _text(element)
    if text:
        return Address("RFC2822Address" if "@" in text else "Number", text)
    return None


def _addresses(element: etree._Element | None) -> list[Address]:
    if element is None:
        return []
    return [Address(name, text) for c in _children(element)
            if (name := xmlsafe.local_name(c)) in ("Number", "ShortCode", "RFC2822Address")
            and (text := _text(c))]


#: Namespace declarations; some generators wrap long namespace URIs over lines.
_XMLNS = re.compile(rb'xmlns(?::[\w.-]+)?\s*=\s*"[^"]*"')


def parse_request(body: bytes, content_type: str = "text/xml", *,
                  max_soap: int = MAX_SOAP) -> Mm7Request:
    """Read an MM7 request (the HTTP body and its Content-Type). An :class:`Mm7Error` says
    where to answer: the request's namespace, version and TransactionID when its envelope
    could be read, else what :func:`scan_reply_to` finds in the body."""
    try:
        soap, attachments, warnings = split_attachments(body, content_type)
        request, op = _read_envelope(soap, max_soap, warnings)
    except Mm7Error as exc:
        exc.reply_to = exc.reply_to or scan_reply_to(body)
        raise
    _read_operation(request, op, attachments)  # reads what is there; refuses nothing
    return request


def _read_envelope(soap: bytes, max_soap: int,
                   warnings: list[str]) -> tuple[Mm7Request, etree._Element]:
    """The request as far as the SOAP envelope says where to answer, and its operation's
    element."""
    soap = _XMLNS.sub(lambda m: re.sub(rb"\s+", b"", m.group(0)), soap)
    try:
        root = xmlsafe.parse(soap, max_size=max_soap, what="the SOAP envelope")
    except xmlsafe.XmlError as exc:
        raise Mm7Error(2007, str(exc)) from None
    if xmlsafe.local_name(root) != "Envelope":
        raise Mm7Error(2007, "the XML is not a SOAP Envelope")
    header, body_element = _find(root, "Header"), _find(root, "Body")
    operations = _children(body_element) if body_element is not None else []
    if not operations:
        raise Mm7Error(2007, "the SOAP Body holds no MM7 request")
    op = operations[0]
    tid_element = _find(header, "TransactionID")
    namespace = etree.QName(op).namespace or (
        etree.QName(tid_element).namespace if tid_element is not None else None)
    if namespace is None:
        warnings.append("no MM7 namespace; answering in " + DEFAULT_NAMESPACE)
        namespace = DEFAULT_NAMESPACE
    fields = {xmlsafe.local_name(c): _text(c) or "" for c in _children(op) if not _children(c)}
    version = fields.get("MM7Version") or _default_version(namespace)
    request = Mm7Request(xmlsafe.local_name(op), namespace, version, _text(tid_element) or "",
                         fields=fields, warnings=warnings)
    if not request.transaction_id:
        warnings.append("no TransactionID in the SOAP Header")
    if not _VERSION.fullmatch(version):  # answered in the version mmsc speaks in that release
        raise Mm7Error(4002, f"MM7Version {version!r} is not supported", ReplyTo(
            namespace, _default_version(namespace), request.transaction_id))
    return request, op


def _read_operation(request: Mm7Request, op: etree._Element,
                    attachments: list[MimeEntity]) -> None:
    """The status, addresses and content of the operation's element into ``request``."""
    code = op.find(".//{*}StatusCode")
    if code is None:
        code = op.find(".//StatusCode")
    if code is not None and (_text(code) or "").isdigit():
        request.status_code = int(_text(code) or 0)
    sender_id = _find(op, "SenderIdentification")
    request.vasp_id = _text(_find(sender_id, "VASPID"))
    request.vas_id = _text(_find(sender_id, "VASID"))
    sender = _find(sender_id, "SenderAddress") if sender_id is not None else _find(op, "Sender")
    request.sender = _address(sender) if sender is not None else None
    recipient = _find(op, "Recipient")
    request.recipient = _address(recipient) if recipient is not None else None
    recipients = _find(op, "Recipients")
    request.to = _addresses(_find(recipients, "To"))
    request.cc = _addresses(_find(recipients, "Cc"))
    request.bcc = _addresses(_find(recipients, "Bcc"))
    content = _find(op, "Content")
    if content is not None:
        request.content_href = next((v for k, v in content.attrib.items()
                                     if etree.QName(k).localname == "href"), None)
    if attachments:
        part = _content_part(request, attachments)
        request.content = content_from_mime(part)
        keep_received(part, request.content)
        request.warnings += request.content.warnings


_VERSION = re.compile(r"[5-9]\.\d+\.\d+")
#: What a lenient scan looks for in a body that does not parse: namespace declarations (of
#: 3GPP's schema, possibly wrapped over lines), the TransactionID, the MM7Version.
_SCAN_XMLNS = re.compile(rb'xmlns(?::[\w.-]+)?\s*=\s*["\']([^"\'<>]*)["\']')
_SCAN_TID = re.compile(rb"<(?:[\w.-]+:)?TransactionID(?:\s[^>]*)?>([^<]{1,256})<")
_SCAN_VERSION = re.compile(rb"<(?:[\w.-]+:)?MM7Version\s*>\s*([5-9]\.\d{1,3}\.\d{1,3})\s*<")


def scan_reply_to(body: bytes) -> ReplyTo:
    """Where to answer a request whose envelope cannot be read (cut short, not XML, not
    authenticated yet): the first 3GPP MM7 namespace declared, the first TransactionID
    and MM7Version elements, found by pattern; the defaults for what is not found."""
    namespace = next((uri for uri in (re.sub(r"\s+", "", m.group(1).decode("latin-1"))
                                      for m in _SCAN_XMLNS.finditer(body))
                      if uri.startswith(NS_PREFIX) and re.fullmatch(r"[\w.-]+",
                                                                     uri[len(NS_PREFIX):])),
                     DEFAULT_NAMESPACE)
    found = _SCAN_TID.search(body)
    tid = unescape(found.group(1).decode("utf-8", "replace").strip()) if found else ""
    version = _SCAN_VERSION.search(body)
    return ReplyTo(namespace,
                   version.group(1).decode() if version else _default_version(namespace),
                   tid if tid.isprintable() else "")


def _default_version(namespace: str) -> str:
    release = namespace.removeprefix(NS_PREFIX)[:5]
    return DEFAULT_VERSIONS.get(release, "6.8.0")


def _content_part(request: Mm7Request, attachments: list[MimeEntity]) -> MimeEntity:
    """The attachment ``Content href`` names, else the first one (some VASPs send no
    ``Content`` element, others a reference that matches nothing)."""
    if request.content_href:
        wanted = _cid(request.content_href)
        for part in attachments:
            if _cid(str(part.get("Content-ID", ""))) == wanted or \
                    str(part.get("Content-Location", "")).strip() == wanted:
                return part
        request.warnings.append(f"Content href {request.content_href!r} names no part; "
                                "the first attachment is the content")
    return attachments[0]


def _boolean(text: str | None) -> bool | None:
    if text is None:
        return None
    return text.strip().lower() in ("true", "1", "yes")


_DURATION = re.compile(r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?"
                       r"(?:(\d+(?:\.\d+)?)S)?)?")


def parse_time(text: str | None) -> datetime | timedelta | None:
    """An xs:dateTime (absolute) or an xs:duration (relative), as TS 23.140 §8.7 allows for
    ExpiryDate and EarliestDeliveryTime. A date without a zone is taken as UTC."""
    if not text:
        return None
    value = text.strip()
    match = _DURATION.fullmatch(value)
    if match and value != "P":
        y, mo, d, h, mi, s = (float(g) if g else 0.0 for g in match.groups())
        return timedelta(days=y * 365 + mo * 30 + d, hours=h, minutes=mi, seconds=s)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Mm7Error(2007, f"not a date or duration: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def message_class(text: str | None) -> str | None:
    """MessageClass as the schema spells it (TS 23.140 §8.7.2: Personal, Informational,
    Advertisement, Auto; any case taken); any other value is an element whose value is
    inappropriate, status 2007."""
    if text is None or not text.strip():
        return None
    try:
        return MessageClass.from_label(text).label
    except ValueError:
        raise Mm7Error(2007, f"MessageClass {text.strip()!r} is not one of "
                             f"{', '.join(c.label for c in MessageClass)}") from None


def to_message(request: Mm7Request) -> Message:
    """The MM of a SubmitReq (or DeliverReq): its envelope from the SOAP elements, its parts
    from the attachment."""
    f = request.fields
    content = request.content or Message()
    date = parse_time(f.get("TimeStamp"))
    env = Envelope(
        transaction_id=request.transaction_id or None,
        originator=request.sender.mms if request.sender else None,
        to=[a.mms for a in request.to], cc=[a.mms for a in request.cc],
        bcc=[a.mms for a in request.bcc], subject=f.get("Subject"),
        date=date if isinstance(date, datetime) else None,
        expiry=parse_time(f.get("ExpiryDate")),
        earliest_delivery=parse_time(f.get("EarliestDeliveryTime")),
        message_class=message_class(f.get("MessageClass")), priority=f.get("Priority"),
        delivery_report=_boolean(f.get("DeliveryReport")),
        read_report=_boolean(f.get("ReadReply")), vasp_id=request.vasp_id,
        vas_id=request.vas_id, service_code=f.get("ServiceCode"), linked_id=f.get("LinkedID"))
    return Message(env, content.parts, content.multipart, content.start,
                   warnings=[*request.warnings], received=content.received)


# -- writing -----------------------------------------------------------------------------------

def _envelope(transaction_id: str, namespace: str) -> tuple[etree._Element, etree._Element]:
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"env": SOAP_ENV})
    header = etree.SubElement(env, f"{{{SOAP_ENV}}}Header")
    tid = etree.SubElement(header, f"{{{namespace}}}TransactionID", nsmap={None: namespace})
    tid.set(f"{{{SOAP_ENV}}}mustUnderstand", "1")
    tid.text = transaction_id
    return env, etree.SubElement(env, f"{{{SOAP_ENV}}}Body")


def _add(parent: etree._Element, namespace: str, name: str,
         text: str | None = None) -> etree._Element:
    child = etree.SubElement(parent, f"{{{namespace}}}{name}")
    if text is not None:
        child.text = text
    return child


def _status(parent: etree._Element, namespace: str, code: int, text: str | None) -> None:
    status = _add(parent, namespace, "Status")
    _add(status, namespace, "StatusCode", str(code))
    _add(status, namespace, "StatusText", text or status_text(code))


def _serialise(env: etree._Element) -> bytes:
    return etree.tostring(env, xml_declaration=True, encoding="utf-8")


def build_response(operation: str, *, namespace: str, version: str, transaction_id: str,
                   status: int = SUCCESS, text: str | None = None,
                   message_id: str | None = None) -> bytes:
    """SubmitRsp, CancelRsp, ReplaceRsp, DeliverRsp, DeliveryReportRsp, ReadReplyRsp
    (§8.7.x): MM7Version, Status, and MessageID for a SubmitRsp."""
    env, body = _envelope(transaction_id, namespace)
    rsp = etree.SubElement(body, f"{{{namespace}}}{operation}", nsmap={None: namespace})
    _add(rsp, namespace, "MM7Version", version)
    _status(rsp, namespace, status, text)
    if message_id is not None:
        _add(rsp, namespace, "MessageID", message_id)
    return _serialise(env)


def build_fault(*, namespace: str, version: str, transaction_id: str, status: int,
                text: str | None = None, detail: str = "RSErrorRsp") -> bytes:
    """A SOAP Fault whose detail is an RSErrorRsp (errors of the MMSC) or VASPErrorRsp."""
    env, body = _envelope(transaction_id, namespace)
    fault = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = f"env:{fault_code(status)}"
    etree.SubElement(fault, "faultstring").text = text or status_text(status)
    holder = etree.SubElement(fault, "detail")
    rsp = etree.SubElement(holder, f"{{{namespace}}}{detail}", nsmap={None: namespace})
    _add(rsp, namespace, "MM7Version", version)
    _status(rsp, namespace, status, text)
    return _serialise(env)


def build_report(*, kind: str = "delivery", namespace: str, version: str, transaction_id: str,
                 message_id: str, recipient: str, sender: str | None, status: str,
                 date: datetime, text: str | None = None) -> bytes:
    """A report from the MMSC to a VASP: DeliveryReportReq (§8.7.8, MMStatus Retrieved,
    Rejected, Deferred, Expired, Forwarded, Indeterminate, Unrecognised) or, for ``kind``
    "read", ReadReplyReq (§8.7.9, MMStatus Read or Deleted); both carry MessageID,
    Recipient, Sender and Date."""
    operation = "ReadReplyReq" if kind == "read" else "DeliveryReportReq"
    env, body = _envelope(transaction_id, namespace)
    req = etree.SubElement(body, f"{{{namespace}}}{operation}", nsmap={None: namespace})
    _add(req, namespace, "MM7Version", version)
    _add(req, namespace, "MessageID", message_id)
    _recipient_address(_add(req, namespace, "Recipient"), namespace, recipient)
    if sender:
        _recipient_address(_add(req, namespace, "Sender"), namespace, sender)
    _add(req, namespace, "TimeStamp" if kind == "read" else "Date",
         date.astimezone(timezone.utc).isoformat(timespec="seconds"))
    _add(req, namespace, "MMStatus", status)
    if text:
        _add(req, namespace, "StatusText", text)
    return _serialise(env)


def _recipient_address(parent: etree._Element, namespace: str, address: str) -> None:
    """An MMS address as Number, ShortCode (digits only, at most 8) or RFC2822Address."""
    value = address.removesuffix("/TYPE=PLMN")
    if "@" in value:
        kind = "RFC2822Address"
    elif value.isdigit() and len(value) <= 8:
        kind = "ShortCode"
    else:
        kind = "Number"
    _add(parent, namespace, kind, value)


def build_submit(*, namespace: str, version: str, transaction_id: str, vasp_id: str | None,
                 vas_id: str | None, sender: str | None, message: Message,
                 content_id: str = "mm7-content") -> tuple[bytes, str]:
    """A SubmitReq with its content as a SOAP-with-attachments body (§8.7.2, §9.2); returns
    the body and its Content-Type. Recipients, subject and report requests come from the
    message's envelope."""
    env_xml, body = _envelope(transaction_id, namespace)
    req = etree.SubElement(body, f"{{{namespace}}}SubmitReq", nsmap={None: namespace})
    _add(req, namespace, "MM7Version", version)
    ident = _add(req, namespace, "SenderIdentification")
    if vasp_id:
        _add(ident, namespace, "VASPID", vasp_id)
    if vas_id:
        _add(ident, namespace, "VASID", vas_id)
    if sender:
        _recipient_address(_add(ident, namespace, "SenderAddress"), namespace, sender)
    envelope = message.envelope
    _recipients_element(req, namespace, envelope)
    if envelope.delivery_report is not None:
        _add(req, namespace, "DeliveryReport", "true" if envelope.delivery_report else "false")
    if envelope.read_report is not None:
        _add(req, namespace, "ReadReply", "true" if envelope.read_report else "false")
    if envelope.subject:
        _add(req, namespace, "Subject", envelope.subject)
    return _with_content(env_xml, req, namespace, message, content_id)


def _with_content(env_xml: etree._Element, request: etree._Element, namespace: str,
                  message: Message, content_id: str) -> tuple[bytes, str]:
    """The ``Content href`` element, then the envelope and the content as a SOAP-with-
    attachments body (§9.2: multipart/related, the envelope first); body and Content-Type."""
    _add(request, namespace, "Content").set("href", f"cid:{content_id}")
    content = content_to_mime(message)
    boundary = f"=_mm7_{secrets.token_hex(12)}"
    payload = b"".join([
        f"--{boundary}\r\nContent-Type: text/xml; charset=utf-8\r\n"
        "Content-ID: <mm7-soap>\r\n\r\n".encode(), _serialise(env_xml),
        f"\r\n--{boundary}\r\nContent-Type: {content.content_type}\r\n"
        f"Content-ID: <{content_id}>\r\n\r\n".encode(), content.body,
        f"\r\n--{boundary}--\r\n".encode()])
    content_type = (f'multipart/related; boundary="{boundary}"; type="text/xml"; '
                    'start="<mm7-soap>"')
    return payload, content_type


def build_deliver(*, namespace: str, version: str, transaction_id: str, message: Message,
                  content_id: str = "mm7-content") -> tuple[bytes, str]:
    """A DeliverReq (§8.7.3): a message from a handset to a VASP's short code, with Sender,
    Recipients, TimeStamp, Priority, Subject and the content as an attachment."""
    env_xml, body = _envelope(transaction_id, namespace)
    req = etree.SubElement(body, f"{{{namespace}}}DeliverReq", nsmap={None: namespace})
    _add(req, namespace, "MM7Version", version)
    envelope = message.envelope
    if envelope.linked_id:
        _add(req, namespace, "LinkedID", envelope.linked_id)
    if envelope.originator:
        _recipient_address(_add(req, namespace, "Sender"), namespace, envelope.originator)
    _recipients_element(req, namespace, envelope)
    if envelope.date:
        _add(req, namespace, "TimeStamp",
             envelope.date.astimezone(timezone.utc).isoformat(timespec="seconds"))
    if envelope.priority:
        _add(req, namespace, "Priority", envelope.priority)
    if envelope.subject:
        _add(req, namespace, "Subject", envelope.subject)
    return _with_content(env_xml, req, namespace, message, content_id)


def _recipients_element(parent: etree._Element, namespace: str, envelope: Envelope) -> None:
    recipients = _add(parent, namespace, "Recipients")
    for kind, addresses in (("To", envelope.to), ("Cc", envelope.cc), ("Bcc", envelope.bcc)):
        if addresses:
            holder = _add(recipients, namespace, kind)
            for address in addresses:
                _recipient_address(holder, namespace, str(address))
