"""A few results kept in memory, keyed by the arrays they were computed from: the preview, the
full-resolution render and the exports of one edit share its flow (``flow_composite.motion``), and
every edit of a photo shares its reconstruction's landmarks (``landmark_flow``)."""

from __future__ import annotations

import hashlib
import threading
from typing import Callable, Generic, TypeVar

import numpy as np

T = TypeVar("T")


def array_key(*arrays: np.ndarray, tag: bytes = b"") -> bytes:
    """``tag`` and a SHA-1 of each array's bytes: equal arrays, equal keys."""
    return tag + b"".join(hashlib.sha1(np.ascontiguousarray(a).tobytes()).digest() for a in arrays)


class SmallCache(Generic[T]):
    """The last ``size`` results (the oldest dropped first), thread-safe; ``None`` is a result too."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: dict[bytes, T] = {}
        self._lock = threading.Lock()

    def get_or_compute(self, key: bytes, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._items:
                return self._items[key]
        value = compute()  # outside the lock: a slow entry does not hold up the others
        with self._lock:
            if key not in self._items and len(self._items) >= self.size:
                self._items.pop(next(iter(self._items)))
            self._items[key] = value
        return value
