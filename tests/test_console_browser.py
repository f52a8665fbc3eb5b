"""The operator console in a real browser (headless chromium on loopback): log in, search by
number and by MessageID, open a message, see its timeline and slides, cancel with the CSRF
token; without the token, or from another origin, refused; a hostile subject is shown as
text, never run."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page

from mmsc.config import OperatorConfig
from mmsc.server import Server

from browser import browser  # noqa: F401 - the fixture
from test_loop import A, B, F, config, send_to
from test_operator_api import wait_state

pytestmark = pytest.mark.asyncio(loop_scope="module")
HOSTILE = '<img src=x onerror="window.__xss=1"><script>window.__xss=1</script>'


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory):
    cfg = config(tmp_path_factory.mktemp("console"))
    cfg.operators = [OperatorConfig("noc", "s3cret")]
    cfg.delivery.renotify_backoff = [60.0]
    s = Server(cfg)
    await s.start()
    yield s
    await s.close()


async def logged_in(browser: Browser, server: Server) -> Page:
    page = await (await browser.new_context()).new_page()
    await page.goto(f"{server.url}/console/")
    await page.fill("input[name=name]", "noc")
    await page.fill("input[name=password]", "s3cret")
    await page.click("button[type=submit]")
    await page.wait_for_selector("input[name=q]")
    return page


async def test_login_is_needed_and_a_wrong_password_refused(browser: Browser,
                                                            server: Server) -> None:
    page = await (await browser.new_context()).new_page()
    response = await page.goto(f"{server.url}/console/m/{'0' * 32}")
    assert response is not None and page.url == f"{server.url}/console/"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    await page.fill("input[name=name]", "noc")
    await page.fill("input[name=password]", "wrong")
    await page.click("button[type=submit]")
    assert "Wrong name or password" in await page.locator(".error").inner_text()


async def test_search_open_timeline_slides_and_cancel(browser: Browser, server: Server) -> None:
    a, b = server.handsets.handsets[A], server.handsets.handsets[B]
    delivered = await a.send(send_to(B), server.handsets.http)
    await wait_state(server, delivered.message_id, "acknowledged")
    waiting = await a.send(send_to(F), server.handsets.http)  # offline: never fetches
    await wait_state(server, waiting.message_id, "notified")
    page = await logged_in(browser, server)

    await page.fill("input[name=q]", waiting.message_id)
    await page.press("input[name=q]", "Enter")
    await page.wait_for_url(re.compile(waiting.message_id))
    rows = page.locator("table.messages tbody tr")
    assert await rows.count() == 1
    assert waiting.message_id in (await rows.locator("a").get_attribute("href") or "")

    await page.fill("input[name=q]", B)
    await page.press("input[name=q]", "Enter")
    await page.wait_for_url(re.compile(r"q=%2B"))
    assert await rows.count() == 1
    assert delivered.message_id in (await rows.locator("a").get_attribute("href") or "")

    await page.click(f"a[href='/console/m/{delivered.message_id}']")
    await page.wait_for_selector("ol.timeline")
    assert await page.locator("h1#subject").inner_text() == "Beach"
    timeline = await page.locator("ol.timeline").inner_text()
    for words in ("routed mms", "notified by WAP push", "fetched by", "acknowledged by the handset",
                  "report Retrieved sent"):
        assert words in timeline, timeline
    events = await server.engine.state.events_of(delivered.message_id)
    assert await page.locator("ol.timeline > li").count() == len(events)
    image = page.locator("section.slide img")
    assert await image.count() == 1
    assert await image.evaluate("img => img.complete && img.naturalWidth > 0")
    assert "Wish you were here" in await page.locator("section.slide").inner_text()
    await page.click("button#cancel")  # every recipient has it: refused
    assert await page.locator("h1").inner_text() == "409"

    await page.goto(f"{server.url}/console/m/{waiting.message_id}")
    await page.click("button#cancel")
    await page.wait_for_selector(".done")
    assert "cancelled" in await page.locator(".done").inner_text()
    (r,) = await server.engine.state.recipients_of(waiting.message_id)
    assert r.state.value == "rejected"


async def test_csrf_and_other_origins_are_refused(browser: Browser, server: Server) -> None:
    a = server.handsets.handsets[A]
    waiting = await a.send(send_to(F), server.handsets.http)
    await wait_state(server, waiting.message_id, "notified")
    page = await logged_in(browser, server)
    await page.goto(f"{server.url}/console/m/{waiting.message_id}")
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    assert [c for c in await page.context.cookies() if c["name"] == "mmsc_console"][0][
        "sameSite"] == "Strict"
    csrf = await page.locator("form.action input[name=csrf]").get_attribute("value")
    cancel = f"{server.url}/console/m/{waiting.message_id}/cancel"

    # the form without its token, from the page itself: refused
    await page.evaluate("() => document.querySelector('form.action input[name=csrf]').remove()")
    await page.click("button#cancel")
    assert await page.locator("h1").inner_text() == "403"
    # with the token but from another origin (what a forged cross-site form would carry)
    async with aiohttp.ClientSession(cookies=cookies) as http:
        for origin in ("http://evil.example", "null", None):
            headers = {"Origin": origin} if origin else {}
            async with http.post(cancel, data={"csrf": csrf}, headers=headers,
                                 allow_redirects=False) as response:
                assert response.status == 403, origin
        # a session's token does not serve another session
        async with http.post(cancel, data={"csrf": "0" * 40},
                             headers={"Origin": server.url}, allow_redirects=False) as response:
            assert response.status == 403
    (r,) = await server.engine.state.recipients_of(waiting.message_id)
    assert r.state.value == "notified"  # none of it cancelled anything


async def test_a_hostile_subject_is_shown_as_text(browser: Browser, server: Server) -> None:
    a = server.handsets.handsets[A]
    message = send_to(B)
    message.envelope.subject = HOSTILE
    message.parts[0].content_location = '"><script>window.__xss=1</script>.jpg'
    conf = await a.send(message, server.handsets.http)
    await wait_state(server, conf.message_id, "acknowledged")
    page = await logged_in(browser, server)
    await page.goto(f"{server.url}/console/?q={B}")
    assert HOSTILE in await page.locator("table.messages").inner_text()
    await page.goto(f"{server.url}/console/m/{conf.message_id}")
    assert await page.locator("h1#subject").inner_text() == HOSTILE
    assert '"><script>' in await page.locator("table.parts").inner_text()
    assert await page.evaluate("() => window.__xss") is None
    assert await page.locator("main script, main img[src=x]").count() == 0


async def test_live_view_of_the_emulator(browser: Browser, server: Server) -> None:
    page = await logged_in(browser, server)
    await page.goto(f"{server.url}/console/live")
    assert B in await page.locator("table.handsets").inner_text()
    assert "m-notification-ind" in await page.locator("ol.sms").inner_text()



async def test_an_smsc_emulators_fault_is_switched_from_the_live_page(
        browser: Browser, server: Server) -> None:
    """The demo's failover switch: the operator sets the emulator failing (its binds are
    cut, the page says so), then back to normal (mmsc binds again)."""
    page = await logged_in(browser, server)
    await page.goto(f"{server.url}/console/live")
    (name,) = server.smscs
    row = page.locator("table.smscs tr", has_text=name)
    assert "normal" in await row.inner_text()
    await row.locator("select").select_option("failing")
    await row.locator("button").click()
    await page.wait_for_url(f"{server.url}/console/live")
    assert server.smscs[name].fault == "failing" and not server.smpp.connected
    assert "failing" in await page.locator("table.smscs tr", has_text=name).inner_text()
    row = page.locator("table.smscs tr", has_text=name)
    await row.locator("select").select_option("normal")
    await row.locator("button").click()
    await page.wait_for_url(f"{server.url}/console/live")
    for _ in range(200):
        if server.smpp.connected:
            break
        await asyncio.sleep(0.05)
    assert server.smscs[name].fault == "normal" and server.smpp.connected

    csrf = await page.locator("table.smscs input[name=csrf]").first.get_attribute("value")
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    origin = {"Origin": server.url}
    async with aiohttp.ClientSession(cookies=cookies) as http:
        for path, form, status in ((f"/console/live/smsc/{name}", {"fault": "asleep"}, 400),
                                   ("/console/live/smsc/nowhere", {"fault": "slow"}, 404),
                                   (f"/console/live/smsc/{name}", {}, 400)):
            async with http.post(f"{server.url}{path}", data={"csrf": csrf, **form},
                                 headers=origin, allow_redirects=False) as response:
                assert response.status == status, (path, form)
        async with http.post(f"{server.url}/console/live/smsc/{name}", data={"fault": "slow"},
                             headers=origin, allow_redirects=False) as response:
            assert response.status == 403  # no CSRF token
    assert server.smscs[name].fault == "normal"
