"""What the engine sends to phones, built as octets or text (pure functions, no I/O):
M-Notification.ind, M-Delivery.ind and M-Read-Orig.ind in WAP pushes, and the text of the
web-link SMS for phones without MMS."""

from __future__ import annotations

from datetime import datetime, timezone

from wap_push.push import encode_push
from wap_push.sms import DCS_UCS2, plan_text, segment_push, split_text
from wap_push.wsp import EncodedString

from mmsc.message import Message
from mmsc.mms_body import to_pdu
from mmsc.pdu import MessageClass, MessageType, MmsPdu, ReadStatus, Status, encode

#: User data of one push segment (UDH included) that mmsc aims for; a notification that
#: does not fit loses its subject, then its sender (OMA-MMS-ENC §6.2: both are optional).
ONE_SEGMENT = 128


def plmn_number(address: str) -> str | None:
    """The phone number of an MMS PLMN address (``+33600000001/TYPE=PLMN`` → ``+33600000001``),
    or of a bare number; None for e-mail and other addresses (OMA-MMS-ENC §8)."""
    text = str(address).strip()
    if text.upper().endswith("/TYPE=PLMN"):
        text = text[: -len("/TYPE=PLMN")]
    elif "/" in text or "@" in text:
        return None
    digits = text[1:] if text.startswith("+") else text
    return text if digits.isdigit() and 3 <= len(digits) <= 20 else None


def mms_address(number: str) -> str:
    """The MMS address of a phone number."""
    return f"{number}/TYPE=PLMN"


def notification(*, transaction_id: str, content_location: str, size: int,
                 expiry: float, message_class: str | None = None, subject: str | None = None,
                 sender: str | None = None, segment: int = ONE_SEGMENT) -> bytes:
    """The WAP push of an M-Notification.ind (OMA-MMS-ENC §6.2). ``expiry`` is absolute
    (unix seconds). Subject and sender are dropped, in that order, when the push would not
    fit one SMS of ``segment`` octets of user data."""
    try:
        klass = MessageClass.from_label(message_class or "Personal")
    except ValueError:
        klass = MessageClass.PERSONAL
    pdu = MmsPdu(MessageType.NOTIFICATION_IND, transaction_id=transaction_id,
                 message_class=klass, message_size=size,
                 expiry=datetime.fromtimestamp(int(expiry), timezone.utc),
                 content_location=content_location,
                 subject=EncodedString(subject) if subject else None,
                 sender=EncodedString(sender) if sender else None)
    push = encode_push(encode(pdu))
    for drop in ("subject", "sender"):
        if len(segment_push(push, 0, max_user_data=segment)) == 1:
            break
        setattr(pdu, drop, None)
        push = encode_push(encode(pdu))
    return push


def retrieve_conf(*, transaction_id: str | None, message_id: str, created_at: float,
                  content: Message) -> MmsPdu:
    """The M-Retrieve.conf (OMA-MMS-ENC §6.3) that carries ``content`` to a recipient whose
    notifications had ``transaction_id``; the sender is left out when it asked to be hidden
    (X-Mms-Sender-Visibility, §7.3.48)."""
    pdu = to_pdu(content, MessageType.RETRIEVE_CONF)
    pdu.transaction_id = transaction_id
    pdu.message_id = message_id
    pdu.date = pdu.date or datetime.fromtimestamp(created_at, timezone.utc)
    if content.envelope.sender_visibility == "Hide":
        pdu.sender = None
    return pdu


def delivery_ind(*, message_id: str, recipient: str, status: Status, date: float) -> bytes:
    """The WAP push of an M-Delivery.ind to a handset originator (OMA-MMS-ENC §6.7)."""
    pdu = MmsPdu(MessageType.DELIVERY_IND, mms_version="1.3", message_id=message_id,
                 to=[EncodedString(recipient)], status=status,
                 date=datetime.fromtimestamp(int(date), timezone.utc))
    return encode_push(encode(pdu))


def read_orig_ind(*, message_id: str, recipient: str, originator: str, status: ReadStatus,
                  date: float) -> bytes:
    """The WAP push of an M-Read-Orig.ind (OMA-MMS-ENC §6.7.2): ``recipient`` read (or
    deleted unread) the message that ``originator`` sent."""
    pdu = MmsPdu(MessageType.READ_ORIG_IND, mms_version="1.3", message_id=message_id,
                 to=[EncodedString(originator)], sender=EncodedString(recipient),
                 read_status=status, date=datetime.fromtimestamp(int(date), timezone.utc))
    return encode_push(encode(pdu))


#: Characters of a subject kept in a link SMS at most, before any shortening.
LINK_SUBJECT_MAX = 100


def _segments(text: str, coding: int | None = None) -> int:
    return len(split_text(text, coding)) if coding is not None else plan_text(text).segments


def link_text(*, sender: str | None, subject: str | None, link: str,
              pin: str | None = None, notice: str | None = None) -> str:
    """The text SMS for a recipient without MMS: who, what, where to see it, the PIN
    when there is one, and how to opt out (``notice``) for an Advertisement. In the GSM
    03.38 alphabet when the subject allows (TS 23.038: one character outside it makes the
    whole SMS UCS-2); the subject never costs a segment of
    its own: it is shortened (ending in "...") to fit the segments the rest needs in its
    alphabet, or left out. Sender, link, PIN and notice are never cut."""
    who = plmn_number(sender or "") or (sender or "someone").removesuffix("/TYPE=PLMN")
    code = f" code {pin}" if pin else ""
    code += f"\n{notice}" if notice else ""  # a line of its own: no "." that a phone reads
    # as the link's

    def text(about: str | None) -> str:
        quoted = f' "{about}"' if about else ""
        return f"MMS from {who}{quoted}. View it at {link}{code}"

    if not subject:
        return text(None)
    subject = " ".join(subject.split())[:LINK_SUBJECT_MAX]
    full = text(subject)
    coding = plan_text(full).data_coding
    target = _segments(text(None), DCS_UCS2 if coding == DCS_UCS2 else None)
    if _segments(full) <= target:
        return full
    for cut in range(len(subject) - 1, 0, -1):
        shortened = text(subject[:cut].rstrip() + "...")
        if _segments(shortened) <= target:
            return shortened
    return text(None)
