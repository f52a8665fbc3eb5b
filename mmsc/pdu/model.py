"""The decoded MMS PDU and the per-type layouts of OMA-MMS-ENC 1.3 §6.

:class:`MmsPdu` holds one attribute per row of the header table (``fields.FIELDS``); the
layouts say, per message type, which fields the standard lists, in its order, and which are
mandatory. The encoder writes fields in that order; :func:`problems` reports what a PDU lacks.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator

from wap_push.wsp import ContentType, EncodedString, HeaderValue, Part, RawValue

from .fields import BY_ATTR, FIELDS, Field
from .values import (
    CancelStatus, ContentClass, Counted, ElementDescriptor, MboxLimit, MessageClass, MessageType,
    MmFlag, MmState, Priority, ReadStatus, ReplyCharging, ResponseStatus, RetrievalMode,
    RetrieveStatus, Sender, SenderVisibility, Status, StoreStatus, TimeValue,
)

#: The MMS version mmsc writes (OMA-MMS-ENC 1.3).
OUR_VERSION = "1.3"


@dataclass
class MmsPdu:
    """One MMS PDU. ``None`` (or an empty list) means the header is absent.

    ``parts`` is the multipart body (None when there is none); ``body`` the data of a
    single-part body. Part data are zero-copy slices of the decoded buffer.
    ``extra_headers`` keeps application headers (name, text) and unassigned header codes
    (``X-Mms-Unassigned-0xNN``, raw octets) in the order they came.
    """

    message_type: MessageType | int
    transaction_id: str | None = None
    mms_version: str | None = OUR_VERSION
    bcc: list[EncodedString] = field(default_factory=list)
    cc: list[EncodedString] = field(default_factory=list)
    content_location: str | None = None
    content_type: ContentType | None = None
    date: datetime | None = None
    delivery_report: bool | None = None
    delivery_time: TimeValue | None = None
    expiry: TimeValue | None = None
    sender: Sender | None = None
    message_class: MessageClass | int | str | None = None
    message_id: str | None = None
    message_size: int | None = None
    priority: Priority | int | None = None
    read_report: bool | None = None
    report_allowed: bool | None = None
    response_status: ResponseStatus | int | None = None
    response_text: EncodedString | None = None
    sender_visibility: SenderVisibility | int | None = None
    status: Status | int | None = None
    subject: EncodedString | None = None
    to: list[EncodedString] = field(default_factory=list)
    retrieve_status: RetrieveStatus | int | None = None
    retrieve_text: EncodedString | None = None
    read_status: ReadStatus | int | None = None
    reply_charging: ReplyCharging | int | None = None
    reply_charging_deadline: TimeValue | None = None
    reply_charging_id: str | None = None
    reply_charging_size: int | None = None
    previously_sent_by: list[Counted] = field(default_factory=list)
    previously_sent_date: list[Counted] = field(default_factory=list)
    store: bool | None = None
    mm_state: MmState | int | None = None
    mm_flags: list[MmFlag] = field(default_factory=list)
    store_status: StoreStatus | int | None = None
    store_status_text: EncodedString | None = None
    stored: bool | None = None
    attributes: list[str] = field(default_factory=list)
    totals: bool | None = None
    mbox_totals: MboxLimit | None = None
    quotas: bool | None = None
    mbox_quotas: MboxLimit | None = None
    message_count: int | None = None
    content: RawValue | None = None
    start: int | None = None
    additional_headers: RawValue | None = None
    distribution_indicator: bool | None = None
    element_descriptor: ElementDescriptor | None = None
    limit: int | None = None
    recommended_retrieval_mode: RetrievalMode | int | None = None
    recommended_retrieval_mode_text: EncodedString | None = None
    status_text: EncodedString | None = None
    applic_id: str | None = None
    reply_applic_id: str | None = None
    aux_applic_info: str | None = None
    content_class: ContentClass | int | None = None
    drm_content: bool | None = None
    adaptation_allowed: bool | None = None
    replace_id: str | None = None
    cancel_id: str | None = None
    cancel_status: CancelStatus | int | None = None
    parts: list[Part] | None = None
    body: bytes | memoryview | None = None
    extra_headers: list[tuple[str, HeaderValue]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list, compare=False)

    def header_values(self) -> Iterator[tuple[Field, Any]]:
        """Every present header, one (field, value) per occurrence, in encoding order:
        X-Mms-Message-Type, X-Mms-Transaction-Id, X-Mms-MMS-Version first (§6), then the
        type's layout, then any other field in table order; Content-Type is left out
        (it is written last, after extra_headers)."""
        for attr in encoding_order(self.message_type):
            value = getattr(self, attr)
            if value is None:
                continue
            row = BY_ATTR[attr]
            if row.repeated:
                for item in value:
                    yield row, item
            else:
                yield row, value


_NON_HEADER_ATTRS = {"parts", "body", "extra_headers", "warnings"}
_missing = {f.attr for f in FIELDS} ^ {
    f.name for f in dataclasses.fields(MmsPdu) if f.name not in _NON_HEADER_ATTRS}
if _missing:  # the table and the dataclass must name the same fields
    raise ImportError(f"MmsPdu and the header table disagree on {sorted(_missing)}")

_COMMON = "transaction_id! mms_version!"
_APPLIC = "applic_id reply_applic_id aux_applic_info"
_REPLY_CHARGING = "reply_charging reply_charging_deadline reply_charging_size reply_charging_id"
_CONF = f"{_COMMON} response_status! response_text message_id content_location store_status " \
        "store_status_text"

#: OMA-MMS-ENC 1.3 §6: the fields of each PDU in the standard's order; ``!`` marks mandatory.
LAYOUTS: dict[MessageType, str] = {
    MessageType.SEND_REQ: f"{_COMMON} date sender! to cc bcc subject message_class expiry "
    f"delivery_time priority sender_visibility delivery_report read_report store mm_state "
    f"mm_flags {_REPLY_CHARGING} {_APPLIC} content_class drm_content adaptation_allowed "
    "content_type!",
    MessageType.SEND_CONF: _CONF,
    MessageType.NOTIFICATION_IND: f"{_COMMON} sender subject delivery_report stored "
    f"message_class! priority message_size! expiry! content_location! {_REPLY_CHARGING} "
    "distribution_indicator element_descriptor recommended_retrieval_mode "
    f"recommended_retrieval_mode_text {_APPLIC} replace_id content_class drm_content",
    MessageType.NOTIFYRESP_IND: f"{_COMMON} status! report_allowed",
    MessageType.RETRIEVE_CONF: "transaction_id mms_version! message_id date! sender "
    "previously_sent_by previously_sent_date to cc subject mm_state mm_flags message_class "
    f"priority delivery_report read_report {_REPLY_CHARGING} retrieve_status retrieve_text "
    f"distribution_indicator {_APPLIC} replace_id content_class drm_content content_type!",
    MessageType.ACKNOWLEDGE_IND: f"{_COMMON} report_allowed",
    MessageType.DELIVERY_IND: f"mms_version! message_id! to! date! status! status_text {_APPLIC}",
    MessageType.READ_REC_IND: f"mms_version! message_id! to! sender! date read_status! {_APPLIC}",
    MessageType.READ_ORIG_IND: f"mms_version! message_id! to! sender! date! read_status! "
    f"{_APPLIC}",
    MessageType.FORWARD_REQ: f"{_COMMON} date sender! to cc bcc expiry delivery_time "
    "report_allowed delivery_report read_report store mm_state mm_flags content_location! "
    f"{_REPLY_CHARGING} {_APPLIC}",
    MessageType.FORWARD_CONF: _CONF,
    MessageType.CANCEL_REQ: f"{_COMMON} cancel_id!",
    MessageType.CANCEL_CONF: f"{_COMMON} cancel_status!",
}

_FIRST = ("message_type", "transaction_id", "mms_version")


def _layout(message_type: MessageType | int) -> list[str]:
    spec = LAYOUTS.get(message_type) if isinstance(message_type, MessageType) else None
    return spec.split() if spec else []


_MANDATORY: dict[int, tuple[str, ...]] = {
    t: tuple(name[:-1] for name in _layout(t) if name.endswith("!")) for t in MessageType}


def mandatory_fields(message_type: MessageType | int) -> tuple[str, ...]:
    return _MANDATORY.get(message_type, ())


def _encoding_order(message_type: MessageType | int) -> tuple[str, ...]:
    listed = [name.rstrip("!") for name in _layout(message_type)]
    order = list(_FIRST)
    order += [a for a in listed if a not in order and a != "content_type"]
    order += [f.attr for f in FIELDS if f.attr not in order and f.attr != "content_type"]
    return tuple(order)


_ORDERS: dict[int, tuple[str, ...]] = {t: _encoding_order(t) for t in MessageType}


def encoding_order(message_type: MessageType | int) -> tuple[str, ...]:
    return _ORDERS.get(message_type) or _encoding_order(message_type)


def problems(pdu: MmsPdu) -> list[str]:
    """What the PDU lacks against OMA-MMS-ENC 1.3 §6: missing mandatory fields, no recipient
    on a request that sends, an MMS major version this codec does not speak (§7.3.34)."""
    found = []
    label = getattr(pdu.message_type, "label", str(pdu.message_type))
    for attr in mandatory_fields(pdu.message_type):
        if getattr(pdu, attr) in (None, []):
            found.append(f"{label} lacks the mandatory {BY_ATTR[attr].name}")
    if pdu.message_type in (MessageType.SEND_REQ, MessageType.FORWARD_REQ) \
            and not (pdu.to or pdu.cc or pdu.bcc):
        found.append(f"{label} has no recipient (To, Cc or Bcc)")
    if pdu.mms_version and not pdu.mms_version.startswith("1."):
        found.append(f"MMS version {pdu.mms_version} is not a 1.x version")
    return found
