"""Fixtures for the editor suite: a FakeEngine (the real engine over a fake model), an EngineClient on it, the main window."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMessageBox

from editor.client import EngineClient
from editor.imaging import array_to_qimage
from tests.editor.fake_engine import FakeEngine

TIMEOUT_MS = 5000


@pytest.fixture(autouse=True)
def modal_dialogs_answer_at_once(monkeypatch) -> list[tuple[str, str]]:
    """A modal dialog in an offscreen test would wait for a click for ever, and no Python timeout
    fires inside Qt's own loop: a failing test would then hang the run at its teardown (closing a
    window with unsaved edits asks). Each dialog is answered at once, the way that changes
    nothing (discard, no, cancel); a test that wants another answer patches it itself."""
    asked: list[tuple[str, str]] = []

    def message(kind):
        def answer(parent, title, text, buttons=QMessageBox.StandardButton.Ok, default=QMessageBox.StandardButton.NoButton):
            asked.append((kind, title))
            for button in (QMessageBox.StandardButton.Discard, QMessageBox.StandardButton.No, QMessageBox.StandardButton.Cancel):
                if buttons & button:
                    return button
            return QMessageBox.StandardButton.Ok

        return answer

    for kind in ("question", "warning", "information", "critical"):
        monkeypatch.setattr(QMessageBox, kind, message(kind))
    for name in ("getOpenFileName", "getSaveFileName", "getOpenFileNames"):
        monkeypatch.setattr(QFileDialog, name, lambda *a, _name=name, **k: ([], "") if _name.endswith("Names") else ("", ""))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: "")
    return asked


@pytest.fixture
def settings(tmp_path: Path) -> QSettings:
    """Settings of a test's own. The per-photo fit's automatic start is off (it is on for users):
    most tests are about something else and must not wait behind a fit; tests/editor/test_fit.py
    turns it on."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("fit/auto", False)
    return settings


@pytest.fixture
def fake() -> FakeEngine:
    return FakeEngine(latent_dim=8, image_size=32, dead=2, models={"wide": (12, 24)})


@pytest.fixture
def client(qtbot, fake):
    client = EngineClient(lambda: fake)
    yield client
    assert client.shutdown(5000)


@pytest.fixture
def window(qtbot, client, settings):
    from editor.main_window import MainWindow

    window = MainWindow(client, settings)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.model.changed, timeout=TIMEOUT_MS):
        window.model.load("default")
    return window


def write_photo(path: Path, h: int = 48, w: int = 64, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    array = np.stack([x * 255 // w, y * 255 // h, np.full_like(x, 128)], -1).astype(np.uint8)
    array = np.clip(array.astype(int) + rng.integers(-20, 20, array.shape), 0, 255).astype(np.uint8)
    assert array_to_qimage(array).save(str(path))
    return path


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return write_photo(tmp_path / "photo.png")


def open_photo(qtbot, window, path: Path) -> None:
    from tests.editor._faces import open_in_window

    open_in_window(qtbot, window, path, TIMEOUT_MS)  # a photo without a face: through "Use the whole image"
    qtbot.waitUntil(lambda: window.edit.encoded is not None, timeout=TIMEOUT_MS)


def shown_edit(window) -> np.ndarray:
    return window.canvas.views["edited"].frame.array


def expected_edit(window, fake: FakeEngine) -> np.ndarray:
    """Decode, independently of the editor, what the sliders on screen say (the edit is an
    EditStack of one DimensionStep per moved slider, applied as the engine applies it)."""
    from engine.protocol import DimensionStep, EditStack

    info = window.model.info
    steps = [DimensionStep(dim=dim, amount=float(np.float32(row.value()))) for dim, row in sorted(window.latents.rows.items())
             if row.value()]
    z = EditStack(ops=tuple(steps)).apply(window.edit.encoded.z, info.stats.std, info.attributes)
    return fake.decode_latents(z[None])[0]


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """A tiny trained VAE checkpoint (32 px, 8-d) for the real-engine tests, trained once per run on
    one torch thread (on 2 shared cores more threads make this tiny training about 20× slower)."""
    tiny_models = pytest.importorskip("tests.tiny_models")
    from engine.devices import thread_budget

    with thread_budget(1):
        return tiny_models.tiny_checkpoint(tmp_path_factory.mktemp("model") / "tiny.safetensors", image_size=32, latent_dim=8)


REAL_ENGINE_TIMEOUT_MS = 60_000  # the first request imports torch inside the worker thread


@contextmanager
def real_engine_window(qtbot, settings, model_path, timeout_ms: int = REAL_ENGINE_TIMEOUT_MS):
    """The main window on the real engine (in the client's worker thread) with a model loaded."""
    from engine.service import Engine

    from editor.main_window import MainWindow

    client = EngineClient(Engine)
    window = MainWindow(client, settings)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.model.changed, timeout=timeout_ms):
        window.model.load(str(model_path), "cpu")
    yield window
    assert client.shutdown(10_000)
