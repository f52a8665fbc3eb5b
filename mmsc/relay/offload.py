"""Where the relay's MIME work runs: on the event loop when the message is small, in a
worker thread when it is large. A thread hand-off costs more than encoding or reading a
typical 30 KB message (about 0.15 ms), while a 600 KB one takes a few milliseconds the
loop must not spend (ARCHITECTURE.md, process model)."""

from __future__ import annotations

import asyncio

from mmsc.message import Message
from mmsc.mime import from_mime, to_mime

#: Messages up to this many octets are encoded and read on the loop.
INLINE_SIZE = 64 * 1024


async def encode(message: Message) -> bytes:
    """``to_mime(message)``, in a thread when the message is large."""
    if message.size <= INLINE_SIZE:
        return to_mime(message)
    return await asyncio.to_thread(to_mime, message)


async def decode(data: bytes) -> Message:
    """``from_mime(data)``, in a thread when the octets are many."""
    if len(data) <= INLINE_SIZE:
        return from_mime(data)
    return await asyncio.to_thread(from_mime, data)
