"""Latent arithmetic A − B + C with a live result: whenever a slot changes (or a slot that follows
the current edit sees the edit change) the engine recomputes, newest request wins.

The result is used on the open photo, not instead of it: the latent offset that takes the photo's
edited latent to the result is one ``AddVector`` pushed onto its edit (one undo step, named by the
sum), rendered through the photo loop and pasted back into the full-resolution photo. With C set to
the current edit that offset is A − B: the notes' "glasses − man + woman" on one's own portrait.
Without a photo the result is edited like a sample. (The interpolation panel's frames go onto
the photo the same way: :mod:`editor.controllers.photo_apply`.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
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

    def edit_result(self, may_replace: Callable[[str], bool] = lambda action: True) -> bool:
        """Use the result: on the open photo (:meth:`apply_to_photo`), else edited like a sample
        (it has no photo) once ``may_replace`` lets the current document go."""
        if self.result is None:
            return False
        if self.applies_to_photo:
            return self.apply_to_photo()
        if not may_replace("editing the arithmetic result"):
            return False
        self._edit.adopt(self.result.z, self.result.image, self.sum_label())
        return True

    def apply_to_photo(self) -> bool:
        """Add the result's offset to the open photo's edit as one undoable step."""
        if self.result is None:
            return False
        label = self.sum_label()
        return self.apply_latent(self.target(), label, f"Arithmetic: {label}")

    def target(self) -> np.ndarray:
        """A − B + C, with a slot that follows the edit read as the edit is now (its result may be
        a render behind): with C = the current edit the photo's offset is A − B exactly."""
        now = self._edit.edited_latent().astype(np.float64)
        terms = np.asarray(self.result.terms_z, np.float64).copy()
        for i, key in enumerate(KEYS):
            slot = self.slots.slots[key]
            if slot is not None and slot.follows_edit:
                terms[i] = now
        return terms[0] - terms[1] + terms[2]

    def sum_label(self) -> str:
        """"A − B + C" in the slots' words, e.g. "glasses.png − man.png + current edit"."""
        labels = [self.slots.slots[k].label if self.slots.slots[k] else "?" for k in KEYS]
        return f"{labels[0]} − {labels[1]} + {labels[2]}"
