"""File ▸ Export photo, 16 bits per channel…: the flat export as a 16-bit PNG or TIFF.

The photo is held at 8 bits; 16 bits keep the fractional part of the model's change (smooth
gradients where 8 bits band). The engine writes it (``ExportPhoto(bit_depth=16)``); the dialog
lives here. As with every export, the source photo is never written over.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QWidget

from engine.protocol import Exported, ExportPhoto
from editor.export import same_file, suggest_export_path

FILTERS = {"PNG, 16 bits per channel (*.png)": ".png", "TIFF, 16 bits per channel (*.tif *.tiff)": ".tif"}
SUFFIXES = (".png", ".tif", ".tiff")


class DeepExport(QObject):
    exported = Signal(str)
    failed = Signal(str)

    def __init__(self, window: QWidget, client, edit, photo, mask) -> None:
        super().__init__(window)
        self._window, self._client, self._edit, self._photo, self._mask = window, client, edit, photo, mask
        self.action = QAction("Export photo, &16 bits per channel…", self, enabled=False,
                              toolTip="PNG or TIFF at 16 bits per channel: the edit's smooth gradients without 8-bit banding (no EXIF)")
        self.action.triggered.connect(self._dialog)
        photo.opened.connect(lambda opened: self.action.setEnabled(opened is not None))

    def export_to(self, path: str | Path, overwrite: bool = False):
        if self._photo.current is None:
            self.failed.emit("Nothing to export yet: open a photo first")
            return None
        path = Path(path)
        if path.suffix.lower() not in SUFFIXES:
            self.failed.emit(f"{path.name}: 16 bits per channel are written as .png, .tif or .tiff")
            return None
        request = ExportPhoto(path=str(path), edits=self._edit.stack, mask=self._mask.snapshot(), overwrite=overwrite,
                              labels=self._edit.labels, bit_depth=16)
        return self._client.call(request, None, done=self._on_done,
                                 failed=lambda error: self.failed.emit(f"Export failed: {error.message}"))

    def _on_done(self, exported: Exported) -> None:
        self.exported.emit(exported.path)

    def _dialog(self) -> None:
        source = self._edit.path
        path, chosen = QFileDialog.getSaveFileName(self._window, "Export photo, 16 bits per channel",
                                                   str(suggest_export_path(source, "-edited-16bit", ".png")), ";;".join(FILTERS))
        if not path:
            return
        if not Path(path).suffix:
            path += FILTERS.get(chosen, ".png")
        if same_file(path, source):
            self.failed.emit(f"{Path(path).name} is the photo you opened; the original is never overwritten, choose another name")
            return
        self.export_to(path, overwrite=Path(path).exists())  # the dialog asked before an existing file was chosen
