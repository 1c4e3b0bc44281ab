"""media/lru: the least recently used go first, each made once while kept, evictions reported."""

from __future__ import annotations

from diffusion_demo.media.lru import LRU


def test_kept_values_are_made_once_and_the_least_recently_used_go():
    made, gone = [], []
    cache = LRU(2, on_evict=gone.append)

    def get(key: str) -> str:
        return cache.get(key, lambda: made.append(key) or key.upper())

    assert [get("a"), get("b"), get("a")] == ["A", "B", "A"]
    get("c")  # b is the least recently used
    assert gone == ["B"] and len(cache) == 2
    get("a")
    get("b")
    assert made == ["a", "b", "c", "b"] and gone == ["B", "C"]
