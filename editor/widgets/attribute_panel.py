"""Named attribute sliders: one per attribute (strength in σ units, ±3), a lock per attribute,
and what is known of its quality (held-out accuracy / AUC, or a user attribute's leave-one-out
accuracy) next to its name. The tooltip says what the slider moves (the engine's description)
and shows the entanglement readout: cosines with the others.

Rows sit under collapsible group headers in the engine's order. The groups are data: each
AttributeInfo names its group; what the engine does not group goes under "Yours" (a user
attribute) or "Other" — or, when the model groups nothing, all in one "Attributes" group.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QScrollArea, QSizePolicy, QToolButton, QVBoxLayout, QWidget
from superqt import QLabeledDoubleSlider

from engine.protocol import AttributeDirectionSet, AttributeInfo
from editor.widgets.attribute_strip import AttributeStrip
from editor.widgets.slider_drag import SliderDrag

LIMIT = 3.0
METHODS = {"classifier": "classifier normal", "mean": "mean difference", "regression": "ridge regression normal (a continuous measure)"}


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


def lock_text(info: AttributeInfo) -> str:
    """``<b>57% left</b>, Smiling's lock most``: how much of the direction the locks leave, and which
    lock takes the most (the one to release for a longer edit; two short lines beside the name at
    720 px); ``… after locks`` when one lock takes it all; "" when the locks cost nothing."""
    if info.kept >= 0.995:
        return ""
    if len(info.lock_costs) > 1:
        return f"<b>{100 * info.kept:.0f}% left</b>, {info.lock_costs[0][0]}'s lock most"
    return f"<b>{100 * info.kept:.0f}% left</b> after locks"


class AttributeRow(QWidget):
    moved = Signal(str, float)
    pressed = Signal()
    released = Signal()
    lockToggled = Signal(str, bool)
    resetClicked = Signal(str)
    stripToggled = Signal(str, bool)

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
        self.strip_button = QToolButton(text="▤", checkable=True, autoRaise=True,
                                        toolTip=f"Show the edit with {info.name} from −3σ to +3σ (click a picture to apply)")  # fmt: skip
        self.strip_button.toggled.connect(self._on_strip)
        self.strip: AttributeStrip | None = None  # made when first shown
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
        head.setSpacing(6)
        head.addWidget(self.label)
        head.addWidget(self.score, 1)  # beside the name, not under it: a row of text less per attribute at 720 px
        head.addWidget(self.lock)
        head.addWidget(self.strip_button)
        head.addWidget(reset)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(0)
        layout.addLayout(head)
        layout.addWidget(self.slider)
        self.set_info(info)

    def show_strip(self, images: np.ndarray, values: np.ndarray) -> None:
        if self.strip is not None and self.strip_button.isChecked():
            self.strip.set_images(images, values)

    def _on_strip(self, shown: bool) -> None:
        if shown and self.strip is None:
            self.strip = AttributeStrip(self.name)
            self.strip.valuePicked.connect(self.slider.setValue)  # moves the slider: one edit, as a click on it
            self.layout().addWidget(self.strip)
        if self.strip is not None:
            self.strip.setVisible(shown)
            if shown:
                self.strip.wait()
        self.stripToggled.emit(self.name, shown)

    def set_info(self, info: AttributeInfo, cosines: str = "") -> None:
        self.info = info
        mine = " <i>(yours)</i>" if info.source == "user" and not info.name.endswith("(yours)") else ""
        parts = [t for t in (score_text(info), lock_text(info)) if t]
        self.label.setText(f"<b>{info.name}</b>{mine}")
        self.score.setText(f"<span style='color:gray'>{' · '.join(parts)}</span>" if parts else "")
        tip = [f"{info.name}: {info.description}"] if info.description else []
        tip.append(f"{'Slider' if tip else info.name + ':'} strength in σ units (the data's spread along the direction)")
        if info.method:
            tip.append(f"direction: {METHODS.get(info.method, info.method)}")
        if info.accuracy is not None or info.auc is not None:
            tip.append("held-out accuracy / ROC AUC of the attribute's linear read-out")
        if info.loo_accuracy is not None:
            tip.append("leave-one-out accuracy of your tagged examples")
        if info.same_model is False:
            tip.append("⚠ made with another model of the same latent size")
        if info.kept < 0.995:
            tip.append(f"conditioned on the locked attributes: {100 * info.kept:.0f}% of the direction is left")
            if info.lock_costs:
                alone = ", ".join(f"{n} {100 * k:.0f}%" for n, k in info.lock_costs)
                tip.append(f"each lock alone leaves: {alone} — release the first for a longer edit")
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


def group_title(info: AttributeInfo, model_grouped: bool) -> str:
    """The header ``info``'s row goes under (see the module doc)."""
    if info.group:
        return info.group
    if info.source == "user":
        return "Yours"
    return "Other" if model_grouped else "Attributes"


class AttributeGroup(QWidget):
    """A header with an arrow that folds its rows away, and the rows under it. Folded, the header
    still names the rows that are moved, so a folded group never hides an edit."""

    toggled = Signal(str, bool)  # title, collapsed

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.rows: list[AttributeRow] = []
        self.header = QToolButton(checkable=True, checked=True, autoRaise=True)
        self.header.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.header.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        font = self.header.font()
        font.setBold(True)
        self.header.setFont(font)
        self.header.toggled.connect(self._on_toggled)
        self.body = QWidget()
        self._box = QVBoxLayout(self.body)
        self._box.setContentsMargins(6, 0, 0, 0)  # rows indented under their header
        self._box.setSpacing(2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.header)
        layout.addWidget(self.body)
        self.update_header()

    def add_row(self, row: AttributeRow) -> None:
        self.rows.append(row)
        self._box.addWidget(row)
        row.moved.connect(lambda *_: self.update_header())
        self.update_header()

    @property
    def collapsed(self) -> bool:
        return not self.header.isChecked()

    def set_collapsed(self, collapsed: bool) -> None:
        self.header.setChecked(not collapsed)

    def update_header(self) -> None:
        open_ = self.header.isChecked()
        self.header.setArrowType(Qt.ArrowType.DownArrow if open_ else Qt.ArrowType.RightArrow)
        moved = [f"{r.name} {r.value():+.1f}σ" for r in self.rows if r.value()]
        text = f"{self.title} ({len(self.rows)})"
        self.header.setText(text if open_ or not moved else f"{text} · {', '.join(moved)}")
        names = ", ".join(r.name for r in self.rows)
        self.header.setToolTip(f"{'Hide' if open_ else 'Show'} {names}")

    def _on_toggled(self, open_: bool) -> None:
        self.body.setVisible(open_)
        self.update_header()
        self.toggled.emit(self.title, not open_)


class AttributePanel(QWidget):
    strengthChanged = Signal(str, float)
    lockChanged = Signal(str, bool)
    resetRequested = Signal(str)  # a name, or "" for all
    dragStarted = Signal()
    dragFinished = Signal()
    traversalRequested = Signal(str)  # the attribute whose strip is shown, "" for none

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
        self.groups: dict[str, AttributeGroup] = {}
        self._collapsed: set[str] = set()  # group titles folded by the user, kept across models
        self._layout: tuple[tuple[str, str], ...] = ()
        self.traversal = ""  # one strip at a time: each is a decode of N latents
        self.build(None)

    def build(self, directions: AttributeDirectionSet | None) -> None:
        """Rows for ``directions``' attributes under their group headers: rebuilt when the names
        or their groups change, else updated."""
        names = () if directions is None else tuple(directions.names)
        infos = {} if directions is None else {i.name: i for i in directions.attributes}
        grouped = any(i.group for i in infos.values() if i.source == "model")
        placed = tuple((name, group_title(infos[name], grouped)) for name in names)
        if placed != self._layout:
            self._layout = placed
            self.rows, self.groups = {}, {}
            body = QWidget()
            box = QVBoxLayout(body)
            box.setContentsMargins(0, 0, 0, 0)
            box.setSpacing(2)
            for name, title in placed:  # groups in the order of their first row
                group = self.groups.get(title)
                if group is None:
                    group = self.groups[title] = AttributeGroup(title)
                    group.toggled.connect(self._on_group_toggled)
                    box.addWidget(group)
                row = AttributeRow(infos[name])
                row.moved.connect(self.strengthChanged)
                row.pressed.connect(self.dragStarted)
                row.released.connect(self.dragFinished)
                row.lockToggled.connect(self.lockChanged)
                row.resetClicked.connect(self.resetRequested)
                row.stripToggled.connect(self._on_strip_toggled)
                self.rows[name] = row
                group.add_row(row)
            for title, group in self.groups.items():
                group.set_collapsed(title in self._collapsed)
            box.addStretch(1)
            shown, self.traversal = self.traversal, ""
            if shown:  # the strip stays open on the new row, or closes with its attribute
                if shown in self.rows:
                    self.rows[shown].strip_button.setChecked(True)
                else:
                    self.traversalRequested.emit("")
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
        for group in self.groups.values():
            group.update_header()

    def set_locked(self, locked) -> None:
        locked = set(locked)
        for name, row in self.rows.items():
            row.set_locked(name in locked)

    def strengths(self) -> dict[str, float]:
        return {n: r.value() for n, r in self.rows.items() if r.value()}

    def set_traversal(self, name: str, images: np.ndarray, values: np.ndarray) -> None:
        """The decodes along ``name`` for its row's strip (ignored once the strip is closed)."""
        if name == self.traversal and name in self.rows:
            self.rows[name].show_strip(images, values)

    def _on_strip_toggled(self, name: str, shown: bool) -> None:
        if shown:
            previous, self.traversal = self.traversal, name
            if previous in self.rows and previous != name:
                self.rows[previous].strip_button.setChecked(False)  # no request: it is no longer self.traversal
            self.traversalRequested.emit(name)
        elif name == self.traversal:
            self.traversal = ""
            self.traversalRequested.emit("")

    def _on_group_toggled(self, title: str, collapsed: bool) -> None:
        (self._collapsed.add if collapsed else self._collapsed.discard)(title)


def _cosine_text(directions: AttributeDirectionSet, i: int) -> str:
    cos = np.asarray(directions.cosines)
    if cos.ndim != 2 or cos.shape[0] <= i or len(directions.names) < 2:
        return ""
    others = [f"{n}: {cos[i, j]:+.2f}" for j, n in enumerate(directions.names) if j != i]
    return "cosine with " + ", ".join(others)
