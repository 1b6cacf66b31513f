"""Hostile-image generation for the loader's property tests and its fuzz run.

``mutations(seed)`` yields (description, bytes) pairs: valid images of every mode and format,
then the same bytes truncated, bit-flipped, spliced, with huge declared sizes, and junk. The
contract under test: :func:`engine.data.images.load_image` returns a uint8 H×W×3 array or raises
``ImageLoadError`` with a one-line message — nothing else, and never hangs.
"""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
from PIL import Image

from engine.data.images import ImageLoadError, load_image

MODES_AND_FORMATS = [
    ("RGB", "PNG"), ("RGBA", "PNG"), ("L", "PNG"), ("LA", "PNG"), ("P", "PNG"), ("I;16", "PNG"), ("1", "PNG"),
    ("RGB", "JPEG"), ("L", "JPEG"), ("CMYK", "JPEG"), ("RGB", "WEBP"), ("RGBA", "WEBP"), ("RGB", "BMP"),
    ("RGB", "GIF"), ("RGB", "TIFF"), ("I;16", "TIFF"), ("F", "TIFF"), ("RGB", "ICO"),
]  # fmt: skip


def valid_image(rng: np.random.Generator, mode: str, fmt: str) -> bytes:
    w, h = int(rng.integers(1, 48)), int(rng.integers(1, 48))
    arr = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    img = Image.fromarray(arr).convert(mode) if mode not in ("I;16", "F") else Image.fromarray(arr[..., 0].astype(np.uint16) * 257).convert(mode if mode == "F" else "I;16")
    buf = io.BytesIO()
    kwargs = {}
    if fmt == "JPEG":
        exif = Image.Exif()
        exif[0x0112] = int(rng.integers(1, 9))  # every EXIF orientation
        kwargs["exif"] = exif.tobytes()
    if fmt == "GIF" and rng.random() < 0.5:
        kwargs.update(save_all=True, append_images=[img.copy()])  # animated
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares width×height pixels."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def mutate(rng: np.random.Generator, data: bytes) -> tuple[str, bytes]:
    kind = int(rng.integers(0, 5))
    b = bytearray(data)
    if kind == 0 and len(b) > 1:
        return "truncated", bytes(b[: int(rng.integers(0, len(b)))])
    if kind == 1 and b:
        for _ in range(int(rng.integers(1, 8))):
            b[int(rng.integers(0, len(b)))] ^= 1 << int(rng.integers(0, 8))
        return "bit-flipped", bytes(b)
    if kind == 2 and b:
        i = int(rng.integers(0, len(b)))
        return "spliced junk", bytes(b[:i] + rng.bytes(int(rng.integers(1, 64))) + b[i:])
    if kind == 3:
        return "random bytes", rng.bytes(int(rng.integers(0, 2048)))
    return "zero bytes" if rng.random() < 0.2 else "header only", bytes(b[:16]) if rng.random() >= 0.2 else b""


def cases(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    yield "bomb", png_bomb()
    for i in range(n):
        mode, fmt = MODES_AND_FORMATS[i % len(MODES_AND_FORMATS)]
        data = valid_image(rng, mode, fmt)
        if rng.random() < 0.3:
            yield f"{mode} {fmt}", data
        else:
            what, bad = mutate(rng, data)
            yield f"{what} {mode} {fmt}", bad


def check(data: bytes, max_seconds: float = 5.0) -> str:
    """'ok' or 'rejected'; raises AssertionError on a contract violation."""
    t0 = time.perf_counter()
    try:
        arr = load_image(data)
    except ImageLoadError as exc:
        assert "\n" not in str(exc) and str(exc), "error message must be one non-empty line"
        result = "rejected"
    else:
        assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3 and arr.size > 0, arr.shape
        result = "ok"
    assert time.perf_counter() - t0 < max_seconds, "loader took too long (hang?)"
    return result


def run(n: int, seed: int = 0) -> dict:
    counts = {"tried": 0, "ok": 0, "rejected": 0, "crashes": 0}
    failures = []
    for label, data in cases(n, seed):
        counts["tried"] += 1
        try:
            counts[check(data)] += 1
        except Exception as exc:  # any other exception or a broken contract is a crash
            counts["crashes"] += 1
            failures.append(f"{label}: {type(exc).__name__}: {exc}")
    return {**counts, "failures": failures[:20]}


if __name__ == "__main__":  # python -m engine.data.fuzz [N] [SEED]: the fuzz run at scale
    import json
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    t0 = time.perf_counter()
    report = run(n, seed)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(report, indent=2))
    sys.exit(1 if report["crashes"] else 0)
