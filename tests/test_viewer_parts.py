"""The viewer's pure parts: slides from SMIL (or the default presentation), what is shown
inline, download names, byte ranges, and the language from Accept-Language."""

from __future__ import annotations

import pytest

from mmsc.message import Envelope, Message, MessagePart
from web_viewer.app import byte_range
from web_viewer.i18n import Words, negotiate
from web_viewer.presentation import downloads, filename, slides


def message(parts: list[MessagePart]) -> Message:
    return Message(Envelope(originator="+33600000001/TYPE=PLMN"), parts)


def test_without_smil_the_parts_make_the_slides() -> None:
    original = message([MessagePart("image/jpeg", b"jpg"), MessagePart.from_text("hi"),
                        MessagePart("video/mp4", b"mp4"), MessagePart("text/html", b"<b>")])
    views = slides(original, original)
    assert [[(i.kind, i.index, i.inline) for i in v.items] for v in views] == [
        [("image", 0, True), ("text", 1, True)], [("video", 2, True)]]
    assert views[0].items[1].text == "hi" and views[0].duration_ms == 5000
    assert [d.filename for d in downloads(original)] == ["part-1.jpg", "part-2.txt",
                                                         "part-3.mp4", "part-4.html"]


def test_what_is_shown_inline() -> None:
    smil = (b'<smil><body><par dur="1500ms"><video src="clip.3gp"/><text src="page.html"/>'
            b'</par><par><img src="cid:svg"/><audio src="cid:gone"/></par></body></smil>')
    parts = [MessagePart("application/smil", smil, content_id="s"),
             MessagePart("video/3gpp", b"3gp", content_location="clip.3gp"),
             MessagePart("text/html", b"<script>", content_location="page.html"),
             MessagePart("image/svg+xml", b"<svg/>", content_id="svg")]
    browser = message([*parts[:1], MessagePart("video/mp4", b"mp4",
                                               content_location="clip.mp4"), *parts[2:]])
    views = slides(message(parts), browser)
    first, second = ([(i.kind, i.media_type, i.inline) for i in v.items] for v in views)
    assert first == [("video", "video/mp4", True), ("other", "text/html", False)]
    assert second == [("image", "image/svg+xml", False), ("missing", "", False)]
    assert views[0].duration_ms == 1500 and views[1].duration_ms == 5000
    unreadable = message([MessagePart("application/smil", b"<smil><body>", content_id="s"),
                          MessagePart("image/gif", b"gif", content_id="g")])
    assert [i.kind for v in slides(unreadable, unreadable) for i in v.items] == ["image"]



def test_parts_the_smil_does_not_name_are_shown() -> None:
    """The text whose SMIL src is its own words (python-messaging) shows on its slide; a
    picture no slide names gets a slide after the last; no "missing" item for either."""
    smil = (b'<smil><body><par dur="2s"><img src="photo.jpg"/><text src="Bonjour \xe2\x82\xac"/>'
            b'</par></body></smil>')
    parts = [MessagePart("application/smil", smil, content_id="0000"),
             MessagePart("image/jpeg", b"jpg", content_location="photo.jpg"),
             MessagePart("text/plain", "Bonjour €".encode()),
             MessagePart("image/gif", b"gif", content_location="other.gif")]
    views = slides(message(parts), message(parts))
    assert [[(i.kind, i.index) for i in v.items] for v in views] == [
        [("image", 1), ("text", 2)], [("image", 3)]]
    assert views[0].items[1].text == "Bonjour €" and parts[2].content_id is None

@pytest.mark.parametrize("part, name", [
    (MessagePart("image/png", b"", content_location="../../etc/passwd"), "passwd"),
    (MessagePart("image/png", b"", content_location="C:\\Photos\\Été 1.png"), "Été_1.png"),
    (MessagePart("image/png", b"", filename='a"b;c.png'), "a_b_c.png"),
    (MessagePart("audio/amr", b"", content_location="..."), "part-8.amr"),
    (MessagePart("x/unknown", b""), "part-8.bin"),
])
def test_download_names_are_safe(part: MessagePart, name: str) -> None:
    assert filename(part, 7) == name


def test_byte_ranges() -> None:
    assert byte_range(None, 10) == (0, 9)
    assert byte_range("bytes=2-4", 10) == (2, 4) and byte_range("bytes=2-99", 10) == (2, 9)
    assert byte_range("bytes=-3", 10) == (7, 9) and byte_range("bytes=4-", 10) == (4, 9)
    assert byte_range("bytes=10-", 10) is None and byte_range("bytes=-0", 10) is None
    assert byte_range("bytes=0-1,3-4", 10) == (0, 9)  # several ranges: the whole body
    assert byte_range("bytes=5-2", 10) == (0, 9) and byte_range("items=1-2", 10) == (0, 9)


def test_language_from_accept_language() -> None:
    assert negotiate(None) == "en" and negotiate("") == "en" and negotiate("de, es") == "en"
    assert negotiate("fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7") == "fr"
    assert negotiate("en;q=0.4, fr;q=0.6") == "fr" and negotiate("fr;q=0, en;q=0.1") == "en"
    assert negotiate("fr;q=abc, *;q=0.5") == "en" and negotiate("x" * 5000) == "en"
    french = Words("fr")
    assert french("slide", n=2, total=3) == "Diapositive 2 sur 3"
    assert french.date(0) == "1 janvier 1970, 00:00 UTC"
    assert (french.size(512), french.size(1536), Words("en").size(3 * 1024 * 1024)) == (
        "512 octets", "1,5 Ko", "3.0 MB")
