"""The per-photo fit in the window (issue 18): Edit ▸ "Fit the model to this face", "Stop fitting"
and the "Fit each photo automatically" setting (on by default), progress and Stop in the status
bar. Composition only; the requests are :class:`~editor.controllers.fit.FitController`'s."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow

from editor.background import read_setting, store_setting
from editor.controllers.fit import FitController
from editor.widgets.fit_progress import FitProgress

AUTO_KEY = "fit/auto"
STEPS_KEY = "fit/steps"


def as_bool(value) -> bool:
    """A setting's truth (an ini file gives back "true"/"false" strings)."""
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


class FitUI(QObject):
    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self._window = window
        steps = read_setting(window.settings, STEPS_KEY, None)
        self.fit = FitController(window.client, window.photo, window.edit, self,
                                 auto=as_bool(read_setting(window.settings, AUTO_KEY, True)),
                                 **({"steps": max(1, min(20000, int(steps)))} if str(steps or "").isdigit() else {}))
        self.progress = FitProgress()
        window.statusBar().addPermanentWidget(self.progress)
        self.fit_action = QAction("Fit the model to this &face", window, shortcut=QKeySequence("Ctrl+Shift+T"), enabled=False,
                                  toolTip="Tune the model to this photo's face so its reconstruction is this person (background)")
        self.stop_action = QAction("Stop fitting", window, enabled=False)
        self.auto_action = QAction("Fit each photo automatically", window, checkable=True, checked=self.fit.auto,
                                   toolTip="Start fitting the model to the face whenever a photo opens")
        menu = window.edit_menu
        menu.addSeparator()
        for action in (self.fit_action, self.stop_action, self.auto_action):
            menu.addAction(action)
        self._wire(window)

    def _wire(self, window: QMainWindow) -> None:
        fit, progress = self.fit, self.progress
        self.fit_action.triggered.connect(lambda: fit.start())
        self.stop_action.triggered.connect(fit.stop)
        progress.stopClicked.connect(fit.stop)
        self.auto_action.toggled.connect(self._set_auto)
        fit.runningChanged.connect(self._on_running)
        fit.progress.connect(progress.show_progress)
        fit.finished.connect(lambda text: progress.show_result(fit.fitted, text))
        fit.finished.connect(lambda text: window.statusBar().showMessage(text, 8000))
        fit.failed.connect(window.banner.show_error)
        window.photo.opened.connect(self._on_opened)
        window.mask.strokeActive.connect(fit.hold)  # a brush stroke's frames first, like a slider drag's
        conditional = getattr(window, "conditional", None)
        if conditional is not None:  # a conditional model's labels the user set go back on after the fit
            fit.adopted.connect(conditional.labels.put_back)

    def _set_auto(self, on: bool) -> None:
        self.fit.auto = bool(on)
        store_setting(self._window.settings, AUTO_KEY, bool(on))

    def _on_running(self, running: bool) -> None:
        self.stop_action.setEnabled(running)
        self.progress.running(running)

    def _on_opened(self, opened) -> None:
        self.fit_action.setEnabled(opened is not None)
        if opened is None:
            self.progress.clear()
        elif opened.fitted and not self.fit.running:
            self.progress.show_result(True, "The session's fit of this face was restored")
        elif not self.fit.running:
            self.progress.clear()
