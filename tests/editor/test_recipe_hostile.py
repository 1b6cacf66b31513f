"""The editor's recipe loader: a hostile recipe is refused with its one-line reason in the error
banner, and the current edit stays as it was."""

from __future__ import annotations

from tests.editor._photo import move_slider, open_photo_file
from tests.engine.test_recipes_hostile import HOSTILE

CASES = ["ops an integer", "ops an object", "infinite dim", "list amount", "target nested", "labels of lists", "nested 100000 deep",
         "integer of 5000 digits", "op unhashable"]  # fmt: skip


def test_hostile_recipes_show_one_line_and_keep_the_edit(qtbot, window, fake, photo, tmp_path):
    open_photo_file(qtbot, window, photo)
    move_slider(window, 0, 1.5)
    before = window.edit.stack
    assert not before.is_empty
    for case in CASES:
        text, message = HOSTILE[case]
        path = tmp_path / "bad.json"
        path.write_text(text)
        assert not window.session.apply_recipe(path), case
        shown = window.banner.text()
        assert shown.startswith("bad.json: ") and message in shown and "\n" not in shown, (case, shown)
        assert window.edit.stack == before, case


def test_the_menu_signal_reports_the_same(qtbot, window, fake, photo, tmp_path):
    """"Apply recipe…" emits applyRecipeRequested with the chosen path: nothing escapes into Qt's loop."""
    open_photo_file(qtbot, window, photo)
    path = tmp_path / "r.json"
    text, message = HOSTILE["infinite dim"]
    path.write_text(text)
    window.documents.applyRecipeRequested.emit(str(path))
    assert message in window.banner.text() and window.edit.stack.is_empty
