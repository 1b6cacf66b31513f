"""What artists expect of an image editor, in the main window: File ▸ Export layers (OpenRaster)
and Export photo at 16 bits per channel, Edit ▸ Copy edited image, the Help menu, the standard
zoom / full screen / tab shortcuts, hold ``\\`` for before/after, a mouse wheel that scrolls
panels instead of moving sliders, and a word on drops that open nothing.

Composition only, like semantics_ui.py and conditional_ui.py: each piece lives in its own module.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu

from editor.widgets import standard_shortcuts
from editor.widgets.before_after import BeforeAfter
from editor.widgets.clipboard_copy import CopyImage
from editor.widgets.deep_export import DeepExport
from editor.widgets.help_menu import HelpMenu
from editor.widgets.layer_export import LayerExport
from editor.widgets.wheel_guard import WheelGuard


class ArtistUI(QObject):
    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        show_error = getattr(window, "show_error", None) or window.banner.show_error
        self.layers = LayerExport(window, window.client, window.edit, window.photo, window.mask)
        self.deep = DeepExport(window, window.client, window.edit, window.photo, window.mask)
        flat_export = getattr(getattr(window, "documents", None), "export_photo", None)
        _insert_after(window.file_menu, flat_export, self.layers.action)
        _insert_after(window.file_menu, self.layers.action, self.deep.action)
        self.layers.exported.connect(lambda path: window.banner.show_info(f"Exported layers {path}"))
        self.deep.exported.connect(lambda path: window.banner.show_info(f"Exported {path}"))
        self.layers.failed.connect(show_error)
        self.deep.failed.connect(show_error)
        self.copy = CopyImage(window, window.edit, window.photo)
        window.edit_menu.addSeparator()
        window.edit_menu.addAction(self.copy.action)  # last: the menu's other entries keep their places
        self.copy.copied.connect(lambda w, h: window.statusBar().showMessage(f"Copied the edited image ({w}×{h})", 4000))
        self.copy.failed.connect(show_error)
        self.view_actions = standard_shortcuts.install(window)
        self.help = HelpMenu(window)
        self.wheel_guard = WheelGuard(self)
        self.before_after = BeforeAfter(window, window.canvas, window.edit)
        window.view_menu.addAction(self.before_after.split_action)
        window.drop.message.connect(window.banner.show_info)


def _insert_after(menu: QMenu, anchor: QAction | None, action: QAction) -> None:
    """Put ``action`` right after ``anchor`` in ``menu`` (at the end when the anchor is not there)."""
    actions = menu.actions()
    following = actions[actions.index(anchor) + 1] if anchor in actions and actions.index(anchor) + 1 < len(actions) else None
    menu.insertAction(following, action)
