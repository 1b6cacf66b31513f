"""A non-modal message strip: errors and notices appear here and fade after a while."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

STYLES = {
    "error": "background:#5c1f1f; color:#ffd9d9; border-radius:4px;",
    "info": "background:#1f3d5c; color:#dcecff; border-radius:4px;",
}


class NotificationBanner(QFrame):
    def __init__(self, parent: QWidget | None = None, timeout_ms: int = 10_000) -> None:
        super().__init__(parent)
        self.kind = ""
        self.history: list[tuple[str, str]] = []
        self.label = QLabel(wordWrap=True)
        close = QToolButton(text="✕", autoRaise=True, toolTip="Dismiss")
        close.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(close)
        self._timer = QTimer(self, singleShot=True, interval=timeout_ms)
        self._timer.timeout.connect(self.dismiss)
        self.hide()

    def text(self) -> str:
        return self.label.text()

    def show_error(self, message: str) -> None:
        self._show("error", message)

    def show_info(self, message: str) -> None:
        self._show("info", message)

    def dismiss(self) -> None:
        self.hide()

    def _show(self, kind: str, message: str) -> None:
        self.kind = kind
        self.history.append((kind, message))
        self.label.setText(message)
        self.setStyleSheet(f"NotificationBanner {{{STYLES[kind]}}} QLabel {{{STYLES[kind]}}}")
        self.show()
        self._timer.start()
