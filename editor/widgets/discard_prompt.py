"""Nothing unsaved is lost without a word: before the open photo's edit is closed or replaced
(Quit, another photo or session, a sample, another model, an arithmetic or interpolation result
edited as an image) ask Save / Discard / Cancel, as image editors do. Every such path calls
:meth:`DiscardPrompt.allows`; nothing is asked when everything is saved.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox, QWidget

from editor.controllers.session import SessionController


class DiscardPrompt(QObject):
    def __init__(self, window: QWidget, session: SessionController, session_path_dialog: Callable[[], str],
                 name: Callable[[], str]) -> None:  # fmt: skip
        super().__init__(window)
        self._window, self._session = window, session
        self._session_path_dialog = session_path_dialog  # "" when the user cancels the save dialog
        self._name = name

    def allows(self, action: str) -> bool:
        """May ``action`` ("closing", "opening b.jpg", …) drop the current edit? True when nothing
        is unsaved, when the user discards it, or once it is saved; False leaves everything as it was."""
        if not self._session.needs_saving:
            return True
        answer = self.question(self._name() or "the photo", action)
        if answer == "discard":
            return True
        if answer == "save":
            path = self._session.path or self._session_path_dialog()
            return bool(path) and self._session.save_and_wait(path)
        return False

    def question(self, name: str, action: str) -> str:
        """"save", "discard" or "cancel" (closing the box cancels)."""
        buttons = QMessageBox.StandardButton
        answer = QMessageBox.question(
            self._window, "Save the edit?",
            f"The edit of {name} has changes that are not saved in a session. Save them before {action}?",
            buttons.Save | buttons.Discard | buttons.Cancel, buttons.Save)
        return {buttons.Save: "save", buttons.Discard: "discard"}.get(answer, "cancel")
