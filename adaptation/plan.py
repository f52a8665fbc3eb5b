"""The budget: given a message's parts and a device profile, decide per part keep / convert /
shrink / drop so that the encoded m-retrieve-conf fits MmsMaxMessageSize, and say what was
done.

Order: text is re-encoded to a charset the device takes (it is small and never dropped);
images are first fitted to the screen and formats (no byte budget yet); what the budget
leaves after text is shared by audio and video in proportion to their size, and they are
transcoded within their share (:mod:`adaptation.media`), largest first, each share taken
from what the parts before it left; what they leave is shared by the
images, each shrunk only when over its share. What still does not fit is dropped, largest
first. A part that cannot be adapted (corrupt, not what its type says, a format the device
has no counterpart for) is replaced by a short text part saying what was removed and why,
so the recipient knows. The renames tell the SMIL rewrite which references changed (a new
Content-Location with the new type's extension) or now name the notice.
"""

from __future__ import annotations

import codecs
import time
import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from .ffmpeg import Ffmpeg, MediaError
from .image import ImageAdaptationError, ImageLimits, adapt_image
from .media import TARGETS, MediaLimits, adapt_media, known_types
from .uaprof import DeviceProfile

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Octets of an m-retrieve-conf beyond its parts' data: headers, and per-part headers.
HEADER_OVERHEAD = 1024
PART_OVERHEAD = 96
#: The least an audio or video part is given before it is dropped instead.
_MIN_MEDIA_SHARE = 2048
EXTENSIONS = {"image/jpeg": ".jpg", "image/gif": ".gif", "image/png": ".png",
              "image/vnd.wap.wbmp": ".wbmp", "text/plain": ".txt",
              **{media: target.extension for media, target in TARGETS.items()}}


@dataclass(frozen=True)
class MediaPart:
    """A part as the planner sees it (the MMSC's parts map onto it)."""

    content_type: str
    data: bytes
    content_id: str | None = None
    content_location: str | None = None
    charset: str | None = None

    @property
    def kind(self) -> str:
        """``text`` (SMIL included), ``image``, ``media`` (audio or video) or ``other``."""
        media = self.content_type.lower()
        if media.startswith("text/") or media == "application/smil":
            return "text"
        if media.startswith("image/"):
            return "image"
        return "media" if media.startswith(("audio/", "video/")) else "other"


@dataclass
class Plan:
    parts: list[MediaPart]
    report: list[str] = field(default_factory=list)
    #: Seconds spent adapting each image, audio or video part: (kind, seconds), in order.
    timings: list[tuple[str, float]] = field(default_factory=list)
    renames: dict[str, str | None] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return HEADER_OVERHEAD + sum(len(p.data) + PART_OVERHEAD for p in self.parts)

    @property
    def kinds(self) -> dict[str, str]:
        """The media type of each part by the references that name it (Content-Location,
        ``cid:``), for the SMIL rewrite: an element whose part changed kind becomes the
        element of the new kind."""
        kinds = {f"cid:{p.content_id}": p.content_type for p in self.parts if p.content_id}
        return kinds | {p.content_location: p.content_type for p in self.parts
                        if p.content_location}

    def weight(self, kind: str) -> int:
        return sum(len(p.data) for p in self.parts if p.kind == kind)

    def remove(self, index: int, why: str) -> None:
        """Part ``index`` replaced by the notice that says it was removed and why."""
        part = self.parts[index]
        self.report.append(f"{_label(part)}: removed ({why})")
        text = f"[{_label(part)} ({part.content_type}) was removed: {why}]"
        notice = MediaPart("text/plain", text.encode("utf-8"), part.content_id,
                           (part.content_location or "removed") + ".txt", "utf-8")
        self._renamed(part, notice)
        self.parts[index] = notice

    def changed(self, index: int, original: MediaPart, media_type: str, data: bytes,
                notes: tuple[str, ...]) -> None:
        """Part ``index`` is now ``data`` of ``media_type``: renamed when its type changed."""
        self.report.append(f"{_label(original)}: {'; '.join(notes) or 'adapted'} "
                           f"({len(original.data)} -> {len(data)} octets)")
        new = replace(original, content_type=media_type, data=data,
                      content_location=_relocated(original, media_type))
        self._renamed(original, new)
        self.parts[index] = new

    def _renamed(self, old: MediaPart, new: MediaPart) -> None:
        """The reference that named ``old`` now names ``new``: its new Content-Location, or
        the same ``cid:`` (kept in the table when only the kind changed, for the retag)."""
        if old.content_location:
            key, reference = old.content_location, new.content_location
        elif old.content_id:
            key = reference = f"cid:{old.content_id}"
        else:
            return
        if reference != key or new.content_type.split("/")[0] != \
                old.content_type.lower().split("/")[0]:
            self.renames[key] = reference


def _label(part: MediaPart) -> str:
    return part.content_location or part.content_id or part.content_type


def _relocated(part: MediaPart, media_type: str) -> str | None:
    location = part.content_location
    if not location or media_type == part.content_type.lower():
        return location
    if media_type not in EXTENSIONS:
        return location
    stem = location.rsplit(".", 1)[0] if "." in location else location
    return stem + EXTENSIONS[media_type]


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


def _attempt(result: Plan, index: int, adapt: Callable[[], T],
             refusal: type[ValueError]) -> T | None:
    """``adapt()`` for part ``index``; when it fails the part becomes the notice: a
    ``refusal`` says why, anything else is a fault of ours, logged (it must not cost the
    message)."""
    part = result.parts[index]
    kind = part.content_type.lower().partition("/")[0] if part.kind == "media" else part.kind
    started = time.perf_counter()
    try:
        return adapt()
    except refusal as exc:
        result.remove(index, str(exc))
    except Exception:  # noqa: BLE001 - see above
        log.exception("adapting %s failed", _label(result.parts[index]))
        result.remove(index, "it could not be adapted")
    finally:
        result.timings.append((kind, time.perf_counter() - started))
    return None


def _image(result: Plan, index: int, profile: DeviceProfile, budget: int | None) -> None:
    part = result.parts[index]
    limits = ImageLimits(profile.max_image[0], profile.max_image[1],
                         frozenset(m for m in ("image/jpeg", "image/png", "image/gif",
                                               "image/vnd.wap.wbmp") if profile.accepts(m)),
                         budget)
    adapted = _attempt(result, index, lambda: adapt_image(part.data, limits),
                       ImageAdaptationError)
    if adapted is not None and adapted.changed:
        result.changed(index, part, adapted.media_type, adapted.data, adapted.notes)


def _media(result: Plan, index: int, profile: DeviceProfile, budget: int,
           tools: Ffmpeg | None) -> None:
    part = result.parts[index]
    if budget < _MIN_MEDIA_SHARE:
        result.remove(index, f"no room left in this phone's {profile.max_message_size} octets")
        return
    width, height = profile.max_image
    limits = MediaLimits(frozenset(m for m in known_types() if profile.accepts(m)), budget,
                         (max(width, height), min(width, height)))
    adapted = _attempt(result, index,
                       lambda: adapt_media(part.data, part.content_type, limits, tools),
                       MediaError)
    if adapted is not None and (adapted.changed or
                                adapted.media_type != part.content_type.lower()):
        result.changed(index, part, adapted.media_type, adapted.data, adapted.notes)


def plan(parts: list[MediaPart], profile: DeviceProfile, tools: Ffmpeg | None = None) -> Plan:
    """Fit ``parts`` to ``profile`` (see the module's docstring for the order). ``tools``
    says how to run ffmpeg (default: the bundled binary)."""
    result = Plan(list(parts))
    budget = profile.max_message_size
    for index, part in enumerate(parts):
        if part.kind == "text":
            result.parts[index] = _text(part, profile, result.report)
        elif part.kind == "image":
            _image(result, index, profile, None)
        elif part.kind == "other" and not profile.accepts(part.content_type):
            result.remove(index, f"this phone cannot show {part.content_type.lower()}")
    media = sorted((i for i, p in enumerate(result.parts) if p.kind == "media"),
                   key=lambda i: -len(result.parts[i].data))
    if media:
        free = budget - result.size + result.weight("media")
        if result.weight("media") > free:
            free -= min(result.weight("image"), free // 4)  # images keep a quarter at most
        weight = result.weight("media")
        for index in media:  # largest first: what a removed part leaves goes to the next
            size = len(result.parts[index].data)
            _media(result, index, profile, max(0, free * size // max(weight, 1)), tools)
            free -= len(result.parts[index].data)
            weight -= size
    images = [i for i, p in enumerate(result.parts) if p.kind == "image"]
    if result.size > budget and images:
        free = budget - result.size + result.weight("image")
        total = result.weight("image")
        for index in images:
            share = max(512, free * len(result.parts[index].data) // max(total, 1))
            if len(result.parts[index].data) > share:
                _image(result, index, profile, share)
    while result.size > budget:
        candidates = [i for i, p in enumerate(result.parts) if p.kind != "text"]
        if not candidates:
            result.report.append(f"the text alone is over {budget} octets")
            break
        largest = max(candidates, key=lambda i: len(result.parts[i].data))
        result.remove(largest, f"the message is over this phone's {budget} octets")
    return result
