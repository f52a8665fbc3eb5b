"""The SMIL presentation of an MM: safe parsing, a typed form, generation, rewriting, checks.

MMS SMIL is the small subset of SMIL 2.0 that OMA-MMS-CONF (section "MMS SMIL") defines, with
3GPP TS 26.246 as the richer 3GPP profile: a ``<head><layout>`` with one ``root-layout`` and
``region`` elements (SMIL 2.0 §5, BasicLayout), then a ``<body>`` of ``<par>`` slides, each
with at most one image or video, one text and one audio (SMIL 2.0 §7, media objects).

Reading is lenient, because handsets vary: with or without the SMIL 2.0 namespace, any clock
value form, a missing head or layout, ``<ref>`` for anything, media outside a ``par``, a BOM
or an XML declaration naming another encoding. Writing is plain MMS SMIL in UTF-8 without a
namespace or XML declaration: what the OMA-MMS-CONF examples show and every MMS client reads.

Dimensions (``width``, ``left``, ...) stay text as written (``176``, ``100%``, ``320px``):
SMIL allows pixels and percentages, and the presentation keeps what the author wrote.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from itertools import islice
from typing import Protocol, TypeVar
from urllib.parse import unquote

from lxml import etree

from mmsc import xmlsafe

#: Refuse SMIL larger than this: a presentation is a few kilobytes.
MAX_SMIL = 256 * 1024
#: The media object elements of SMIL 2.0 §7.3 (BasicMedia).
MEDIA_KINDS = ("img", "video", "text", "audio", "ref", "animation", "textstream")
#: The slide length of a default presentation: OMA-MMS-CONF asks for explicit slide
#: durations, and 5 s is what common clients write.
DEFAULT_DURATION_MS = 5000


class SmilError(ValueError):
    """The document is not a SMIL presentation mmsc will read (or is unsafe), or a
    presentation cannot be written."""


class PartLike(Protocol):
    """What SMIL needs of a message part (``mmsc.message.MessagePart`` is one)."""

    @property
    def content_type(self) -> str:
        """The media type (``image/jpeg``), in any case."""

    @property
    def content_id(self) -> str | None:
        """The Content-ID without its angle brackets (RFC 2392)."""

    @property
    def content_location(self) -> str | None:
        """The Content-Location (RFC 2557 §4.2)."""


P = TypeVar("P", bound=PartLike)


@dataclass(frozen=True)
class RootLayout:
    """The ``root-layout`` (SMIL 2.0 §5.3.1): the size of the whole presentation."""

    width: str | None = None
    height: str | None = None
    background_color: str | None = None


@dataclass(frozen=True)
class Region:
    """A ``region`` (SMIL 2.0 §5.3.1): where media that name its ``id`` are shown."""

    id: str
    left: str | None = None
    top: str | None = None
    width: str | None = None
    height: str | None = None
    fit: str | None = None


@dataclass(frozen=True)
class MediaRef:
    """One media object of a slide (SMIL 2.0 §7.3): its element name as ``kind``, its
    ``src`` as written, and its timing relative to the slide (SMIL 2.0 §10)."""

    kind: str
    src: str
    region: str | None = None
    begin_ms: int | None = None
    end_ms: int | None = None
    alt: str | None = None


@dataclass(frozen=True)
class Slide:
    """A ``par`` (SMIL 2.0 §10.2): its media shown together for ``duration_ms`` (None:
    indefinite or unspecified). Any sequence of media is kept as a tuple."""

    duration_ms: int | None
    media: tuple[MediaRef, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "media", tuple(self.media))


@dataclass(frozen=True)
class Presentation:
    """A whole presentation; sequences are kept as tuples, so a presentation built from
    lists equals the one read back."""

    root_layout: RootLayout | None = None
    regions: tuple[Region, ...] = ()
    slides: tuple[Slide, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "regions", tuple(self.regions))
        object.__setattr__(self, "slides", tuple(self.slides))


# -- clock values ----------------------------------------------------------------------------------

#: Clock values read and written have at most 15 integer digits (over 30,000 years in ms):
#: the bound keeps absurd values from costing time or memory.
_MAX_MS = 10**15
_TIMECOUNT = re.compile(r"(\d{1,15}(?:\.\d+)?)\s*(h|min|s|ms)?", re.IGNORECASE)
_CLOCK = re.compile(r"(?:(\d{1,15}):)?(\d{1,2}):(\d{1,2}(?:\.\d+)?)")
_UNIT_MS = {"h": 3_600_000, "min": 60_000, "s": 1000, "ms": 1}


def parse_clock(value: str | None) -> int | None:
    """Milliseconds of a SMIL 2.0 clock value (§10.3.1): a timecount with an optional
    metric (``5000ms``, ``5s``, ``0.5min``, ``1h``; no metric means seconds, so ``5`` is
    5 s) or a full or partial clock value (``00:00:05``, ``01:02:03.5``, ``02:30``).
    Leniently, a space before the metric and any case are accepted (``5000 ms``, ``5S``).
    ``indefinite``, ``media``, event values, signed or absurdly long values give None."""
    if value is None:
        return None
    text = value.strip()
    count = _TIMECOUNT.fullmatch(text)
    if count:
        ms = Decimal(count.group(1)) * _UNIT_MS[(count.group(2) or "s").lower()]
    else:
        clock = _CLOCK.fullmatch(text)
        if clock is None:
            return None
        hours, minutes, seconds = clock.group(1) or "0", clock.group(2), Decimal(clock.group(3))
        if int(minutes) > 59 or seconds >= 60:
            return None
        ms = ((int(hours) * 60 + int(minutes)) * 60 + seconds) * 1000
    return int(ms.to_integral_value(ROUND_HALF_UP))


def _clock_text(ms: int | None) -> str | None:
    if ms is None:
        return None
    if not 0 <= ms < _MAX_MS:
        raise SmilError(f"a time of {ms} ms cannot be written")
    return f"{ms}ms"


# -- safe parsing ----------------------------------------------------------------------------------

_XML_DECLARATION = re.compile(r"\A\s*<\?xml\s[^>]*\?>")


def _parse(data: bytes | str, max_size: int, keep_everything: bool = False) -> etree._Element:
    """The ``smil`` root of ``data`` read with :mod:`mmsc.xmlsafe` (no DTD loading, no entity
    expansion, no network, no huge trees, a size cap, and any document whose DTD declares
    an entity refused, whatever its encoding)."""
    if isinstance(data, str):
        # Already decoded: a declaration naming another encoding would now be a lie.
        text = _XML_DECLARATION.sub("", data.lstrip("\ufeff"), count=1)
        try:
            raw = text.encode("utf-8")
        except UnicodeEncodeError:
            raise SmilError("SMIL text holds characters that are not Unicode scalars") from None
    else:
        raw = bytes(data)
    try:
        root = xmlsafe.parse(raw, max_size=max_size, what="SMIL", keep_everything=keep_everything)
    except xmlsafe.XmlError as exc:
        raise SmilError(str(exc)) from None
    if xmlsafe.local_name(root).lower() != "smil":
        raise SmilError(f"the root element is <{xmlsafe.local_name(root)}>, not <smil>")
    return root


def _name(element: etree._Element, namespace: str | None) -> str:
    """The lower-case local name of an element in the document's SMIL namespace (the one
    of its root, or none); "" for elements of other namespaces, which are extensions."""
    if etree.QName(element).namespace != namespace:
        return ""
    return xmlsafe.local_name(element).lower()


def _children(element: etree._Element, namespace: str | None) -> Iterator[etree._Element]:
    """The child elements, with each ``switch`` replaced by its first child: SMIL 2.0 §4.3
    (BasicContentControl) plays the first acceptable one, and MMS carries no test
    attributes worth evaluating."""
    for child in element.iterchildren(etree.Element):
        if _name(child, namespace) == "switch":
            yield from islice(_children(child, namespace), 1)
        else:
            yield child


def parse_smil(data: bytes | str, *, max_size: int = MAX_SMIL) -> Presentation:
    """The presentation of a SMIL document; SmilError when it is not one or is unsafe.

    The layout is the first ``root-layout`` and every ``region`` with an ``id`` outside the
    body. Each ``par`` is a slide holding every media element inside it; ``seq`` and
    ``excl`` contribute their own slides in order; consecutive media outside any ``par``
    (not MMS SMIL, but seen from gateways) make one slide. Media without ``src`` and
    unknown elements are ignored."""
    root = _parse(data, max_size)
    namespace = etree.QName(root).namespace
    root_layout = None
    regions = []
    body = None
    for child in _children(root, namespace):
        if _name(child, namespace) == "body":
            body = child if body is None else body
            continue
        for element in child.iter(etree.Element):
            name = _name(element, namespace)
            if name == "root-layout" and root_layout is None:
                root_layout = RootLayout(element.get("width"), element.get("height"),
                                         element.get("background-color"))
            elif name == "region" and (region_id := element.get("id")) is not None:
                regions.append(Region(region_id, element.get("left"), element.get("top"),
                                      element.get("width"), element.get("height"),
                                      element.get("fit")))
    slides = _sequence(_children(root if body is None else body, namespace), namespace)
    return Presentation(root_layout, tuple(regions), tuple(slides))


def _sequence(elements: Iterable[etree._Element], namespace: str | None) -> list[Slide]:
    """The slides of a time container's children, in order."""
    slides: list[Slide] = []
    loose: list[etree._Element] = []
    for element in elements:
        name = _name(element, namespace)
        if name in MEDIA_KINDS:
            loose.append(element)
            continue
        if name not in ("par", "seq", "excl"):
            continue
        if loose:
            slides.append(_slide(loose, None))
            loose = []
        if name == "par":
            slides.append(_slide(_media(element, namespace), element.get("dur")))
        else:
            slides.extend(_sequence(_children(element, namespace), namespace))
    if loose:
        slides.append(_slide(loose, None))
    return slides


def _media(element: etree._Element, namespace: str | None) -> list[etree._Element]:
    """The media elements inside a ``par``, in document order, whatever wraps them."""
    found = []
    for child in _children(element, namespace):
        if _name(child, namespace) in MEDIA_KINDS:
            found.append(child)
        else:
            found.extend(_media(child, namespace))
    return found


def _slide(elements: list[etree._Element], dur: str | None) -> Slide:
    """A slide of media elements. Its duration is the ``par``'s ``dur``; when that is
    missing or unreadable (not ``indefinite``), the implicit duration of a ``par``, the
    latest end of its children (SMIL 2.0 §10.3.3), counting the media that give a ``dur``
    (their ``begin`` plus their ``dur``)."""
    media = []
    ends = []
    for element in elements:
        src = element.get("src")
        if src is None:
            continue
        begin = parse_clock(element.get("begin"))
        media.append(MediaRef(xmlsafe.local_name(element).lower(), src, element.get("region"),
                              begin, parse_clock(element.get("end")), element.get("alt")))
        length = parse_clock(element.get("dur"))
        if length is not None:
            ends.append((begin or 0) + length)
    duration = parse_clock(dur)
    if duration is None and (dur or "").strip() != "indefinite" and ends:
        duration = max(ends)
    return Slide(duration, tuple(media))


# -- writing ---------------------------------------------------------------------------------------

def build_smil(presentation: Presentation) -> bytes:
    """A plain MMS SMIL document: UTF-8 without an XML declaration (the XML default, so
    none is needed), no namespace (the OMA-MMS-CONF examples have none, and handsets that
    match element names literally read it), times in ``ms``. SmilError for a value XML
    cannot carry, a media kind that is not a SMIL media element, or a negative time."""
    smil = etree.Element("smil")
    layout = etree.SubElement(etree.SubElement(smil, "head"), "layout")
    body = etree.SubElement(smil, "body")
    try:
        if presentation.root_layout is not None:
            root = presentation.root_layout
            _set(etree.SubElement(layout, "root-layout"), width=root.width, height=root.height,
                 **{"background-color": root.background_color})
        for region in presentation.regions:
            _set(etree.SubElement(layout, "region"), id=region.id, left=region.left,
                 top=region.top, width=region.width, height=region.height, fit=region.fit)
        for slide in presentation.slides:
            _write_slide(body, slide)
    except SmilError:
        raise
    except ValueError as exc:  # lxml refuses text XML 1.0 cannot hold
        raise SmilError(f"the presentation cannot be written as XML: {exc}") from None
    return etree.tostring(smil, encoding="utf-8", pretty_print=True)


def _write_slide(parent: etree._Element, slide: Slide) -> None:
    """A ``par`` for ``slide`` at the end of ``parent``, in ``parent``'s namespace."""
    namespace = etree.QName(parent).namespace
    par = etree.SubElement(parent, etree.QName(namespace, "par").text)
    _set(par, dur=_clock_text(slide.duration_ms))
    for media in slide.media:
        if media.kind not in MEDIA_KINDS:
            raise SmilError(f"<{media.kind}> is not a SMIL media element")
        _set(etree.SubElement(par, etree.QName(namespace, media.kind).text), src=media.src,
             region=media.region, begin=_clock_text(media.begin_ms),
             end=_clock_text(media.end_ms), alt=media.alt)


def _set(element: etree._Element, **values: str | None) -> None:
    for name, value in values.items():
        if value is not None:
            element.set(name, value)


# -- a default presentation ------------------------------------------------------------------------

#: The default layout: a QCIF-class portrait screen in pixels (some clients size their
#: canvas from the root-layout and need pixels there), regions in percent of it (SMIL 2.0
#: §5.3.1) so that clients which scale to their own screen keep the proportions.
DEFAULT_ROOT_LAYOUT = RootLayout("176", "208")
DEFAULT_REGIONS = (Region("Image", "0", "0", "100%", "70%", "meet"),
                   Region("Text", "0", "70%", "100%", "30%", "scroll"))
_DEFAULT_REGION = {"visual": "Image", "text": "Text"}


def reference_of(part: PartLike) -> str:
    """How SMIL refers to a part: ``cid:`` and its Content-ID (RFC 2392) as it is, else its
    Content-Location as it is; not percent-encoded, because handsets (AOSP among them)
    compare the src with the header literally. SmilError when the part has neither."""
    content_id = _cid(part)
    if content_id:
        return f"cid:{content_id}"
    if part.content_location:
        return part.content_location
    raise SmilError(f"a {part.content_type} part has neither Content-ID nor Content-Location")


def _role(part: PartLike) -> str | None:
    """The SMIL element that presents a part, or None when MMS SMIL has none for it: images,
    video and audio, and text/plain (the text class of OMA-MMS-CONF); vCard, vCalendar,
    other text and application/* are attachments, not slides."""
    media = part.content_type.split(";")[0].strip().lower()
    major = media.split("/")[0]
    if major == "image":
        return "img"
    if major in ("video", "audio"):
        return major
    return "text" if media == "text/plain" else None


def _slot(kind: str) -> str:
    """What a media element occupies on a slide: the visual, the text or the audio."""
    return kind if kind in ("text", "audio") else "visual"


def default_presentation(parts: Sequence[PartLike],
                         duration_ms: int = DEFAULT_DURATION_MS) -> Presentation:
    """A presentation for a message that has none, in part order: each image or video
    starts a slide; text and audio join the current slide while it has no text (or
    audio) yet, else start their own, so text before any image gets its own slide and
    each slide keeps the MMS SMIL limit of one visual, one text and one audio.
    Parts with no SMIL role are left out; SmilError when a presented part has no
    Content-ID or Content-Location to refer to (the caller gives every part one)."""
    return Presentation(DEFAULT_ROOT_LAYOUT, DEFAULT_REGIONS, tuple(
        Slide(duration_ms, tuple(_shown(part, _DEFAULT_REGION) for part in group))
        for group in _grouped(parts)))


def _grouped(parts: Iterable[P]) -> list[list[P]]:
    """The parts that have a SMIL role, in slides as :func:`default_presentation` makes
    them."""
    slides: list[list[P]] = []
    for part in parts:
        role = _role(part)
        if role is None:
            continue
        slot = _slot(role)
        if slot == "visual" or not slides or any(_slot(_role(p) or "") == slot
                                                 for p in slides[-1]):
            slides.append([])
        slides[-1].append(part)
    return slides


def _shown(part: PartLike, regions: Mapping[str, str]) -> MediaRef:
    """The media element that shows ``part`` (it has a role), in the region of its slot."""
    role = _role(part) or "ref"
    return MediaRef(role, reference_of(part), regions.get(_slot(role)))


# -- references ------------------------------------------------------------------------------------

def normalize_reference(src: str) -> str:
    """A reference for comparison (RFC 2392 §2): surrounding space and angle brackets
    dropped, the ``cid:`` scheme in lower case (URL schemes are case-insensitive, RFC 3986
    §3.1), percent-escapes decoded, and the angle brackets of a Content-ID written inside
    the URL dropped (handsets write ``cid:<x>`` and ``CID:%3Cx%3E``)."""
    text = src.strip().strip("<>")
    if text[:4].lower() == "cid:":
        return "cid:" + unquote(text[4:]).strip().strip("<>")
    return unquote(text).strip()


def _cid(part: PartLike) -> str | None:
    return (part.content_id or "").strip().strip("<>") or None


def _last_segment(decoded: str) -> str:
    """The last path segment of a percent-decoded location, in either slash, ignoring case."""
    return decoded.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].casefold()


def resolve(src: str, parts: Sequence[PartLike]) -> PartLike | None:
    """The part a SMIL ``src`` refers to, or None.

    ``cid:X`` names the part whose Content-ID is X (RFC 2392 §2; RFC 2557 §8.1): percent-
    decoded, angle brackets dropped, compared case-sensitively, the first such part.
    Any other src is a URI matched against Content-Locations (RFC 2557 §8.2), trying in
    turn: the same text (the first such part); then, each needing exactly one part to
    match, the same text ignoring case; the same once both are percent-decoded; a bare
    src equal to a Content-ID (handsets forget ``cid:``); the same last path segment
    (``./image.jpg``, ``C:\\Photos\\image.jpg``). A src that several parts match equally
    loosely resolves to none: guessing would show the wrong picture."""
    ref = normalize_reference(src)
    if ref.startswith("cid:"):
        return next((p for p in parts if _cid(p) == ref[4:]), None)
    if not ref:
        return None
    for found in _candidates(src.strip(), ref, parts):
        if found:
            return found[0] if len(found) == 1 else None
    return None


def _candidates(text: str, ref: str, parts: Sequence[PartLike]) -> Iterator[list[PartLike]]:
    """The parts a src that is not a ``cid:`` URL matches, rule by rule as :func:`resolve`
    tries them, loosest last; only the first of several exact matches."""
    located = [(p, location) for p in parts if (location := p.content_location)]
    yield [p for p, location in located if location == text][:1]
    yield [p for p, location in located if location.casefold() == text.casefold()]
    yield [p for p, location in located if unquote(location).strip().casefold() == ref.casefold()]
    yield [p for p in parts if _cid(p) == ref]
    segment = _last_segment(ref)
    yield [p for p, location in located
           if segment and _last_segment(unquote(location)) == segment]


def unresolved_references(presentation: Presentation, parts: Sequence[PartLike]) -> list[str]:
    """Every ``src`` of the presentation that :func:`resolve` cannot find among ``parts``,
    once each, in document order."""
    broken = [media.src for slide in presentation.slides for media in slide.media
              if resolve(media.src, parts) is None]
    return list(dict.fromkeys(broken))


@dataclass(frozen=True)
class Unshown:
    """The parts with a SMIL role (image, video, audio, text/plain) that no slide shows, as
    :func:`unshown` places them: ``matched`` maps a media element's kind and ``src`` that
    names no part (``("text", "Hello")``) to the part it stands for; ``slides`` holds the others, grouped as :func:`default_presentation`
    groups parts, for slides after the last."""

    matched: Mapping[tuple[str, str], PartLike]
    slides: tuple[tuple[PartLike, ...], ...]

    def __bool__(self) -> bool:
        return bool(self.matched or self.slides)


def unshown(presentation: Presentation, parts: Sequence[PartLike]) -> Unshown:
    """Where the parts that no ``src`` of ``presentation`` resolves to (:func:`resolve`)
    belong, as phones show them: clients write the text itself as a text's ``src``, or a
    location the part does not carry, and phones show the parts anyway.

    A ``src`` that names no part takes the one part of its element's kind (``img``, a
    picture; ``text``, text/plain; ``audio``; ``video``) that no slide shows, when it is
    the only such ``src`` of its kind and that part the only candidate; anything less
    certain would guess. Every other such part goes on slides after the last, in message
    order. Parts without a SMIL role (the SMIL itself, vCards, ...) stay attachments."""
    shown: set[int] = set()
    failing: dict[str, list[str]] = {}
    for slide in presentation.slides:
        for media in slide.media:
            part = resolve(media.src, parts)
            if part is not None:
                shown.add(id(part))
            elif media.src not in failing.setdefault(media.kind, []):
                failing[media.kind].append(media.src)
    waiting = [p for p in parts if _role(p) is not None and id(p) not in shown]
    matched: dict[tuple[str, str], PartLike] = {}
    for kind, sources in failing.items():
        candidates = [p for p in waiting if _role(p) == kind]
        if len(sources) == 1 and len(candidates) == 1:
            matched[kind, sources[0]] = candidates[0]
    placed = {id(p) for p in matched.values()}
    rest = [p for p in waiting if id(p) not in placed]
    return Unshown(matched, tuple(tuple(group) for group in _grouped(rest)))


def _added_slides(presentation: Presentation, found: Unshown) -> list[Slide]:
    """The slides after the last for the unmatched parts, each medium in the region that
    the presentation's media of the same slot use first (none when they use none)."""
    regions: dict[str, str] = {}
    for slide in presentation.slides:
        for media in slide.media:
            if media.region is not None:
                regions.setdefault(_slot(media.kind), media.region)
    return [Slide(DEFAULT_DURATION_MS, tuple(_shown(part, regions) for part in group))
            for group in found.slides]


def complete(presentation: Presentation, parts: Sequence[PartLike]) -> Presentation:
    """``presentation`` showing every part :func:`unshown` finds: a matched ``src`` replaced
    by its part's reference (:func:`reference_of`), the other parts on slides after the
    last. SmilError when a part to show has neither Content-ID nor Content-Location."""
    found = unshown(presentation, parts)
    if not found:
        return presentation
    slides = [Slide(slide.duration_ms, tuple(
        replace(media, src=reference_of(found.matched[media.kind, media.src]))
        if (media.kind, media.src) in found.matched else media for media in slide.media))
        for slide in presentation.slides]
    return replace(presentation, slides=(*slides, *_added_slides(presentation, found)))


def complete_document(data: bytes, parts: Sequence[PartLike], *,
                      max_size: int = MAX_SMIL) -> bytes:
    """The SMIL document changed as :func:`complete` changes its presentation: each media
    element whose ``src`` was matched names its part, and a ``par`` per added slide ends
    the body. Everything else stays as written (as :func:`rewrite_references` keeps it); a
    document that shows every part is returned unchanged. SmilError when the document is
    not SMIL that :func:`parse_smil` reads, or a part to show has no reference."""
    presentation = parse_smil(data, max_size=max_size)
    found = unshown(presentation, parts)
    if not found:
        return data
    root = _parse(data, max_size, keep_everything=True)
    namespace = etree.QName(root).namespace
    body = next((c for c in _children(root, namespace) if _name(c, namespace) == "body"), root)
    try:
        for element in root.iter(etree.Element):
            key = (_name(element, namespace), element.get("src") or "")
            if key in found.matched:
                element.set("src", reference_of(found.matched[key]))
        for slide in _added_slides(presentation, found):
            _write_slide(body, slide)
    except ValueError as exc:  # lxml refuses a reference XML 1.0 cannot hold
        if isinstance(exc, SmilError):
            raise
        raise SmilError(f"a reference cannot be written as XML: {exc}") from None
    declared = data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<?xml")
    return etree.tostring(root.getroottree(), encoding="UTF-8", xml_declaration=declared)


def rewrite_references(data: bytes, renames: Mapping[str, str | None], *,
                       parts: Sequence[PartLike] = (), kinds: Mapping[str, str] | None = None,
                       max_size: int = MAX_SMIL) -> bytes:
    """The SMIL document with its references changed after adaptation renamed, replaced or
    dropped parts. ``renames`` maps an old reference to its new one, or to None to remove
    the elements that refer to it; a ``src`` matches when it is the same once both are
    normalised (:func:`normalize_reference`), or, given the message's ``parts`` as they
    were, when it resolves (:func:`resolve`, with its handset leniencies: ``./photo.png``)
    to a part whose Content-Location or ``cid:`` reference is renamed. ``kinds`` gives the
    media type of the part a new reference names: a media element whose part changed kind
    takes the element of the new one (an ``img`` replaced by the text saying it was
    removed becomes a ``text``; a voice note declared as video becomes an ``audio``), as
    OMA-MMS-CONF pairs each element with its media class. Everything else stays as
    written: other attributes, unknown elements, comments, the doctype, order and layout;
    the encoding becomes UTF-8 (the declaration, when there was one, says so). A document
    with no matching reference is returned unchanged. SmilError when the document is not
    SMIL that :func:`parse_smil` would read."""
    table = {normalize_reference(old): new for old, new in renames.items()}
    root = _parse(data, max_size, keep_everything=True)
    changed = False
    for element in list(root.iter(etree.Element)):
        src = element.get("src")
        if src is None:
            continue
        key = _renamed(src, table, parts)
        if key is None:
            continue
        new = table[key]
        parent = element.getparent()
        if new is not None:
            element.set("src", new)
            _retag(element, (kinds or {}).get(new))
        elif parent is not None:
            _remove(parent, element)
        else:
            continue
        changed = True
    if not changed:
        return data
    declared = data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<?xml")
    return etree.tostring(root.getroottree(), encoding="UTF-8", xml_declaration=declared)


def _renamed(src: str, table: Mapping[str, str | None],
             parts: Sequence[PartLike]) -> str | None:
    """The key of ``table`` that ``src`` stands for, or None."""
    ref = normalize_reference(src)
    if ref in table:
        return ref
    part = resolve(src, parts) if parts else None
    if part is None:
        return None
    for key in (part.content_location, f"cid:{_cid(part)}" if _cid(part) else None):
        if key is not None and normalize_reference(key) in table:
            return normalize_reference(key)
    return None


def _retag(element: etree._Element, media_type: str | None) -> None:
    """``element`` renamed after the media class of ``media_type`` (keeping its namespace),
    when it is a media element of another class; ``ref`` fits every class and stays."""
    name = xmlsafe.local_name(element).lower()
    role = _role(_Typed(media_type)) if media_type else None
    if role is None or name == role or name == "ref" or name not in MEDIA_KINDS:
        return
    element.tag = etree.QName(etree.QName(element).namespace, role).text


@dataclass(frozen=True)
class _Typed:
    """A part known by its media type only (for :func:`_role`)."""

    content_type: str
    content_id: str | None = None
    content_location: str | None = None


def _remove(parent: etree._Element, element: etree._Element) -> None:
    """Remove ``element``; the space after it takes the place of the space before it, so
    the indentation stays as written."""
    previous = element.getprevious()
    if previous is not None:
        previous.tail = element.tail
    else:
        parent.text = element.tail
    parent.remove(element)
