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
    """Decode latents (``N×D`` or ``D``). ``preview`` marks a cheap, mid-drag request."""

    z: np.ndarray
    preview: bool = False
    labels: dict[str, float] | None = None


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


# =========================================================================== photo workflow
#
# The real-photo loop (issue 7): open a photo of any size → the engine finds and aligns a face,
# encodes it → the editor builds an :class:`EditStack` (non-destructive operations on the
# latent) → ``RenderEdit`` composites the model's *change* into the photo inside a feathered
# face mask (times an optional painted mask) → ``ExportPhoto`` writes it at full resolution.
# A zero edit renders the original pixels exactly. Sessions (``SaveSession``/``LoadSession``)
# keep the photo, the face alignment, the original latent, the edit stack and the mask.

from engine.protocol.edits import (  # noqa: E402  (the edits and recipes live in their own module)
    EDIT_OPS, MAX_RECIPE_OPS, MAX_RECIPE_VECTOR, MIN_STD, RECIPE_FORMAT, RECIPE_VERSION, AddVector, AttributeStep, Blend,
    DimensionStep, EditOp, EditStack, attribute_step_vector, parse_labels, read_recipe, recipe_json,
)


# --------------------------------------------------------------------------- photo requests


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenPhoto(Request):
    """Open a photo (a file ``path``, or the pixels as ``image`` H×W×3 uint8) for editing: the
    engine finds faces, aligns the chosen one (``face_index``; None = the best ranked) and
    encodes it. ``detector``: "auto" or "dlib" (the face finder; a photo without a face is an
    ErrorResponse of kind "NoFaceError") or "centre" (the centre square, no detection).
    ``face_box`` (x0, y0, x1, y1, photo pixels): a face the user marked; detection is skipped.
    Answered by :class:`PhotoOpened`. Replaces the engine's open photo."""

    path: str | None = None
    image: np.ndarray | None = None
    face_index: int | None = None
    detector: str = "auto"
    face_box: tuple[float, float, float, float] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChooseFace(Request):
    """Align and encode another of the open photo's faces (an index into PhotoOpened.faces), or
    the face the user marked as ``face_box`` (x0, y0, x1, y1, photo pixels): it becomes the last
    candidate (method "manual", replacing an earlier marked one) and is chosen."""

    index: int = 0
    face_box: tuple[float, float, float, float] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderEdit(Request):
    """Render the open photo with an edit applied. Give the edited latent ``z`` (D,) or an
    ``edits`` stack (applied by the engine to the photo's original latent); neither = zero edit.

    ``mask``: optional painted mask, H×W (any resolution; resampled to the photo), float in
    [0, 1] or uint8 0..255: the edit is multiplied by it (0 = leave the photo alone).
    ``full_resolution=False`` (a preview): the face region scaled to at most ``max_side`` px.
    ``full_resolution=True``: the face region at the photo's own resolution, or with
    ``whole_photo`` the entire photo. ``preview`` marks a cheap mid-drag request, as in Decode.
    ``labels`` (conditional models): decode the edit with them instead of the photo's estimated
    labels; the change they make is composited like a latent edit's.
    """

    z: np.ndarray | None = None
    edits: EditStack | None = None
    mask: np.ndarray | None = None
    full_resolution: bool = False
    whole_photo: bool = False
    max_side: int = 1024
    preview: bool = False
    labels: dict[str, float] | None = None  # conditional models: decode with these (None: the photo's estimate)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportPhoto(Request):
    """Write the edited photo at its original resolution (.png, .jpg/.jpeg, .webp by ``path``'s
    suffix). EXIF is kept (orientation reset to 1: the pixels are upright; thumbnail dropped)
    unless ``keep_exif`` is False. An existing file is an error unless ``overwrite``; the
    source photo itself is never overwritten."""

    path: str
    z: np.ndarray | None = None
    edits: EditStack | None = None
    mask: np.ndarray | None = None
    overwrite: bool = False
    quality: int = 95
    keep_exif: bool = True
    labels: dict[str, float] | None = None  # as RenderEdit.labels
    bit_depth: int = 8  # 16: a 16-bit .png/.tif/.tiff keeping the edit's fractional change (no EXIF)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportLayers(Request):
    """Write the edit as OpenRaster layers (``.ora``: Krita, GIMP, MyPaint): the original photo,
    the change (the edited pixels with the feathered mask as alpha: original + it = the
    ExportPhoto image) and the mask (hidden), plus the merged image and a thumbnail. Fields as
    ExportPhoto's. Answered by :class:`FileWritten` (format "OpenRaster")."""

    path: str
    z: np.ndarray | None = None
    edits: EditStack | None = None
    mask: np.ndarray | None = None
    overwrite: bool = False
    labels: dict[str, float] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SaveSession(Request):
    """Save the open photo, its alignment and original latent, ``edits`` and ``mask`` to a
    session file (``.lsession``: a zip of JSON + .npy, nothing pickled). ``embed_photo`` copies
    the photo file's bytes in, so the session opens even if the photo moves."""

    path: str
    edits: EditStack = field(default_factory=EditStack)
    mask: np.ndarray | None = None
    embed_photo: bool = True
    overwrite: bool = True
    labels: dict[str, float] | None = None  # conditional models: the edit's labels (None: the photo's own)


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadSession(Request):
    """Reopen a session file: answered by :class:`SessionLoaded` (the photo becomes the open one)."""

    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotoFace:
    """A face candidate, photo coordinates (continuous: pixel i spans [i, i+1)), best first."""

    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    left_eye: tuple[float, float]  # eye centre on the image's left
    right_eye: tuple[float, float]
    score: float  # detector confidence (0 for the centre-square fallback)
    method: str  # "dlib" | "manual" (marked by the user) | "centre"


@dataclass(frozen=True, slots=True, kw_only=True)
class PhotoOpened(Response):
    """The open photo: ``photo`` H×W×3 uint8 (upright: EXIF orientation applied), its faces, the
    chosen face's ``alignment`` (2×3, photo = A·[u, v, 1] for model-crop coordinates u, v in
    0..S), the face ``region`` (x0, y0, x1, y1) that edits can touch, the aligned crop the model
    saw, its latent ``z`` and ``reconstruction``. ``source``: the file path, or "" for pixels."""

    photo: np.ndarray
    source: str
    faces: tuple[PhotoFace, ...]
    chosen: int
    alignment: np.ndarray
    region: tuple[int, int, int, int]
    aligned: np.ndarray  # S×S×3 uint8
    z: np.ndarray  # D float32: the original latent (the edit stack's starting point)
    reconstruction: np.ndarray  # S×S×3 uint8
    labels: dict[str, float] = field(default_factory=dict)  # conditional models: the face's estimated labels
    fitted: bool = False  # rendered by a per-photo fit of the model (engine.protocol.fit), e.g. restored from a session


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendered(Response):
    """``image`` covers ``box`` (x0, y0, x1, y1) of the photo — the face region, or the whole
    photo — scaled by ``scale`` (1.0 at full resolution): draw it into that rectangle over the
    photo. ``face``: the model's decode of ``z`` (S×S×3); ``changed``: False for a zero edit
    (then ``image`` is the original pixels exactly)."""

    image: np.ndarray
    box: tuple[int, int, int, int]
    scale: float
    photo_size: tuple[int, int]  # W, H
    full_resolution: bool
    z: np.ndarray
    face: np.ndarray
    changed: bool
    preview: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Exported(Response):
    path: str
    size: tuple[int, int]  # W, H
    format: str  # PNG | JPEG | WEBP
    exif_kept: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionSaved(Response):
    path: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionLoaded(Response):
    """A reopened session: the photo (as :class:`PhotoOpened`), its edit stack and mask.
    ``warnings``: e.g. the session was made with another model (its latent was re-encoded)."""

    opened: PhotoOpened
    edits: EditStack
    mask: np.ndarray | None
    warnings: tuple[str, ...] = ()
    labels: dict[str, float] | None = None  # the edit's labels as saved (None: the photo's own, or another model)


from engine.protocol.semantics import (  # noqa: E402  (the latent-semantics messages live in their own module)
    Arithmetic, ArithmeticResult, AttributeDirectionSet, AttributeDirections, AttributeInfo, CreateUserAttribute, DeleteUserAttribute, ExportAnimation, ExportUserAttribute, FileWritten, GetPCAAxes, ImportUserAttribute, Interpolate, Interpolated, LatentTerm, ListUserAttributes, PCAAxes, UserAttributeList, UserAttributeSaved, UserAttributeSummary,
)

from engine.protocol.fit import FitPhoto, FitStatus, RestoreFit  # noqa: E402  (the per-photo fit messages live in their own module)

# =========================================================================== conditional models
#
# Issue 6 in the GUI: conditional models (cVAE, cGAN) decode with labels (``Decode.labels``,
# ``Sample.labels``, ``RenderEdit.labels``; ``ModelInfo.label_mode``/``label_prior`` say what they
# mean), encodings carry the label estimate (``Encoded.labels``, ``PhotoOpened.labels``), the
# realism gauge scores the current edit against held-out data, ``Refine`` improves a photo's
# inversion a few optimisation steps at a time, and ``ListModels`` names the bundled models.


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
