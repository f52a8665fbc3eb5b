"""Device capabilities from UAProf (OMA-TS-UAProf, the CC/PP RDF vocabulary): what a handset's
MMS client takes, as a :class:`DeviceProfile`.

Read: MmsMaxMessageSize, MmsMaxImageResolution, MmsCcppAccept, MmsCcppAcceptCharSet,
MmsVersion (MmsCharacteristics component) and ScreenSize (HardwarePlatform). Elements are
matched by local name, whatever the schema namespace (vendors used 2002 to 2007 ones);
``rdf:Bag`` lists and single values are both accepted. The document is parsed safely (no DTD,
no entities, no network) with a size cap (the rules of ``mmsc/xmlsafe.py``, restated here
because this library imports nothing from ``mmsc``). ``x-wap-profile-diff`` documents are
read the same way and applied over the profile (UAProf §8.2: the diff overrides what it
names)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from lxml import etree

MAX_PROFILE = 512 * 1024
_SIZE = re.compile(r"\s*(\d+)\s*[xX*]\s*(\d+)\s*")


class ProfileError(ValueError):
    """Not a UAProf document mmsc can read."""


@dataclass(frozen=True)
class DeviceProfile:
    """What one device class takes. ``accept`` holds lower-case media types (``*/*``-style
    wildcards allowed); sizes are (width, height)."""

    name: str
    max_message_size: int
    max_image: tuple[int, int]
    screen: tuple[int, int] | None = None
    accept: frozenset[str] = frozenset()
    charsets: tuple[str, ...] = ("utf-8",)
    mms_versions: tuple[str, ...] = ()

    def accepts(self, media_type: str) -> bool:
        """Whether the device takes ``media_type`` (``image/*`` and ``*/*`` honoured)."""
        media = media_type.lower()
        major = media.split("/")[0]
        return media in self.accept or f"{major}/*" in self.accept or "*/*" in self.accept


#: When nothing is known of a device: the OMA MMS Conformance "image basic" class, which
#: every MMS phone takes (30 KB messages, 160x120 images, JPEG/GIF/WBMP, AMR, plain text).
CONSERVATIVE = DeviceProfile(
    "conservative", 30 * 1024, (160, 120), (160, 120),
    frozenset({"image/jpeg", "image/gif", "image/vnd.wap.wbmp", "audio/amr", "text/plain",
               "application/smil"}), ("utf-8", "us-ascii"), ("1.0",))


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True)


def _root(data: bytes) -> etree._Element:
    if len(data) > MAX_PROFILE:
        raise ProfileError(f"profile of {len(data)} octets is over {MAX_PROFILE}")
    if re.search(rb"<!ENTITY", data, re.IGNORECASE):
        raise ProfileError("a profile that declares entities is refused")
    try:
        return etree.fromstring(data.lstrip(b"\xef\xbb\xbf \t\r\n"), _parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise ProfileError(f"not well-formed XML: {exc}") from None


def _values(root: etree._Element, name: str) -> list[str]:
    """The values of an attribute: the items of its Bag/Seq, or its own text."""
    found: list[str] = []
    for element in root.iter():
        if not isinstance(element.tag, str) or etree.QName(element).localname != name:
            continue
        items = [li.text.strip() for li in element.iter()
                 if isinstance(li.tag, str) and etree.QName(li).localname == "li" and li.text]
        if items:
            found += items
        elif element.text and element.text.strip():
            found.append(element.text.strip())
    return found


def _size(text: str | None) -> tuple[int, int] | None:
    match = _SIZE.fullmatch(text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def _read(root: etree._Element) -> dict[str, object]:
    """The attributes a document states (a diff states only some)."""
    stated: dict[str, object] = {}
    size = _values(root, "MmsMaxMessageSize")
    if size and size[0].isdigit():
        stated["max_message_size"] = int(size[0])
    image = _size(next(iter(_values(root, "MmsMaxImageResolution")), None))
    if image:
        stated["max_image"] = image
    screen = _size(next(iter(_values(root, "ScreenSize")), None))
    if screen:
        stated["screen"] = screen
    accept = _values(root, "MmsCcppAccept")
    if accept:
        stated["accept"] = frozenset(a.split(";")[0].strip().lower() for a in accept)
    charsets = _values(root, "MmsCcppAcceptCharSet")
    if charsets:
        stated["charsets"] = tuple(c.lower() for c in charsets)
    versions = _values(root, "MmsVersion")
    if versions:
        stated["mms_versions"] = tuple(versions)
    return stated


def parse_profile(data: bytes, name: str = "device") -> DeviceProfile:
    """A profile from a UAProf document; what it leaves out comes from :data:`CONSERVATIVE`
    (an image resolution it does not state falls back to its screen size)."""
    stated = _read(_root(data))
    if not stated:
        raise ProfileError("no MMS or screen attributes in this document")
    if "max_image" not in stated and "screen" in stated:
        stated["max_image"] = stated["screen"]
    return replace(CONSERVATIVE, name=name, **stated)  # type: ignore[arg-type]


def apply_diff(profile: DeviceProfile, diff: bytes) -> DeviceProfile:
    """The profile with an ``x-wap-profile-diff`` document's attributes over it."""
    stated = _read(_root(diff))
    return replace(profile, **stated) if stated else profile  # type: ignore[arg-type]


def from_accept_header(header: str, base: DeviceProfile = CONSERVATIVE) -> DeviceProfile:
    """A profile for a device that sent no UAProf but an ``Accept`` header: its media types
    over the conservative limits, trusted kind by kind. A header that names no type of a
    kind (no ``image/...``, no ``audio/...``, no ``video/...``) says nothing of that kind,
    so the ``base`` types of that kind stay, less those it refuses with q=0
    (``image/gif;q=0``, ``audio/*;q=0``): MMS clients send
    ``application/vnd.wap.mms-message`` alone, or after ``*/*``, and show pictures all the
    same. ``*/*`` names no kind: every browser sends it."""
    named: set[str] = set()
    refused: set[str] = set()
    for item in header.split(","):
        kind, _, params = item.strip().partition(";")
        media = kind.strip().lower()
        if "/" not in media or media == "*/*":
            continue
        if re.search(r"\bq\s*=\s*0(?:\.0*)?\s*$", params):
            refused.add(media)
        else:
            named.add(media)
    if not named and not refused:
        return base
    majors = {media.split("/")[0] for media in named}
    kept = {media for media, major in ((m, m.split("/")[0]) for m in base.accept)
            if major not in majors and not {media, f"{major}/*"} & refused}
    return replace(base, name="accept-header", accept=frozenset(named | kept))


#: User-Agent patterns of MMS clients -> the fixture device class closest to them, for a
#: handset that sends no usable x-wap-profile. First match wins, case-insensitively,
#: anywhere in the header. By platform: the Android and iOS releases, the smartphone
#: systems of the late 2000s, then Java ME phones by their MIDP version (MIDP-2.0 came with
#: the 2004-2008 feature phones, MIDP-1.0 before), then WAP 1.x browsers. The classes are
#: those of ``fixtures/uaprof/``.
USER_AGENTS: tuple[tuple[str, str], ...] = (
    (r"Android[ /](1[0-9]|[2-9][0-9])\b", "smartphone-2024"),
    (r"Android[ /][5-9]\b", "android-2018"),
    (r"Android[ /][2-4]\b|Android-Mms", "android-2012"),
    (r"iPhone|iPad", "iphone-2016"),
    (r"SymbianOS/9|Series60/3|BlackBerry|Windows CE|Windows Phone|webOS", "smartphone-2009"),
    (r"Series40|Profile/MIDP-2", "feature-2007"),
    (r"Profile/MIDP-1", "basic-2005"),
    (r"UP\.Browser/[1-4]\.", "wap-2004"),
)


def from_user_agent(header: str, profiles: Mapping[str, DeviceProfile]) -> DeviceProfile | None:
    """The device class of :data:`USER_AGENTS` that ``header`` matches, when ``profiles``
    holds it; None when no pattern matches (then the Accept header, else the conservative
    class, decide)."""
    for pattern, name in USER_AGENTS:
        if name in profiles and re.search(pattern, header or "", re.IGNORECASE):
            return profiles[name]
    return None
