"""File menu: open (dialog, recent files), export the edit; dialogs live here, not in the window."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from editor.export import ExportError, same_file, save_image, suggest_export_path
from editor.recent import RecentList

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff *.ppm *.pgm);;All files (*)"

#: what to export: (edited image, the source photo's path or None); None when nothing to export
ExportSource = Callable[[], "tuple[np.ndarray, Path | None] | None"]


class FileActions(QObject):
    openRequested = Signal(str)
    exported = Signal(str)
    failed = Signal(str)

    def __init__(self, window: QWidget, recent: RecentList, export_source: ExportSource) -> None:
        super().__init__(window)
        self._window = window
        self.recent = recent
        self._export_source = export_source
        self.open = QAction("&Open image…", self, shortcut=QKeySequence.StandardKey.Open)
        self.open.triggered.connect(self._open_dialog)
        self.export = QAction("&Export edited image…", self, shortcut=QKeySequence("Ctrl+E"))
        self.export.triggered.connect(self._export_dialog)
        self.recent_menu = QMenu("Open &recent", window)
        self.recent_menu.aboutToShow.connect(self._fill_recent)

    def add_to(self, menu: QMenu) -> None:
        menu.addAction(self.open)
        menu.addMenu(self.recent_menu)
        menu.addSeparator()
        menu.addAction(self.export)

    def remember(self, path: str | Path) -> None:
        self.recent.add(path)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        paths = self.recent.existing()
        for path in paths:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.setData(path)
            action.triggered.connect(self._open_recent)
        if not paths:
            self.recent_menu.addAction("(none)").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list").triggered.connect(self.recent.clear)

    def _open_recent(self) -> None:
        action = self.sender()
        if isinstance(action, QAction) and action.data():
            self.openRequested.emit(str(action.data()))

    def _open_dialog(self) -> None:
        recent = self.recent.existing()
        start = str(Path(recent[0]).parent) if recent else ""
        path, _ = QFileDialog.getOpenFileName(self._window, "Open image", start, IMAGE_FILTER)
        if path:
            self.openRequested.emit(path)

    def export_to(self, path: str | Path) -> Path | None:
        """Write the current edit to ``path``; never onto the source photo (a clear error instead)."""
        what = self._export_source()
        if what is None:
            self.failed.emit("Nothing to export yet: open a photo or pick a sample first")
            return None
        array, source = what
        try:
            out = save_image(array, path, source=source)
        except (ExportError, OSError) as exc:
            self.failed.emit(str(exc))
            return None
        self.exported.emit(str(out))
        return out

    def _export_dialog(self) -> None:
        what = self._export_source()
        if what is None:
            self.failed.emit("Nothing to export yet: open a photo or pick a sample first")
            return
        _, source = what
        suggestion = suggest_export_path(source)
        path, _ = QFileDialog.getSaveFileName(self._window, "Export edited image", str(suggestion),
                                              "PNG (*.png);;JPEG (*.jpg *.jpeg)")
        if not path:
            return
        if not Path(path).suffix:
            path += ".png"
        if same_file(path, source):  # DESIGN: the user's original file is never overwritten
            self.failed.emit(f"{Path(path).name} is the photo you opened; the original is never overwritten, choose another name")
            return
        self.export_to(path)
