"""What lets the window fit a laptop screen (1280×720, and not break at 800×600): panels that
scroll inside their dock or tab area instead of widening the window, and a toolbar row that wraps
to a second row only when the window is too narrow for both toolbars."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QToolBar, QWidget

DOCK_WIDTH, DOCK_MIN_WIDTH = 340, 240  # the right dock column: its width at start, the least it scrolls at
CENTRAL_MIN_WIDTH = 320  # the tab area never shrinks below this (a wider page scrolls inside it)
DOCK_HEIGHTS = {"latents": 5, "attributes": 4, "history": 2}  # shares of the right column's height


class _Fill(QWidget):
    """Holds one widget at its own size. It reports no height-for-width, so that a scroll area
    sizes it by its true minimum: for a panel with a word-wrapped label QScrollArea would take
    the panel's preferred height as its least and scroll long before anything is cut off."""

    def __init__(self, widget: QWidget) -> None:
        super().__init__()
        self.inner = widget
        widget.setParent(self)

    def minimumSizeHint(self) -> QSize:
        return self.inner.minimumSizeHint().expandedTo(self.inner.minimumSize())

    def sizeHint(self) -> QSize:
        return self.inner.sizeHint()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:  # the panel's minimum changed: tell the scroll area
            self.updateGeometry()
        return super().event(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self.inner.setGeometry(self.rect())


def scrolling(widget: QWidget, min_width: int = 0) -> QScrollArea:
    """``widget`` filling a frameless scroll area: it grows with the space it is given and scrolls
    (instead of forcing the window wider or taller) where that space is below its minimum size."""
    area = QScrollArea()
    area.setWidget(_Fill(widget))
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    if min_width:
        area.setMinimumWidth(min_width)
    return area


def share_heights(window: QMainWindow, shares: dict[str, int]) -> None:
    """Split the height of a dock column between the docks named in ``shares`` (object names),
    in those proportions; docks not (yet) there are left out."""
    docks = [(d, shares[d.objectName()]) for d in window.findChildren(QDockWidget) if d.objectName() in shares]
    if docks:
        window.resizeDocks([d for d, _ in docks], [100 * share for _, share in docks], Qt.Orientation.Vertical)


class ToolbarWrap(QObject):
    """Put ``second`` on its own toolbar row while the window is narrower than the toolbars of the
    top area need side by side; back on one row when it is wide enough. Only a window resize
    changes it, so nothing moves under the pointer while the user works."""

    def __init__(self, window: QMainWindow, second: QToolBar) -> None:
        super().__init__(window)
        self._window, self._second = window, second
        self.wrapped = False
        window.installEventFilter(self)

    def needed_width(self) -> int:
        area = Qt.ToolBarArea.TopToolBarArea
        bars = [b for b in self._window.findChildren(QToolBar) if self._window.toolBarArea(b) == area and not b.isHidden()]
        return sum(b.sizeHint().width() for b in bars)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self.update()
        return False

    def update(self) -> None:
        wrap = self._window.width() < self.needed_width()
        if wrap != self.wrapped:
            self.wrapped = wrap
            if wrap:
                self._window.insertToolBarBreak(self._second)
            else:
                self._window.removeToolBarBreak(self._second)
