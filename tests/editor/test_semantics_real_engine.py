"""End to end: the latent-semantics panels on the real engine (engine.service.Engine) and a tiny
VAE checkpoint (tests.tiny_models.tiny_checkpoint, with two attribute directions)."""

from __future__ import annotations

import numpy as np
import pytest


from tests.editor._semantics import data_dir, draw_samples, edit_sample, one_sigma, wait_directions, wait_edit_shown  # noqa: E402,F401
from tests.editor.conftest import real_engine_window  # noqa: E402

TIMEOUT_MS = 60_000  # the first request imports torch inside the worker thread



@pytest.fixture
def real_window(qtbot, settings, tiny, data_dir):
    with real_engine_window(qtbot, settings, tiny, TIMEOUT_MS) as window:
        yield window


def test_attributes_locks_arithmetic_interpolation_and_your_attribute_on_the_real_engine(qtbot, real_window, tiny, tmp_path):
    import engine
    from engine.semantics.orthogonal import project_out

    window = real_window
    model = engine.load_model(str(tiny), device="cpu")
    directions = wait_directions(qtbot, window, TIMEOUT_MS)
    assert directions.names == ("Smiling", "Eyeglasses")  # the engine's table: Expression, then Identity
    panel = window.semantics.attribute_panel
    assert list(panel.groups) == ["Expression", "Identity"] and panel.groups["Identity"].rows == [panel.rows["Eyeglasses"]]
    result = draw_samples(qtbot, window, n=8, timeout=TIMEOUT_MS)
    z = edit_sample(qtbot, window, 0, timeout=TIMEOUT_MS)
    std = window.model.info.stats.std
    panel = window.semantics.attribute_panel

    # an attribute slider moves the pixels: the engine's decode of z + 2σ along Eyeglasses
    panel.rows["Eyeglasses"].slider.setValue(2.0)
    raw = wait_edit_shown(qtbot, window, TIMEOUT_MS).copy()
    assert not np.array_equal(raw, result.images[0])
    expected = model.decode((z + 2.0 * one_sigma(model.attributes["Eyeglasses"], std))[None])[0]
    np.testing.assert_allclose(raw.astype(int), expected.astype(int), atol=1)

    # locking Smiling conditions Eyeglasses on it: other pixels, and Smiling's read-out stays
    panel.rows["Smiling"].lock.setChecked(True)
    wait_directions(qtbot, window, TIMEOUT_MS, locked=("Smiling",))
    locked = wait_edit_shown(qtbot, window, TIMEOUT_MS)
    assert not np.array_equal(locked, raw)
    conditioned = project_out(model.attributes["Eyeglasses"], [model.attributes["Smiling"]])
    expected = model.decode((z + 2.0 * one_sigma(conditioned, std))[None])[0]
    np.testing.assert_allclose(locked.astype(int), expected.astype(int), atol=1)
    panel.rows["Smiling"].lock.setChecked(False)

    # interpolation: frame k on screen is the engine's frame k
    interp, ipanel = window.semantics.interpolation, window.semantics.interpolation_panel
    ipanel.steps.setValue(5)
    interp.slots.set_samples("a", [1])
    interp.slots.set_samples("b", [2])
    qtbot.waitUntil(lambda: interp.result is not None and interp.up_to_date, timeout=TIMEOUT_MS)
    from engine.semantics.interpolate import slerp

    frames = model.decode(slerp(result.z[1], result.z[2], np.linspace(0, 1, 5)))
    ipanel.scrubber.set_frame(3)
    np.testing.assert_allclose(ipanel.shown_frame().astype(int), frames[3].astype(int), atol=1)
    gif = tmp_path / "walk.gif"
    with qtbot.waitSignal(interp.exported, timeout=TIMEOUT_MS):
        interp.export(gif)
    assert gif.stat().st_size > 0

    # arithmetic: A − B + C, shown
    arith, apanel = window.semantics.arithmetic, window.semantics.arithmetic_panel
    for key, index in (("a", 3), ("b", 4), ("c", 5)):
        arith.slots.set_samples(key, [index])
    qtbot.waitUntil(lambda: arith.result is not None and arith.up_to_date, timeout=TIMEOUT_MS)
    z_abc = result.z[3] - result.z[4] + result.z[5]
    np.testing.assert_allclose(apanel.shown_result().astype(int), model.decode(z_abc[None])[0].astype(int), atol=1)

    # your own attribute: tagged samples → a direction and a slider, saved in the data folder
    user = window.semantics.user
    user.add_samples("with", [0, 1, 2])
    user.add_samples("without", [5, 6, 7])
    with qtbot.waitSignal(user.created, timeout=TIMEOUT_MS) as created:
        user.create("mine")
    assert created.args[0].attribute.same_model is True
    qtbot.waitUntil(lambda: "mine" in panel.rows, timeout=TIMEOUT_MS)
