"""Banners (notices, the recovery offer, no face found) float over the bottom of the tab area
instead of taking a row in its layout: showing or hiding one never moves the controls under the
pointer, so a click meant for a button never lands on the one that slid into its place."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QVBoxLayout, QWidget

MARGIN = 6  # px between the banners and the host's edges


class BannerOverlay(QWidget):
    def __init__(self, host: QWidget) -> None:
        super().__init__(host)
        self._banners: list[QWidget] = []
        self._box = QVBoxLayout(self)
        self._box.setContentsMargins(0, 0, 0, 0)
        self._box.setSpacing(4)
        host.installEventFilter(self)
        self.hide()

    def add(self, banner: QWidget, index: int = -1) -> None:
        """Stack ``banner`` (top to bottom in ``index`` order); it shows and hides itself as before."""
        self._box.insertWidget(index, banner)
        self._banners.insert(len(self._banners) if index < 0 else index, banner)
        banner.installEventFilter(self)
        self._place()

    def shown(self) -> list[QWidget]:
        return [b for b in self._banners if not b.isHidden()]

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Resize, QEvent.Type.ShowToParent, QEvent.Type.HideToParent,
                            QEvent.Type.LayoutRequest):  # fmt: skip
            self._place()
        return False

    def _place(self) -> None:
        """Anchor to the host's bottom edge, as high as the shown banners need at its width;
        hidden when none is shown (the overlay then takes no clicks)."""
        host = self.parentWidget()
        if not self.shown():
            self.hide()
            return
        width = max(1, host.width() - 2 * MARGIN)
        height = self._box.heightForWidth(width) if self._box.hasHeightForWidth() else self._box.sizeHint().height()
        height = min(max(height, self._box.minimumSize().height()), max(1, host.height() - 2 * MARGIN))
        self.setGeometry(MARGIN, host.height() - height - MARGIN, width, height)
        self.show()
        self.raise_()
