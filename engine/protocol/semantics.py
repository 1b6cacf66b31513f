"""Latent-semantics messages: attribute directions, PCA axes, interpolation, arithmetic, the
user's own attributes and animation export."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.protocol.messages import Request, Response

# =========================================================================== latent semantics
#
# Issue 5 in the GUI: named attribute directions (the model's and the user's own), "locks" that
# condition a direction to keep other attributes fixed (orthogonalisation), latent arithmetic
# A − B + C, interpolation and animation export. The engine answers with plain arrays; the
# editor combines attribute steps with its per-dimension sliders into one edited latent:
# ``z = base + Σ_d offset_d σ_d + Σ_a strength_a · steps[a]``.


@dataclass(frozen=True, slots=True, kw_only=True)
class LatentTerm:
    """One operand of arithmetic or interpolation: its *mean* latent is used. Give exactly one of

    * ``latents`` (N×D or D): e.g. the current edit, or samples picked from the grid;
    * ``images``: pixels, each H×W×3 uint8 of any size (encoded like :class:`Encode`);
    * ``paths``: image files, folders or globs (read and encoded by the engine);
    * ``group``: a labelled group, ``"Male=1,Eyeglasses=-1"``. A user attribute's name with
      ``=1`` / ``=-1`` is its tagged *with* / *without* examples; a model attribute needs ``data``
      (a labelled data set, e.g. ``faces:DIR``) whose encodings are averaged;
    * ``seed``: one sample of the model's prior.

    ``label`` is for people (the engine echoes a description of what it used)."""

    latents: np.ndarray | None = None
    images: tuple[np.ndarray, ...] = ()
    paths: tuple[str, ...] = ()
    group: str = ""
    data: str = ""
    seed: int | None = None
    label: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AttributeDirections(Request):
    """The model's attribute directions and the user's own attributes (same latent size), each
    conditioned to keep the ``locked`` attributes fixed: its components along the locked ones
    projected out (InterFaceGAN's conditional manipulation). A locked attribute itself is made
    orthogonal to the *other* locked ones. Answered by :class:`AttributeDirectionSet`."""

    locked: tuple[str, ...] = ()
    include_user: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class GetPCAAxes(Request):
    """The principal axes of the model's aggregate posterior (PCA of the training set's μ, stored
    in the checkpoint by ``latent-studio pca``): the slider panel's "PCA axes" set. Answered by
    :class:`PCAAxes` — with no axes (K = 0) when the checkpoint stores none."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PCAAxes(Response):
    """``axes`` K×D unit principal axes, largest variance first; ``std`` K: the data's σ along each
    (√variance), so a slider at ``a`` σ on axis k moves the latent by ``a · std[k] · axes[k]``;
    ``explained`` K: each axis's share of the total variance (0…1); ``mean`` D: the centre of the
    decomposition; ``data``/``n``: what it was computed on. ``note``: why K = 0, for people."""

    axes: np.ndarray
    std: np.ndarray
    explained: np.ndarray
    mean: np.ndarray
    data: str = ""
    n: int = 0
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Interpolate(Request):
    """Frames from ``a`` to ``b`` (inclusive): ``mode`` "linear" or "slerp"; ``even`` re-times
    the path so neighbouring frames are equally far apart in pixels. Answered by :class:`Interpolated`."""

    a: LatentTerm
    b: LatentTerm
    steps: int = 16
    mode: str = "slerp"
    even: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Arithmetic(Request):
    """``A − B + C`` over the terms' mean latents (the notes' "man with glasses − man + woman").
    With ``per_item`` > 0 and several members in C, A − B is also added to up to that many of
    C's members one by one. Answered by :class:`ArithmeticResult`."""

    a: LatentTerm
    b: LatentTerm
    c: LatentTerm
    per_item: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateUserAttribute(Request):
    """A named direction from tagged examples (latents N×D *with*, M×D *without*; 5–20 in all
    work well, at least 2 a side): the mean difference, saved in the user's data folder
    (platformdirs, or $LATENT_STUDIO_DATA_DIR). Answered by :class:`UserAttributeSaved`."""

    name: str
    with_latents: np.ndarray
    without_latents: np.ndarray
    overwrite: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ListUserAttributes(Request):
    """The user's own attributes (of the loaded model's latent size, when one is loaded)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteUserAttribute(Request):
    """Delete a user attribute; answered by the updated :class:`UserAttributeList`."""

    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportUserAttribute(Request):
    """Copy a user attribute to a small file (.safetensors) to share; answered by :class:`FileWritten`."""

    name: str
    path: str
    overwrite: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportUserAttribute(Request):
    """Add a user-attribute file (validated first), optionally renamed; answered by :class:`UserAttributeSaved`."""

    path: str
    name: str = ""
    overwrite: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportAnimation(Request):
    """Write frames (N×S×S×3 uint8), or the decodes of latents ``z`` (N×D), as an animated GIF, an
    MP4 (needs imageio-ffmpeg) or a PNG strip (all frames in one row). ``format``: "gif", "mp4" or
    "png" ("" = by the path's suffix). ``scale`` enlarges the frames; ``boomerang`` plays the
    animation there and back. An existing file is an error unless ``overwrite``. Answered by
    :class:`FileWritten`."""

    path: str
    frames: np.ndarray | None = None
    z: np.ndarray | None = None
    format: str = ""
    fps: float = 12.0
    scale: int = 1
    boomerang: bool = False
    overwrite: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AttributeInfo:
    """What is known about one attribute direction. ``source``: "model" (the checkpoint's) or
    "user" (the user's own). Scores are None when unknown: ``accuracy``/``auc`` are held-out
    scores of a model attribute's classifier; ``loo_accuracy`` the leave-one-out accuracy of a
    user attribute's tagged examples. ``kept``: the share of the direction's length left after
    the locked attributes were projected out (1 = unaffected, 0 = nothing left to move);
    ``lock_costs``: (locked attribute, the share that lock alone leaves), the most costly first,
    for the locks that take ≥ 0.5 % — which lock to release for a longer edit.
    ``same_model``: a user attribute made with this very model (None: unknown). ``group``: where
    the editor lists it ("Expression", "Pose", "Light", "Identity"; "" = the engine does not know
    it, e.g. a user attribute or another data set's label); ``description``: what its slider's +
    side does and how the attribute is measured, for people ("" = unknown)."""

    name: str
    source: str
    method: str = ""
    accuracy: float | None = None
    auc: float | None = None
    loo_accuracy: float | None = None
    gap_sigma: float | None = None
    n_with: int = 0
    n_without: int = 0
    kept: float = 1.0
    lock_costs: tuple[tuple[str, float], ...] = ()
    same_model: bool | None = None
    group: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AttributeDirectionSet(Response):
    """Answer to :class:`AttributeDirections`. ``steps[name]``: the latent offset (D,) of +1σ along
    the (conditioned) direction — σ being the data's spread along it — so an attribute slider at
    ``s`` adds ``s · steps[name]``. ``directions``: the conditioned directions themselves.
    ``cosines``: K×K cosines between the *raw* directions, in ``names`` order (entanglement)."""

    names: tuple[str, ...]
    attributes: tuple[AttributeInfo, ...]
    steps: dict[str, np.ndarray]
    directions: dict[str, np.ndarray]
    locked: tuple[str, ...]
    cosines: np.ndarray


@dataclass(frozen=True, slots=True, kw_only=True)
class Interpolated(Response):
    """``frames`` N×S×S×3 and their latents ``z`` N×D at path positions ``t`` (0…1);
    ``smoothness``: max_step and mean_step (mean absolute pixel difference of neighbouring
    frames, 0–255) and ratio = max / mean (issue 5's "no frame jumps": ratio ≤ 2)."""

    frames: np.ndarray
    z: np.ndarray
    t: np.ndarray
    mode: str
    smoothness: dict[str, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class ArithmeticResult(Response):
    """``z`` = mean(A) − mean(B) + mean(C) and its decode ``image``; ``terms_z`` 3×D the three
    means and ``term_images`` their decodes; ``descriptions``/``counts`` what each term was.
    ``items``/``edited``: members of C and each + (A − B) (k×S×S×3), when asked and C has several."""

    z: np.ndarray
    image: np.ndarray
    terms_z: np.ndarray
    term_images: np.ndarray
    descriptions: tuple[str, str, str]
    counts: tuple[int, int, int]
    items: np.ndarray | None = None
    edited: np.ndarray | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UserAttributeSummary:
    name: str
    latent_dim: int
    n_with: int
    n_without: int
    loo_accuracy: float | None
    gap_sigma: float | None
    created: float = 0.0
    same_model: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class UserAttributeSaved(Response):
    """A user attribute was created or imported. ``warning``: e.g. too few examples to trust it."""

    attribute: UserAttributeSummary
    path: str
    warning: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class UserAttributeList(Response):
    attributes: tuple[UserAttributeSummary, ...]
    folder: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FileWritten(Response):
    """A file the engine wrote (an exported attribute, an animation): its path, format and size."""

    path: str
    format: str
    bytes: int
    frames: int = 0
