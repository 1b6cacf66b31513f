"""The one way Latent Studio reads an image file.

EXIF orientation is applied, every PIL mode becomes RGB (or L), a decompression-bomb guard
caps the declared size *before* pixels are decoded, and anything unreadable is rejected with
one clear line (``ImageLoadError``). Everything else in the project calls :func:`load_image`.
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

#: Largest image we accept: 80 megapixels (a 12 MP photo is well inside; a bomb is not). Below
#: PIL's own warning threshold (~89 MP), so our clearer message is the one a user sees.
MAX_PIXELS = 80_000_000
MAX_FILE_BYTES = 512 * 1024 * 1024


class ImageLoadError(ValueError):
    """An image file that cannot be used; the message is one line for a person."""


def load_image(source: str | os.PathLike | bytes, mode: str = "RGB", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read ``source`` (a path or the file's bytes) into a uint8 array, H×W×3 (``mode="RGB"``)
    or H×W (``mode="L"``), upright per its EXIF orientation."""
    name = "image data" if isinstance(source, bytes) else Path(source).name
    try:
        if isinstance(source, bytes):
            stream = io.BytesIO(source)
        else:
            size = os.path.getsize(source)
            if size == 0:
                raise ImageLoadError(f"{name}: the file is empty")
            if size > MAX_FILE_BYTES:
                raise ImageLoadError(f"{name}: file is {size / 2**20:.0f} MiB, larger than {MAX_FILE_BYTES // 2**20} MiB")
            stream = open(source, "rb")
        with stream, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PIL's chatter about corrupt EXIF tags: the result is checked anyway
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(stream)
            width, height = img.size
            if width * height > max_pixels:
                raise ImageLoadError(
                    f"{name}: {width}×{height} is {width * height / 1e6:.0f} megapixels, over the {max_pixels / 1e6:.0f} MP limit"
                )
            if getattr(img, "n_frames", 1) > 1:
                img.seek(0)  # animated: the first frame
            img.load()
            img = ImageOps.exif_transpose(img)
            return _to_array(img, mode)
    except ImageLoadError:
        raise
    except FileNotFoundError:
        raise ImageLoadError(f"{name}: no such file") from None
    except IsADirectoryError:
        raise ImageLoadError(f"{name}: is a folder, not an image") from None
    except UnidentifiedImageError:
        raise ImageLoadError(f"{name}: not an image file, or a format we cannot read") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageLoadError(f"{name}: declared size is too large (possible decompression bomb)") from None
    except Exception as exc:  # PIL's decoders raise anything (TypeError, KeyError, struct.error ...) on corrupt data
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImageLoadError(f"{name}: corrupt or truncated image ({reason})") from None


def _to_array(img: Image.Image, mode: str) -> np.ndarray:
    """Convert any PIL mode to 8-bit RGB or L, compositing transparency over white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16/32-bit greyscale: rescale the actual range to 8 bits instead of clipping.
        arr = np.asarray(img, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr = np.zeros_like(arr) if hi <= lo else (arr - lo) * (255.0 / (hi - lo))
        img = Image.fromarray(arr.round().astype(np.uint8), "L")
    if img.mode == "P" or img.mode == "PA":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "La", "RGBa"):
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img.convert("RGBA"))
    img = img.convert(mode)
    out = np.asarray(img, dtype=np.uint8)
    return np.ascontiguousarray(out)


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
