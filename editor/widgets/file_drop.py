"""Drag and drop of files onto the window: a photo or a session file opens (through the window's
open path, which reports a file it cannot read); a folder, a link to a web page or several files
get one line saying what happened. The open document is untouched by anything that does not open."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent


def _urls(event: QDragEnterEvent | QDropEvent) -> list:
    mime = event.mimeData()
    return list(mime.urls()) if mime is not None and mime.hasUrls() else []


def _local_files(event: QDragEnterEvent | QDropEvent) -> list[str]:
    return [url.toLocalFile() for url in _urls(event) if url.isLocalFile()]


def drop_plan(paths: list[str], remote: int = 0) -> tuple[str | None, str | None]:
    """(the file to open or None, a one-line message or None) for what was dropped."""
    files = [p for p in paths if not Path(p).is_dir()]
    folders = [p for p in paths if Path(p).is_dir()]
    if not files:
        if folders:
            return None, f"{Path(folders[0]).name or folders[0]} is a folder: drop a photo or a session file (.lsession)"
        if remote:
            return None, "Only files on this computer can be opened: save the image first, then drop the file"
        return None, None
    skipped = len(paths) - 1 + remote
    note = f"Opened {Path(files[0]).name}; one photo at a time, {skipped} other item(s) ignored" if skipped else None
    return files[0], note


class FileDropFilter(QObject):
    """Install on a widget (``widget.installEventFilter``); emits the file to open, and a line
    of information when a drop opens nothing or not everything."""

    fileDropped = Signal(str)
    message = Signal(str)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and _urls(event):
            event.acceptProposedAction()
            return True
        if event.type() == QEvent.Type.Drop:
            urls = _urls(event)
            if not urls:
                return False
            event.acceptProposedAction()
            path, note = drop_plan(_local_files(event), remote=sum(1 for u in urls if not u.isLocalFile()))
            if note:
                self.message.emit(note)
            if path is not None:
                self.fileDropped.emit(path)
            return True
        return False
