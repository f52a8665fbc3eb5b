"""UAProf: the project's device profiles, vendor-style variants, diffs, and fallbacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from adaptation.uaprof import (
    CONSERVATIVE, ProfileError, apply_diff, from_accept_header, parse_profile,
)

PROFILES = Path(__file__).resolve().parent.parent / "fixtures" / "uaprof"


@pytest.mark.parametrize("path", sorted(PROFILES.glob("*.rdf")), ids=lambda p: p.stem)
def test_every_fixture_profile_reads(path: Path) -> None:
    profile = parse_profile(path.read_bytes(), path.stem)
    assert profile.name == path.stem and profile.max_message_size >= 30 * 1024
    assert profile.max_image[0] > 0 and profile.screen is not None
    assert profile.accepts("application/smil") and profile.charsets


def test_values_of_two_device_classes() -> None:
    old = parse_profile((PROFILES / "basic-2005.rdf").read_bytes(), "basic-2005")
    assert (old.max_message_size, old.max_image, old.screen) == (30720, (160, 120), (128, 128))
    assert old.accepts("image/vnd.wap.wbmp") and not old.accepts("video/mp4")
    new = parse_profile((PROFILES / "android-2018.rdf").read_bytes())
    assert new.accepts("video/mp4") and new.accepts("IMAGE/WEBP")  # image/* and video/*
    assert new.max_message_size == 1048576 and "shift_jis" in new.charsets


VENDOR = b"""<?xml version="1.0"?>
<RDF xmlns="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
     xmlns:mms="http://www.wapforum.org/profiles/MMS/ccppschema-20010111#"
     xmlns:prf="http://www.wapforum.org/profiles/UAPROF/ccppschema-20010430#">
 <Description ID="Profile"><prf:component><Description ID="HardwarePlatform">
  <prf:ScreenSize>176X208</prf:ScreenSize></Description></prf:component>
 <prf:component><Description ID="MmsCharacteristics">
  <mms:MmsMaxMessageSize>100000</mms:MmsMaxMessageSize>
  <mms:MmsCcppAccept><Bag><li>image/jpeg</li><li>audio/amr; q=0.8</li></Bag></mms:MmsCcppAccept>
 </Description></prf:component></Description></RDF>"""


def test_an_old_schema_without_prefixes_and_without_image_resolution() -> None:
    profile = parse_profile(VENDOR)
    assert profile.max_message_size == 100000 and profile.screen == (176, 208)
    assert profile.max_image == (176, 208)  # the screen, when no resolution is stated
    assert profile.accept == frozenset({"image/jpeg", "audio/amr"})


def test_profile_diff_overrides_what_it_names() -> None:
    base = parse_profile((PROFILES / "feature-2007.rdf").read_bytes())
    diff = (b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:prf="x">'
            b"<rdf:Description><prf:MmsMaxMessageSize>51200</prf:MmsMaxMessageSize>"
            b"</rdf:Description></rdf:RDF>")
    changed = apply_diff(base, diff)
    assert changed.max_message_size == 51200 and changed.accept == base.accept


def test_accept_header_fallback_and_the_conservative_default() -> None:
    profile = from_accept_header("image/jpeg, image/png;q=0.5, video/mp4;q=0, */*;q=0.1")
    assert profile.accepts("image/png") and not profile.accepts("video/mp4")
    assert profile.max_message_size == CONSERVATIVE.max_message_size
    assert from_accept_header("") is CONSERVATIVE
    assert CONSERVATIVE.accepts("audio/amr") and not CONSERVATIVE.accepts("video/mp4")


@pytest.mark.parametrize("doc", [b"", b"<rdf", b"<a/>", b'<!DOCTYPE r [<!ENTITY x SYSTEM '
                                 b'"file:///etc/passwd">]><r>&x;</r>', b"<r>" * 200_000])
def test_bad_documents_are_profile_errors(doc: bytes) -> None:
    with pytest.raises(ProfileError):
        parse_profile(doc)
