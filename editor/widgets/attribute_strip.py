"""What one attribute does to the current edit: its decodes from −3σ to +3σ under the attribute's
slider; click one to move the slider there. The attribute panel's counterpart of the latent
dimensions' traversal strip (traversal_strip.py), small enough to sit inside a row."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from editor.widgets.thumbnail_row import ThumbnailRow

THUMB, MIN_THUMB = 40, 18  # thumbnails shrink to share a narrow dock's width


class AttributeStrip(QWidget):
    valuePicked = Signal(float)  # σ

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.values = np.zeros(0, np.float32)
        self.note = QLabel(f"{name}: decoding −3σ … +3σ …")
        self.note.setStyleSheet("color: gray")
        self.row = ThumbnailRow(THUMB, MIN_THUMB, spacing=1)
        self.row.picked.connect(lambda i: self.valuePicked.emit(float(self.values[i])))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setSpacing(0)
        layout.addWidget(self.note)
        layout.addWidget(self.row)

    @property
    def buttons(self):
        return self.row.buttons

    def wait(self) -> None:
        """Shown before the first decodes arrive (later ones replace the thumbnails in place)."""
        if not self.buttons:
            self.note.show()

    def set_images(self, images: np.ndarray, values: np.ndarray) -> None:
        self.values = np.asarray(values, np.float32)
        self.note.hide()
        self.row.show_images(images, [f"{self.name} = {v:+.2f}σ (click to apply)" for v in self.values])
