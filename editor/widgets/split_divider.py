"""The split before/after view's divider on the photo: left of it the original, right of it the
edit. It is a fraction of the photo's width, so it stays on the same part of the face through
zooms and pans; a drag near the line moves it (before the brush or the pan sees the press)."""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen

GRAB_PX = 6  # how near the line (screen pixels) a press takes the divider


class SplitDivider(QObject):
    moved = Signal(object)  # the fraction, or None when the split view is off

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fraction: float | None = None
        self.dragging = False

    @property
    def active(self) -> bool:
        return self.fraction is not None

    def set_fraction(self, fraction: float | None) -> None:
        fraction = None if fraction is None else min(1.0, max(0.0, float(fraction)))
        if fraction != self.fraction:
            self.fraction = fraction
            self.moved.emit(fraction)

    def line_x(self, target: QRectF) -> float:
        """The divider's x in widget coordinates, for the photo drawn into ``target``."""
        return target.x() + (self.fraction or 0.0) * target.width()

    def edit_clip(self, target: QRectF) -> QRectF:
        """Where the edit is drawn: right of the divider."""
        x = self.line_x(target)
        return QRectF(x, target.y(), max(0.0, target.right() - x), target.height())

    def paint(self, painter: QPainter, target: QRectF) -> None:
        if not self.active:
            return
        x = self.line_x(target)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        for color, width in ((QColor(0, 0, 0, 150), 3), (QColor(255, 255, 255, 230), 1)):
            painter.setPen(QPen(color, width))
            painter.drawLine(QPointF(x, target.top()), QPointF(x, target.bottom()))
        grip = QPointF(x, target.center().y())
        painter.setBrush(QColor(255, 255, 255, 230))
        painter.drawEllipse(grip, 6, 6)
        self._caption(painter, "Before", QPointF(x - 6, target.top() + 6), right_aligned=True)
        self._caption(painter, "After", QPointF(x + 6, target.top() + 6), right_aligned=False)
        painter.setBrush(Qt.BrushStyle.NoBrush)

    @staticmethod
    def _caption(painter: QPainter, text: str, at: QPointF, right_aligned: bool) -> None:
        metrics = painter.fontMetrics()
        w, h = metrics.horizontalAdvance(text) + 10, metrics.height() + 4
        box = QRectF(at.x() - w if right_aligned else at.x(), at.y(), w, h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 140))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    # ------------------------------------------------------------------ mouse (True: handled)

    def press(self, event: QMouseEvent, target: QRectF) -> bool:
        if not self.active or event.button() != Qt.MouseButton.LeftButton or target.isEmpty():
            return False
        if abs(event.position().x() - self.line_x(target)) > GRAB_PX:
            return False
        self.dragging = True
        return True

    def move(self, event: QMouseEvent, target: QRectF) -> bool:
        if not self.dragging:
            return False
        self.set_fraction((event.position().x() - target.x()) / max(1e-6, target.width()))
        return True

    def release(self, event: QMouseEvent) -> bool:
        if not self.dragging or event.button() != Qt.MouseButton.LeftButton:
            return False
        self.dragging = False
        return True

    def near(self, x: float, target: QRectF) -> bool:
        return self.active and abs(x - self.line_x(target)) <= GRAB_PX
