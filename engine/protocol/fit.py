"""Per-photo fit messages: tune the model to the open photo's face in the background, a slice at a
time, and give a restarted engine the fit back.

The fit is slow work (seconds) on the same engine that renders the edit, so it is asked for in
slices (:class:`FitPhoto`, about ``seconds`` of work each): the editor sends the next slice when
one is answered, and renders of the edit waiting in between go first, so sliders stay live. To
stop, send ``FitPhoto(stop=True)``: the best weights so far are kept. When the fit ends, the
answer carries the fitted photo (its pivot latent and fitted reconstruction) and the tuned
weights, which :class:`RestoreFit` gives back to an engine that restarted empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from engine.protocol.messages import Request, Response

if TYPE_CHECKING:
    from engine.protocol.photo import PhotoOpened


@dataclass(frozen=True, slots=True, kw_only=True)
class FitPhoto(Request):
    """One slice of the open photo's fit. ``start``: begin a new fit of ``steps`` steps (a fit in
    progress is dropped); else continue the one in progress. ``stop``: end it now, keeping the best
    weights so far. Answered by :class:`FitStatus`."""

    start: bool = False
    stop: bool = False
    steps: int = 200
    seconds: float = 0.3


@dataclass(frozen=True, slots=True, kw_only=True)
class FitStatus(Response):
    """Where the fit stands. ``psnr_db``: of the fitted decode of the pivot against the aligned
    crop at the latest check (``psnr_before``: the unfitted model's). When ``done``: ``fitted``
    says whether the photo now renders with the fitted model (``opened``: the photo with its
    pivot and fitted reconstruction; ``weights``/``facts``: the tuned tensors as safetensors bytes
    and their facts, for :class:`RestoreFit`); ``message`` says why not (diverged, nothing gained)."""

    step: int
    steps: int
    psnr_before: float
    psnr_db: float
    seconds: float
    done: bool = False
    fitted: bool = False
    stopped: bool = False
    message: str = ""
    opened: PhotoOpened | None = None
    weights: bytes | None = None
    facts: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RestoreFit(Request):
    """Put a fit back on the open photo (after an engine restart): the ``weights`` and ``facts`` of
    a :class:`FitStatus`, at its pivot ``z`` (and ``labels``). Answered by ``PhotoOpened``."""

    weights: bytes
    facts: dict
    z: np.ndarray
    labels: dict[str, float] = field(default_factory=dict)
