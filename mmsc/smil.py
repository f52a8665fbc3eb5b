"""The SMIL presentation of an MM: safe parsing, a typed form, generation, rewriting, checks.

The MMS SMIL profile (OMA-MMS-CONF §8 "MMS SMIL"; 3GPP TS 26.246 for the richer 3GPP profile):
``<smil><head><layout>`` with a ``root-layout`` and ``region`` elements, then a ``<body>`` of
``<par>`` slides, each with at most one image or video, one text and one audio. Handsets vary
(namespaces, clock-value forms, a missing head, ``<ref>`` for anything): reading is lenient,
writing is plain MMS SMIL without a namespace, which every MMS client reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import unquote

from lxml import etree

from mmsc import xmlsafe

#: Refuse SMIL larger than this (a presentation is a few KB; MMS messages are capped anyway).
MAX_SMIL = 256 * 1024
#: Media elements of SMIL 2.0 §7 (Media Object Modules) that MMS handsets use.
MEDIA_KINDS = ("img", "video", "text", "audio", "ref", "animation", "textstream")
#: The slide length written when nothing says otherwise (OMA-MMS-CONF recommends explicit
#: durations; 5 s is what common clients use).
DEFAULT_DURATION_MS = 5000


class SmilError(ValueError):
    """The document is not a SMIL presentation mmsc will read (or is unsafe)."""


class PartLike(Protocol):
    """What SMIL needs of a message part (``mmsc.message.MessagePart`` is one)."""

    content_type: str
    content_id: str | None  # without angle brackets
    content_location: str | None


@dataclass(frozen=True)
class RootLayout:
    width: str | None = None
    height: str | None = None
    background_color: str | None = None


@dataclass(frozen=True)
class Region:
    """A ``region`` (SMIL 2.0 BasicLayout); sizes kept as written (``176``, ``100%``)."""

    id: str
    left: str | None = None
    top: str | None = None
    width: str | None = None
    height: str | None = None
    fit: str | None = None


@dataclass(frozen=True)
class MediaRef:
    """One media element of a slide: its kind (element name), ``src`` and timing."""

    kind: str
    src: str
    region: str | None = None
    begin_ms: int | None = None
    end_ms: int | None = None
    alt: str | None = None


@dataclass(frozen=True)
class Slide:
    """A ``par``: shown for ``duration_ms`` (None: indefinite or unspecified)."""

    duration_ms: int | None
    media: tuple[MediaRef, ...] = ()


@dataclass(frozen=True)
class Presentation:
    root_layout: RootLayout | None = None
    regions: tuple[Region, ...] = ()
    slides: tuple[Slide, ...] = field(default_factory=tuple)


# -- clock values (SMIL 2.0 §10.3.1 "Clock values") ------------------------------------------------

_TIMECOUNT = re.compile(r"(\d+(?:\.\d+)?)(h|min|s|ms)?")
_CLOCK = re.compile(r"(?:(\d+):)?(\d{1,2}):(\d{2}(?:\.\d+)?)")
_UNITS = {"h": 3_600_000, "min": 60_000, "s": 1000, "ms": 1, None: 1000}


def parse_clock(value: str | None) -> int | None:
    """Milliseconds of a clock value: ``5000ms``, ``5s``, ``5`` (seconds), ``0.5min``,
    ``00:00:05``, ``00:05.5``. ``indefinite``, ``media`` and what cannot be read give None."""
    if value is None:
        return None
    text = value.strip()
    match = _TIMECOUNT.fullmatch(text)
    if match:
        return round(float(match.group(1)) * _UNITS[match.group(2)])
    match = _CLOCK.fullmatch(text)
    if match:
        hours, minutes, seconds = match.groups()
        return round(((int(hours or 0) * 60 + int(minutes)) * 60 + float(seconds)) * 1000)
    return None


# -- safe parsing ----------------------------------------------------------------------------------

def _root(data: bytes | str, max_size: int, keep_everything: bool = False) -> etree._Element:
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raw = raw.decode("utf-16").encode("utf-8")
        raw = re.sub(rb"^(<\?xml[^>]*?)\s+encoding=[\"'][^\"']*[\"']", rb"\1", raw)
    if isinstance(data, str):
        raw = re.sub(rb"^\s*<\?xml[^>]*\?>", b"", raw)  # the text is already decoded
    try:
        root = xmlsafe.parse(raw, max_size=max_size, what="SMIL", keep_everything=keep_everything)
    except xmlsafe.XmlError as exc:
        raise SmilError(str(exc)) from None
    if _local(root) != "smil":
        raise SmilError("the root element is not <smil>")
    return root


def _local(element: etree._Element) -> str:
    return xmlsafe.local_name(element).lower()


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    return [child for child in element.iter() if _local(child) == name]


def parse_smil(data: bytes | str, *, max_size: int = MAX_SMIL) -> Presentation:
    """The presentation of a SMIL document; SmilError when it is not one or is unsafe."""
    root = _root(data, max_size)
    layout = next(iter(_children(root, "root-layout")), None)
    root_layout = None if layout is None else RootLayout(
        layout.get("width"), layout.get("height"), layout.get("background-color"))
    regions = tuple(Region(r.get("id", ""), r.get("left"), r.get("top"), r.get("width"),
                           r.get("height"), r.get("fit")) for r in _children(root, "region"))
    body = next(iter(_children(root, "body")), root)
    pars = _children(body, "par") or [body]
    return Presentation(root_layout, regions, tuple(_slide(par) for par in pars))


def _slide(par: etree._Element) -> Slide:
    media = []
    durations = []
    for element in par.iter():
        kind = _local(element)
        if kind not in MEDIA_KINDS or element.get("src") is None:
            continue
        media.append(MediaRef(kind, element.get("src", "").strip(), element.get("region"),
                              parse_clock(element.get("begin")), parse_clock(element.get("end")),
                              element.get("alt")))
        durations.append(parse_clock(element.get("dur")))
    duration = parse_clock(par.get("dur")) if _local(par) == "par" else None
    if duration is None and any(d is not None for d in durations):
        duration = max(d for d in durations if d is not None)
    return Slide(duration, tuple(media))


# -- writing ---------------------------------------------------------------------------------------

def _ms(value: int) -> str:
    return f"{value}ms"


def build_smil(presentation: Presentation) -> bytes:
    """A plain MMS SMIL document (UTF-8, no namespace, durations in ``ms``)."""
    smil = etree.Element("smil")
    head = etree.SubElement(smil, "head")
    layout = etree.SubElement(head, "layout")
    if presentation.root_layout is not None:
        root = presentation.root_layout
        _attrs(etree.SubElement(layout, "root-layout"), width=root.width, height=root.height,
               **{"background-color": root.background_color})
    for region in presentation.regions:
        _attrs(etree.SubElement(layout, "region"), id=region.id, left=region.left,
               top=region.top, width=region.width, height=region.height, fit=region.fit)
    body = etree.SubElement(smil, "body")
    for slide in presentation.slides:
        par = etree.SubElement(body, "par")
        _attrs(par, dur=None if slide.duration_ms is None else _ms(slide.duration_ms))
        for media in slide.media:
            _attrs(etree.SubElement(par, media.kind), src=media.src, region=media.region,
                   begin=None if media.begin_ms is None else _ms(media.begin_ms),
                   end=None if media.end_ms is None else _ms(media.end_ms), alt=media.alt)
    return etree.tostring(smil, encoding="utf-8", xml_declaration=False, pretty_print=True)


def _attrs(element: etree._Element, **values: str | None) -> None:
    for name, value in values.items():
        if value is not None:
            element.set(name, value)


# -- a default presentation ------------------------------------------------------------------------

_NOT_SHOWN = {"text/x-vcard", "text/vcard", "text/x-vcalendar", "text/calendar",
              "text/directory"}
DEFAULT_LAYOUT = RootLayout("176", "208")
DEFAULT_REGIONS = (Region("Image", "0", "0", "100%", "80%", "meet"),
                   Region("Text", "0", "80%", "100%", "20%", "scroll"))


def reference_of(part: PartLike) -> str:
    """How SMIL refers to a part: ``cid:`` and its Content-ID, else its Content-Location."""
    if part.content_id:
        return f"cid:{part.content_id}"
    if part.content_location:
        return part.content_location
    raise SmilError(f"a {part.content_type} part has neither Content-ID nor Content-Location")


def default_presentation(parts: Sequence[PartLike],
                         duration_ms: int = DEFAULT_DURATION_MS) -> Presentation:
    """A presentation for a message that has none: one slide per image or video with the
    text and audio that follow it; text before any visual part gets its own slide; parts
    no SMIL player shows (vCard, calendar, application/*) are left out."""
    slides: list[list[MediaRef]] = []
    current: list[MediaRef] | None = None
    for part in parts:
        media = part.content_type.lower()
        major = media.split("/")[0]
        if media == "application/smil" or media in _NOT_SHOWN or major not in (
                "image", "video", "text", "audio"):
            continue
        if major in ("image", "video"):
            current = [MediaRef("img" if major == "image" else "video", reference_of(part),
                                "Image")]
            slides.append(current)
            continue
        if current is None or any(m.kind == ("text" if major == "text" else "audio")
                                  for m in current):
            current = []
            slides.append(current)
        current.append(MediaRef(major, reference_of(part), "Text" if major == "text" else None))
    return Presentation(DEFAULT_LAYOUT, DEFAULT_REGIONS,
                        tuple(Slide(duration_ms, tuple(media)) for media in slides))


# -- references ------------------------------------------------------------------------------------

def normalize_reference(src: str) -> str:
    """A reference for comparison: ``cid:`` scheme in lower case, percent-escapes decoded,
    angle brackets dropped (RFC 2392 §2; handsets write ``cid:<x>`` and ``CID:x%40y``)."""
    text = src.strip()
    if text[:4].lower() == "cid:":
        return "cid:" + unquote(text[4:]).strip().strip("<>")
    return unquote(text).strip("<>")


def resolve(src: str, parts: Sequence[PartLike]) -> PartLike | None:
    """The part a SMIL ``src`` refers to (RFC 2557 §8 and RFC 2392), trying in turn:
    ``cid:`` against Content-IDs; the Content-Location exactly, then ignoring case, then
    percent-decoded; the last path segment (``./image.jpg``, full paths); and a bare src
    equal to a Content-ID (a common handset bug)."""
    ref = normalize_reference(src)
    if ref.startswith("cid:"):
        cid = ref[4:]
        return next((p for p in parts if p.content_id == cid), None)
    located = [p for p in parts if p.content_location]
    for test in (lambda loc: loc == src.strip(),
                 lambda loc: loc.lower() == src.strip().lower(),
                 lambda loc: unquote(loc).lower() == ref.lower(),
                 lambda loc: _last_segment(loc) == _last_segment(ref)):
        found = next((p for p in located if test(p.content_location or "")), None)
        if found is not None:
            return found
    return next((p for p in parts if p.content_id and p.content_id == ref), None)


def _last_segment(location: str) -> str:
    return unquote(location).replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower()


def unresolved_references(presentation: Presentation, parts: Sequence[PartLike]) -> list[str]:
    """Every ``src`` of the presentation that names no part, in document order."""
    return [media.src for slide in presentation.slides for media in slide.media
            if resolve(media.src, parts) is None]


def rewrite_references(data: bytes | str, renames: Mapping[str, str | None], *,
                       max_size: int = MAX_SMIL) -> bytes:
    """The SMIL document with references changed after adaptation renamed, replaced or
    dropped parts: ``renames`` maps an old reference to a new one, or to None to remove
    that media element. References compare normalised (:func:`normalize_reference`);
    everything else in the document stays as it was."""
    table = {normalize_reference(old): new for old, new in renames.items()}
    root = _root(data, max_size, keep_everything=True)
    for element in list(root.iter()):
        src = element.get("src") if _local(element) in MEDIA_KINDS else None
        if src is None or normalize_reference(src) not in table:
            continue
        new = table[normalize_reference(src)]
        if new is None:
            parent = element.getparent()
            if parent is not None:
                parent.remove(element)
        else:
            element.set("src", new)
    return etree.tostring(root, encoding="utf-8")
