"""The web viewer in a real browser: headless chromium on loopback, one browser and one server
for the module. A three-slide message renders with its image, text and audio; the slide links
work with JavaScript off and on (and Play follows the slide durations); the PIN form takes the
right code and locks after the configured failures; an expired link shows the expired page;
an old phone's 3GP video plays as MP4."""

from __future__ import annotations

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page

from mmsc.server import Server

from browser import browser  # noqa: F401 - the fixture
from test_loop import D, config
from test_viewer import send_link, three_slides

pytestmark = pytest.mark.asyncio(loop_scope="module")
PIN_ATTEMPTS = 2


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory):
    cfg = config(tmp_path_factory.mktemp("viewer"))
    cfg.viewer.pin_attempts = PIN_ATTEMPTS
    s = Server(cfg)
    await s.start()
    yield s
    await s.close()


async def page_of(browser: Browser, *, javascript: bool = True) -> Page:
    context = await browser.new_context(java_script_enabled=javascript,
                                        viewport={"width": 390, "height": 844})
    return await context.new_page()


async def visible_slide(page: Page) -> str:
    return await page.locator("section.slide:visible").get_attribute("id") or ""


async def test_three_slides_render_with_image_text_and_audio(browser: Browser,
                                                             server: Server) -> None:
    _, link, _ = await send_link(server, three_slides(D))
    page = await page_of(browser)
    response = await page.goto(link)
    assert response is not None and response.status == 200
    assert await page.locator("h1").inner_text() == "Holidays"
    image = page.locator("#slide-1 img")
    assert await image.get_attribute("alt") == "A blue sea"
    await page.wait_for_function(
        "() => document.querySelector('#slide-1 img').complete"
        " && document.querySelector('#slide-1 img').naturalWidth === 320")
    assert await page.locator("#slide-1 .text").inner_text() == "The sea was warm"
    await page.set_viewport_size({"width": 320, "height": 640})  # the smallest phones
    assert await page.evaluate("() => document.documentElement.scrollWidth") <= 320
    assert await image.evaluate("i => i.getBoundingClientRect().right") <= 320
    await page.get_by_role("link", name="Next slide").first.click()
    assert await visible_slide(page) == "slide-2"
    assert await page.locator("#slide-2 .text").inner_text() == "Listen to the waves"
    audio = page.locator("#slide-2 audio")
    assert await audio.is_visible()
    await audio.evaluate("a => { a.preload = 'auto'; a.load(); }")
    await page.wait_for_function(  # the browser fetched and decoded the sound
        "() => document.querySelector('#slide-2 audio').readyState >= 1")
    assert 0.4 < await audio.evaluate("a => a.duration") < 0.6
    await page.get_by_role("link", name="Next slide").first.click()
    assert await visible_slide(page) == "slide-3"
    await page.wait_for_function(  # the WBMP, adapted to a browser image
        "() => document.querySelector('#slide-3 img').naturalWidth === 64")
    voice = page.locator("#slide-3 audio")  # the AMR clip, adapted to AAC
    await voice.evaluate("a => { a.preload = 'auto'; a.load(); }")
    await page.wait_for_function(
        "() => document.querySelector('#slide-3 audio').readyState >= 1")
    assert 0.9 < await voice.evaluate("a => a.duration") < 1.2
    await page.context.close()


async def test_slide_links_work_without_javascript(browser: Browser, server: Server) -> None:
    _, link, _ = await send_link(server, three_slides(D))
    page = await page_of(browser, javascript=False)
    await page.goto(link)
    assert await visible_slide(page) == "slide-1"
    assert not await page.get_by_role("button", name="Play the slides").is_visible()
    await page.get_by_role("link", name="Next slide").first.click()
    await page.wait_for_url("**?slide=2")
    assert await visible_slide(page) == "slide-2"
    await page.locator("#slide-2").get_by_role("link", name="Next slide").click()
    await page.wait_for_url("**?slide=3")
    assert await visible_slide(page) == "slide-3"
    await page.locator("#slide-3").get_by_role("link", name="Previous slide").click()
    await page.wait_for_url("**?slide=2")
    assert await visible_slide(page) == "slide-2"
    await page.context.close()


async def test_slide_links_and_play_with_javascript(browser: Browser, server: Server) -> None:
    _, link, _ = await send_link(server, three_slides(D))
    page = await page_of(browser)
    await page.goto(link)
    await page.evaluate("() => { window.samePage = true; }")
    await page.locator("#slide-1").get_by_role("link", name="Next slide").click()
    assert await visible_slide(page) == "slide-2"
    assert page.url.endswith("?slide=2")
    assert await page.evaluate("() => window.samePage === true")  # switched in place
    await page.locator("#slide-2").get_by_role("link", name="Previous slide").click()
    assert await visible_slide(page) == "slide-1"
    play = page.get_by_role("button", name="Play the slides")
    await play.click()  # slide 1 lasts 3 s (its SMIL dur), then slide 2 comes by itself
    assert await page.get_by_role("button", name="Pause").get_attribute("aria-pressed") == "true"
    await page.wait_for_function(
        "() => !document.querySelector('#slide-2').hidden", timeout=10_000)
    assert await page.evaluate("() => window.samePage === true")
    await page.context.close()


async def test_the_pin_form_takes_the_code_and_locks(browser: Browser, server: Server) -> None:
    server.engine.settings.link_pin = True
    try:
        _, link, pin = await send_link(server, three_slides(D))
        _, other, other_pin = await send_link(server, three_slides(D))
    finally:
        server.engine.settings.link_pin = False
    assert pin is not None and other_pin is not None
    page = await page_of(browser)
    await page.goto(link)
    code = page.get_by_label("Code from the SMS")
    await code.fill("999999" if pin != "999999" else "888888")
    await page.get_by_role("button", name="Show the message").click()
    assert "Wrong code. Tries left: 1." in await page.get_by_role("alert").inner_text()
    await page.get_by_label("Code from the SMS").fill(pin)
    await page.get_by_role("button", name="Show the message").click()
    await page.wait_for_url(link)
    assert await page.locator("h1").inner_text() == "Holidays"
    await page.wait_for_function(  # media come with the link's cookie
        "() => document.querySelector('#slide-1 img').naturalWidth === 320")
    await page.goto(other)
    for _ in range(PIN_ATTEMPTS):
        await page.get_by_label("Code from the SMS").fill(
            "999999" if other_pin != "999999" else "888888")
        await page.get_by_role("button", name="Show the message").click()
    assert await page.locator("h1").inner_text() == "Link locked"
    response = await page.goto(other)
    assert response is not None and response.status == 403
    assert await page.locator("h1").inner_text() == "Link locked"
    await page.context.close()


async def test_an_expired_link_shows_the_expired_page(browser: Browser, server: Server) -> None:
    _, link, _ = await send_link(server, three_slides(D))
    page = await page_of(browser)
    clock = server.engine.clock
    server.engine.clock = lambda: clock() + server.config.viewer.link_ttl + 60
    try:
        response = await page.goto(link)
    finally:
        server.engine.clock = clock
    assert response is not None and response.status == 404
    assert await page.locator("h1").inner_text() == "Link not available"
    assert "has expired" in await page.locator("main").inner_text()
    await page.context.close()


async def test_an_old_phones_video_plays_in_the_browser(browser: Browser, server: Server,
                                                        tmp_path_factory) -> None:
    """A 3GP clip (H.263 + AMR-NB, which no browser plays) is served as MP4 (H.264 + AAC):
    the video element loads it at its size and length."""
    from helpers.media import ffmpeg
    from mmsc.message import RELATED, Envelope, Message, MessagePart
    from test_loop import A

    clip = tmp_path_factory.mktemp("clip") / "clip.3gp"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=size=176x144:rate=15:duration=2", "-f", "lavfi",
           "-i", "sine=duration=2", "-c:v", "h263", "-ar", "8000", "-ac", "1",
           "-c:a", "libopencore_amrnb", str(clip))
    smil = b'<smil><body><par dur="2s"><video src="clip.3gp"/></par></body></smil>'
    message = Message(Envelope(originator=f"{A}/TYPE=PLMN", to=[f"{D}/TYPE=PLMN"],
                               subject="Clip"),
                      [MessagePart("application/smil", smil, content_id="smil"),
                       MessagePart("video/3gpp", clip.read_bytes(), content_id="v",
                                   content_location="clip.3gp")],
                      multipart=RELATED, start="smil")
    _, link, _ = await send_link(server, message)
    page = await page_of(browser)
    await page.goto(link)
    video = page.locator("#slide-1 video")
    await video.evaluate("v => { v.preload = 'auto'; v.load(); }")
    await page.wait_for_function("() => document.querySelector('#slide-1 video').readyState >= 1")
    assert await video.evaluate("v => [v.videoWidth, v.videoHeight]") == [176, 144]
    assert 1.8 < await video.evaluate("v => v.duration") < 2.3
    await page.context.close()


async def test_a_text_its_smil_does_not_name_is_on_the_page(browser: Browser, server: Server,
                                                           tmp_path_factory) -> None:
    """python-messaging's message (its SMIL gives the words themselves as the text's src):
    the page shows the words beside the photo, and no notice that a part is missing."""
    from test_mms_interop import TEXT, photo_and_words, viewer_link

    _, link = await viewer_link(server, photo_and_words(tmp_path_factory.mktemp("words"), D))
    page = await page_of(browser)
    await page.goto(link)
    assert await page.locator("#slide-1 .text").inner_text() == TEXT
    await page.wait_for_function(
        "() => document.querySelector('#slide-1 img').complete"
        " && document.querySelector('#slide-1 img').naturalWidth > 0")
    assert await page.locator(".notice").count() == 0
    assert await page.get_by_text("missing").count() == 0
    await page.context.close()
