"""The one way Latent Studio reads an image file.

EXIF orientation is applied, every PIL mode becomes RGB (or L), a decompression-bomb guard
caps the declared size *before* pixels are decoded, and anything unreadable is rejected with
one clear line (``ImageLoadError``). Everything else in the project calls :func:`load_image`.

Formats are allowed by *content* from a short list (:data:`FORMATS`), whatever the file's
name says: Pillow knows ~40 formats, and some hand the bytes to outside programs (PostScript
and EPS run Ghostscript, where a ``{} loop`` hangs forever) or to rarely used decoders. Only
regular files are opened (a FIFO would block the read). Truncated files are refused, including
a JPEG whose header declares far more pixels than its data could hold (libjpeg pads those with
grey and only warns).
"""

from __future__ import annotations

import io
import math
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from engine.protocol.files import UnsafePathError, open_regular

#: Largest image we accept: 80 megapixels (a 12 MP photo is well inside; a bomb is not). Below
#: PIL's own warning threshold (~89 MP), so our clearer message is the one a user sees.
MAX_PIXELS = 80_000_000
MAX_FILE_BYTES = 512 * 1024 * 1024

#: The formats we decode, judged from the bytes: what cameras, phones, browsers and editors
#: write (Pillow's JPEG opener also returns the multi-picture "MPO" JPEGs many phones save).
#: Never EPS/PS (Ghostscript), nor the scientific and legacy formats (FITS, GRIB, PSD, SGI, ...)
#: nobody edits faces in.
FORMATS = ("JPEG", "PNG", "WEBP", "TIFF", "BMP", "GIF", "PPM", "ICO")
FORMAT_NAMES = "JPEG, PNG, WebP, TIFF, BMP, GIF, PPM or ICO"

#: Rows converted at a time from 16/32-bit greyscale, so a 79 MP 16-bit PNG needs a few MB of
#: scratch space instead of a float64 copy of the whole image.
_CHUNK_PIXELS = 1 << 20


class ImageLoadError(ValueError):
    """An image file that cannot be used; the message is one line for a person."""


def load_image(source: str | os.PathLike | bytes, mode: str = "RGB", max_pixels: int = MAX_PIXELS,
               working_side: int | None = None) -> np.ndarray:
    """Read ``source`` (a path or the file's bytes) into a uint8 array, H×W×3 (``mode="RGB"``)
    or H×W (``mode="L"``), upright per its EXIF orientation.

    ``working_side``: the caller needs no more than this many pixels on the image's shorter
    side (a model input, a preview). A JPEG is then decoded at 1/2, 1/4 or 1/8 scale by the
    decoder itself (memory bounded by the reduced size) and other formats are reduced by an
    integer factor after decoding; the shorter side stays ≥ ``working_side``."""
    name = "image data" if isinstance(source, bytes) else Path(source).name
    try:
        if isinstance(source, bytes):
            stream, size = io.BytesIO(source), len(source)
        else:
            stream = open_regular(source, "image")
            size = os.fstat(stream.fileno()).st_size
        with stream, warnings.catch_warnings():
            if size == 0:
                raise ImageLoadError(f"{name}: the file is empty")
            if size > MAX_FILE_BYTES:
                raise ImageLoadError(f"{name}: file is {size / 2**20:.0f} MiB, larger than {MAX_FILE_BYTES // 2**20} MiB")
            warnings.simplefilter("ignore")  # PIL's chatter about corrupt EXIF tags: the result is checked anyway
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(stream, formats=FORMATS)
            width, height = img.size
            if width * height > max_pixels:
                raise ImageLoadError(
                    f"{name}: {width}×{height} is {width * height / 1e6:.0f} megapixels, over the {max_pixels / 1e6:.0f} MP limit"
                )
            if img.format in ("JPEG", "MPO"):
                _check_jpeg_data(stream, size, width, height, name)
            if working_side and img.format in ("JPEG", "MPO"):
                scale = working_side / max(1, min(width, height))
                if scale < 1:
                    img.draft(None, (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))))
            ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is an error, never a half-grey photo
            img.load()
            if working_side and min(img.size) >= 2 * working_side:
                img = img.reduce(min(img.size) // working_side)
            img = ImageOps.exif_transpose(img)
            return _to_array(img, mode)
    except ImageLoadError:
        raise
    except FileNotFoundError:
        raise ImageLoadError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ImageLoadError(f"{name}: is a folder, not an image") from None
    except UnsafePathError:
        raise ImageLoadError(f"{name}: not a regular file (a pipe, socket or device); refusing to read it") from None
    except UnidentifiedImageError:
        raise ImageLoadError(f"{name}: not an image file, or not one we read ({FORMAT_NAMES})") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageLoadError(f"{name}: declared size is too large (possible decompression bomb)") from None
    except MemoryError:
        raise ImageLoadError(f"{name}: not enough memory to decode it") from None
    except Exception as exc:  # PIL's decoders raise anything (TypeError, KeyError, struct.error ...) on corrupt data
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImageLoadError(f"{name}: corrupt or truncated image ({reason})") from None


#: Start-of-frame markers of Huffman-coded JPEGs (baseline, extended, progressive, lossless).
_HUFFMAN_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7}


def _check_jpeg_data(stream, size: int, width: int, height: int, name: str) -> None:
    """Refuse a Huffman-coded JPEG too small for its declared size: every 8×8 block of the
    full-resolution component costs at least one bit (its DC code), so ``size`` bytes hold at
    most 8·size blocks. libjpeg would pad the missing blocks and only warn."""
    if _jpeg_frame_marker(stream) not in _HUFFMAN_SOF:
        return  # arithmetic coding can spend less than a bit per block
    blocks = math.ceil(width / 8) * math.ceil(height / 8)
    if blocks > 8 * size:
        raise ImageLoadError(f"{name}: truncated JPEG (its header declares {width}×{height} pixels; "
                             f"{size / 1024:.0f} KiB cannot hold them)")


def _jpeg_frame_marker(stream) -> int | None:
    """The JPEG's start-of-frame marker byte, found by walking the segments before it."""
    pos = stream.tell()
    try:
        stream.seek(2)
        for _ in range(1000):
            head = stream.read(4)
            if len(head) < 4 or head[0] != 0xFF:
                return None
            marker, length = head[1], int.from_bytes(head[2:4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                return marker
            stream.seek(length - 2, io.SEEK_CUR)
        return None
    finally:
        stream.seek(pos)


def _to_array(img: Image.Image, mode: str) -> np.ndarray:
    """Convert any PIL mode to 8-bit RGB or L, compositing transparency over white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        grey = _rescale_to_uint8(img)  # straight to uint8: no full-size copy of the deep pixels
        return grey if mode == "L" else np.repeat(grey[:, :, None], 3, axis=2)
    if img.mode == "P" or img.mode == "PA":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "La", "RGBa"):
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img.convert("RGBA"))
    img = img.convert(mode)
    out = np.asarray(img, dtype=np.uint8)
    return np.ascontiguousarray(out)


def _rescale_to_uint8(source: Image.Image | np.ndarray) -> np.ndarray:
    """16/32-bit greyscale (a PIL image or an array) → uint8, stretching the actual range to
    0..255 instead of clipping (non-finite values count as 0). Read a band of rows at a time,
    twice (range, then conversion), so the scratch memory stays a few MB whatever the size."""
    if isinstance(source, Image.Image):
        width, height = source.size
        band = lambda r0, r1: np.asarray(source.crop((0, r0, width, r1)))  # noqa: E731
    else:
        height, width = source.shape
        band = lambda r0, r1: source[r0:r1]  # noqa: E731
    rows = max(1, _CHUNK_PIXELS // max(1, width))
    bands = [(r, min(height, r + rows)) for r in range(0, height, rows)]
    lo, hi = math.inf, -math.inf
    for r0, r1 in bands:
        b = _finite(band(r0, r1))
        lo, hi = min(lo, float(b.min())), max(hi, float(b.max()))
    out = np.zeros((height, width), np.uint8)
    if not hi > lo:
        return out
    scale = np.float32(255.0 / (hi - lo))
    for r0, r1 in bands:
        out[r0:r1] = np.rint((_finite(band(r0, r1)).astype(np.float32) - np.float32(lo)) * scale).clip(0, 255)
    return out


def _finite(a: np.ndarray) -> np.ndarray:
    return a if a.dtype.kind != "f" or np.isfinite(a).all() else np.where(np.isfinite(a), a, 0)


def center_square(image: np.ndarray) -> np.ndarray:
    """The largest centred square of an H×W(×C) image."""
    h, w = image.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return image[top : top + s, left : left + s]


def resize(image: np.ndarray, size: int) -> np.ndarray:
    """Resize a square uint8 image to ``size``×``size`` with a high-quality filter."""
    if image.shape[0] == size and image.shape[1] == size:
        return image
    pil = Image.fromarray(image)
    return np.asarray(pil.resize((size, size), Image.Resampling.LANCZOS if image.shape[0] > size else Image.Resampling.BICUBIC))


def to_model_input(image: np.ndarray, size: int) -> np.ndarray:
    """Any H×W×3 / H×W uint8 photo → size×size×3 uint8: centre square, resized."""
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected an H×W×3 image, got shape {tuple(image.shape)}")
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    elif image.shape[2] == 4:
        image = image[:, :, :3]
    if image.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {image.dtype}")
    return resize(np.ascontiguousarray(center_square(image)), size)


def gaussian_blur(x, sigma: float, truncate: float = 2.5):
    """A separable Gaussian blur of an N×C×H×W float tensor (edges repeated), the kernel cut at
    ``truncate``·σ (at least 1 px); σ ≤ 0.05 px returns ``x``. Torch is imported only here."""
    import torch
    import torch.nn.functional as F

    if sigma <= 0.05:
        return x
    r = max(1, int(math.ceil(truncate * sigma)))
    k = torch.exp(-(torch.arange(-r, r + 1, dtype=x.dtype) ** 2) / (2 * sigma * sigma))
    k = (k / k.sum()).to(x.device)
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)
