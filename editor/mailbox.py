"""A thread-safe request mailbox with "lanes": latest wins within a lane.

Pure Python (no Qt) so it can be reasoned about and tested on its own. Requests put with
``lane=None`` are queued and never dropped (LoadModel, Encode); a request put on a named lane
replaces the one still pending on that lane (a newer Decode supersedes an older one).
Items are taken in submission order; a replacement moves to the back, after anything
submitted before it. The request taken last is *in flight* until the next ``take``: removing it
then marks it unwanted, so the engine can abandon it (``wanted``; engine.protocol.still_wanted).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from engine.protocol import Request


@dataclass(frozen=True, slots=True)
class Entry:
    request: Request
    lane: str | None  # None: a queued request that is never dropped


class Mailbox:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._items: list[Entry] = []
        self._closed = False
        self._in_flight: Entry | None = None  # taken last, being computed
        self._unwanted = False  # the in-flight request was removed: nobody waits for its answer

    def put(self, request: Request, lane: str | None = None, *, front: bool = False) -> Entry | None:
        """Add a request; returns the entry it replaced (same lane, still pending), if any."""
        entry = Entry(request, lane)
        with self._cond:
            replaced = None
            if lane is not None:
                for i, old in enumerate(self._items):
                    if old.lane == lane:
                        replaced = self._items.pop(i)
                        break
            if front:
                self._items.insert(0, entry)
            else:
                self._items.append(entry)
            self._cond.notify()
        return replaced

    def take(self, timeout: float | None = None) -> Entry | None:
        """Block until a request is pending; ``None`` when closed (or on timeout)."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items or self._closed, timeout):
                return None
            if self._closed:
                return None
            self._in_flight, self._unwanted = self._items.pop(0), False
            return self._in_flight

    def wanted(self, entry: Entry) -> bool:
        """Whether ``entry``'s answer is still wanted (False once removed while in flight). Closing
        the mailbox does not unwant it: the app quitting still finishes an export in flight."""
        with self._cond:
            return not (entry is self._in_flight and self._unwanted)

    def cancel(self, lane: str) -> list[Entry]:
        """Drop whatever is pending on ``lane``."""
        with self._cond:
            dropped = [e for e in self._items if e.lane == lane]
            self._items = [e for e in self._items if e.lane != lane]
            return dropped

    def remove(self, request: Request) -> bool:
        """Drop ``request`` if it is still pending; True if it was. If it is in flight instead,
        its answer is no longer wanted."""
        with self._cond:
            for i, entry in enumerate(self._items):
                if entry.request is request:
                    del self._items[i]
                    return True
            if self._in_flight is not None and self._in_flight.request is request:
                self._unwanted = True
            return False

    def drain(self) -> list[Entry]:
        with self._cond:
            items, self._items = self._items, []
            return items

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)
