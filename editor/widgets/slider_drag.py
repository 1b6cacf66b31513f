"""When a hand holds a slider: ``pressed`` before the press moves it, ``released`` after.

Qt moves a slider to the pointer on a left-button press (on most styles) *before* it says
``sliderPressed``, so listening to that signal splits one drag into two changes — the jump, then
the drag — and the history into two undo steps. A click on the groove of a style that pages
instead never says ``sliderPressed``/``sliderReleased`` at all. This watches the mouse itself, and
the slider's signals (``setSliderDown``), and pairs each press with one release.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QSlider, QWidget


class SliderDrag(QObject):
    pressed = Signal()
    released = Signal()

    def __init__(self, slider: QWidget) -> None:
        super().__init__(slider)
        inner = slider if isinstance(slider, QSlider) else slider.findChild(QSlider)
        if inner is None:
            raise TypeError(f"{type(slider).__name__} has no QSlider inside")
        self.slider = inner
        self.down = False
        inner.installEventFilter(self)
        # the slider's own signals too, whichever comes first: setSliderDown() and styles that
        # do not jump say only these
        inner.sliderPressed.connect(self._press)
        inner.sliderReleased.connect(self._release)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton and self.slider.isEnabled():
            self._press()
        elif kind == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton and self.down:
            QTimer.singleShot(0, self, self._release)  # after Qt's own handling of the release
        elif kind in (QEvent.Type.Hide, QEvent.Type.EnabledChange) and self.down and (self.slider.isHidden() or not self.slider.isEnabled()):
            self._release()  # a drag cut short must not leave the editor in drag mode
        return False

    def _press(self) -> None:
        if not self.down:
            self.down = True
            self.pressed.emit()

    def _release(self) -> None:
        if self.down:
            self.down = False
            self.released.emit()
