"""Latent arithmetic A − B + C with a live result: whenever a slot changes (or a slot that follows
the current edit sees the edit change) the engine recomputes, newest request wins."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine.protocol import Arithmetic, ArithmeticResult, ModelInfo, Request, Response
from editor.client import EngineClient
from editor.controllers.edit import EditController
from editor.controllers.model import ModelController
from editor.controllers.sampling import SamplingController
from editor.controllers.terms import TermSlots
from editor.export import save_image

ARITHMETIC_LANE = "arithmetic"
KEYS = ("a", "b", "c")
PER_ITEM = 6  # when C is a set: also show A − B added to up to this many of its members


class ArithmeticController(QObject):
    resultReady = Signal(object)  # ArithmeticResult | None
    failed = Signal(str)
    saved = Signal(str)

    def __init__(self, client: EngineClient, model: ModelController, edit: EditController, sampling: SamplingController,
                 parent: QObject | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self._client = client
        self._edit = edit
        self.slots = TermSlots(KEYS, edit, sampling, self)
        self.slots.changed.connect(self._on_slot_changed)
        self.slots.failed.connect(self.failed)
        self.result: ArithmeticResult | None = None
        self.last_request_id = 0
        self.per_item = PER_ITEM
        client.answered.connect(self._on_answered)
        model.changed.connect(self._on_model_changed)

    def compute(self) -> int:
        """Ask for A − B + C (when all three slots are filled)."""
        if not self.slots.ready():
            return 0
        t = self.slots.terms()
        self.last_request_id = self._client.submit(Arithmetic(a=t["a"], b=t["b"], c=t["c"], per_item=self.per_item), ARITHMETIC_LANE)
        return self.last_request_id

    def save_result(self, path: str | Path) -> Path | None:
        if self.result is None:
            self.failed.emit("No result to save yet: fill the three slots")
            return None
        try:
            out = save_image(self.result.image, path)
        except (ValueError, OSError) as exc:
            self.failed.emit(str(exc))
            return None
        self.saved.emit(str(out))
        return out

    def edit_result(self) -> bool:
        """Edit the result like a sample (it has no photo)."""
        if self.result is None:
            return False
        labels = [self.slots.slots[k].label if self.slots.slots[k] else "?" for k in KEYS]
        self._edit.adopt(self.result.z, self.result.image, f"{labels[0]} − {labels[1]} + {labels[2]}")
        return True

    def _on_slot_changed(self, key: str, slot) -> None:
        if self.slots.ready():
            self.compute()
        else:
            self._client.cancel(ARITHMETIC_LANE)
            if self.result is not None:
                self.result = None
                self.resultReady.emit(None)

    def _on_answered(self, lane: str, request: Request, response: Response) -> None:
        if not isinstance(request, Arithmetic) or request.request_id != self.last_request_id:
            return
        if isinstance(response, ArithmeticResult):  # an ErrorResponse is shown by the window
            self.result = response
            self.resultReady.emit(response)

    def _on_model_changed(self, info: ModelInfo) -> None:
        self._client.cancel(ARITHMETIC_LANE)
        self.result = None
        self.resultReady.emit(None)
        self.slots.forget_latents()  # files and groups are encoded again by the new model
        self.compute()
