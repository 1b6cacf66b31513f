"""The four images side by side: photo, aligned crop, reconstruction, edited; zoom and fit.

Each can be hidden with its toggle (e.g. show only the edit, or reconstruction | edit); the
zoom buttons act on all views together. The photo is the main view (a PhotoView: the photo at
its own resolution with the edit pasted back, the mask and the brush); it takes the left
column, the model-resolution images stack on the right.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from engine.protocol import Encoded
from editor.imaging import Frame
from editor.widgets.image_view import ImageView
from editor.widgets.photo_view import PhotoView

VIEWS = {
    "photo": ("Photo (edited, full resolution)", "Open a photo (File ▸ Open, drag and drop)\nor pick a sample"),
    "aligned": ("Model's crop", "The crop the model sees"),
    "reconstruction": ("Reconstruction", "The model's reconstruction"),
    "edited": ("Edited", "Move a slider to edit"),
}


class CanvasPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.views: dict[str, ImageView] = {}
        self.toggles: dict[str, QToolButton] = {}
        self._cells: dict[str, QWidget] = {}

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Show:"))
        for key, (title, placeholder) in VIEWS.items():
            toggle = QToolButton(text=title, checkable=True, checked=True)
            toggle.toggled.connect(self._relayout)
            self.toggles[key] = toggle
            bar.addWidget(toggle)
            self.views[key] = PhotoView(placeholder) if key == "photo" else ImageView(placeholder)
            self._cells[key] = self._titled(title, self.views[key])
        bar.addStretch(1)
        for text, tip, action in (
            ("Fit", "Fit the images to their panels", lambda: self.set_zoom(None)),
            ("1:1", "Actual pixels", lambda: self.set_zoom(1)),
            ("−", "Zoom out", lambda: self.step_zoom(-1)),
            ("+", "Zoom in", lambda: self.step_zoom(1)),
        ):
            button = QToolButton(text=text, toolTip=tip)
            button.clicked.connect(action)
            bar.addWidget(button)

        self._grid = QGridLayout()
        self._grid.setSpacing(6)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addLayout(self._grid, 1)
        self._relayout()

    @staticmethod
    def _titled(title: str, view: ImageView) -> QWidget:
        cell = QWidget()
        box = QVBoxLayout(cell)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        label = QLabel(title, alignment=Qt.AlignmentFlag.AlignHCenter)
        box.addWidget(label)
        box.addWidget(view, 1)
        return cell

    def _relayout(self) -> None:
        shown = [k for k in VIEWS if self.toggles[k].isChecked()]
        for cell in self._cells.values():
            self._grid.removeWidget(cell)
            cell.hide()
        others = [k for k in shown if k != "photo"]
        if "photo" in shown and others:  # the photo big on the left, the model's images on the right
            self._grid.addWidget(self._cells["photo"], 0, 0, len(others), 1)
            for i, key in enumerate(others):
                self._grid.addWidget(self._cells[key], i, 1)
            self._grid.setColumnStretch(0, 3)
            self._grid.setColumnStretch(1, 1)
        else:
            for i, key in enumerate(shown):
                self._grid.addWidget(self._cells[key], 0, i)
            self._grid.setColumnStretch(0, 0)
            self._grid.setColumnStretch(1, 0)
        for key in shown:
            self._cells[key].show()

    def show_only(self, *keys: str) -> None:
        for key, toggle in self.toggles.items():
            toggle.setChecked(key in keys)

    def set_zoom(self, factor: float | None) -> None:
        for view in self.views.values():
            view.set_zoom(factor)

    def step_zoom(self, direction: int) -> None:
        """One zoom step in (+1) or out (−1), on all views together."""
        for view in self.views.values():
            view.step_zoom(direction)


    # ------------------------------------------------------------------ slots

    def set_photo(self, frame: Frame | None, name: str = "") -> None:
        self.views["photo"].set_frame(frame)
        self.views["photo"].setToolTip(name)

    def set_encoded(self, encoded: Encoded | None) -> None:
        if encoded is None:
            for key in ("aligned", "reconstruction", "edited"):
                self.views[key].set_frame(None)
            return
        self.views["aligned"].set_frame(Frame.from_array(encoded.aligned))
        self.views["reconstruction"].set_frame(Frame.from_array(encoded.reconstruction))

    def set_edited(self, frame: Frame | None) -> None:
        self.views["edited"].set_frame(frame)
