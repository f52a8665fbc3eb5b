"""A read-through cache with a time to live, for the state store's slowly changing rows
(VASPs, subscribers) that every message would otherwise read through the store's one
thread. A change made elsewhere (another node, an operator) shows within ``ttl`` seconds.
And a least-recently-used cache bounded by size, for content served again and again."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: How long a cached row is used before it is read again, in seconds.
DEFAULT_TTL = 5.0


class TtlCache(Generic[K, V]):
    """Values by key, each read again once older than ``ttl`` seconds. At most
    ``max_entries`` are kept: when full, the cache starts over (a campaign to a million
    numbers must not keep a million rows in memory)."""

    def __init__(self, ttl: float = DEFAULT_TTL, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: dict[K, tuple[float, V]] = {}

    async def get(self, key: K, load: Callable[[K], Awaitable[V]]) -> V:
        """The value of ``key``, from ``load(key)`` when missing or stale."""
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] < self.ttl:
            return entry[1]
        value = await load(key)
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (now, value)
        return value


class SizedLru(Generic[K, V]):
    """Values by key, the least recently used dropped first once their sizes add up to more
    than ``capacity`` (a value larger than the whole capacity is not kept; 0 keeps none)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[K, tuple[int, V]] = OrderedDict()
        self._size = 0

    def get(self, key: K) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: K, value: V, size: int) -> None:
        if size > self.capacity:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._size -= old[0]
        self._entries[key] = (size, value)
        self._size += size
        while self._size > self.capacity:
            _, (dropped, _) = self._entries.popitem(last=False)
            self._size -= dropped

    def __len__(self) -> int:
        return len(self._entries)
