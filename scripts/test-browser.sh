#!/bin/sh
# Install the browser the web-viewer tests drive: Debian's chromium (Playwright's own browser
# download is not used), with apt-get, through sudo when not root. Chromium's fonts come with it.
set -eu
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium
fi
command -v chromium
