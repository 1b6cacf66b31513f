"""Abandoning a request whose answer nobody waits for any more.

The client runs ``Engine.handle`` inside :func:`answer_wanted` with a check it can flip from
another thread (the ticket was cancelled or superseded while its request was computed); the
engine's long loops call :func:`still_wanted` between their parts (a full-resolution render,
band by band), which raises :class:`Abandoned` once the check says no — so the next request
does not wait seconds behind an answer that would be thrown away. Outside ``answer_wanted``
(the CLI, scripts, most tests) nothing is ever abandoned. The check is per thread
(a ``ContextVar``): threads the engine starts do not inherit it.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator

_wanted: ContextVar[Callable[[], bool] | None] = ContextVar("answer_wanted", default=None)


class Abandoned(RuntimeError):
    """The request's answer is no longer wanted; the engine stopped computing it."""


@contextmanager
def answer_wanted(check: Callable[[], bool]) -> Iterator[None]:
    """Within this block, :func:`still_wanted` stops the work once ``check()`` returns False."""
    token = _wanted.set(check)
    try:
        yield
    finally:
        _wanted.reset(token)


def still_wanted() -> None:
    """A point where long work may stop: raises :class:`Abandoned` if the answer is no longer wanted."""
    check = _wanted.get()
    if check is not None and not check():
        raise Abandoned("nobody waits for this answer any more")
