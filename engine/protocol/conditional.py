"""Conditional-model messages: the realism gauge, inversion refinement, the bundled models.

Issue 6 in the GUI: conditional models (cVAE, cGAN) decode with labels (``Decode.labels``,
``Sample.labels``, ``RenderEdit.labels``; ``ModelInfo.label_mode``/``label_prior`` say what they
mean), encodings carry the label estimate (``Encoded.labels``, ``PhotoOpened.labels``), the
realism gauge scores the current edit against held-out data, ``Refine`` improves a photo's
inversion a few optimisation steps at a time, and ``ListModels`` names the bundled models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.protocol.messages import Request, Response
from engine.protocol.photo import PhotoOpened


#: A GAN latent farther out than this (RMS per dimension ‖z‖/√D; prior draws: 1 ± 1/√(2D)) is
#: extrapolation: the realism gauge calls its image implausible whatever the discriminator says
#: (on the bundled face cGAN decodes saturate from about ×2; docs/conditional.md).
LATENT_RMS_LIMIT = 1.5


@dataclass(frozen=True, slots=True, kw_only=True)
class RealismCalibration:
    """How a checkpoint's realism gauge is calibrated: ``score`` ("iwae_loglik_bpd": −bits/dim of
    an importance-weighted log p(x), VAEs; "d_logit": the discriminator's logit, GANs), its
    ``units`` for people, ``n`` held-out images on ``data``, and the soft-warning percentile."""

    score: str
    units: str
    n: int
    data: str = ""
    warn_below_percentile: float = 2.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Realism(Request):
    """How plausible images are under the loaded model. Give ``z`` (D or N×D: decoded with
    ``labels`` first) or ``images`` (H×W×3 or N×H×W×3 uint8, any size). ``labels``: conditional
    models score p(x|y) (cVAE) or D(x, y) (cGAN) for them; None: the prior mixture / the encoder's
    estimate. ``k``: importance samples (VAEs). Answered by :class:`RealismScore`."""

    z: np.ndarray | None = None
    images: np.ndarray | None = None
    labels: dict[str, float] | None = None
    k: int = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class RealismScore(Response):
    """Per image: ``score`` (higher: more plausible; in ``units``), its ``percentile`` among held-out
    data (NaN when the checkpoint is uncalibrated) and ``plausible`` (False below
    ``warn_below_percentile``). ``details``: the raw numbers (``elbo_bpd``/``iwae_bpd`` for VAEs,
    bits per dimension, lower is likelier; ``d_logit`` for GANs, and for a GAN scored from ``z``
    ``latent_rms`` (‖z‖/√D; beyond 1.5 the image is implausible whatever D says) and
    ``latent_percentile``, the share of prior draws farther from the centre)."""

    score: np.ndarray  # N float64
    percentile: np.ndarray  # N float64, NaN without calibration
    plausible: np.ndarray  # N bool
    units: str
    calibrated: bool
    warn_below_percentile: float = 2.0
    details: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Refine(Request):
    """Improve the inversion of ``image`` (H×W×3 uint8; None: the open photo's aligned face) by
    ``steps`` optimisation steps of pixel (+ discriminator feature) loss, starting from ``z`` and
    ``labels`` (None: the open photo's current latent and labels, or the encoder's guess for an
    ``image``). One request is one chunk: to stream better results, send the next chunk; stop by not
    sending it (see docs/conditional.md). ``adopt`` (the open photo only): make a better result the
    photo's latent — the edit stack's starting point and the reconstruction edits are measured
    against. Answered by :class:`Refined`."""

    image: np.ndarray | None = None
    steps: int = 20
    z: np.ndarray | None = None
    labels: dict[str, float] | None = None
    lr: float = 0.05
    optimise_labels: bool = True
    adopt: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Refined(Response):
    """The best result of a :class:`Refine` chunk: latent, labels, its decode, the loss and PSNR
    against the model-resolution target (``start_psnr_db``: of where the chunk started). "Best" is
    by the refinement's objective (pixel + feature loss + a small prior on z), so the PSNR can
    dip a little while the loss falls."""

    z: np.ndarray  # D float32
    labels: dict[str, float]
    image: np.ndarray  # S×S×3 uint8
    loss: float
    psnr_db: float
    start_psnr_db: float
    steps: int
    ms_per_step: float
    start_loss: float = float("nan")  # the objective where the chunk started (the result's ``loss`` is never above it)
    opened: PhotoOpened | None = None  # Refine(adopt=True) that improved: the photo with its new latent


@dataclass(frozen=True, slots=True, kw_only=True)
class AdoptLatent(Request):
    """Make ``z`` (and ``labels``) the open photo's latent, as ``Refine(adopt=True)`` did: same
    photo, face and alignment. What a restarted engine is given back so that a refinement made
    before the restart is not lost. Refused on a fitted photo (its fit carries its own pivot).
    Answered by ``PhotoOpened``."""

    z: np.ndarray
    labels: dict[str, float] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ListModels(Request):
    """The models bundled with this install (``resources/models``). Answered by :class:`ModelList`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelEntry:
    """A bundled model: ``source`` is what :class:`LoadModel` takes (``"default"`` for the default)."""

    source: str
    name: str
    family: str
    image_size: int
    labels: tuple[str, ...] = ()
    description: str = ""
    calibrated: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelList(Response):
    models: tuple[ModelEntry, ...]
