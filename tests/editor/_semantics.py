"""Helpers for the latent-semantics GUI tests (attribute panel, arithmetic, interpolation)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.editor.conftest import TIMEOUT_MS


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """The user's data folder (user attributes) in the test's own temporary folder."""
    folder = tmp_path / "user-data"
    monkeypatch.setenv("LATENT_STUDIO_DATA_DIR", str(folder))
    return folder


def draw_samples(qtbot, window, n: int = 8, seed: int = 0, timeout: int = TIMEOUT_MS):
    with qtbot.waitSignal(window.sampling.ready, timeout=timeout):
        window.sampling.sample(n=n, seed=seed)
    return window.sampling.result


def edit_sample(qtbot, window, index: int = 0, n: int = 8, timeout: int = TIMEOUT_MS) -> np.ndarray:
    """Draw samples and open sample ``index`` in the editor; returns its latent."""
    result = window.sampling.result or draw_samples(qtbot, window, n, timeout=timeout)
    window.samples.sampleChosen.emit(index)
    assert window.edit.edit is not None
    return np.asarray(result.z[index], np.float32)


def wait_directions(qtbot, window, timeout: int = TIMEOUT_MS, locked: tuple = ()):
    attrs = window.semantics.attributes
    qtbot.waitUntil(lambda: attrs.directions is not None and tuple(attrs.directions.locked) == tuple(locked), timeout=timeout)
    return attrs.directions


def wait_edit_shown(qtbot, window, timeout: int = TIMEOUT_MS) -> np.ndarray:
    """Wait until the newest edit is on screen; returns its pixels."""
    edit = window.edit
    qtbot.waitUntil(lambda: not window.client.busy and edit.edited is not None and edit.up_to_date, timeout=timeout)
    return window.canvas.views["edited"].frame.array


def one_sigma(direction: np.ndarray, std: np.ndarray) -> np.ndarray:
    """+1σ along ``direction``, computed by the engine's own function (independently of the editor)."""
    from engine.semantics.orthogonal import edit_vector

    return edit_vector(np.asarray(direction, np.float64), np.asarray(std, np.float64), 1.0).astype(np.float32)


def open_astronaut_and_sample(qtbot, window, tmp_path, timeout: int) -> np.ndarray:
    """The real-engine photo tests' start: scikit-image's astronaut() saved and opened in the
    window (its face found: the region is not the whole photo), then four samples drawn for the
    slots. Returns the photo's pixels."""
    from PIL import Image
    from skimage.data import astronaut

    from tests.editor._photo import open_photo_file

    pixels = astronaut()
    path = tmp_path / "astronaut.png"
    Image.fromarray(pixels).save(path)
    np.testing.assert_array_equal(open_photo_file(qtbot, window, path, timeout=timeout), pixels)
    assert window.photo.current.region != (0, 0, 512, 512)  # the face, not the whole photo
    draw_samples(qtbot, window, n=4, timeout=timeout)
    return pixels
