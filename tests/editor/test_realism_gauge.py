"""The realism gauge (issue 6): its number is the engine's percentile for the current edit (checked
against an independent engine), it falls and turns to a warning when the edit leaves the data,
it is never asked while a slider is held, it is hidden for uncalibrated models, and an engine
error is shown on it and on the banner, not raised."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tests.tiny_models")

from engine import protocol as p  # noqa: E402
from tests.editor._conditional_models import (  # noqa: E402,F401 - fixtures
    REAL_TIMEOUT_MS,
    calibrated_cgan,
    differs,
    independent_engine,
    multi_cvae,
    onehot_cvae,
    real,
)
from tests.editor._photo import open_photo_file, wait_rendered  # noqa: E402

FAR = 12.0  # σ along every latent dimension: far outside the training data


def _expected(other, window) -> p.RealismScore:
    z = window.edit.edited_latent()
    return other.handle(p.Realism(z=z, labels=window.edit.labels, k=window.conditional.realism.k))


def _settled(qtbot, window, previous_requests: int):
    """Wait for a new gauge reading after an edit; returns the controller's RealismScore."""
    realism = window.conditional.realism
    qtbot.waitUntil(lambda: realism.requests > previous_requests and realism.last is not None
                    and realism.last.request_id == realism.scoring.request_id and not window.client.busy, timeout=REAL_TIMEOUT_MS)
    return realism.last


def test_gauge_hidden_and_silent_for_uncalibrated_models(qtbot, window, fake, photo):
    from tests.editor.conftest import open_photo

    gauge = window.conditional.gauge
    assert not gauge.isVisible() and gauge.calibration is None
    open_photo(qtbot, window, photo)
    window.latents.rows[int(window.latents.active_dims[0])].slider.setValue(2.0)
    qtbot.wait(400)  # longer than the gauge's quiet period
    assert not any(isinstance(r, p.Realism) for r in fake.requests)


def test_gauge_shows_the_engines_percentile_and_warns_off_distribution(qtbot, real, multi_cvae, photo):
    real.load(multi_cvae)
    window = real.window
    gauge, realism = window.conditional.gauge, window.conditional.realism
    assert gauge.isVisible() and gauge.calibration.n == 64 and "bits/dim" in gauge.calibration.units
    open_photo_file(qtbot, window, photo, timeout=REAL_TIMEOUT_MS)
    wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
    first = _settled(qtbot, window, 0)
    other = independent_engine(multi_cvae)
    want = _expected(other, window)
    assert first.percentile[0] == pytest.approx(want.percentile[0]) and first.score[0] == pytest.approx(want.score[0])
    assert gauge.percentile == pytest.approx(want.percentile[0]) and gauge.bar.value() == round(want.percentile[0])
    near = float(want.percentile[0])

    n = realism.requests
    window.edit.set_shift(np.full(4, FAR, np.float32))  # an edit far outside the data
    wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
    far = _settled(qtbot, window, n)
    want = _expected(other, window)
    assert far.percentile[0] == pytest.approx(want.percentile[0]) and far.percentile[0] < near
    assert gauge.percentile == pytest.approx(want.percentile[0])
    assert not want.plausible[0], f"the far edit should be implausible (percentile {want.percentile[0]:.2f})"
    assert gauge.warning and "Implausible" in gauge.toolTip() and "#d9822b" in gauge.bar.styleSheet()

    n = realism.requests
    window.edit.set_shift(None)  # back: the warning goes away
    wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
    _settled(qtbot, window, n)
    assert gauge.percentile == pytest.approx(near) and not gauge.warning and gauge.bar.styleSheet() == ""


def test_gauge_follows_label_edits(qtbot, real, multi_cvae, photo):
    real.load(multi_cvae)
    window = real.window
    realism, panel = window.conditional.realism, window.conditional.label_panel
    open_photo_file(qtbot, window, photo, timeout=REAL_TIMEOUT_MS)
    _settled(qtbot, window, 0)
    n = realism.requests
    panel.sliders["Red"].setValue(0.0 if window.edit.base_labels["Red"] >= 0.5 else 1.0)
    wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
    _settled(qtbot, window, n)
    sent = real.engine.of(p.Realism)[-1]
    assert sent.labels == window.edit.labels and sent.labels != window.edit.base_labels
    want = _expected(independent_engine(multi_cvae), window)
    assert window.conditional.gauge.percentile == pytest.approx(want.percentile[0])


def test_no_gauge_request_while_a_slider_is_held(qtbot, real, multi_cvae, photo):
    real.load(multi_cvae)
    window = real.window
    realism = window.conditional.realism
    open_photo_file(qtbot, window, photo, timeout=REAL_TIMEOUT_MS)
    _settled(qtbot, window, 0)
    n = realism.requests
    slider = window.latents.rows[int(window.latents.active_dims[0])].slider
    slider._slider.setSliderDown(True)
    for v in np.linspace(0.1, 2.0, 12):
        slider.setValue(float(v))
        qtbot.wait(30)
    qtbot.wait(400)
    assert realism.requests == n, "the gauge asked the engine while the slider was held"
    slider._slider.setSliderDown(False)
    wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
    _settled(qtbot, window, n)
    assert realism.requests == n + 1  # one reading for where the slider stopped


def test_gauge_error_is_shown_not_raised(qtbot, real, multi_cvae, photo):
    real.load(multi_cvae)
    window = real.window
    gauge, realism = window.conditional.gauge, window.conditional.realism
    open_photo_file(qtbot, window, photo, timeout=REAL_TIMEOUT_MS)
    _settled(qtbot, window, 0)
    real.engine.fail[p.Realism] = "likelihood went NaN"
    window.latents.rows[int(window.latents.active_dims[0])].slider.setValue(1.0)
    qtbot.waitUntil(lambda: "likelihood went NaN" in gauge.toolTip(), timeout=REAL_TIMEOUT_MS)
    assert gauge.bar.format() == "error" and gauge.percentile is None
    assert "The realism gauge failed" in window.banner.text()
    n = realism.requests
    window.latents.rows[int(window.latents.active_dims[0])].slider.setValue(0.5)  # the next reading works again
    _settled(qtbot, window, n)
    assert gauge.percentile is not None and gauge.bar.format() != "error"


def test_switching_to_an_uncalibrated_model_hides_the_gauge(qtbot, real, multi_cvae, onehot_cvae):
    real.load(multi_cvae)
    assert real.window.conditional.gauge.isVisible()
    real.load(onehot_cvae)
    assert not real.window.conditional.gauge.isVisible() and not real.window.conditional.realism.available


def test_a_cgan_labels_and_gauge_read_its_discriminator(qtbot, real, calibrated_cgan, photo):
    real.load(calibrated_cgan)
    window, ui = real.window, real.window.conditional
    assert window.model.info.family == "cgan" and ui.dock.isVisible() and set(ui.label_panel.sliders) == {"Bright", "Red"}
    assert ui.gauge.isVisible() and "discriminator" in ui.gauge.calibration.units
    original = open_photo_file(qtbot, window, photo, timeout=REAL_TIMEOUT_MS)
    _settled(qtbot, window, 0)
    n = ui.realism.requests
    ui.label_panel.sliders["Bright"].setValue(0.0 if window.edit.base_labels["Bright"] >= 0.5 else 1.0)
    shown = wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
    assert differs(shown, original) > 0
    score = _settled(qtbot, window, n)
    want = _expected(independent_engine(calibrated_cgan), window)
    assert set(want.details) == {"d_logit", "latent_percentile", "latent_rms"} and score.score[0] == pytest.approx(want.score[0], abs=1e-5)
    assert ui.gauge.percentile == pytest.approx(want.percentile[0], abs=1e-6) and "discriminator" in ui.gauge.toolTip()
    assert "the prior's typical radius" in ui.gauge.toolTip()

    n = ui.realism.requests  # D alone hardly notices a latent pushed far out; the gauge does
    window.edit.set_shift(np.full(window.model.info.latent_dim, 4.0, np.float32))
    wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
    far = _settled(qtbot, window, n)
    assert far.details["latent_rms"][0] > 3.0 and not far.plausible[0]
    assert ui.gauge.warning and "where the generator was never trained" in ui.gauge.toolTip()
