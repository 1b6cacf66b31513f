"""One undo step per slider drag, named by what changed ("Eyeglasses +2.0σ")."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QStyle, QStyleOptionSlider

from tests.editor.test_artist_features import TIMEOUT_MS, open_photo, settle


def handle_centre(slider) -> QPoint:
    option = QStyleOptionSlider()
    slider.initStyleOption(option)
    rect = slider.style().subControlRect(QStyle.ComplexControl.CC_Slider, option, QStyle.SubControl.SC_SliderHandle, slider)
    return rect.center()


def drag(qtbot, slider, steps: list[int], jump: int = 25) -> None:
    """Press on the groove ``jump`` px beside the handle (the slider jumps there), move by
    ``steps`` pixels (one move each), release: as a hand does."""
    start = handle_centre(slider) + QPoint(jump, 0)
    QTest.mousePress(slider, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    x = start.x()
    for dx in steps:
        x += dx
        QTest.mouseMove(slider, QPoint(x, start.y()))
        qtbot.wait(5)
    QTest.mouseRelease(slider, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, start.y()))


def test_an_attribute_drag_is_one_step_named_by_the_change(qtbot, window, photo):
    open_photo(qtbot, window, photo)
    panel = window.semantics.attribute_panel
    qtbot.waitUntil(lambda: bool(panel.rows) and panel.isEnabled(), timeout=TIMEOUT_MS)
    name, row = next(iter(panel.rows.items()))
    stack = window.history.undo_stack
    before = stack.count()
    drag(qtbot, row.slider._slider, [10, 10, 10, 15, 5])
    value = row.value()
    assert value > 0
    qtbot.waitUntil(lambda: window.edit.up_to_date, timeout=TIMEOUT_MS)
    texts = [stack.text(i) for i in range(stack.count())]
    assert stack.count() == before + 1, texts
    assert texts[-1] == f"{name} {value:+.1f}σ"
    window.edit.begin_drag()  # dragged back to zero: a reset, as the row's reset button names it
    row.slider.setValue(0.0)
    window.edit.end_drag()
    qtbot.waitUntil(lambda: stack.count() == before + 2, timeout=TIMEOUT_MS)
    assert stack.text(stack.count() - 1) == f"Reset {name}"
    stack.undo()
    assert row.value() == value
    stack.undo()
    assert row.value() == 0.0 and window.edit.stack.is_empty
    settle(qtbot, window)


def test_a_dimension_drag_is_one_step_too(qtbot, window, photo):
    open_photo(qtbot, window, photo)
    row = window.latents.rows[int(window.latents.active_dims[0])]
    stack = window.history.undo_stack
    before = stack.count()
    drag(qtbot, row.slider._slider, [8, 8, 8, 8])
    assert row.value() > 0
    texts = [stack.text(i) for i in range(stack.count())]
    assert stack.count() == before + 1, texts
    assert texts[-1].startswith(f"z{row.dim}")
    settle(qtbot, window)
