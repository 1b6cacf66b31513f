"""File ▸ Export layers…: the open photo's edit as OpenRaster (.ora) for Krita, GIMP and MyPaint.

The full-resolution pixels live in the engine, so this sends ``ExportLayers`` (the edit stack,
the painted mask, the labels) and the engine writes the file; the dialog lives here. Like the
flat export, the source photo is never written over and an existing file is replaced only after
the save dialog asked.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QWidget

from engine.protocol import ExportLayers, FileWritten
from editor.export import same_file, suggest_export_path

ORA_FILTER = "OpenRaster layers (*.ora)"


class LayerExport(QObject):
    exported = Signal(str)  # path written
    failed = Signal(str)  # one line

    def __init__(self, window: QWidget, client, edit, photo, mask) -> None:
        super().__init__(window)
        self._window, self._client, self._edit, self._photo, self._mask = window, client, edit, photo, mask
        self._pending = None
        self.action = QAction("Export &layers (OpenRaster)…", self, enabled=False,
                              toolTip="The original, the edit as its own layer (the mask as its alpha) and the mask, for Krita, GIMP and MyPaint")
        self.action.triggered.connect(self._dialog)
        photo.opened.connect(lambda opened: self.action.setEnabled(opened is not None))

    def export_to(self, path: str | Path, overwrite: bool = False):
        """Ask the engine to write the layers to ``path`` (.ora); the ticket, or None when refused here."""
        if self._photo.current is None:
            self.failed.emit("Nothing to export yet: open a photo first")
            return None
        path = Path(path)
        if path.suffix.lower() != ".ora":
            self.failed.emit(f"{path.name}: choose an .ora name (OpenRaster)")
            return None
        request = ExportLayers(path=str(path), edits=self._edit.stack, mask=self._mask.snapshot(), overwrite=overwrite,
                               labels=self._edit.labels)
        self._pending = self._client.call(request, None, done=self._on_done,
                                          failed=lambda error: self.failed.emit(f"Exporting the layers failed: {error.message}"))
        return self._pending

    def _on_done(self, written: FileWritten) -> None:
        self.exported.emit(written.path)

    def _dialog(self) -> None:
        source = self._edit.path
        path, _ = QFileDialog.getSaveFileName(self._window, "Export layers", str(suggest_export_path(source, "-layers", ".ora")),
                                              ORA_FILTER)
        if not path:
            return
        if not Path(path).suffix:
            path += ".ora"
        if same_file(path, source):
            self.failed.emit(f"{Path(path).name} is the photo you opened; the original is never overwritten, choose another name")
            return
        # the dialog asked before choosing an existing file, so replacing it is what the user wants
        self.export_to(path, overwrite=Path(path).exists())

