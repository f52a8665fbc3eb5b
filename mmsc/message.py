"""The multimedia message (MM) of 3GPP TS 23.140 §7.1: one envelope and ordered content parts.

Every interface sees the same :class:`Message`: MM7 and MM4 carry it as MIME
(:mod:`mmsc.mime`), MM1 as the MMS binary encapsulation (:mod:`mmsc.mms_body`), and the object
store keeps it as MIME. Part data are the octets as they travelled, in the part's declared
charset: conversions never re-encode text, so a UTF-16 or Shift_JIS part stays byte-exact.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from mmsc.smil import SmilError, complete_document
from wap_push.wsp import python_codec

#: The media type of the SMIL presentation (OMA-MMS-CONF §8.1: ``application/smil``).
SMIL_TYPE = "application/smil"
#: Multipart kinds of MM content (OMA-MMS-ENC §7.3.11 / RFC 2387): related when a SMIL
#: presentation is the root, mixed when the parts stand alone.
RELATED = "related"
MIXED = "mixed"
MULTIPART_KINDS = (RELATED, MIXED, "alternative")

#: An absolute date, or an interval from submission (TS 23.140 §8.1.4.2 Expiry,
#: EarliestDeliveryTime: "absolute or relative").
TimeSpec = datetime | timedelta


@dataclass
class MessagePart:
    """One content part (TS 23.140 §7.1.1): media type, parameters, identifiers, data.

    ``content_type`` is the media type alone (``image/jpeg``); ``params`` holds its other
    parameters (``name``, ...) but not ``charset``, which is the ``charset`` attribute (an
    IANA name as written, or None). ``content_id`` is without the angle brackets of RFC 2392.
    """

    content_type: str
    data: bytes = b""
    charset: str | None = None
    content_id: str | None = None
    content_location: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    disposition: str | None = None
    filename: str | None = None

    @classmethod
    def from_text(cls, text: str, charset: str = "utf-8", content_type: str = "text/plain",
             **kwargs: object) -> MessagePart:
        """A text part whose data is ``text`` encoded in ``charset``."""
        codec = python_codec(charset)
        if codec is None:
            raise LookupError(f"unknown charset {charset!r}")
        return cls(content_type, text.encode(codec), charset=charset, **kwargs)  # type: ignore[arg-type]

    @property
    def media_type(self) -> str:
        return self.content_type.lower()

    @property
    def is_text(self) -> bool:
        return self.media_type.startswith("text/")

    @property
    def is_smil(self) -> bool:
        return self.media_type == SMIL_TYPE

    def decoded_text(self) -> tuple[str, list[str]]:
        """The text of the part and any warnings. RFC 2046 §4.1.2: no charset means US-ASCII;
        handsets omit it for UTF-8, so undecodable octets fall back to UTF-8 with a warning
        rather than failing (an unknown charset likewise)."""
        warnings: list[str] = []
        data = self.data
        codec = python_codec(self.charset) if self.charset else "ascii"
        if codec is None:
            warnings.append(f"part {self.label}: unknown charset {self.charset!r}, read as UTF-8")
            codec = "utf-8"
        try:
            if codec in ("utf-8", "ascii") and data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8):]
                codec = "utf-8"
            return data.decode(codec), warnings
        except UnicodeDecodeError:
            if codec != "utf-8":
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    pass
                else:
                    warnings.append(f"part {self.label}: not {self.charset or 'us-ascii'}, "
                                    "read as UTF-8")
                    return text, warnings
            warnings.append(f"part {self.label}: octets invalid in {codec}, replaced")
            return data.decode(codec, "replace"), warnings

    @property
    def label(self) -> str:
        """How logs name the part: its Content-ID, else its Content-Location, else its type."""
        return self.content_id or self.content_location or self.content_type


@dataclass
class Envelope:
    """The MM's information elements other than content (TS 23.140 §8.1.4 MM7_submit.REQ and
    §8.4.1 MM4_forward.REQ; OMA-MMS-ENC §6.1 m-send-req). Addresses are written as MMS
    addresses: ``+33600000001/TYPE=PLMN``, ``user@example.com``, ``1.2.3.4/TYPE=IPv4``.
    ``message_class``, ``priority``, ``sender_visibility`` and ``reply_charging`` hold the
    labels of OMA-MMS-ENC (``Personal``, ``High``, ``Hide``, ``Requested``)."""

    message_id: str | None = None
    transaction_id: str | None = None
    originator: str | None = None
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    subject: str | None = None
    date: datetime | None = None
    expiry: TimeSpec | None = None
    earliest_delivery: TimeSpec | None = None
    message_class: str | None = None
    priority: str | None = None
    delivery_report: bool | None = None
    read_report: bool | None = None
    sender_visibility: str | None = None
    vasp_id: str | None = None
    vas_id: str | None = None
    service_code: str | None = None
    linked_id: str | None = None
    reply_charging: str | None = None
    reply_charging_deadline: TimeSpec | None = None
    reply_charging_size: int | None = None
    reply_charging_id: str | None = None
    #: Headers no field above holds, as (name, text), kept in order for round trips.
    extra_headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def recipients(self) -> list[str]:
        return [*self.to, *self.cc, *self.bcc]


@dataclass(frozen=True)
class MimeContent:
    """The content of an MM as one MIME entity: its Content-Type value (with the boundary)
    and its body. MM7 carries it as one attachment of the SOAP message."""

    content_type: str
    body: bytes


@dataclass(frozen=True)
class ReceivedContent:
    """The content of a message as a peer sent it, with the :attr:`Message.shape` read from
    it. Storing these octets instead of encoding the parts again gives the same message
    back when it is read, as long as the message still has that shape
    (:func:`mmsc.mime.to_mime` checks)."""

    mime: MimeContent
    shape: tuple[str, str | None, tuple[MessagePart, ...]]


@dataclass
class Message:
    """A multimedia message: envelope, ordered parts, and how the parts hang together.

    ``multipart`` is ``related`` (with ``start``, the Content-ID of the root, normally the
    SMIL part) or ``mixed``. ``warnings`` collects what a conversion tolerated (an unknown
    charset, a broken encoded-word, a missing root) so that ingest can log it.
    """

    envelope: Envelope = field(default_factory=Envelope)
    parts: list[MessagePart] = field(default_factory=list)
    multipart: str = MIXED
    start: str | None = None
    warnings: list[str] = field(default_factory=list, compare=False)
    #: The content's MIME as it came, when it may be stored as it came (see
    #: :class:`ReceivedContent`).
    received: ReceivedContent | None = field(default=None, compare=False, repr=False)

    @property
    def shape(self) -> tuple[str, str | None, tuple[MessagePart, ...]]:
        """What a MIME rendering of the content stands for: the multipart kind, the root's
        Content-ID and the parts in order."""
        return self.multipart, self.start, tuple(self.parts)

    @property
    def smil(self) -> MessagePart | None:
        """The presentation: the ``start`` part when it is SMIL, else the first SMIL part."""
        root = self.root
        if root is not None and root.is_smil:
            return root
        return next((p for p in self.parts if p.is_smil), None)

    @property
    def root(self) -> MessagePart | None:
        """The root part of a multipart/related (RFC 2387 §3.2: ``start``, else the first)."""
        if not self.parts:
            return None
        if self.start is not None:
            found = next((p for p in self.parts if p.content_id == self.start), None)
            if found is not None:
                return found
        return self.parts[0]

    @property
    def size(self) -> int:
        """Octets of content (the MM size of TS 23.140 §8.1.4.2 counts the content)."""
        return sum(len(p.data) for p in self.parts)

    def root_first(self) -> Message:
        """The same message with its root part first, as the object store keeps it."""
        root = self.root
        if root is None or self.parts[0] is root:
            return self
        return replace(self, parts=[root, *(p for p in self.parts if p is not root)])

    def with_every_part_shown(self) -> Message:
        """The message whose SMIL shows every image, audio, video and text part, as phones
        show them (:func:`mmsc.smil.complete_document`; a part it must name and that has
        neither Content-ID nor Content-Location gets a Content-ID, :func:`referable`).
        The message itself when its SMIL already shows them all, or it has none, or one
        that cannot be read (a phone then presents the parts its own way)."""
        smil = self.smil
        if smil is None:
            return self
        parts = referable(self.parts)
        try:
            data = complete_document(smil.data, parts)
        except SmilError:
            return self
        if data is smil.data:
            return self
        index = next(i for i, p in enumerate(self.parts) if p is smil)
        parts[index] = replace(smil, data=data, charset="utf-8" if smil.charset else None)
        return replace(self, parts=parts)


def referable(parts: list[MessagePart]) -> list[MessagePart]:
    """The parts, each that has neither Content-ID nor Content-Location replaced by a copy
    with the Content-ID ``part<N>`` (N its place from 1, then a suffix while another part
    has that Content-ID), so that SMIL can name it (RFC 2392)."""
    taken = {p.content_id for p in parts if p.content_id}
    named = []
    for n, part in enumerate(parts, start=1):
        if part.content_id or part.content_location:
            named.append(part)
            continue
        content_id, suffix = f"part{n}", 1
        while content_id in taken:
            suffix += 1
            content_id = f"part{n}-{suffix}"
        taken.add(content_id)
        named.append(replace(part, content_id=content_id))
    return named


def strip_brackets(content_id: str) -> str:
    """A Content-ID without its RFC 2392 angle brackets (handsets send both forms)."""
    text = content_id.strip()
    if text.startswith("<") and text.endswith(">"):
        return text[1:-1].strip()
    return text
