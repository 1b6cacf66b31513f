"""Hostile-image generation for the loader's property tests and its fuzz run.

``cases(n, seed)`` yields (description, bytes) pairs: valid images of every mode and format,
then the same bytes truncated, bit-flipped, spliced, with huge declared sizes, and junk; and the
hostile kinds that must always be refused: PostScript/EPS (Pillow would run Ghostscript), the
formats outside the allow-list, JPEGs whose header declares far more pixels than their data.
The contract under test: :func:`engine.data.images.load_image` returns a uint8 H×W×3 array or
raises ``ImageLoadError`` with a one-line message — nothing else, never a hang (each case has a
time limit) and never an outside program (any process start during the run is counted).
"""

from __future__ import annotations

import io
import signal
import struct
import subprocess
import threading
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


#: Formats Pillow can write but the loader must refuse (EPS would run Ghostscript on load).
REFUSED_FORMATS = ["EPS", "PDF", "PCX", "SGI", "TGA", "DDS", "QOI", "SPIDER", "XBM"]


def postscript(rng: np.random.Generator) -> bytes:
    """PostScript that never ends in an interpreter, as text or behind a binary EPS header."""
    body = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 64 64\n{} loop\n" + rng.bytes(int(rng.integers(0, 64)))
    if rng.random() < 0.3:  # DOS EPS: a 30-byte header pointing at the PostScript section
        return b"\xc5\xd0\xd3\xc6" + struct.pack("<IIIIII", 30, len(body), 0, 0, 0, 0) + b"\xff\xff" + body
    return body


def refused_format(rng: np.random.Generator) -> tuple[str, bytes]:
    fmt = REFUSED_FORMATS[int(rng.integers(0, len(REFUSED_FORMATS)))]
    img = Image.fromarray(rng.integers(0, 255, (int(rng.integers(1, 32)), int(rng.integers(1, 32)), 3), dtype=np.uint8))
    buf = io.BytesIO()
    img.convert("1" if fmt == "XBM" else ("F" if fmt == "SPIDER" else "RGB")).save(buf, fmt)
    return fmt, buf.getvalue()


def jpeg_declaring_more(rng: np.random.Generator) -> bytes:
    """A small valid JPEG whose frame header claims 4 to 64 megapixels."""
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.find(b"\xff\xc0")
    side = int(rng.integers(2000, 8000))
    data[sof + 5 : sof + 9] = struct.pack(">HH", side, side)
    return bytes(data)


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
    """``n`` cases (plus one bomb): one in ten of a kind that must be refused."""
    rng = np.random.default_rng(seed)
    yield "bomb", png_bomb()
    for i in range(n):
        if i % 10 == 9:
            kind = (i // 10) % 3
            if kind == 0:
                yield "must refuse: PostScript", postscript(rng)
            elif kind == 1:
                fmt, data = refused_format(rng)
                yield f"must refuse: {fmt}", data
            else:
                yield "must refuse: JPEG declaring more pixels than its data", jpeg_declaring_more(rng)
            continue
        mode, fmt = MODES_AND_FORMATS[i % len(MODES_AND_FORMATS)]
        data = valid_image(rng, mode, fmt)
        if rng.random() < 0.3:
            yield f"{mode} {fmt}", data
        else:
            what, bad = mutate(rng, data)
            yield f"{what} {mode} {fmt}", bad


class Hang(BaseException):
    """A case ran past its time limit (a BaseException, so the loader cannot turn it into an error)."""


def check(data: bytes, max_seconds: float = 5.0) -> str:
    """'ok' or 'rejected'; raises AssertionError on a contract violation, :class:`Hang` when the
    loader runs past ``max_seconds`` (interrupted by an alarm where the platform has one)."""
    t0 = time.perf_counter()
    alarm = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if alarm:
        previous = signal.signal(signal.SIGALRM, _on_alarm)
        signal.setitimer(signal.ITIMER_REAL, max_seconds)
    try:
        arr = load_image(data)
    except ImageLoadError as exc:
        assert "\n" not in str(exc) and str(exc), "error message must be one non-empty line"
        result = "rejected"
    else:
        assert arr.dtype == np.uint8 and arr.ndim == 3 and arr.shape[2] == 3 and arr.size > 0, arr.shape
        result = "ok"
    finally:
        if alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    if time.perf_counter() - t0 >= max_seconds:
        raise Hang(f"took {time.perf_counter() - t0:.1f} s")
    return result


def _on_alarm(signum, frame):
    raise Hang("interrupted after the time limit")


def run(n: int, seed: int = 0) -> dict:
    """Counts: tried, ok, rejected; and what must stay zero: crashes (a traceback or a broken
    contract), hangs, programs started, and must-refuse cases that loaded."""
    counts = {"tried": 0, "ok": 0, "rejected": 0, "crashes": 0, "hangs": 0, "programs_started": 0, "accepted_hostile": 0}
    failures = []
    real_popen = subprocess.Popen

    class NoPrograms(real_popen):  # the loader must never start one (Ghostscript for EPS)
        def __init__(self, *args, **kwargs):
            counts["programs_started"] += 1
            raise PermissionError("the image loader must not start programs")

    subprocess.Popen = NoPrograms
    try:
        for label, data in cases(n, seed):
            counts["tried"] += 1
            try:
                result = check(data)
                counts[result] += 1
                if result == "ok" and label.startswith("must refuse"):
                    counts["accepted_hostile"] += 1
                    failures.append(f"{label}: loaded")
            except Hang as exc:
                counts["hangs"] += 1
                failures.append(f"{label}: hang: {exc}")
            except Exception as exc:  # any other exception or a broken contract is a crash
                counts["crashes"] += 1
                failures.append(f"{label}: {type(exc).__name__}: {exc}")
    finally:
        subprocess.Popen = real_popen
    return {**counts, "failures": failures[:20]}


def clean(report: dict) -> bool:
    return not (report["crashes"] or report["hangs"] or report["programs_started"] or report["accepted_hostile"])


if __name__ == "__main__":  # python -m engine.data.fuzz [N] [SEED]: the fuzz run at scale
    import json
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    t0 = time.perf_counter()
    report = run(n, seed)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(report, indent=2))
    sys.exit(0 if clean(report) else 1)
