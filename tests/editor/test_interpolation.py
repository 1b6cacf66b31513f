"""The interpolation tab: A and B, linear or slerp, the scrubber shows frame k's pixels, play/pause,
export through the engine (GIF, MP4, PNG strip), edit a frame."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.semantics.interpolate import lerp, slerp
from tests.editor._semantics import draw_samples, edit_sample
from tests.editor.conftest import TIMEOUT_MS


def wait_frames(qtbot, window):
    interp = window.semantics.interpolation
    qtbot.waitUntil(lambda: interp.result is not None and interp.up_to_date and not window.client.busy,
                    timeout=TIMEOUT_MS)  # fmt: skip
    return interp.result


def test_scrubber_at_frame_k_shows_frame_k(qtbot, window, fake):
    result = draw_samples(qtbot, window, n=8)
    z0, z1 = np.asarray(result.z[0]), np.asarray(result.z[1])
    panel = window.semantics.interpolation_panel
    panel.steps.setValue(6)
    panel.mode.setCurrentText("linear")
    panel.slots["a"].samplesRequested.emit("a", [0])
    panel.slots["b"].samplesRequested.emit("b", [1])
    frames = wait_frames(qtbot, window)
    assert frames.frames.shape == (6, 32, 32, 3) and frames.mode == "linear"
    expected = fake.decode_latents(lerp(z0, z1, np.linspace(0, 1, 6)))
    for k in (0, 3, 5, 2):
        panel.scrubber.set_frame(k)
        assert panel.scrubber.position.text() == f"{k + 1}/6"
        np.testing.assert_array_equal(panel.shown_frame(), expected[k])
    np.testing.assert_array_equal(panel.slots["a"].view.frame.array, result.images[0])  # the ends
    np.testing.assert_array_equal(panel.slots["b"].view.frame.array, result.images[1])
    assert "ratio" in panel.smoothness.text()

    panel.mode.setCurrentText("slerp")
    frames = wait_frames(qtbot, window)
    assert frames.mode == "slerp"
    np.testing.assert_array_equal(panel.shown_frame(), fake.decode_latents(slerp(z0, z1, np.linspace(0, 1, 6)))[2])
    assert not np.array_equal(panel.shown_frame(), expected[2])  # slerp is not the straight line

    panel.even.setChecked(True)  # re-timed to even pixel steps
    frames = wait_frames(qtbot, window)
    assert frames.t[0] == 0 and frames.t[-1] == pytest.approx(1) and not np.allclose(frames.t, np.linspace(0, 1, 6))


def test_play_pause_and_edit_a_frame(qtbot, window, fake):
    z = edit_sample(qtbot, window, 2)
    panel = window.semantics.interpolation_panel
    panel.slots["a"].currentRequested.emit("a")  # the current edit
    panel.slots["b"].samplesRequested.emit("b", [5])
    frames = wait_frames(qtbot, window)
    np.testing.assert_allclose(frames.z[0], z, atol=1e-6)
    scrubber = panel.scrubber
    scrubber.fps.setValue(60)
    seen = set()
    scrubber.frameChanged.connect(seen.add)
    scrubber.play()
    assert scrubber.is_playing() and scrubber.play_button.text() == "⏸"
    qtbot.waitUntil(lambda: len(seen) >= 5, timeout=TIMEOUT_MS)
    scrubber.pause()
    assert not scrubber.is_playing()
    k = scrubber.frame()
    qtbot.wait(60)
    assert scrubber.frame() == k  # paused: it stays
    np.testing.assert_array_equal(panel.shown_frame(), frames.frames[k])

    scrubber.set_frame(7)
    panel.edit_button.click()
    assert window.tabs.currentWidget() is window.canvas
    np.testing.assert_allclose(window.edit.edit.z, frames.z[7])
    np.testing.assert_array_equal(window.canvas.views["edited"].frame.array, frames.frames[7])


@pytest.mark.parametrize("suffix", [".gif", ".mp4", ".png"])
def test_export_through_the_engine(qtbot, window, tmp_path, suffix):
    if suffix == ".mp4":
        pytest.importorskip("imageio_ffmpeg", reason="MP4 needs the video extra (imageio-ffmpeg)")
    draw_samples(qtbot, window, n=4)
    interp, panel = window.semantics.interpolation, window.semantics.interpolation_panel
    panel.steps.setValue(5)
    interp.slots.set_samples("a", [0])
    interp.slots.set_samples("b", [3])
    wait_frames(qtbot, window)
    out = tmp_path / f"anim{suffix}"
    with qtbot.waitSignal(interp.exported, timeout=TIMEOUT_MS) as exported:
        interp.export(out, fps=10, scale=2)
    assert exported.args[0] == str(out) and out.is_file()
    if suffix == ".gif":
        with Image.open(out) as im:
            assert im.n_frames == 5 and im.size == (64, 64)
    elif suffix == ".png":
        with Image.open(out) as im:
            assert im.size[0] > 5 * 64 and im.size[1] >= 64  # one row of all frames
    # an existing file is not overwritten without asking
    interp.export(out, fps=10)
    qtbot.waitUntil(lambda: "Could not export the animation" in window.banner.text(), timeout=TIMEOUT_MS)
    assert "exists" in window.banner.text()
