"""Edit ▸ Copy edited image (Ctrl+Shift+C): the edited photo at full resolution, or the edited
sample, onto the system clipboard for pasting into another program."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence

from editor.imaging import array_to_qimage


class CopyImage(QObject):
    copied = Signal(int, int)  # width, height
    failed = Signal(str)

    def __init__(self, parent: QObject, edit, photo) -> None:
        super().__init__(parent)
        self._edit, self._photo = edit, photo
        self.action = QAction("&Copy edited image", self, shortcut=QKeySequence("Ctrl+Shift+C"),
                              toolTip="The edited image at full resolution, for pasting into another program")
        self.action.triggered.connect(self.copy)

    def image(self) -> np.ndarray | None:
        """What is copied: the whole edited photo, or the edited sample; None when there is none."""
        if self._photo.current is not None:
            return self._photo.composite()  # None while only a preview of the edit has come back
        edited = self._edit.edited
        return None if edited is None else edited.array

    def copy(self) -> bool:
        array = self.image()
        if array is None:
            self.failed.emit("Nothing to copy yet: open a photo or pick a sample first" if self._edit.photo is None
                             else "The full-resolution edit is still rendering: copy again in a moment")
            return False
        # a deep copy: the clipboard outlives the array the QImage would otherwise borrow
        QGuiApplication.clipboard().setImage(array_to_qimage(np.ascontiguousarray(array)).copy())
        self.copied.emit(array.shape[1], array.shape[0])
        return True
