"""Typed ranges for the command line's numeric options: one place that says what a number may be.

Use the factories as argparse ``type=``::

    p.add_argument("--batch-size", type=int_in(1, 4096), default=64)
    p.add_argument("--lr", type=float_in(0, 10, above=True))

A value outside its range stops parsing with one line, e.g.
``error: argument --batch-size: must be an integer in 1..4096, got 0``. Ranges are what the code
behind an option can do in bounded time and memory, not what is merely sensible: a bound too
tight is a bug report, a bound missing is an abort, a hang or a silent NaN.

Besides ``type=`` factories, :func:`number` checks numbers that arrive inside strings
(``NAME=AMOUNT`` lists) with the same rules and messages, and :func:`names_in` checks lists of names.
"""

from __future__ import annotations

import argparse
import math

#: Common bounds, so that every subcommand's --threads or --seed means the same thing.
MAX_THREADS = 256  # OpenMP aborts natively far above the core count (a million threads)
MAX_SEED = 2**32 - 1  # numpy's seed range
MAX_IMAGES = 10**7  # counts of images to read or draw


def _label(lo: float, hi: float, integer: bool, above: bool) -> str:
    if integer:
        return f"an integer in {lo}..{hi}"
    low = f"above {lo:g}" if above else f"at least {lo:g}"
    return f"a finite number {low} and at most {hi:g}"


def int_in(lo: int, hi: int):
    """argparse type: an integer within lo..hi (both included)."""

    def parse(text: str) -> int:
        try:
            value = int(str(text).strip(), 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {_label(lo, hi, True, False)}, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be {_label(lo, hi, True, False)}, got {value}")
        return value

    parse.__name__ = f"int_in({lo}, {hi})"  # argparse names the type in some messages
    parse.bounds = (lo, hi, True)
    return parse


def float_in(lo: float, hi: float, above: bool = False):
    """argparse type: a finite number within lo..hi; ``above``: lo itself excluded."""

    def parse(text: str) -> float:
        try:
            value = number(text, lo, hi, above)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        return value

    parse.__name__ = f"float_in({lo}, {hi})"
    parse.bounds = (lo, hi, False)
    return parse


def number(text, lo: float = -math.inf, hi: float = math.inf, above: bool = False, what: str = "") -> float:
    """A finite float from ``text`` within the range, else ValueError with a one-line message."""
    prefix = f"{what} " if what else ""
    try:
        value = float(str(text).strip())
    except ValueError:
        raise ValueError(f"{prefix}must be {_label(lo, hi, False, above)}, got {text!r}") from None
    if not math.isfinite(value) or value < lo or value > hi or (above and value <= lo):
        raise ValueError(f"{prefix}must be {_label(lo, hi, False, above)}, got {text!s}".strip())
    return value


def names_in(text: str | None, known, what: str) -> list[str] | None:
    """A comma-separated list of names that must all be in ``known``; None when ``text`` is empty."""
    if not text:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in set(known)]
    if unknown:
        raise ValueError(f"{what}: unknown name(s) {', '.join(map(repr, unknown))}; known: {', '.join(known) or 'none'}")
    return names


def number_or_amounts(lo: float, hi: float, known, above: bool = False):
    """argparse type: one number for every name, or ``"NAME=AMOUNT,..."`` (a dict), each name in
    ``known`` and each amount a finite number within lo..hi (``above``: lo excluded)."""

    def parse(text: str) -> float | dict[str, float]:
        text = str(text).strip()
        try:
            if "=" not in text:
                return number(text, lo, hi, above)
            from engine.protocol import name_value_pairs

            out = {}
            for name, amount in name_value_pairs(text, "an item", "NAME=1"):
                names_in(name, known, "a name")
                out[name] = number(amount, lo, hi, above, what=name)
            return out
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{exc} (one number, or NAME=NUMBER,...)") from None

    parse.__name__ = "number_or_amounts"
    parse.bounds = (lo, hi, False)
    return parse


def is_checked(action: argparse.Action) -> bool:
    """Whether an option's values are range-checked here (or bounded by ``choices``)."""
    return hasattr(action.type, "bounds") or action.choices is not None


def number_or_percent(lo: float, hi: float):
    """argparse type: ``"5%"`` (a percentile, 0..100) or a finite number within lo..hi; the
    stripped text is kept, for the code that tells the two apart."""

    def parse(text: str) -> str:
        text = str(text).strip()
        try:
            if text.endswith("%"):
                number(text[:-1], 0, 100, what="a percentile")
            else:
                number(text, lo, hi)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{exc} (or a percentile like 5%)") from None
        return text

    parse.__name__ = "number_or_percent"
    parse.bounds = (lo, hi, False)
    return parse
