"""MM3 (3GPP TS 23.140 §6.9): an MM as an ordinary e-mail and an e-mail as an MM. Sans-IO.

Out: From the sender's number at the MMSC's domain, the Subject, each text part as
text/plain, each media part as an attachment, the SMIL presentation dropped (mail readers
do not play it). In: the text/plain body (else the text/html one, as plain text) and the
attachments, as a multipart/mixed MM.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
from datetime import datetime, timezone
from email.message import EmailMessage
from html.parser import HTMLParser

from mmsc.message import Envelope, Message, MessagePart

from .codec import local_address


class Mm3Error(ValueError):
    """An e-mail that cannot become an MMS (no sender, nothing to deliver)."""


def to_email(message: Message, *, sender: str, recipient: str, message_id: str,
             domain: str) -> bytes:
    """The MM as a MIME e-mail from ``sender`` (an e-mail address) to ``recipient``."""
    mail = EmailMessage(policy=email.policy.SMTP)
    mail["From"] = sender
    mail["To"] = recipient
    if message.envelope.subject:
        mail["Subject"] = message.envelope.subject
    mail["Date"] = email.utils.format_datetime(message.envelope.date
                                               or datetime.now(timezone.utc))
    mail["Message-ID"] = f"<{message_id}@{domain}>"
    texts = [p for p in message.parts if p.is_text]
    media = [p for p in message.parts if not p.is_text and not p.is_smil]
    body = "\n\n".join(p.decoded_text()[0] for p in texts)
    mail.set_content(body or "")
    for n, part in enumerate(media, start=1):
        maintype, _, subtype = part.media_type.partition("/")
        name = part.filename or part.content_location or part.content_id or f"part{n}"
        mail.add_attachment(bytes(part.data), maintype=maintype or "application",
                            subtype=subtype or "octet-stream", filename=name)
    return mail.as_bytes()


def email_sender(address: str) -> str:
    """The e-mail address of an MMS sender: a number at the MMSC's domain is built by the
    caller; this gives the number part (``+336.../TYPE=PLMN`` → ``+336...``)."""
    text = local_address(address)
    return text[: -len("/TYPE=PLMN")] if text.upper().endswith("/TYPE=PLMN") else text


def from_email(data: bytes, recipients: list[str]) -> Message:
    """The MM of an e-mail for ``recipients`` (MMS addresses): the body as text, the
    attachments as parts, multipart/mixed. Raises :class:`Mm3Error` when it has no sender
    or nothing to deliver."""
    mail = email.message_from_bytes(data, policy=email.policy.default)
    if not isinstance(mail, EmailMessage):
        raise Mm3Error("not an e-mail")
    try:
        senders = email.utils.getaddresses(mail.get_all("From") or [])
        subject = str(mail["Subject"]) if mail["Subject"] is not None else None
    except (ValueError, TypeError, IndexError) as exc:
        raise Mm3Error(f"unreadable headers: {exc}") from None
    sender = next((address for _name, address in senders if "@" in address), None)
    if sender is None:
        raise Mm3Error("no From address")
    parts: list[MessagePart] = []
    body = mail.get_body(preferencelist=("plain", "html"))
    if body is not None:
        text = body.get_content()
        if body.get_content_subtype() == "html":
            text = html_text(text)
        if text.strip():
            parts.append(MessagePart.from_text(text.strip(), content_id="text"))
    for n, attachment in enumerate(mail.iter_attachments() if mail.is_multipart() else (),
                                   start=1):
        data = attachment.get_payload(decode=True) or b""
        name = attachment.get_filename()
        charset = attachment.get_content_charset() if attachment.get_content_maintype() \
            == "text" else None
        parts.append(MessagePart(attachment.get_content_type(), data, charset=charset,
                                 content_id=f"att{n}", content_location=name,
                                 filename=name))
    if not parts:
        raise Mm3Error("nothing to deliver: no text and no attachment")
    date = None
    if mail["Date"] is not None:
        try:
            date = email.utils.parsedate_to_datetime(str(mail["Date"]))
        except (TypeError, ValueError):
            date = None
    return Message(Envelope(originator=sender, to=list(recipients), subject=subject,
                            date=date), parts)


class _Text(HTMLParser):
    """The text of an HTML document: no tags, scripts or styles; a line per block."""

    _BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:  # type: ignore[type-arg]
        if tag in ("script", "style"):
            self._hidden += 1
        elif tag in self._BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.chunks.append(data)


def html_text(html: str) -> str:
    """The text an HTML body shows, lines kept, spaces collapsed."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.chunks).splitlines())
    return "\n".join(line for line in lines if line)
