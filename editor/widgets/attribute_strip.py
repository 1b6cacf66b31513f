"""What one attribute does to the current edit: its decodes from −3σ to +3σ under the attribute's
slider; click one to move the slider there. The attribute panel's counterpart of the latent
dimensions' traversal strip (traversal_strip.py), small enough to sit inside a row."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QIcon, QPixmap, QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from editor.imaging import array_to_qimage

THUMB, MIN_THUMB = 40, 18  # thumbnails shrink to share a narrow dock's width


class AttributeStrip(QWidget):
    valuePicked = Signal(float)  # σ

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.values = np.zeros(0, np.float32)
        self.buttons: list[QToolButton] = []
        self.note = QLabel(f"{name}: decoding −3σ … +3σ …")
        self.note.setStyleSheet("color: gray")
        self._thumbs = QHBoxLayout()
        self._thumbs.setContentsMargins(0, 0, 0, 0)
        self._thumbs.setSpacing(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setSpacing(0)
        layout.addWidget(self.note)
        layout.addLayout(self._thumbs)

    def wait(self) -> None:
        """Shown before the first decodes arrive (later ones replace the thumbnails in place)."""
        if not self.buttons:
            self.note.show()

    def set_images(self, images: np.ndarray, values: np.ndarray) -> None:
        self.values = np.asarray(values, np.float32)
        self.note.hide()
        while len(self.buttons) < len(images):
            button = QToolButton(autoRaise=True, iconSize=QSize(THUMB, THUMB))
            button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # the strip never widens its dock
            button.clicked.connect(self._on_clicked)
            self._thumbs.addWidget(button)
            self.buttons.append(button)
        for i, button in enumerate(self.buttons):
            button.setVisible(i < len(images))
            if i < len(images):
                button.setIcon(QIcon(QPixmap.fromImage(array_to_qimage(np.ascontiguousarray(images[i])))))
                button.setToolTip(f"{self.name} = {self.values[i]:+.2f}σ (click to apply)")
                button.setProperty("index", i)
        self._fit_thumbs()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_thumbs()

    def _fit_thumbs(self) -> None:
        """One size for all, as large as the buttons' share of the width allows (at most THUMB)."""
        shown = [b for b in self.buttons if not b.isHidden()]
        if not shown:
            return
        self.layout().activate()
        padding = shown[0].sizeHint().width() - shown[0].iconSize().width()
        side = int(max(MIN_THUMB, min(THUMB, min(b.width() for b in shown) - padding)))
        for button in shown:
            button.setIconSize(QSize(side, side))

    def _on_clicked(self) -> None:
        button = self.sender()
        if button is not None:
            self.valuePicked.emit(float(self.values[int(button.property("index"))]))
