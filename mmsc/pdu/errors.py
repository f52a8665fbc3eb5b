"""The two exception types of the MMS codec."""

from __future__ import annotations

from wap_push.wsp import WspDecodeError, WspEncodeError


class PduDecodeError(WspDecodeError):
    """Malformed MMS PDU: names the header field and the byte offset of the fault.

    It is the only exception that :func:`mmsc.pdu.decode` raises for bad input.
    """


class PduEncodeError(WspEncodeError):
    """A PDU value that cannot be encoded (wrong type, out of range, unencodable text)."""
