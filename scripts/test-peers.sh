#!/bin/sh
# Install the foreign implementations the interoperability tests run against: node-smpp from
# the npm registry into .cache/npm (an SMSC; Node.js from apt-get when missing), and
# python-messaging from PyPI into .cache/pypi (an MMS encoder, run by the tests as a
# subprocess with that folder on its PYTHONPATH, never imported by mmsc).
set -eu
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm
fi
npm install --prefix .cache/npm --no-audit --no-fund --loglevel=error smpp@0.5.1
"${PY:-.venv/bin/python}" -m pip install --quiet --disable-pip-version-check --no-deps \
    --upgrade --target .cache/pypi python-messaging==0.5.13
