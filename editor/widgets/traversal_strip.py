"""What one dimension does: its decodes from −3σ to +3σ; click one to jump the slider there."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from editor.widgets.thumbnail_row import ThumbnailRow

THUMB, MIN_THUMB = 56, 20  # thumbnails shrink towards MIN_THUMB to share a narrow dock's width


class TraversalStrip(QWidget):
    valuePicked = Signal(int, float)  # dim, σ
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dim: int | None = None
        self.values = np.zeros(0, np.float32)
        self.title = QLabel(wordWrap=True)
        close = QToolButton(text="✕", toolTip="Close the strip", autoRaise=True)
        close.clicked.connect(self.close_strip)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(close)
        self.row = ThumbnailRow(THUMB, MIN_THUMB, spacing=2)
        self.row.picked.connect(self._on_picked)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addLayout(head)
        layout.addWidget(self.row)
        self.hide()

    @property
    def buttons(self):
        return self.row.buttons

    def wait_for(self, dim: int) -> None:
        self.dim = dim
        self.title.setText(f"z{dim}: decoding −3σ … +3σ …")
        self.show()

    def set_images(self, dim: int, images: np.ndarray, values: np.ndarray) -> None:
        self.dim, self.values = dim, np.asarray(values)
        self.title.setText(f"z{dim} from {values[0]:+.1f}σ to {values[-1]:+.1f}σ (click to apply)")
        self.show()
        self.row.show_images(images, [f"z{dim} = {v:+.2f}σ" for v in self.values])

    def close_strip(self) -> None:
        self.dim = None
        self.hide()
        self.closed.emit()

    def _on_picked(self, index: int) -> None:
        if self.dim is not None:
            self.valuePicked.emit(self.dim, float(self.values[index]))
