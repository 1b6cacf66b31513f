"""Helpers for the photo-workflow GUI tests (photo loop, mask, undo/redo, sessions)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from tests.editor.conftest import TIMEOUT_MS


def wait_rendered(qtbot, window, timeout: int = TIMEOUT_MS) -> np.ndarray:
    """Wait until the newest edit is shown at full quality; returns the whole photo as shown."""
    edit, photo = window.edit, window.photo

    def done() -> bool:
        if window.client.busy or photo.current is None or edit.edit is None:
            return False
        if edit.rendering is None:  # the zero edit: the photo itself
            return photo.last is None
        last = photo.last
        return last is not None and last.request_id == edit.rendering.request_id and last.full_resolution

    qtbot.waitUntil(done, timeout=timeout)
    return photo.composite()


def open_photo_file(qtbot, window, path, timeout: int = TIMEOUT_MS) -> np.ndarray:
    """Open ``path`` through the window and wait for the engine's PhotoOpened (a photo without a
    face: through "Use the whole image"); returns its pixels."""
    from tests.editor._faces import open_in_window

    open_in_window(qtbot, window, path, timeout)
    qtbot.waitUntil(lambda: window.edit.edit is not None, timeout=timeout)
    return window.photo.current.photo


def move_slider(window, rank: int, value: float, drag_values=()) -> int:
    """Move the ``rank``-th most informative slider to ``value`` (dragging through ``drag_values``
    first when given, as a mouse does); returns its dimension."""
    row = window.latents.rows[int(window.latents.active_dims[rank])]
    if drag_values:
        row.slider._slider.setSliderDown(True)
        for v in drag_values:
            row.slider.setValue(v)
        row.slider.setValue(value)
        row.slider._slider.setSliderDown(False)
    else:
        row.slider.setValue(value)
    return row.dim


def mouse(view, kind: QEvent.Type, x: float, y: float, button=Qt.MouseButton.LeftButton) -> None:
    """Send a mouse event at photo coordinates (x, y) to a PhotoView."""
    pos = view.widget_point(x, y)
    buttons = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseButtonRelease else button
    event = QMouseEvent(kind, pos, view.mapToGlobal(pos), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view, event)


def stroke(view, points, button=Qt.MouseButton.LeftButton) -> None:
    """A mouse stroke through ``points`` (photo coordinates)."""
    (x, y), rest = points[0], points[1:]
    mouse(view, QEvent.Type.MouseButtonPress, x, y, button)
    for x, y in rest:
        mouse(view, QEvent.Type.MouseMove, x, y, button)
    mouse(view, QEvent.Type.MouseButtonRelease, x, y, button)


def outside(box, shape) -> np.ndarray:
    """A boolean H×W mask of the pixels outside ``box`` (x0, y0, x1, y1)."""
    m = np.ones(shape[:2], bool)
    x0, y0, x1, y1 = box
    m[y0:y1, x0:x1] = False
    return m
