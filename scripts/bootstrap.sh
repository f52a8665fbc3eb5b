#!/bin/sh
# Create the virtual environment and install mmsc with its test extras into it.
# On a bare Debian/Ubuntu machine the venv module (python3-venv) may be missing:
# install it with apt-get, through sudo when not root.
set -eu
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
    if command -v apt-get >/dev/null 2>&1; then
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@"
    else
        echo "bootstrap: please install $* with your system's package manager" >&2
        exit 1
    fi
}

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    apt_install python3 python3-venv
fi

"$PYTHON" - <<'PY' || { echo "bootstrap: mmsc needs Python 3.11 or newer" >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
        rm -rf "$VENV"
        ver=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
        apt_install "python${ver}-venv" || apt_install python3-venv
        "$PYTHON" -m venv "$VENV"
    fi
fi

"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[test]"
