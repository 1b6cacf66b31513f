"""A square-drag tool over a PhotoView: the user marks where the face is.

An event filter, so the view itself (brush, pan, zoom) needs no mode of its own: while marking,
a left-button drag draws a square (side = the larger of the drag's width and height, growing
from where the drag started) with a rubber band; on release ``marked`` carries it in photo
coordinates (x0, y0, x1, y1). Esc or :meth:`cancel` ends marking without a square.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, QRect, Qt, Signal
from PySide6.QtWidgets import QRubberBand

MIN_DRAG_PX = 6  # a shorter drag (in widget pixels) is a click, not a square


class FaceMarker(QObject):
    marked = Signal(object)  # (x0, y0, x1, y1) in photo coordinates
    cancelled = Signal()

    def __init__(self, view, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.active = False
        self._origin: QPointF | None = None  # widget coordinates of the press
        self._band = QRubberBand(QRubberBand.Shape.Rectangle, view)
        view.installEventFilter(self)

    def start(self) -> None:
        self.active = True
        self._origin = None
        self.view.setCursor(Qt.CursorShape.CrossCursor)
        self.view.setFocus()

    def cancel(self) -> None:
        if self.active:
            self._stop()
            self.cancelled.emit()

    def _stop(self) -> None:
        self.active = False
        self._origin = None
        self._band.hide()
        self.view.unsetCursor()

    def square(self, a: QPointF, b: QPointF) -> tuple[float, float, float, float]:
        """The square dragged from ``a`` towards ``b`` (widget coordinates)."""
        dx, dy = b.x() - a.x(), b.y() - a.y()
        side = max(abs(dx), abs(dy))
        x1 = a.x() + (side if dx >= 0 else -side)
        y1 = a.y() + (side if dy >= 0 else -side)
        return min(a.x(), x1), min(a.y(), y1), max(a.x(), x1), max(a.y(), y1)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self.active or watched is not self.view:
            return False
        kind = event.type()
        if kind == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Escape:
            self.cancel()
            return True
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            self._origin = event.position()
            self._band.setGeometry(QRect(self._origin.toPoint(), self._origin.toPoint()))
            self._band.show()
            return True
        if kind == QEvent.Type.MouseMove and self._origin is not None:
            x0, y0, x1, y1 = self.square(self._origin, event.position())
            self._band.setGeometry(QRect(round(x0), round(y0), round(x1 - x0), round(y1 - y0)))
            return True
        if kind == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton and self._origin is not None:
            x0, y0, x1, y1 = self.square(self._origin, event.position())
            if x1 - x0 < MIN_DRAG_PX:
                self._origin = None
                self._band.hide()
                return True  # a click: keep marking
            a, b = self.view.photo_point(QPointF(x0, y0)), self.view.photo_point(QPointF(x1, y1))
            self._stop()
            self.marked.emit((a.x(), a.y(), b.x(), b.y()))
            return True
        return False  # other buttons pan and zoom as usual
