"""`latent-studio bench-photo`: latency of open → first edited preview on a 12 MP photo.

Kept apart from :mod:`engine.photo` because it drives the service (``Engine``): the photo loop
itself must not import its own service.
"""

from __future__ import annotations

import math
import os
import statistics
import tempfile
import time

import numpy as np
from PIL import Image

from engine.photo import PREVIEW_MAX_SIDE, PhotoEdit, PhotoError, open_photo
from engine.protocol import EditStack


def synthetic_photo(width: int = 4000, height: int = 3000) -> np.ndarray:
    """scikit-image's astronaut() (a real photo) upscaled to ``height`` and widened to ``width``
    with mirrored borders: a 12-megapixel photo with one face, by default."""
    from skimage.data import astronaut

    side = min(width, height)
    big = np.asarray(Image.fromarray(astronaut()).resize((side, side), Image.Resampling.BICUBIC))
    pad_x, pad_y = width - side, height - side
    return np.ascontiguousarray(np.pad(big, ((pad_y // 2, pad_y - pad_y // 2), (pad_x // 2, pad_x - pad_x // 2), (0, 0)), mode="reflect"))


def bench_open_to_preview(model, n: int = 10, width: int = 4000, height: int = 3000, from_file: bool = True, attribute: str | None = None,
                          amount: float = 2.0, max_side: int = PREVIEW_MAX_SIDE, detector: str = "auto", threads: int = 1,
                          workdir: str | os.PathLike | None = None) -> dict:
    """Latency of *open → first edited preview* on a synthetic ``width``×``height`` photo.

    Each repetition: open the photo (from a JPEG file when ``from_file``: decode, EXIF, detect,
    align, encode, decode the reconstruction) and render one edited preview (``amount`` σ along
    ``attribute``, or along the first latent dimension when the model has no attributes). The
    model is loaded and warmed up first (as in the app); the first open in the process, reported
    separately as ``cold_ms``, also pays dlib's model load unless something loaded it already.
    Returns milliseconds: p50, p95, min, max, and the split into open and render.
    """
    from engine.devices import thread_budget

    with thread_budget(int(threads)):
        photo = synthetic_photo(width, height)
        with tempfile.TemporaryDirectory(dir=workdir) as tmp:
            src: str | np.ndarray = photo
            if from_file:
                src = os.path.join(tmp, "bench-12mp.jpg")
                Image.fromarray(photo).save(src, quality=92)
            if attribute is None and model.attributes:
                attribute = sorted(model.attributes)[0]
            from engine.protocol import AttributeStep, DimensionStep

            op = AttributeStep(name=attribute, amount=amount) if attribute else DimensionStep(dim=0, amount=amount)
            edits = EditStack(ops=(op,))
            model.decode(np.zeros((1, model.latent_dim), np.float32))  # warm the model, as the app has
            t0 = time.perf_counter()
            first = _open_and_preview(model, src, edits, max_side, detector)
            cold = (time.perf_counter() - t0) * 1000
            totals, opens, renders = [], [], []
            for _ in range(int(n)):
                t0 = time.perf_counter()
                pe = open_photo(model, src, detector=detector)
                t1 = time.perf_counter()
                pe.render(pe.edited_latent(edits=edits), max_side=max_side)
                t2 = time.perf_counter()
                totals.append((t2 - t0) * 1000)
                opens.append((t1 - t0) * 1000)
                renders.append((t2 - t1) * 1000)
    return {
        "photo": f"{width}×{height} ({width * height / 1e6:.1f} MP) {'JPEG file' if from_file else 'array'}",
        "face_found": first.found_face,
        "region": list(first.region),
        "n": int(n),
        "threads": int(threads),
        "cold_ms": round(cold, 1),
        "p50_ms": round(statistics.median(totals), 1),
        "p95_ms": round(_percentile(totals, 95), 1),
        "min_ms": round(min(totals), 1),
        "max_ms": round(max(totals), 1),
        "open_p50_ms": round(statistics.median(opens), 1),
        "render_p50_ms": round(statistics.median(renders), 1),
        "edit": op.__class__.__name__ + f"({attribute or 'dim 0'}, {amount:+g}σ)",
    }


def bench_app_first_preview(source: str, width: int = 4000, height: int = 3000, max_side: int = PREVIEW_MAX_SIDE,
                            workdir: str | os.PathLike | None = None) -> dict:
    """The app's path, once, in a process that has not loaded dlib yet: construct the engine
    (it starts loading dlib in the background), load the model ``source``, decode once (the
    window shows a sample), then time ``OpenPhoto(path=12 MP JPEG)`` + one edited ``RenderEdit``."""
    from engine import protocol as p
    from engine.data import align
    from engine.service import Engine

    cold = not align._DLIB
    photo = synthetic_photo(width, height)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = os.path.join(tmp, "bench-12mp.jpg")
        Image.fromarray(photo).save(path, quality=92)
        t0 = time.perf_counter()
        e = Engine()
        info = e.handle(p.LoadModel(source=source, device="cpu"))
        if isinstance(info, p.ErrorResponse):
            raise PhotoError(info.message)
        e.handle(p.Decode(z=np.zeros(info.latent_dim, np.float32)))
        t1 = time.perf_counter()
        op = p.AttributeStep(name=sorted(info.attributes)[0], amount=2.0) if info.attributes else p.DimensionStep(dim=0, amount=2.0)
        opened = e.handle(p.OpenPhoto(path=path))
        rendered = e.handle(p.RenderEdit(edits=p.EditStack(ops=(op,)), max_side=max_side, preview=True))
        t2 = time.perf_counter()
    for r in (opened, rendered):
        if isinstance(r, p.ErrorResponse):
            raise PhotoError(r.message)
    return {
        "engine_and_model_ms": round((t1 - t0) * 1000, 1),
        "first_preview_ms": round((t2 - t1) * 1000, 1),
        "open_ms": round(opened.elapsed_ms, 1),
        "render_ms": round(rendered.elapsed_ms, 1),
        "dlib_was_cold": cold,
    }


def _open_and_preview(model, src, edits, max_side, detector) -> PhotoEdit:
    pe = open_photo(model, src, detector=detector)
    pe.render(pe.edited_latent(edits=edits), max_side=max_side)
    return pe


def _percentile(values: list[float], q: float) -> float:
    v = sorted(values)
    k = (len(v) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def bench_fit(model, steps: int = 200, threads: int = 0, photo: np.ndarray | None = None) -> dict:
    """Time one fit of the face in ``photo`` (default: scikit-image's astronaut(), a real portrait)
    on ``threads`` torch threads (0: the idle cores, as the editor's fit): open (detect, align,
    encode) is not counted."""
    from engine.devices import idle_threads
    from engine.fit import FitConfig, fit_photo

    threads = int(threads) or idle_threads()

    if photo is None:
        from skimage.data import astronaut

        photo = astronaut()
    pe = open_photo(model, photo)
    r = fit_photo(pe, FitConfig(steps=int(steps), threads=int(threads)))[1]
    return {"seconds": round(r.seconds, 2), "steps": r.steps, "threads": int(threads), "psnr_before": round(r.psnr_before, 2),
            "psnr_after": round(r.psnr_after, 2), "fitted": r.fitted}  # fmt: skip
