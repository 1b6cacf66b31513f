"""Help ▸ Keyboard shortcuts (every shortcut the window binds, read from its actions, so the list
cannot go stale) and Help ▸ About (versions, the model as the engine reported it, its card)."""

from __future__ import annotations

import platform
import sys
from html import escape
from importlib import metadata
from pathlib import Path

import PySide6
from PySide6.QtCore import QObject, Qt, QUrl, qVersion
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


def bound_shortcuts(window: QWidget) -> list[tuple[str, str, QObject]]:
    """(key, what it does, the action or button) for every shortcut bound in ``window``, in
    menu order where there is one."""
    seen: dict[int, QObject] = {}
    for menu_action in window.menuBar().actions():
        _walk(menu_action, seen)
    for action in window.findChildren(QAction):
        seen.setdefault(id(action), action)
    for button in window.findChildren(QAbstractButton):
        if not button.shortcut().isEmpty():
            seen.setdefault(id(button), button)
    rows = []
    for obj in seen.values():
        keys = obj.shortcuts() if isinstance(obj, QAction) else [obj.shortcut()]
        text = _plain(obj.text()) or _plain(obj.toolTip())
        for key in keys:
            if not key.isEmpty():
                rows.append((key.toString(QKeySequence.SequenceFormat.NativeText), text, obj))
    return rows


def _walk(action: QAction, seen: dict[int, QObject]) -> None:
    seen.setdefault(id(action), action)
    menu = action.menu()
    if menu is not None:
        for sub in menu.actions():
            _walk(sub, seen)


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…").strip()


class ShortcutsDialog(QDialog):
    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        rows = sorted(bound_shortcuts(window), key=lambda r: r[1].lower())
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["Action", "Shortcut"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for i, (key, text, _) in enumerate(rows):
            self.table.setItem(i, 0, QTableWidgetItem(text))
            self.table.setItem(i, 1, QTableWidgetItem(key))
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        hint = QLabel("Hold <b>\\</b> to see the original photo, <b>Y</b> splits it; the mouse wheel zooms the images.")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(hint)
        layout.addWidget(buttons)
        self.resize(520, 560)


def app_version() -> str:
    try:
        return metadata.version("latent-studio")
    except metadata.PackageNotFoundError:
        return "(not installed)"


def model_card(source: str | None, name: str | None, catalog=()) -> Path | None:
    """The model's card: beside its checkpoint, or the bundled one of that name (``catalog``:
    the engine's ModelEntry list, which maps an alias such as "default" to its file's stem)."""
    names = [n for n in (name, source) if n]
    names += [e.name for e in catalog if e.source in names]
    candidates = [Path(source).with_suffix(".md")] if source and source.endswith(".safetensors") else []
    try:
        from importlib.resources import files

        bundled = Path(str(files("resources") / "models"))
        candidates += [bundled / f"{n}.md" for n in names]
    except (ModuleNotFoundError, TypeError):
        pass
    return next((c for c in candidates if c.is_file()), None)


def about_html(window: QWidget) -> str:
    info = getattr(window.model, "info", None)
    lines = [f"<h3>Latent Studio {escape(app_version())}</h3>",
             "A desktop image editor driven by deep generative models: local, offline, open.",
             f"<p>Python {escape(platform.python_version())} · Qt {escape(qVersion())} · PySide6 {escape(PySide6.__version__)}"
             f" · {escape(sys.platform)}</p>"]
    if info is None:
        lines.append("<p>No model loaded.</p>")
    else:
        lines.append(f"<p>Model <b>{escape(info.name)}</b>: {escape(info.family)}, {info.image_size}×{info.image_size} px, "
                     f"{info.latent_dim}-d latent, on <b>{escape(info.device)}</b></p>")
        card = model_card(getattr(window.model, "source", None), info.name, getattr(window.model, "catalog", ()))
        lines.append(f"<p>Model card: <a href='{QUrl.fromLocalFile(str(card)).toString()}'>{escape(str(card))}</a></p>" if card
                     else "<p>No model card found beside the checkpoint.</p>")
    return "\n".join(lines)


class AboutDialog(QDialog):
    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle("About Latent Studio")
        self.label = QLabel(about_html(window), textFormat=Qt.TextFormat.RichText, wordWrap=True, openExternalLinks=True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(buttons)


class HelpMenu(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self._window = window
        self.menu = window.menuBar().addMenu("&Help")
        self.shortcuts = self.menu.addAction("&Keyboard shortcuts")
        self.shortcuts.setShortcut(QKeySequence("Ctrl+/"))
        self.shortcuts.triggered.connect(self.show_shortcuts)
        self.about = self.menu.addAction("&About Latent Studio")
        self.about.setMenuRole(QAction.MenuRole.AboutRole)
        self.about.triggered.connect(self.show_about)
        self.dialog: QDialog | None = None

    def show_shortcuts(self) -> QDialog:
        return self._open(ShortcutsDialog(self._window))

    def show_about(self) -> QDialog:
        return self._open(AboutDialog(self._window))

    def _open(self, dialog: QDialog) -> QDialog:
        if self.dialog is not None:
            self.dialog.close()
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = dialog
        dialog.finished.connect(lambda *_: setattr(self, "dialog", None) if self.dialog is dialog else None)
        dialog.show()  # modeless: the shortcuts can be read while working
        return dialog
