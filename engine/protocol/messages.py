"""The base of every message: requests carry a ``request_id``, responses carry it back."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

_ids = itertools.count(1)


def next_request_id() -> int:
    """Monotonic ids; process-wide, thread-safe enough (``itertools.count`` is atomic in CPython)."""
    return next(_ids)


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    request_id: int = field(default_factory=next_request_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    request_id: int
    elapsed_ms: float = 0.0
