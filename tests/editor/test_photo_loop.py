"""The real-photo loop in the window: OpenPhoto → the full-resolution photo with the edit pasted
back (RenderEdit), preview while dragging and full quality on release, zero edit = original.
FakeEngine first, then the real engine on a tiny checkpoint and scikit-image's astronaut()."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QKeySequence
import pytest

from engine.protocol import ChooseFace, Decode, Encode, OpenPhoto, RenderEdit
from tests.editor._photo import move_slider, open_photo_file, outside, wait_rendered
from tests.editor.conftest import TIMEOUT_MS, expected_edit, shown_edit, write_photo


def test_opening_a_photo_sends_open_photo_and_shows_it_at_full_resolution(qtbot, window, fake, photo):
    original = open_photo_file(qtbot, window, photo)
    assert any(isinstance(r, OpenPhoto) and r.path == str(photo) for r in fake.requests)
    assert not any(isinstance(r, Encode) for r in fake.requests)
    view = window.canvas.views["photo"]
    np.testing.assert_array_equal(view.frame.array, original)  # the engine's photo, its own size
    assert original.shape == (48, 64, 3) and view.patch is None
    np.testing.assert_array_equal(wait_rendered(qtbot, window), original)  # zero edit: the original pixels
    opened = window.photo.current
    np.testing.assert_array_equal(window.canvas.views["aligned"].frame.array, opened.aligned)
    np.testing.assert_array_equal(window.canvas.views["reconstruction"].frame.array, opened.reconstruction)
    assert window.documents.export_photo.isEnabled() and window.documents.save_session.isEnabled()
    assert not window.face_chooser.isVisibleTo(window)  # one face: no chooser
    # Ctrl+E exports what is edited: the photo at full resolution (the model's face: Ctrl+Shift+E)
    assert window.documents.export_photo.shortcut() == QKeySequence("Ctrl+E")
    assert window.files.export.shortcut() == QKeySequence("Ctrl+Shift+E")
    assert window.export_button.defaultAction() is window.documents.export_photo  # the toolbar's button too
    window.photo.close()
    assert window.files.export.shortcut() == QKeySequence("Ctrl+E") and not window.documents.export_photo.isEnabled()
    assert window.export_button.defaultAction() is window.files.export


def test_preview_while_dragging_full_quality_on_release(qtbot, window, fake, tmp_path):
    big = write_photo(tmp_path / "big.png", h=120, w=160)
    original = open_photo_file(qtbot, window, big)
    window.photo.preview_max_side = 40  # the face region is 120 px: previews are scaled down
    fake.delay = 0.002
    row = window.latents.rows[int(window.latents.active_dims[0])]
    row.slider._slider.setSliderDown(True)
    for v in (0.5, 1.0, 1.5):
        row.slider.setValue(v)
        qtbot.wait(5)
    qtbot.waitUntil(lambda: window.photo.last is not None, timeout=TIMEOUT_MS)
    preview = window.photo.last
    assert preview.preview and not preview.full_resolution and preview.scale < 1 and max(preview.image.shape[:2]) <= 40
    assert window.photo.composite() is None  # only a preview on screen
    assert window.canvas.views["photo"].patch_box == window.photo.current.region
    row.slider._slider.setSliderDown(False)
    shown = wait_rendered(qtbot, window)
    renders = [r for r in fake.requests if isinstance(r, RenderEdit)]
    assert renders[-1].full_resolution and not renders[-1].preview
    assert any(r.preview and not r.full_resolution for r in renders[:-1])
    assert shown.shape == original.shape and np.any(shown != original)
    np.testing.assert_array_equal(shown[outside(window.photo.current.region, shown.shape)],
                                  original[outside(window.photo.current.region, shown.shape)])
    np.testing.assert_array_equal(shown_edit(window), expected_edit(window, fake))  # the face view: Rendered.face
    assert window.edit.edited.tag == window.edit.rendering.request_id

    before = len(fake.requests)
    row.slider.setValue(0.0)  # back to zero: nothing to render, the original photo
    assert not any(isinstance(r, RenderEdit) for r in fake.requests[before:])
    np.testing.assert_array_equal(wait_rendered(qtbot, window), original)


def test_a_model_switch_keeps_the_photo_and_face(qtbot, window, fake, photo):
    original = open_photo_file(qtbot, window, photo)
    move_slider(window, 0, 1.0)
    with qtbot.waitSignal(window.model.changed, timeout=TIMEOUT_MS):
        window.chooser.choose("wide")
    qtbot.waitUntil(lambda: window.edit.edit is not None and window.photo.active, timeout=TIMEOUT_MS)
    assert any(isinstance(r, ChooseFace) for r in fake.requests)  # re-bound, not re-detected
    assert window.edit.edit.z.shape == (12,) and window.edit.stack.is_empty and window.history.undo_stack.count() == 0
    np.testing.assert_array_equal(wait_rendered(qtbot, window), original)


def test_a_sample_is_edited_without_the_photo_loop(qtbot, window, fake, photo):
    open_photo_file(qtbot, window, photo)
    with qtbot.waitSignal(window.sampling.ready, timeout=TIMEOUT_MS):
        window.samples.request()
    window.samples.sampleChosen.emit(2)
    assert window.photo.current is None and not window.documents.export_photo.isEnabled()
    before = len(fake.requests)
    move_slider(window, 0, 1.5)
    qtbot.waitUntil(lambda: window.edit.up_to_date and not window.client.busy,
                    timeout=TIMEOUT_MS)
    assert any(isinstance(r, Decode) for r in fake.requests[before:])
    assert not any(isinstance(r, RenderEdit) for r in fake.requests[before:])
    np.testing.assert_array_equal(shown_edit(window), expected_edit(window, fake))
    window.history.undo()
    np.testing.assert_array_equal(shown_edit(window), window.sampling.result.images[2])


# --------------------------------------------------------------------------- the real engine

REAL_TIMEOUT_MS = 90_000  # the first request imports torch (and dlib) inside the worker thread



@pytest.fixture
def astronaut(tmp_path):
    from PIL import Image
    from skimage.data import astronaut

    path = tmp_path / "astronaut.png"
    Image.fromarray(astronaut()).save(path)
    return path, astronaut()


def test_real_engine_astronaut_zero_edit_mask_undo_session_export(qtbot, settings, tiny, astronaut, tmp_path):
    pytest.importorskip("dlib", reason="face detection needs the faces extra (dlib-bin)")
    from PIL import Image

    from engine.service import Engine
    from editor.client import EngineClient
    from editor.main_window import MainWindow

    path, pixels = astronaut
    client = EngineClient(Engine)
    window = MainWindow(client, settings)
    qtbot.addWidget(window)
    window.show()
    try:
        with qtbot.waitSignal(window.model.changed, timeout=REAL_TIMEOUT_MS):
            window.model.load(str(tiny), "cpu")
        original = open_photo_file(qtbot, window, path, timeout=REAL_TIMEOUT_MS)
        np.testing.assert_array_equal(original, pixels)
        shown = wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
        assert np.abs(shown.astype(int) - pixels).max() == 0  # zero edit = the original pixels, exactly
        np.testing.assert_array_equal(window.canvas.views["photo"].frame.array, pixels)
        region = window.photo.current.region
        assert region != (0, 0, 512, 512)  # the face, not the whole photo

        move_slider(window, 0, 3.0, drag_values=(1.0, 2.0))
        edited = wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
        assert edited.shape == pixels.shape and np.any(edited != pixels)
        np.testing.assert_array_equal(edited[outside(region, pixels.shape)], pixels[outside(region, pixels.shape)])

        x0, y0, x1, y1 = region  # paint over the left half of the face region only
        window.mask.radius, window.mask.feather = (x1 - x0) / 4, 0.0
        window.history.begin_stroke(x0 + (x1 - x0) / 4, y0)
        window.history.stroke_to(x0 + (x1 - x0) / 4, y1)
        window.history.end_stroke()
        masked = wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
        keep = window.mask.array == 0
        np.testing.assert_array_equal(masked[keep], pixels[keep])  # outside the painted mask: unchanged
        assert np.any(masked[~keep] != pixels[~keep])

        with qtbot.waitSignal(window.session.saved, timeout=REAL_TIMEOUT_MS):
            window.session.save(tmp_path / "astronaut.lsession")
        with qtbot.waitSignal(window.photo.exported, timeout=REAL_TIMEOUT_MS):
            window.photo.export(tmp_path / "astronaut-edited.png")
        exported = np.asarray(Image.open(tmp_path / "astronaut-edited.png").convert("RGB"))
        np.testing.assert_array_equal(exported, masked)  # full resolution: the pixels shown

        while window.history.undo_stack.canUndo():
            window.history.undo()
        np.testing.assert_array_equal(wait_rendered(qtbot, window, REAL_TIMEOUT_MS), pixels)  # undo to the start
        window.history.redo()
        np.testing.assert_array_equal(wait_rendered(qtbot, window, REAL_TIMEOUT_MS), edited)

        with qtbot.waitSignal(window.session.loaded, timeout=REAL_TIMEOUT_MS):
            window.session.open(tmp_path / "astronaut.lsession")
        np.testing.assert_array_equal(wait_rendered(qtbot, window, REAL_TIMEOUT_MS), masked)  # the same pixels
    finally:
        assert client.shutdown(20_000)
