"""SMIL: what real handsets write, unsafe documents, defaults, rewriting and reference checks."""

from __future__ import annotations

import http.server
import threading
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmsc.smil import (
    MediaRef, Presentation, Region, RootLayout, Slide, SmilError, build_smil,
    default_presentation, parse_clock, parse_smil, resolve, rewrite_references,
    unresolved_references,
)


@dataclass
class P:
    content_type: str
    content_id: str | None = None
    content_location: str | None = None


NOKIA = b"""<?xml version="1.0" encoding="UTF-8"?>
<smil>
 <head>
  <layout>
   <root-layout width="176" height="144"/>
   <region id="Image" width="176" height="112" top="0" left="0" fit="meet"/>
   <region id="Text" width="176" height="32" top="112" left="0" fit="scroll"/>
  </layout>
 </head>
 <body>
  <par dur="5000ms">
   <img src="cid:image0.jpg" region="Image"/>
   <text src="cid:text0.txt" region="Text"/>
  </par>
  <par dur="3s">
   <audio src="sound.amr" begin="0s" end="3s"/>
  </par>
 </body>
</smil>"""

# SMIL 2.0 namespace, percent regions, durations on the media only, a <ref>, a <video>
NAMESPACED = """\ufeff<smil xmlns="http://www.w3.org/2001/SMIL20/Language">
<head><layout><root-layout width="100%" height="100%" background-color="#FFFFFF"/>
<region id="Image" left="0%" top="0%" width="100%" height="80%"/></layout></head>
<body><seq>
<par><video src="cid:clip%40example" region="Image" dur="00:00:07.5"/></par>
<par dur="indefinite"><ref src="vcard.vcf" alt="Contact"/></par>
</seq></body></smil>"""

# No head at all, media straight in the body (seen from a mail-to-MMS gateway)
HEADLESS = b"<smil><body><img src='a.gif'/><text src='b.txt'/></body></smil>"


def test_nokia_style() -> None:
    p = parse_smil(NOKIA)
    assert p.root_layout == RootLayout("176", "144")
    assert p.regions[1] == Region("Text", "0", "112", "176", "32", "scroll")
    assert p.slides == (
        Slide(5000, (MediaRef("img", "cid:image0.jpg", "Image"),
                     MediaRef("text", "cid:text0.txt", "Text"))),
        Slide(3000, (MediaRef("audio", "sound.amr", None, 0, 3000),)))


def test_namespaced_with_bom_video_and_ref() -> None:
    p = parse_smil(NAMESPACED)
    assert p.root_layout == RootLayout("100%", "100%", "#FFFFFF")
    assert p.slides[0] == Slide(7500, (MediaRef("video", "cid:clip%40example", "Image"),))
    assert p.slides[1] == Slide(None, (MediaRef("ref", "vcard.vcf", alt="Contact"),))
    assert parse_smil(NAMESPACED.encode("utf-16")) == p


def test_headless_body_is_one_slide() -> None:
    p = parse_smil(HEADLESS)
    assert p.root_layout is None and p.regions == ()
    assert [m.src for m in p.slides[0].media] == ["a.gif", "b.txt"]


@pytest.mark.parametrize("text, ms", [
    ("5000ms", 5000), ("5s", 5000), ("5", 5000), ("2.5s", 2500), ("0.5min", 30000),
    ("1h", 3_600_000), ("00:00:05", 5000), ("01:02:03.5", 3_723_500), ("02:30", 150_000),
    (" 7s ", 7000), ("indefinite", None), ("media", None), ("", None), (None, None),
    ("-3s", None), ("5 s", None)])
def test_clock_values(text: str | None, ms: int | None) -> None:
    assert parse_clock(text) == ms


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE smil [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<smil><body><par><text src="&d;"/></par></body></smil>"""


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"<!ENTITY x 'pwned'>")

    def log_message(self, *args: object) -> None:
        pass


def test_entity_attacks_are_refused_and_nothing_is_fetched(tmp_path) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    url = f"http://127.0.0.1:{server.server_port}/dtd"
    try:
        attacks = [
            BILLION_LAUGHS,
            f'<!DOCTYPE smil [<!ENTITY x SYSTEM "file://{secret}">]><smil><body><par>'
            f'<text src="&x;"/></par></body></smil>'.encode(),
            f'<!DOCTYPE smil [<!ENTITY x SYSTEM "{url}">]><smil><body>&x;</body></smil>'.encode(),
            f'<!DOCTYPE smil [<!ENTITY % p SYSTEM "{url}"> %p;]><smil/>'.encode(),
        ]
        for doc in attacks:
            with pytest.raises(SmilError, match="entities"):
                parse_smil(doc)
            with pytest.raises(SmilError):
                rewrite_references(doc, {"a": "b"})
        external_dtd = f'<!DOCTYPE smil SYSTEM "{url}"><smil><body/></smil>'.encode()
        assert parse_smil(external_dtd).slides == (Slide(None, ()),)  # read, DTD not loaded
    finally:
        server.shutdown()
    assert _Recorder.hits == []


@pytest.mark.parametrize("doc", [b"", b"not xml", b"<html><body/></html>", b"<smil>",
                                 b"<smil><body></smil>", "<smil/>".encode("utf-32")])
def test_not_smil_is_refused(doc: bytes) -> None:
    with pytest.raises(SmilError):
        parse_smil(doc)


def test_size_limit() -> None:
    big = b"<smil><body>" + b"<par/>" * 50_000 + b"</body></smil>"
    with pytest.raises(SmilError, match="limit"):
        parse_smil(big)
    assert len(parse_smil(big, max_size=len(big)).slides) == 50_000


def test_default_presentation() -> None:
    parts = [P("text/plain", "intro"), P("image/jpeg", "pic1"), P("text/plain", "cap1"),
             P("audio/amr", "snd"), P("text/x-vCard", "card"), P("IMAGE/GIF", None, "two.gif"),
             P("application/pdf", "doc"), P("video/3gpp", "clip"), P("text/plain", "cap3"),
             P("text/plain", "cap4"), P("application/smil", "smil")]
    p = default_presentation(parts)
    assert [[(m.kind, m.src, m.region) for m in s.media] for s in p.slides] == [
        [("text", "cid:intro", "Text")],
        [("img", "cid:pic1", "Image"), ("text", "cid:cap1", "Text"), ("audio", "cid:snd", None)],
        [("img", "two.gif", "Image")],
        [("video", "cid:clip", "Image"), ("text", "cid:cap3", "Text")],
        [("text", "cid:cap4", "Text")]]
    assert all(s.duration_ms == 5000 for s in p.slides)
    assert unresolved_references(parse_smil(build_smil(p)), parts) == []
    assert default_presentation([P("audio/mpeg", "a")]).slides[0].media[0].kind == "audio"
    with pytest.raises(SmilError):
        default_presentation([P("image/png")])


def test_rewrite_keeps_the_rest_of_the_document() -> None:
    doc = (b'<smil xmlns:x="urn:x"><!-- keep me --><head><meta name="a" content="b"/></head>'
           b'<body><par dur="5s" x:custom="1"><img src="CID:%3Cimage0.jpg%3E" region="Image"'
           b' alt="pic"/><text src="text0.txt"/><audio src="cid:snd"/></par></body></smil>')
    out = rewrite_references(doc, {"cid:image0.jpg": "cid:image0.gif", "text0.txt": "t.txt",
                                   "cid:snd": None})
    assert b"<!-- keep me -->" in out and b'x:custom="1"' in out and b'alt="pic"' in out
    assert b'<meta name="a" content="b"/>' in out and b"audio" not in out
    p = parse_smil(out)
    assert [m.src for m in p.slides[0].media] == ["cid:image0.gif", "t.txt"]


def test_references_resolve_with_every_leniency() -> None:
    parts = [P("image/jpeg", "image0@host", "Photo 1.JPG"), P("text/plain", "t1", None),
             P("audio/amr", None, "sounds/beep.amr")]
    for src, index in [("cid:image0@host", 0), ("CID:<image0@host>", 0), ("cid:image0%40host", 0),
                       ("Photo 1.JPG", 0), ("photo 1.jpg", 0), ("Photo%201.JPG", 0),
                       ("./Photo 1.JPG", 0), ("C:\\Pictures\\Photo 1.JPG", 0), ("t1", 1),
                       ("beep.amr", 2), ("sounds/beep.amr", 2)]:
        assert resolve(src, parts) is parts[index], src
    p = parse_smil(b'<smil><body><par><img src="cid:missing"/><text src="cid:t1"/>'
                   b'<audio src="nothing.amr"/></par></body></smil>')
    assert unresolved_references(p, parts) == ["cid:missing", "nothing.amr"]


words = st.text("abcdefghijklmnopqrstuvwxyz0123456789%.-_ ", min_size=1, max_size=12) \
    .map(str.strip).filter(bool)
sizes = st.none() | st.integers(0, 2000).map(str) | st.integers(0, 100).map(lambda n: f"{n}%")
media = st.builds(MediaRef, st.sampled_from(["img", "video", "text", "audio", "ref"]),
                  words.map(lambda w: f"cid:{w}") | words, st.none() | words,
                  st.none() | st.integers(0, 10**6), st.none() | st.integers(0, 10**6),
                  st.none() | words)
presentations = st.builds(
    Presentation, st.none() | st.builds(RootLayout, sizes, sizes, st.none() | words),
    st.lists(st.builds(Region, words, sizes, sizes, sizes, sizes, st.none() | words),
             max_size=3).map(tuple),
    st.lists(st.builds(Slide, st.none() | st.integers(0, 10**7),
                       st.lists(media, max_size=4).map(tuple)), min_size=1, max_size=5)
    .map(tuple))


@settings(max_examples=150, deadline=None)
@given(presentations)
def test_build_then_parse_round_trips(p: Presentation) -> None:
    expected = Presentation(p.root_layout, p.regions, tuple(
        Slide(s.duration_ms, s.media) for s in p.slides))
    assert parse_smil(build_smil(p)) == expected


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode)
       | st.sampled_from([NOKIA, HEADLESS]).flatmap(
           lambda doc: st.integers(0, len(doc)).map(lambda n: doc[:n])))
def test_arbitrary_input_is_smil_or_smil_error(data: bytes) -> None:
    try:
        parse_smil(data)
    except SmilError:
        pass
