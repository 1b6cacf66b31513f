"""Named attribute sliders: one per attribute (strength in σ units, ±3), a lock per attribute,
and what is known of its quality (held-out accuracy / AUC, or a user attribute's leave-one-out
accuracy) next to its name. The tooltip shows the entanglement readout: cosines with the others.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QScrollArea, QToolButton, QVBoxLayout, QWidget
from superqt import QLabeledDoubleSlider

from engine.protocol import AttributeDirectionSet, AttributeInfo
from editor.widgets.slider_drag import SliderDrag

LIMIT = 3.0


def score_text(info: AttributeInfo) -> str:
    """``acc 92% · AUC 0.97`` (a model attribute), ``LOO 83% · 3+3 tagged`` (a user attribute)."""
    parts = []
    if info.accuracy is not None:
        parts.append(f"acc {100 * info.accuracy:.0f}%")
    if info.auc is not None:
        parts.append(f"AUC {info.auc:.2f}")
    if info.loo_accuracy is not None:
        parts.append(f"LOO {100 * info.loo_accuracy:.0f}%")
    if info.source == "user" and (info.n_with or info.n_without):
        parts.append(f"{info.n_with}+{info.n_without} tagged")
    return " · ".join(parts)


class AttributeRow(QWidget):
    moved = Signal(str, float)
    pressed = Signal()
    released = Signal()
    lockToggled = Signal(str, bool)
    resetClicked = Signal(str)

    def __init__(self, info: AttributeInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = info.name
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.score = QLabel()
        self.score.setTextFormat(Qt.TextFormat.RichText)
        self.score.setWordWrap(True)
        self.lock = QCheckBox("lock", toolTip=f"Keep {info.name} fixed while other attributes move")
        self.lock.toggled.connect(self._on_lock)
        reset = QToolButton(text="↺", toolTip=f"Reset {info.name}", autoRaise=True)
        reset.clicked.connect(lambda: self.resetClicked.emit(self.name))
        self.slider = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(-LIMIT, LIMIT)
        self.slider.setSingleStep(0.05)
        self.slider.setPageStep(0.5)
        self.slider.setDecimals(2)
        self.slider.setValue(0.0)
        self.slider.valueChanged.connect(self._on_value)
        self.drag = SliderDrag(self.slider)  # pressed before a click moves the slider: one drag, one undo step
        self.drag.pressed.connect(self.pressed)
        self.drag.released.connect(self.released)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.label, 1)
        head.addWidget(self.lock)
        head.addWidget(reset)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(0)
        layout.addLayout(head)
        layout.addWidget(self.score)
        layout.addWidget(self.slider)
        self.set_info(info)

    def set_info(self, info: AttributeInfo, cosines: str = "") -> None:
        self.info = info
        mine = " <i>(yours)</i>" if info.source == "user" and not info.name.endswith("(yours)") else ""
        parts = [t for t in (score_text(info), f"<b>{100 * info.kept:.0f}% left</b> after locks" if info.kept < 0.995 else "") if t]
        self.label.setText(f"<b>{info.name}</b>{mine}")
        self.score.setText(f"<span style='color:gray'>{' · '.join(parts)}</span>" if parts else "")
        self.score.setVisible(bool(parts))
        tip = [f"{info.name}: strength in σ units (the data's spread along the direction)"]
        if info.method:
            tip.append(f"direction: {'classifier normal' if info.method == 'classifier' else 'mean difference'}")
        if info.accuracy is not None or info.auc is not None:
            tip.append("held-out accuracy / ROC AUC of the attribute's linear read-out")
        if info.loo_accuracy is not None:
            tip.append("leave-one-out accuracy of your tagged examples")
        if info.same_model is False:
            tip.append("⚠ made with another model of the same latent size")
        if info.kept < 0.995:
            tip.append(f"conditioned on the locked attributes: {100 * info.kept:.0f}% of the direction is left")
        if cosines:
            tip.append(cosines)
        for w in (self.label, self.score, self.slider):
            w.setToolTip("\n".join(tip))

    def value(self) -> float:
        return float(self.slider.value())

    def set_value(self, sigma: float) -> None:
        with QSignalBlocker(self.slider):
            self.slider.setValue(float(sigma))

    def set_locked(self, locked: bool) -> None:
        with QSignalBlocker(self.lock):
            self.lock.setChecked(locked)
        self.slider.setEnabled(not locked)  # a locked attribute is held where it is

    def _on_value(self, value: float) -> None:
        self.moved.emit(self.name, float(value))

    def _on_lock(self, checked: bool) -> None:
        self.slider.setEnabled(not checked)
        self.lockToggled.emit(self.name, checked)


class AttributePanel(QWidget):
    strengthChanged = Signal(str, float)
    lockChanged = Signal(str, bool)
    resetRequested = Signal(str)  # a name, or "" for all
    dragStarted = Signal()
    dragFinished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: dict[str, AttributeRow] = {}
        self.summary = QLabel("No attribute directions")
        self.summary.setWordWrap(True)
        self.reset_all = QPushButton("Reset attributes", toolTip="Set every attribute slider back to 0σ")
        self.reset_all.clicked.connect(lambda: self.resetRequested.emit(""))
        self.scroll = QScrollArea(widgetResizable=True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.reset_all)
        layout.addWidget(self.scroll, 1)
        self._names: tuple[str, ...] = ()
        self.build(None)

    def build(self, directions: AttributeDirectionSet | None) -> None:
        """Rows for ``directions``' attributes: rebuilt when the names change, else updated."""
        names = () if directions is None else tuple(directions.names)
        infos = {} if directions is None else {i.name: i for i in directions.attributes}
        if names != self._names:
            self._names = names
            self.rows = {}
            body = QWidget()
            box = QVBoxLayout(body)
            box.setContentsMargins(0, 0, 0, 0)
            box.setSpacing(2)
            for name in names:
                row = AttributeRow(infos[name])
                row.moved.connect(self.strengthChanged)
                row.pressed.connect(self.dragStarted)
                row.released.connect(self.dragFinished)
                row.lockToggled.connect(self.lockChanged)
                row.resetClicked.connect(self.resetRequested)
                self.rows[name] = row
                box.addWidget(row)
            box.addStretch(1)
            old = self.scroll.takeWidget()
            if old is not None:
                old.deleteLater()
            self.scroll.setWidget(body)
        if directions is not None:
            for i, name in enumerate(names):
                self.rows[name].set_info(infos[name], _cosine_text(directions, i))
            self.set_locked(directions.locked)
        n_model = sum(1 for i in infos.values() if i.source == "model")
        self.summary.setText(
            "No attribute directions in this model — make your own in “Your attributes”." if not names else
            f"{n_model} model attribute{'s' if n_model != 1 else ''}, {len(names) - n_model} of yours. "
            "Strength in σ; lock keeps an attribute fixed while the others move."
        )  # fmt: skip
        self.reset_all.setEnabled(bool(names))

    def set_strengths(self, strengths: dict[str, float]) -> None:
        """Show strengths changed elsewhere (reset, a new photo) without echoing them."""
        for name, row in self.rows.items():
            row.set_value(strengths.get(name, 0.0))

    def set_locked(self, locked) -> None:
        locked = set(locked)
        for name, row in self.rows.items():
            row.set_locked(name in locked)

    def strengths(self) -> dict[str, float]:
        return {n: r.value() for n, r in self.rows.items() if r.value()}


def _cosine_text(directions: AttributeDirectionSet, i: int) -> str:
    cos = np.asarray(directions.cosines)
    if cos.ndim != 2 or cos.shape[0] <= i or len(directions.names) < 2:
        return ""
    others = [f"{n}: {cos[i, j]:+.2f}" for j, n in enumerate(directions.names) if j != i]
    return "cosine with " + ", ".join(others)
