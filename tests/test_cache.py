"""The in-memory caches of mmsc/cache.py."""

from __future__ import annotations

from mmsc.cache import SizedLru, TtlCache


def test_sized_lru_drops_the_least_recently_used_first() -> None:
    cache: SizedLru[str, str] = SizedLru(10)
    cache.put("a", "A", 4)
    cache.put("b", "B", 4)
    assert cache.get("a") == "A"  # now b is the least recently used
    cache.put("c", "C", 4)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == ("A", None, "C")
    cache.put("a", "A2", 6)  # replacing counts the new size only: 6 + 4 fits
    assert (cache.get("a"), cache.get("c"), len(cache)) == ("A2", "C", 2)
    cache.put("big", "X", 11)  # larger than the whole cache: not kept, nothing dropped
    assert (cache.get("big"), len(cache)) == (None, 2)
    cache.put("d", "D", 10)  # exactly the capacity: everything else goes
    assert (cache.get("a"), cache.get("c"), cache.get("d")) == (None, None, "D")


def test_sized_lru_of_capacity_zero_keeps_nothing() -> None:
    cache: SizedLru[str, str] = SizedLru(0)
    cache.put("a", "A", 1)
    assert cache.get("a") is None and len(cache) == 0


async def test_ttl_cache_reads_again_once_stale_and_starts_over_when_full() -> None:
    now = [0.0]
    loads: list[str] = []

    async def load(key: str) -> str:
        loads.append(key)
        return key.upper()

    cache: TtlCache[str, str] = TtlCache(ttl=5.0, max_entries=2, clock=lambda: now[0])
    assert await cache.get("a", load) == "A"
    now[0] = 4.9
    assert await cache.get("a", load) == "A" and loads == ["a"]
    now[0] = 5.0
    assert await cache.get("a", load) == "A" and loads == ["a", "a"]
    await cache.get("b", load)
    await cache.get("c", load)  # full: starts over with c alone
    await cache.get("b", load)
    assert loads == ["a", "a", "b", "c", "b"]
