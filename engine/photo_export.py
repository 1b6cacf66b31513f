"""Writing an edited photo: :func:`export_photo` (PNG/JPEG/WebP, EXIF and ICC kept, atomic) and
:func:`check_output`, the one rule for every file written from an open photo."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image

from engine.exif import export_exif
from engine.photo import PhotoError, SourceInfo
from engine.protocol.files import atomic_output

EXPORT_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def export_photo(image: np.ndarray, path: str | os.PathLike, source: SourceInfo | None = None, *, overwrite: bool = False,
                 quality: int = 95, keep_exif: bool = True) -> dict:
    """Write ``image`` (H×W×3 uint8) as PNG/JPEG/WebP by ``path``'s suffix, atomically.

    EXIF from the source is kept with the orientation reset to 1 (the pixels are already
    upright), the EXIF pixel dimensions set to the image's and the embedded thumbnail dropped
    (it would show the unedited photo); EXIF too large for a JPEG is trimmed or dropped, listed
    under ``warnings`` (see :mod:`engine.exif`). The source's ICC profile is kept when the
    source was RGB. An existing file is an error unless ``overwrite``; the source photo is never
    overwritten, whatever ``overwrite`` says. The file gets the umask's permissions.
    """
    path = Path(path)
    fmt = EXPORT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise PhotoError(f"{path.name}: choose a .png, .jpg, .jpeg or .webp name")
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise PhotoError(f"expected an H×W×3 uint8 image to export, got {image.dtype} {tuple(image.shape)}")
    source = source or SourceInfo()
    check_output(path, source.path, overwrite)
    if not 1 <= int(quality) <= 100:
        raise PhotoError(f"quality must be within 1..100, got {quality}")
    kwargs: dict = {}
    notes: list[str] = []
    if keep_exif and source.exif:
        exif, notes = export_exif(source.exif, image.shape[1], image.shape[0], fmt)
        if exif is not None:
            kwargs["exif"] = exif
    if source_icc_profile(source):
        kwargs["icc_profile"] = source_icc_profile(source)
    if fmt == "JPEG":
        kwargs.update(quality=int(quality), subsampling=0 if quality >= 90 else 2, optimize=False)
    elif fmt == "WEBP":
        kwargs.update(quality=int(quality), method=4)
    else:
        kwargs.update(compress_level=6)
    with atomic_output(path) as tmp:
        try:
            Image.fromarray(image).save(tmp, format=fmt, **kwargs)
        except ValueError as exc:  # metadata the encoder refuses: the photo matters more than its metadata
            if "exif" not in kwargs and "icc_profile" not in kwargs:
                raise
            kwargs.pop("exif", None), kwargs.pop("icc_profile", None)
            notes.append(f"metadata dropped ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})")
            Image.fromarray(image).save(tmp, format=fmt, **kwargs)
    return {"path": str(path), "size": (image.shape[1], image.shape[0]), "format": fmt, "exif_kept": "exif" in kwargs,
            "warnings": notes}


def check_output(path: Path, source_path: Path | None, overwrite: bool, error: type[Exception] = PhotoError) -> None:
    """One rule for every file written from an open photo (export, 16-bit, layers, session): never
    over the source photo, over an existing file only with ``overwrite``, into a folder that exists."""
    if source_path is not None and _same_file(path, source_path):
        raise error(f"{path.name} is the original photo; it is never overwritten — choose another name")
    if path.exists() and not overwrite:
        raise error(f"{path.name} already exists (use overwrite=True / --overwrite to replace it)")
    if not path.parent.is_dir():
        raise error(f"{path.parent}: no such folder")


def source_icc_profile(source: SourceInfo) -> bytes | None:
    """The source's ICC profile when it describes RGB pixels (a CMYK or grey profile would mislabel ours)."""
    return source.icc_profile if source.icc_profile and source.mode in ("RGB", "RGBA", "RGBX", "P", "YCbCr") else None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()
