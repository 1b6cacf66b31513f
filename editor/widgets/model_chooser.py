"""Model chooser: the bundled default, recent checkpoints, or any .safetensors file."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QWidget

from editor.recent import RecentList

BUNDLED = ("default",)
BROWSE = "Open checkpoint…"


class ModelChooser(QWidget):
    modelRequested = Signal(str)  # a bundled name or a checkpoint path

    def __init__(self, recent: RecentList, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._recent = recent
        self.combo = QComboBox(minimumContentsLength=14, toolTip="The model the editor uses")
        self.combo.activated.connect(self._on_activated)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Model:"))
        layout.addWidget(self.combo)
        self._current = "default"
        self._fill()

    def _fill(self) -> None:
        self.combo.blockSignals(True)
        self.combo.clear()
        for name in BUNDLED:
            self.combo.addItem(name, name)
        for path in self._recent.existing():
            self.combo.addItem(Path(path).name, path)
            self.combo.setItemData(self.combo.count() - 1, path, 3)  # tooltip role
        if self._current not in [self.combo.itemData(i) for i in range(self.combo.count())]:
            self.combo.addItem(Path(self._current).name, self._current)
        self.combo.addItem(BROWSE, None)
        index = [self.combo.itemData(i) for i in range(self.combo.count())].index(self._current)
        self.combo.setCurrentIndex(index)
        self.combo.blockSignals(False)

    def set_current(self, source: str) -> None:
        """Show ``source`` as the loaded model (remembering checkpoint files)."""
        if source not in BUNDLED and Path(source).exists():
            self._recent.add(source)
            source = str(Path(source).resolve())
        self._current = source
        self._fill()

    def choose(self, source: str) -> None:
        self.modelRequested.emit(source)

    def _on_activated(self, index: int) -> None:
        source = self.combo.itemData(index)
        if source is None:
            path, _ = QFileDialog.getOpenFileName(self, "Open model checkpoint", "", "Checkpoints (*.safetensors)")
            self._fill()
            if not path:
                return
            source = path
        if source != self._current:
            self.modelRequested.emit(source)
