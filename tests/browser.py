"""Debian's chromium driven by Playwright (its own browser download is not used), for the web
viewer's browser tests and ``scripts/screenshots.py``. ``scripts/test-browser.sh`` installs it;
it only ever talks to loopback."""

from __future__ import annotations

import shutil

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Without the background-networking flags chromium tries to reach Google's services.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
