"""Operators (``[[operator]] name`` and ``password``): HTTP Basic for the API, a signed
session cookie with a CSRF token for the console.

Passwords are kept as PBKDF2 hashes (:mod:`mmsc.mm7.auth`, as VASPs' are), checked once per
credential pair and then remembered by a digest of the pair. A wrong name and a wrong
password cost the same and get the same answer. Sessions are stateless, so that every
process of ``[http] workers`` takes them: ``name|expiry`` signed with HMAC-SHA256 under a key
derived from the operators' passwords (a password changed ends the sessions made with it).
The CSRF token is an HMAC of the session itself: a form made for one session is worthless in
another.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

from mmsc.mm7.auth import check_password, hash_password

#: How long a console session lasts.
SESSION_TTL = 8 * 3600
#: Checked against when the name is unknown, so that the answer takes as long.
_DECOY = hash_password("not a password")


class Operators:
    """The operators who may use the API and the console."""

    def __init__(self, accounts: Mapping[str, str], clock: Callable[[], float] = time.time,
                 ) -> None:
        self._hashes = {name: hash_password(password) for name, password in accounts.items()}
        secret = "\n".join(f"{name}:{accounts[name]}" for name in sorted(accounts))
        self._key = hashlib.pbkdf2_hmac("sha256", secret.encode(), b"mmsc console session",
                                        10_000)
        self._checked: set[bytes] = set()
        self.clock = clock

    def __bool__(self) -> bool:
        return bool(self._hashes)

    def check(self, name: str, password: str) -> bool:
        """Whether the pair is an operator's (PBKDF2 the first time, then remembered)."""
        pair = hashlib.sha256(f"{name}\0{password}".encode("utf-8", "surrogatepass")).digest()
        if pair in self._checked:
            return True
        stored = self._hashes.get(name)
        if not check_password(password, stored or _DECOY) or stored is None:
            return False
        self._checked.add(pair)
        return True

    def _sign(self, text: str) -> str:
        return hmac.new(self._key, text.encode(), hashlib.sha256).hexdigest()

    def session(self, name: str) -> str:
        """A new session's cookie value."""
        body = f"{name}|{int(self.clock()) + SESSION_TTL}"
        return f"{body}|{self._sign(body)}"

    def session_name(self, value: str | None) -> str | None:
        """The operator of a session cookie that is genuine, not expired and of an operator
        still configured; else None."""
        if not value or value.count("|") != 2:
            return None
        name, expiry, signature = value.split("|")
        if not hmac.compare_digest(self._sign(f"{name}|{expiry}"), signature):
            return None
        if not expiry.isdigit() or int(expiry) < self.clock() or name not in self._hashes:
            return None
        return name

    def csrf(self, session: str) -> str:
        """The CSRF token of the forms of one session."""
        return self._sign(f"csrf|{session}")[:40]
