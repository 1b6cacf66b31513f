"""Work-arounds for defects in the Qt bindings this editor may run on.

PySide6 6.12.0 on CPython < 3.12: every ``SignalInstance.emit()`` returns ``True`` without
taking a reference to it, so each emit drops one reference to the ``True`` singleton; after
a few hundred emits CPython aborts with "Fatal Python error: bool_dealloc". (6.11.x is fine;
on 3.12+ ``True`` is immortal and the defect is harmless.) superqt's sliders emit on every
move, so this cannot be avoided by emitting less. When the defect is detected we give
``True`` and ``False`` the effectively-infinite reference count that CPython 3.12 gives them.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

_IMMORTAL = 1 << 40  # references added; one emit spends one, ~10¹² emits to use them up
_checked = False


class _Probe(QObject):
    ping = Signal()


def emit_drops_true_reference() -> bool:
    """True if ``Signal.emit()`` loses a reference to ``True`` in this build."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit()
    return sys.getrefcount(True) <= before - 8


def ensure_signal_refcounts() -> bool:
    """Guard against the emit defect (once per process). True if the guard was needed."""
    global _checked
    if _checked or sys.version_info >= (3, 12):
        _checked = True
        return False
    _checked = True
    if not emit_drops_true_reference():
        return False
    if hasattr(sys, "gettotalrefcount"):  # a debug build lays PyObject out differently: leave it alone
        return False
    for singleton in (True, False):
        ctypes.c_ssize_t.from_address(id(singleton)).value += _IMMORTAL
    return True
