"""numpy ⇄ QImage, and reading photos with Qt (EXIF orientation, size limits, any format).

Engine images are ``uint8 H×W×3`` arrays. :class:`Frame` wraps one in a QImage that shares
its buffer (no copy) and keeps the array alive for as long as the QImage is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QColor, QImage, QImageReader, QPainter

from engine.protocol.files import check_regular

#: Refuse images above this many pixels (decompression-bomb guard) …
MAX_PIXELS = 80_000_000
#: … and tell Qt's decoders not to allocate more than this (MiB).
ALLOCATION_LIMIT_MB = 1024


class ImageLoadError(ValueError):
    """A photo could not be read; the message names the file and the reason."""


@dataclass(frozen=True)
class Frame:
    """An RGB ``uint8`` array and a QImage viewing the same memory."""

    array: np.ndarray
    image: QImage
    tag: int = 0  # who made it (e.g. the request id of a decode), for latency accounting

    @classmethod
    def from_array(cls, array: np.ndarray, tag: int = 0) -> "Frame":
        return cls(array, array_to_qimage(array), tag)

    @property
    def size(self) -> QSize:
        return self.image.size()


def array_to_qimage(array: np.ndarray) -> QImage:
    """A QImage over ``array`` (H×W×3 uint8) without copying pixels when it is C-contiguous.

    The QImage does not own the memory: keep ``array`` referenced while the image lives
    (:class:`Frame` does that).
    """
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise ValueError(f"expected H×W×3 uint8, got {array.shape} {array.dtype}")
    if not array.flags.c_contiguous:
        array = np.ascontiguousarray(array)
    h, w, _ = array.shape
    return QImage(array.data, w, h, array.strides[0], QImage.Format.Format_RGB888)


def qimage_to_array(image: QImage) -> np.ndarray:
    """An owned, contiguous H×W×3 uint8 RGB copy of ``image`` (alpha composited on white)."""
    if image.hasAlphaChannel():
        flat = QImage(image.size(), QImage.Format.Format_RGB888)
        flat.fill(QColor("white"))
        painter = QPainter(flat)
        painter.drawImage(0, 0, image)
        painter.end()
        image = flat
    elif image.format() != QImage.Format.Format_RGB888:
        image = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, bpl = image.height(), image.width(), image.bytesPerLine()
    rows = np.frombuffer(image.constBits(), np.uint8, count=h * bpl).reshape(h, bpl)
    return rows[:, : w * 3].reshape(h, w, 3).copy()


def read_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, QImage]:
    """Read a photo: EXIF orientation applied, any mode converted to RGB, size limited.

    Returns the RGB array for the engine and a display QImage. Raises :class:`ImageLoadError`.
    """
    path = Path(path)
    try:
        check_regular(path, "file")  # missing, a folder, or a FIFO/device (a read would block)
    except OSError as exc:
        raise ImageLoadError(str(exc)) from None
    QImageReader.setAllocationLimit(ALLOCATION_LIMIT_MB)
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    reader.setDecideFormatFromContent(True)
    if not reader.canRead():
        raise ImageLoadError(f"{path.name}: not an image Qt can read ({reader.errorString()})")
    size = reader.size()
    if size.isValid() and size.width() * size.height() > max_pixels:
        raise ImageLoadError(
            f"{path.name}: {size.width()}×{size.height()} is over the {max_pixels / 1e6:.0f} MP limit"
        )
    image = reader.read()
    if image.isNull():
        raise ImageLoadError(f"{path.name}: cannot decode ({reader.errorString()})")
    if image.width() * image.height() > max_pixels:
        raise ImageLoadError(f"{path.name}: {image.width()}×{image.height()} is over the size limit")
    array = qimage_to_array(image)
    display = array_to_qimage(array)
    return array, display


def tile_grid(images: np.ndarray, columns: int, pad: int = 2, fill: int = 255) -> np.ndarray:
    """N×H×W×3 → one H'×W'×3 grid image, ``pad`` pixels between tiles."""
    n, h, w, c = images.shape
    columns = max(1, min(columns, n))
    rows = -(-n // columns)
    out = np.full((rows * h + (rows + 1) * pad, columns * w + (columns + 1) * pad, c), fill, np.uint8)
    for i in range(n):
        r, col = divmod(i, columns)
        y, x = pad + r * (h + pad), pad + col * (w + pad)
        out[y : y + h, x : x + w] = images[i]
    return out


def scaled(image: QImage, factor: int) -> QImage:
    """Nearest-neighbour upscale (crisp model pixels) for thumbnails and exports."""
    return image.scaled(image.width() * factor, image.height() * factor, Qt.AspectRatioMode.IgnoreAspectRatio,
                        Qt.TransformationMode.FastTransformation)
