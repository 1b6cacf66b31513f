"""Sampling mode: draw a grid from the prior N(0, T²I); pick one to edit it."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from engine.protocol import ModelInfo, Sample, Sampled
from editor.client import EngineClient
from editor.controllers.edit import EditController
from editor.controllers.model import ModelController

SAMPLE_LANE = "sample"


class SamplingController(QObject):
    ready = Signal(object)  # Sampled
    cleared = Signal()

    def __init__(self, client: EngineClient, model: ModelController, edit: EditController,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._client = client
        self._edit = edit
        self.result: Sampled | None = None
        self.seed = 0
        self.temperature = 1.0
        self._last_id = 0
        client.sampled.connect(self._on_sampled)
        model.changed.connect(self._on_model_changed)

    def sample(self, n: int = 16, seed: int = 0, temperature: float = 1.0) -> int:
        self.seed, self.temperature = seed, temperature
        self._last_id = self._client.submit(Sample(n=n, seed=seed, temperature=temperature), SAMPLE_LANE)
        return self._last_id

    def choose(self, index: int) -> None:
        """Edit sample ``index`` of the current grid like a photo."""
        if self.result is None or not 0 <= index < len(self.result.z):
            return
        self._edit.adopt(self.result.z[index], self.result.images[index],
                         f"sample {index} (seed {self.seed}, T={self.temperature:g})")

    def _on_sampled(self, sampled: Sampled) -> None:
        if sampled.request_id == self._last_id:
            self.result = sampled
            self.ready.emit(sampled)

    def _on_model_changed(self, info: ModelInfo) -> None:
        self._client.cancel(SAMPLE_LANE)
        self.result = None
        self.cleared.emit()
