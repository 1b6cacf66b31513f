"""Latent sliders: one per active dimension, most informative (KL) first, dead ones folded —
or, with the axis-set switch on "PCA axes", one per principal axis of the aggregate posterior,
largest variance first, each labelled with its explained variance ("PC1 · 12.3 %").

Both sets are in σ units and edit the same latent (the dimension sliders emit ``offsetChanged``,
the PCA ones ``axisChanged``; the controllers put both into one EditStack), so switching sets
keeps the edit. Rebuilt whenever a model with another latent size arrives. A filter box narrows
the list; "Reset all" and "Randomise" act on every axis of the set shown.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible
from superqt.utils import qdebounced

from engine.protocol import ModelInfo, PCAAxes
from editor.widgets.slider_row import SliderRow

FIRST_ROWS = 32  # built at once; the rest follow in chunks so a 512-d model never stalls the window
CHUNK_ROWS = 8
DIMENSIONS, PCA = "dims", "pca"  # the axis sets


def pca_name(k: int, explained: float) -> str:
    """``PC1 · 12.3 %``: principal axis k (0-based) and its share of the variance."""
    return f"PC{k + 1} · {100 * float(explained):.1f} %"


class LatentPanel(QWidget):
    offsetChanged = Signal(int, float)  # dim, σ
    dragStarted = Signal()
    dragFinished = Signal()
    resetRequested = Signal(int)  # dim, or -1 for all
    randomiseRequested = Signal(object)  # the active dims
    traversalRequested = Signal(int)
    axisChanged = Signal(int, float)  # principal axis (0-based), σ
    axisResetRequested = Signal(int)  # axis, or -1 for all
    axisRandomiseRequested = Signal(object)  # the axes
    axisSetChanged = Signal(str)  # DIMENSIONS | PCA

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
        self.pca: PCAAxes | None = None
        self.pca_rows: dict[int, SliderRow] = {}
        self._pca_amounts = np.zeros(0, np.float32)
        self._pca_built = False

        self.axis_set = QComboBox(toolTip="Which axes the sliders move: latent dimensions, or the principal axes "
                                          "(PCA) of the model's aggregate posterior")
        self.axis_set.addItem("Dimensions", DIMENSIONS)
        self.axis_set.addItem("PCA axes", PCA)
        self.axis_set.currentIndexChanged.connect(self._on_axis_set)
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
        self.pca_scroll = QScrollArea(widgetResizable=True)
        self.pca_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.scroll)
        self.stack.addWidget(self.pca_scroll)
        chooser = QHBoxLayout()
        chooser.addWidget(QLabel("Axes:"))
        chooser.addWidget(self.axis_set, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(chooser)
        layout.addWidget(self.summary)
        layout.addWidget(self.filter)
        layout.addLayout(buttons)
        layout.addWidget(self.stack, 1)
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
        box.addStretch(1)
        old = self.scroll.takeWidget()
        if old is not None:
            old.deleteLater()
        self.scroll.setWidget(body)
        self.build_pca(None)  # the new model's axes follow (set_pca)
        self.apply_filter()
        if self._pending:
            QTimer.singleShot(0, self._build_more)

    def set_pca(self, pca: PCAAxes | None) -> None:
        """The model's principal axes (None or K = 0: the PCA set is unavailable)."""
        self.build_pca(pca)

    def build_pca(self, pca: PCAAxes | None) -> None:
        has = pca is not None and len(pca.std) > 0
        self.pca = pca if has else None
        self.pca_rows = {}
        self._pca_amounts = np.zeros(len(pca.std) if has else 0, np.float32)
        self._pca_built = False
        old = self.pca_scroll.takeWidget()
        if old is not None:
            old.deleteLater()
        item = self.axis_set.model().item(1)
        item.setEnabled(has)
        note = (pca.note if pca is not None and pca.note else "this model stores no PCA axes")
        item.setToolTip("" if has else note)
        if not has and self.axis_set.currentData() == PCA:
            self.axis_set.setCurrentIndex(0)  # back to the dimensions
        elif has and self.axis_set.currentData() == PCA:
            self._build_pca_rows()
        self._show_summary()

    def _build_pca_rows(self) -> None:
        """The PCA rows, built the first time they are shown."""
        if self._pca_built or self.pca is None:
            return
        self._pca_built = True
        body = QWidget()
        box = QVBoxLayout(body)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        pca = self.pca
        for k in range(len(pca.std)):
            explained = float(pca.explained[k])
            row = SliderRow(k, 0.0, float(pca.std[k]), name=pca_name(k, explained), strip=False, tooltip=(
                f"principal axis {k + 1} of the aggregate posterior\n{100 * explained:.2f} % of the variance · "
                f"σ {float(pca.std[k]):.3g} (latent units)"))  # fmt: skip
            row.set_value(self._pca_amounts[k])
            row.moved.connect(self._on_axis_moved)
            row.pressed.connect(self.dragStarted)
            row.released.connect(self.dragFinished)
            row.resetClicked.connect(self.axisResetRequested)
            self.pca_rows[k] = row
            box.addWidget(row)
        box.addStretch(1)
        self.pca_scroll.setWidget(body)
        self.apply_filter()

    @property
    def mode(self) -> str:
        return self.axis_set.currentData()

    def set_axis_set(self, mode: str) -> bool:
        """Show ``DIMENSIONS`` or ``PCA``; False when that set is not available."""
        index = self.axis_set.findData(mode)
        if index < 0 or not self.axis_set.model().item(index).isEnabled():
            return False
        self.axis_set.setCurrentIndex(index)
        return True

    def _on_axis_set(self, index: int) -> None:
        mode = self.axis_set.itemData(index)
        if mode == PCA:
            self._build_pca_rows()
        self.stack.setCurrentIndex(1 if mode == PCA else 0)
        self.filter.setPlaceholderText("Filter axes: 1, pc3 …" if mode == PCA else "Filter dimensions: 3, z12 …")
        self._show_summary()
        self.apply_filter()
        self.axisSetChanged.emit(mode)

    def _show_summary(self) -> None:
        info = self.info
        if info is None:
            self.summary.setText("No model loaded")
        elif self.mode == PCA and self.pca is not None:
            k = len(self.pca.std)
            cum = float(np.sum(self.pca.explained))
            self.summary.setText(
                f"{k} principal axes of the aggregate posterior ({100 * cum:.0f} % of its variance), "
                "largest variance first. Sliders are in σ units of each axis."
            )
        else:
            self.summary.setText(
                f"{len(self.active_dims)} active of {info.latent_dim} dimensions, by information (KL). "
                "Sliders are in σ units."
            )

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

    def set_axis_amounts(self, amounts: np.ndarray) -> None:
        """Show the PCA sliders' positions (σ per axis) changed elsewhere, without echoing them."""
        amounts = np.asarray(amounts, np.float32).reshape(-1)
        if amounts.shape != self._pca_amounts.shape:
            return
        self._pca_amounts = amounts.copy()
        for k, row in self.pca_rows.items():
            row.set_value(amounts[k])

    def apply_filter(self, text: str | None = None) -> None:
        text = self.filter.text() if text is None else text
        words = [w.strip().lower() for w in text.replace(",", " ").split()]
        if self.mode == PCA:  # principal axes count from 1, as their labels do
            words = [w.removeprefix("pc") for w in words]
            for k, row in self.pca_rows.items():
                row.setVisible(not words or any(w and str(k + 1).startswith(w) for w in words))
            return
        words = [w.lstrip("z") for w in words]
        for dim, row in self.rows.items():
            row.setVisible(not words or any(w == str(dim) or (w and str(dim).startswith(w)) for w in words))

    # ------------------------------------------------------------------ slots

    def _on_moved(self, dim: int, value: float) -> None:
        self._offsets[dim] = value
        self.offsetChanged.emit(dim, value)

    def _on_axis_moved(self, k: int, value: float) -> None:
        self._pca_amounts[k] = value
        self.axisChanged.emit(k, value)

    def _on_reset_all(self) -> None:
        if self.mode == PCA:
            self.axisResetRequested.emit(-1)
        else:
            self.resetRequested.emit(-1)

    def _on_randomise(self) -> None:
        if self.mode == PCA:
            self.axisRandomiseRequested.emit(np.arange(len(self._pca_amounts)))
        else:
            self.randomiseRequested.emit(self.active_dims.copy())
