"""Declared ranges for the fields of model configs, checked in one place.

A config dataclass declares each field with :func:`ranged`; its ``__post_init__`` calls
:func:`check_fields`. The field's type is its default's (int, float, bool or str), so a float, a
list or null where an int goes is refused, as is NaN, a width that would allocate gigabytes, or a
string outside its choices. Configs come from checkpoints (hostile JSON) and the command line, so
every message is one line naming the field.
"""

from __future__ import annotations

import dataclasses
import math

_KEY = "range"
_NAMES = {int: "an integer", float: "a finite number", bool: "true or false", str: "a string"}


def ranged(default, lo=None, hi=None, *, choices: tuple | None = None):
    """A dataclass field with a default, an inclusive range (numbers) or choices (strings)."""
    return dataclasses.field(default=default, metadata={_KEY: (lo, hi, choices)})


def _kind(value) -> str:
    return "null" if value is None else type(value).__name__


def check_value(name: str, default, value, lo=None, hi=None, choices=None) -> None:
    """Raise ValueError (one line) unless ``value`` has the default's type and lies in range."""
    want = type(default)
    if want is bool:
        ok = isinstance(value, bool)
    elif want is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif want is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    else:
        ok = isinstance(value, want)
    if not ok:
        shown = repr(value) if isinstance(value, (int, float, str)) else _kind(value)
        raise ValueError(f"{name} must be {_NAMES.get(want, want.__name__)}, got {shown[:40]}")
    if choices is not None and value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(str, choices))}, got {value!r}"[:200])
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise ValueError(f"{name} must be within {lo}..{hi}, got {value}")


def check_fields(config) -> None:
    """Check every field of ``config`` declared with :func:`ranged` (and the type of the others)."""
    for f in dataclasses.fields(config):
        lo, hi, choices = f.metadata.get(_KEY, (None, None, None))
        if f.default is dataclasses.MISSING:
            continue
        check_value(f.name, f.default, getattr(config, f.name), lo, hi, choices)
