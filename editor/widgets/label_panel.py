"""Label controls for conditional models: one 0..1 slider per attribute (multi-hot models; a
switch button snaps it to 0 or 1), or a class chooser with a blend slider towards a second class
(one-hot models). Shows values (``set_values``) without echoing them; emits what the user does."""

from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import QComboBox, QFrame, QGridLayout, QLabel, QPushButton, QScrollArea, QToolButton, QVBoxLayout, QWidget
from superqt import QLabeledDoubleSlider

from engine.protocol import ModelInfo
from editor.widgets.slider_drag import SliderDrag

NONE = "—"


def _slider(tooltip: str) -> QLabeledDoubleSlider:
    s = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
    s.setRange(0.0, 1.0)
    s.setSingleStep(0.05)
    s.setPageStep(0.25)
    s.setDecimals(2)
    s.setToolTip(tooltip)
    return s


class LabelPanel(QWidget):
    valueChanged = Signal(str, float)  # multi-hot: attribute, 0..1
    blendChanged = Signal(str, str, float)  # one-hot: class a, class b, t (0: a … 1: b)
    resetRequested = Signal()
    dragStarted = Signal()
    dragFinished = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.mode = ""
        self.sliders: dict[str, QLabeledDoubleSlider] = {}
        self.switches: dict[str, QToolButton] = {}
        self.class_a = QComboBox(toolTip="The class to draw")
        self.class_b = QComboBox(toolTip="A second class to blend towards (— for none)")
        self.blend = _slider("Blend: 0 = the first class, 1 = the second")
        self.note = QLabel("This model takes no labels.", wordWrap=True)
        self.reset_button = QPushButton("Reset labels",
                                        toolTip="Back to the labels estimated from the photo (or those the sample was drawn with)")
        self.reset_button.clicked.connect(self.resetRequested)
        self._rows = QWidget()  # multi-hot rows, rebuilt per model
        self._classes = QWidget()  # the one-hot chooser
        grid = QGridLayout(self._classes)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Class"), 0, 0)
        grid.addWidget(self.class_a, 0, 1)
        grid.addWidget(QLabel("Blend with"), 1, 0)
        grid.addWidget(self.class_b, 1, 1)
        grid.addWidget(self.blend, 2, 0, 1, 2)
        self._box = box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.addWidget(self.note)
        box.addWidget(self._rows)
        box.addWidget(self._classes)
        box.addWidget(self.reset_button)
        box.addStretch(1)
        self.class_a.activated.connect(self._on_blend)
        self.class_b.activated.connect(self._on_blend)
        self.blend.valueChanged.connect(self._on_blend)
        self._watch_drags(self.blend)
        self.build(None)

    def _watch_drags(self, slider) -> None:
        drag = SliderDrag(slider)  # pressed before a click moves the slider: one drag, one undo step
        drag.pressed.connect(self.dragStarted)
        drag.released.connect(self.dragFinished)

    # ------------------------------------------------------------------ building
    def build(self, info: ModelInfo | None) -> None:
        """One row per attribute (multi), or the class chooser (onehot); a note for other models."""
        self.sliders, self.switches = {}, {}
        conditional = info is not None and info.conditional
        self.mode = info.label_mode if conditional else ""
        self.note.setVisible(not conditional)
        self.reset_button.setVisible(conditional)
        rows = QWidget()
        scroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)  # many attributes scroll
        scroll.setWidget(rows)
        self._box.replaceWidget(self._rows, scroll)
        self._rows.deleteLater()
        self._rows = scroll
        grid = QGridLayout(rows)
        grid.setContentsMargins(0, 0, 0, 0)
        if self.mode == "multi":
            for row, name in enumerate(info.labels):
                slider = _slider(f"{name}: 0 = without, 1 = with; values between blend")
                slider.valueChanged.connect(lambda v, n=name: self.valueChanged.emit(n, float(v)))
                self._watch_drags(slider)
                switch = QToolButton(text="off", checkable=True, autoRaise=True, toolTip=f"Switch {name} on (1) or off (0)")
                switch.clicked.connect(lambda checked, n=name: self._on_switch(n, checked))
                grid.addWidget(QLabel(name), row, 0)
                grid.addWidget(slider, row, 1)
                grid.addWidget(switch, row, 2)
                self.sliders[name], self.switches[name] = slider, switch
        elif self.mode == "onehot":
            for combo, extra in ((self.class_a, ()), (self.class_b, (NONE,))):
                with QSignalBlocker(combo):
                    combo.clear()
                    combo.addItems([*extra, *info.labels])
        scroll.setVisible(self.mode == "multi")
        scroll.setMinimumHeight(min(rows.sizeHint().height(), 8 * 28))  # up to 8 rows without scrolling
        self._classes.setVisible(self.mode == "onehot")

    # ------------------------------------------------------------------ showing state
    def set_values(self, values: dict[str, float]) -> None:
        """Show multi-hot values (sliders and switches), without emitting."""
        for name, slider in self.sliders.items():
            if name in values:
                with QSignalBlocker(slider):
                    slider.setValue(float(values[name]))
                self._show_switch(name, float(values[name]) >= 0.5)

    def set_blend(self, a: str, b: str, t: float) -> None:
        """Show a one-hot blend (class a, class b or a itself for none, t), without emitting."""
        with QSignalBlocker(self.class_a), QSignalBlocker(self.class_b), QSignalBlocker(self.blend):
            self.class_a.setCurrentText(a)
            self.class_b.setCurrentText(NONE if b == a else b)
            self.blend.setValue(float(t))
        self.blend.setEnabled(b != a)

    # ------------------------------------------------------------------ user actions
    def _show_switch(self, name: str, on: bool) -> None:
        self.switches[name].setChecked(on)
        self.switches[name].setText("on" if on else "off")

    def _on_switch(self, name: str, on: bool) -> None:
        self._show_switch(name, on)
        self.sliders[name].setValue(1.0 if on else 0.0)  # emits valueChanged through the slider

    def _on_blend(self, *_: object) -> None:
        a = self.class_a.currentText()
        b = self.class_b.currentText()
        b = a if b in (NONE, "") else b
        self.blend.setEnabled(b != a)
        if a:
            self.blendChanged.emit(a, b, float(self.blend.value()) if b != a else 0.0)
