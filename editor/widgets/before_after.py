"""Before/after: hold ``\\`` to see the original (as in Lightroom); release shows the edit again.
View ▸ Split before/after (Y) puts a divider on the photo instead: the original left of it, the
edit right of it; drag the line to move it.

The photo view drops the pasted-back edit while the key is held, and the model-resolution
"Edited" view shows the reconstruction. Typing into a text field is left alone, and the key's
auto-repeat does nothing.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QLineEdit, QPlainTextEdit, QTextEdit, QWidget

from editor.imaging import Frame

KEY = Qt.Key.Key_Backslash
TEXT_INPUTS = (QLineEdit, QTextEdit, QPlainTextEdit, QAbstractSpinBox)


class BeforeAfter(QObject):
    toggled = Signal(bool)  # True while the original is shown

    def __init__(self, window: QWidget, canvas, edit) -> None:
        super().__init__(window)
        self._window, self._canvas, self._edit = window, canvas, edit
        self.showing_original = False
        self._kept_edited: Frame | None = None
        self.split_action = QAction("&Split before/after", self, checkable=True, shortcut=QKeySequence("Y"),
                                    toolTip="The original left of a divider on the photo, the edit right of it; drag the line")
        self.split_action.toggled.connect(self.set_split)
        QApplication.instance().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.WindowDeactivate and watched is self._window:
            self.show_original(False)  # the key's release goes to another window
            return False
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) or not isinstance(event, QKeyEvent):
            return False
        if event.key() != KEY or not isinstance(watched, QWidget) or watched.window() is not self._window:
            return False
        if isinstance(QApplication.focusWidget(), TEXT_INPUTS):
            return False
        if not event.isAutoRepeat():
            self.show_original(kind == QEvent.Type.KeyPress)
        return True

    def set_split(self, on: bool) -> None:
        self._canvas.views["photo"].divider.set_fraction(0.5 if on else None)
        if self.split_action.isChecked() != on:
            self.split_action.setChecked(on)

    def show_original(self, on: bool) -> None:
        if on == self.showing_original:
            return
        self.showing_original = on
        self._canvas.views["photo"].set_show_original(on)
        edited_view = self._canvas.views["edited"]
        encoded = getattr(self._edit, "encoded", None)
        if on and encoded is not None:
            self._kept_edited = edited_view.frame
            edited_view.set_frame(Frame.from_array(encoded.reconstruction))
        elif not on and self._kept_edited is not None:
            # an edit that arrived meanwhile wins over the one kept at the press
            edited = getattr(self._edit, "edited", None)
            edited_view.set_frame(edited if edited is not None else self._kept_edited)
            self._kept_edited = None
        self.toggled.emit(on)
