"""Typed values of MMS header fields (OMA-MMS-ENC 1.3 §7.3): the token tables and small values.

Each token table is one ``IntEnum`` whose values are the octets on the wire; its ``label`` is
the name OMA-MMS-ENC writes (``m-send-req``, ``Personal``, ``Error-permanent-failure``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Union

from wap_push.wsp import EncodedString


class Token(enum.IntEnum):
    """A token field value; ``label`` is its name as the standard writes it."""

    @property
    def label(self) -> str:
        return self.name.replace("_", "-").capitalize()

    @classmethod
    def from_label(cls, label: str) -> Token:
        key = label.strip().lower()
        for member in cls:
            if member.label.lower() == key:
                return member
        raise ValueError(f"{label!r} is not a {cls.__name__} value")


class MessageType(Token):
    """X-Mms-Message-Type (§7.3.30)."""

    SEND_REQ = 128
    SEND_CONF = 129
    NOTIFICATION_IND = 130
    NOTIFYRESP_IND = 131
    RETRIEVE_CONF = 132
    ACKNOWLEDGE_IND = 133
    DELIVERY_IND = 134
    READ_REC_IND = 135
    READ_ORIG_IND = 136
    FORWARD_REQ = 137
    FORWARD_CONF = 138
    MBOX_STORE_REQ = 139
    MBOX_STORE_CONF = 140
    MBOX_VIEW_REQ = 141
    MBOX_VIEW_CONF = 142
    MBOX_UPLOAD_REQ = 143
    MBOX_UPLOAD_CONF = 144
    MBOX_DELETE_REQ = 145
    MBOX_DELETE_CONF = 146
    MBOX_DESCR = 147
    DELETE_REQ = 148
    DELETE_CONF = 149
    CANCEL_REQ = 150
    CANCEL_CONF = 151

    @property
    def label(self) -> str:
        return "m-" + self.name.lower().replace("_", "-")


class MessageClass(Token):
    """X-Mms-Message-Class class-identifier (§7.3.27); a Token-text class is kept as text."""

    PERSONAL = 128
    ADVERTISEMENT = 129
    INFORMATIONAL = 130
    AUTO = 131


class Priority(Token):
    """X-Mms-Priority (§7.3.35)."""

    LOW = 128
    NORMAL = 129
    HIGH = 130


class Status(Token):
    """X-Mms-Status (§7.3.54)."""

    EXPIRED = 128
    RETRIEVED = 129
    REJECTED = 130
    DEFERRED = 131
    UNRECOGNISED = 132
    INDETERMINATE = 133
    FORWARDED = 134
    UNREACHABLE = 135


class ResponseStatus(Token):
    """X-Mms-Response-Status (§7.3.48). 129..136 are the MMS 1.0 codes, still seen in the field."""

    OK = 128
    ERROR_UNSPECIFIED = 129
    ERROR_SERVICE_DENIED = 130
    ERROR_MESSAGE_FORMAT_CORRUPT = 131
    ERROR_SENDING_ADDRESS_UNRESOLVED = 132
    ERROR_MESSAGE_NOT_FOUND = 133
    ERROR_NETWORK_PROBLEM = 134
    ERROR_CONTENT_NOT_ACCEPTED = 135
    ERROR_UNSUPPORTED_MESSAGE = 136
    ERROR_TRANSIENT_FAILURE = 192
    ERROR_TRANSIENT_SENDING_ADDRESS_UNRESOLVED = 193
    ERROR_TRANSIENT_MESSAGE_NOT_FOUND = 194
    ERROR_TRANSIENT_NETWORK_PROBLEM = 195
    ERROR_TRANSIENT_PARTIAL_SUCCESS = 196
    ERROR_PERMANENT_FAILURE = 224
    ERROR_PERMANENT_SERVICE_DENIED = 225
    ERROR_PERMANENT_MESSAGE_FORMAT_CORRUPT = 226
    ERROR_PERMANENT_SENDING_ADDRESS_UNRESOLVED = 227
    ERROR_PERMANENT_MESSAGE_NOT_FOUND = 228
    ERROR_PERMANENT_CONTENT_NOT_ACCEPTED = 229
    ERROR_PERMANENT_REPLY_CHARGING_LIMITATIONS_NOT_MET = 230
    ERROR_PERMANENT_REPLY_CHARGING_REQUEST_NOT_ACCEPTED = 231
    ERROR_PERMANENT_REPLY_CHARGING_FORWARDING_DENIED = 232
    ERROR_PERMANENT_REPLY_CHARGING_NOT_SUPPORTED = 233
    ERROR_PERMANENT_ADDRESS_HIDING_NOT_SUPPORTED = 234
    ERROR_PERMANENT_LACK_OF_PREPAID = 235


class RetrieveStatus(Token):
    """X-Mms-Retrieve-Status (§7.3.50)."""

    OK = 128
    ERROR_TRANSIENT_FAILURE = 192
    ERROR_TRANSIENT_MESSAGE_NOT_FOUND = 193
    ERROR_TRANSIENT_NETWORK_PROBLEM = 194
    ERROR_PERMANENT_FAILURE = 224
    ERROR_PERMANENT_SERVICE_DENIED = 225
    ERROR_PERMANENT_MESSAGE_NOT_FOUND = 226
    ERROR_PERMANENT_CONTENT_UNSUPPORTED = 227


class StoreStatus(Token):
    """X-Mms-Store-Status (§7.3.58)."""

    SUCCESS = 128
    ERROR_TRANSIENT_FAILURE = 192
    ERROR_TRANSIENT_NETWORK_PROBLEM = 193
    ERROR_PERMANENT_FAILURE = 224
    ERROR_PERMANENT_SERVICE_DENIED = 225
    ERROR_PERMANENT_MESSAGE_FORMAT_CORRUPT = 226
    ERROR_PERMANENT_MESSAGE_NOT_FOUND = 227
    ERROR_PERMANENT_MMBOX_FULL = 228


class ReadStatus(Token):
    """X-Mms-Read-Status (§7.3.40)."""

    READ = 128
    DELETED_WITHOUT_BEING_READ = 129


class SenderVisibility(Token):
    """X-Mms-Sender-Visibility (§7.3.52)."""

    HIDE = 128
    SHOW = 129


class ReplyCharging(Token):
    """X-Mms-Reply-Charging (§7.3.43)."""

    REQUESTED = 128
    REQUESTED_TEXT_ONLY = 129
    ACCEPTED = 130
    ACCEPTED_TEXT_ONLY = 131


class MmState(Token):
    """X-Mms-MM-State (§7.3.33)."""

    DRAFT = 128
    SENT = 129
    NEW = 130
    RETRIEVED = 131
    FORWARDED = 132


class RetrievalMode(Token):
    """X-Mms-Recommended-Retrieval-Mode (§7.3.39)."""

    MANUAL = 128


class ContentClass(Token):
    """X-Mms-Content-Class (§7.3.9)."""

    TEXT = 128
    IMAGE_BASIC = 129
    IMAGE_RICH = 130
    VIDEO_BASIC = 131
    VIDEO_RICH = 132
    MEGAPIXEL = 133
    CONTENT_BASIC = 134
    CONTENT_RICH = 135

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


class CancelStatus(Token):
    """X-Mms-Cancel-Status (§7.3.6)."""

    CANCEL_REQUEST_SUCCESSFULLY_RECEIVED = 128
    CANCEL_REQUEST_CORRUPTED = 129


class MmFlagAction(Token):
    """The token of X-Mms-MM-Flags (§7.3.32)."""

    ADD = 128
    REMOVE = 129
    FILTER = 130


class MboxUnit(Token):
    """The token of X-Mms-Mbox-Totals and X-Mms-Mbox-Quotas (§7.3.25, §7.3.26)."""

    MESSAGES = 128
    SIZE = 129


class InsertAddress(enum.Enum):
    """From = Insert-address-token (§7.3.21): the MMSC fills in the sender's address."""

    TOKEN = 129


#: A From value: an address, or the request that the MMSC insert one.
Sender = Union[EncodedString, InsertAddress]
#: Expiry, Delivery-Time, Reply-Charging-Deadline: an absolute date or a relative interval.
TimeValue = Union[datetime, timedelta]


@dataclass(frozen=True)
class Counted:
    """Previously-Sent-By / Previously-Sent-Date: a forwarding count and a value (§7.3.37-38)."""

    count: int
    value: EncodedString | datetime


@dataclass(frozen=True)
class MmFlag:
    """X-Mms-MM-Flags: add, remove or filter one keyword (§7.3.32)."""

    action: MmFlagAction | int
    keyword: EncodedString


@dataclass(frozen=True)
class MboxLimit:
    """X-Mms-Mbox-Totals / X-Mms-Mbox-Quotas: a count of messages or octets."""

    unit: MboxUnit | int
    value: int


@dataclass
class ElementDescriptor:
    """X-Mms-Element-Descriptor: a content reference and its parameters (§7.3.17)."""

    reference: str
    params: dict[str, str] = field(default_factory=dict)
