"""The real-photo loop: photo → align → encode → edit → decode → composite the *change*.

The model contributes only what an edit changes (the residual idea of the Neural Photo Editor)::

    delta   = decode(z_edited) − decode(z_original)                (model resolution, S×S×3)
    delta  *= face_mask                                            (feathered ellipse, crop coords)
    photo' = photo + warp⁻¹(delta) · painted_mask                  (inverse alignment, bicubic)

so a zero edit returns the original pixels exactly, and everything outside the face region,
or where the painted mask is 0, is untouched. All work happens on the face's bounding region
(``PhotoEdit.region``): a 12-megapixel photo costs little more than a small one.

Entry points: :func:`open_photo` → :class:`PhotoEdit` (``render``, ``composite``),
writing the result: :mod:`engine.photo_export`. Qt-free; torch only for the warps.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image

from engine.data.align import NoFaceError  # noqa: F401  (open_photo raises it; callers catch it from here)
from engine.data.align import Alignment, AlignmentError, Face, FaceFinder, align_face, face_from_box, find_faces
from engine.data.warp import sampling_grid, warp_crop
from engine.fit_composite import smoothstep
from engine.data.images import FORMATS, load_image
from engine.protocol import EditStack, still_wanted
from engine.protocol.files import open_regular

#: The feathered face mask, in crop coordinates (fractions of the crop side): an ellipse centred
#: at ``FACE_MASK_CENTRE`` with radii ``FACE_MASK_RADII``, 1 inside ``1 − FACE_MASK_FEATHER`` of
#: its radius, falling smoothly to 0 at its edge (which lies inside the crop, so the change
#: never ends at a hard crop border). On the face set's framing it spans brows to chin, ear to ear.
FACE_MASK_CENTRE = (0.5, 0.52)
FACE_MASK_RADII = (0.40, 0.46)
FACE_MASK_FEATHER = 0.3

PREVIEW_MAX_SIDE = 1024
#: A composite is drawn in bands of rows of about this many pixels (a preview in one): a 12 MP face
#: region is 2-6 s of work at full resolution, which a newer request need not wait for (:func:`bands`).
BAND_PIXELS = 1 << 20
#: How a fitted photo's change is composited (engine.fit_composite; docs/photo.md, "Compositing a
#: fitted photo"): its colour mode, the mask it is confined to, where the fitted decode replaces pixels.
FITTED_COLOUR = "luma"
FITTED_MASK = "crop"
FITTED_SOLID = 0.0


class PhotoError(ValueError):
    """A photo-workflow failure; one line for a person."""


def face_mask(size: int, centre=FACE_MASK_CENTRE, radii=FACE_MASK_RADII, feather: float = FACE_MASK_FEATHER) -> np.ndarray:
    """size×size float32 in [0, 1]: the feathered ellipse, sampled at pixel centres."""
    c = (np.arange(size, dtype=np.float64) + 0.5) / size
    dx = (c[None, :] - centre[0]) / radii[0]
    dy = (c[:, None] - centre[1]) / radii[1]
    rho = np.sqrt(dx**2 + dy**2)
    return smoothstep((1.0 - rho) / max(feather, 1e-6)).astype(np.float32)


# --------------------------------------------------------------------------- source metadata


@dataclass(frozen=True)
class SourceInfo:
    """What export needs from the original file besides its pixels."""

    path: Path | None = None
    format: str | None = None  # PIL format name of the source (JPEG, PNG, ...)
    mode: str | None = None  # PIL mode of the source before conversion
    exif: bytes | None = None  # the raw EXIF block, as read
    icc_profile: bytes | None = None

    @classmethod
    def read(cls, path: str | os.PathLike) -> SourceInfo:
        """Header-only read (pixels are loaded by ``load_image``); never fails on odd metadata."""
        try:
            with open_regular(path, "image") as f:
                return cls._from_stream(f, Path(path))
        except OSError:
            return cls(path=Path(path))

    @classmethod
    def from_bytes(cls, data: bytes, path: str | os.PathLike | None = None) -> SourceInfo:
        return cls._from_stream(io.BytesIO(data), Path(path) if path is not None else None)

    @classmethod
    def _from_stream(cls, stream, path: Path | None) -> SourceInfo:
        try:
            with Image.open(stream, formats=FORMATS) as im:
                exif = im.info.get("exif")
                if exif is None:
                    raw = im.getexif()
                    exif = raw.tobytes() if len(raw) else None
                return cls(path=path, format=im.format, mode=im.mode, exif=exif, icc_profile=im.info.get("icc_profile"))
        except Exception:  # the pixels were loaded by load_image already; metadata is optional
            return cls(path=path)


# --------------------------------------------------------------------------- the open photo


@dataclass
class PhotoEdit:
    """One open photo and its chosen face, bound to a model. Render edits with :meth:`render`."""

    photo: np.ndarray  # H×W×3 uint8, upright
    source: SourceInfo
    faces: list[Face]
    chosen: int
    alignment: Alignment
    crop: np.ndarray  # S×S×3 uint8, what the model saw
    z: np.ndarray  # D float32, the original latent
    reconstruction: np.ndarray  # S×S×3 uint8, decode(z)
    region: tuple[int, int, int, int]  # the photo box an edit can touch
    model: object = field(repr=False)
    labels: dict[str, float] = field(default_factory=dict)  # conditional models: the photo's estimated labels
    unfitted: object = field(default=None, repr=False)  # the model before the per-photo fit; None: not fitted
    fit: object = field(default=None, repr=False)  # engine.fit.FitResult of the fit that ``model`` carries
    colour: str = "rgb"  # how the change is coloured: engine.fit_composite.COLOUR_MODES
    mask_shape: str = "face"  # the crop-space mask of the change: engine.fit_composite.MASK_SHAPES
    solid: float = 0.0  # grey levels: where the change is this large the model's decode replaces the photo (0: add only)
    _mask_crop: np.ndarray = field(default=None, repr=False)  # overrides mask_shape (a diagnostic)
    _previews: dict = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ facts
    @property
    def size(self) -> tuple[int, int]:
        """(W, H)."""
        return self.photo.shape[1], self.photo.shape[0]

    @property
    def face(self) -> Face:
        return self.faces[self.chosen]

    @property
    def base_model(self):
        """The model as loaded (before any per-photo fit): other faces and other photos use it."""
        return self.model if self.unfitted is None else self.unfitted

    def with_fit(self, result) -> PhotoEdit:
        """This photo rendered by a per-photo fitted model (:func:`engine.fit.fit`): the pivot is
        the latent and the fitted decode of it is the base of every change, so a zero edit is
        still the photo and an edit adds the fitted model's change, not a generic face's."""
        return replace(self, model=result.model, z=np.asarray(result.z, np.float32).reshape(-1), labels=dict(result.labels),
                       reconstruction=result.after, unfitted=self.base_model, fit=result, colour=FITTED_COLOUR, mask_shape=FITTED_MASK,
                       solid=FITTED_SOLID, _mask_crop=None, _previews={})  # fmt: skip

    @property
    def found_face(self) -> bool:
        """False when the centre-square fallback was used."""
        return self.face.method != "centre"

    def edited_latent(self, z: np.ndarray | None = None, edits: EditStack | None = None) -> np.ndarray:
        """The latent to render: ``z`` as given, else ``edits`` applied to the original latent."""
        if z is not None and edits is not None:
            raise PhotoError("give either an edited latent or an edit stack, not both")
        if z is not None:
            z = np.asarray(z, np.float32).reshape(-1)
            if z.shape != self.z.shape:
                raise PhotoError(f"the edited latent has {z.size} dimensions, the model's has {self.z.size}")
            return z
        if edits is None or edits.is_empty:
            return self.z
        m = self.model
        if self.fit is not None and getattr(self.fit, "gains", None):  # per-photo σ calibration of the fitted model
            from engine.fit_gains import calibrated

            edits = calibrated(edits, self.fit.gains)
        return edits.apply(self.z, m.latent_stats.std, m.attributes)

    # ------------------------------------------------------------------ the change
    def same_labels(self, labels: dict[str, float] | None) -> bool:
        """True when ``labels`` (None: the estimate) decode as the photo's estimated labels."""
        if labels is None:
            return True
        labels = {str(k): float(v) for k, v in labels.items()}
        return set(labels) == set(self.labels) and all(abs(labels[k] - self.labels[k]) <= 1e-6 for k in labels)

    def crop_mask(self, size: int | None = None) -> np.ndarray:
        """The change's mask in crop coordinates (S×S float32 in [0, 1]): ``mask_shape``'s."""
        size = int(size or self.alignment.size)
        if self._mask_crop is not None and self._mask_crop.shape[0] == size:
            return self._mask_crop
        from engine.fit_composite import MASK_SHAPES, WIDE_MASK, crop_mask

        if self.mask_shape not in MASK_SHAPES:
            raise PhotoError(f"mask shape must be one of {', '.join(MASK_SHAPES)}, got {self.mask_shape!r}")
        return crop_mask(size) if self.mask_shape == "crop" else face_mask(size, **(WIDE_MASK if self.mask_shape == "wide" else {}))

    def delta(self, z_edited: np.ndarray, labels: dict[str, float] | None = None) -> tuple[np.ndarray | None, np.ndarray]:
        """(masked change S×S×3 float32 in grey levels, or None for a zero edit; decode(z_edited)).
        ``labels`` (conditional models): decode with these instead of the photo's estimate."""
        d, face, _ = self._layers(z_edited, labels)
        return d, face

    def _layers(self, z_edited, labels=None):
        """(masked change or None, decode(z_edited), masked solid alpha S×S or None: add only)."""
        z_edited = np.asarray(z_edited, np.float32).reshape(-1)
        same_labels = self.same_labels(labels)
        if np.array_equal(z_edited, self.z) and same_labels:
            return None, self.reconstruction, None
        use = self.labels if same_labels else labels
        face = self.model.decode(z_edited[None], labels=use or None)[0]
        d = face.astype(np.float32) - self.reconstruction.astype(np.float32)
        if not d.any():
            return None, face, None
        if not same_labels and self.fit is not None and getattr(self.fit, "gains", None):  # a label edit's per-photo gain
            from engine.fit_gains import label_gain

            d *= label_gain(self.fit.gains, self.labels, labels)
        from engine.fit_composite import colour_change, solid_alpha

        if self.colour != "rgb":
            d = colour_change(d, self.colour)
        m = self.crop_mask(d.shape[0])
        alpha = solid_alpha(d, self.solid)
        return d * m[:, :, None], face, (None if alpha is None else alpha * m)

    def warped_change(self, z_edited: np.ndarray, original: np.ndarray, grid, labels: dict[str, float] | None = None, quick=False):
        """(the change over output pixels, one band of rows at a time: ``rows(band)`` → its
        band×W×3 float32; None for a zero edit, the decode). The crop-space change sampled at
        ``grid`` (bicubic) and, where ``solid`` replaces pixels, the step from ``original`` (the
        output's own pixels) to the warped decode. Every composite (8-bit, 16-bit) adds this,
        band by band (:func:`bands`). ``quick``: a geometric edit's flow is estimated coarsely
        (a preview while a slider moves)."""
        delta, face, alpha = self._layers(z_edited, labels)
        if delta is None:
            return None, face
        if alpha is None:  # a geometric edit moves the output's own pixels (engine.flow_composite); others add the change
            from engine.flow_composite import photo_change

            moved = photo_change(self, z_edited, labels, face, delta, original, grid, quick)
            return (moved or (lambda band: warp_delta(delta, grid[:, band]))), face
        layers = np.concatenate([delta, alpha[:, :, None], self.reconstruction.astype(np.float32)], axis=2)

        def rows(band: slice) -> np.ndarray:
            w = warp_delta(layers, grid[:, band])
            a = np.clip(w[:, :, 3:4], 0.0, 1.0)  # bicubic overshoots; 0 outside the crop, where w's decode is 0
            return w[:, :, :3] + a * (w[:, :, 4:] - original[band].astype(np.float32))

        return rows, face

    def render(self, z_edited: np.ndarray, mask: np.ndarray | None = None, full_resolution: bool = False,
               whole_photo: bool = False, max_side: int = PREVIEW_MAX_SIDE, labels: dict[str, float] | None = None) -> RenderResult:
        """Composite an edit. Preview: the face region at ≤ ``max_side`` px. Full resolution: the
        face region (or the whole photo) at the photo's own pixels. ``labels``: see :meth:`delta`."""
        mask = check_mask(mask)
        x0, y0, x1, y1 = self.region
        original, sx, sy, grid = self.output_geometry(full_resolution, max_side)
        still_wanted()  # (a photo's first full-resolution grid: ~0.7 s at 12 MP)
        rows, face = self.warped_change(z_edited, original, grid, labels, quick=not full_resolution)
        if rows is None:
            patch = original.copy()
        else:
            oh, ow = original.shape[:2]
            painted = self.painted_patch(mask, ow, oh, sx, sy)
            patch = np.empty_like(original)
            for band, change in masked_bands(rows, oh, ow, painted):
                change += original[band]
                patch[band] = np.rint(change, out=change).clip(0, 255).astype(np.uint8)
        if full_resolution and whole_photo:
            image = self.photo.copy()
            image[y0:y1, x0:x1] = patch
            box, scale = (0, 0, *self.size), 1.0
        else:
            image, box, scale = patch, (x0, y0, x1, y1), float(min(sx, sy))
        return RenderResult(image=image, box=box, scale=scale, face=face, z=np.asarray(z_edited, np.float32), changed=rows is not None)

    def painted_patch(self, mask: np.ndarray | None, out_w: int, out_h: int, sx: float, sy: float) -> np.ndarray | None:
        """The painted ``mask`` (any resolution; checked, one-line errors) over the face region's
        ``out_w``×``out_h`` output pixels (``sx``, ``sy``: output px per photo px), or None without
        one: what every composite multiplies its change by."""
        mask = check_mask(mask)
        return None if mask is None else mask_patch(mask, self.size, self.region, out_w, out_h, sx, sy)

    def composite(self, z_edited: np.ndarray, mask: np.ndarray | None = None, labels: dict[str, float] | None = None) -> np.ndarray:
        """The whole edited photo at full resolution (H×W×3 uint8)."""
        return self.render(z_edited, mask, full_resolution=True, whole_photo=True, labels=labels).image

    def output_geometry(self, full_resolution: bool, max_side: int):
        """(original pixels of the output, x scale, y scale, sampling grid), cached per output size:
        the face region at full resolution, or scaled to ≤ max_side."""
        key = "full" if full_resolution else max(16, int(max_side))
        if key not in self._previews:
            x0, y0, x1, y1 = self.region
            w, h = x1 - x0, y1 - y0
            roi = self.photo[y0:y1, x0:x1]
            r = 1.0 if full_resolution else min(1.0, key / max(w, h))
            pw, ph = max(1, round(w * r)), max(1, round(h * r))
            if (pw, ph) != (w, h):
                roi = np.asarray(Image.fromarray(np.ascontiguousarray(roi)).resize((pw, ph), Image.Resampling.BILINEAR, reducing_gap=2.0))
            sx, sy = pw / w, ph / h
            s = self.alignment.size
            grid = sampling_grid(self.alignment.inverse, pw, ph, s, s, ox=x0, oy=y0, sx=sx, sy=sy)
            if len(self._previews) > 4:
                self._previews.clear()
            self._previews[key] = (roi, sx, sy, grid)
        return self._previews[key]

    # ------------------------------------------------------------------ another face / model
    def choose_face(self, index: int) -> PhotoEdit:
        return bind_photo_edit(self.photo, self.source, self.faces, index, self.base_model)

    def mark_face(self, box) -> PhotoEdit:
        """Edit the face a person marked (x0, y0, x1, y1): it replaces an earlier marked one,
        joins the detected candidates last and is chosen."""
        faces = [f for f in self.faces if f.method != "manual"] + [face_from_box(self.photo, box)]
        return bind_photo_edit(self.photo, self.source, faces, len(faces) - 1, self.base_model)

    def rebind(self, model) -> PhotoEdit:
        """The same photo and face for another model (new alignment size, latent, reconstruction)."""
        return bind_photo_edit(self.photo, self.source, self.faces, self.chosen, model, alignment=self.alignment.resized(model.image_size))


@dataclass(frozen=True)
class RenderResult:
    image: np.ndarray
    box: tuple[int, int, int, int]
    scale: float
    face: np.ndarray
    z: np.ndarray
    changed: bool


def open_photo(model, source: str | os.PathLike | np.ndarray, detector: str | FaceFinder = "auto", face_index: int | None = None,
               face_box=None) -> PhotoEdit:
    """Load (a path, through the one safe loader) or take (H×W×3 uint8) a photo, find its faces,
    align the chosen one to the model's crop and encode it.

    :class:`~engine.data.align.NoFaceError` (``no face found in FILE (--detector centre edits the
    centre square)``) when ``detector`` is ``auto``/``dlib`` and there is no face: nothing is
    encoded. ``face_box`` (x0, y0, x1, y1): a face a person marked; detection is skipped."""
    if isinstance(source, np.ndarray):
        photo = _check_photo(source)
        info, name = SourceInfo(), "the image"
    else:
        photo = load_image(source)
        info, name = SourceInfo.read(source), str(source)
    if face_box is not None:
        return bind_photo_edit(photo, info, [face_from_box(photo, face_box)], 0, model)
    faces = find_faces(photo, detector, name)
    return bind_photo_edit(photo, info, faces, face_index, model)


def bind_photo_edit(photo, info, faces, face_index, model, alignment: Alignment | None = None, z: np.ndarray | None = None,
          labels: dict[str, float] | None = None) -> PhotoEdit:
    h, w = photo.shape[:2]
    size = int(model.image_size)
    if alignment is None:
        aligned = align_face(photo, size, face_index=face_index, faces=faces)
        chosen, alignment, crop = aligned.chosen, aligned.alignment, aligned.crop
    else:
        chosen = 0 if face_index is None else int(face_index)
        if not 0 <= chosen < len(faces):
            raise AlignmentError(f"face {chosen} does not exist: {len(faces)} face(s) found")
        crop = warp_crop(photo, alignment)
    if z is None:
        z, labels = _encode(model, crop)
    z = np.asarray(z, np.float32).reshape(-1)
    if z.size != model.latent_dim:
        raise PhotoError(f"the latent has {z.size} dimensions, the model's has {model.latent_dim}")
    labels = {str(k): float(v) for k, v in (labels or {}).items()}
    reconstruction = model.decode(z[None], labels=labels or None)[0]
    # the bicubic warp back reaches 2 crop pixels beyond the square: keep a margin of that size
    region = alignment.photo_box(w, h, margin=2.0 * alignment.scale)
    return PhotoEdit(photo=photo, source=info, faces=list(faces), chosen=chosen, alignment=alignment, crop=crop, z=z,
                     reconstruction=reconstruction, region=region, model=model, labels=labels)  # fmt: skip


def _encode(model, crop: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """(z, estimated labels) — labels only for conditional models, which decode with them."""
    if getattr(model, "labels", None) and hasattr(model, "encode_with_labels"):
        z, labels = model.encode_with_labels(crop)
        return z[0], labels[0]
    return model.encode(crop)[0], {}


def _check_photo(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise PhotoError(f"expected an H×W×3 uint8 photo, got {image.dtype} {tuple(image.shape)}")
    if image.shape[0] < 8 or image.shape[1] < 8:
        raise PhotoError(f"the photo is too small ({image.shape[1]}×{image.shape[0]})")
    return np.ascontiguousarray(image[:, :, :3])


def check_mask(mask: np.ndarray | None) -> np.ndarray | None:
    """A painted mask → float32 H×W in [0, 1] (uint8 is read as 0..255)."""
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[2] == 1:
        m = m[:, :, 0]
    if m.ndim != 2 or m.shape[0] < 1 or m.shape[1] < 1:
        raise PhotoError(f"a mask is H×W, got shape {tuple(m.shape)}")
    if m.dtype == np.uint8:
        return m.astype(np.float32) / 255.0
    m = m.astype(np.float32)
    if not np.isfinite(m).all():
        raise PhotoError("the mask contains NaN or infinity")
    return np.clip(m, 0.0, 1.0)


# --------------------------------------------------------------------------- warps back


def bands(height: int, width: int):
    """The output's rows in bands of about BAND_PIXELS pixels (slices), the work abandoned between
    them once nobody waits for the answer (:func:`engine.protocol.still_wanted`)."""
    step = max(1, BAND_PIXELS // max(int(width), 1))
    for top in range(0, int(height), step):
        still_wanted()
        yield slice(top, min(int(height), top + step))


def masked_bands(rows, height: int, width: int, painted: np.ndarray | None):
    """(band, change) over the output's :func:`bands`: ``rows(band)`` (PhotoEdit.warped_change) times
    the painted mask's rows there (``painted``: mask_patch's, None: unmasked) — what every composite adds."""
    for band in bands(height, width):
        change = rows(band)
        if painted is not None:
            change *= painted[band, :, None]
        yield band, change


def warp_delta(delta: np.ndarray, grid) -> np.ndarray:
    """The crop-space change sampled at the output pixels (``grid``; bicubic, 0 outside the crop):
    :func:`engine.crop_warp.sample`, which the warped composite uses for the same step."""
    from engine.crop_warp import sample

    return sample(delta, grid)


def mask_patch(mask: np.ndarray, photo_size: tuple[int, int], box, out_w: int, out_h: int, sx: float, sy: float) -> np.ndarray:
    """The painted mask over the output pixels of ``box``: sliced when it is at photo
    resolution and so is the output, else sampled bilinearly (it may have any resolution)."""
    import torch
    import torch.nn.functional as F

    W, H = photo_size
    x0, y0, x1, y1 = box
    mh, mw = mask.shape
    if (mw, mh) == (W, H) and (out_w, out_h) == (x1 - x0, y1 - y0):
        return mask[y0:y1, x0:x1]
    m = np.array([[mw / W, 0.0, 0.0], [0.0, mh / H, 0.0]])
    grid = sampling_grid(m, out_w, out_h, mw, mh, ox=x0, oy=y0, sx=sx, sy=sy)
    src = torch.from_numpy(np.ascontiguousarray(mask))[None, None]
    out = F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out[0, 0].numpy()
