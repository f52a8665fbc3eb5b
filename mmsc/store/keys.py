"""Object keys, made only from validated ids (ARCHITECTURE.md, "Data at rest").

A key is up to 16 segments joined by ``/``; each segment is 1 to 128 characters of
``A-Z a-z 0-9 . _ -`` starting with a letter or digit. That excludes ``..``, ``.``, empty
segments, absolute paths, backslashes, NUL, percent escapes and anything non-ASCII, so a
hostile message id cannot name a file outside the store on any backend.
"""

from __future__ import annotations

import re

from .base import InvalidKey

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MAX_SEGMENTS = 16
MAX_KEY = 1024


def validate_id(text: str) -> str:
    """One key segment (a message id, a profile key), or InvalidKey."""
    if not isinstance(text, str) or not _SEGMENT.fullmatch(text):
        raise InvalidKey(f"not a safe id: {text!r}")
    return text


def validate_key(key: str) -> str:
    """A whole key, or InvalidKey."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY:
        raise InvalidKey(f"not a safe key: {key!r}")
    segments = key.split("/")
    if len(segments) > MAX_SEGMENTS:
        raise InvalidKey(f"too many segments in {key!r}")
    for segment in segments:
        if not _SEGMENT.fullmatch(segment):
            raise InvalidKey(f"not a safe key: {key!r}")
    return key


def validate_prefix(prefix: str) -> str:
    """A listing prefix: empty, a key, or a key followed by ``/``; a partial last segment
    (``messages/ab``) is allowed and matches keys that start with it."""
    if prefix == "":
        return prefix
    validate_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


def message_key(message_id: str, name: str) -> str:
    """``messages/<id>/<name>``; ``name`` may have segments (``adapted/<profile>.mms``)."""
    return validate_key(f"messages/{validate_id(message_id)}/{name}")


def message_prefix(message_id: str) -> str:
    """The prefix under which all of a message's objects live."""
    return f"messages/{validate_id(message_id)}/"
