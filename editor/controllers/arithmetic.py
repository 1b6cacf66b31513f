"""Latent arithmetic A − B + C with a live result: whenever a slot changes (or a slot that follows
the current edit sees the edit change) the engine recomputes, newest request wins.

The result is used on the open photo, not instead of it: the latent offset that takes the photo's
edited latent to the result is one ``AddVector`` pushed onto its edit (one undo step, named by the
sum), rendered through the photo loop and pasted back into the full-resolution photo. With C set to
the current edit that offset is A − B: the notes' "glasses − man + woman" on one's own portrait.
Without a photo the result is edited like a sample.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal

from engine.protocol import AddVector, Arithmetic
from editor.client import EngineClient
from editor.controllers.edit import EditController
from editor.controllers.model import ModelController
from editor.controllers.sampling import SamplingController
from editor.controllers.terms import LiveTermsController
from editor.export import save_image

ARITHMETIC_LANE = "arithmetic"
KEYS = ("a", "b", "c")
PER_ITEM = 6  # when C is a set: also show A − B added to up to this many of its members
MAX_LABEL = 200  # an edit operation's label, as recipes and sessions accept it


class ArithmeticController(LiveTermsController):
    resultReady = Signal(object)  # ArithmeticResult | None
    saved = Signal(str)
    photoOpen = Signal(bool)  # the result would go onto an open photo (True) or be edited like a sample
    lane, failure_title = ARITHMETIC_LANE, "Latent arithmetic failed"

    def __init__(self, client: EngineClient, model: ModelController, edit: EditController, sampling: SamplingController,
                 parent: QObject | None = None) -> None:  # fmt: skip
        super().__init__(KEYS, client, model, edit, sampling, parent)
        self.per_item = PER_ITEM
        edit.encodedChanged.connect(lambda encoded: self.photoOpen.emit(self.applies_to_photo))

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

    @property
    def applies_to_photo(self) -> bool:
        """A photo (not a sample) is open and editable: the result goes onto it."""
        return self._edit.edit is not None and not self._edit.is_sample

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
        if self.result is None or not self.applies_to_photo:
            return False
        if not self.up_to_date:
            self.failed.emit("The result is still being computed: try again in a moment")
            return False
        offset = self.offset()
        label = self.sum_label()[:MAX_LABEL]
        after = self._edit.stack.push(AddVector(vector=tuple(float(v) for v in offset), amount=1.0, label=label))
        self._edit.change(after, f"Arithmetic: {label}")
        return True

    def offset(self) -> np.ndarray:
        """A − B + C minus the edited latent. A slot that follows the edit is read as the edit is
        now (its result may be a render behind), so with C = the current edit this is A − B exactly."""
        now = self._edit.edited_latent().astype(np.float64)
        terms = np.asarray(self.result.terms_z, np.float64).copy()
        for i, key in enumerate(KEYS):
            slot = self.slots.slots[key]
            if slot is not None and slot.follows_edit:
                terms[i] = now
        return terms[0] - terms[1] + terms[2] - now

    def sum_label(self) -> str:
        """"A − B + C" in the slots' words, e.g. "glasses.png − man.png + current edit"."""
        labels = [self.slots.slots[k].label if self.slots.slots[k] else "?" for k in KEYS]
        return f"{labels[0]} − {labels[1]} + {labels[2]}"
