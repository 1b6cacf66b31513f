"""Latent arithmetic A − B + C with a live result: whenever a slot changes (or a slot that follows
the current edit sees the edit change) the engine recomputes, newest request wins."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine.protocol import Arithmetic
from editor.client import EngineClient
from editor.controllers.edit import EditController
from editor.controllers.model import ModelController
from editor.controllers.sampling import SamplingController
from editor.controllers.terms import LiveTermsController
from editor.export import save_image

ARITHMETIC_LANE = "arithmetic"
KEYS = ("a", "b", "c")
PER_ITEM = 6  # when C is a set: also show A − B added to up to this many of its members


class ArithmeticController(LiveTermsController):
    resultReady = Signal(object)  # ArithmeticResult | None
    saved = Signal(str)
    lane, failure_title = ARITHMETIC_LANE, "Latent arithmetic failed"

    def __init__(self, client: EngineClient, model: ModelController, edit: EditController, sampling: SamplingController,
                 parent: QObject | None = None) -> None:  # fmt: skip
        super().__init__(KEYS, client, model, edit, sampling, parent)
        self.per_item = PER_ITEM

    def build_request(self, t) -> Arithmetic:
        """A − B + C (sent when all three slots are filled)."""
        return Arithmetic(a=t["a"], b=t["b"], c=t["c"], per_item=self.per_item)

    def publish(self, result) -> None:
        self.resultReady.emit(result)

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
