"""Reading MIME entities (RFC 2045, RFC 2046 §5.1) fast, with the stdlib parser's results.

The stdlib's feed parser walks a body line by line in Python: for a 40 KB base64 picture
that is most of an MM7 submit's parsing time. :func:`parse_entity` splits a multipart with
``bytes.find`` on its delimiter lines instead, and reads each header block into a compat32
entity field by field as the feed parser does (continuation lines, raw values), so that
parameters, RFC 2047 and RFC 2231 are then read by the stdlib exactly as before.

It takes that road only where it gives the same result: header blocks with CRLF line ends
and nothing the feed parser would call a defect (a line that is no field, a continuation
first, a Unix ``From`` line); every multipart with its boundary, a first delimiter, a close
delimiter, no two delimiter lines in a row and no transfer encoding (RFC 2045 §6.4); no
``message/*`` part, no ``multipart/digest`` (whose parts default to message/rfc822);
nesting no deeper than :data:`MAX_DEPTH`. Bodies may hold any octets. Anything else,
including the quirks of real peers, goes to the stdlib parser whole, with its leniency and
its defect reports. The entity built here has no preamble and no epilogue, which RFC 2046
§5.1.1 says to ignore; a multipart read there keeps the octets of its whole body
(:func:`multipart_body`), which a caller may store as they came instead of encoding the parts
again: read again, they give the same entity.

:func:`damage` tells what of an entity read either way is not what its sender wrote (a body
cut short, a transfer encoding that does not decode), for the interfaces that refuse such a
message rather than deliver it damaged (MM7 answers 2007).
"""

from __future__ import annotations

import re
from email.errors import CloseBoundaryNotFoundDefect, StartBoundaryNotFoundDefect
from email.message import Message as MimeEntity
from email.parser import BytesParser
from email.policy import compat32

_PARSER = BytesParser(policy=compat32)
#: Multiparts nested deeper than this go to the stdlib parser.
MAX_DEPTH = 8
#: A field name as the feed parser takes it: printable ASCII but the colon (and no space).
_FIELD_NAME = re.compile(r"[\041-\071\073-\176]+")
#: What may follow ``--boundary`` on a delimiter line: the close mark, or transport padding
#: (RFC 2046 §5.1.1: linear white space) before the line end or the end of the input.
_AFTER_DELIMITER = re.compile(rb"(--)?[ \t]*(?:\r\n|\r|\n|\Z)")


class _Entity(MimeEntity):
    """An entity read on the fast road: a multipart keeps its body's octets in ``body``."""

    body: bytes | None = None


def multipart_body(entity: MimeEntity) -> bytes | None:
    """The octets of a multipart's body as read (preamble, delimiters, parts and epilogue)
    when it was read on the fast road, else None. (Nothing in mmsc changes an entity once
    it is read.)"""
    return entity.body if isinstance(entity, _Entity) and entity.is_multipart() else None


def parse_entity(data: bytes) -> MimeEntity:
    """The MIME entity (headers and body) in ``data``, as ``BytesParser(policy=compat32)``
    reads it."""
    entity = regular_entity(data)
    return entity if entity is not None else _PARSER.parsebytes(data)


def regular_entity(data: bytes) -> MimeEntity | None:
    """The entity read on the fast road, or None when ``data`` is not regular enough."""
    return _entity(data, 0)


def _crlf_only(octets: bytes) -> bool:
    return octets.count(b"\n") == octets.count(b"\r") == octets.count(b"\r\n")


def _entity(data: bytes, depth: int) -> _Entity | None:
    """One entity on the fast road, or None when it is not regular enough for it."""
    if not data or data.startswith(b"\r\n"):
        head, body = b"", data[2:]
    else:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return None
        head, body = data[:end + 4], data[end + 4:]
        if not _crlf_only(head):  # an empty line of another kind may end it earlier
            return None
    entity = _header_fields(head)
    if entity is None:
        return None
    maintype = entity.get_content_maintype()
    if maintype == "message":
        return None
    if maintype != "multipart":
        entity.set_payload(body.decode("ascii", "surrogateescape"))
        return entity
    boundary = entity.get_boundary()
    if not boundary or not boundary.isascii() or depth >= MAX_DEPTH \
            or entity.get_content_subtype() == "digest" \
            or str(entity.get("Content-Transfer-Encoding", "8bit")).lower() \
            not in ("7bit", "8bit", "binary"):
        return None
    parts = _split(body, b"--" + boundary.encode("ascii"))
    if parts is None:
        return None
    entity.set_payload([])
    for part in parts:
        child = _entity(part, depth + 1)
        if child is None:
            return None
        entity.attach(child)
    entity.body = body
    return entity


def _header_fields(head: bytes) -> _Entity | None:
    """An entity with the header fields of ``head`` (CRLF lines, then an empty line), each
    kept as the stdlib's feed parser keeps it (RFC 5322 §2.2: a line that starts with
    white space continues the field before it, line end included); None for what it would
    read with a defect or as a Unix ``From`` line."""
    entity = _Entity(policy=compat32)
    fields: list[list[str]] = []
    for line in head[:-4].decode("ascii", "surrogateescape").split("\r\n") if head else ():
        if line[:1] in (" ", "\t"):
            if not fields:
                return None
            fields[-1].append(line)
            continue
        name, colon, _ = line.partition(":")
        if not colon or not _FIELD_NAME.fullmatch(name) or line.startswith("From "):
            return None
        fields.append([line])
    for name, first, *more in ((f[0].partition(":")[0], *f) for f in fields):
        value = "\r\n".join([first.partition(":")[2].lstrip(" \t"), *more])
        entity.set_raw(name, value.rstrip("\r\n"))
    return entity


def _split(body: bytes, delimiter: bytes) -> list[bytes] | None:
    """The parts between the delimiter lines of a multipart body, or None without a first
    or a close delimiter, or with two delimiter lines in a row. A delimiter starts a line
    (after CRLF, CR or LF, as the stdlib splits lines); the line end before it belongs to
    it (RFC 2046 §5.1.1)."""
    lines: list[tuple[int, int]] = []  # each delimiter line: (start of the line end before it,
    search = 0                         # end of its own line)
    while True:
        found = body.find(delimiter, search)
        if found < 0:
            return None
        search = found + 1
        if found and body[found - 1] not in b"\r\n":
            continue
        tail = _AFTER_DELIMITER.match(body, found + len(delimiter))
        if tail is None:  # "--boundary" followed by more text: not a delimiter
            continue
        if lines and found == lines[-1][1]:  # the stdlib merges adjacent delimiter lines
            return None
        lines.append((found - (2 if body[found - 2:found] == b"\r\n" else 1 if found else 0),
                      tail.end()))
        if tail.group(1):  # the close delimiter (not valid as the first one)
            if len(lines) == 1:
                return None
            break
        search = tail.end()
    return [body[lines[i][1]:max(lines[i][1], lines[i + 1][0])] for i in range(len(lines) - 1)]


#: Defects of the stdlib's parser that mean a multipart is not whole (RFC 2046 §5.1.1: the
#: body parts lie between a first delimiter and a close delimiter).
_CUT = {CloseBoundaryNotFoundDefect: "without its close delimiter (cut short?)",
        StartBoundaryNotFoundDefect: "without any delimiter line"}
_BASE64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
#: A quoted-printable "=" that is neither an escape (two hex digits; lower case accepted)
#: nor a soft line break (transport padding allowed before it), RFC 2045 §6.7.
_QP_BROKEN = re.compile(rb"=(?![0-9A-Fa-f]{2}|[ \t]*(?:\r\n|\r|\n|\Z))")


def damage(entity: MimeEntity) -> str | None:
    """What makes ``entity`` differ from what its sender wrote, or None: a multipart, at
    any depth, without its close delimiter (a body cut short) or without delimiters, or a
    part whose base64 or quoted-printable does not decode. Base64 without its final
    padding (``=``) decodes without loss and is not damage; lines of any length, white
    space and raw 8-bit or binary parts are not either."""
    for part in entity.walk():
        label = part.get_content_type() + (f" {part['Content-ID']}" if part["Content-ID"]
                                           else "")
        for defect in part.defects:
            if type(defect) in _CUT:
                return f"{label} {_CUT[type(defect)]}"
        if part.is_multipart():
            continue
        # the value compared as the stdlib compares it when it decodes the payload
        encoding = str(part.get("Content-Transfer-Encoding", "")).lower()
        if encoding not in ("base64", "quoted-printable"):
            continue
        payload = part.get_payload()  # 8-bit octets come as U+FFFD: "?" for these checks
        data = payload.encode("ascii", "replace") if isinstance(payload, str) else b""
        fault = _base64_fault(data) if encoding == "base64" else \
            "quoted-printable with a broken escape" if _QP_BROKEN.search(data) else None
        if fault:
            return f"part {label}: {fault}"
    return None


def _base64_fault(data: bytes) -> str | None:
    """Why base64 text (RFC 2045 §6.8) does not decode, or None: characters outside its
    alphabet other than white space, padding before the end, or a lone last character
    (6 bits, not an octet: the text was cut)."""
    text = data.translate(None, b" \t\r\n")
    core = text.rstrip(b"=")
    if core.translate(None, _BASE64) or len(text) - len(core) > 2:
        return "base64 with characters outside its alphabet"
    if len(core) % 4 == 1:
        return "base64 cut short (a lone last character)"
    return None
