"""Identifiers mmsc makes: message ids that are safe object-store keys and carry their age.

A message id is 12 hex digits of creation time in milliseconds, then 20 hex digits (80 bits)
of randomness: unique across nodes without coordination, sortable by time, within the
object-store key alphabet, and short enough for the 40-character limit some MM7 clients put
on MessageID. The time prefix lets recovery tell an orphan object from an accept in flight.
"""

from __future__ import annotations

import hashlib
import re
import secrets

_MESSAGE_ID = re.compile(r"[0-9a-f]{12}[0-9a-f]{20}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_message_id(now: float) -> str:
    """A fresh message id for a message accepted at ``now`` (unix seconds)."""
    return f"{int(now * 1000):012x}{secrets.token_hex(10)}"


def message_id_time(message_id: str) -> float | None:
    """When a message id made by :func:`new_message_id` was made; None for other ids."""
    if not _MESSAGE_ID.fullmatch(message_id):
        return None
    return int(message_id[:12], 16) / 1000


def new_token() -> str:
    """A URL-safe token of 128 random bits (22 characters), for content locations and
    viewer links: short for handsets with URL limits, unguessable."""
    return secrets.token_urlsafe(16)


def is_token(text: str) -> bool:
    """Whether ``text`` has the shape of a token :func:`new_token` makes: what a handset
    sends as a transaction id or content location is checked with it before any lookup."""
    return _TOKEN.fullmatch(text) is not None


def token_digest(token: str) -> str:
    """What the state store keeps of a token that opens content (a content location's, a
    web link's): its SHA-256, in hex, so that a copy of the database opens nothing."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()
