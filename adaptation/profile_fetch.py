"""Fetching the UAProf document a handset names in ``x-wap-profile``, without opening an SSRF
hole: only http and https, only hosts on an allow-list (empty by default: the local profiles
are used instead), a short timeout, a size cap, no redirects, and a cache so that each URL is
fetched once. The cache is the caller's (the MMSC keeps it in its object store at
``uaprof/<sha256-of-url>.rdf``)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Collection
from urllib.parse import urlsplit

import aiohttp

from .uaprof import MAX_PROFILE, DeviceProfile, ProfileError, apply_diff, parse_profile

log = logging.getLogger(__name__)

#: get(key) -> octets or None; put(key, octets).
CacheGet = Callable[[str], Awaitable[bytes | None]]
CachePut = Callable[[str, bytes], Awaitable[None]]


def profile_url(header: str | None) -> str | None:
    """The URL of an ``x-wap-profile`` header (quoted, sometimes with a diff reference)."""
    if not header:
        return None
    first = header.split(",")[0].strip()
    url = first.split()[0].strip().strip('"') if first else ""
    return url or None


def cache_key(url: str) -> str:
    return f"uaprof/{hashlib.sha256(url.encode()).hexdigest()}.rdf"


class ProfileFetcher:
    """Profiles by URL, for the hosts allowed."""

    def __init__(self, allowed_hosts: Collection[str], cache_get: CacheGet, cache_put: CachePut,
                 *, timeout: float = 3.0, max_size: int = MAX_PROFILE) -> None:
        self.allowed_hosts = {h.lower() for h in allowed_hosts}
        self.cache_get = cache_get
        self.cache_put = cache_put
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.max_size = max_size

    def allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        host = parts.hostname  # lower-cased by urlsplit
        return parts.scheme in ("http", "https") and host is not None and \
            host in self.allowed_hosts and not parts.username

    async def profile(self, header: str | None, diff: str | None = None) -> DeviceProfile | None:
        """The device profile a request's ``x-wap-profile`` (and ``x-wap-profile-diff``)
        describe, or None when there is none, the host is not allowed, or it fails."""
        url = profile_url(header)
        if url is None or not self.allowed(url):
            return None
        data = await self.cache_get(cache_key(url))
        if data is None:
            data = await self._download(url)
            if data is None:
                return None
        try:
            profile = parse_profile(data, urlsplit(url).hostname or "fetched")
            if diff:
                profile = apply_diff(profile, diff.encode("utf-8", "replace"))
        except ProfileError as exc:
            log.warning("device profile %s unreadable: %s", url, exc)
            return None
        return profile

    async def _download(self, url: str) -> bytes | None:
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as http:
                async with http.get(url, allow_redirects=False) as response:
                    if response.status != 200:
                        log.warning("device profile %s: HTTP %d", url, response.status)
                        return None
                    data = await response.content.read(self.max_size + 1)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("device profile %s not fetched: %r", url, exc)
            return None
        if len(data) > self.max_size:
            log.warning("device profile %s is over %d octets", url, self.max_size)
            return None
        await self.cache_put(cache_key(url), data)
        return data
