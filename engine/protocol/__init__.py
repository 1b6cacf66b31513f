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


# =========================================================================== photo workflow
#
# The real-photo loop (issue 7): open a photo of any size → the engine finds and aligns a face,
# encodes it → the editor builds an :class:`EditStack` (non-destructive operations on the
# latent) → ``RenderEdit`` composites the model's *change* into the photo inside a feathered
# face mask (times an optional painted mask) → ``ExportPhoto`` writes it at full resolution.
# A zero edit renders the original pixels exactly. Sessions (``SaveSession``/``LoadSession``)
# keep the photo, the face alignment, the original latent, the edit stack and the mask.

MIN_STD = 1e-6  # a dimension whose std is below this has no spread: its σ unit falls back to 1


@dataclass(frozen=True, slots=True, kw_only=True)
class DimensionStep:
    """Move latent dimension ``dim`` by ``amount`` σ (σ = LatentStats.std[dim], the slider unit)."""

    dim: int
    amount: float

    op = "dim"


@dataclass(frozen=True, slots=True, kw_only=True)
class AttributeStep:
    """Move ``amount`` σ along the named attribute direction (σ along it = √Σ u_d² std_d² for the
    unit direction u — the unit of ``latent-studio edit --attr NAME=+2`` and the attribute sliders)."""

    name: str
    amount: float

    op = "attr"


@dataclass(frozen=True, slots=True, kw_only=True)
class Blend:
    """``z ← (1 − weight)·z + weight·target``: interpolate towards another latent (e.g. a second photo)."""

    target: tuple[float, ...]
    weight: float
    label: str = ""

    op = "blend"


@dataclass(frozen=True, slots=True, kw_only=True)
class AddVector:
    """``z ← z + amount·vector``: a raw latent offset (latent arithmetic, a user's own direction)."""

    vector: tuple[float, ...]
    amount: float = 1.0
    label: str = ""

    op = "vector"


EditOp = DimensionStep | AttributeStep | Blend | AddVector
EDIT_OPS: dict[str, type] = {cls.op: cls for cls in (DimensionStep, AttributeStep, Blend, AddVector)}

RECIPE_FORMAT = "latent-studio/recipe"
RECIPE_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class EditStack:
    """An edit as data: the operations applied, in order, to a photo's original latent.

    Immutable: ``push``/``pop`` return new stacks, so an undo stack is just a list of them (or a
    QUndoCommand that holds the stack before and after). ``apply`` is numpy-only, so the editor
    can preview the latent itself; the engine applies the same function. Serialises to a small
    JSON *recipe* (``to_json``/``from_json``) that ``latent-studio edit --recipe`` applies to
    other photos. The empty stack is the zero edit.
    """

    ops: tuple[EditOp, ...] = ()

    def __len__(self) -> int:
        return len(self.ops)

    @property
    def is_empty(self) -> bool:
        return not self.ops

    def push(self, *ops: EditOp) -> "EditStack":
        for op in ops:
            if type(op) not in EDIT_OPS.values():
                raise TypeError(f"not an edit operation: {type(op).__name__}")
        return EditStack(ops=self.ops + tuple(ops))

    def pop(self, n: int = 1) -> "EditStack":
        return EditStack(ops=self.ops[: max(0, len(self.ops) - n)])

    def slider_offsets(self, latent_dim: int) -> np.ndarray:
        """Summed ``DimensionStep`` amounts per dimension (σ), e.g. to set slider positions."""
        out = np.zeros(int(latent_dim), np.float32)
        for op in self.ops:
            if isinstance(op, DimensionStep):
                out[op.dim] += op.amount
        return out

    def apply(self, z: np.ndarray, std: np.ndarray | None = None, attributes: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """The edited latent (D,) float32. ``std``: LatentStats.std (σ units; ones if None);
        ``attributes``: the model's named directions (needed by ``AttributeStep``)."""
        z = np.array(z, dtype=np.float64).reshape(-1)
        d = z.size
        std = np.ones(d) if std is None else np.asarray(std, np.float64).reshape(-1)
        if std.size != d:
            raise ValueError(f"latent has {d} dimensions but the stats have {std.size}")
        for op in self.ops:
            if isinstance(op, DimensionStep):
                if not 0 <= op.dim < d:
                    raise ValueError(f"dimension {op.dim} does not exist (the latent has {d})")
                z[op.dim] += float(op.amount) * (std[op.dim] if std[op.dim] > MIN_STD else 1.0)
            elif isinstance(op, AttributeStep):
                if not attributes or op.name not in attributes:
                    known = ", ".join(sorted(attributes or {})) or "none"
                    raise ValueError(f"unknown attribute {op.name!r} (this model has: {known})")
                z += float(op.amount) * attribute_step_vector(attributes[op.name], std)
            elif isinstance(op, Blend):
                target = _vector(op.target, d, "blend target")
                z = (1.0 - float(op.weight)) * z + float(op.weight) * target
            elif isinstance(op, AddVector):
                z += float(op.amount) * _vector(op.vector, d, "vector")
            else:  # pragma: no cover - push() guards this
                raise TypeError(f"not an edit operation: {type(op).__name__}")
        if not np.isfinite(z).all():
            raise ValueError("the edit produced NaN or infinity")
        return z.astype(np.float32)

    # ------------------------------------------------------------------ recipe (JSON)
    def to_dict(self) -> dict:
        ops = []
        for op in self.ops:
            item = {"op": op.op}
            for name in op.__dataclass_fields__:
                value = getattr(op, name)
                item[name] = [float(v) for v in value] if isinstance(value, tuple) else value
            ops.append(item)
        return {"format": RECIPE_FORMAT, "version": RECIPE_VERSION, "ops": ops}

    @classmethod
    def from_dict(cls, data: dict) -> "EditStack":
        if not isinstance(data, dict) or data.get("format") != RECIPE_FORMAT:
            raise ValueError(f"not a Latent Studio recipe (format should be {RECIPE_FORMAT!r})")
        version = data.get("version")
        if not isinstance(version, int) or version > RECIPE_VERSION:
            raise ValueError(f"recipe version {version!r} is newer than this Latent Studio ({RECIPE_VERSION})")
        raw_ops = data.get("ops", [])
        if not isinstance(raw_ops, list) or len(raw_ops) > MAX_RECIPE_OPS:
            raise ValueError(f"recipe ops must be a list of at most {MAX_RECIPE_OPS} operations, got {_json_kind(raw_ops)}")
        ops = []
        for i, item in enumerate(raw_ops):
            if not isinstance(item, dict) or not isinstance(item.get("op"), str) or item["op"] not in EDIT_OPS:
                shown = item.get("op") if isinstance(item, dict) else item
                raise ValueError(f"recipe operation {i + 1}: unknown op {str(shown)[:40]!r}")
            kind = EDIT_OPS[item["op"]]
            fields = {k: v for k, v in item.items() if k != "op"}
            unknown = set(fields) - set(kind.__dataclass_fields__)
            if unknown:
                raise ValueError(f"recipe operation {i + 1} ({item['op']}): unknown field(s) {', '.join(sorted(unknown))[:200]}")
            try:
                ops.append(kind(**{k: _RECIPE_FIELDS[k](k, v) for k, v in fields.items()}))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"recipe operation {i + 1} ({item['op']}): {exc}") from None
        return cls(ops=tuple(ops))

    def to_json(self, indent: int | None = 2) -> str:
        import json

        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> "EditStack":
        return cls.from_dict(_recipe_data(text))


MAX_RECIPE_OPS = 10_000
MAX_RECIPE_VECTOR = 4096  # latents have at most 1024 dimensions


def _json_kind(v) -> str:
    return "null" if v is None else {dict: "an object", list: "a list", str: "text"}.get(type(v), repr(v)[:40])


def _finite(k: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not -1e6 <= v <= 1e6:  # False for NaN and ±inf
        raise ValueError(f"{k} must be a finite number within ±1e6, got {_json_kind(v)}")
    return float(v)


def _dim(k: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < MAX_RECIPE_VECTOR or int(v) != v:
        raise ValueError(f"{k} must be an integer within 0..{MAX_RECIPE_VECTOR - 1}, got {_json_kind(v)}")
    return int(v)


def _numbers(k: str, v) -> tuple[float, ...]:
    if not isinstance(v, list) or not 1 <= len(v) <= MAX_RECIPE_VECTOR:
        raise ValueError(f"{k} must be a list of 1..{MAX_RECIPE_VECTOR} numbers, got {_json_kind(v)}")
    return tuple(_finite(f"{k}[{j}]", x) for j, x in enumerate(v))


def _text(k: str, v) -> str:
    if not isinstance(v, str) or len(v) > 200:
        raise ValueError(f"{k} must be text of at most 200 characters, got {_json_kind(v)}")
    return v


#: How each recipe field is read from JSON: a type and range per field name, checked in one place.
_RECIPE_FIELDS = {"dim": _dim, "amount": _finite, "weight": _finite, "target": _numbers, "vector": _numbers, "name": _text, "label": _text}


def attribute_step_vector(direction: np.ndarray, std: np.ndarray) -> np.ndarray:
    """One σ along ``direction`` as a latent offset (same as ``semantics.orthogonal.edit_vector``)."""
    u = np.asarray(direction, np.float64).reshape(-1)
    norm = float(np.linalg.norm(u))
    if norm == 0.0 or not np.isfinite(norm):
        raise ValueError("an attribute direction is zero or not finite")
    u = u / norm
    std = np.asarray(std, np.float64).reshape(-1)
    sigma = float(np.sqrt(np.sum(u**2 * std**2)))
    return u * (sigma if sigma > MIN_STD else 1.0)


def _vector(values, d: int, what: str) -> np.ndarray:
    v = np.asarray(values, np.float64).reshape(-1)
    if v.size != d:
        raise ValueError(f"{what} has {v.size} dimensions, the latent has {d}")
    return v


def parse_labels(text: str | None) -> dict[str, float] | None:
    """``"Eyeglasses=1,Male=0.5"`` (command lines: ``--labels``) → dict; ``=`` may be omitted: 1.0."""
    if not text:
        return None
    out = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        name, eq, val = item.partition("=")
        try:
            out[name.strip()] = float(val) if eq else 1.0
        except ValueError:
            raise ValueError(f"--labels: {item!r} is not NAME=VALUE") from None
    return out


def recipe_json(stack: EditStack, labels: dict[str, float] | None = None) -> str:
    """A recipe file (``latent-studio edit --recipe``): the edit stack and, for a conditional
    model, the labels to decode with (a top-level ``labels`` that older readers ignore)."""
    import json

    data = stack.to_dict()
    if labels:
        data["labels"] = {str(k): float(v) for k, v in labels.items()}
    return json.dumps(data, indent=2)


def _recipe_data(text: str):
    import json

    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"recipe is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise ValueError("recipe is not valid JSON (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer past Python's digit limit
        raise ValueError(f"recipe is not valid JSON ({str(exc).splitlines()[0][:100]})") from None


def read_recipe(text: str) -> tuple[EditStack, dict[str, float] | None]:
    """A recipe's (stack, labels or None); ValueError with a one-line reason when malformed."""
    data = _recipe_data(text)
    stack = EditStack.from_dict(data)
    raw = data.get("labels")
    if raw is None:
        return stack, None
    if not isinstance(raw, dict) or not raw:
        raise ValueError("recipe labels must be a non-empty {name: value} object")
    if len(raw) > 1000 or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw.values()):
        raise ValueError("recipe labels must be numbers between 0 and 1")
    labels = {str(k): float(v) for k, v in raw.items()}
    bad = [k for k, v in labels.items() if not 0.0 <= v <= 1.0]
    if bad:
        raise ValueError(f"recipe label {bad[0]!r} = {labels[bad[0]]} is outside 0..1")
    return stack, labels


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
    the locked attributes were projected out (1 = unaffected, 0 = nothing left to move).
    ``same_model``: a user attribute made with this very model (None: unknown)."""

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
    same_model: bool | None = None


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
