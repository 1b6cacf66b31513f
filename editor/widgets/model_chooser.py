"""Model chooser: the bundled models with their family (once the engine has listed them), recent
checkpoints, or any .safetensors file."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QWidget

from editor.recent import RecentList

BUNDLED = ("default",)
BROWSE = "Open any checkpoint…"
FAMILIES = {"vae": "VAE", "cvae": "conditional VAE", "cgan": "conditional GAN"}


class ModelChooser(QWidget):
    modelRequested = Signal(str)  # a bundled name or a checkpoint path

    def __init__(self, recent: RecentList, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._recent = recent
        self.combo = QComboBox(minimumContentsLength=32, toolTip="The model the editor uses")  # "fashion-cvae28 · conditional VAE"
        self.combo.activated.connect(self._on_activated)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Model:"))
        layout.addWidget(self.combo)
        self._current = "default"
        self._catalog: tuple = ()  # ModelEntry per bundled model
        self._fill()

    def sources(self) -> list:
        """The item data in order (a bundled name, a path, or None for the file dialog)."""
        return [self.combo.itemData(i) for i in range(self.combo.count())]

    def _fill(self) -> None:
        self.combo.blockSignals(True)
        self.combo.clear()
        bundled = [(e.source, f"{e.name} · {FAMILIES.get(e.family, e.family)}", _tooltip(e)) for e in self._catalog]
        if not bundled:
            bundled = [(name, name, "") for name in BUNDLED]
        for source, text, tip in bundled:
            self._add(text, source, tip)
        for path in self._recent.existing():
            if path not in self.sources():
                self._add(Path(path).name, path, path)
        if self._current not in self.sources():
            self._add(Path(self._current).name, self._current, self._current)
        self.combo.addItem(BROWSE, None)
        self.combo.setCurrentIndex(self.sources().index(self._current))
        self.combo.blockSignals(False)

    def _add(self, text: str, source: str, tooltip: str) -> None:
        self.combo.addItem(text, source)
        if tooltip:
            self.combo.setItemData(self.combo.count() - 1, tooltip, Qt.ItemDataRole.ToolTipRole)

    def set_catalog(self, entries) -> None:
        """Show the bundled models (protocol ``ModelEntry`` values) by name and family."""
        self._catalog = tuple(entries)
        self._fill()

    def set_current(self, source: str) -> None:
        """Show ``source`` as the loaded model (remembering checkpoint files)."""
        bundled = set(BUNDLED) | {e.source for e in self._catalog}
        if source not in bundled and Path(source).exists():
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


def _tooltip(entry) -> str:
    lines = [f"{entry.name}: {FAMILIES.get(entry.family, entry.family)}, {entry.image_size} px"]
    if entry.labels:
        shown = ", ".join(entry.labels[:10])
        lines.append(f"labels: {shown}")
    if entry.description:
        lines.append(entry.description)
    if entry.calibrated:
        lines.append("realism gauge calibrated")
    return "\n".join(lines)
