"""The contract between the editor and the engine.

Plain frozen, slotted dataclasses of numpy arrays, numbers and strings: stdlib + numpy
only, so the engine could move to another process or machine without the editor changing.
Every request carries a ``request_id``; the response to it carries the same id, so a
client can drop stale answers. Failures come back as :class:`ErrorResponse` values —
``Engine.handle`` never raises into the caller.

Image convention: ``uint8`` arrays, ``N×H×W×3`` (or ``H×W×3`` for one image), RGB.
Latent convention: ``float32`` arrays, ``N×D`` (or ``D``).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

_ids = itertools.count(1)


def next_request_id() -> int:
    """Monotonic ids; process-wide, thread-safe enough (``itertools.count`` is atomic in CPython)."""
    return next(_ids)


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    request_id: int = field(default_factory=next_request_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadModel(Request):
    """Load a bundled model by name (``"default"``) or a checkpoint path."""

    source: str = "default"
    device: str = "auto"


@dataclass(frozen=True, slots=True, kw_only=True)
class Encode(Request):
    """Encode one photo (any size, ``H×W×3`` uint8). Answered by :class:`Encoded`."""

    image: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class Decode(Request):
    """Decode latents (``N×D`` or ``D``). ``preview`` marks a cheap, mid-drag request."""

    z: np.ndarray
    preview: bool = False
    labels: dict[str, float] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample(Request):
    """Draw ``n`` images from the prior N(0, temperature² I)."""

    n: int = 16
    seed: int = 0
    temperature: float = 1.0
    labels: dict[str, float] | None = None
    prior: str = "auto"


@dataclass(frozen=True, slots=True, kw_only=True)
class GetLatentStats(Request):
    """Ask for the current model's per-dimension statistics and attribute directions."""


# --------------------------------------------------------------------------- responses


@dataclass(frozen=True, slots=True, kw_only=True)
class Response:
    request_id: int
    elapsed_ms: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class LatentStats:
    """Per-dimension statistics of the posterior means over the training set.

    ``mean``/``std`` scale sliders in σ units; ``kl`` (mean KL per dimension, nats) orders
    them by information and marks dead dimensions (``kl < ACTIVE_KL_NATS``).
    """

    mean: np.ndarray
    std: np.ndarray
    kl: np.ndarray

    @property
    def active(self) -> np.ndarray:
        return self.kl >= ACTIVE_KL_NATS

    def order_by_information(self) -> np.ndarray:
        """Dimension indices, most informative first."""
        return np.argsort(-self.kl, kind="stable")


ACTIVE_KL_NATS = 0.01  # a dimension carrying less than this is "dead" (posterior ≈ prior)


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelInfo(Response):
    """Answer to :class:`LoadModel` and :class:`GetLatentStats`."""

    name: str
    family: str
    image_size: int
    channels: int
    latent_dim: int
    labels: tuple[str, ...]
    device: str
    stats: LatentStats
    attributes: dict[str, np.ndarray]
    description: str = ""
    priors: tuple[str, ...] = ("standard",)  # what Sample.prior accepts besides "auto", best first


@dataclass(frozen=True, slots=True, kw_only=True)
class Encoded(Response):
    """The latent (posterior mean) of a photo and its reconstruction at model resolution."""

    z: np.ndarray  # D
    reconstruction: np.ndarray  # S×S×3 uint8
    aligned: np.ndarray  # S×S×3 uint8: the crop the model actually saw


@dataclass(frozen=True, slots=True, kw_only=True)
class Decoded(Response):
    images: np.ndarray  # N×S×S×3 uint8
    preview: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Sampled(Response):
    images: np.ndarray  # N×S×S×3 uint8
    z: np.ndarray  # N×D


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorResponse(Response):
    """A failure, as a value. ``message`` is one line meant for a person."""

    message: str
    kind: str = "error"  # exception class name, for programs


# --------------------------------------------------------------------------- engine factory

#: Where the engine implementation lives. The editor never imports engine internals: it asks
#: the protocol to build the engine (inside its worker thread, so the heavy import of torch
#: never blocks the window), exactly as it would connect to an engine in another process.
ENGINE_FACTORY = "engine.service:Engine"


def create_engine(spec: str = ENGINE_FACTORY, **kwargs):
    """Import and construct the engine named by ``"module:attribute"``. Returns an object
    with ``handle(request) -> Response``."""
    import importlib

    module_name, _, attr = spec.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    return factory(**kwargs)
