"""What artists expect of an image editor, in the main window: File ▸ Export layers (OpenRaster)
and Export photo at 16 bits per channel, Edit ▸ Copy edited image, the Help menu, the standard
zoom / full screen / tab shortcuts, hold ``\\`` for before/after, a mouse wheel that scrolls
panels instead of moving sliders, and a word on drops that open nothing.

Composition only, like semantics_ui.py and conditional_ui.py: each piece lives in its own module.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMainWindow

from editor.widgets import layer_export, standard_shortcuts
from editor.widgets.before_after import BeforeAfter
from editor.widgets.clipboard_copy import CopyImage
from editor.widgets.deep_export import DeepExport
from editor.widgets.help_menu import HelpMenu
from editor.widgets.wheel_guard import WheelGuard


class ArtistUI(QObject):
    def __init__(self, window: QMainWindow) -> None:
        super().__init__(window)
        show_error = getattr(window, "show_error", None) or window.banner.show_error
        self.layers = layer_export.install(window)
        self.deep = DeepExport(window, window.client, window.edit, window.photo, window.mask)
        menu = window.file_menu
        following = menu.actions()[menu.actions().index(self.layers.action) + 1]  # Quit, at least, follows
        menu.insertAction(following, self.deep.action)
        self.deep.exported.connect(lambda path: window.banner.show_info(f"Exported {path}"))
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
