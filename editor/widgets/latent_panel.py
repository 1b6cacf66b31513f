"""Latent sliders: one per active dimension, most informative (KL) first, dead ones folded.

Rebuilt whenever a model with another latent size arrives. A filter box narrows the list;
"Reset all" and "Randomise" act on every active dimension.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible
from superqt.utils import qdebounced

from engine.protocol import ModelInfo
from editor.widgets.slider_row import SliderRow

FIRST_ROWS = 32  # built at once; the rest follow in chunks so a 512-d model never stalls the window
CHUNK_ROWS = 8


class LatentPanel(QWidget):
    offsetChanged = Signal(int, float)  # dim, σ
    dragStarted = Signal()
    dragFinished = Signal()
    resetRequested = Signal(int)  # dim, or -1 for all
    randomiseRequested = Signal(object)  # the active dims
    traversalRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.info: ModelInfo | None = None
        self.rows: dict[int, SliderRow] = {}
        self.active_dims = np.zeros(0, int)
        self.dead_dims = np.zeros(0, int)
        self._offsets = np.zeros(0, np.float32)
        self.folded: QCollapsible | None = None
        self._pending: list[int] = []  # active dims whose rows are still to be built
        self._box: QVBoxLayout | None = None

        self.filter = QLineEdit(placeholderText="Filter dimensions: 3, z12 …", clearButtonEnabled=True)
        self._apply_filter_later = qdebounced(self.apply_filter, timeout=120, parent=self)
        self.filter.textChanged.connect(self._apply_filter_later)
        self.reset_all = QPushButton("Reset all", toolTip="Set every slider back to 0σ")
        self.reset_all.clicked.connect(self._on_reset_all)
        self.randomise = QPushButton("Randomise", toolTip="Random offsets on the active dimensions")
        self.randomise.clicked.connect(self._on_randomise)
        self.summary = QLabel("No model loaded")
        self.summary.setWordWrap(True)

        buttons = QHBoxLayout()
        buttons.addWidget(self.reset_all)
        buttons.addWidget(self.randomise)
        self.scroll = QScrollArea(widgetResizable=True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.filter)
        layout.addLayout(buttons)
        layout.addWidget(self.scroll, 1)
        self.build(None)

    # ------------------------------------------------------------------ building

    def build(self, info: ModelInfo | None) -> None:
        """(Re)create the rows for ``info``'s latent space."""
        self.info = info
        self.rows = {}
        self.folded = None
        body = QWidget()
        box = self._box = QVBoxLayout(body)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        self._pending = []
        if info is None:
            self.active_dims = self.dead_dims = np.zeros(0, int)
            self._offsets = np.zeros(0, np.float32)
            self.summary.setText("No model loaded")
        else:
            order = info.stats.order_by_information()
            active = info.stats.active[order]
            self.active_dims, self.dead_dims = order[active], order[~active]
            self._offsets = np.zeros(info.latent_dim, np.float32)
            for dim in self.active_dims[:FIRST_ROWS]:
                box.addWidget(self._make_row(int(dim)))
            self._pending = [int(d) for d in self.active_dims[FIRST_ROWS:]]
            if len(self.dead_dims):
                self.folded = QCollapsible(f"{len(self.dead_dims)} inactive dimensions (KL ≈ 0)")
                self.folded.toggled.connect(self._build_folded)
                box.addWidget(self.folded)
            self.summary.setText(
                f"{len(self.active_dims)} active of {info.latent_dim} dimensions, by information (KL). "
                "Sliders are in σ units."
            )
        box.addStretch(1)
        old = self.scroll.takeWidget()
        if old is not None:
            old.deleteLater()
        self.scroll.setWidget(body)
        self.apply_filter()
        if self._pending:
            QTimer.singleShot(0, self._build_more)

    def _build_more(self) -> None:
        if not self._pending or self._box is None:
            return
        chunk, self._pending = self._pending[:CHUNK_ROWS], self._pending[CHUNK_ROWS:]
        at = sum(1 for d in self.rows if self.info.stats.active[d])  # active rows come first in the box
        for i, dim in enumerate(chunk):
            self._box.insertWidget(at + i, self._make_row(dim))
        self.apply_filter()
        if self._pending:
            QTimer.singleShot(0, self._build_more)

    def finish_building(self) -> None:
        """Build every pending row now (tests, scripting)."""
        while self._pending:
            self._build_more()

    def _folded_built(self) -> bool:
        return any(int(d) in self.rows for d in self.dead_dims)

    def _make_row(self, dim: int) -> SliderRow:
        stats = self.info.stats
        row = SliderRow(dim, float(stats.kl[dim]), float(stats.std[dim]))
        row.set_value(self._offsets[dim])
        row.moved.connect(self._on_moved)
        row.pressed.connect(self.dragStarted)
        row.released.connect(self.dragFinished)
        row.resetClicked.connect(self.resetRequested)
        row.traversalClicked.connect(self.traversalRequested)
        self.rows[dim] = row
        return row

    def _build_folded(self, expanded: bool) -> None:
        if not expanded or self.folded is None or self._folded_built():
            return
        for dim in self.dead_dims:
            self.folded.addWidget(self._make_row(int(dim)))
        self.folded.expand(animate=False)
        self.apply_filter()

    # ------------------------------------------------------------------ state

    def set_offsets(self, offsets: np.ndarray) -> None:
        """Show offsets changed elsewhere (reset, randomise, a new photo) without echoing them."""
        offsets = np.asarray(offsets, np.float32)
        if offsets.shape != self._offsets.shape:
            return
        self._offsets = offsets.copy()
        for dim, row in self.rows.items():
            row.set_value(offsets[dim])

    def offsets(self) -> np.ndarray:
        return self._offsets.copy()

    def apply_filter(self, text: str | None = None) -> None:
        words = [w.strip().lower().lstrip("z") for w in (self.filter.text() if text is None else text).replace(",", " ").split()]
        for dim, row in self.rows.items():
            row.setVisible(not words or any(w == str(dim) or (w and str(dim).startswith(w)) for w in words))

    # ------------------------------------------------------------------ slots

    def _on_moved(self, dim: int, value: float) -> None:
        self._offsets[dim] = value
        self.offsetChanged.emit(dim, value)

    def _on_reset_all(self) -> None:
        self.resetRequested.emit(-1)

    def _on_randomise(self) -> None:
        self.randomiseRequested.emit(self.active_dims.copy())
