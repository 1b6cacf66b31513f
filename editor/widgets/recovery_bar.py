"""The offer to restore an autosave after a run that did not exit cleanly (non-modal)."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

STYLE = "RecoveryBar { background:#4a3b12; border-radius:4px; } QLabel { color:#ffeebb; }"


class RecoveryBar(QFrame):
    restoreClicked = Signal()
    discardClicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel(wordWrap=True)
        self.restore = QPushButton("Restore")
        self.discard = QPushButton("Discard")
        self.restore.clicked.connect(self.restoreClicked)
        self.discard.clicked.connect(self.discardClicked)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.restore)
        layout.addWidget(self.discard)
        self.setStyleSheet(STYLE)
        self.hide()

    def offer(self, path: str) -> None:
        try:
            when = time.strftime("%d %b %H:%M", time.localtime(Path(path).stat().st_mtime))
        except OSError:
            when = "earlier"
        self.label.setText(f"Latent Studio did not close properly last time. Restore the edit autosaved {when}?")
        self.show()
