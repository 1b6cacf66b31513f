"""What one dimension does: its decodes from −3σ to +3σ; click one to jump the slider there."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QIcon, QPixmap, QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QVBoxLayout, QWidget

from editor.imaging import array_to_qimage

THUMB, MIN_THUMB = 56, 20  # thumbnails shrink towards MIN_THUMB to share a narrow dock's width


class TraversalStrip(QWidget):
    valuePicked = Signal(int, float)  # dim, σ
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dim: int | None = None
        self.values = np.zeros(0, np.float32)
        self.buttons: list[QToolButton] = []
        self.title = QLabel(wordWrap=True)
        close = QToolButton(text="✕", toolTip="Close the strip", autoRaise=True)
        close.clicked.connect(self.close_strip)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(close)
        self._thumbs = QHBoxLayout()
        self._thumbs.setSpacing(2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addLayout(head)
        layout.addLayout(self._thumbs)
        self.hide()

    def wait_for(self, dim: int) -> None:
        self.dim = dim
        self.title.setText(f"z{dim}: decoding −3σ … +3σ …")
        self.show()

    def set_images(self, dim: int, images: np.ndarray, values: np.ndarray) -> None:
        self.dim, self.values = dim, np.asarray(values)
        self.title.setText(f"z{dim} from {values[0]:+.1f}σ to {values[-1]:+.1f}σ (click to apply)")
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
                button.setToolTip(f"z{dim} = {values[i]:+.2f}σ")
                button.setProperty("index", i)
        self.show()
        self._fit_thumbs()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_thumbs()

    def _fit_thumbs(self) -> None:
        """One thumbnail size for all, as large as the buttons' share of the width allows (at most
        THUMB): the buttons ignore their size hint, so the layout has already split the width."""
        shown = [b for b in self.buttons if not b.isHidden()]
        if not shown:
            return
        self.layout().activate()
        padding = shown[0].sizeHint().width() - shown[0].iconSize().width()  # the button's frame around its icon
        side = int(max(MIN_THUMB, min(THUMB, min(b.width() for b in shown) - padding)))
        for button in shown:
            button.setIconSize(QSize(side, side))

    def close_strip(self) -> None:
        self.dim = None
        self.hide()
        self.closed.emit()

    def _on_clicked(self) -> None:
        button = self.sender()
        if self.dim is not None and button is not None:
            self.valuePicked.emit(self.dim, float(self.values[int(button.property("index"))]))
