"""The mouse wheel scrolls panels; it changes a slider, spin box or combo box only once that
control has focus (a click or Tab gives it). Without this, scrolling a long panel of sliders
moves whichever slider passes under the pointer.

One application-wide event filter: panels are rebuilt when the model changes, and every control
they create is covered from its first event (Polish) on, without each panel opting in.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QAbstractScrollArea, QAbstractSlider, QAbstractSpinBox, QApplication, QComboBox, QWidget

GUARDED = (QAbstractSlider, QAbstractSpinBox, QComboBox)


def _guarded(obj: QObject) -> bool:
    # scroll bars are sliders too, and the wheel is exactly what they are for
    return isinstance(obj, GUARDED) and obj.metaObject().className() != "QScrollBar"


def _scroll_area(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea) and parent.metaObject().className() != "QComboBoxListView":
            return parent
        parent = parent.parentWidget()
    return None


class WheelGuard(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        app = QApplication.instance()
        for widget in app.allWidgets():
            self._polish(widget)
        app.installEventFilter(self)

    @staticmethod
    def _polish(widget: QWidget) -> None:
        if _guarded(widget) and widget.focusPolicy() == Qt.FocusPolicy.WheelFocus:
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel must not give focus either

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Polish:
            self._polish(watched)
        elif kind == QEvent.Type.Wheel and _guarded(watched) and not watched.hasFocus():
            area = _scroll_area(watched)
            if area is None:
                event.ignore()  # a real wheel event then goes on to the parents
                return True
            # handed to the panel's scroll area ourselves: Qt 6 does not pass synthesized wheel
            # events on to parents, and a real one must not scroll twice
            pos = area.viewport().mapFromGlobal(event.globalPosition())
            forwarded = QWheelEvent(pos, event.globalPosition(), event.pixelDelta(), event.angleDelta(), event.buttons(),
                                    event.modifiers(), event.phase(), event.inverted(), event.source())
            QApplication.sendEvent(area.viewport(), forwarded)
            event.accept()
            return True
        return False

    def remove(self) -> None:
        QApplication.instance().removeEventFilter(self)
