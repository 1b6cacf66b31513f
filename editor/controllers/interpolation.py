"""Interpolation between two latents (A, B: the current edit, a photo, samples ...): the engine
decodes the path (linear or slerp, optionally re-timed to even pixel steps); the frames are
scrubbed and played in the panel and exported by the engine (GIF, MP4, PNG strip)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from engine.protocol import ExportAnimation, FileWritten, Interpolate, Interpolated, ModelInfo, Request, Response
from editor.client import EngineClient
from editor.controllers.edit import EditController
from editor.controllers.model import ModelController
from editor.controllers.sampling import SamplingController
from editor.controllers.terms import TermSlots

INTERPOLATE_LANE = "interpolate"
KEYS = ("a", "b")
MODES = ("slerp", "linear")


class InterpolationController(QObject):
    framesReady = Signal(object)  # Interpolated | None
    exported = Signal(str)  # path
    failed = Signal(str)

    def __init__(self, client: EngineClient, model: ModelController, edit: EditController, sampling: SamplingController,
                 parent: QObject | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self._client = client
        self._edit = edit
        self.slots = TermSlots(KEYS, edit, sampling, self)
        self.slots.changed.connect(lambda *_: self.compute())
        self.slots.failed.connect(self.failed)
        self.steps, self.mode, self.even = 16, "slerp", False
        self.result: Interpolated | None = None
        self.last_request_id = 0
        self._exports: set[int] = set()
        client.answered.connect(self._on_answered)
        model.changed.connect(self._on_model_changed)

    def set_options(self, steps: int | None = None, mode: str | None = None, even: bool | None = None) -> None:
        if mode is not None and mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.steps = self.steps if steps is None else int(steps)
        self.mode = self.mode if mode is None else mode
        self.even = self.even if even is None else bool(even)
        self.compute()

    def compute(self) -> int:
        if not self.slots.ready():
            self._client.cancel(INTERPOLATE_LANE)
            if self.result is not None:
                self.result = None
                self.framesReady.emit(None)
            return 0
        t = self.slots.terms()
        request = Interpolate(a=t["a"], b=t["b"], steps=self.steps, mode=self.mode, even=self.even)
        self.last_request_id = self._client.submit(request, INTERPOLATE_LANE)
        return self.last_request_id

    def export(self, path: str | Path, fps: float = 12.0, scale: int = 1, boomerang: bool = False, overwrite: bool = False) -> int:
        """Write the frames on screen (GIF / MP4 / PNG strip by the suffix); the engine writes the file."""
        if self.result is None:
            self.failed.emit("Nothing to export yet: choose A and B")
            return 0
        request = ExportAnimation(path=str(path), frames=self.result.frames, fps=float(fps), scale=int(scale), boomerang=boomerang,
                                  overwrite=overwrite)  # fmt: skip
        rid = self._client.submit(request, None)  # queued: an export is never dropped
        self._exports.add(rid)
        return rid

    def edit_frame(self, index: int) -> bool:
        if self.result is None or not 0 <= index < len(self.result.z):
            return False
        self._edit.adopt(self.result.z[index], self.result.frames[index], f"interpolation frame {index + 1}/{len(self.result.z)}")
        return True

    def _on_answered(self, lane: str, request: Request, response: Response) -> None:
        rid = request.request_id
        if isinstance(request, ExportAnimation) and rid in self._exports:
            self._exports.discard(rid)
            if isinstance(response, FileWritten):
                self.exported.emit(response.path)
        elif isinstance(request, Interpolate) and rid == self.last_request_id:
            if isinstance(response, Interpolated):
                self.result = response
                self.framesReady.emit(response)

    def _on_model_changed(self, info: ModelInfo) -> None:
        self._client.cancel(INTERPOLATE_LANE)
        self.result = None
        self.framesReady.emit(None)
        self.slots.forget_latents()
        self.compute()
