"""The photo at its own resolution with the edit pasted back, the painted mask, and a brush.

An :class:`ImageView` whose frame is the engine's photo. A render (``Rendered``: an image for a
box of the photo, at full resolution or a scaled preview) is drawn into that box on top, so a
zero edit shows the photo's own pixels. The painted mask is a red tint over the photo; with the
brush or eraser tool, left-button drags emit strokes in photo coordinates (the middle button
pans). Minified photos are drawn from an image pyramid (box-filtered halvings) that a worker
thread builds (:class:`~editor.background.PyramidBuilder`): each paint draws the smallest level
still as large as the target, bilinearly — a few ms for a 12 MP photo at any zoom, where a
smooth ``QImage.scaled`` of it took 40–80 ms on the GUI thread. Until the pyramid is there the
photo itself is drawn bilinearly.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from editor.background import PyramidBuilder
from editor.controllers.mask import MaskModel
from editor.imaging import Frame
from editor.widgets.image_view import ImageView
from editor.widgets.split_divider import SplitDivider

TOOLS = ("brush", "eraser")
OVERLAY_RGB = (255, 60, 60)
OVERLAY_ALPHA = 0.45


class PhotoView(ImageView):
    strokeBegan = Signal(float, float, bool)  # photo x, y, erase
    strokeMoved = Signal(float, float)
    strokeEnded = Signal()

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(placeholder, parent)
        self.tool: str | None = None
        self.brush_radius = 40.0  # photo pixels
        self.show_mask = True
        self.original_only = False  # before/after: the photo without the edit or the mask tint
        self.divider = SplitDivider(self)  # split before/after: the original left of it
        self.divider.moved.connect(lambda _: self.update())
        self.patch: Frame | None = None
        self.patch_box: tuple[int, int, int, int] | None = None
        self._mask: MaskModel | None = None
        self._overlay: np.ndarray | None = None
        self._overlay_image: QImage | None = None
        self._cursor: QPointF | None = None
        self._stroking = False
        self._pan_from: QPointF | None = None
        self._cache: dict[str, tuple[int, list[Frame]]] = {}  # "base"/"patch" -> (image cacheKey, pyramid levels)
        self._pyramids = PyramidBuilder(self)
        self._pyramids.ready.connect(self._on_pyramid)
        self.setMouseTracking(True)

    # ------------------------------------------------------------------ content

    def set_frame(self, frame: Frame | None) -> None:
        self._cache.pop("base", None)
        if frame is None or self.frame is None or frame.array.shape != self.frame.array.shape:
            self.set_rendered(None)
        super().set_frame(frame)

    def set_rendered(self, rendered) -> None:
        """A ``Rendered`` from the engine (drawn into its box), or None: the photo as it is."""
        self._cache.pop("patch", None)
        if rendered is None:
            self.patch, self.patch_box = None, None
        else:
            self.patch = Frame.from_array(np.ascontiguousarray(rendered.image), tag=rendered.request_id)
            self.patch_box = tuple(int(v) for v in rendered.box)
        self.update()

    def attach_mask(self, mask: MaskModel) -> None:
        self._mask = mask
        mask.changed.connect(self._on_mask_changed)
        self._on_mask_changed(None)

    def set_tool(self, tool: str | None) -> None:
        self.tool = tool if tool in TOOLS else None
        self.setCursor(Qt.CursorShape.CrossCursor if self.tool else Qt.CursorShape.ArrowCursor)
        self.update()

    def set_brush_radius(self, radius: float) -> None:
        self.brush_radius = max(0.5, float(radius))
        self.update()

    def set_show_mask(self, show: bool) -> None:
        self.show_mask = bool(show)
        self.update()

    def set_show_original(self, on: bool) -> None:
        """Show the photo as opened (True) or with the edit pasted back (False)."""
        self.original_only = bool(on)
        self.update()

    def photo_point(self, pos: QPointF) -> QPointF:
        """Widget position → photo pixel coordinates (continuous: pixel i spans [i, i+1))."""
        target = self.target_rect()
        z = self.effective_zoom()
        return QPointF((pos.x() - target.x()) / z, (pos.y() - target.y()) / z)

    def widget_point(self, x: float, y: float) -> QPointF:
        target = self.target_rect()
        z = self.effective_zoom()
        return QPointF(target.x() + x * z, target.y() + y * z)

    # ------------------------------------------------------------------ mask overlay

    def _on_mask_changed(self, rect) -> None:
        mask = self._mask
        if mask is None or mask.array is None:
            self._overlay, self._overlay_image = None, None
            self.update()
            return
        h, w = mask.array.shape
        if rect is None or self._overlay is None or self._overlay.shape[:2] != (h, w):
            self._overlay = np.zeros((h, w, 4), np.uint8)
            rect = (0, 0, w, h)
            self._overlay_image = QImage(self._overlay.data, w, h, w * 4, QImage.Format.Format_ARGB32_Premultiplied)
        x0, y0, x1, y1 = rect
        a = (mask.array[y0:y1, x0:x1].astype(np.uint16) * int(OVERLAY_ALPHA * 255) // 255).astype(np.uint16)
        region = self._overlay[y0:y1, x0:x1]
        r, g, b = OVERLAY_RGB
        region[..., 0] = a * b // 255  # premultiplied BGRA (little-endian ARGB32)
        region[..., 1] = a * g // 255
        region[..., 2] = a * r // 255
        region[..., 3] = a
        self.update()

    # ------------------------------------------------------------------ painting

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = self.begin_paint()
        if painter is None:
            return
        target = self.target_rect()
        z = self.effective_zoom()
        self._draw(painter, "base", self.frame, target)
        if self.patch is not None and self.patch_box is not None and not self.original_only:
            x0, y0, x1, y1 = self.patch_box
            box = QRectF(target.x() + x0 * z, target.y() + y0 * z, (x1 - x0) * z, (y1 - y0) * z)
            if self.divider.active:
                painter.save()
                painter.setClipRect(self.divider.edit_clip(target))
                self._draw(painter, "patch", self.patch, box)
                painter.restore()
            else:
                self._draw(painter, "patch", self.patch, box)
        if self.show_mask and self._overlay_image is not None and not self.original_only:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(target, self._overlay_image)
        self.divider.paint(painter, target)
        if self.tool and self._cursor is not None:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            r = self.brush_radius * z
            for color, width in ((QColor(0, 0, 0, 160), 3), (QColor(255, 255, 255, 220), 1)):
                painter.setPen(QPen(color, width))
                painter.drawEllipse(self._cursor, r, r)
        painter.end()
        self.painted.emit(self.frame.tag)

    def _draw(self, painter: QPainter, key: str, frame: Frame, target: QRectF) -> None:
        """Draw ``frame`` into ``target``; minified, from its pyramid's closest level."""
        w, h = round(target.width()), round(target.height())
        image = frame.image
        if w <= 0 or h <= 0:
            return
        if w >= image.width() or h >= image.height():
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # crisp magnified pixels
            painter.drawImage(target, image)
            return
        cached = self._cache.get(key)
        if cached is None or cached[0] != image.cacheKey():
            self._pyramids.request(key, image.cacheKey(), frame.array)
        else:
            for level in reversed(cached[1]):  # smallest first
                if level.image.width() >= w and level.image.height() >= h:
                    image = level.image
                    break
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(target, image)

    def _on_pyramid(self, key: str, stamp: int, levels: list[Frame]) -> None:
        current = {"base": self.frame, "patch": self.patch}.get(key)
        if current is not None and stamp == current.image.cacheKey():
            self._cache[key] = (stamp, levels)
            self.update()

    # ------------------------------------------------------------------ mouse

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.frame is not None and self.divider.press(event, self.target_rect()):
            return
        if self.tool and self.frame is not None and event.button() == Qt.MouseButton.LeftButton:
            p = self.photo_point(event.position())
            self._stroking = True
            self.strokeBegan.emit(p.x(), p.y(), self.tool == "eraser")
            return
        if event.button() == Qt.MouseButton.MiddleButton:
            self._pan_from = event.position()
            return
        if not self.tool:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._cursor = event.position()
        if self.divider.move(event, self.target_rect()):
            return
        if self._stroking:
            p = self.photo_point(event.position())
            self.strokeMoved.emit(p.x(), p.y())
        elif self._pan_from is not None:
            self._pan += event.position() - self._pan_from
            self._pan_from = event.position()
        else:
            super().mouseMoveEvent(event)
        if self.tool or self._pan_from is not None:
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.divider.release(event):
            return
        if self._stroking and event.button() == Qt.MouseButton.LeftButton:
            self._stroking = False
            self.strokeEnded.emit()
            return
        if event.button() == Qt.MouseButton.MiddleButton:
            self._pan_from = None
            return
        super().mouseReleaseEvent(event)

    def leaveEvent(self, event) -> None:
        self._cursor = None
        self.update()
        super().leaveEvent(event)
