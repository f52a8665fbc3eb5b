"""MM7 request status codes (3GPP TS 23.140 §8.7.4 and Annex; "Request Status Codes").

One table; :func:`status_text` and the fault class are derived from it.
"""

from __future__ import annotations

#: StatusCode -> StatusText as the standard names them.
STATUS: dict[int, str] = {
    1000: "Success",
    1100: "Partial success",
    2000: "Client error",
    2001: "Operation restricted",
    2002: "Address Error",
    2003: "Address Not Found",
    2004: "Multimedia content refused",
    2005: "Message ID Not found",
    2006: "LinkedID not found",
    2007: "Message format corrupt",
    2008: "Application ID not found",
    2009: "Reply Application ID not found",
    3000: "Server Error",
    3001: "Not Possible",
    3002: "Message rejected",
    3003: "Multiple addresses not supported",
    3004: "Application Addressing not supported",
    4000: "General service error",
    4001: "Improper identification",
    4002: "Unsupported version",
    4003: "Unsupported operation",
    4004: "Validation error",
    4005: "Service error",
    4006: "Service unavailable",
    4007: "Service denied",
    4008: "Application denied",
}

SUCCESS = 1000


def status_text(code: int) -> str:
    """The standard's text for a code; unknown codes are named by their class (1xxx
    success, 2xxx client error, 3xxx server error, 4xxx general service error)."""
    return STATUS.get(code) or STATUS.get(code // 1000 * 1000, "Unknown status")


def is_success(code: int) -> bool:
    return 1000 <= code < 2000


def fault_code(code: int) -> str:
    """SOAP 1.1 faultcode for an error status: the sender's fault for 2xxx and 4xxx
    (Client), the MMSC's for 3xxx (Server)."""
    return "Server" if 3000 <= code < 4000 else "Client"
