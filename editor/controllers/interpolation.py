"""Interpolation between two latents (A, B: the current edit, a photo, samples ...): the engine
decodes the path (linear or slerp, optionally re-timed to even pixel steps); the frames are
scrubbed and played in the panel and exported by the engine (GIF, MP4, PNG strip).

A chosen frame goes onto the open photo like arithmetic's result (one undoable AddVector to the
frame's latent, pasted back at full resolution: :mod:`editor.controllers.photo_apply`); without a
photo it is edited like a sample."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Signal

from engine.protocol import ExportAnimation, Interpolate
from editor.client import EngineClient, Ticket
from editor.controllers.edit import EditController
from editor.controllers.model import ModelController
from editor.controllers.sampling import SamplingController
from editor.controllers.terms import LiveTermsController

INTERPOLATE_LANE = "interpolate"
KEYS = ("a", "b")
MODES = ("slerp", "linear")


class InterpolationController(LiveTermsController):
    framesReady = Signal(object)  # Interpolated | None
    exported = Signal(str)  # path
    lane, failure_title = INTERPOLATE_LANE, "Interpolation failed"

    def __init__(self, client: EngineClient, model: ModelController, edit: EditController, sampling: SamplingController,
                 parent: QObject | None = None) -> None:  # fmt: skip
        super().__init__(KEYS, client, model, edit, sampling, parent)
        self.steps, self.mode, self.even = 16, "slerp", False

    def set_options(self, steps: int | None = None, mode: str | None = None, even: bool | None = None) -> None:
        if mode is not None and mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.steps = self.steps if steps is None else int(steps)
        self.mode = self.mode if mode is None else mode
        self.even = self.even if even is None else bool(even)
        self.compute()

    def build_request(self, t) -> Interpolate:
        return Interpolate(a=t["a"], b=t["b"], steps=self.steps, mode=self.mode, even=self.even)

    def publish(self, result) -> None:
        self.framesReady.emit(result)

    def export(self, path: str | Path, fps: float = 12.0, scale: int = 1, boomerang: bool = False, overwrite: bool = False) -> Ticket | None:
        """Write the frames on screen (GIF / MP4 / PNG strip by the suffix); the engine writes the file."""
        if self.result is None:
            self.failed.emit("Nothing to export yet: choose A and B")
            return None
        request = ExportAnimation(path=str(path), frames=self.result.frames, fps=float(fps), scale=int(scale), boomerang=boomerang,
                                  overwrite=overwrite)  # fmt: skip
        return self._client.call(request, None, done=lambda written: self.exported.emit(written.path),  # queued: never dropped
                                 failed=lambda error: self.failed.emit(f"Could not export the animation: {error.message}"))

    def edit_frame(self, index: int, may_replace: Callable[[str], bool] = lambda action: True) -> bool:
        """Use frame ``index``: on the open photo as one undo step, else edited like a sample once
        ``may_replace`` lets the current document go."""
        if self.result is None or not 0 <= index < len(self.result.z):
            return False
        label = self.frame_label(index)
        if self.applies_to_photo:
            return self.apply_latent(self.result.z[index], label, f"Interpolation: {label}")
        if not may_replace("editing the interpolation frame"):
            return False
        self._edit.adopt(self.result.z[index], self.result.frames[index], f"interpolation {label}")
        return True

    def frame_label(self, index: int) -> str:
        """"frame 3/8 from A to B" in the slots' words."""
        ends = [s.label if (s := self.slots.slots[k]) is not None else "?" for k in KEYS]
        return f"frame {index + 1}/{len(self.result.z)} from {ends[0]} to {ends[1]}"
