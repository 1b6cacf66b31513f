"""engine.small_cache: the last few results, keyed by arrays."""

from __future__ import annotations

import numpy as np

from engine.small_cache import SmallCache, array_key


def test_small_cache_keeps_the_last_results_none_included():
    calls = []
    cache: SmallCache[int | None] = SmallCache(2)

    def compute(v):
        calls.append(v)
        return v

    for v in (1, None, 1, None):
        cache.get_or_compute(array_key(np.array([v or 0]), tag=bytes([v is None])), lambda v=v: compute(v))
    assert calls == [1, None]  # the second time of each from the cache, None included
    cache.get_or_compute(b"third", lambda: compute(3))
    cache.get_or_compute(array_key(np.array([1]), tag=b"\x00"), lambda: compute(1))
    assert calls == [1, None, 3, 1]  # the oldest entry was dropped for the third
    assert array_key(np.arange(4)) == array_key(np.arange(4).reshape(2, 2)[:, :].copy()) != array_key(np.arange(4), tag=b"x")
