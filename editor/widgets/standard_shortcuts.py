"""The shortcuts every image editor has, added where the window lacks them: zoom in and out
(Ctrl++ / Ctrl+−; Ctrl+0 fits), full screen (F11), the next / previous tab (Ctrl+Tab), and both
redo keys (Ctrl+Shift+Z and Ctrl+Y) whatever the platform's standard one is."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence


def _action(window, text: str, keys: list, slot) -> QAction:
    action = QAction(text, window)
    action.setShortcuts([QKeySequence(k) for k in keys])
    action.triggered.connect(slot)
    return action


def install(window) -> dict[str, QAction]:
    """Add the missing View actions to ``window.view_menu``; returns them by name."""
    canvas, tabs = window.canvas, window.tabs
    actions = {
        # Ctrl+= too: on most keyboards "+" needs Shift, and people press Ctrl and the key itself
        "zoom_in": _action(window, "Zoom &in", ["Ctrl++", "Ctrl+="], lambda: canvas.step_zoom(1)),
        "zoom_out": _action(window, "Zoom &out", ["Ctrl+-"], lambda: canvas.step_zoom(-1)),
        "full_screen": _action(window, "&Full screen", ["F11"], lambda: _toggle_full_screen(window)),
        "next_tab": _action(window, "&Next tab", ["Ctrl+Tab"], lambda: tabs.setCurrentIndex((tabs.currentIndex() + 1) % max(1, tabs.count()))),
        "previous_tab": _action(window, "&Previous tab", ["Ctrl+Shift+Tab"],
                                lambda: tabs.setCurrentIndex((tabs.currentIndex() - 1) % max(1, tabs.count()))),
    }
    actions["full_screen"].setCheckable(True)
    # the platform's standard keys differ (Redo is Ctrl+Y on some, Ctrl+Shift+Z on others): have both
    for name, keys in (("undo_action", ["Ctrl+Z"]), ("redo_action", ["Ctrl+Shift+Z", "Ctrl+Y"])):
        _ensure_keys(getattr(window, name, None), keys)
    menu = window.view_menu
    first = menu.actions()[0] if menu.actions() else None
    for key in ("zoom_in", "zoom_out"):
        menu.insertAction(first, actions[key])  # beside Fit and Actual pixels
    menu.addSeparator()
    for key in ("full_screen", "next_tab", "previous_tab"):
        menu.addAction(actions[key])
    return actions


def _toggle_full_screen(window) -> None:
    window.showNormal() if window.isFullScreen() else window.showFullScreen()


def _ensure_keys(action: QAction | None, keys: list[str]) -> None:
    if action is None:
        return
    have = action.shortcuts()
    missing = [QKeySequence(k) for k in keys if QKeySequence(k) not in have]
    action.setShortcuts(missing + have)  # the first is the one the menu shows
