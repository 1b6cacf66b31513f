"""Drag and drop of image files onto the window."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent


def _local_files(event: QDragEnterEvent | QDropEvent) -> list[str]:
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]


class FileDropFilter(QObject):
    """Install on a widget (``widget.installEventFilter``); emits the first dropped file."""

    fileDropped = Signal(str)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and _local_files(event):
            event.acceptProposedAction()
            return True
        if event.type() == QEvent.Type.Drop:
            files = _local_files(event)
            if files:
                event.acceptProposedAction()
                self.fileDropped.emit(files[0])
                return True
        return False
