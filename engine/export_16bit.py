"""The flat export at 16 bits per channel: PNG or TIFF.

The photo itself is held at 8 bits (the loader reduces deeper sources), so 16 bits keep what
8 bits round away: the model's change, which is fractional (a bicubic warp of a decoded
difference, faded by the feathered mask), stays smooth instead of banding in skies and skin.
The original's own pixels come out exactly (v × 257), and dividing the 16-bit file by 257 and
rounding gives the 8-bit export (within a grey level).

Pillow writes no 16-bit RGB PNG or TIFF, so both are written here with the standard library:
PNG (IHDR depth 16, one zlib IDAT; the source's ICC profile as iCCP) and baseline TIFF
(uncompressed, one strip, little-endian; the ICC profile as tag 34675).
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

from engine.photo import PhotoEdit, PhotoError, masked_bands
from engine.photo_export import check_output, source_icc_profile
from engine.protocol.files import atomic_write

FORMATS = {".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF"}


def composite_float(pe: PhotoEdit, z_edited: np.ndarray, mask: np.ndarray | None = None,
                    labels: dict[str, float] | None = None) -> np.ndarray:
    """The whole edited photo, H×W×3 float32 in [0, 255], before the 8-bit rounding of
    :meth:`PhotoEdit.composite` (same change, same warp, same masks)."""
    out = pe.photo.astype(np.float32)
    x0, y0, x1, y1 = pe.region
    _, sx, sy, grid = pe.output_geometry(True, 0)
    patch = out[y0:y1, x0:x1]
    rows, _ = pe.warped_change(z_edited, patch, grid, labels)  # the one change every composite adds
    if rows is None:
        return out
    painted = pe.painted_patch(mask, x1 - x0, y1 - y0, sx, sy)
    for band, change in masked_bands(rows, *patch.shape[:2], painted):
        patch[band] += change
    return np.clip(out, 0.0, 255.0, out=out)


def to_16bit(image: np.ndarray) -> np.ndarray:
    """[0, 255] floats → uint16 on the full 0..65535 scale (255 → 65535)."""
    return np.rint(np.asarray(image, np.float64) * 257.0).clip(0, 65535).astype(np.uint16)


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)


def png16(rgb: np.ndarray, icc_profile: bytes | None = None) -> bytes:
    """A 16-bit RGB PNG of ``rgb`` (H×W×3 uint16)."""
    h, w, _ = rgb.shape
    rows = np.empty((h, 1 + w * 6), np.uint8)
    rows[:, 0] = 0  # filter: none (zlib does the work; photos gain little from PNG filters at 16 bits)
    rows[:, 1:] = np.ascontiguousarray(rgb, ">u2").view(np.uint8).reshape(h, w * 6)
    parts = [b"\x89PNG\r\n\x1a\n", _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))]
    if icc_profile:
        parts.append(_chunk(b"iCCP", b"ICC profile\0\0" + zlib.compress(icc_profile)))
    parts += [_chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)), _chunk(b"IEND", b"")]
    return b"".join(parts)


def tiff16(rgb: np.ndarray, icc_profile: bytes | None = None) -> bytes:
    """A baseline 16-bit RGB TIFF of ``rgb`` (H×W×3 uint16): uncompressed, one strip."""
    h, w, _ = rgb.shape
    pixels = np.ascontiguousarray(rgb, "<u2").tobytes()
    short, long_, undefined = 3, 4, 7
    icc = icc_profile or b""
    n = 10 + (1 if icc else 0)
    ifd_size = 2 + 12 * n + 4
    bits_at = 8 + ifd_size  # BitsPerSample's three values live after the IFD
    icc_at = bits_at + 6
    data_at = icc_at + len(icc) + (len(icc) & 1)  # word-aligned
    entries = [(256, long_, 1, w), (257, long_, 1, h), (258, short, 3, bits_at), (259, short, 1, 1), (262, short, 1, 2),
               (273, long_, 1, data_at), (277, short, 1, 3), (278, long_, 1, h), (279, long_, 1, len(pixels)), (284, short, 1, 1)]
    if icc:
        entries.append((34675, undefined, len(icc), icc_at))
    out = [b"II*\0", struct.pack("<I", 8), struct.pack("<H", n)]
    for tag, kind, count, value in sorted(entries):
        if kind == short and count == 1:
            out.append(struct.pack("<HHIHH", tag, kind, count, value, 0))
        else:
            out.append(struct.pack("<HHII", tag, kind, count, value))
    out += [struct.pack("<I", 0), struct.pack("<HHH", 16, 16, 16), icc, b"\0" * (len(icc) & 1), pixels]
    return b"".join(out)


def export_16bit(pe: PhotoEdit, z_edited: np.ndarray, path: str | os.PathLike, mask: np.ndarray | None = None, *,
                 labels: dict[str, float] | None = None, overwrite: bool = False) -> dict:
    """Write the edited photo as a 16-bit PNG or TIFF (by ``path``'s suffix), atomically. Refuses
    an existing file unless ``overwrite`` and the source photo always. EXIF is not carried."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise PhotoError(f"{path.name}: 16 bits per channel are written as .png, .tif or .tiff")
    check_output(path, pe.source.path, overwrite)
    rgb = to_16bit(composite_float(pe, z_edited, mask, labels))
    icc = source_icc_profile(pe.source)
    atomic_write(path, (png16 if fmt == "PNG" else tiff16)(rgb, icc))
    return {"path": str(path), "size": (rgb.shape[1], rgb.shape[0]), "format": f"{fmt} 16-bit", "exif_kept": False}
