#!/bin/sh
# Install the PostgreSQL server the state-store tests run (tests/helpers/pg_cluster.py starts a
# throw-away cluster of it on loopback): Debian's postgresql, with apt-get, through sudo when
# not root. Its packaged cluster is not used; it need not run.
set -eu
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql
fi
ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null || command -v initdb
