"""The one base of the engine's handler classes: what a handler needs of the engine it serves.

A handler class answers one domain's requests (``handlers()`` maps request types to methods
``(request, t0) -> response``); ``engine.service.Engine`` registers them. Handlers raise, and
``Engine.handle`` turns the exception into an ErrorResponse. What a handler reads of the engine is
typed by :class:`EngineHost`.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Callable, Protocol

import numpy as np

if TYPE_CHECKING:
    from pathlib import Path

    from engine.api import Model
    from engine.data.align import FaceFinder
    from engine.protocol import Response

#: ``handler(request, t0)``: t0 is ``time.perf_counter()`` when the request arrived.
Handler = Callable[[Any, float], "Response"]


#: How many aligned crops the engine remembers (HandlerBase.model_crop): a few slots' photos.
CROPS_KEPT = 8


class NoModelLoaded(RuntimeError):
    pass


class EngineHost(Protocol):
    """What handlers read of the engine: the loaded model, the interactive thread budget, the face
    finder (None: dlib) and the models it offers by name."""

    model: Model | None
    interactive_threads: int
    face_finder: FaceFinder | None
    crops: OrderedDict  # HandlerBase.model_crop's memory

    def model_files(self) -> list[Path]: ...


def elapsed_ms(t0: float) -> float:
    """Milliseconds since ``t0`` (a ``time.perf_counter()`` reading): every answer's ``elapsed_ms``."""
    return (time.perf_counter() - t0) * 1000.0


class HandlerBase:
    def __init__(self, engine: EngineHost) -> None:
        self.engine = engine

    def handlers(self) -> dict[type, Handler]:
        raise NotImplementedError

    @property
    def model(self) -> Model | None:
        return self.engine.model

    def require_model(self) -> Model:
        model = self.engine.model
        if model is None:
            raise NoModelLoaded("no model is loaded yet")
        return model

    def model_crop(self, image: np.ndarray, size: int, detector: str, name: str) -> np.ndarray:
        """:func:`engine.data.align.crop_for_model` with the engine's face finder, remembered for the
        last few images: a photo in an Arithmetic or Interpolate slot is aligned once (and for the
        slot's preview), not again at every recompute — an interpolation from the edit recomputes
        at every slider move."""
        from engine.data.align import crop_for_model

        image = np.asarray(image)
        if image.shape[:2] == (int(size), int(size)):  # a crop already: used as it is, nothing to remember
            return crop_for_model(image, size, detector=self.detector(detector), name=name)
        key = (hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).digest(), image.shape, str(image.dtype),
               int(size), detector)  # fmt: skip
        crops = self.engine.crops
        if key in crops:
            crops.move_to_end(key)
            return crops[key].copy()
        crop = crop_for_model(image, size, detector=self.detector(detector), name=name)
        crops[key] = crop.copy()
        while len(crops) > CROPS_KEPT:
            crops.popitem(last=False)
        return crop

    def detector(self, name: str) -> str | FaceFinder:
        """What to detect faces with for a request's detector name: the engine's own face finder
        where ``auto``/``dlib`` would run dlib."""
        finder = self.engine.face_finder
        return finder if finder is not None and name in ("auto", "dlib") else name

    def budget(self) -> AbstractContextManager:
        """Interactive model work runs on its own small thread budget, so a training run beside
        the app cannot starve a slider drag."""
        from engine.devices import thread_budget  # torch: only when a handler runs

        return thread_budget(self.engine.interactive_threads)
