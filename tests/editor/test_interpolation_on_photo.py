"""Interpolation and image slots on the artist's own photo (issue 18.5): with a photo open, a frame
is applied to it as one undoable step named by the frame and its ends, rendered through the photo
loop and pasted back into the full-resolution photo (it no longer replaces the photo with the
model-resolution frame); an image slot shows the crop the model is given — the face aligned at
the model's size — not the file. FakeEngine first, then the real engine on a tiny checkpoint and
scikit-image's astronaut()."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.protocol import AddVector, Encode, RenderEdit
from editor.imaging import read_image
from tests.editor._photo import open_photo_file, outside, wait_rendered
from tests.editor._semantics import draw_samples, open_astronaut_and_sample
from tests.editor.conftest import TIMEOUT_MS, write_photo


def wait_frames(qtbot, window, timeout: int = TIMEOUT_MS):
    interp = window.semantics.interpolation
    qtbot.waitUntil(lambda: interp.result is not None and interp.up_to_date and not window.client.busy, timeout=timeout)
    return interp.result


def plain_resize(image: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC))


def test_a_frame_is_one_undoable_step_on_the_full_resolution_photo(qtbot, window, fake, tmp_path):
    path = write_photo(tmp_path / "portrait.png", h=96, w=128, seed=4)
    original = open_photo_file(qtbot, window, path)
    z_photo = window.edit.edited_latent().copy()
    samples = draw_samples(qtbot, window, n=4)
    panel, interp = window.semantics.interpolation_panel, window.semantics.interpolation
    assert panel.edit_button.text() == "Apply to photo"
    panel.steps.setValue(8)
    interp.slots.set_samples("a", [0])
    interp.slots.set_samples("b", [1])
    frames = wait_frames(qtbot, window)
    undo = window.history.undo_stack
    assert window.edit.stack.is_empty and undo.count() == 0

    panel.scrubber.set_frame(2)
    panel.edit_button.click()
    applied = wait_rendered(qtbot, window)
    assert window.tabs.currentWidget() is window.canvas
    # still the photo: its file, its pixels at its own size, not the frame's crop
    assert window.edit.path == path and not window.edit.is_sample and window.photo.active
    np.testing.assert_array_equal(window.photo.current.photo, original)
    assert applied.shape == original.shape == (96, 128, 3)
    # one AddVector that takes the photo's latent to frame 3's
    (op,) = window.edit.stack.ops
    assert isinstance(op, AddVector) and op.amount == 1.0
    np.testing.assert_allclose(op.vector, np.asarray(frames.z[2], np.float64) - z_photo, atol=1e-6)
    np.testing.assert_allclose(window.edit.edited_latent(), frames.z[2], atol=1e-5)
    assert not np.allclose(frames.z[2], samples.z[0]) and not np.allclose(frames.z[2], samples.z[1])  # a frame between the ends
    # rendered through the photo loop with paste-back: inside the face region only
    render = [r for r in fake.requests if isinstance(r, RenderEdit)][-1]
    assert render.edits == window.edit.stack and render.full_resolution
    keep = outside(window.photo.current.region, original.shape)
    assert np.any(applied[~keep] != original[~keep])
    np.testing.assert_array_equal(applied[keep], original[keep])
    # one step, named by the frame and its ends
    assert undo.count() == 1 and undo.undoText() == "Interpolation: frame 3/8 from sample 0 (seed 0) to sample 1 (seed 0)"
    window.history.undo()
    assert window.edit.stack.is_empty
    np.testing.assert_array_equal(wait_rendered(qtbot, window), original)
    window.history.redo()
    np.testing.assert_array_equal(wait_rendered(qtbot, window), applied)


def test_a_frame_from_the_current_edit_adds_to_the_edit_already_made(qtbot, window, photo):
    open_photo_file(qtbot, window, photo)
    window.latents.rows[int(window.latents.active_dims[0])].slider.setValue(1.0)
    before = window.edit.stack
    draw_samples(qtbot, window, n=4)
    interp = window.semantics.interpolation
    assert interp.slots.set_current("a")
    interp.slots.set_samples("b", [3])
    frames = wait_frames(qtbot, window)
    np.testing.assert_allclose(frames.z[0], window.edit.edited_latent(), atol=1e-6)
    assert interp.edit_frame(0)  # A is the photo as it is: nothing to add
    assert window.edit.stack == before and window.history.undo_stack.count() == 1
    assert interp.edit_frame(len(frames.z) - 1)  # B: one more step on top of the slider's
    assert window.edit.stack.ops[:-1] == before.ops and isinstance(window.edit.stack.ops[-1], AddVector)
    np.testing.assert_allclose(window.edit.edited_latent(), frames.z[-1], atol=1e-5)
    window.history.undo()
    assert window.edit.stack == before


def test_an_image_slot_shows_the_aligned_crop_not_the_file(qtbot, window, fake, tmp_path):
    path = write_photo(tmp_path / "face.png", h=96, w=128, seed=7)
    pixels = read_image(path)[0]
    interp, slot = window.semantics.interpolation, window.semantics.interpolation_panel.slots["a"]
    interp.slots.set_files("a", [path])
    qtbot.waitUntil(lambda: slot.view.frame is not None, timeout=TIMEOUT_MS)
    shown = slot.view.frame.array
    encodes = [r for r in fake.requests if isinstance(r, Encode)]
    assert encodes and encodes[-1].detector == "auto" and encodes[-1].name == "face.png"  # aligned as the engine aligns a term
    assert shown.shape == (32, 32, 3)  # the model's size
    np.testing.assert_array_equal(shown, fake.aligned(pixels))
    assert not np.array_equal(shown, plain_resize(pixels, 32))
    assert interp.slots.slots["a"].term.images[0].shape == (96, 128, 3)  # the term itself is the file: the engine encodes it
    # the decode of the term (when a result comes) does not replace what the model was given
    slot.set_image(np.zeros((32, 32, 3), np.uint8))
    np.testing.assert_array_equal(slot.view.frame.array, shown)
    # another model, another crop size: aligned again
    with qtbot.waitSignal(window.model.changed, timeout=TIMEOUT_MS):
        window.model.load("wide")
    qtbot.waitUntil(lambda: slot.view.frame is not None and slot.view.frame.array.shape == (24, 24, 3), timeout=TIMEOUT_MS)
    np.testing.assert_array_equal(slot.view.frame.array, fake.aligned(pixels))


def test_your_attribute_examples_from_files_show_the_aligned_crop(qtbot, window, fake, tmp_path):
    path = write_photo(tmp_path / "with.png", h=80, w=60, seed=2)
    pixels = read_image(path)[0]
    user = window.semantics.user
    user.add_files("with", [path])
    qtbot.waitUntil(lambda: len(user.examples["with"]) == 1, timeout=TIMEOUT_MS)
    image = user.examples["with"][0].image
    assert image.shape == (32, 32, 3)
    np.testing.assert_array_equal(image, fake.aligned(pixels))
    assert not np.array_equal(image, plain_resize(pixels, 32))


# --------------------------------------------------------------------------- the real engine

REAL_TIMEOUT_MS = 90_000  # the first request imports torch (and dlib) inside the worker thread


def test_real_engine_astronaut_slot_and_a_frame_on_the_astronaut(qtbot, settings, tiny, tmp_path):
    pytest.importorskip("dlib", reason="face detection needs dlib-bin")
    from engine.data.align import crop_for_model
    from tests.editor.conftest import real_engine_window

    path = tmp_path / "astronaut.png"  # written by open_astronaut_and_sample
    with real_engine_window(qtbot, settings, tiny, REAL_TIMEOUT_MS) as window:
        pixels = open_astronaut_and_sample(qtbot, window, tmp_path, REAL_TIMEOUT_MS)
        region = window.photo.current.region
        interp, panel = window.semantics.interpolation, window.semantics.interpolation_panel
        panel.steps.setValue(5)
        interp.slots.set_files("a", [path])  # A: the astronaut's own face, as the model sees it
        interp.slots.set_samples("b", [1])
        frames = wait_frames(qtbot, window, REAL_TIMEOUT_MS)
        qtbot.waitUntil(lambda: panel.slots["a"].pinned, timeout=REAL_TIMEOUT_MS)
        shown = panel.slots["a"].view.frame.array
        np.testing.assert_array_equal(shown, crop_for_model(pixels, 32))  # the engine's aligned crop, kept over the decode
        assert not np.array_equal(shown, plain_resize(pixels, 32)) and not np.array_equal(shown, frames.frames[0])

        panel.scrubber.set_frame(3)
        panel.edit_button.click()
        applied = wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
        assert applied.shape == pixels.shape and window.edit.path == path and not window.edit.is_sample
        keep = outside(region, pixels.shape)
        np.testing.assert_array_equal(applied[keep], pixels[keep])  # pasted back inside the face region only
        assert np.abs(applied[~keep].astype(int) - pixels[~keep]).mean() > 0.5  # a visible change there
        undo = window.history.undo_stack
        assert undo.count() == 1 and undo.undoText() == "Interpolation: frame 4/5 from astronaut.png to sample 1 (seed 0)"
        window.history.undo()
        np.testing.assert_array_equal(wait_rendered(qtbot, window, REAL_TIMEOUT_MS), pixels)
