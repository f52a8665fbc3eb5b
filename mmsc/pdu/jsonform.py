"""The JSON form of a PDU, as ``mmsc decode --json`` prints it and ``mmsc encode`` reads it.

    {"message_type": "m-retrieve-conf",
     "headers": {"X-Mms-Transaction-Id": "...", "X-Mms-MMS-Version": "1.2", "To": [...], ...},
     "parts": [{"content_type": "image/jpeg", "headers": {...}, "size": 1234, "sha256": "..."}],
     "warnings": []}

Header names and message types are written as OMA-MMS-ENC writes them; each value's JSON
shape comes from its codec in the header table. Part data travel as ``base64`` or as a
``file`` that the caller's loader reads. Pure functions: no file access here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any, Callable

from wap_push.wsp import ContentType, Disposition, HeaderValue, Part, RawValue

from .errors import PduEncodeError
from .fields import BY_ATTR, BY_NAME, RAW, content_type_from_json, content_type_to_json
from .model import MmsPdu
from .values import MessageType

JSON = Any
_TYPE_ROW = BY_ATTR["message_type"]
_CONTENT_TYPE_ROW = BY_ATTR["content_type"]


def to_json(pdu: MmsPdu, include_data: bool = False) -> dict[str, JSON]:
    """The JSON form. Part data appear as size and SHA-256, and as base64 when asked."""
    headers: dict[str, JSON] = {}
    for row, value in pdu.header_values():
        if row is not _TYPE_ROW:
            _add(headers, row.name, row.codec.to_json(value), row.repeated)
    for name, value in pdu.extra_headers:
        _add(headers, name, _wsp_value_to_json(value), False)
    if pdu.content_type is not None:
        headers[_CONTENT_TYPE_ROW.name] = content_type_to_json(pdu.content_type)
    doc: dict[str, JSON] = {"message_type": _TYPE_ROW.codec.to_json(pdu.message_type),
                            "headers": headers}
    if pdu.parts is not None:
        doc["parts"] = [_part_to_json(p, include_data) for p in pdu.parts]
    if pdu.body is not None:
        doc["body"] = _data_to_json(pdu.body, include_data)
    doc["warnings"] = list(pdu.warnings)
    return doc


def from_json(doc: JSON, load_file: Callable[[str], bytes] | None = None) -> MmsPdu:
    """The inverse of :func:`to_json`. ``load_file`` reads part data named by ``file``.
    Raises :class:`PduEncodeError` for a document that does not describe a PDU."""
    try:
        return _from_json(doc, load_file)
    except (KeyError, TypeError, ValueError, AttributeError, binascii.Error) as exc:
        if isinstance(exc, PduEncodeError):
            raise
        raise PduEncodeError(f"invalid PDU JSON: {exc}") from None


def _from_json(doc: JSON, load_file: Callable[[str], bytes] | None) -> MmsPdu:
    if not isinstance(doc, dict) or "message_type" not in doc:
        raise PduEncodeError("a PDU JSON document is an object with a message_type")
    message_type = _TYPE_ROW.codec.from_json(doc["message_type"])
    pdu = MmsPdu(message_type=message_type, mms_version=None)
    for name, value in (doc.get("headers") or {}).items():
        row = BY_NAME.get(name.lower())
        if row is None:
            items = value if isinstance(value, list) else [value]
            pdu.extra_headers += [(name, _wsp_value_from_json(v)) for v in items]
        elif row.repeated:
            items = value if isinstance(value, list) else [value]
            setattr(pdu, row.attr, [row.codec.from_json(v) for v in items])
        elif row is not _TYPE_ROW:
            setattr(pdu, row.attr, row.codec.from_json(value))
    if "parts" in doc:
        pdu.parts = [_part_from_json(p, load_file) for p in doc["parts"]]
    if "body" in doc:
        pdu.body = _data_from_json(doc["body"], load_file)
    if not isinstance(message_type, MessageType):
        raise PduEncodeError(f"unknown message type {message_type!r}")
    return pdu


def _add(headers: dict[str, JSON], name: str, value: JSON, repeated: bool) -> None:
    if repeated:
        headers.setdefault(name, []).append(value)
    elif name in headers:
        previous = headers[name]
        headers[name] = (previous if isinstance(previous, list) else [previous]) + [value]
    else:
        headers[name] = value


def _data_to_json(data: bytes | memoryview, include_data: bool) -> dict[str, JSON]:
    out: dict[str, JSON] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    if include_data:
        out["base64"] = base64.b64encode(data).decode("ascii")
    return out


def _data_from_json(doc: JSON, load_file: Callable[[str], bytes] | None) -> bytes:
    if "base64" in doc:
        return base64.b64decode(doc["base64"], validate=True)
    if "file" in doc:
        if load_file is None:
            raise PduEncodeError("part data given as a file, but no file loader")
        return load_file(doc["file"])
    raise PduEncodeError("part data need 'base64' or 'file'")


def _part_to_json(part: Part, include_data: bool) -> dict[str, JSON]:
    headers: dict[str, JSON] = {}
    for name, value in part.headers:
        _add(headers, name, _wsp_value_to_json(value), False)
    return {"content_type": content_type_to_json(part.content_type), "headers": headers,
            **_data_to_json(part.data, include_data)}


def _part_from_json(doc: JSON, load_file: Callable[[str], bytes] | None) -> Part:
    headers: list[tuple[str, HeaderValue]] = []
    for name, value in (doc.get("headers") or {}).items():
        items = value if isinstance(value, list) else [value]
        headers += [(name, _wsp_value_from_json(v)) for v in items]
    return Part(content_type_from_json(doc["content_type"]), headers,
                _data_from_json(doc, load_file))


def _wsp_value_to_json(value: HeaderValue) -> JSON:
    if isinstance(value, Disposition):
        return {"disposition": value.kind, "params": dict(value.params)}
    if isinstance(value, ContentType):
        return {"media_type": value.media_type, "params": dict(value.params)}
    if isinstance(value, RawValue):
        return RAW.to_json(value)
    return value


def _wsp_value_from_json(value: JSON) -> HeaderValue:
    if isinstance(value, dict):
        if "disposition" in value:
            return Disposition(str(value["disposition"]), dict(value.get("params") or {}))
        if "media_type" in value:
            return content_type_from_json(value)
        if "raw" in value:
            return RAW.from_json(value)
        raise PduEncodeError(f"unknown header value {value!r}")
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return value
    raise PduEncodeError(f"unknown header value {value!r}")
