"""The main window: composition only. Controllers hold state, panels show it; this wires them."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QHBoxLayout, QMainWindow, QTabWidget, QToolButton, QVBoxLayout, QWidget

from editor.client import EngineClient
from editor.controllers.edit import EditController
from editor.controllers.history import HistoryController
from editor.controllers.mask import MaskModel
from editor.controllers.model import ModelController
from editor.controllers.photo import PhotoController
from editor.controllers.sampling import SamplingController
from editor.controllers.session import DEFAULT_AUTOSAVE_S, SESSION_SUFFIX, SessionController
from editor.recent import RecentList
from editor.widgets.artist_ui import ArtistUI
from editor.widgets.banner_overlay import BannerOverlay
from editor.widgets.canvas_panel import CanvasPanel
from editor.widgets.conditional_ui import ConditionalUI
from editor.widgets.discard_prompt import DiscardPrompt
from editor.widgets.document_actions import DocumentActions
from editor.widgets.face_chooser import FaceChooser
from editor.widgets.face_ui import FaceUI
from editor.widgets.fit_ui import FitUI
from editor.widgets.file_actions import FileActions
from editor.widgets.file_drop import FileDropFilter
from editor.widgets.history_panel import HistoryPanel
from editor.widgets.latent_panel import LatentPanel
from editor.widgets.mask_tools import MaskTools
from editor.widgets.model_chooser import ModelChooser
from editor.widgets.notification import NotificationBanner
from editor.widgets.recovery_bar import RecoveryBar
from editor.widgets.sampling_panel import SamplingPanel
from editor.widgets.semantics_ui import SemanticsUI
from editor.widgets.status_panel import StatusPanel
from editor.widgets.traversal_strip import TraversalStrip
from editor.widgets.window_fit import (
    CENTRAL_MIN_WIDTH,
    DOCK_MIN_WIDTH,
    DOCK_WIDTH,
    CurrentPageSize,
    DockShare,
    ToolbarWrap,
    scrolling,
)

class MainWindow(QMainWindow):
    def __init__(self, client: EngineClient, settings: QSettings | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Latent Studio")
        self.resize(1280, 800)
        self.setAcceptDrops(True)
        self.client = client
        self.settings = settings if settings is not None else QSettings()
        # state
        self.model = ModelController(client, self)
        self.edit = EditController(client, self.model, self)
        self.sampling = SamplingController(client, self.model, self.edit, self)
        # the photo workflow (issue 7): photo loop, mask, undo history, sessions
        self.mask = MaskModel(self)
        self.photo = PhotoController(client, self.edit, self.mask, self)
        self.history = HistoryController(self.edit, self.mask, self.photo, self.model, self)
        self.session = SessionController(client, self.edit, self.photo, self.mask, self.history, self,
                                         interval_s=float(self.settings.value("autosave/seconds", DEFAULT_AUTOSAVE_S)))
        # panels
        self.banner = NotificationBanner()
        self.canvas = CanvasPanel()
        self.samples = SamplingPanel()
        self.latents = LatentPanel()
        self.traversal = TraversalStrip()
        self.chooser = ModelChooser(RecentList(self.settings, "recent/models"))
        self.files = FileActions(self, RecentList(self.settings, "recent/images"), self._export_source)
        self.status = StatusPanel(self.statusBar())
        self.drop = FileDropFilter(self)
        self.installEventFilter(self.drop)
        self.mask_tools = MaskTools()
        self.face_chooser = FaceChooser()
        self.recovery_bar = RecoveryBar()
        self.history_panel = HistoryPanel(self.history.undo_stack)
        self.documents = DocumentActions(self, lambda: self.edit.path, lambda: self.session.path)
        self.discard_prompt = DiscardPrompt(self, self.session, lambda: self.documents.session_path_dialog(), lambda: self.edit.name)
        self._lay_out()
        self._lay_out_photo()
        self._wire()
        self._wire_photo()
        self.semantics = SemanticsUI(self)  # attribute sliders, arithmetic, interpolation, your attributes
        self.conditional = ConditionalUI(self)  # labels of conditional models, realism gauge, bundled models
        self.artist = ArtistUI(self)  # layered export, clipboard, Help menu, standard shortcuts, before/after, wheel guard
        self.faces = FaceUI(self)  # no face found: mark the face or use the whole image; Edit ▸ Mark the face…
        self.fitting = FitUI(self)  # the per-photo fit: starts by itself on a new face; progress and Stop in the status bar

    # ------------------------------------------------------------------ layout

    def _lay_out(self) -> None:
        self.tabs = QTabWidget()
        self.tabs.addTab(self.canvas, "Edit")
        self.tabs.addTab(self.samples, "Sample")
        central = QWidget()
        box = QVBoxLayout(central)
        box.setContentsMargins(4, 4, 4, 0)
        area = scrolling(self.tabs, min_width=CENTRAL_MIN_WIDTH)  # a wide tab scrolls, the window keeps its size
        box.addWidget(area, 1)
        self.page_size = CurrentPageSize(self.tabs)  # only the shown page's size counts
        self.dock_share = DockShare(self, area)  # a narrow window: the docks narrow before the tab scrolls
        self.setCentralWidget(central)
        self.banners = BannerOverlay(central)  # over the tabs' bottom edge: a banner never moves a control
        self.banners.add(self.banner)
        self.banners.add(self.recovery_bar)

        side = QWidget()
        side_box = QVBoxLayout(side)
        side_box.setContentsMargins(0, 0, 0, 0)
        side_box.addWidget(self.latents, 1)
        side_box.addWidget(self.traversal)
        dock = QDockWidget("Latent dimensions", self, objectName="latents")
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        dock.setWidget(scrolling(side, min_width=DOCK_MIN_WIDTH))
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.resizeDocks([dock], [DOCK_WIDTH], Qt.Orientation.Horizontal)

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("main-toolbar")
        toolbar.addAction(self.files.open)
        self.export_button = QToolButton(defaultAction=self.files.export, toolButtonStyle=Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addWidget(self.export_button)  # exports what is edited: the photo when one is open (_on_photo_open)
        if self.menuBar().isNativeMenuBar():  # a menu bar outside the window (macOS) shows no corner widget
            toolbar.insertWidget(toolbar.actions()[0], self.chooser)  # first: the last to overflow
        else:
            self.menuBar().setCornerWidget(self.chooser)  # always in view, whatever the toolbars' width

        file_menu = self.file_menu = self.menuBar().addMenu("&File")
        self.files.add_to(file_menu)
        file_menu.addSeparator()
        self.documents.add_to(file_menu)
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit")
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        self.edit_menu = self.menuBar().addMenu("&Edit")
        view_menu = self.view_menu = self.menuBar().addMenu("&View")
        for text, key, factor in (("Fit", "Ctrl+0", None), ("Actual pixels", "Ctrl+1", 1)):
            action = QAction(text, self, shortcut=QKeySequence(key))
            action.triggered.connect(lambda _=False, f=factor: self.canvas.set_zoom(f))
            view_menu.addAction(action)
        view_menu.addAction(dock.toggleViewAction())
        self.latents.setEnabled(False)

    def _lay_out_photo(self) -> None:
        """Photo workflow: mask tools and face chooser, the history dock, the Edit menu."""
        bar = QWidget()  # the face chooser and (FaceUI) the Mark-the-face button
        row = QHBoxLayout(bar)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.face_chooser)
        bar.setMinimumHeight(self.face_chooser.sizeHint().height())  # the row keeps its height when the chooser appears
        toolbar = self.addToolBar("Photo")
        toolbar.setObjectName("photo-toolbar")
        toolbar.addWidget(self.mask_tools)  # two items: a narrow window moves the last into the overflow menu
        toolbar.addWidget(bar)
        self.toolbar_wrap = ToolbarWrap(self, toolbar)  # a second row only when one is too narrow

        dock = QDockWidget("History", self, objectName="history")
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        dock.setWidget(scrolling(self.history_panel, min_width=DOCK_MIN_WIDTH))
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.view_menu.addAction(dock.toggleViewAction())

        stack = self.history.undo_stack
        self.undo_action = stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence.StandardKey.Redo, QKeySequence("Ctrl+Y")])
        self.edit_menu.addAction(self.undo_action)
        self.edit_menu.addAction(self.redo_action)
        self.edit_menu.addSeparator()
        reset = self.edit_menu.addAction("Reset all edits")
        reset.setShortcut(QKeySequence("Ctrl+Shift+R"))
        reset.triggered.connect(self.history.reset_all)
        self.edit_menu.addAction("Clear mask").triggered.connect(self.history.clear_mask)
        self.edit_menu.addAction("Invert mask").triggered.connect(self.history.invert_mask)
        self.files.export.setText("Export &face (model resolution)…")

    # ------------------------------------------------------------------ wiring

    def _wire(self) -> None:
        client, model, edit, sampling = self.client, self.model, self.edit, self.sampling
        for failed in (client.failed, model.failed, edit.failed, sampling.failed):
            failed.connect(self.show_error)
        client.busyChanged.connect(self.status.set_busy)
        client.timing.connect(self.status.on_timing)
        client.workerRestarted.connect(self.banner.show_error)

        self.chooser.modelRequested.connect(self._on_model_requested)
        model.loading.connect(self.status.set_loading)
        model.changed.connect(self._on_model_changed)
        model.failed.connect(self._on_model_failed)

        self.files.openRequested.connect(self.open_image)
        self.files.failed.connect(self.banner.show_error)
        self.files.exported.connect(lambda path: self.banner.show_info(f"Exported {path}"))
        self.drop.fileDropped.connect(self.open_image)
        self.edit.fileOpened.connect(self._on_file_opened)

        edit.photoChanged.connect(self.canvas.set_photo)
        edit.encodedChanged.connect(self.canvas.set_encoded)
        edit.encodedChanged.connect(lambda encoded: self.latents.setEnabled(encoded is not None))
        edit.editedChanged.connect(self.canvas.set_edited)
        edit.editedChanged.connect(self.status.on_frame)
        edit.offsetsChanged.connect(self.latents.set_offsets)
        edit.traversalReady.connect(self.traversal.set_images)

        self.latents.offsetChanged.connect(edit.set_offset)
        self.latents.dragStarted.connect(edit.begin_drag)
        self.latents.dragFinished.connect(edit.end_drag)
        self.latents.resetRequested.connect(lambda dim: edit.reset(None if dim < 0 else dim))
        self.latents.randomiseRequested.connect(edit.randomise)
        self.latents.traversalRequested.connect(self.traversal.wait_for)
        self.latents.traversalRequested.connect(edit.show_traversal)
        self.traversal.valuePicked.connect(edit.jump)
        self.traversal.closed.connect(lambda: edit.show_traversal(None))

        self.samples.sampleRequested.connect(sampling.sample)
        model.changed.connect(self.samples.set_model)  # the hint names the prior a draw samples from
        self.samples.sampleChosen.connect(self._on_sample_chosen)
        self.samples.failed.connect(self.banner.show_error)
        self.samples.saved.connect(lambda path: self.banner.show_info(f"Saved {path}"))
        sampling.ready.connect(self.samples.show_samples)
        sampling.cleared.connect(self.samples.clear)
        self.tabs.currentChanged.connect(self._maybe_autosample)

    def _wire_photo(self) -> None:
        photo, mask, history, session = self.photo, self.mask, self.history, self.session
        view = self.canvas.views["photo"]
        view.attach_mask(mask)
        photo.rendered.connect(view.set_rendered)
        photo.facesChanged.connect(
            lambda faces, chosen: self.face_chooser.set_faces(photo.current.photo if photo.current else None, faces, chosen))
        photo.opened.connect(lambda opened: self._on_photo_open(opened is not None))
        photo.exported.connect(lambda path: self.banner.show_info(f"Exported {path}"))
        photo.failed.connect(self.show_error)
        self.face_chooser.faceChosen.connect(history.choose_face)

        tools = self.mask_tools
        tools.toolChanged.connect(view.set_tool)
        tools.radiusChanged.connect(view.set_brush_radius)
        tools.radiusChanged.connect(lambda r: setattr(mask, "radius", float(r)))
        tools.featherChanged.connect(lambda f: setattr(mask, "feather", float(f)))
        tools.showMaskChanged.connect(view.set_show_mask)
        tools.invertRequested.connect(history.invert_mask)
        tools.clearRequested.connect(history.clear_mask)
        mask.radius, mask.feather = float(tools.size.value()), tools.feather.value() / 100.0
        view.set_brush_radius(mask.radius)
        view.strokeBegan.connect(history.begin_stroke)
        view.strokeMoved.connect(history.stroke_to)
        view.strokeEnded.connect(history.end_stroke)

        docs = self.documents
        docs.openSessionRequested.connect(lambda path: self.discard_prompt.allows(f"opening {Path(path).name}") and session.open(path))
        docs.saveSessionRequested.connect(session.save)
        docs.saveRecipeRequested.connect(session.save_recipe)
        docs.applyRecipeRequested.connect(session.apply_recipe)
        docs.exportRequested.connect(lambda path, overwrite: photo.export(path, overwrite=overwrite))
        docs.failed.connect(self.banner.show_error)
        session.saved.connect(lambda path: self.banner.show_info(f"Saved session {path}"))
        session.recipeSaved.connect(lambda path: self.banner.show_info(f"Saved recipe {path}"))
        session.loaded.connect(self._on_session_loaded)
        session.failed.connect(self.show_error)
        session.recoveryAvailable.connect(self.recovery_bar.offer)
        session.recoveryResolved.connect(self.recovery_bar.hide)
        self.recovery_bar.restoreClicked.connect(lambda: self.discard_prompt.allows("restoring the autosave") and session.restore())
        self.recovery_bar.discardClicked.connect(session.discard_recovery)

    def _on_session_loaded(self, path: str, warnings) -> None:
        self.tabs.setCurrentWidget(self.canvas)
        self.setWindowTitle(f"{self.edit.name} — Latent Studio")
        if warnings:
            self.banner.show_info("Session opened: " + "; ".join(warnings))

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.session.needs_saving and not self._save_before_closing():
            event.ignore()
            return
        self.session.finish()  # a clean exit: no crash recovery offered next time
        super().closeEvent(event)

    def _save_before_closing(self) -> bool:
        """Unsaved edits: ask; True when the window may close."""
        return self.discard_prompt.allows("closing")

    # ------------------------------------------------------------------ actions

    def open_image(self, path: str | Path) -> bool:
        """Open a photo file for editing (menu, drop, command line, recent files); a session
        file (.lsession) reopens that session. Unsaved edits: asks first (False when cancelled)."""
        if Path(path).is_file() and not self.discard_prompt.allows(f"opening {Path(path).name}"):
            return False
        self.tabs.setCurrentWidget(self.canvas)
        if Path(path).suffix.lower() == SESSION_SUFFIX:
            if not Path(path).is_file():
                self.banner.show_error(f"{Path(path).name}: no such file")
                return False
            self.session.open(path)
            return True
        return self.edit.open_image(path)  # decoded off the GUI thread: _on_file_opened or an error follows

    def _on_file_opened(self, path: Path) -> None:
        self.files.remember(path)
        self.setWindowTitle(f"{Path(path).name} — Latent Studio")

    def _on_sample_chosen(self, index: int) -> None:
        if not self.discard_prompt.allows("editing the sample"):
            return
        self.sampling.choose(index)
        self.tabs.setCurrentWidget(self.canvas)
        self.setWindowTitle(f"{self.edit.name} — Latent Studio")

    def _on_model_requested(self, source: str) -> None:
        """Another model starts a new edit (the photo stays): unsaved edits ask first; Cancel
        shows the loaded model in the chooser again."""
        if self.discard_prompt.allows(f"switching to the model {Path(source).name}"):
            self.model.load(source)
        else:
            self.chooser.set_current(self.model.source or "default")

    def _on_model_changed(self, info) -> None:
        self.latents.build(info)
        self.latents.setEnabled(False)
        self.traversal.close_strip()
        self.status.set_model(info)
        self.chooser.set_current(self.model.source or info.name)
        self._maybe_autosample()

    def _maybe_autosample(self, *_: object) -> None:
        """The Sample tab shows a grid as soon as it is looked at."""
        if self.tabs.currentWidget() is self.samples and self.model.info is not None and self.sampling.result is None:
            self.samples.request()

    def _on_model_failed(self, message: str) -> None:
        self.status.set_model(self.model.info)
        self.chooser.set_current(self.model.source or "default")

    def show_error(self, message: str) -> None:
        """One line for a person, worded where the request was made: banner and status bar."""
        self.banner.show_error(message)
        self.statusBar().showMessage(message, 8000)

    def _on_photo_open(self, open_: bool) -> None:
        """Ctrl+E and the toolbar's export button export what is being edited: the photo at its full
        resolution when one is open (the model-resolution face moves to Ctrl+Shift+E and the File
        menu), else the sample."""
        self.documents.set_photo_open(open_)
        photo_key, face_key = ("Ctrl+E", "Ctrl+Shift+E") if open_ else ("Ctrl+Shift+E", "Ctrl+E")
        self.documents.export_photo.setShortcut(QKeySequence(photo_key))
        self.files.export.setShortcut(QKeySequence(face_key))
        self.export_button.setDefaultAction(self.documents.export_photo if open_ else self.files.export)

    def _export_source(self):
        if self.edit.edited is None:
            return None
        return self.edit.edited.array, self.edit.path
