"""The OMA MMS binary encapsulation (OMA-TS-MMS-ENC 1.0 to 1.3): PDUs in, typed values out.

    >>> from mmsc.pdu import decode, encode
    >>> pdu = decode(data)
    >>> pdu.message_type.label, pdu.transaction_id
"""

from wap_push.wsp import ContentType, Disposition, EncodedString, Part, RawValue

from .codec import decode, encode, encode_chunks
from .errors import PduDecodeError, PduEncodeError
from .model import LAYOUTS, OUR_VERSION, MmsPdu, mandatory_fields, problems
from .values import (
    CancelStatus, ContentClass, Counted, ElementDescriptor, InsertAddress, MboxLimit, MboxUnit,
    MessageClass, MessageType, MmFlag, MmFlagAction, MmState, Priority, ReadStatus,
    ReplyCharging, ResponseStatus, RetrievalMode, RetrieveStatus, SenderVisibility, Status,
    StoreStatus,
)

__all__ = [
    "CancelStatus", "ContentClass", "ContentType", "Counted", "Disposition", "ElementDescriptor",
    "EncodedString", "InsertAddress", "LAYOUTS", "MboxLimit", "MboxUnit", "MessageClass",
    "MessageType", "MmFlag", "MmFlagAction", "MmState", "MmsPdu", "OUR_VERSION", "Part",
    "PduDecodeError", "PduEncodeError", "Priority", "RawValue", "ReadStatus", "ReplyCharging",
    "ResponseStatus", "RetrievalMode", "RetrieveStatus", "SenderVisibility", "Status",
    "StoreStatus", "decode", "encode", "encode_chunks", "mandatory_fields", "problems",
]
