"""Screenshots for the README: the web viewer with the three-slide test message on a
phone-sized (360x780) and a desktop-sized (1280x900) window, and the operator console (the
message list, then one message's page), in headless chromium against a server on loopback. Run from the repository: ``.venv/bin/python scripts/screenshots.py [DIR]`` (default
``docs/``)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from playwright.async_api import Browser, async_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from mmsc.config import OperatorConfig  # noqa: E402
from mmsc.server import Server  # noqa: E402
from test_loop import A, B, C, D, config, send_to  # noqa: E402
from test_viewer import send_link, three_slides  # noqa: E402

WINDOWS = {"viewer-phone.png": (360, 780), "viewer-desktop.png": (1280, 900)}
CONSOLE = ("console-search.png", "console-message.png")


async def console(browser: Browser, server: Server, message_id: str, folder: Path) -> None:
    """The console's message list and the page of ``message_id``, logged in."""
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.goto(f"{server.url}/console/")
    await page.fill("input[name=name]", "noc")
    await page.fill("input[name=password]", "s3cret")
    await page.click("button[type=submit]")
    await page.wait_for_selector("table.messages")
    await page.screenshot(path=str(folder / CONSOLE[0]))
    await page.goto(f"{server.url}/console/m/{message_id}")
    await page.wait_for_function(
        "() => document.querySelector('section.slide img').naturalWidth > 0")
    await page.screenshot(path=str(folder / CONSOLE[1]), full_page=True)
    await page.close()


async def main(folder: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config(Path(tmp))
        cfg.operators = [OperatorConfig("noc", "s3cret")]
        server = Server(cfg)
        await server.start()
        try:
            _, link, _ = await send_link(server, three_slides(D, subject="Holidays in Brittany"))
            sender = server.handsets.handsets[A]
            for number in (C, B):
                shown = await sender.send(send_to(number), server.handsets.http)
            await asyncio.sleep(3)  # delivered, re-notified, the link SMS: a timeline to show
            async with async_playwright() as playwright:
                browser = await playwright.chromium.launch(executable_path=CHROMIUM,
                                                           args=CHROMIUM_ARGS, headless=True)
                for name, (width, height) in WINDOWS.items():
                    page = await browser.new_page(viewport={"width": width, "height": height})
                    await page.goto(link)
                    await page.wait_for_function(
                        "() => document.querySelector('#slide-1 img').naturalWidth > 0")
                    await page.screenshot(path=str(folder / name), full_page=True)
                    await page.close()
                await console(browser, server, shown.message_id, folder)
                await browser.close()
        finally:
            await server.close()
    print("\n".join(str(folder / name) for name in (*WINDOWS, *CONSOLE)))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs"))
