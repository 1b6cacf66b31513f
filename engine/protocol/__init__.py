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

from dataclasses import dataclass, field

import numpy as np

from engine.protocol.abandon import Abandoned, answer_wanted, still_wanted  # noqa: F401 - re-exported
from engine.protocol.messages import Request, Response, next_request_id

# --------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadModel(Request):
    """Load a bundled model by name (``"default"``) or a checkpoint path."""

    source: str = "default"
    device: str = "auto"


@dataclass(frozen=True, slots=True, kw_only=True)
class Encode(Request):
    """Encode one photo (any size, ``H×W×3`` uint8). Answered by :class:`Encoded`.
    ``detector``: "none" (the image as given: centre square, resized) or "auto" (an image at the
    model's size as given, any other aligned on its face as OpenPhoto does; no face: an
    ErrorResponse of kind "NoFaceError"). ``name`` names the image in that message."""

    image: np.ndarray
    detector: str = "none"
    name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Decode(Request):
    """Decode latents (``N×D`` or ``D``). ``preview`` marks a cheap, mid-drag request. ``photo``:
    decode with the open photo's model — its per-photo fitted decoder once fitted, so that a
    traversal strip shows this face, not the model's idea of it (an error when no photo is open)."""

    z: np.ndarray
    preview: bool = False
    labels: dict[str, float] | None = None
    photo: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample(Request):
    """Draw ``n`` images. ``prior``: "auto" (the model's best: "aggregate" when it has one),
    "aggregate" (a Gaussian fitted to the training set's latents) or "standard" (N(0, I)); the
    temperature scales the spread around the prior's mean."""

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
    # conditional models (issue 6); unconditional ones: "", (), None
    label_mode: str = ""  # "multi" (independent attributes, multi-hot) | "onehot" (one class of L)
    label_prior: tuple[float, ...] = ()  # per label: training frequency (multi) or class share (onehot)
    realism: "RealismCalibration | None" = None  # how the realism gauge is calibrated; None: it is not

    @property
    def conditional(self) -> bool:
        return bool(self.labels) and bool(self.label_mode)


@dataclass(frozen=True, slots=True, kw_only=True)
class Encoded(Response):
    """The latent (posterior mean) of a photo and its reconstruction at model resolution."""

    z: np.ndarray  # D
    reconstruction: np.ndarray  # S×S×3 uint8
    aligned: np.ndarray  # S×S×3 uint8: the crop the model actually saw
    labels: dict[str, float] = field(default_factory=dict)  # conditional models: the estimated labels (reconstruction uses them)


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


# The other domains' messages, each in its own module, re-exported: import them from ``engine.protocol``.
from engine.protocol.edits import (  # noqa: E402 - re-exported
    EDIT_OPS, MAX_RECIPE_OPS, MAX_RECIPE_VECTOR, MIN_STD, RECIPE_FORMAT, RECIPE_VERSION, AddVector, AttributeStep, Blend,
    DimensionStep, EditOp, EditStack, attribute_step_vector, name_value_pairs, parse_labels, read_recipe, recipe_json,
)
from engine.protocol.photo import (  # noqa: E402 - re-exported
    ChooseFace, ExportLayers, ExportPhoto, Exported, LoadSession, OpenPhoto, PhotoFace, PhotoOpened, Rendered, RenderEdit,
    SaveSession, SessionLoaded, SessionSaved,
)
from engine.protocol.semantics import (  # noqa: E402 - re-exported
    Arithmetic, ArithmeticResult, AttributeDirectionSet, AttributeDirections, AttributeInfo, CreateUserAttribute,
    DeleteUserAttribute, ExportAnimation, ExportUserAttribute, FileWritten, GetPCAAxes, ImportUserAttribute, Interpolate,
    Interpolated, LatentTerm, ListUserAttributes, PCAAxes, UserAttributeList, UserAttributeSaved, UserAttributeSummary,
)
from engine.protocol.fit import FitPhoto, FitStatus, RestoreFit  # noqa: E402 - re-exported
from engine.protocol.conditional import (  # noqa: E402 - re-exported
    AdoptLatent, LATENT_RMS_LIMIT, ListModels, ModelEntry, ModelList, Realism, RealismCalibration, RealismScore, Refine,
    Refined,
)
