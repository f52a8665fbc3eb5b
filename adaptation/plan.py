"""The budget: given a message's parts and a device profile, decide per part keep / convert /
shrink / drop so that the message fits MmsMaxMessageSize, and say what was done.

Built for images and text so far; audio and video parts are kept when the device takes their
type and dropped otherwise (their transcoding comes with ``media.py``). A dropped part is
replaced by a short text part saying what was removed, so the recipient knows. The renames
tell the SMIL rewrite which references changed (a new Content-Location) or went (None).
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field, replace

from .image import ImageAdaptationError, ImageLimits, adapt_image
from .uaprof import DeviceProfile

#: Octets of an m-retrieve-conf beyond its parts' data: headers, and per-part headers.
HEADER_OVERHEAD = 1024
PART_OVERHEAD = 96
_EXTENSIONS = {"image/jpeg": ".jpg", "image/gif": ".gif", "image/png": ".png",
               "image/vnd.wap.wbmp": ".wbmp", "text/plain": ".txt"}


@dataclass(frozen=True)
class MediaPart:
    """A part as the planner sees it (the MMSC's parts map onto it)."""

    content_type: str
    data: bytes
    content_id: str | None = None
    content_location: str | None = None
    charset: str | None = None


@dataclass
class Plan:
    parts: list[MediaPart]
    report: list[str] = field(default_factory=list)
    renames: dict[str, str | None] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return HEADER_OVERHEAD + sum(len(p.data) + PART_OVERHEAD for p in self.parts)


def _label(part: MediaPart) -> str:
    return part.content_location or part.content_id or part.content_type


def _relocated(part: MediaPart, media_type: str) -> str | None:
    location = part.content_location
    if not location or media_type == part.content_type.lower():
        return location
    stem = location.rsplit(".", 1)[0] if "." in location else location
    return stem + _EXTENSIONS.get(media_type, "")


def _notice(part: MediaPart, why: str) -> MediaPart:
    text = f"[{_label(part)} ({part.content_type}) was removed: {why}]"
    return MediaPart("text/plain", text.encode("utf-8"), part.content_id,
                     (part.content_location or "removed") + ".txt", "utf-8")


def _text(part: MediaPart, profile: DeviceProfile, report: list[str]) -> MediaPart:
    """Text in a charset the device takes (UTF-8 when it takes it, else its first)."""
    charset = (part.charset or "us-ascii").lower()
    if charset in profile.charsets or part.content_type.lower() == "application/smil":
        return part
    target = "utf-8" if "utf-8" in profile.charsets else profile.charsets[0]
    try:
        data = part.data.decode(codecs.lookup(charset).name).encode(target)
    except (LookupError, UnicodeError):
        return part
    report.append(f"{_label(part)}: text re-encoded from {charset} to {target}")
    return replace(part, data=data, charset=target)


def _image(part: MediaPart, profile: DeviceProfile, budget: int | None,
           report: list[str], renames: dict[str, str | None]) -> MediaPart:
    limits = ImageLimits(profile.max_image[0], profile.max_image[1],
                         frozenset(m for m in ("image/jpeg", "image/png", "image/gif",
                                               "image/vnd.wap.wbmp") if profile.accepts(m)),
                         budget)
    try:
        adapted = adapt_image(part.data, limits)
    except ImageAdaptationError as exc:
        report.append(f"{_label(part)}: removed ({exc})")
        if part.content_location:
            renames[part.content_location] = part.content_location + ".txt"
        return _notice(part, str(exc))
    if not adapted.changed:
        return part
    location = _relocated(part, adapted.media_type)
    if part.content_location and location != part.content_location:
        renames[part.content_location] = location
    report.append(f"{_label(part)}: {'; '.join(adapted.notes) or 'adapted'} "
                  f"({len(part.data)} -> {len(adapted.data)} octets)")
    return replace(part, content_type=adapted.media_type, data=adapted.data,
                   content_location=location)


def plan(parts: list[MediaPart], profile: DeviceProfile) -> Plan:
    """Fit ``parts`` to ``profile``: images adapted to the device (then shrunk to share
    what the budget leaves), text re-encoded, other media kept when accepted; what still
    does not fit is dropped, largest first, with a notice."""
    result = Plan([], [], {})
    for part in parts:
        media = part.content_type.lower()
        if media.startswith("text/") or media == "application/smil":
            result.parts.append(_text(part, profile, result.report))
        elif media.startswith("image/"):
            result.parts.append(_image(part, profile, None, result.report, result.renames))
        elif profile.accepts(media):
            result.parts.append(part)
        else:
            result.report.append(f"{_label(part)}: removed, the device does not take {media}")
            if part.content_location:
                result.renames[part.content_location] = part.content_location + ".txt"
            result.parts.append(_notice(part, f"this phone cannot show {media}"))
    budget = profile.max_message_size
    images = [i for i, p in enumerate(result.parts) if p.content_type.startswith("image/")]
    if result.size > budget and images:
        others = result.size - sum(len(result.parts[i].data) for i in images)
        share = max(512, (budget - others) // len(images))
        for i in images:
            if len(result.parts[i].data) > share:
                result.parts[i] = _image(result.parts[i], profile, share, result.report,
                                         result.renames)
    while result.size > budget:
        candidates = [i for i, p in enumerate(result.parts)
                      if not p.content_type.startswith("text/") and p.content_type !=
                      "application/smil"]
        if not candidates:
            result.report.append(f"the text alone is over {budget} octets")
            break
        largest = max(candidates, key=lambda i: len(result.parts[i].data))
        part = result.parts[largest]
        result.report.append(f"{_label(part)}: removed to fit {budget} octets")
        if part.content_location:
            result.renames[part.content_location] = part.content_location + ".txt"
        result.parts[largest] = _notice(part, f"the message is over this phone's {budget} "
                                        "octets")
    return result
