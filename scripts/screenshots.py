"""Screenshots of the web viewer for the README: the three-slide test message on a phone-sized
(360x780) and a desktop-sized (1280x900) window, in headless chromium against a server on
loopback. Run from the repository: ``.venv/bin/python scripts/screenshots.py [DIR]`` (default
``docs/``)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from playwright.async_api import async_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from mmsc.server import Server  # noqa: E402
from test_loop import D, config  # noqa: E402
from test_viewer import send_link, three_slides  # noqa: E402

WINDOWS = {"viewer-phone.png": (360, 780), "viewer-desktop.png": (1280, 900)}


async def main(folder: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(config(Path(tmp)))
        await server.start()
        try:
            _, link, _ = await send_link(server, three_slides(D, subject="Holidays in Brittany"))
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
                await browser.close()
        finally:
            await server.close()
    print("\n".join(str(folder / name) for name in WINDOWS))


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs"))
