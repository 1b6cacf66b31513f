"""One latent axis: name, a labelled σ slider with numeric entry, reset and strip buttons.

A dimension by default; another axis (a principal axis) with ``name``, ``tooltip`` and, without a
traversal strip of its own, ``strip=False``."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget
from superqt import QLabeledDoubleSlider

from editor.widgets.slider_drag import SliderDrag


class SliderRow(QWidget):
    moved = Signal(int, float)  # dim, σ offset
    pressed = Signal()
    released = Signal()
    resetClicked = Signal(int)
    traversalClicked = Signal(int)

    def __init__(self, dim: int, kl: float, std: float, limit: float = 3.0, parent: QWidget | None = None, *,
                 name: str | None = None, tooltip: str | None = None, strip: bool = True) -> None:
        super().__init__(parent)
        self.dim = dim
        self.name = f"z{dim}" if name is None else name
        self.label = QLabel(self.name)
        self.label.setMinimumWidth(34 if name is None else 86)
        self.label.setToolTip(f"dimension {dim}\nKL {kl:.3g} nats · σ {std:.3g}" if tooltip is None else tooltip)
        self.slider = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(-limit, limit)
        self.slider.setSingleStep(0.05)
        self.slider.setPageStep(0.5)
        self.slider.setDecimals(2)
        self.slider.setValue(0.0)
        self.slider.setToolTip(f"{self.name} in σ units (σ = {std:.3g}); type a value in the box")
        self.slider.valueChanged.connect(self._on_value)
        self.drag = SliderDrag(self.slider)  # pressed before a click moves the slider: one drag, one undo step
        self.drag.pressed.connect(self.pressed)
        self.drag.released.connect(self.released)
        reset = QToolButton(text="↺", toolTip=f"Reset {self.name}", autoRaise=True)
        reset.clicked.connect(self._on_reset)
        strip_button = QToolButton(text="▦", toolTip=f"Show what {self.name} does (−3σ … +3σ)", autoRaise=True)
        strip_button.clicked.connect(self._on_strip)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(2, 0, 2, 0)
        layout.setSpacing(4)
        layout.addWidget(self.label)
        layout.addWidget(self.slider, 1)
        layout.addWidget(reset)
        layout.addWidget(strip_button)
        if not strip:
            strip_button.hide()

    def value(self) -> float:
        return float(self.slider.value())

    def set_value(self, sigma: float) -> None:
        """Show ``sigma`` without emitting ``moved`` (a change made elsewhere)."""
        with QSignalBlocker(self.slider):
            self.slider.setValue(float(sigma))

    def _on_value(self, value: float) -> None:
        self.moved.emit(self.dim, float(value))

    def _on_reset(self) -> None:
        self.resetClicked.emit(self.dim)

    def _on_strip(self) -> None:
        self.traversalClicked.emit(self.dim)
