"""Object keys, made only from validated ids (ARCHITECTURE.md, "Data at rest").

A key is up to 16 segments joined by ``/``, at most 1024 characters; each segment is 1 to 128
characters of ``A-Z a-z 0-9 . _ -`` starting with a letter or digit. That excludes ``..``,
``.``, empty segments, absolute paths, backslashes, NUL, percent escapes, anything
non-ASCII and names starting with a dot (which the local folder keeps for its temporary
files), so a hostile message id cannot name a file outside the store on any backend.
"""

from __future__ import annotations

import re

from .base import InvalidKey

_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_SEGMENT_RULE = "1 to 128 of A-Z a-z 0-9 . _ - starting with a letter or digit"
MAX_SEGMENTS = 16
MAX_KEY = 1024


def _shown(text: str) -> str:
    """``text`` quoted for an error message, cut short when long."""
    return repr(text) if len(text) <= 60 else f"{text[:60]!r}... ({len(text)} characters)"


def _problem(key: object) -> str | None:
    """Why ``key`` is not a valid key, or None when it is."""
    if not isinstance(key, str):
        return f"a key is a str, not {type(key).__name__}"
    if not key:
        return "it is empty"
    if len(key) > MAX_KEY:
        return f"it is longer than {MAX_KEY} characters"
    segments = key.split("/")
    if len(segments) > MAX_SEGMENTS:
        return f"it has more than {MAX_SEGMENTS} segments"
    for number, segment in enumerate(segments, 1):
        if not _SEGMENT.fullmatch(segment):
            return f"segment {number} {_shown(segment)} is not {_SEGMENT_RULE}"
    return None


def is_valid_key(key: str) -> bool:
    """True when ``key`` would pass :func:`validate_key`."""
    return _problem(key) is None


def validate_key(key: str) -> str:
    """``key`` itself when it is a valid key; InvalidKey saying what is wrong otherwise."""
    problem = _problem(key)
    if problem is not None:
        shown = _shown(key) if isinstance(key, str) else type(key).__name__
        raise InvalidKey(f"invalid object key {shown}: {problem}")
    return key


def validate_id(text: str) -> str:
    """``text`` itself when it can be one key segment (a message id, a profile key)."""
    if not isinstance(text, str) or not _SEGMENT.fullmatch(text):
        shown = _shown(text) if isinstance(text, str) else type(text).__name__
        raise InvalidKey(f"invalid id {shown}: an id is {_SEGMENT_RULE}")
    return text


def validate_prefix(prefix: str) -> str:
    """A listing prefix: empty, a key, or a key followed by ``/``. It matches keys that start
    with it, so ``messages/ab`` also matches ``messages/abc/...``; end it with ``/`` to mean
    one folder."""
    if prefix == "":
        return prefix
    validate_key(prefix.removesuffix("/"))
    return prefix


def message_key(message_id: str, name: str) -> str:
    """``messages/<id>/<name>``; ``name`` may have segments (``adapted/<profile>.mms``)."""
    return validate_key(f"{message_prefix(message_id)}{name}")


def message_prefix(message_id: str) -> str:
    """``messages/<id>/``: the prefix under which all of a message's objects live."""
    return f"messages/{validate_id(message_id)}/"
