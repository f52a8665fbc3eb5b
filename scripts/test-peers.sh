#!/bin/sh
# Install the foreign SMPP implementation the interoperability tests run against:
# node-smpp from the npm registry, into .cache/npm. Installs Node.js with apt-get when missing.
set -eu
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm
fi
npm install --prefix .cache/npm --no-audit --no-fund --loglevel=error smpp@0.5.1
