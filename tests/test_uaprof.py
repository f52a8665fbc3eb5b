"""UAProf: the project's device profiles, vendor-style variants, diffs, and fallbacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from adaptation.uaprof import (
    CONSERVATIVE, ProfileError, apply_diff, from_accept_header, from_user_agent, parse_profile,
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



@pytest.mark.parametrize("header", [
    "application/vnd.wap.mms-message",
    "*/*, application/vnd.wap.mms-message, application/vnd.wap.sic",
    "*/*",
])
def test_an_accept_header_that_names_no_image_type_keeps_the_conservative_images(
        header: str) -> None:
    """MMS clients send Accept with the MMS and push types only: that says nothing of
    images or audio, so the conservative class decides those."""
    profile = from_accept_header(header)
    assert profile.accepts("image/jpeg") and profile.accepts("image/gif")
    assert profile.accepts("audio/amr") and profile.accepts("text/plain")
    assert not profile.accepts("video/mp4") and not profile.accepts("image/png")
    assert profile.max_message_size == CONSERVATIVE.max_message_size


def test_an_accept_header_is_trusted_for_the_kinds_it_names() -> None:
    profile = from_accept_header("application/vnd.wap.mms-message, image/png, video/3gpp")
    assert profile.accepts("image/png") and not profile.accepts("image/jpeg")
    assert profile.accepts("video/3gpp") and profile.accepts("audio/amr")
    refused = from_accept_header("application/vnd.wap.mms-message, image/gif;q=0, audio/*;q=0")
    assert refused.accepts("image/jpeg") and not refused.accepts("image/gif")
    assert not refused.accepts("audio/amr") and refused.accepts("text/plain")

@pytest.mark.parametrize("doc", [b"", b"<rdf", b"<a/>", b'<!DOCTYPE r [<!ENTITY x SYSTEM '
                                 b'"file:///etc/passwd">]><r>&x;</r>', b"<r>" * 200_000])
def test_bad_documents_are_profile_errors(doc: bytes) -> None:
    with pytest.raises(ProfileError):
        parse_profile(doc)


class _ProfileServer:
    """A loopback HTTP server that serves profiles and counts requests."""

    def __init__(self, routes: dict[str, bytes]) -> None:
        self.routes = routes
        self.hits: list[str] = []
        self.url = ""

    async def __aenter__(self) -> "_ProfileServer":
        from aiohttp import web

        async def handler(request: web.Request) -> web.Response:
            self.hits.append(request.path)
            if request.path == "/moved":
                raise web.HTTPFound("http://127.0.0.1:9/elsewhere.rdf")
            body = self.routes.get(request.path)
            return web.Response(body=body) if body is not None else web.Response(status=404)

        app = web.Application()
        app.add_routes([web.get("/{name:.*}", handler)])
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._runner.cleanup()


async def test_profiles_are_fetched_from_allowed_hosts_only_and_cached() -> None:
    from adaptation.profile_fetch import ProfileFetcher, profile_url

    cache: dict[str, bytes] = {}

    async def get(key: str) -> bytes | None:
        return cache.get(key)

    async def put(key: str, data: bytes) -> None:
        cache[key] = data

    feature = (PROFILES / "feature-2007.rdf").read_bytes()
    async with _ProfileServer({"/p.rdf": feature, "/huge.rdf": b"<r>" * 300_000}) as server:
        fetcher = ProfileFetcher(["127.0.0.1"], get, put, timeout=2, max_size=100_000)
        header = f'"{server.url}/p.rdf"'
        assert profile_url(header) == f"{server.url}/p.rdf"
        first = await fetcher.profile(header)
        again = await fetcher.profile(header)
        assert first == again and first.max_message_size == 102400
        assert server.hits == ["/p.rdf"]  # the second came from the cache
        diff = ('<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                'xmlns:p="x"><p:MmsMaxMessageSize>51200</p:MmsMaxMessageSize></rdf:RDF>')
        assert (await fetcher.profile(header, diff)).max_message_size == 51200
        for refused in (f"{server.url}/huge.rdf", f"{server.url}/missing.rdf",
                        f"{server.url}/moved", "file:///etc/passwd", "ftp://127.0.0.1/p.rdf"):
            assert await fetcher.profile(refused) is None
        closed = ProfileFetcher([], get, put)  # the default: no host allowed
        hits = len(server.hits)
        assert await closed.profile(f"{server.url}/p.rdf") is None
        assert len(server.hits) == hits and "/elsewhere.rdf" not in server.hits
        assert not any(k.endswith(".rdf") and len(v) > 100_000 for k, v in cache.items())


@pytest.mark.parametrize("agent, expected", [
    ("Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36", "smartphone-2024"),
    ("Mozilla/5.0 (Linux; Android 8.1.0; SM-J530F)", "android-2018"),
    ("Android-Mms/2.0", "android-2012"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 10_3 like Mac OS X)", "iphone-2016"),
    ("NokiaN95/11.0.026; Series60/3.1 Profile/MIDP-2.0 Configuration/CLDC-1.1",
     "smartphone-2009"),
    ("SonyEricssonK800i/R1KG Browser/NetFront/3.3 Profile/MIDP-2.0 Configuration/CLDC-1.1",
     "feature-2007"),
    ("Nokia3510i/1.0 (05.30) Profile/MIDP-1.0 Configuration/CLDC-1.0", "basic-2005"),
    ("Nokia7110/1.0 (05.01) UP.Browser/4.1.26l", "wap-2004"),
])
def test_user_agent_table_names_a_device_class(agent: str, expected: str) -> None:
    from mmsc.server import PROFILES, load_profiles

    profiles = load_profiles(PROFILES)
    found = from_user_agent(agent, profiles)
    assert found is profiles[expected]
    assert from_user_agent("curl/8.0", profiles) is None
    assert from_user_agent(agent, {}) is None  # only classes the MMSC has
