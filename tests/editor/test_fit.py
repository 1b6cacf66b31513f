"""The per-photo fit in the window, on the real engine with a tiny model: it starts by itself when
a photo opens (a setting turns that off), reports progress, keeps sliders live, re-renders with the
fitted model when it ends without touching the edit or its history; Stop ends it with a usable
state; the fit survives a session round trip and an engine restart."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings


from tests.editor._photo import move_slider, open_photo_file, wait_rendered  # noqa: E402
from tests.editor.conftest import REAL_ENGINE_TIMEOUT_MS as TIMEOUT_MS  # noqa: E402
from tests.editor.conftest import real_engine_window  # noqa: E402



@pytest.fixture
def portrait(tmp_path):
    """A photo without a face the detector knows: opened through "Use the whole image"."""
    from PIL import Image

    rng = np.random.default_rng(1)
    low = rng.integers(40, 220, (6, 8, 3)).astype(np.uint8)
    img = np.asarray(Image.fromarray(low).resize((80, 60), Image.Resampling.BICUBIC)).astype(np.int16)
    img[15:45, 25:55] += rng.integers(-30, 30, (30, 30, 3)).astype(np.int16)  # detail a tiny model blurs away
    path = tmp_path / "portrait.png"
    Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def auto_settings(settings):
    settings.setValue("fit/auto", True)
    settings.setValue("fit/steps", 40)
    return settings


def wait_fitted(qtbot, window) -> None:
    fit = window.fitting.fit
    qtbot.waitUntil(lambda: fit.last is not None and fit.last.done and not fit.running, timeout=TIMEOUT_MS)
    assert fit.fitted, fit.last


def test_the_automatic_fit_is_on_for_a_new_user_and_the_setting_sticks(qtbot, client, tmp_path):
    from editor.main_window import MainWindow

    fresh = QSettings(str(tmp_path / "fresh.ini"), QSettings.Format.IniFormat)
    window = MainWindow(client, fresh)
    qtbot.addWidget(window)
    assert window.fitting.fit.auto and window.fitting.auto_action.isChecked()
    window.fitting.auto_action.setChecked(False)
    assert not window.fitting.fit.auto
    again = MainWindow(client, fresh)
    qtbot.addWidget(again)
    assert not again.fitting.auto_action.isChecked()


def test_fit_starts_on_open_keeps_the_edit_and_history_and_rerenders(qtbot, auto_settings, tiny, portrait):
    with real_engine_window(qtbot, auto_settings, tiny) as window:
        fit, progress = window.fitting.fit, window.fitting.progress
        steps_seen: list[int] = []
        fit.progress.connect(lambda step, steps, psnr: steps_seen.append(step))
        original = open_photo_file(qtbot, window, portrait, timeout=TIMEOUT_MS)
        before = np.array(window.edit.encoded.reconstruction)
        qtbot.waitUntil(lambda: fit.running or fit.last is not None, timeout=TIMEOUT_MS)
        dim = move_slider(window, 0, 2.0)  # the user edits while the fit runs
        undo_count = window.history.undo_stack.count()
        wait_fitted(qtbot, window)
        assert steps_seen and steps_seen[-1] == 40 and steps_seen == sorted(steps_seen)
        assert fit.last.psnr_db > fit.last.psnr_before
        assert progress.isVisible() and progress.label.text() == "Fitted to this face"
        assert not progress.bar.isVisible() and not progress.stop_button.isVisible()
        # the edit and its history are untouched; the reconstruction is the fitted one
        assert window.history.undo_stack.count() == undo_count
        assert window.latents.rows[dim].value() == pytest.approx(2.0)
        after = np.array(window.edit.encoded.reconstruction)
        assert np.abs(after.astype(int) - before.astype(int)).mean() > 1.0
        shown = wait_rendered(qtbot, window, TIMEOUT_MS)
        assert np.any(shown != original), "the edit renders with the fitted model"
        assert window.edit.document.fit is not None  # kept for an engine that restarts
        move_slider(window, 0, 0.0)
        np.testing.assert_array_equal(wait_rendered(qtbot, window, TIMEOUT_MS), original)  # zero edit: the photo exactly


def test_stop_ends_the_fit_and_the_photo_stays_editable(qtbot, auto_settings, tiny, portrait):
    auto_settings.setValue("fit/steps", 20000)
    with real_engine_window(qtbot, auto_settings, tiny) as window:
        fit, progress = window.fitting.fit, window.fitting.progress
        original = open_photo_file(qtbot, window, portrait, timeout=TIMEOUT_MS)
        qtbot.waitUntil(lambda: fit.running and progress.stop_button.isVisible(), timeout=TIMEOUT_MS)
        qtbot.waitUntil(lambda: fit.last is not None, timeout=TIMEOUT_MS)  # a slice or more done
        progress.stop_button.click()
        qtbot.waitUntil(lambda: not fit.running, timeout=TIMEOUT_MS)
        assert fit.last.done and fit.last.stopped and fit.last.step < 20000
        assert not window.fitting.stop_action.isEnabled()
        move_slider(window, 0, 1.5)
        assert np.any(wait_rendered(qtbot, window, TIMEOUT_MS) != original)


def test_the_fit_waits_while_a_slider_is_dragged(qtbot, auto_settings, tiny, portrait):
    auto_settings.setValue("fit/steps", 20000)
    with real_engine_window(qtbot, auto_settings, tiny) as window:
        fit = window.fitting.fit
        original = open_photo_file(qtbot, window, portrait, timeout=TIMEOUT_MS)
        qtbot.waitUntil(lambda: fit.last is not None, timeout=TIMEOUT_MS)
        window.edit.begin_drag()
        qtbot.waitUntil(lambda: fit._waiting, timeout=TIMEOUT_MS)  # the slice in flight came back; no next one
        step = fit.last.step
        move_slider(window, 0, 1.0)
        qtbot.waitUntil(lambda: not window.client.busy, timeout=TIMEOUT_MS)  # nothing of the fit is queued
        assert fit.running and fit.last.step == step
        window.edit.end_drag()
        qtbot.waitUntil(lambda: fit.last.step > step, timeout=TIMEOUT_MS)  # it goes on after the drag
        fit.stop()
        qtbot.waitUntil(lambda: not fit.running, timeout=TIMEOUT_MS)
        assert np.any(wait_rendered(qtbot, window, TIMEOUT_MS) != original)  # the drag's edit is shown


def test_no_automatic_fit_when_the_setting_is_off_and_the_menu_starts_one(qtbot, settings, tiny, portrait):
    settings.setValue("fit/steps", 30)
    with real_engine_window(qtbot, settings, tiny) as window:
        fit = window.fitting.fit
        open_photo_file(qtbot, window, portrait, timeout=TIMEOUT_MS)
        wait_rendered(qtbot, window, TIMEOUT_MS)
        assert not fit.running and fit.last is None
        assert window.fitting.fit_action.isEnabled()
        window.fitting.fit_action.trigger()
        wait_fitted(qtbot, window)


def test_the_fit_survives_a_session_round_trip(qtbot, auto_settings, tiny, portrait, tmp_path):
    session = tmp_path / "fitted.lsession"
    with real_engine_window(qtbot, auto_settings, tiny) as window:
        open_photo_file(qtbot, window, portrait, timeout=TIMEOUT_MS)
        wait_fitted(qtbot, window)
        move_slider(window, 0, 1.5)
        want = wait_rendered(qtbot, window, TIMEOUT_MS)
        fitted_reconstruction = np.array(window.edit.encoded.reconstruction)
        assert window.session.save_and_wait(session)
    with real_engine_window(qtbot, auto_settings, tiny) as window:
        fit = window.fitting.fit
        with qtbot.waitSignal(window.session.loaded, timeout=TIMEOUT_MS):
            window.session.open(session)
        got = wait_rendered(qtbot, window, TIMEOUT_MS)
        assert fit.fitted and not fit.running and fit.last is None, "a restored fit is not fitted again"
        assert window.fitting.progress.label.text() == "Fitted to this face"
        np.testing.assert_array_equal(np.array(window.edit.encoded.reconstruction), fitted_reconstruction)
        np.testing.assert_array_equal(got, want)


def test_an_engine_restart_gets_the_fit_back(qtbot, auto_settings, tiny, portrait):
    with real_engine_window(qtbot, auto_settings, tiny) as window:
        open_photo_file(qtbot, window, portrait, timeout=TIMEOUT_MS)
        wait_fitted(qtbot, window)
        move_slider(window, 0, -1.5)
        want = wait_rendered(qtbot, window, TIMEOUT_MS)
        replay = window.edit.document.replay()
        assert type(replay[-1]).__name__ == "RestoreFit"
        # a new engine given the replay renders the same edit as the fitted one
        from engine.protocol import LoadModel, RenderEdit
        from engine.service import Engine

        engine = Engine()
        engine.handle(LoadModel(source=str(tiny), device="cpu"))
        for request in replay:
            answer = engine.handle(request)
            assert type(answer).__name__ != "ErrorResponse", answer
        rendered = engine.handle(RenderEdit(edits=window.edit.stack, full_resolution=True, whole_photo=True))
        np.testing.assert_array_equal(rendered.image, want)


def test_traversal_strips_show_the_fitted_face(qtbot, auto_settings, tiny, portrait):
    """Once fitted, a slider's strip decodes with the photo's fitted decoder: its 0σ frame is the
    fitted reconstruction of this face, not the model's blurry idea of it."""
    with real_engine_window(qtbot, auto_settings, tiny) as window:
        open_photo_file(qtbot, window, portrait, timeout=TIMEOUT_MS)
        unfitted = np.array(window.edit.encoded.reconstruction).astype(int)
        wait_fitted(qtbot, window)
        fitted = np.array(window.edit.encoded.reconstruction).astype(int)
        dim = int(window.latents.active_dims[0])
        with qtbot.waitSignal(window.edit.traversalReady, timeout=TIMEOUT_MS) as blocker:
            window.latents.traversalRequested.emit(dim)
        _, images, values = blocker.args
        mid = int(np.argmin(np.abs(values)))
        assert values[mid] == 0.0
        assert np.abs(images[mid].astype(int) - fitted).max() <= 1
        assert np.abs(images[mid].astype(int) - unfitted).mean() > 1.0
