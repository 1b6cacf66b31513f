"""File-menu actions of the photo workflow, and their dialogs: sessions, recipes, export.

Dialogs live here; the work is done by the SessionController and PhotoController (connected by
the main window). The photo is exported at its own resolution through the engine; the source
photo is never written over (the engine refuses it too) and an existing file is replaced only
after the save dialog asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

from editor.export import same_file, suggest_export_path

SESSION_FILTER = "Latent Studio sessions (*.lsession);;All files (*)"
RECIPE_FILTER = "Edit recipes (*.json);;All files (*)"
EXPORT_FILTERS = {"PNG (*.png)": ".png", "JPEG (*.jpg *.jpeg)": ".jpg", "WebP (*.webp)": ".webp"}


class DocumentActions(QObject):
    openSessionRequested = Signal(str)
    saveSessionRequested = Signal(str)
    saveRecipeRequested = Signal(str)
    applyRecipeRequested = Signal(str)
    exportRequested = Signal(str, bool)  # path, overwrite (the dialog asked)
    failed = Signal(str)

    def __init__(self, window: QWidget, source: Callable[[], "Path | None"], session_path: Callable[[], "Path | None"]) -> None:
        super().__init__(window)
        self._window = window
        self._source = source  # the open photo's file, if any
        self._session_path = session_path
        self.open_session = QAction("Open &session…", self, shortcut=QKeySequence("Ctrl+Shift+O"))
        self.save_session = QAction("&Save session", self, shortcut=QKeySequence.StandardKey.Save)
        self.save_session_as = QAction("Save session &as…", self, shortcut=QKeySequence("Ctrl+Shift+S"))
        self.save_recipe = QAction("Save edit as &recipe…", self)
        self.save_recipe.setToolTip("The edit's operations as JSON, for latent-studio edit DIR --recipe R.json --out DIR")
        self.apply_recipe = QAction("A&pply recipe…", self)
        self.export_photo = QAction("Export &photo (full resolution)…", self, shortcut=QKeySequence("Ctrl+Shift+E"))
        self.open_session.triggered.connect(self._open_session_dialog)
        self.save_session.triggered.connect(self._save_session)
        self.save_session_as.triggered.connect(self._save_session_dialog)
        self.save_recipe.triggered.connect(self._save_recipe_dialog)
        self.apply_recipe.triggered.connect(self._apply_recipe_dialog)
        self.export_photo.triggered.connect(self._export_dialog)
        self.set_photo_open(False)

    def add_to(self, menu: QMenu) -> None:
        menu.addAction(self.open_session)
        menu.addAction(self.save_session)
        menu.addAction(self.save_session_as)
        menu.addSeparator()
        menu.addAction(self.save_recipe)
        menu.addAction(self.apply_recipe)
        menu.addSeparator()
        menu.addAction(self.export_photo)

    def set_photo_open(self, open_: bool) -> None:
        for action in (self.save_session, self.save_session_as, self.save_recipe, self.apply_recipe, self.export_photo):
            action.setEnabled(bool(open_))

    # ------------------------------------------------------------------ dialogs

    def _start_dir(self) -> str:
        source = self._source()
        return str(source.parent) if source is not None else ""

    def _open_session_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._window, "Open session", self._start_dir(), SESSION_FILTER)
        if path:
            self.openSessionRequested.emit(path)

    def _save_session(self) -> None:
        current = self._session_path()
        if current is None:
            self._save_session_dialog()
        else:
            self.saveSessionRequested.emit(str(current))

    def _save_session_dialog(self) -> None:
        path = self.session_path_dialog()
        if path:
            self.saveSessionRequested.emit(path)

    def session_path_dialog(self) -> str:
        """Ask where to save the session ("" when cancelled)."""
        current = self._session_path()
        source = self._source()
        if current is not None:
            suggestion = current
        elif source is not None:
            suggestion = source.with_suffix(".lsession")
        else:
            suggestion = Path(self._start_dir() or Path.cwd()) / "edit.lsession"
        path, _ = QFileDialog.getSaveFileName(self._window, "Save session", str(suggestion), SESSION_FILTER)
        return path

    def _save_recipe_dialog(self) -> None:
        source = self._source()
        suggestion = source.with_name(source.stem + "-recipe.json") if source is not None else Path("recipe.json")
        path, _ = QFileDialog.getSaveFileName(self._window, "Save edit as recipe", str(suggestion), RECIPE_FILTER)
        if path:
            self.saveRecipeRequested.emit(path)

    def _apply_recipe_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self._window, "Apply recipe", self._start_dir(), RECIPE_FILTER)
        if path:
            self.applyRecipeRequested.emit(path)

    def _export_dialog(self) -> None:
        source = self._source()
        suggestion = suggest_export_path(source, ext=source.suffix.lower() if source and source.suffix.lower() in
                                         (".png", ".jpg", ".jpeg", ".webp") else ".png")
        path, chosen = QFileDialog.getSaveFileName(self._window, "Export photo", str(suggestion), ";;".join(EXPORT_FILTERS))
        if not path:
            return
        if not Path(path).suffix:
            path += EXPORT_FILTERS.get(chosen, ".png")
        if same_file(path, source):
            QMessageBox.warning(self._window, "That is the original photo",
                                f"{Path(path).name} is the photo you opened. Latent Studio never writes over it: "
                                "choose another name.")
            return
        # the dialog asked before choosing an existing file, so replacing it is what the user wants
        self.exportRequested.emit(path, Path(path).exists())
