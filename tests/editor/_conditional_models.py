"""Helpers for the conditional-model GUI tests: tiny real cVAE checkpoints (a multi-label one with
a realism calibration, a one-hot one without), a real engine that records its requests and can be
told to fail one, and a main window on it."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from tests.editor.conftest import TIMEOUT_MS  # noqa: F401 - re-exported for the tests

REAL_TIMEOUT_MS = 60_000  # the first request imports torch inside the worker thread


def _train(build):
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors on 2 shared cores: one thread is fastest
    try:
        return build()
    finally:
        torch.set_num_threads(before)


@pytest.fixture(scope="session")
def multi_cvae(tmp_path_factory):
    """A 32 px RGB cVAE with attributes Bright and Red, calibrated on 64 held-out images."""

    def build():
        from engine.data.datasets import ImageSet
        from engine.likelihood import calibrate
        from tests.engine._conditional import labelled_images, save, tiny_cvae

        net = tiny_cvae("multi", steps=80, size=32, channels=3)
        x, y = labelled_images(64, 32, 3, seed=5)
        cal = calibrate(net, "cvae", ImageSet((x * 255).round().byte()), y, k=4)["realism"]
        return save(net, tmp_path_factory.mktemp("cvae") / "multi.safetensors", info={"description": "tiny", "realism": cal.to_dict()})

    return _train(build)


@pytest.fixture(scope="session")
def onehot_cvae(tmp_path_factory):
    """A 28 px grey cVAE with classes dark and bright, no realism calibration."""

    def build():
        from tests.engine._conditional import CLASSES, save, tiny_cvae

        net = tiny_cvae("onehot", steps=60, size=28, channels=1)
        return save(net, tmp_path_factory.mktemp("cvae") / "onehot.safetensors", names=CLASSES)

    return _train(build)


@pytest.fixture(scope="session")
def calibrated_cgan(tmp_path_factory):
    """A 32 px cGAN (attributes Bright and Red) with its encoder, calibrated on 64 held-out images."""

    def build():
        from engine.data.datasets import ImageSet
        from engine.likelihood import calibrate
        from tests.engine._conditional import labelled_images, save, tiny_cgan

        net = tiny_cgan("ns", steps=10)
        x, y = labelled_images(64, 32, 3, seed=5)
        cal = calibrate(net, "cgan", ImageSet((x * 255).round().byte()), y, k=0)["realism"]
        return save(net, tmp_path_factory.mktemp("cgan") / "cgan.safetensors", info={"description": "tiny", "realism": cal.to_dict()})

    return _train(build)


@pytest.fixture(scope="session")
def tiny_vae(tmp_path_factory):
    from tests.tiny_models import tiny_checkpoint

    return _train(lambda: tiny_checkpoint(tmp_path_factory.mktemp("vae") / "tiny.safetensors", image_size=32, latent_dim=8))


def recording_engine_class():
    from engine import protocol as p
    from engine.service import Engine

    class RecordingEngine(Engine):
        """The real engine; keeps every request and answers ``fail[type]`` (once) as an error."""

        def __init__(self) -> None:
            super().__init__()
            self.requests: list = []
            self.fail: dict[type, str] = {}
            self._lock = threading.Lock()

        def handle(self, request):
            with self._lock:
                self.requests.append(request)
                message = self.fail.pop(type(request), None)
            if message is not None:
                return p.ErrorResponse(request_id=request.request_id, message=message, kind="TestError")
            return super().handle(request)

        def of(self, kind) -> list:
            with self._lock:
                return [r for r in self.requests if isinstance(r, kind)]

    return RecordingEngine


class RealWindow:
    """A MainWindow on a RecordingEngine (``.engine`` once the worker built it)."""

    def __init__(self, qtbot, settings) -> None:
        from editor.client import EngineClient
        from editor.main_window import MainWindow

        cls = recording_engine_class()
        self.engines: list = []
        self.client = EngineClient(lambda: self.engines.append(cls()) or self.engines[-1])
        self.window = MainWindow(self.client, settings)
        qtbot.addWidget(self.window)
        self.window.show()
        self.qtbot = qtbot

    @property
    def engine(self):
        return self.engines[-1]

    def load(self, source) -> None:
        with self.qtbot.waitSignal(self.window.model.changed, timeout=REAL_TIMEOUT_MS):
            self.window.model.load(str(source), "cpu")


@pytest.fixture
def real(qtbot, settings):
    rw = RealWindow(qtbot, settings)
    yield rw
    assert rw.client.shutdown(10_000)


def independent_engine(source):
    """A second engine on the same checkpoint: what the editor shows must equal its answers."""
    from engine import protocol as p
    from engine.service import Engine

    e = Engine()
    info = e.handle(p.LoadModel(source=str(source), device="cpu"))
    assert isinstance(info, p.ModelInfo), getattr(info, "message", info)
    return e


def differs(a: np.ndarray, b: np.ndarray) -> int:
    """How many pixel values differ."""
    return int(np.count_nonzero(np.asarray(a) != np.asarray(b)))
