"""What lets the window fit a laptop screen (1280×720, and not break at 800×600): panels that
scroll inside their dock or tab area instead of widening the window (``scrolling``), a tab area
as large as its shown page needs (``CurrentPageSize``), a dock column that shares its height
(``share_heights``) and gives up width to the tabs on a narrow window (``DockShare``), and a
toolbar row that wraps to a second row only when the window is too narrow (``ToolbarWrap``).
Each changes the layout only when the window is resized or a panel appears, never under the
pointer while the user works."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QSizePolicy, QStackedWidget, QTabWidget, QToolBar, QWidget

DOCK_WIDTH, DOCK_MIN_WIDTH = 340, 240  # the right dock column: its width at start, the least it scrolls at
CENTRAL_MIN_WIDTH = 320  # the tab area never shrinks below this (a wider page scrolls inside it)
DOCK_HEIGHTS = {"latents": 5, "labels": 3, "attributes": 4, "history": 2}  # shares of the right column's height


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
    in those proportions; docks not (yet) there or hidden are left out."""
    docks = [(d, shares[d.objectName()]) for d in window.findChildren(QDockWidget) if d.objectName() in shares and not d.isHidden()]
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


class CurrentPageSize(QObject):
    """A tab widget as large as its current page needs, not its largest page: the other pages
    ignore their size, so the Edit tab does not scroll because "Your attributes" is wider."""

    def __init__(self, tabs: QTabWidget) -> None:
        super().__init__(tabs)
        self._tabs = tabs
        self._policies: dict[int, QSizePolicy] = {}
        tabs.currentChanged.connect(self.update)
        tabs.findChild(QStackedWidget).installEventFilter(self)  # pages added later
        self.update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ChildAdded:
            QTimer.singleShot(0, self.update)  # once the page is in place
        return False

    def update(self, *_: object) -> None:
        current = self._tabs.currentWidget()
        for i in range(self._tabs.count()):
            page = self._tabs.widget(i)
            policy = self._policies.setdefault(id(page), page.sizePolicy())
            shown = policy if page is current else QSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
            if page.sizePolicy() != shown:
                page.setSizePolicy(shown)
        self._tabs.updateGeometry()


class DockShare(QObject):
    """When the window is resized, the right dock column gives up width (down to DOCK_MIN_WIDTH)
    while the current tab page would have to scroll sideways, and takes it back (up to DOCK_WIDTH)
    when there is room again. Only a window resize moves it."""

    def __init__(self, window: QMainWindow, tabs_area: QScrollArea) -> None:
        super().__init__(window)
        self._window, self._area = window, tabs_area
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.Resize:
            QTimer.singleShot(0, self.update)  # after the window's layout has placed the tab area
        return False

    def update(self) -> None:
        window = self._window
        docks = [d for d in window.findChildren(QDockWidget) if not d.isHidden() and not d.isFloating()
                 and window.dockWidgetArea(d) == Qt.DockWidgetArea.RightDockWidgetArea]  # fmt: skip
        if not docks:
            return
        width = docks[0].width()
        spare = self._area.viewport().width() - self._area.widget().minimumSizeHint().width()  # < 0: it scrolls
        target = min(max(width + spare, DOCK_MIN_WIDTH), max(width, DOCK_WIDTH))
        if spare < 0 and width > DOCK_MIN_WIDTH or spare > 0 and width < DOCK_WIDTH:
            window.resizeDocks([docks[0]], [target], Qt.Orientation.Horizontal)
