"""Layered export: the edit as OpenRaster (``.ora``), for Krita, GIMP and MyPaint.

An OpenRaster file is a zip whose first member is an uncompressed ``mimetype`` file
(``image/openraster``), then ``stack.xml`` (the layers, top first), the layer PNGs under
``data/``, ``mergedimage.png`` (the flat result) and ``Thumbnails/thumbnail.png`` (≤ 256 px).
Our stack, top first:

* ``Mask`` (hidden): the feathered face mask times the painted mask, grey levels, over the face
  region — load it as a selection to retouch by hand where the model edited;
* ``Edit``: the change only, over the face region — the edited pixels with that mask as alpha,
  so that ``Original`` + ``Edit`` (normal blending) is the flat export within a grey level;
* ``Original``: the photo as opened.

:func:`write_ora` needs only arrays (no model); :func:`export_layers` computes them from an open
:class:`~engine.photo.PhotoEdit`.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
from PIL import Image

from engine.photo import PhotoEdit, PhotoError, warp_delta
from engine.photo_export import check_output, source_icc_profile
from engine.protocol.files import atomic_output

MIMETYPE = b"image/openraster"
THUMBNAIL_MAX = 256


def edit_layer(original: np.ndarray, edited: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """RGBA uint8: ``edited`` (H×W×3 uint8) as a layer over ``original`` with alpha ≈ ``alpha``
    (H×W in [0, 1]), such that blending it over ``original`` gives back ``edited``.

    Where the change needs more opacity than the mask gives (the bicubic warp reaches a little
    beyond the feathered mask), alpha is raised just enough; the colour is then
    ``original + change / alpha``, so the blend is exact up to the 8-bit rounding of both."""
    o = original.astype(np.float64)
    d = edited.astype(np.float64) - o
    room = np.where(d > 0, 255.0 - o, o)
    need = np.divide(np.abs(d), room, out=np.zeros_like(d), where=room > 0).max(-1)  # the least alpha that can carry the change
    a = np.maximum(np.rint(np.clip(alpha, 0.0, 1.0) * 255.0), np.ceil(need * 255.0 - 1e-9))
    a = np.where(np.abs(d).max(-1) > 0, np.maximum(a, 1.0), a)
    colour = o + np.divide(d * 255.0, a[..., None], out=np.zeros_like(d), where=a[..., None] > 0)
    rgba = np.empty(original.shape[:2] + (4,), np.uint8)
    rgba[..., :3] = np.rint(colour).clip(0, 255)
    rgba[..., 3] = a.clip(0, 255)
    return rgba


def _png(array: np.ndarray, icc_profile: bytes | None = None) -> bytes:
    buf = io.BytesIO()
    kwargs = {"icc_profile": icc_profile} if icc_profile and array.ndim == 3 else {}
    Image.fromarray(np.ascontiguousarray(array)).save(buf, format="PNG", compress_level=6, **kwargs)
    return buf.getvalue()


def _thumbnail(image: np.ndarray) -> np.ndarray:
    im = Image.fromarray(image)
    im.thumbnail((THUMBNAIL_MAX, THUMBNAIL_MAX), Image.Resampling.LANCZOS)
    return np.asarray(im)


def stack_xml(width: int, height: int, layers: list[dict]) -> bytes:
    """OpenRaster's stack.xml; ``layers`` top first, each with name, src, x, y, opacity, visible."""
    lines = ["<?xml version='1.0' encoding='UTF-8'?>",
             f'<image version="0.0.5" w="{width}" h="{height}" xres="72" yres="72">', "  <stack>"]
    for layer in layers:
        lines.append(
            f"    <layer name={quoteattr(layer['name'])} src={quoteattr(layer['src'])} x=\"{int(layer['x'])}\" y=\"{int(layer['y'])}\""
            f" opacity=\"{float(layer.get('opacity', 1.0)):.3f}\" visibility=\"{'visible' if layer.get('visible', True) else 'hidden'}\""
            ' composite-op="svg:src-over"/>')
    lines += ["  </stack>", "</image>", ""]
    return "\n".join(lines).encode("utf-8")


def write_ora(path: str | os.PathLike, original: np.ndarray, edited: np.ndarray, alpha: np.ndarray,
              box: tuple[int, int, int, int], *, icc_profile: bytes | None = None) -> int:
    """Write the OpenRaster file atomically; returns its size in bytes.

    ``original`` and ``edited``: the whole photo (H×W×3 uint8); ``alpha``: the mask over ``box``
    (x0, y0, x1, y1), where the Edit and Mask layers are placed."""
    original, edited = np.asarray(original, np.uint8), np.asarray(edited, np.uint8)
    if original.shape != edited.shape or original.ndim != 3 or original.shape[2] != 3:
        raise PhotoError(f"the original {tuple(original.shape)} and the edit {tuple(edited.shape)} must be the same H×W×3 image")
    h, w = original.shape[:2]
    x0, y0, x1, y1 = (int(v) for v in box)
    if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h) or alpha.shape != (y1 - y0, x1 - x0):
        raise PhotoError(f"the edit's box {box} and mask {tuple(alpha.shape)} do not fit the {w}×{h} photo")
    layer = edit_layer(original[y0:y1, x0:x1], edited[y0:y1, x0:x1], alpha)
    mask = np.rint(np.clip(alpha, 0.0, 1.0) * 255.0).astype(np.uint8)
    layers = [
        {"name": "Mask", "src": "data/mask.png", "x": x0, "y": y0, "visible": False},
        {"name": "Edit", "src": "data/edit.png", "x": x0, "y": y0},
        {"name": "Original", "src": "data/original.png", "x": 0, "y": 0},
    ]
    path = Path(path)
    with atomic_output(path) as tmp:
        with zipfile.ZipFile(tmp, "w") as zf:
            # readers sniff the type from a stored, extra-field-free first member (like ODF)
            zf.writestr(zipfile.ZipInfo("mimetype"), MIMETYPE, compress_type=zipfile.ZIP_STORED)
            zf.writestr("stack.xml", stack_xml(w, h, layers), compress_type=zipfile.ZIP_DEFLATED)
            for name, data in (("data/original.png", _png(original, icc_profile)), ("data/edit.png", _png(layer, None)),
                               ("data/mask.png", _png(mask)), ("mergedimage.png", _png(edited, icc_profile)),
                               ("Thumbnails/thumbnail.png", _png(_thumbnail(edited)))):
                zf.writestr(name, data, compress_type=zipfile.ZIP_STORED)  # PNGs are compressed already
    return path.stat().st_size


def layer_arrays(pe: PhotoEdit, z_edited: np.ndarray, mask: np.ndarray | None = None,
                 labels: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int, int]]:
    """(the whole edited photo, the mask over the face region, the region) of an edit: the same
    composite as :meth:`PhotoEdit.composite`, and the change's feathered mask mapped into the photo
    as the change is (the photo's mask: the face ellipse, or the whole crop for a fitted photo;
    times the painted ``mask``)."""
    edited = pe.composite(z_edited, mask, labels=labels)
    x0, y0, x1, y1 = pe.region
    _, sx, sy, grid = pe.output_geometry(True, 0)
    size = pe.alignment.size
    alpha = np.clip(warp_delta(pe.crop_mask(size)[:, :, None], grid)[:, :, 0], 0.0, 1.0)  # the change's own mask; bicubic overshoots a little
    painted = pe.painted_patch(mask, x1 - x0, y1 - y0, sx, sy)
    if painted is not None:
        alpha = alpha * painted
    return edited, np.clip(alpha, 0.0, 1.0).astype(np.float32), pe.region


def export_layers(pe: PhotoEdit, z_edited: np.ndarray, path: str | os.PathLike, mask: np.ndarray | None = None, *,
                  labels: dict[str, float] | None = None, overwrite: bool = False) -> dict:
    """Write the open photo's edit as an OpenRaster file; refuses an existing file unless
    ``overwrite`` and the source photo always. Returns path, format and size in bytes."""
    path = Path(path)
    if path.suffix.lower() != ".ora":
        raise PhotoError(f"{path.name}: choose an .ora name (OpenRaster)")
    check_output(path, pe.source.path, overwrite)
    edited, alpha, box = layer_arrays(pe, z_edited, mask, labels)
    icc = source_icc_profile(pe.source)
    size = write_ora(path, pe.photo, edited, alpha, box, icc_profile=icc)
    return {"path": str(path), "format": "OpenRaster", "bytes": int(size)}
