"""Conditional models in the main window (issue 6): the label dock (shown only for models that
take labels), the realism gauge in the status bar (shown only for calibrated checkpoints), the
bundled models in the model chooser, and Edit ▸ Refine inversion (background refinement of the
open photo's latent, progress in the status bar).

Composition only, like main_window.py and semantics_ui.py: it builds the controllers and panels and
wires them to the window's client, model, edit and sampling controllers, banner, tabs and chooser.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow

from editor.commands import LabelsCommand
from editor.controllers.labels import LabelsController
from editor.controllers.realism import RealismController
from editor.controllers.refine import RefineController
from editor.widgets.label_panel import LabelPanel
from editor.widgets.realism_gauge import RealismGauge
from editor.widgets.window_fit import DOCK_HEIGHTS, DOCK_MIN_WIDTH, scrolling, share_heights

class ConditionalUI(QObject):
    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        self._window = window
        grid_visible = lambda: window.tabs.currentWidget() is window.samples  # noqa: E731
        self.labels = LabelsController(window.model, window.edit, window.sampling, grid_visible, self)
        self.realism = RealismController(window.client, window.model, window.edit, parent=self)
        self.refine = RefineController(window.client, window.photo, window.edit, self)
        self.label_panel = LabelPanel()
        self.gauge = RealismGauge()
        self._lay_out(window)
        self._wire(window)
        window.model.list_models()

    def _lay_out(self, window: QMainWindow) -> None:
        self.dock = QDockWidget("Labels", window, objectName="labels")
        self.dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.dock.setWidget(scrolling(self.label_panel, min_width=DOCK_MIN_WIDTH))
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        latents = window.findChild(QDockWidget, "latents")
        if latents is not None:
            window.splitDockWidget(latents, self.dock, Qt.Orientation.Vertical)
        self.dock.setVisible(False)  # until a conditional model is loaded
        window.statusBar().addPermanentWidget(self.gauge)
        menu = getattr(window, "edit_menu", None) or window.menuBar().addMenu("&Edit")
        menu.addSeparator()
        self.refine_action = QAction("Refine inversion", window, shortcut=QKeySequence("Ctrl+Shift+I"),
                                     toolTip="Optimise the photo's latent so the model reproduces it more closely (background)")
        self.stop_refine_action = QAction("Stop refining", window, enabled=False)
        menu.addAction(self.refine_action)
        menu.addAction(self.stop_refine_action)

    def _wire(self, window: QMainWindow) -> None:
        labels, panel, edit = self.labels, self.label_panel, window.edit
        labels.modelChanged.connect(panel.build)
        labels.availableChanged.connect(self.dock.setVisible)
        labels.availableChanged.connect(lambda *_: share_heights(window, DOCK_HEIGHTS))  # room for the labels
        labels.valuesChanged.connect(self._show_values)
        labels.failed.connect(window.banner.show_error)
        panel.valueChanged.connect(labels.set_value)
        panel.blendChanged.connect(labels.set_blend)
        panel.resetRequested.connect(labels.reset)
        panel.dragStarted.connect(labels.begin_drag)
        panel.dragStarted.connect(edit.begin_drag)
        panel.dragFinished.connect(labels.end_drag)
        panel.dragFinished.connect(edit.end_drag)
        labels.edited.connect(self._record)
        window.tabs.currentChanged.connect(lambda *_: labels.grid_shown() if window.tabs.currentWidget() is window.samples else None)

        realism, gauge = self.realism, self.gauge
        for drag_source in (window.latents, panel, getattr(getattr(window, "semantics", None), "attribute_panel", None)):
            if drag_source is not None:
                drag_source.dragStarted.connect(realism.hold)
        realism.availableChanged.connect(gauge.set_calibration)
        realism.scored.connect(gauge.show_score)
        realism.failed.connect(gauge.show_error)
        realism.failed.connect(window.banner.show_error)
        realism.cleared.connect(gauge.clear)

        window.model.catalogChanged.connect(window.chooser.set_catalog)

        refine = self.refine
        self.refine_action.triggered.connect(lambda: refine.start())
        self.stop_refine_action.triggered.connect(refine.stop)
        refine.runningChanged.connect(self.stop_refine_action.setEnabled)
        refine.runningChanged.connect(lambda running: self.refine_action.setEnabled(not running))
        refine.progress.connect(lambda text: window.statusBar().showMessage(text, 5000))
        refine.finished.connect(window.banner.show_info)
        refine.failed.connect(window.banner.show_error)
        refine.adopted.connect(labels.put_back)
        window.session.loaded.connect(lambda *_: labels.put_back(window.session.loaded_labels))
        window.session.recipeLabels.connect(lambda values: labels.apply_values(values, "Recipe labels"))

    def _record(self, before, after, what: str, merge) -> None:
        """A label change the user made: one undoable step (merged within a drag)."""
        self._window.history.undo_stack.push(LabelsCommand(self.labels, before, after, f"Labels: {what}", merge_key=merge,
                                                           applied=True))

    def _show_values(self, values: dict) -> None:
        if self.labels.mode == "onehot" and self.labels.blend is not None:
            self.label_panel.set_blend(*self.labels.blend)
        else:
            self.label_panel.set_values(values)
