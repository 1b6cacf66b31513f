"""Undo/redo for everything: slider drags (merged), resets, randomise, mask strokes, faces (FakeEngine)."""

from __future__ import annotations

import numpy as np

from engine.protocol import AddVector, ChooseFace, DimensionStep, EditStack
from editor.commands import (
    MaskStrokeCommand,
    RandomiseCommand,
    ResetCommand,
    SetAttributeCommand,
    SetDimensionCommand,
)
from tests.editor._photo import move_slider, open_photo_file, stroke, wait_rendered
from tests.editor.conftest import TIMEOUT_MS, write_photo


def commands(window) -> list:
    stack = window.history.undo_stack
    return [stack.command(i) for i in range(stack.count())]


def test_a_drag_is_one_step_and_undo_to_the_start_restores_the_original_exactly(qtbot, window, fake, photo):
    original = open_photo_file(qtbot, window, photo)
    np.testing.assert_array_equal(wait_rendered(qtbot, window), original)
    dim = move_slider(window, 0, 2.0, drag_values=(0.5, 1.0, 1.5))
    first = wait_rendered(qtbot, window)
    assert not np.array_equal(first, original)
    dim2 = move_slider(window, 1, -1.5, drag_values=(-0.5, -1.0))
    second = wait_rendered(qtbot, window)
    steps = commands(window)
    assert [type(c) for c in steps] == [SetDimensionCommand, SetDimensionCommand]  # one per drag, merged
    assert window.edit.stack == EditStack(ops=(DimensionStep(dim=dim, amount=2.0), DimensionStep(dim=dim2, amount=-1.5)))
    assert window.history_panel.model().rowCount() == 3  # "Original photo" + two steps

    window.undo_action.trigger()  # Edit ▸ Undo (Ctrl+Z)
    np.testing.assert_array_equal(wait_rendered(qtbot, window), first)
    assert window.latents.rows[dim2].value() == 0.0 and window.latents.rows[dim].value() == 2.0
    window.undo_action.trigger()
    np.testing.assert_array_equal(wait_rendered(qtbot, window), original)  # back to the original, exactly
    assert window.edit.stack.is_empty and window.photo.last is None
    assert all(row.value() == 0.0 for row in window.latents.rows.values())
    assert not window.undo_action.isEnabled()

    window.redo_action.trigger()
    np.testing.assert_array_equal(wait_rendered(qtbot, window), first)
    window.redo_action.trigger()
    np.testing.assert_array_equal(wait_rendered(qtbot, window), second)
    assert window.latents.rows[dim2].value() == -1.5


def test_a_drag_that_returns_to_its_start_leaves_no_step(qtbot, window, fake, photo):
    open_photo_file(qtbot, window, photo)
    move_slider(window, 0, 0.0, drag_values=(0.5, 1.0, 0.5))
    wait_rendered(qtbot, window)
    assert window.history.undo_stack.count() == 0 and window.edit.stack.is_empty


def test_quick_changes_of_one_slider_merge_but_of_two_do_not(qtbot, window, fake, photo):
    open_photo_file(qtbot, window, photo)
    for v in (0.25, 0.5, 0.75):  # e.g. the mouse wheel over one slider
        move_slider(window, 0, v)
    assert window.history.undo_stack.count() == 1
    move_slider(window, 1, 1.0)
    move_slider(window, 0, 1.0)
    assert window.history.undo_stack.count() == 3


def test_resets_and_randomise_are_undoable_and_redo_draws_the_same_values(qtbot, window, fake, photo):
    original = open_photo_file(qtbot, window, photo)
    move_slider(window, 0, 1.5)
    move_slider(window, 1, -1.0)
    edited = wait_rendered(qtbot, window)
    window.latents.reset_all.click()
    np.testing.assert_array_equal(wait_rendered(qtbot, window), original)
    window.latents.randomise.click()
    randomised = window.edit.stack
    values = {d: row.value() for d, row in window.latents.rows.items()}
    assert any(values.values())
    shown = wait_rendered(qtbot, window)
    assert [type(c) for c in commands(window)][-2:] == [ResetCommand, RandomiseCommand]

    window.history.undo()
    np.testing.assert_array_equal(wait_rendered(qtbot, window), original)
    window.history.undo()
    np.testing.assert_array_equal(wait_rendered(qtbot, window), edited)
    window.history.redo()
    window.history.redo()
    assert window.edit.stack == randomised
    assert {d: row.value() for d, row in window.latents.rows.items()} == values
    np.testing.assert_array_equal(wait_rendered(qtbot, window), shown)

    window.edit_menu.actions()[3].trigger()  # Edit ▸ Reset all edits
    np.testing.assert_array_equal(wait_rendered(qtbot, window), original)
    window.history.undo()
    np.testing.assert_array_equal(wait_rendered(qtbot, window), shown)


def test_mask_strokes_undo_and_redo(qtbot, window, fake, photo):
    original = open_photo_file(qtbot, window, photo)
    move_slider(window, 0, 2.5)
    unmasked = wait_rendered(qtbot, window)
    view = window.canvas.views["photo"]
    window.mask_tools.buttons["brush"].click()
    window.mask_tools.feather.setValue(0)
    window.mask_tools.size.setValue(5)
    stroke(view, [(20.0, 10.0), (20.0, 30.0)])
    first = window.mask.array.copy()
    one_stroke = wait_rendered(qtbot, window)
    stroke(view, [(40.0, 10.0), (40.0, 30.0)])
    two_strokes = wait_rendered(qtbot, window)
    assert [type(c) for c in commands(window)][-2:] == [MaskStrokeCommand, MaskStrokeCommand]
    assert not np.array_equal(one_stroke, two_strokes)

    window.history.undo()
    np.testing.assert_array_equal(window.mask.array, first)
    np.testing.assert_array_equal(wait_rendered(qtbot, window), one_stroke)
    window.history.undo()  # the first stroke made the mask: undoing it removes the mask
    assert window.mask.array is None
    np.testing.assert_array_equal(wait_rendered(qtbot, window), unmasked)
    window.history.undo()
    np.testing.assert_array_equal(wait_rendered(qtbot, window), original)
    for _ in range(3):
        window.history.redo()
    np.testing.assert_array_equal(wait_rendered(qtbot, window), two_strokes)


def test_attribute_shift_is_an_undoable_step_of_the_edit_stack(qtbot, window, fake, photo):
    original = open_photo_file(qtbot, window, photo)
    shift = np.linspace(-0.5, 0.5, window.model.info.latent_dim).astype(np.float32)
    window.edit.set_shift(shift)  # what the attribute panel does
    assert isinstance(window.edit.stack.ops[-1], AddVector)
    shown = wait_rendered(qtbot, window)
    assert not np.array_equal(shown, original)
    assert isinstance(commands(window)[-1], SetAttributeCommand)
    window.history.undo()
    np.testing.assert_array_equal(wait_rendered(qtbot, window), original)
    window.history.redo()
    np.testing.assert_array_equal(wait_rendered(qtbot, window), shown)


def test_choosing_another_face_is_undoable_and_keeps_the_edit(qtbot, window, fake, tmp_path):
    wide = write_photo(tmp_path / "two-faces.png", h=40, w=100)  # the fake face finder: a face square at each end
    open_photo_file(qtbot, window, wide)
    chooser = window.face_chooser
    assert chooser.isVisibleTo(window) and chooser.combo.count() == 2
    move_slider(window, 0, 2.0)
    first_face = wait_rendered(qtbot, window)
    assert window.photo.current.region == (0, 0, 43, 40)  # the face square 0..40 and the warp's margin
    with qtbot.waitSignal(window.photo.opened, timeout=TIMEOUT_MS):
        chooser.combo.setCurrentIndex(1)
    assert any(isinstance(r, ChooseFace) for r in fake.requests)
    assert window.photo.current.region == (57, 0, 100, 40) and window.photo.chosen == 1
    second_face = wait_rendered(qtbot, window)
    assert not window.edit.stack.is_empty  # the edit follows the face
    assert np.array_equal(second_face[:, :40], window.photo.current.photo[:, :40])  # the first face is left alone
    with qtbot.waitSignal(window.photo.opened, timeout=TIMEOUT_MS):
        window.history.undo()
    assert window.photo.chosen == 0 and chooser.combo.currentIndex() == 0
    np.testing.assert_array_equal(wait_rendered(qtbot, window), first_face)


def test_a_new_photo_starts_a_new_history(qtbot, window, fake, photo, tmp_path):
    open_photo_file(qtbot, window, photo)
    move_slider(window, 0, 1.0)
    assert window.history.undo_stack.count() == 1
    open_photo_file(qtbot, window, write_photo(tmp_path / "other.png", seed=3))
    assert window.history.undo_stack.count() == 0 and window.edit.stack.is_empty and window.mask.array is None


def test_stack_edits_replace_one_operation_per_control_and_keep_blends_in_place():
    from engine.protocol import AttributeStep, Blend
    from editor.controllers.stack_edits import attribute_amounts, with_attribute, with_dimension, with_dimensions

    blend = Blend(target=(0.0,) * 4, weight=0.5)
    stack = EditStack(ops=(DimensionStep(dim=1, amount=1.0), blend, DimensionStep(dim=2, amount=2.0),
                           DimensionStep(dim=1, amount=0.5)))  # e.g. from a recipe
    assert with_dimension(stack, 1, 3.0).ops == (DimensionStep(dim=1, amount=3.0), blend, DimensionStep(dim=2, amount=2.0))
    assert with_dimension(stack, 1, 0.0).ops == (blend, DimensionStep(dim=2, amount=2.0))  # zero: no operation
    assert with_dimensions(stack, {3: 1.0, 0: 0.5}).ops == (DimensionStep(dim=0, amount=0.5), DimensionStep(dim=3, amount=1.0), blend)
    assert with_dimensions(EditStack(), {}).is_empty
    smiling = with_attribute(stack, "Smiling", 1.25)
    assert smiling.ops[-1] == AttributeStep(name="Smiling", amount=1.25) and attribute_amounts(smiling) == {"Smiling": 1.25}
    assert with_attribute(smiling, "Smiling", 0.0) == stack
    assert with_dimension(EditStack(), 0, 0.1).ops[0].amount == float(np.float32(0.1))  # float32-exact, as the sliders
