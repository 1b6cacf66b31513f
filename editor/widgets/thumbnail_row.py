"""A row of clickable thumbnails that share the width they are given: the traversal strips' row
(a latent dimension's, an attribute's). The buttons ignore their size hint, so the row never
widens its dock; the thumbnails shrink from ``thumb`` towards ``min_thumb`` instead."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Signal
from PySide6.QtGui import QIcon, QPixmap, QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QToolButton, QWidget

from editor.imaging import array_to_qimage


class ThumbnailRow(QWidget):
    picked = Signal(int)  # the clicked thumbnail's index

    def __init__(self, thumb: int, min_thumb: int, spacing: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumb, self.min_thumb = int(thumb), int(min_thumb)
        self.buttons: list[QToolButton] = []
        self._row = QHBoxLayout(self)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(spacing)

    def show_images(self, images: np.ndarray, tips: list[str]) -> None:
        """One thumbnail per image (H×W×3 uint8), with its tooltip; extra buttons are hidden."""
        while len(self.buttons) < len(images):
            button = QToolButton(autoRaise=True, iconSize=QSize(self.thumb, self.thumb))
            button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # the row never widens its dock
            button.clicked.connect(self._on_clicked)
            self._row.addWidget(button)
            self.buttons.append(button)
        for i, button in enumerate(self.buttons):
            button.setVisible(i < len(images))
            if i < len(images):
                button.setIcon(QIcon(QPixmap.fromImage(array_to_qimage(np.ascontiguousarray(images[i])))))
                button.setToolTip(tips[i])
                button.setProperty("index", i)
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """One thumbnail size for all, as large as the buttons' share of the width allows (at most
        ``thumb``): the buttons ignore their size hint, so the layout has already split the width."""
        shown = [b for b in self.buttons if not b.isHidden()]
        if not shown:
            return
        self._row.activate()
        padding = shown[0].sizeHint().width() - shown[0].iconSize().width()  # the button's frame around its icon
        side = int(max(self.min_thumb, min(self.thumb, min(b.width() for b in shown) - padding)))
        for button in shown:
            button.setIconSize(QSize(side, side))

    def _on_clicked(self) -> None:
        button = self.sender()
        if button is not None:
            self.picked.emit(int(button.property("index")))
