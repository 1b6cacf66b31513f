"""The shapes of file the engine writes (.npy latents, JSON reports, PNG images, text), each
through the one atomic writer (:mod:`engine.protocol.files`): a full disk or a kill leaves the
old file or the new one, never a truncated one, and the error is one line naming the file.

Each returns the path it actually wrote, which is what a command must report.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np

from engine.protocol.files import atomic_output, atomic_write


def output_name(path: str | os.PathLike, suffix: str) -> Path:
    """``path`` as the file that will be written: ``suffix`` added when missing (as ``np.save``
    does), refused when it names an existing folder (it would land beside it, under another name)."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder; name a {suffix} file (e.g. {path / ('latents' + suffix)})")
    return path if path.suffix.lower() == suffix else path.with_name(path.name + suffix)


def save_npy(path: str | os.PathLike, array: np.ndarray) -> Path:
    """An array as ``.npy`` (no pickles); ``.npy`` is added to a name without it."""
    path = output_name(path, ".npy")
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return atomic_write(path, buf.getvalue())


def save_json(path: str | os.PathLike, obj, **dump_args) -> Path:
    return atomic_write(path, json.dumps(obj, **{"indent": 2, **dump_args}) + "\n")


def save_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write(path, text)


def save_image(path: str | os.PathLike, image: np.ndarray, **save_args) -> Path:
    """A uint8 array as an image file, its format from the suffix (PNG, JPEG, GIF, ...)."""
    from PIL import Image

    path = Path(path)
    fmt = Image.registered_extensions().get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"{path.name}: unknown image type; use a .png or .jpg name")
    with atomic_output(path) as tmp:
        Image.fromarray(np.ascontiguousarray(image)).save(tmp, format=fmt, **save_args)
    return path
