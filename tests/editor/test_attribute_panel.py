"""The attribute panel: named sliders in σ, combined with the dimension sliders in one edit; locks
that request conditioned directions; scores next to the names; your own attributes."""

from __future__ import annotations

import numpy as np

from engine.protocol import AddVector, AttributeDirections, EditStack
from engine.semantics.orthogonal import project_out
from tests.editor._semantics import data_dir, draw_samples, edit_sample, one_sigma, wait_directions, wait_edit_shown  # noqa: F401
from tests.editor.conftest import TIMEOUT_MS


def test_attribute_slider_changes_the_pixels_and_adds_to_the_dimension_sliders(qtbot, window, fake):
    directions = wait_directions(qtbot, window)
    assert directions.names == ("Smiling", "Young", "Glasses")  # the engine's table first (Expression, Identity), then the rest
    panel = window.semantics.attribute_panel
    assert not panel.isEnabled()  # nothing to edit yet
    z = edit_sample(qtbot, window, 2)
    assert panel.isEnabled()
    before = wait_edit_shown(qtbot, window).copy()
    std = window.model.info.stats.std
    attributes = fake.model.attributes

    panel.rows["Smiling"].slider.setValue(2.0)
    shown = wait_edit_shown(qtbot, window)
    expected = fake.decode_latents(z + 2.0 * one_sigma(attributes["Smiling"], std))[0]
    assert not np.array_equal(shown, before), "moving the Smiling slider changed no pixel"
    np.testing.assert_array_equal(shown, expected)

    # one edit: base + Σ dimension deltas + Σ attribute strengths × direction
    dim = int(window.latents.active_dims[0])
    window.latents.rows[dim].slider.setValue(1.5)
    panel.rows["Young"].slider.setValue(-1.0)
    shown = wait_edit_shown(qtbot, window)
    z_expected = z.copy()
    z_expected[dim] += 1.5 * std[dim]
    z_expected += 2.0 * one_sigma(attributes["Smiling"], std) - 1.0 * one_sigma(attributes["Young"], std)
    np.testing.assert_array_equal(shown, fake.decode_latents(z_expected)[0])

    # the dimensions' "Reset all" leaves the attributes; the attributes' reset leaves the dimensions
    window.latents.reset_all.click()
    z_attrs = z + 2.0 * one_sigma(attributes["Smiling"], std) - 1.0 * one_sigma(attributes["Young"], std)
    np.testing.assert_array_equal(wait_edit_shown(qtbot, window), fake.decode_latents(z_attrs)[0])
    panel.reset_all.click()
    assert all(row.value() == 0.0 for row in panel.rows.values())
    np.testing.assert_array_equal(wait_edit_shown(qtbot, window), before)  # the zero edit: the sample itself


def test_locking_requests_conditioned_directions_and_changes_the_result(qtbot, window, fake):
    wait_directions(qtbot, window)
    z = edit_sample(qtbot, window, 1)
    panel = window.semantics.attribute_panel
    std = window.model.info.stats.std
    smiling, glasses = fake.model.attributes["Smiling"], fake.model.attributes["Glasses"]

    panel.rows["Smiling"].slider.setValue(2.0)
    raw = wait_edit_shown(qtbot, window).copy()
    np.testing.assert_array_equal(raw, fake.decode_latents(z + 2.0 * one_sigma(smiling, std))[0])

    panel.rows["Glasses"].lock.setChecked(True)
    assert not panel.rows["Glasses"].slider.isEnabled()  # a locked attribute is held where it is
    wait_directions(qtbot, window, locked=("Glasses",))
    assert any(isinstance(r, AttributeDirections) and r.locked == ("Glasses",) for r in fake.requests)
    locked = wait_edit_shown(qtbot, window)
    conditioned = project_out(smiling, [glasses])
    np.testing.assert_array_equal(locked, fake.decode_latents(z + 2.0 * one_sigma(conditioned, std))[0])
    assert not np.array_equal(locked, raw), "locking Glasses did not change the Smiling edit"
    # Glasses' linear read-out along its direction did not move
    moved = window.edit.edited_latent() - z
    assert abs(float(moved @ glasses)) < 1e-4 * np.linalg.norm(moved) * np.linalg.norm(glasses)
    assert "67% left" in panel.rows["Smiling"].score.text()  # how much of the direction is left

    panel.rows["Glasses"].lock.setChecked(False)
    wait_directions(qtbot, window, locked=())
    np.testing.assert_array_equal(wait_edit_shown(qtbot, window), raw)


def test_scores_are_shown_next_to_the_names(qtbot, window):
    directions = wait_directions(qtbot, window)
    panel = window.semantics.attribute_panel
    assert "acc 91%" in panel.rows["Smiling"].score.text() and "AUC 0.97" in panel.rows["Smiling"].score.text()
    assert "AUC 0.95" in panel.rows["Glasses"].score.text()
    assert "acc" not in panel.rows["Young"].score.text()  # no stored scores: none shown
    assert "cosine with" in panel.rows["Smiling"].score.toolTip()  # the entanglement readout
    assert directions.cosines.shape == (3, 3)


def test_a_new_sample_starts_at_zero_and_undo_moves_the_sliders(qtbot, window, fake):
    wait_directions(qtbot, window)
    z = edit_sample(qtbot, window, 0)
    panel = window.semantics.attribute_panel
    std = window.model.info.stats.std
    panel.rows["Glasses"].slider.setValue(1.25)
    wait_edit_shown(qtbot, window)
    edited_stack = window.edit.stack
    assert any(isinstance(op, AddVector) for op in edited_stack.ops)  # the attributes are part of the edit stack

    window.edit.apply_stack(EditStack())  # e.g. undo
    assert panel.rows["Glasses"].value() == 0.0
    window.edit.apply_stack(edited_stack)  # redo
    assert panel.rows["Glasses"].value() == 1.25
    # a shift the sliders did not write (a session, a recipe) is read back onto them
    step = one_sigma(fake.model.attributes["Young"], std)
    window.edit.apply_stack(EditStack(ops=(AddVector(vector=tuple(float(v) for v in -0.75 * step), label="shift"),)))
    assert abs(panel.rows["Young"].value() + 0.75) < 1e-3 and panel.rows["Glasses"].value() == 0.0
    np.testing.assert_allclose(window.edit.edited_latent(), z - 0.75 * step, atol=1e-5)

    qtbot.waitUntil(lambda: not window.client.busy, timeout=TIMEOUT_MS)  # adopt() does not cancel a decode in flight
    window.samples.sampleChosen.emit(3)
    assert all(row.value() == 0.0 for row in panel.rows.values())
    np.testing.assert_array_equal(window.canvas.views["edited"].frame.array, window.sampling.result.images[3])


def test_your_own_attribute_from_tagged_samples(qtbot, window, fake, data_dir, tmp_path):
    wait_directions(qtbot, window)
    user, upanel = window.semantics.user, window.semantics.user_panel
    result = draw_samples(qtbot, window, n=10)
    assert upanel.samples.count() == 10
    upanel.addSamplesRequested.emit("with", [0, 1, 2])
    upanel.addSamplesRequested.emit("without", [3, 4, 5])
    window.samples.sampleChosen.emit(6)
    upanel.addCurrentRequested.emit("with")  # the image being edited
    assert user.counts() == (4, 3) and upanel.lists["with"].count() == 4
    assert "4 with, 3 without" in upanel.hint.text()
    upanel.name.setText("freckles")
    assert upanel.create_button.isEnabled()
    with qtbot.waitSignal(user.created, timeout=TIMEOUT_MS) as created:
        upanel.create_button.click()
    assert created.args[0].attribute.n_with == 4 and (data_dir / "attributes" / "freckles.safetensors").is_file()
    # its slider appears at once, and moves the image along the mean difference of the tags
    panel = window.semantics.attribute_panel
    qtbot.waitUntil(lambda: "freckles" in panel.rows, timeout=TIMEOUT_MS)
    assert "LOO" in panel.rows["freckles"].score.text() and "4+3 tagged" in panel.rows["freckles"].score.text()
    qtbot.waitUntil(lambda: upanel.saved.count() == 1, timeout=TIMEOUT_MS)
    z = np.asarray(result.z[6], np.float32)
    direction = np.asarray(result.z[[0, 1, 2, 6]]).mean(0) - np.asarray(result.z[[3, 4, 5]]).mean(0)
    panel.rows["freckles"].slider.setValue(1.0)
    shown = wait_edit_shown(qtbot, window)
    np.testing.assert_array_equal(shown, fake.decode_latents(z + one_sigma(direction, window.model.info.stats.std))[0])

    # export, delete, import
    out = tmp_path / "shared" / "freckles.safetensors"
    with qtbot.waitSignal(user.exported, timeout=TIMEOUT_MS):
        user.export("freckles", out)
    assert out.is_file() and out.stat().st_size < 10_000
    with qtbot.waitSignal(user.listed, timeout=TIMEOUT_MS):
        user.delete("freckles")
    qtbot.waitUntil(lambda: "freckles" not in panel.rows, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(user.created, timeout=TIMEOUT_MS):
        user.import_file(out, name="freckles-2")
    qtbot.waitUntil(lambda: "freckles-2" in panel.rows, timeout=TIMEOUT_MS)


def test_tagging_needs_two_a_side_and_errors_are_shown(qtbot, window, data_dir):
    wait_directions(qtbot, window)
    user, upanel = window.semantics.user, window.semantics.user_panel
    draw_samples(qtbot, window, n=4)
    upanel.addSamplesRequested.emit("with", [0, 1])
    upanel.addSamplesRequested.emit("without", [2])
    upanel.name.setText("x")
    assert not upanel.create_button.isEnabled()
    user.add_samples("with", [2])  # a sample is on one side only
    assert user.counts() == (3, 0)
    upanel.removeRequested.emit("with", [0])
    assert user.counts() == (2, 0)
    user.import_file(data_dir / "missing.safetensors")
    qtbot.waitUntil(lambda: "Could not import the attribute" in window.banner.text(), timeout=TIMEOUT_MS)
    assert "missing.safetensors" in window.banner.text()


def test_another_model_rebuilds_the_attributes_and_forgets_latent_operands(qtbot, window, fake):
    wait_directions(qtbot, window)
    edit_sample(qtbot, window, 0)
    window.semantics.attribute_panel.rows["Young"].slider.setValue(1.0)
    arith = window.semantics.arithmetic
    arith.slots.set_samples("a", [1])
    arith.slots.set_group("b", "Smiling=1")  # not a latent: kept for the next model
    with qtbot.waitSignal(window.model.changed, timeout=TIMEOUT_MS):
        window.model.load("wide")
    directions = wait_directions(qtbot, window)
    assert directions.steps["Young"].shape == (12,)
    panel = window.semantics.attribute_panel
    assert set(panel.rows) == {"Smiling", "Glasses", "Young"} and all(r.value() == 0.0 for r in panel.rows.values())
    assert arith.slots.slots["a"] is None and arith.slots.slots["b"] is not None


def test_attribute_edit_of_a_photo_renders_through_the_photo_loop(qtbot, window, fake, photo):
    from engine.protocol import RenderEdit

    from tests.editor.conftest import open_photo, shown_edit

    wait_directions(qtbot, window)
    open_photo(qtbot, window, photo)
    before = shown_edit(window).copy()
    window.semantics.attribute_panel.rows["Smiling"].slider.setValue(2.5)
    qtbot.waitUntil(lambda: not window.client.busy and not np.array_equal(shown_edit(window), before), timeout=TIMEOUT_MS)
    step = one_sigma(fake.model.attributes["Smiling"], window.model.info.stats.std)
    renders = [r for r in fake.requests if isinstance(r, RenderEdit) and r.edits is not None]
    assert renders, "the attribute edit was not rendered into the photo"
    shift = [op for op in renders[-1].edits.ops if isinstance(op, AddVector)]
    np.testing.assert_allclose(np.asarray(shift[0].vector) * shift[0].amount, 2.5 * step, atol=1e-5)
