"""What the viewer page shows of a message, built from its SMIL presentation (pure functions,
no I/O): slides in order with their media, and every part for download.

The slides come from the message's SMIL (``mmsc.smil.parse_smil``, SMIL 2.0 ``par`` per
slide); a message without one, or with one that cannot be read, gets the default presentation
of its parts (``mmsc.smil.default_presentation``), as MMS clients do; parts that no slide
shows are placed as phones place them (``mmsc.smil.complete``). Media are shown from the
browser form of the message (the adaptation stage's output for the ``browser`` device profile:
part *i* of it is part *i* of the original, converted or replaced by a notice); a part whose
browser form is not a type browsers play inline is offered for download only. Text is shown
only when it is ``text/plain``; SVG, HTML and every other type are never rendered inline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from adaptation.plan import EXTENSIONS
from mmsc.message import Message, MessagePart, referable
from mmsc.smil import (
    DEFAULT_DURATION_MS, Presentation, SmilError, complete, default_presentation, parse_smil,
    resolve,
)

#: Media types served inline to browsers, by the kind of element that shows them. Anything
#: else (image/svg+xml, text/html, ...) is only ever an attachment.
INLINE = {
    "image": frozenset({"image/jpeg", "image/png", "image/gif"}),
    "audio": frozenset({"audio/mpeg", "audio/mp4", "audio/aac", "audio/wav", "audio/x-wav",
                        "audio/ogg"}),
    "video": frozenset({"video/mp4", "video/webm"}),
}
_KIND = {"img": "image", "audio": "audio", "video": "video", "text": "text"}
_UNSAFE_NAME = re.compile(r"[^\w.-]+")
#: File extensions for downloads without a name: the adaptation stage's, and the types it
#: does not write.
_EXTENSIONS = {**EXTENSIONS, "audio/wav": ".wav", "application/smil": ".smil",
               "image/svg+xml": ".svg", "text/html": ".html"}


@dataclass(frozen=True)
class Item:
    """One media object of a slide. ``kind``: image, audio, video, text, other, missing;
    ``inline``: the browser form can be played here (else download only)."""

    kind: str
    index: int | None = None
    media_type: str = ""
    inline: bool = False
    text: str | None = None
    alt: str | None = None


@dataclass(frozen=True)
class SlideView:
    number: int
    duration_ms: int
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Download:
    index: int
    filename: str
    media_type: str
    size: int


def inline_type(kind: str, browser_part: MessagePart | None) -> str | None:
    """The media type a part is served inline as, or None when it is not served inline."""
    if browser_part is None:
        return None
    media = browser_part.media_type
    return media if media in INLINE.get(kind, ()) else None


def filename(part: MessagePart, index: int) -> str:
    """A safe file name for a part's download: its own name or location, else ``part-N``."""
    name = part.filename or unquote(part.content_location or "").replace("\\", "/")
    name = _UNSAFE_NAME.sub("_", name.rsplit("/", 1)[-1]).strip("._")[:80]
    return name or f"part-{index + 1}{_EXTENSIONS.get(part.media_type, '.bin')}"


def presentation_of(message: Message, parts: list[MessagePart]) -> Presentation:
    """The message's SMIL presentation, or the default one of its ``parts`` (each with a
    reference, :func:`mmsc.message.referable`), showing every part as phones do
    (:func:`mmsc.smil.complete`: a text whose ``src`` is its own words is shown where it
    stands, parts no slide shows on slides after the last)."""
    smil = message.smil
    if smil is not None:
        try:
            presentation = parse_smil(smil.data)
        except SmilError:
            presentation = None
        if presentation is not None and presentation.slides:
            return complete(presentation, parts)
    return default_presentation([p for p in parts if not p.is_smil])


def slides(original: Message, browser: Message) -> list[SlideView]:
    """The slides of a message, each item pointing at its part by index."""
    parts = referable(original.parts)  # copies for the page: nothing is stored
    views = []
    for number, slide in enumerate(presentation_of(original, parts).slides, start=1):
        items = []
        for media in slide.media:
            found = resolve(media.src, parts)
            kind = _KIND.get(media.kind, "other")
            if found is None:
                items.append(Item("missing"))
                continue
            index = next(i for i, p in enumerate(parts) if p is found)
            part = parts[index]
            if kind == "text" and part.media_type == "text/plain":
                items.append(Item("text", index, part.media_type, True, part.decoded_text()[0]))
                continue
            counterpart = browser.parts[index] if index < len(browser.parts) else None
            served = inline_type(kind, counterpart)
            items.append(Item(kind if kind != "text" else "other", index,
                              served or part.media_type, served is not None, alt=media.alt))
        views.append(SlideView(number, slide.duration_ms or DEFAULT_DURATION_MS, tuple(items)))
    return views


def downloads(original: Message) -> list[Download]:
    """Every part of the message, as it was sent."""
    return [Download(i, filename(p, i), p.media_type, len(p.data))
            for i, p in enumerate(original.parts)]
