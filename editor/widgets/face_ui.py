"""No face found / wrong face, in the window: the banner, the square-drag tool on the photo and
the Edit ▸ "Mark the face…" action (always there for a photo: the detector may pick the wrong
face or miss a profile). Composition only; the requests are :class:`FaceMarking`'s."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QToolButton

from editor.controllers.face_marking import FaceMarking
from editor.widgets.face_banner import FaceBanner
from editor.widgets.face_marker import FaceMarker


class FaceUI(QObject):
    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._finder_missing = False
        self.marking = FaceMarking(window.photo, window.edit, self)
        self.banner = FaceBanner()
        self.marker = FaceMarker(window.canvas.views["photo"], self)
        self.mark_action = QAction("Mark the &face…", window, shortcut=QKeySequence("Ctrl+Shift+F"),
                                   toolTip="Drag a square around the face to edit (when the detector missed it or chose another)")
        self.mark_action.setEnabled(False)
        window.edit_menu.addSeparator()
        window.edit_menu.addAction(self.mark_action)
        window.banners.add(self.banner, 1)  # floats over the tabs, under the notification strip
        self.mark_button = QToolButton(defaultAction=self.mark_action, autoRaise=True)
        row = window.face_chooser.parentWidget().layout()
        row.insertWidget(row.indexOf(window.face_chooser) + 1, self.mark_button)  # beside the face chooser
        self._wire(window)

    def _wire(self, window: QMainWindow) -> None:
        m, banner, marker = self.marking, self.banner, self.marker
        m.noFace.connect(self._on_no_face)
        m.resolved.connect(banner.hide)
        banner.markClicked.connect(self.start_marking)
        self.mark_action.triggered.connect(self.start_marking)
        banner.wholeClicked.connect(self._use_whole_image)
        banner.cancelClicked.connect(marker.cancel)
        marker.marked.connect(self._on_marked)
        marker.cancelled.connect(self._after_marking)
        window.edit.photoChanged.connect(lambda *_: self._on_document())
        window.edit.failed.connect(self._quiet_no_face_error)  # connected after the window's banner: runs after it

    def start_marking(self) -> None:
        if not self.marking.can_mark:
            return
        self._window.tabs.setCurrentWidget(self._window.canvas)
        self.banner.show_marking()
        self.marker.start()

    def _on_marked(self, box) -> None:
        self.banner.hide()
        self.marking.mark(box)

    def _use_whole_image(self) -> None:
        self.banner.hide()
        self.marking.use_whole_image()

    def _after_marking(self) -> None:
        if self.marking.refused:
            self.banner.show_no_face(self._window.edit.name, self._finder_missing)
        else:
            self.banner.hide()

    def _on_no_face(self, name: str, finder_missing: bool) -> None:
        self._finder_missing = finder_missing
        self.banner.show_no_face(name, finder_missing)

    def _on_document(self) -> None:
        self.marker.cancel()
        self.mark_action.setEnabled(self.marking.can_mark)
        if not self.marking.refused:
            self.banner.hide()

    def _quiet_no_face_error(self, message: str) -> None:
        """The face banner says it and offers the ways on: the generic error strip need not."""
        said = ("no face found", "the face finder cannot start")
        if self.marking.refused and any(s in message for s in said):
            self._window.banner.dismiss()
            if any(s in self._window.statusBar().currentMessage() for s in said):
                self._window.statusBar().clearMessage()
