"""The web viewer over HTTP on loopback: a legacy phone's link SMS, the page of its slides,
media in browser form, downloads, the PIN, the one page for links that do not open, the
headers, the languages, and the delivery report a view produces."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import aiohttp
import pytest
import yarl
from PIL import Image, ImageDraw

from adaptation import wbmp
from adaptation.ffmpeg import Ffmpeg, WorkFolder
from helpers.media import amr, wav
from mmsc.message import RELATED, Envelope, Message, MessagePart
from mmsc.pdu import MessageType, Status
from mmsc.server import Server
from mmsc.state import Interface, RecipientState
from mmsc.relay.links import token_digest
from web_viewer.app import CSP, PART_CSP

from test_loop import A, D, config, kinds_once, running

SMIL = b"""<smil><head><layout><root-layout width="320" height="240"/>
<region id="Image" top="0" left="0" width="100%" height="70%"/>
<region id="Text" top="70%" left="0" width="100%" height="30%"/></layout></head><body>
<par dur="3s"><img src="beach.png" region="Image" alt="A blue sea"/><text src="cid:one"/></par>
<par dur="2s"><text src="cid:two"/><audio src="cid:tune"/></par>
<par dur="4s"><img src="cid:old"/><audio src="cid:amr"/><text src="cid:three"/></par>
</body></smil>"""


def beach(size: tuple[int, int] = (320, 200)) -> bytes:
    """A drawn beach as PNG: sky, sun, sea and sand."""
    width, height = size
    image = Image.new("RGB", size, (120, 180, 235))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width - 110, 20, width - 40, 90), fill=(255, 205, 60))
    draw.rectangle((0, height * 0.55, width, height), fill=(20, 110, 200))
    draw.polygon([(0, height * 0.8), (width, height * 0.7), (width, height), (0, height)],
                 fill=(235, 210, 150))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def three_slides(to: str, subject: str = "Holidays", voice: bytes | None = None) -> Message:
    """Three slides: a PNG and text; text and a WAV; a WBMP (the browser gets it as PNG), an
    AMR voice clip of 1 s (the browser gets it as AAC; ``voice`` replaces it, for one that
    cannot be converted) and text. Plus an SVG attachment, never shown inline."""
    parts = [
        MessagePart("application/smil", SMIL, content_id="smil"),
        MessagePart("image/png", beach(), content_id="pic",
                    content_location="beach.png"),
        MessagePart.from_text("The sea was warm", content_id="one"),
        MessagePart.from_text("Listen to the waves", content_id="two"),
        MessagePart("audio/wav", wav(0.5, 8000), content_id="tune",
                    content_location="waves.wav"),
        MessagePart("image/vnd.wap.wbmp",
                    wbmp.encode(Image.new("1", (64, 48), 1)), content_id="old",
                    content_location="old.wbmp"),
        MessagePart("audio/amr", amr(1.0) if voice is None else voice, content_id="amr",
                    content_location="voice.amr"),
        MessagePart.from_text("See you soon", content_id="three"),
        MessagePart("image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg">'
                    b"<script>alert(1)</script></svg>", content_id="svg",
                    content_location="drawing.svg"),
    ]
    return Message(Envelope(originator=f"{A}/TYPE=PLMN", to=[f"{to}/TYPE=PLMN"],
                            subject=subject, delivery_report=True),
                   parts, multipart=RELATED, start="smil")


async def send_link(server: Server, message: Message) -> tuple[str, str, str | None]:
    """Submit ``message`` to the legacy phone; the message id, link and PIN its SMS gives."""
    phone = server.handsets.handsets[D]
    before = len(phone.texts)
    done = await server.engine.submit(message, Interface.MM1)
    await phone.wait_for(lambda h: len(h.texts) > before)
    text = phone.texts[-1]
    link = re.search(r"(http://\S+/v/[A-Za-z0-9_-]{22})", text)
    pin = re.search(r"code (\d+)", text)
    assert link is not None, text
    await link_stored(server, done.message_id)
    return done.message_id, link.group(1), pin.group(1) if pin else None


async def link_stored(server: Server, message_id: str) -> None:
    """Wait until the link is stored: the SMS may arrive before that state change commits."""
    for _ in range(250):
        (r,) = await server.engine.state.recipients_of(message_id)
        if r.state == RecipientState.FALLBACK_SENT:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"the link of {message_id} was not stored")


@pytest.fixture
async def server(tmp_path: Path):
    async with running(config(tmp_path)) as s:
        yield s


@pytest.fixture
async def http():
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session  # unsafe: keeps cookies of an IP address (loopback)


async def test_the_page_shows_the_slides(server: Server, http: aiohttp.ClientSession) -> None:
    message_id, link, pin = await send_link(server, three_slides(D))
    assert pin is None
    async with http.get(link) as response:
        html = await response.text()
        assert response.status == 200
        headers = response.headers
    assert headers["Content-Security-Policy"] == CSP and "'unsafe-inline'" not in CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "private, no-store"
    assert '<html lang="en">' in html and "<h1>Holidays</h1>" in html and A in html
    assert html.count('<section class="slide"') == 4  # the SVG no slide names: a 4th
    last = html[html.index('id="slide-4"'):html.index('class="parts"')]
    assert "(image/svg+xml) is not shown" in last and "<img" not in last  # download only
    assert re.search(r'id="slide-1"[^>]*data-duration="3000">', html)  # shown
    assert re.search(r'id="slide-2"[^>]*data-duration="2000" hidden>', html)
    assert 'alt="A blue sea"' in html and "The sea was warm" in html
    assert re.search(r'<audio controls preload="none" src="/v/[^"]+/media/4"', html)
    assert re.search(r'<audio controls preload="none" src="/v/[^"]+/media/6"', html)  # AMR
    assert "cannot be played" not in html
    assert "image/vnd.wap.wbmp" not in html.split('class="parts"')[0]  # shown as adapted
    assert 'href="?slide=2" data-slide="2" rel="next"' in html
    assert html.count("/part/") >= 9  # every part downloadable
    async with http.get(link + "?slide=3") as response:
        html = await response.text()
    assert re.search(r'id="slide-3"[^>]*data-duration="4000">', html)
    assert re.search(r'<img src="/v/[^"]+/media/5" alt="Picture 3">', html)


async def test_a_view_is_a_delivery(server: Server, http: aiohttp.ClientSession) -> None:
    message_id, link, _ = await send_link(server, three_slides(D))
    (r,) = await server.engine.state.recipients_of(message_id)
    assert r.state == RecipientState.FALLBACK_SENT and r.viewer_token not in link
    assert r.viewer_token == token_digest(link[-22:])  # only the digest is stored
    async def views() -> list[tuple[str, int | None, dict]]:
        return [(e.kind, e.recipient_id, e.detail)
                for e in await server.engine.state.events_of(message_id)
                if e.kind.startswith("viewed")]

    async with http.get(link) as response:
        assert response.status == 200
    (first,) = await views()  # the first view is the delivery, a move to acknowledged
    assert first[:2] == ("viewed", r.id) and first[2]["via"] == "web"
    async with http.get(link) as response:
        assert response.status == 200
    assert await views() == [first, ("viewed-again", r.id, {})]
    sender = server.handsets.handsets[A]
    await sender.wait_for(lambda h: h.reports)
    report = sender.reports[0]
    assert report.message_type == MessageType.DELIVERY_IND and report.status == Status.RETRIEVED
    assert report.message_id == message_id
    kinds = await kinds_once(server, message_id, "report-sent")
    assert "viewed" in kinds and "viewed-again" in kinds
    assert (await server.engine.state.get_recipient(r.id)).state == RecipientState.ACKNOWLEDGED
    adapted = await server.engine.objects.list(f"messages/{message_id}/adapted/")
    assert len(adapted) == 1 and "browser-" in adapted[0]  # made once, reused


async def test_media_and_downloads(server: Server, http: aiohttp.ClientSession) -> None:
    _, link, _ = await send_link(server, three_slides(D))
    async with http.get(link) as response:
        assert response.status == 200
    async with http.get(f"{link}/media/5") as response:  # the WBMP, as a browser image
        assert response.status == 200 and response.content_type in ("image/png", "image/jpeg")
        assert re.match(r'inline; filename="old\.(png|jpg)"',
                        response.headers["Content-Disposition"])
        assert response.headers["Content-Security-Policy"] == PART_CSP
        assert Image.open(io.BytesIO(await response.read())).size == (64, 48)
    async with http.get(f"{link}/media/4") as response:
        assert response.status == 200 and response.content_type == "audio/wav"
    async with http.get(f"{link}/media/6") as response:  # the AMR voice clip, as AAC
        assert response.status == 200 and response.content_type == "audio/mp4"
        with WorkFolder() as work:
            info = Ffmpeg().probe(work.write("voice.m4a", await response.read()))
        assert info.audio is not None and info.audio.codec == "aac"
    async with http.get(f"{link}/part/5") as response:  # as it was sent
        assert response.content_type == "image/vnd.wap.wbmp"
        assert response.headers["Content-Disposition"].startswith('attachment; filename="old.wbmp"')
    async with http.get(f"{link}/part/6") as response:
        assert response.status == 200 and response.content_type == "audio/amr"
        assert (await response.read()).startswith(b"#!AMR")
    async with http.get(f"{link}/part/8") as response:  # SVG: an attachment, sandboxed
        assert response.content_type == "image/svg+xml"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["Content-Security-Policy"] == PART_CSP
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    async with http.get(f"{link}/media/4", headers={"Range": "bytes=44-"}) as response:
        assert response.status == 206 and response.headers["Accept-Ranges"] == "bytes"
        body = await response.read()
        assert response.headers["Content-Range"] == f"bytes 44-{len(body) + 43}/{len(body) + 44}"
    async with http.get(f"{link}/media/4", headers={"Range": "bytes=99999-"}) as response:
        assert response.status == 416
    for path in ("/media/8", "/media/2", "/part/99", "/part/-1", "/part/x",
                 "/media/%2e%2e/%2e%2e/m/x", "/media/../../../healthz", "/part/1/../../x",
                 "/nothing"):
        url = yarl.URL(link + path, encoded=True)  # sent as written, not normalised
        async with http.get(url) as response:
            assert response.status == 404, path


async def test_links_that_do_not_open_get_one_page(server: Server,
                                                   http: aiohttp.ClientSession) -> None:
    _, expired, _ = await send_link(server, three_slides(D))
    withdrawn_id, withdrawn, _ = await send_link(server, three_slides(D))
    (w,) = await server.engine.state.recipients_of(withdrawn_id)
    await server.engine.state.transition(w.id, expected=[w.state], to=RecipientState.REJECTED,
                                         now=server.engine.clock(), kind="cancelled")
    base = expired.rsplit("/", 1)[0]
    answers = []
    clock = server.engine.clock
    server.engine.clock = lambda: clock() + 30 * 86400  # past link_ttl and the expiry
    try:
        async with http.get(expired) as response:
            answers.append((response.status, await response.text()))
    finally:
        server.engine.clock = clock
    for url in (withdrawn, f"{base}/{'Q' * 22}", f"{base}/short", f"{base}/{'é' * 22}",
                f"{base}/{'Q' * 22}/part/0", f"{base}/{'Q' * 22}/media/0"):
        async with http.get(url) as response:
            answers.append((response.status, await response.text()))
    async with http.post(f"{base}/{'Q' * 22}/pin", data={"pin": "123456"}) as response:
        answers.append((response.status, await response.text()))
    assert {status for status, _ in answers} == {404}
    assert len({body for _, body in answers}) == 1
    assert "This link is unknown, has expired or was withdrawn." in answers[0][1]


async def test_the_pin(server: Server, http: aiohttp.ClientSession) -> None:
    server.engine.settings.link_pin = True
    message_id, link, pin = await send_link(server, three_slides(D))
    assert pin is not None and len(pin) == 6
    wrong = "000000" if pin != "000000" else "111111"
    async with http.get(link) as response:
        html = await response.text()
    assert response.status == 200 and '<label for="pin">' in html and "The sea" not in html
    for path in ("/media/1", "/part/1"):
        async with http.get(link + path) as response:
            assert response.status == 403
    async with http.post(f"{link}/pin", data={"pin": wrong}) as response:
        assert response.status == 403 and "Tries left: 2." in await response.text()
    async with http.post(f"{link}/pin", data={"pin": "12ab"}) as response:
        assert response.status == 400 and "Type the digits" in await response.text()
    async with http.post(f"{link}/pin", data=b'{"pin": 1}',
                         headers={"Content-Type": "application/json"}) as response:
        assert response.status == 400
    async with http.post(f"{link}/pin", data={"pin": "1" * 5000}) as response:
        assert response.status == 413
    async with http.post(f"{link}/pin", data={"pin": pin}, allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"].endswith(link[-25:])
        cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and f"Path=/v/{link[-22:]}" \
        in cookie
    async with http.get(link) as response:  # the session's cookie jar sends it
        assert response.status == 200 and "The sea was warm" in await response.text()
    async with aiohttp.ClientSession() as stranger:  # no cookie: the form again
        async with stranger.get(link) as response:
            assert '<label for="pin">' in await response.text()
        for _ in range(2):
            async with stranger.post(f"{link}/pin", data={"pin": wrong}) as response:
                assert response.status == 403
        async with stranger.post(f"{link}/pin", data={"pin": wrong}) as response:
            assert "this link is locked" in await response.text()
        async with stranger.post(f"{link}/pin", data={"pin": pin}) as response:
            assert response.status == 403 and "locked" in await response.text()
    async with http.get(link) as response:  # locked for everyone
        assert response.status == 403


async def test_french_from_accept_language(server: Server, http: aiohttp.ClientSession) -> None:
    broken = b"not a sound"  # no decoder reads it: download only
    _, link, _ = await send_link(server, three_slides(D, subject="Vacances", voice=broken))
    headers = {"Accept-Language": "de-DE;q=1, fr-CA;q=0.9, en;q=0.5"}
    async with http.get(link, headers=headers) as response:
        html = await response.text()
        assert response.headers["Vary"] == "Accept-Language, Cookie"
    assert '<html lang="fr">' in html and "Diapositive 1 sur 4" in html
    assert "Ce son (audio/amr) ne peut pas être lu" in html and "Télécharger" in html
    async with http.get(link[:-3] + "zzz", headers=headers) as response:
        assert "Lien indisponible" in await response.text()


async def test_failures_are_pages_and_logs_hold_no_token(
        server: Server, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    message_id, link, _ = await send_link(server, three_slides(D))
    token = link[-22:]
    record = await server.engine.state.get_message(message_id)
    await server.engine.objects.delete(record.object_key)  # the store lost it
    async with http.get(link) as response:
        assert response.status == 404 and "Link not available" in await response.text()
        assert response.headers["Content-Security-Policy"] == CSP
    async with http.delete(link) as response:
        assert response.status == 405 and response.headers["Allow"] == "GET,HEAD"
    async with http.get(f"{link}/part/1") as response:
        assert response.status == 404
    async with http.get(link + "x") as response:
        assert response.status == 404
    assert any("content is lost" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records
                if token in r.getMessage() and r.name.startswith("web_viewer")]


async def test_a_vasp_hears_retrieved_and_its_cancel_withdraws_the_link(
        tmp_path: Path, http: aiohttp.ClientSession) -> None:
    """MM7: a SubmitReq to a phone without MMS; the view is a DeliveryReportReq with MMStatus
    Retrieved (TS 23.140 §8.7.4). A CancelReq before the view withdraws the link."""
    from mmsc.config import VaspConfig
    from test_mm7 import VaspEndpoint, call, cancel_or_replace, envelope, soap_with_attachments
    from test_mm7 import submit_body

    async with VaspEndpoint() as vasp:
        cfg = config(tmp_path)
        cfg.vasps = [VaspConfig("acme", "s3cret", ["36000"], report_url=vasp.url)]
        server = Server(cfg)
        await server.start()
        phone = server.handsets.handsets[D]
        try:
            links = []
            for tid in ("v1", "v2"):
                soap = envelope(submit_body(to=f"<Number>{D}</Number>"), tid=tid)
                _, doc, _ = await call(server, *soap_with_attachments(soap))
                links.append(doc.find(".//{*}MessageID").text)
                await phone.wait_for(lambda h: len(h.texts) == len(links))
            viewed_id, cancelled_id = links
            viewed, cancelled = (re.search(r"http://\S+", t).group(0) for t in phone.texts)
            status, _, _ = await call(server, cancel_or_replace("CancelReq", cancelled_id,
                                                                "v3").encode())
            assert status == 200
            async with http.get(cancelled) as response:
                assert response.status == 404 and "withdrawn" in await response.text()
            await link_stored(server, viewed_id)
            async with http.get(viewed) as response:
                assert response.status == 200 and "Bonjour é" in await response.text()
            (report,) = await vasp.wait_for("DeliveryReportReq")
            assert report.fields["MessageID"] == viewed_id
            assert report.fields["MMStatus"] == "Retrieved" and report.recipient.value == D
        finally:
            await server.close()
