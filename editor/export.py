"""Writing edited images: PNG or JPEG, atomically, never over the source photo."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImageWriter

from editor.imaging import array_to_qimage
from engine.protocol.files import atomic_output

FORMATS = {".png": b"png", ".jpg": b"jpeg", ".jpeg": b"jpeg"}


class ExportError(ValueError):
    """The image was not written; the message says why."""


def same_file(a: str | os.PathLike, b: str | os.PathLike | None) -> bool:
    if b is None:
        return False
    a, b = Path(a), Path(b)
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return a.resolve() == b.resolve()


def suggest_export_path(source: str | os.PathLike | None, suffix: str = "-edited", ext: str = ".png") -> Path:
    """``photo.jpg`` → ``photo-edited.png`` beside it (``-edited-2`` … if taken)."""
    base = Path(source) if source else Path.cwd() / "latent-studio"
    candidate = base.with_name(f"{base.stem}{suffix}{ext}")
    n = 2
    while candidate.exists():
        candidate = base.with_name(f"{base.stem}{suffix}-{n}{ext}")
        n += 1
    return candidate


def save_image(array: np.ndarray, path: str | os.PathLike, *, source: str | os.PathLike | None = None,
               quality: int = 95) -> Path:
    """Write ``array`` (H×W×3 uint8) as PNG/JPEG to ``path``. Refuses to write over ``source``."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ExportError(f"{path.name}: choose a .png, .jpg or .jpeg name")
    if same_file(path, source):
        raise ExportError(f"{path.name} is the original photo; it is never overwritten — choose another name")
    try:
        with atomic_output(path) as tmp:
            writer = QImageWriter(str(tmp), fmt)
            if fmt == b"jpeg":
                writer.setQuality(quality)
            if not writer.write(array_to_qimage(np.ascontiguousarray(array))):
                raise ExportError(f"{path.name}: {writer.errorString()}")
    except OSError as exc:  # a full disk, a read-only folder, a FIFO at the path: one line, nothing replaced
        raise ExportError(str(exc).splitlines()[0]) from None
    return path
