"""Sampling mode: draw a grid from the prior N(0, T²I) (conditional models: with ``labels``);
pick one to edit it."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from engine.protocol import ModelInfo, Sample, Sampled
from editor.client import EngineClient, Ticket
from editor.controllers.edit import EditController
from editor.controllers.model import ModelController

SAMPLE_LANE = "sample"


class SamplingController(QObject):
    ready = Signal(object)  # Sampled
    cleared = Signal()
    failed = Signal(str)

    def __init__(self, client: EngineClient, model: ModelController, edit: EditController,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._client = client
        self._edit = edit
        self.result: Sampled | None = None
        self.seed = 0
        self.temperature = 1.0
        self.n = 16
        self.labels: dict[str, float] | None = None  # conditional models: the grid's labels (None: the prior)
        self._result_labels: dict[str, float] | None = None  # the labels the shown grid was drawn with
        model.changed.connect(self._on_model_changed)

    def sample(self, n: int = 16, seed: int = 0, temperature: float = 1.0) -> Ticket:
        self.seed, self.temperature, self.n = seed, temperature, n
        labels = self.labels
        return self._client.call(Sample(n=n, seed=seed, temperature=temperature, labels=labels), SAMPLE_LANE,
                                 done=lambda sampled: self._on_sampled(sampled, labels),
                                 failed=lambda error: self.failed.emit(f"Sampling failed: {error.message}"))

    def set_labels(self, labels: dict[str, float] | None, redraw: bool = True) -> Ticket | None:
        """Draw the grid with ``labels`` from now on; ``redraw``: the current grid again (same seed,
        temperature and size) with them, latest wins. Returns the request's ticket (None: nothing drawn)."""
        self.labels = None if labels is None else dict(labels)
        if redraw and self.result is not None:
            return self.sample(self.n, self.seed, self.temperature)
        return None

    def choose(self, index: int) -> None:
        """Edit sample ``index`` of the current grid like a photo."""
        if self.result is None or not 0 <= index < len(self.result.z):
            return
        self._edit.adopt(self.result.z[index], self.result.images[index],
                         f"sample {index} (seed {self.seed}, T={self.temperature:g})", labels=self._result_labels)

    def _on_sampled(self, sampled: Sampled, labels: dict[str, float] | None) -> None:
        self.result = sampled
        self._result_labels = labels
        self.ready.emit(sampled)

    def _on_model_changed(self, info: ModelInfo) -> None:
        self._client.cancel(SAMPLE_LANE)
        self.result = None
        self.labels = self._result_labels = None  # the labels of the previous model
        self.cleared.emit()
