"""An export the engine writes (the full-resolution pixels live there): one menu action, its save
dialog and its request. The source photo is never written over, and an existing file is replaced
only after the save dialog asked. Subclasses say what is written and how it is asked for."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QWidget

from engine.protocol import Request
from editor.export import same_file, suggest_export_path


class EngineExport(QObject):
    exported = Signal(str)  # path written
    failed = Signal(str)  # one line

    #: Filled in by each subclass.
    label = ""  # the menu action's text
    tooltip = ""
    dialog_title = ""
    filters: dict[str, str] = {}  # the save dialog's filter -> the suffix it adds to a bare name
    suffixes: tuple[str, ...] = ()  # suffixes the engine writes
    wrong_suffix = ""  # one line; {name} is the chosen file's name
    name_tag = ""  # what a suggested name adds to the photo's stem
    failure = ""  # the title of an engine error

    def __init__(self, window: QWidget, client, edit, photo, mask) -> None:
        super().__init__(window)
        self._window, self._client, self._edit, self._photo, self._mask = window, client, edit, photo, mask
        self.action = QAction(self.label, self, enabled=False, toolTip=self.tooltip)
        self.action.triggered.connect(self._dialog)
        photo.opened.connect(lambda opened: self.action.setEnabled(opened is not None))

    def request(self, path: Path, overwrite: bool) -> Request:
        raise NotImplementedError

    def export_to(self, path: str | Path, overwrite: bool = False):
        """Ask the engine to write ``path``; the ticket, or None when refused here (one line on ``failed``)."""
        if self._photo.current is None:
            self.failed.emit("Nothing to export yet: open a photo first")
            return None
        path = Path(path)
        if path.suffix.lower() not in self.suffixes:
            self.failed.emit(self.wrong_suffix.format(name=path.name))
            return None
        return self._client.call(self.request(path, overwrite), None, done=lambda written: self.exported.emit(written.path),
                                 failed=lambda error: self.failed.emit(f"{self.failure}: {error.message}"))

    def _dialog(self) -> None:
        source = self._edit.path
        first_suffix = next(iter(self.filters.values()))
        path, chosen = QFileDialog.getSaveFileName(self._window, self.dialog_title,
                                                   str(suggest_export_path(source, self.name_tag, first_suffix)), ";;".join(self.filters))
        if not path:
            return
        if not Path(path).suffix:
            path += self.filters.get(chosen, first_suffix)
        if same_file(path, source):
            self.failed.emit(f"{Path(path).name} is the photo you opened; the original is never overwritten, choose another name")
            return
        self.export_to(path, overwrite=Path(path).exists())  # the dialog asked before an existing file was chosen
