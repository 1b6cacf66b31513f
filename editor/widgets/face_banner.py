"""The strip shown when the face finder found no face in the opened photo, and while a face is
being marked: the two ways on are one click away, nothing is edited behind the user's back."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

STYLE = "FaceBanner { background:#4a3b12; border-radius:4px; } QLabel { color:#ffeebb; }"


class FaceBanner(QFrame):
    markClicked = Signal()
    wholeClicked = Signal()
    cancelClicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(wordWrap=True)
        self.mark = QPushButton("Mark the face…", toolTip="Drag a square around the face on the photo")
        self.whole = QPushButton("Use the whole image", toolTip="Edit the photo's centre square as the face")
        self.cancel = QPushButton("Cancel")
        self.mark.clicked.connect(self.markClicked)
        self.whole.clicked.connect(self.wholeClicked)
        self.cancel.clicked.connect(self.cancelClicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        for button in (self.mark, self.whole, self.cancel):
            layout.addWidget(button)
        self.setStyleSheet(STYLE)
        self.hide()

    def text(self) -> str:
        return self.label.text()

    def show_no_face(self, name: str, finder_missing: bool = False) -> None:
        what = "The face finder (dlib) is not installed" if finder_missing else f"No face found in {name or 'the photo'}"
        self._show(f"{what}. Mark the face, or use the whole image (its centre square).", mark=True, whole=True)

    def show_marking(self) -> None:
        self._show("Drag a square around the face on the photo (Esc cancels).", cancel=True)

    def _show(self, text: str, mark: bool = False, whole: bool = False, cancel: bool = False) -> None:
        self.label.setText(text)
        self.mark.setVisible(mark)
        self.whole.setVisible(whole)
        self.cancel.setVisible(cancel)
        self.show()
