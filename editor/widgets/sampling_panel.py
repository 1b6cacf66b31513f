"""Sampling mode: seed, temperature and a grid of samples; click one to edit it; save the grid.
The grid always shows what the controls say: a changed N, seed or temperature draws it again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QSizePolicy,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from superqt.utils import qdebounced

from engine.protocol import ModelInfo, Sampled
from editor.export import save_image
from editor.imaging import array_to_qimage, tile_grid

THUMB = 96
REDRAW_MS = 250  # typing "1.5" into the temperature draws once, not for "1." too

PRIORS = {  # what Sample(prior="auto") draws from: ModelInfo.priors[0]
    "aggregate": "z = μ + T·Lε, ε ~ N(0, I): the Gaussian fitted to the training set's latents (covariance LLᵀ)",
    "standard": "z ~ N(0, T²I), the model's prior",
}


class SamplingPanel(QWidget):
    sampleRequested = Signal(int, int, float)  # n, seed, temperature
    sampleChosen = Signal(int)
    failed = Signal(str)
    saved = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.images: np.ndarray | None = None
        self.count = QSpinBox(minimum=1, maximum=64, value=16, toolTip="How many samples")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0, toolTip="Random seed")
        self.temperature = QDoubleSpinBox(minimum=0.0, maximum=3.0, value=1.0, singleStep=0.1, decimals=2,
                                          toolTip="Temperature T: scales the spread around the prior's mean")
        self._redraw_later = qdebounced(self._redraw, timeout=REDRAW_MS, parent=self)
        for box in (self.count, self.seed, self.temperature):
            box.valueChanged.connect(self._redraw_later)
        self.sample_button = QPushButton("Sample")
        self.sample_button.clicked.connect(self.request)
        self.next_button = QPushButton("Next seed")
        self.next_button.clicked.connect(self._next_seed)
        self.save_button = QPushButton("Save grid…", enabled=False)
        self.save_button.clicked.connect(self._save_dialog)
        controls = QHBoxLayout()
        for label, widget in (("N", self.count), ("Seed", self.seed), ("Temperature", self.temperature)):
            controls.addWidget(QLabel(label))
            controls.addWidget(widget)
        controls.addWidget(self.sample_button)
        controls.addWidget(self.next_button)
        controls.addStretch(1)
        controls.addWidget(self.save_button)

        self.grid = QListWidget()
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(QSize(THUMB, THUMB))
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setSpacing(4)
        self.grid.itemActivated.connect(self._on_item)
        self.grid.itemClicked.connect(self._on_item)
        self.hint = QLabel(wordWrap=True)
        self.hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # wraps, never widens the window
        self.set_model(None)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(self.hint)
        layout.addWidget(self.grid, 1)

    def set_model(self, info: ModelInfo | None) -> None:
        """Say what a draw samples from: the model's best prior (the one ``Sample(prior="auto")``
        uses) and, for a conditional model, the labels it is decoded with."""
        if info is None:
            self.hint.setText("Draw samples from the model's prior; click one to edit it.")
            return
        prior = info.priors[0] if info.priors else "standard"
        what = PRIORS.get(prior, f"the {prior} prior")
        labels = ", decoded with the Labels dock's labels" if info.conditional else ""
        self.hint.setText(f"Draws {what}; T = temperature{labels}. Click a sample to edit it.")

    def request(self) -> None:
        self._redraw_later.cancel()  # this request already carries the controls' values
        self.sampleRequested.emit(self.count.value(), self.seed.value(), self.temperature.value())

    def _redraw(self) -> None:
        if self.images is not None:  # a grid is shown: it follows its controls
            self.request()

    def _next_seed(self) -> None:
        self.seed.setValue(self.seed.value() + 1)
        self.request()

    def show_samples(self, sampled: Sampled) -> None:
        self.images = np.asarray(sampled.images)
        self.grid.clear()
        for i, image in enumerate(self.images):
            pixmap = QPixmap.fromImage(array_to_qimage(np.ascontiguousarray(image)))
            item = QListWidgetItem(QIcon(pixmap.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio)), str(i))
            item.setData(Qt.ItemDataRole.UserRole, i)
            self.grid.addItem(item)
        self.save_button.setEnabled(True)

    def clear(self) -> None:
        self.images = None
        self.grid.clear()
        self.save_button.setEnabled(False)

    def grid_image(self) -> np.ndarray | None:
        if self.images is None or not len(self.images):
            return None
        return tile_grid(self.images, columns=int(np.ceil(np.sqrt(len(self.images)))))

    def save_grid(self, path: str | Path) -> Path:
        grid = self.grid_image()
        if grid is None:
            raise ValueError("no samples to save")
        out = save_image(grid, path)
        self.saved.emit(str(out))
        return out

    def _save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save sample grid", f"samples-seed{self.seed.value()}.png",
                                              "Images (*.png *.jpg *.jpeg)")
        if path:
            try:
                self.save_grid(path)
            except (ValueError, OSError) as exc:
                self.failed.emit(str(exc))

    def _on_item(self, item: QListWidgetItem) -> None:
        self.sampleChosen.emit(int(item.data(Qt.ItemDataRole.UserRole)))
