"""The value tables of MM4 (3GPP TS 23.140 §8.4): request status codes, MM status codes of
delivery reports and read statuses of read-reply reports, one table each. Every table is
read case-insensitively: peers write ``ok``, ``OK`` or ``Ok``."""

from __future__ import annotations

from mmsc.pdu import ReadStatus, Status

OK = "Ok"

#: X-Mms-Request-Status-Code (TS 23.140 §8.4.1.2, §8.4.2.2, §8.4.3.2) -> whether the
#: request was taken. A peer that writes a number means 0 for Ok (seen from JavaMail peers).
REQUEST_STATUS: dict[str, bool] = {
    OK: True,
    "Error-unspecified": False,
    "Error-service-denied": False,
    "Error-message-format-corrupt": False,
    "Error-sending-address-unresolved": False,
    "Error-message-not-found": False,
    "Error-network-problem": False,
    "Error-content-not-accepted": False,
    "Error-unsupported-message": False,
}

#: X-Mms-MM-Status-Code of MM4_delivery_report.REQ (TS 23.140 §8.4.2.1) <-> X-Mms-Status of
#: MM1 (OMA-MMS-ENC §7.3.54). MM4 has no "Unreachable": mmsc writes it Indeterminate.
MM_STATUS: dict[str, Status] = {
    "Expired": Status.EXPIRED,
    "Retrieved": Status.RETRIEVED,
    "Rejected": Status.REJECTED,
    "Deferred": Status.DEFERRED,
    "Indeterminate": Status.INDETERMINATE,
    "Forwarded": Status.FORWARDED,
    "Unrecognised": Status.UNRECOGNISED,
}
_MM_STATUS_LABEL = {status: label for label, status in MM_STATUS.items()}

#: X-Mms-Read-Status of MM4_read_reply_report.REQ (TS 23.140 §8.4.3.1) <-> OMA-MMS-ENC §7.3.40.
READ_STATUS: dict[str, ReadStatus] = {
    "Read": ReadStatus.READ,
    "Deleted without being read": ReadStatus.DELETED_WITHOUT_BEING_READ,
}
_READ_STATUS_LABEL = {status: label for label, status in READ_STATUS.items()}


def _lookup(table: dict[str, object], text: str) -> str | None:
    key = " ".join(text.replace("-", " ").split()).lower()
    return next((label for label in table
                 if " ".join(label.replace("-", " ").split()).lower() == key), None)


def request_status(text: str) -> str | None:
    """The standard label of a request status as a peer wrote it, or None if unknown."""
    if text.strip().isdigit():
        return OK if int(text) == 0 else "Error-unspecified"
    return _lookup(REQUEST_STATUS, text)  # type: ignore[arg-type]


def is_ok(label: str | None) -> bool:
    return REQUEST_STATUS.get(label or "", False)


def mm_status(text: str) -> Status | None:
    label = _lookup(MM_STATUS, text)  # type: ignore[arg-type]
    return MM_STATUS[label] if label else None


def mm_status_label(status: Status) -> str:
    """The X-Mms-MM-Status-Code for an MM1 status (Unreachable: Indeterminate)."""
    return _MM_STATUS_LABEL.get(status, "Indeterminate")


def read_status(text: str) -> ReadStatus | None:
    label = _lookup(READ_STATUS, text)  # type: ignore[arg-type]
    return READ_STATUS[label] if label else None


def read_status_label(status: ReadStatus) -> str:
    return _READ_STATUS_LABEL[status]
