"""SMIL: what real handsets write, unsafe documents, defaults, rewriting and reference checks."""

from __future__ import annotations

import contextlib
import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmsc.message import MessagePart
from mmsc.smil import (
    MEDIA_KINDS,
    MediaRef,
    Presentation,
    Region,
    RootLayout,
    Slide,
    SmilError,
    build_smil,
    complete,
    complete_document,
    default_presentation,
    parse_clock,
    parse_smil,
    resolve,
    rewrite_references,
    unresolved_references,
    unshown,
)

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "smil"


@dataclass(frozen=True)
class P:
    content_type: str
    content_id: str | None = None
    content_location: str | None = None


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def img(src: str, region: str | None = "Image", **kw: object) -> MediaRef:
    return MediaRef("img", src, region, **kw)  # type: ignore[arg-type]


def text(src: str, region: str | None = "Text", **kw: object) -> MediaRef:
    return MediaRef("text", src, region, **kw)  # type: ignore[arg-type]


# -- what handsets write ---------------------------------------------------------------------------

EXPECTED = {
    # XML declaration, a DOCTYPE naming the W3C DTD (not loaded), <meta>, pixel regions, cid:
    "nokia.smil": Presentation(
        RootLayout("352", "416"),
        [Region("Image", "0", "0", "352", "288", "meet"),
         Region("Text", "0", "288", "352", "128", "scroll")],
        [Slide(5000, [img("cid:IMG_0001.jpg"), text("cid:text_0001.txt")]),
         Slide(8000, [img("cid:IMG_0002.jpg"), MediaRef("audio", "cid:voice_0001.amr")])]),
    # ISO-8859-1, fractional seconds, audio with an end, Content-Location names, no fit
    "sony_ericsson.smil": Presentation(
        RootLayout("160", "160"),
        [Region("Image", "0", "0", "160", "120"), Region("Text", "0", "120", "160", "40")],
        [Slide(35723, [img("Slide_1.jpg"), MediaRef("audio", "Slide_1.mid", end_ms=35723),
                       text("Slide.txt")]),
         Slide(6026, [img("Slide_2.jpg"), MediaRef("audio", "Slide_2.amr", end_ms=6026)])]),
    # one line, "px" units, a video slide, a text-only slide
    "android_aosp.smil": Presentation(
        RootLayout("320px", "480px"),
        [Region("Image", "0", "0", "320px", "320px", "meet"),
         Region("Text", "0", "320", "320px", "160px", "meet")],
        [Slide(5000, [img("image000000.jpg"), text("text_0.txt")]),
         Slide(10000, [MediaRef("video", "video000001.3gp", "Image")]),
         Slide(5000, [text("text_1.txt")])]),
    # an empty root-layout, percentages, Text region first, text on its own slide
    "iphone.smil": Presentation(
        RootLayout(),
        [Region("Text", "0%", "70%", "100%", "30%", "scroll"),
         Region("Image", "0%", "0%", "100%", "70%", "meet")],
        [Slide(5000, [img("cid:IMG_4321.jpeg")]), Slide(5000, [text("cid:text_0002.txt")])]),
    # gateway-made: Content-IDs with "@", one percent-encoded, alt naming the file
    "mbuni.smil": Presentation(
        RootLayout("160", "160"),
        [Region("Image", "0", "0", "100%", "50%", "meet"),
         Region("Text", "0", "50%", "100%", "50%", "scroll")],
        [Slide(5000, [img("cid:0.1700000000.12345@mbuni", alt="photo.jpg"),
                      text("cid:1.1700000000.12345%40mbuni", alt="message.txt")])]),
    # BOM, SMIL 2.0 namespace, <seq>, durations only on the media, a clock value, begin,
    # <switch> (first choice), <animation>, an element of another namespace ignored
    "smil20_namespaced.smil": Presentation(
        RootLayout("100%", "100%", "#FFFFFF"),
        [Region("Image", "0%", "0%", "100%", "75%", "meet"),
         Region("Text", "0%", "75%", "100%", "25%", "scroll")],
        [Slide(7500, [MediaRef("video", "cid:clip%40example.com", "Image"),
                      text("cid:caption@example.com", begin_ms=1000)]),
         Slide(4000, [text("cid:hello-sv@example.com"),
                      MediaRef("animation", "cid:wave.gif@example.com", "Image", alt="a wave")])]),
    # <ref> and <video>, an indefinite slide, begin and end on a ref
    "ref_video_3gpp.smil": Presentation(
        RootLayout("176", "144"), [Region("Video", "0", "0", "176", "144", "meet")],
        [Slide(None, [MediaRef("video", "cid:movie.3gp", "Video", alt="Birthday video")]),
         Slide(3000, [MediaRef("ref", "cid:contact.vcf", alt="Anna's card"),
                      MediaRef("ref", "cid:ringtone.mid", begin_ms=500, end_ms=2500)])]),
    # no head, "5000 ms", an escaped cid with brackets, a par without dur, loose media
    "feature_phone_quirks.smil": Presentation(None, [], [
        Slide(5000, [img("cid:<1234>", "image"), text("My Note.TXT", "text")]),
        Slide(4000, [img("./Photos/IMG 0002.JPG", None),
                     MediaRef("audio", "CID:voice%2Eamr", begin_ms=1000)]),
        Slide(None, [img("last.gif", None), text("last.txt", None)])]),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_handset_samples(name: str) -> None:
    assert parse_smil(sample(name)) == EXPECTED[name]


def test_every_sample_is_tested() -> None:
    assert sorted(p.name for p in SAMPLES.glob("*.smil")) == sorted(EXPECTED)


def test_encodings_and_text_input() -> None:
    se = sample("sony_ericsson.smil")
    decoded = se.decode("iso-8859-1")
    assert "Café" in decoded
    expected = EXPECTED["sony_ericsson.smil"]
    assert parse_smil(decoded) == expected  # str: its declaration naming Latin-1 is moot
    assert parse_smil("\ufeff" + decoded) == expected
    utf16 = decoded.replace('encoding="ISO-8859-1"', 'encoding="UTF-16"')
    assert parse_smil(utf16.encode("utf-16")) == expected  # with a BOM
    assert parse_smil(utf16.encode("utf-16-le")) == expected  # from the declaration alone
    assert parse_smil(sample("nokia.smil").decode().encode("utf-16-be")) \
        == EXPECTED["nokia.smil"]


def test_lenient_structure() -> None:
    assert parse_smil(b"<smil/>") == Presentation()
    assert parse_smil(b"<SMIL><Body/></SMIL>") == Presentation()
    assert parse_smil(b"<smil><head/><body><par/></body></smil>") == Presentation(
        slides=[Slide(None)])
    # pars straight under <smil>, media without src, unknown elements, media in a wrapper
    doc = (b'<smil><layout><region id="A"/><region left="3"/></layout><par dur="2s">'
           b'<text region="A"/><a href="x"><img src="i.png"/></a><blink src="b"/></par>'
           b'<unknown><par dur="1s"/></unknown></smil>')
    assert parse_smil(doc) == Presentation(None, [Region("A")], [Slide(2000, [img("i.png", None)])])


@pytest.mark.parametrize("value, ms", [
    ("5000ms", 5000), ("5s", 5000), ("5", 5000), ("2.5s", 2500), ("0.5min", 30000),
    ("1h", 3_600_000), ("00:00:05", 5000), ("01:02:03.5", 3_723_500), ("02:30", 150_000),
    ("0:04", 4000), ("123:00:00", 442_800_000), ("1.0005s", 1001), ("0.4ms", 0),
    (" 7s ", 7000), ("5000 ms", 5000), ("5S", 5000), ("35.723s", 35723),
    ("indefinite", None), ("media", None), ("", None), (None, None), ("-3s", None),
    ("+3s", None), ("5sec", None), ("1e3ms", None), ("00:60", None), ("00:00:60", None),
    ("img1.end", None), ("wallclock(2004-10-01T12:00Z)", None), ("1" + "0" * 400 + "h", None)])
def test_clock_values(value: str | None, ms: int | None) -> None:
    assert parse_clock(value) == ms


@pytest.mark.parametrize("par, media, ms", [
    ("", '<img src="a" dur="3s"/><audio src="b" begin="1s" dur="4s"/>', 5000),
    ("", '<img src="a" dur="indefinite"/><text src="b" end="9s"/>', None),
    ('dur="indefinite"', '<img src="a" dur="3s"/>', None),
    ('dur="soon"', '<img src="a" dur="3s"/>', 3000),
    ('dur="2s"', '<img src="a" dur="3s"/>', 2000)])
def test_slide_duration_from_its_media(par: str, media: str, ms: int | None) -> None:
    doc = f"<smil><body><par {par}>{media}</par></body></smil>"
    assert parse_smil(doc).slides[0].duration_ms == ms


# -- unsafe and broken documents -------------------------------------------------------------------

class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:  # the name http.server calls
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'<!ENTITY x "fetched">')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_url() -> Iterator[str]:
    """A local HTTP server that records every request made to it."""
    _Recorder.hits = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/smil.dtd"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _laughs(levels: int = 8) -> str:
    entities = ['<!ENTITY l0 "ha">'] + [
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, levels + 1)]
    return (f'<?xml version="1.0"?><!DOCTYPE smil [{"".join(entities)}]>'
            f'<smil><body><par><text src="&l{levels};"/></par></body></smil>')


def test_entity_attacks_are_refused_and_nothing_is_fetched(http_url: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    laughs = _laughs()
    attacks = [
        laughs.encode(),
        laughs.replace('version="1.0"', 'version="1.0" encoding="UTF-16"').encode("utf-16-le"),
        b'<!DOCTYPE smil [<!ENTITY x "cid:a">]><smil><body><img src="&x;"/></body></smil>',
        '<!DOCTYPE smil [<!ENTITY x "y">]><smil/>'.encode("utf-16"),  # past a byte search
        f'<!DOCTYPE smil [<!ENTITY x SYSTEM "file://{secret}">]><smil><body><par>'
        f'<text src="&x;"/>&x;</par></body></smil>'.encode(),
        b'<!DOCTYPE smil [<!ENTITY x SYSTEM "file:///etc/passwd">]><smil><body>&x;</body></smil>',
        f'<!DOCTYPE smil [<!ENTITY x SYSTEM "{http_url}">]><smil><body>&x;</body></smil>'.encode(),
        f'<!DOCTYPE smil [<!ENTITY x SYSTEM "{http_url}">]><smil><body>&x;</body></smil>'
        .encode("utf-16"),
        f'<!DOCTYPE smil [<!ENTITY % p SYSTEM "{http_url}"> %p;]><smil/>'.encode(),
        f'<!DOCTYPE smil [<!ENTITY % p SYSTEM "file://{secret}"> %p;]><smil/>'.encode(),
    ]
    for doc in attacks:
        with pytest.raises(SmilError):
            parse_smil(doc)
        with pytest.raises(SmilError):
            rewrite_references(doc, {"cid:a": "cid:b"})
    with pytest.raises(SmilError, match="entities"):
        parse_smil(attacks[3])
    # A DOCTYPE without entity declarations is read; its external DTD is not loaded.
    for doctype in (f'<!DOCTYPE smil SYSTEM "{http_url}">',
                    f'<!DOCTYPE smil PUBLIC "-//W3C//DTD SMIL 2.0//EN" "{http_url}">',
                    '<!DOCTYPE smil [<!ELEMENT smil ANY>]>'):
        doc = f'{doctype}<smil><body><par><img src="a.gif"/></par></body></smil>'.encode()
        assert parse_smil(doc).slides == (Slide(None, [img("a.gif", None)]),)
    assert _Recorder.hits == []


@pytest.mark.parametrize("doc", [
    b"", b"   ", b"not xml", b"\x00\x01\x02", b"<html><body/></html>", b"<smil>",
    b"<smil><body></smil>", b"<smil></smil><smil/>", b"<?xml version='1.0'?>",
    b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"<smil>&undeclared;</smil>",
    b'<?xml version="1.0" encoding="x-none"?><smil/>'])
def test_not_smil_is_refused(doc: bytes) -> None:
    with pytest.raises(SmilError):
        parse_smil(doc)


def test_size_limit() -> None:
    doc = b"<smil><body>" + b"<par/>" * 1000 + b"</body></smil>"
    with pytest.raises(SmilError, match="limit"):
        parse_smil(doc, max_size=len(doc) - 1)
    assert len(parse_smil(doc, max_size=len(doc)).slides) == 1000
    with pytest.raises(SmilError, match="limit"):
        parse_smil("<smil>" + "é" * 200 + "</smil>", max_size=400)  # octets, not characters
    with pytest.raises(SmilError, match="limit"):
        parse_smil(b"<smil>" + b" " * (256 * 1024) + b"</smil>")
    with pytest.raises(SmilError, match="limit"):
        rewrite_references(doc, {}, max_size=100)


# -- writing ---------------------------------------------------------------------------------------

def test_build_writes_plain_mms_smil() -> None:
    p = Presentation(RootLayout("176", "208", "white"), [Region("Image", "0", "0", "100%", "70%")],
                     [Slide(5000, [img("cid:a&b", alt='say "hi"'),
                                   MediaRef("audio", "s.amr", begin_ms=0, end_ms=2500)]),
                      Slide(None, [])])
    assert build_smil(p) == b"""\
<smil>
  <head>
    <layout>
      <root-layout width="176" height="208" background-color="white"/>
      <region id="Image" left="0" top="0" width="100%" height="70%"/>
    </layout>
  </head>
  <body>
    <par dur="5000ms">
      <img src="cid:a&amp;b" region="Image" alt="say &quot;hi&quot;"/>
      <audio src="s.amr" begin="0ms" end="2500ms"/>
    </par>
    <par/>
  </body>
</smil>
"""
    assert parse_smil(build_smil(p)) == p


@pytest.mark.parametrize("p", [
    Presentation(slides=[Slide(None, [MediaRef("script", "x")])]),
    Presentation(slides=[Slide(-1)]), Presentation(slides=[Slide(10**15)]),
    Presentation(slides=[Slide(None, [img("a", begin_ms=-5)])]),
    Presentation(slides=[Slide(None, [img("a\x00b")])]),
    Presentation(regions=[Region("\ufffe")]),
    Presentation(RootLayout(width="\ud800"))])
def test_build_refuses_what_it_cannot_write(p: Presentation) -> None:
    with pytest.raises(SmilError):
        build_smil(p)


# -- default presentation --------------------------------------------------------------------------

def _parts(spec: str) -> list[P]:
    """Parts from "image/jpeg text/plain ...", with Content-IDs p0, p1, ..."""
    return [P(media, f"p{i}") for i, media in enumerate(spec.split())]


@pytest.mark.parametrize("spec, slides", [
    ("text/plain", [["text p0"]]),
    ("text/plain text/plain", [["text p0"], ["text p1"]]),
    ("image/jpeg text/plain image/gif text/plain",
     [["img p0", "text p1"], ["img p2", "text p3"]]),
    ("text/plain image/jpeg text/plain text/plain",
     [["text p0"], ["img p1", "text p2"], ["text p3"]]),
    ("audio/amr", [["audio p0"]]),
    ("audio/amr audio/mpeg", [["audio p0"], ["audio p1"]]),
    ("image/png audio/amr text/plain", [["img p0", "audio p1", "text p2"]]),
    ("text/plain audio/amr image/png", [["text p0", "audio p1"], ["img p2"]]),
    ("video/3gpp text/plain image/jpeg image/jpeg",
     [["video p0", "text p1"], ["img p2"], ["img p3"]]),
    (("text/x-vCard text/calendar text/x-vcalendar application/pdf application/smil "
      "text/html image/jpeg application/octet-stream"),
     [["img p6"]]),
    ("IMAGE/JPEG Text/Plain;charset=utf-8 Audio/AMR", [["img p0", "text p1", "audio p2"]]),
    ("application/vnd.oma.drm.message text/x-vcard", []),
    ("", []),
])
def test_default_presentation(spec: str, slides: list[list[str]]) -> None:
    p = default_presentation(_parts(spec))
    assert [[f"{m.kind} {m.src.removeprefix('cid:')}" for m in s.media] for s in p.slides] \
        == slides
    assert all(s.duration_ms == 5000 for s in p.slides)
    regions = {"img": "Image", "video": "Image", "text": "Text", "audio": None}
    assert all(m.region == regions[m.kind] for s in p.slides for m in s.media)
    assert {r.id for r in p.regions} == {"Image", "Text"}
    assert parse_smil(build_smil(p)) == p


def test_default_presentation_references() -> None:
    parts = [P("image/jpeg", None, "Photo 1.jpg"), P("text/plain", "<t1>", "t.txt"),
             P("text/x-vcard")]  # left out, so needs no reference
    p = default_presentation(parts, duration_ms=8000)
    assert p.slides == (Slide(8000, [img("Photo 1.jpg"), text("cid:t1")]),)
    assert p.root_layout == RootLayout("176", "208")
    with pytest.raises(SmilError, match="neither"):
        default_presentation([P("image/png")])


def test_default_presentation_of_message_parts() -> None:
    parts = [MessagePart("image/jpeg", b"\xff\xd8", content_id="sun", content_location="sun.jpg"),
             MessagePart.from_text("hi", content_id="caption", content_location="caption.txt")]
    doc = build_smil(default_presentation(parts))
    assert unresolved_references(parse_smil(doc), parts) == []
    assert b'<img src="cid:sun" region="Image"/>' in doc


# -- rewriting -------------------------------------------------------------------------------------

REWRITE_IN = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE smil>
<!-- made by a handset -->
<smil xmlns:x="urn:example:x">
  <head><meta name="author" content="Anna"/></head>
  <body>
    <par dur="5s" x:transition="fade">
      <img src="CID:%3Cimage0.jpg%3E" region="Image" alt="pic" x:effect="zoom"/>
      <text src="Photo%201.txt" region="Text"/>
      <x:sticker src="cid:snd"/>
      <audio src="cid:snd"/>
    </par>
    <par dur="3s"><audio src="cid:snd"/></par>
  </body>
</smil>
"""

# libxml2 keeps no white space outside the root element: that is the only change.
REWRITE_OUT = b"""<?xml version='1.0' encoding='UTF-8'?>
<!DOCTYPE smil>
<!-- made by a handset --><smil xmlns:x="urn:example:x">
  <head><meta name="author" content="Anna"/></head>
  <body>
    <par dur="5s" x:transition="fade">
      <img src="cid:image0.gif" region="Image" alt="pic" x:effect="zoom"/>
      <text src="photo1.txt" region="Text"/>
    </par>
    <par dur="3s"/>
  </body>
</smil>"""


def test_rewrite_keeps_the_rest_of_the_document() -> None:
    out = rewrite_references(REWRITE_IN, {"cid:<image0.jpg>": "cid:image0.gif",
                                          "Photo 1.txt": "photo1.txt", "cid:snd": None,
                                          "cid:not-there": "cid:x"})
    assert out == REWRITE_OUT
    assert parse_smil(out).slides == (
        Slide(5000, [img("cid:image0.gif", alt="pic"), text("photo1.txt")]), Slide(3000))


def test_rewrite_matching() -> None:
    doc = (b'<smil xmlns="http://www.w3.org/2001/SMIL20/Language"><body><par>'
           b'<img src=" cid:a%40b "/><text src="./t.txt"/><video src="Clip.3gp"/>'
           b'<ref src="a@b"/></par></body></smil>')
    out = rewrite_references(doc, {"CID:a@b": "cid:c", "t.txt": "u.txt", "clip.3gp": None})
    # only normalised equality: no case folding, no path games, a bare src is no cid: URL
    assert parse_smil(out).slides[0].media == (
        img("cid:c", None), text("./t.txt", None), MediaRef("video", "Clip.3gp"),
        MediaRef("ref", "a@b"))
    assert b'xmlns="http://www.w3.org/2001/SMIL20/Language"' in out
    assert not out.startswith(b"<?xml")  # none before, none after


def test_rewrite_without_a_match_returns_the_document_as_it_was() -> None:
    doc = sample("sony_ericsson.smil")
    assert rewrite_references(doc, {"cid:other": "cid:x"}) is doc
    assert rewrite_references(doc, {}) is doc
    out = rewrite_references(doc, {"Slide_2.amr": None})
    assert out.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert "Café".encode() in out and b"Slide_2.amr" not in out
    with pytest.raises(SmilError):
        rewrite_references(b"<html/>", {"a": "b"})


# -- references ------------------------------------------------------------------------------------

PARTS = [P("image/jpeg", "image0@host", "Photo 1.JPG"), P("text/plain", "t1"),
         P("audio/amr", None, "sounds/beep.amr"), P("image/gif", None, "a.gif"),
         P("image/gif", None, "A.GIF"), P("image/png", None, "x/dup.png"),
         P("image/png", None, "y/dup.png")]


@pytest.mark.parametrize("src, index", [
    ("cid:image0@host", 0), ("CID:<image0@host>", 0), ("cid:image0%40host", 0),
    ("<cid:image0@host>", 0), ("cid:%3Cimage0@host%3E", 0), ("Photo 1.JPG", 0),
    ("photo 1.jpg", 0), ("Photo%201.JPG", 0), ("photo%201.jpg", 0), ("./Photo 1.JPG", 0),
    ("C:\\Pictures\\Photo 1.JPG", 0), ("http://mms.example/x/Photo%201.jpg", 0),
    ("t1", 1), ("<t1>", 1), ("sounds/beep.amr", 2), ("beep.amr", 2), ("./sounds/BEEP.AMR", 2),
    ("a.gif", 3), ("A.GIF", 4),
    ("a.Gif", None),  # two parts match ignoring case: no guess
    ("dup.png", None), ("z/dup.png", None), ("x/dup.png", 5),
    ("cid:IMAGE0@HOST", None),  # Content-IDs compare case-sensitively
    ("cid:Photo 1.JPG", None),  # cid: names a Content-ID, never a location
    ("cid:", None), ("", None), ("/", None), ("missing.jpg", None)])
def test_resolve(src: str, index: int | None) -> None:
    found = resolve(src, PARTS)
    assert found is (None if index is None else PARTS[index]), src


def test_unresolved_references() -> None:
    parts = [P("image/jpeg", "1234"), P("text/plain", None, "my note.txt"),
             P("image/jpeg", None, "IMG%200002.jpg"), P("audio/amr", "voice.amr"),
             P("image/gif", "last.gif")]
    p = parse_smil(sample("feature_phone_quirks.smil"))
    assert unresolved_references(p, parts) == ["last.txt"]
    twice = Presentation(slides=[Slide(None, [img("gone")]), Slide(None, [img("gone")])])
    assert unresolved_references(twice, parts) == ["gone"]
    assert unresolved_references(p, []) == [m.src for s in p.slides for m in s.media]


#: What python-messaging writes: the text's own words as its src, a text part with no
#: reference at all (here given one, as mmsc.message.referable does).
WORDS_AS_SRC = ('<smil><head><layout><region id="Image"/><region id="Text"/></layout></head>'
                '<body><!-- one slide --><par duration="4000"><img src="photo.jpg" '
                'region="Image"/><text src="Bonjour €" region="Text" x-keep="1"/></par>'
                '</body></smil>').encode()


def test_a_text_whose_src_is_its_words_is_shown_where_it_stands() -> None:
    photo, words = P("image/jpeg", None, "photo.jpg"), P("text/plain", "part3")
    parts = [P("application/smil", "0000"), photo, words]
    found = unshown(parse_smil(WORDS_AS_SRC), parts)
    assert dict(found.matched) == {("text", "Bonjour €"): words} and found.slides == ()
    shown = complete(parse_smil(WORDS_AS_SRC), parts)
    assert shown.slides[0].media == (img("photo.jpg"), text("cid:part3"))
    out = complete_document(WORDS_AS_SRC, parts)
    assert parse_smil(out) == shown and unresolved_references(shown, parts) == []
    assert b"<!-- one slide -->" in out and b'x-keep="1"' in out and b'duration="4000"' in out
    assert complete_document(out, parts) is out  # nothing left to show


def test_parts_no_slide_shows_go_after_the_last_unless_one_candidate_matches() -> None:
    doc = (b'<smil xmlns="http://www.w3.org/2001/SMIL20/Language"><body>'
           b'<par dur="2s"><img src="IMG_1.JPG" region="Pic"/><text src="Hello"/>'
           b'<audio src="gone.amr"/></par>'
           b'<par dur="3s"><text src="Bye" region="Words"/></par></body></smil>')
    photo = P("image/jpeg", None, "img_1.jpg")  # the same name in another case: resolved
    hello, bye = P("text/plain", "t1"), P("text/plain", "t2")
    song, clip = P("audio/mpeg", "song"), P("video/mp4", "clip")
    vcard = P("text/x-vcard", "card")
    parts = [photo, hello, bye, song, clip, vcard]
    found = unshown(parse_smil(doc), parts)
    # two failing text srcs, two candidates: no guess; one failing audio, one audio: matched
    assert dict(found.matched) == {("audio", "gone.amr"): song}
    assert found.slides == ((hello,), (bye,), (clip,))
    shown = complete(parse_smil(doc), parts)
    assert [m.src for m in shown.slides[0].media] == ["IMG_1.JPG", "Hello", "cid:song"]
    assert shown.slides[2:] == (Slide(5000, [text("cid:t1", "Words")]),
                                Slide(5000, [text("cid:t2", "Words")]),
                                Slide(5000, [MediaRef("video", "cid:clip", "Pic")]))
    out = complete_document(doc, parts)
    assert parse_smil(out) == shown
    assert b'<par dur="5000ms"><video src="cid:clip" region="Pic"/></par>' in out
    assert out.startswith(b'<smil xmlns="http://www.w3.org/2001/SMIL20/Language">')
    with pytest.raises(SmilError):
        complete(parse_smil(doc), [photo, P("video/mp4")])  # a part SMIL cannot name
    with pytest.raises(SmilError):
        complete_document(doc, [photo, P("video/mp4", None, "bad\x01name.mp4")])


def test_nothing_unshown_leaves_the_document_alone() -> None:
    doc = sample("feature_phone_quirks.smil")
    assert complete_document(doc, []) is doc
    assert not unshown(parse_smil(doc), [])

# -- properties ------------------------------------------------------------------------------------

def _presentations(values: st.SearchStrategy[str]) -> st.SearchStrategy[Presentation]:
    maybe = st.none() | values
    times = st.none() | st.integers(0, 10**12)
    media = st.builds(MediaRef, st.sampled_from(MEDIA_KINDS), values, maybe, times, times, maybe)
    return st.builds(
        Presentation, st.none() | st.builds(RootLayout, maybe, maybe, maybe),
        st.lists(st.builds(Region, values, maybe, maybe, maybe, maybe, maybe), max_size=3),
        st.lists(st.builds(Slide, times, st.lists(media, max_size=4)), max_size=4))


XML_TEXT = st.text(st.characters(exclude_categories=("Cs", "Cc", "Cn", "Co"))
                   | st.sampled_from("\t\n\r"), max_size=12)


@settings(max_examples=150, deadline=None)
@given(_presentations(XML_TEXT))
def test_build_then_parse_round_trips(p: Presentation) -> None:
    assert parse_smil(build_smil(p)) == p


@settings(max_examples=100, deadline=None)
@given(_presentations(st.text(max_size=6)))
def test_build_round_trips_or_says_why_not(p: Presentation) -> None:
    try:
        doc = build_smil(p)
    except SmilError:
        return
    assert parse_smil(doc) == p


def _mutations(doc: bytes) -> st.SearchStrategy[bytes]:
    return st.tuples(st.integers(0, len(doc)), st.integers(0, 8), st.binary(max_size=4)).map(
        lambda t: doc[:t[0]] + t[2] + doc[t[0] + t[1]:])


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300) | st.text(max_size=300).map(str.encode)
       | st.sampled_from(sorted(SAMPLES.glob("*.smil"))).map(Path.read_bytes).flatmap(_mutations))
def test_arbitrary_input_is_smil_or_smil_error(data: bytes | str) -> None:
    with contextlib.suppress(SmilError):
        parse_smil(data)
    if isinstance(data, bytes):
        with contextlib.suppress(SmilError):
            rewrite_references(data, {"cid:IMG_0001.jpg": "cid:x", "Slide_1.jpg": None})


def test_rewrite_follows_parts_that_changed_kind_and_lenient_references() -> None:
    """After adaptation: ``./photo.png`` (a handset's way of naming photo.png) now names the
    notice that says the picture was removed, so the img becomes a text; a voice note that
    was declared as video is an audio element now; the converted clip keeps its element."""

    @dataclass
    class Part:
        content_type: str
        content_id: str | None = None
        content_location: str | None = None

    doc = (b'<smil><body><par dur="5s"><img src="./photo.png" region="Image"/>'
           b'<video src="cid:voice"/></par><par><video src="clip.mp4"/></par></body></smil>')
    before = [Part("image/png", "p", "photo.png"), Part("video/3gpp", "voice", "voice.3gp"),
              Part("video/mp4", "c", "clip.mp4")]
    out = rewrite_references(
        doc, {"photo.png": "photo.png.txt", "voice.3gp": "voice.3gp", "clip.mp4": "clip.3gp"},
        parts=before, kinds={"photo.png.txt": "text/plain", "voice.3gp": "audio/3gpp",
                             "clip.3gp": "video/3gpp"})
    slides = parse_smil(out).slides
    assert slides[0].media == (text("photo.png.txt", "Image"), MediaRef("audio", "voice.3gp"))
    assert slides[1].media == (MediaRef("video", "clip.3gp"),)
    assert rewrite_references(doc, {"photo.png": "x.txt"}) is doc  # without parts: exact only
