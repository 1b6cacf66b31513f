"""Local-edit tools: move/brush/eraser, brush size and feather, show, invert and clear the mask."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QButtonGroup, QCheckBox, QHBoxLayout, QLabel, QToolButton, QWidget
from superqt import QLabeledSlider

TOOLS = (("move", "Move", "M", "Pan and zoom; no painting"),
         ("brush", "Brush", "B", "Paint where the edit applies (the first stroke limits the edit to the painted area)"),
         ("eraser", "Eraser", "E", "Erase the mask: the photo keeps its original pixels there"))


class MaskTools(QWidget):
    toolChanged = Signal(object)  # None | "brush" | "eraser"
    radiusChanged = Signal(float)  # photo pixels
    featherChanged = Signal(float)  # 0..1 of the radius
    showMaskChanged = Signal(bool)
    invertRequested = Signal()
    clearRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(4)
        layout.addWidget(QLabel("Mask:"))
        self.group = QButtonGroup(self, exclusive=True)
        self.buttons: dict[str, QToolButton] = {}
        for key, text, shortcut, tip in TOOLS:
            button = QToolButton(text=text, checkable=True, toolTip=f"{tip} ({shortcut})")
            button.setShortcut(QKeySequence(shortcut))
            self.group.addButton(button)
            self.buttons[key] = button
            layout.addWidget(button)
        self.buttons["move"].setChecked(True)
        self.group.buttonToggled.connect(self._on_tool)

        self.size = QLabeledSlider(Qt.Orientation.Horizontal, toolTip="Brush radius, photo pixels ([ and ])")
        self.size.setRange(2, 600)
        self.size.setValue(40)
        self.size.setMinimumWidth(100)  # the toolbar fits an 800 px window
        self.size.valueChanged.connect(lambda v: self.radiusChanged.emit(float(v)))
        self.feather = QLabeledSlider(Qt.Orientation.Horizontal, toolTip="Feather: how much of the brush's radius fades out (%)")
        self.feather.setRange(0, 100)
        self.feather.setValue(50)
        self.feather.setMinimumWidth(80)
        self.feather.valueChanged.connect(lambda v: self.featherChanged.emit(v / 100.0))
        layout.addWidget(QLabel("size"))
        layout.addWidget(self.size)
        layout.addWidget(QLabel("feather"))
        layout.addWidget(self.feather)
        self.show_mask = QCheckBox("show", checked=True, toolTip="Show the painted mask as a red tint")
        self.show_mask.toggled.connect(self.showMaskChanged)
        layout.addWidget(self.show_mask)
        self.invert = QToolButton(text="Invert", toolTip="Swap painted and unpainted")
        self.invert.clicked.connect(self.invertRequested)
        self.clear = QToolButton(text="Clear", toolTip="Remove the mask: the edit applies to the whole face again")
        self.clear.clicked.connect(self.clearRequested)
        layout.addWidget(self.invert)
        layout.addWidget(self.clear)
        for keys, step in (("[", -1), ("]", 1)):
            action = QAction(self, shortcut=QKeySequence(keys))
            action.triggered.connect(lambda _=False, s=step: self.step_size(s))
            self.addAction(action)

    @property
    def tool(self) -> str | None:
        for key, button in self.buttons.items():
            if button.isChecked():
                return None if key == "move" else key
        return None

    def set_tool(self, tool: str | None) -> None:
        self.buttons[tool or "move"].setChecked(True)

    def step_size(self, direction: int) -> None:
        value = self.size.value()
        self.size.setValue(max(2, round(value * (1.25 if direction > 0 else 0.8))))

    def _on_tool(self, button: QToolButton, checked: bool) -> None:
        if checked:
            self.toolChanged.emit(self.tool)
