"""Photo-workflow messages: open a photo, choose or mark its face, render and export the edit,
sessions.

The real-photo loop (issue 7): open a photo of any size → the engine finds and aligns a face,
encodes it → the editor builds an :class:`EditStack` (non-destructive operations on the
latent) → ``RenderEdit`` composites the model's *change* into the photo inside a feathered
face mask (times an optional painted mask) → ``ExportPhoto`` writes it at full resolution.
A zero edit renders the original pixels exactly. Sessions (``SaveSession``/``LoadSession``)
keep the photo, the face alignment, the original latent, the edit stack and the mask.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.protocol.edits import EditStack
from engine.protocol.messages import Request, Response


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
