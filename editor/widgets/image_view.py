"""One image on screen: fit or fixed zoom, crisp pixels when magnified, drag to pan."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QWheelEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from editor.imaging import Frame

ZOOM_STEPS = (0.25, 0.5, 1, 2, 3, 4, 6, 8, 12, 16)


class ImageView(QWidget):
    painted = Signal(int)  # Frame.tag of what was just painted
    zoomChanged = Signal(object)  # float factor, or None for fit

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frame: Frame | None = None
        self.placeholder = placeholder
        self.zoom: float | None = None  # None: fit the widget
        self._pan = QPointF(0, 0)
        self._drag_from: QPointF | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(96, 96)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def sizeHint(self) -> QSize:
        return QSize(256, 256)

    def set_frame(self, frame: Frame | None) -> None:
        self.frame = frame
        self.update()

    def set_zoom(self, factor: float | None) -> None:
        self.zoom = factor
        self._pan = QPointF(0, 0)
        self.update()
        self.zoomChanged.emit(factor)

    def effective_zoom(self) -> float:
        if self.frame is None:
            return 1.0
        if self.zoom is not None:
            return self.zoom
        w, h = self.frame.image.width(), self.frame.image.height()
        return max(1e-3, min(self.width() / w, self.height() / h))

    def step_zoom(self, direction: int) -> None:
        current = self.effective_zoom()
        if direction > 0:
            bigger = [z for z in ZOOM_STEPS if z > current + 1e-6]
            self.set_zoom(bigger[0] if bigger else ZOOM_STEPS[-1])
        else:
            smaller = [z for z in ZOOM_STEPS if z < current - 1e-6]
            self.set_zoom(smaller[-1] if smaller else ZOOM_STEPS[0])

    def target_rect(self) -> QRectF:
        if self.frame is None:
            return QRectF()
        z = self.effective_zoom()
        w, h = self.frame.image.width() * z, self.frame.image.height() * z
        return QRectF((self.width() - w) / 2 + self._pan.x(), (self.height() - h) / 2 + self._pan.y(), w, h)

    def begin_paint(self) -> QPainter | None:
        """A painter over the view's background, or None (and the placeholder text drawn) with no frame."""
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(self.backgroundRole()).darker(115))
        if self.frame is None:
            painter.setPen(QColor(140, 140, 140))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder)
            painter.end()
            return None
        return painter

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = self.begin_paint()
        if painter is None:
            return
        # magnified model pixels stay crisp; minified photos are filtered
        smooth = self.effective_zoom() < 1.0
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        painter.drawImage(self.target_rect(), self.frame.image)
        painter.end()
        self.painted.emit(self.frame.tag)

    def wheelEvent(self, event: QWheelEvent) -> None:
        if self.frame is None:
            return
        self.step_zoom(1 if event.angleDelta().y() > 0 else -1)
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.set_zoom(None)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.zoom is not None:
            self._drag_from = event.position()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is not None:
            self._pan += event.position() - self._drag_from
            self._drag_from = event.position()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag_from = None
