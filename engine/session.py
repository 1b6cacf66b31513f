"""Session files: the whole state of a photo edit, saved and reopened (no Qt, nothing pickled).

A session is a zip file (``.lsession``) holding::

    session.json   format "latent-studio/session", version, what is below, the model's identity
    photo.<ext>    the photo file's own bytes (``embed_photo=True``, the default), or photo.png
                   when the photo came as pixels; absent when not embedded (then the source path
                   is read on load)
    z.npy          the original latent of the aligned face (float32, D) — ``numpy.save`` format,
                   read with ``allow_pickle=False``
    mask.npy       the painted mask (H×W, its own dtype: uint8, bool or float32), when there is one

``session.json`` keeps the face candidates, the chosen one, the alignment matrix (exact floats),
the edit stack (the recipe JSON of :class:`engine.protocol.EditStack`) and a SHA-256 of the
photo's decoded pixels. Reopening with the same model gives the same pixels as before saving:
the stored alignment and latent are used as they are (no re-detection, no re-encoding). With
another model, the latent is re-encoded from the stored alignment and a warning says so.

Versioning: ``version`` is an integer; a file newer than :data:`SESSION_VERSION` is refused
with a clear message; older versions are upgraded on load when the format changes.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from engine.data.align import Alignment, Face
from engine.data.images import ImageLoadError, load_image
from engine.photo import PhotoEdit, PhotoError, SourceInfo, bind_photo_edit, check_mask
from engine.photo_export import check_output
from engine.protocol import EditStack
from engine.session_check import MAX_JSON_BYTES, check_session, parse_session_json, read_npy
from engine.protocol.files import atomic_output, check_regular

SESSION_FORMAT = "latent-studio/session"
SESSION_VERSION = 1
SESSION_SUFFIXES = (".lsession", ".zip")
MAX_MEMBER_BYTES = 1024 * 2**20  # an uncompressed member larger than this is not one of ours (zip bomb guard)
MASK_DTYPES = (np.uint8, np.bool_, np.float32)
MAX_LATENT_DIM = 1024  # the model configs' bound
MAX_MASK_SIDE = 100_000


class SessionError(ValueError):
    """A session that cannot be saved or opened; the message is one line for a person."""


def model_identity(model) -> dict:
    ident = {"name": str(getattr(model, "name", "")), "latent_dim": int(model.latent_dim), "image_size": int(model.image_size)}
    ckpt = getattr(model, "ckpt", None)
    if ckpt is not None:
        ident["fingerprint"] = model.fingerprint
    return ident


def pixel_digest(photo: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(f"{photo.shape}".encode())
    h.update(np.ascontiguousarray(photo).data)
    return h.hexdigest()


def save_session(path: str | os.PathLike, photo: PhotoEdit, edits: EditStack | None = None, mask: np.ndarray | None = None, *,
                 embed_photo: bool = True, overwrite: bool = True, labels: dict[str, float] | None = None) -> Path:
    """Write ``photo`` (an open :class:`PhotoEdit`), ``edits`` and ``mask`` to ``path``, atomically.
    ``labels``: a conditional model's edit labels (None: the photo's own estimate)."""
    path = Path(path)
    if path.suffix.lower() not in SESSION_SUFFIXES:
        raise SessionError(f"{path.name}: a session file name ends in {' or '.join(SESSION_SUFFIXES)}")
    check_output(path, photo.source.path, overwrite, SessionError)
    edits = edits or EditStack()
    if labels is not None:
        labels = {str(k): float(v) for k, v in labels.items()}
        unknown = sorted(set(labels) - set(photo.labels))
        if unknown or not all(0.0 <= v <= 1.0 for v in labels.values()):
            raise SessionError(f"edit labels must be the model's labels within 0..1 (got {', '.join(unknown) or 'values outside 0..1'})")
    mask_arr = _session_mask(mask, photo.size)
    source = photo.source.path
    photo_member = None
    photo_bytes = None
    if embed_photo or source is None:
        if source is not None and source.is_file():
            photo_bytes = source.read_bytes()
            photo_member = "photo" + (source.suffix.lower() if source.suffix.lower() in _IMAGE_SUFFIXES else ".img")
        else:
            from PIL import Image

            buf = io.BytesIO()
            Image.fromarray(photo.photo).save(buf, format="PNG", compress_level=6)
            photo_bytes, photo_member = buf.getvalue(), "photo.png"
    meta = {
        "format": SESSION_FORMAT,
        "version": SESSION_VERSION,
        "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "photo": {
            "source": str(source.resolve()) if source is not None else "",
            "member": photo_member,
            "width": photo.size[0],
            "height": photo.size[1],
            "pixels_sha256": pixel_digest(photo.photo),
        },
        "face": {
            "faces": [_face_to_json(f) for f in photo.faces],
            "chosen": photo.chosen,
            "alignment": photo.alignment.to_list(),
            "size": photo.alignment.size,
        },
        "model": model_identity(photo.base_model),
        "latent": "z.npy",
        "labels": dict(photo.labels),
        "edit_labels": labels,
        "edits": edits.to_dict(),
        "mask": "mask.npy" if mask_arr is not None else None,
    }
    fit_bytes = None
    if photo.fit is not None:  # the per-photo fit: its tuned decoder tensors (safetensors), never the bundled model
        from engine.fit_state import fit_to_bytes

        fit_bytes, facts = fit_to_bytes(photo.fit)
        meta["fit"] = {"member": "fit.safetensors", "colour": photo.colour, **facts}
    with atomic_output(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            zf.writestr("session.json", json.dumps(meta, indent=2))
            zf.writestr("z.npy", _npy(np.asarray(photo.z, np.float32)))
            if mask_arr is not None:
                zf.writestr("mask.npy", _npy(mask_arr))
            if fit_bytes is not None:
                zf.writestr("fit.safetensors", fit_bytes)
            if photo_bytes is not None:
                zf.writestr(zipfile.ZipInfo(photo_member, date_time=time.localtime()[:6]), photo_bytes, compress_type=zipfile.ZIP_STORED)
    return path


def load_session(path: str | os.PathLike, model) -> tuple[PhotoEdit, EditStack, np.ndarray | None, list[str]]:
    """Reopen a session for ``model``: (the open photo, its edit stack, its mask, warnings)."""
    path = Path(path)
    name = path.name
    try:
        check_regular(path, "session file")  # a FIFO would block the read forever
    except OSError as exc:
        raise SessionError(str(exc)) from None
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SessionError(f"{name}: not a session file ({exc})") from None
    warnings: list[str] = []
    with zf:
        meta = _read_meta(zf, name)
        ph = meta["photo"]
        member = ph.get("member")
        source = path.parent / ph["source"] if ph.get("source") else None  # a relative source is beside the session file
        if member:
            data = _member(zf, member, name)
            photo = _load_photo(data, name, "the embedded photo")
            info = SourceInfo.from_bytes(data, path=source if source is not None and source.exists() else None)
        else:
            if source is None or not source.is_file():
                raise SessionError(f"{name}: the photo {source} is gone and the session does not embed it")
            photo = _load_photo(source, name, f"the photo {source.name}")
            info = SourceInfo.read(source)
        if (photo.shape[1], photo.shape[0]) != (ph.get("width"), ph.get("height")):
            raise SessionError(f"{name}: the photo is {photo.shape[1]}×{photo.shape[0]}, the session expects {ph.get('width')}×{ph.get('height')}")
        if pixel_digest(photo) != ph.get("pixels_sha256"):
            warnings.append("the photo's pixels differ from when the session was saved (edited file or another image decoder)")
        z = _load_npy(_member(zf, meta.get("latent", "z.npy"), name, limit=2**20), name, "latent", (np.float32,), 1, MAX_LATENT_DIM)
        if not np.isfinite(z).all():
            raise SessionError(f"{name}: the latent holds NaN or infinite values")
        mask = None
        if meta.get("mask"):
            mask = _load_npy(_member(zf, meta["mask"], name), name, "mask", MASK_DTYPES, 2, MAX_MASK_SIDE)
            if mask.dtype == np.float32 and not np.isfinite(mask).all():
                raise SessionError(f"{name}: the mask holds NaN or infinite values")
        fit_meta = meta.get("fit") if isinstance(meta.get("fit"), dict) else None
        fit_bytes = _member(zf, "fit.safetensors", name) if fit_meta else None
    try:
        edits = EditStack.from_dict(meta["edits"])
        face = meta["face"]
        faces = [_face_from_json(f) for f in face["faces"]] or None
        alignment = Alignment.from_list(face["alignment"], int(face["size"]))
        chosen = int(face["chosen"])
    except (KeyError, TypeError, ValueError) as exc:
        raise SessionError(f"{name}: damaged session.json ({exc})") from None
    if not faces or not 0 <= chosen < len(faces):
        raise SessionError(f"{name}: damaged session.json (no chosen face)")
    saved_model = meta.get("model", {})
    current = model_identity(model)
    same_model = all(saved_model.get(k) == current.get(k) for k in ("latent_dim", "image_size", "fingerprint"))
    if not same_model:
        warnings.append(f"the session was made with model {saved_model.get('name', '?')!r}; its latent was re-encoded with {current['name']!r}")
        z = None
    elif z.shape != (model.latent_dim,):
        raise SessionError(f"{name}: the latent has shape {z.shape}, expected ({model.latent_dim},)")
    try:
        labels = {str(k): float(v) for k, v in (meta.get("labels") or {}).items()} if z is not None else None
        pe = bind_photo_edit(photo, info, faces, chosen, model, alignment=alignment.resized(model.image_size), z=z, labels=labels)
    except PhotoError as exc:
        raise SessionError(f"{name}: {exc}") from None
    if fit_bytes is not None and z is not None:
        pe = _restore_fit(pe, fit_bytes, fit_meta, warnings)
    elif fit_bytes is not None:
        warnings.append("the per-photo fit belongs to the session's model; fit the photo again")
    return pe, edits, mask, warnings


def _restore_fit(pe: PhotoEdit, data: bytes, facts: dict, warnings: list[str]) -> PhotoEdit:
    """The session's per-photo fit on ``pe`` (same model); a damaged one is a warning, not a failure."""
    from engine.fit_state import fit_from_bytes
    from engine.fit_composite import COLOUR_MODES

    try:
        fitted = pe.with_fit(fit_from_bytes(pe.model, data, facts, pe.z, pe.labels))
    except (ValueError, TypeError) as exc:  # damaged tensors or facts, or weights of another model
        warnings.append(f"the per-photo fit was not restored ({str(exc).splitlines()[0]}); fit the photo again")
        return pe
    colour = facts.get("colour")
    return replace(fitted, colour=colour) if colour in COLOUR_MODES else fitted


def saved_edit_labels(path: str | os.PathLike, model) -> dict[str, float] | None:
    """The edit labels a session saved (conditional models), if they fit ``model``'s labels; else None."""
    with zipfile.ZipFile(check_regular(path, "session file")) as zf:
        saved = _read_meta(zf, Path(path).name).get("edit_labels")
    names = set(getattr(model, "labels", None) or ())
    if not isinstance(saved, dict) or not saved or not set(saved) <= names:
        return None
    try:
        return {str(k): min(1.0, max(0.0, float(v))) for k, v in saved.items()}
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------- helpers

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".heic")


def _session_mask(mask, size) -> np.ndarray | None:
    if mask is None:
        return None
    m = np.asarray(mask)
    if m.ndim == 3 and m.shape[2] == 1:
        m = m[:, :, 0]
    check_mask(m)  # shape / finiteness, one-line errors
    if m.dtype.type not in MASK_DTYPES:
        m = m.astype(np.float32)
    return np.ascontiguousarray(m)


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _load_npy(data: bytes, name: str, what: str, dtypes: tuple, ndim: int, max_side: int) -> np.ndarray:
    try:
        return read_npy(data, dtypes, ndim, max_side)  # the header is judged before anything is allocated
    except ValueError as exc:
        raise SessionError(f"{name}: the {what} is unreadable ({exc})") from None


def _load_photo(source, name: str, what: str) -> np.ndarray:
    try:
        return load_image(source)
    except ImageLoadError as exc:
        raise SessionError(f"{name}: {what} is unreadable ({str(exc).splitlines()[0]})") from None
    except Exception as exc:  # hostile bytes reach a decoder: whatever it raises is still one line
        raise SessionError(f"{name}: {what} is unreadable ({type(exc).__name__})") from None


def _member(zf: zipfile.ZipFile, member: str, name: str, limit: int = MAX_MEMBER_BYTES) -> bytes:
    """A member's bytes; its declared size is judged first (a zip bomb inflates only this far)."""
    try:
        info = zf.getinfo(member)
    except KeyError:
        raise SessionError(f"{name}: damaged session (missing {member})") from None
    if info.file_size > limit:
        raise SessionError(f"{name}: {member} is {info.file_size / 2**20:.0f} MiB uncompressed, too large")
    try:
        return zf.read(member)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise SessionError(f"{name}: damaged session ({member}: {exc})") from None


def _read_meta(zf: zipfile.ZipFile, name: str) -> dict:
    try:
        meta = parse_session_json(_member(zf, "session.json", name, limit=MAX_JSON_BYTES))
    except ValueError as exc:
        raise SessionError(f"{name}: {exc}") from None
    if meta.get("format") != SESSION_FORMAT:
        raise SessionError(f"{name}: not a Latent Studio session")
    version = meta.get("version")
    if not isinstance(version, int) or version < 1:
        raise SessionError(f"{name}: session version {version!r} is not valid")
    if version > SESSION_VERSION:
        raise SessionError(f"{name}: session version {version} is newer than this Latent Studio ({SESSION_VERSION}); update to open it")
    try:
        check_session(meta)  # every field's type and range
    except ValueError as exc:
        raise SessionError(f"{name}: damaged session.json ({exc})") from None
    return meta


def _face_to_json(f: Face) -> dict:
    return {"box": list(f.box), "left_eye": list(f.left_eye), "right_eye": list(f.right_eye), "score": f.score, "rank": f.rank, "method": f.method}


def _face_from_json(d: dict) -> Face:
    return Face(box=tuple(float(v) for v in d["box"]), left_eye=tuple(float(v) for v in d["left_eye"]),
                right_eye=tuple(float(v) for v in d["right_eye"]), score=float(d["score"]), rank=float(d.get("rank", d["score"])),
                method=str(d["method"]))  # fmt: skip

