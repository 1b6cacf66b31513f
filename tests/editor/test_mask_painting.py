"""Local edits: a painted mask limits where the edit applies (FakeEngine)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.protocol import RenderEdit
from editor.controllers.mask import MaskModel
from tests.editor._photo import move_slider, open_photo_file, outside, stroke, wait_rendered


def test_painting_a_mask_limits_the_edit_to_the_painted_pixels(qtbot, window, fake, photo):
    original = open_photo_file(qtbot, window, photo)
    region = window.photo.current.region
    move_slider(window, 0, 2.5)
    unmasked = wait_rendered(qtbot, window)
    changed = np.any(unmasked != original, axis=2)
    assert changed.any() and not changed[outside(region, original.shape)].any()

    view = window.canvas.views["photo"]
    window.mask_tools.buttons["brush"].click()
    window.mask_tools.size.setValue(6)
    window.mask_tools.feather.setValue(0)  # a hard brush: the mask is 0 or 255
    assert view.tool == "brush" and window.mask.radius == 6.0 and window.mask.feather == 0.0
    stroke(view, [(14.0, 24.0), (20.0, 24.0), (26.0, 24.0)])
    mask = window.mask.array
    assert mask is not None and mask.shape == original.shape[:2]  # small photo: the mask is at its resolution
    painted = mask > 0
    assert painted[24, 14:27].all() and painted.sum() < painted.size // 4
    assert set(np.unique(mask)) == {0, 255}

    shown = wait_rendered(qtbot, window)
    request = [r for r in fake.requests if isinstance(r, RenderEdit)][-1]
    assert request.mask is not None and not request.preview and request.full_resolution
    np.testing.assert_array_equal(shown[~painted], original[~painted])  # outside the mask: the photo's own pixels
    np.testing.assert_array_equal(shown[painted], unmasked[painted])  # inside: the edit as before
    assert np.any(shown != original)
    # the overlay shows the mask (red tint) on the photo view
    assert view._overlay is not None and view._overlay[24, 20, 3] > 0 and view._overlay[0, 0, 3] == 0


def test_eraser_and_feather_and_clear(qtbot, window, fake, photo):
    original = open_photo_file(qtbot, window, photo)
    move_slider(window, 0, -2.0)
    unmasked = wait_rendered(qtbot, window)
    view = window.canvas.views["photo"]
    tools = window.mask_tools
    tools.buttons["brush"].click()
    tools.size.setValue(10)
    tools.feather.setValue(100)  # fully feathered: a soft falloff
    stroke(view, [(32.0, 24.0)])
    soft = window.mask.array.copy()
    assert soft[24, 32] > 200 and 0 < soft[24, 39] < soft[24, 35] < soft[24, 32] and soft[24, 43] == 0
    shown = wait_rendered(qtbot, window)
    np.testing.assert_array_equal(shown[soft == 0], original[soft == 0])

    tools.buttons["eraser"].click()
    tools.feather.setValue(0)
    tools.size.setValue(4)
    stroke(view, [(32.0, 24.0)])
    assert window.mask.array[24, 32] == 0 and window.mask.array[24, 38] == soft[24, 38]
    shown = wait_rendered(qtbot, window)
    np.testing.assert_array_equal(shown[24, 32], original[24, 32])

    tools.clear.click()  # no mask: the edit applies to the whole face again
    assert window.mask.array is None
    np.testing.assert_array_equal(wait_rendered(qtbot, window), unmasked)
    window.history.undo()  # clearing is undoable
    assert window.mask.array is not None and window.mask.array[24, 32] == 0


def test_move_tool_pans_and_does_not_paint(qtbot, window, fake, photo):
    open_photo_file(qtbot, window, photo)
    view = window.canvas.views["photo"]
    assert window.mask_tools.tool is None and view.tool is None
    stroke(view, [(20.0, 20.0), (30.0, 30.0)])
    assert window.mask.array is None and window.history.undo_stack.count() == 0


def test_mask_model_strokes_are_dabs_along_the_path_in_photo_coordinates():
    mask = MaskModel()
    mask.reset((4000, 3000))  # a 12 MP photo: the mask is at most 1536 px on its long side
    assert mask.shape == (1152, 1536) and mask.scale == pytest.approx(1536 / 4000)
    mask.radius, mask.feather = 100.0, 0.0
    mask.begin_stroke(1000.0, 1500.0)
    mask.stroke_to(3000.0, 1500.0)
    result = mask.end_stroke()
    row = round(1500 * mask.scale)
    assert mask.array[row, round(1000 * mask.scale):round(3000 * mask.scale)].min() == 255  # no gaps between dabs
    assert mask.array[row - 50].max() == 0  # 50 mask px = 130 photo px off the line: outside the radius
    assert result.created and result.before.max() == 0 and result.after.max() == 255
    x0, y0, x1, y1 = result.rect  # the changed rectangle (what undo keeps): the stroke ± the radius
    s = mask.scale
    assert (x0, x1) == (math.floor(900 * s), math.ceil(3100 * s))
    assert (y0, y1) == (math.floor(1400 * s), math.ceil(1600 * s))
    assert result.before.shape == result.after.shape == (y1 - y0, x1 - x0)
    snapshot = mask.snapshot()
    assert not snapshot.flags.writeable and snapshot is mask.snapshot()  # one copy per change, read-only
    mask.set_array(np.ones((30, 40), bool))  # any resolution, any dtype (a session's mask)
    assert mask.array.shape == mask.shape and mask.array.min() == 255


def test_a_long_stroke_is_the_sweep_of_dense_dabs():
    """A stroke segment is painted as the capsule it sweeps: the same mask as round dabs stamped
    every 1/20 radius along it (what the brush means), within rounding."""
    mask = MaskModel()
    mask.reset((4000, 3000))
    mask.radius, mask.feather = 40.0, 0.5
    mask.begin_stroke(100.0, 200.0)
    mask.stroke_to(3900.0, 2800.0)  # a fast flick across a 12 MP photo: one move event
    mask.end_stroke()
    h, w = mask.shape
    r = mask.radius * mask.scale
    a, b = np.array([100.0, 200.0]) * mask.scale, np.array([3900.0, 2800.0]) * mask.scale
    ref = np.zeros((h, w), np.uint8)
    for t in np.linspace(0.0, 1.0, int(np.hypot(*(b - a)) / (r / 20)) + 2):
        cx, cy = a + t * (b - a)
        x0, x1, y0, y1 = max(0, int(cx - r) - 1), min(w, int(cx + r) + 2), max(0, int(cy - r) - 1), min(h, int(cy + r) + 2)
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32) + 0.5
        s = np.clip((1.0 - np.hypot(xs - cx, ys - cy) / r) / 0.5, 0.0, 1.0)
        np.maximum(ref[y0:y1, x0:x1], np.rint(s * s * (3 - 2 * s) * 255).astype(np.uint8), out=ref[y0:y1, x0:x1])
    assert ref.max() == 255 and np.abs(mask.array.astype(int) - ref).max() <= 3


@pytest.mark.parametrize("replace", ["clear", "undo to another mask", "another photo"])
def test_a_mask_replaced_under_a_held_stroke_ends_the_stroke(replace):
    """Found by the monkey test: Clear/undo by key (or another photo) mid-drag left the stroke
    painting into a mask that was gone (TypeError at the next mouse move)."""
    mask = MaskModel()
    mask.reset((200, 100))
    active: list[bool] = []
    mask.strokeActive.connect(active.append)
    mask.begin_stroke(50, 50)
    if replace == "clear":
        mask.set_array(None)
    elif replace == "undo to another mask":
        mask.set_array(np.full((100, 200), 255, np.uint8))
    else:
        mask.reset((300, 300))
    mask.stroke_to(120, 60)  # the mouse keeps moving: nothing is painted, nothing raises
    assert active == [True, False]
    assert mask.end_stroke() is None
    if replace == "undo to another mask":
        assert (mask.array == 255).all()
    else:
        assert mask.array is None
