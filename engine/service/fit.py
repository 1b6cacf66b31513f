"""The engine's handlers for the per-photo fit (:mod:`engine.protocol.fit`).

One fit at a time, of the open photo: ``FitPhoto(start=True)`` starts a :class:`engine.fit.FitJob`
on its face, each ``FitPhoto`` runs it for about ``seconds`` (renders of the edit are answered in
between), ``FitPhoto(stop=True)`` ends it with the best weights so far. A fit belongs to the photo
it started on: when that photo is replaced (another photo, face or model, a session), the fit is
dropped and says so. When it ends well, the open photo renders with the fitted model; the tuned
weights go back to the editor, which gives them to a restarted engine with ``RestoreFit``.
"""

from __future__ import annotations

import importlib
import math
import threading

import numpy as np

from engine import protocol as p
from engine.service.handlers import EngineHost, Handler, HandlerBase, elapsed_ms

#: Requests can ask for at most this many steps (20,000 is the CLI's bound too).
MAX_STEPS = 20000


class NoFitRunning(RuntimeError):
    pass


_warm_up = threading.Lock()
_warmed = False


def start_warm_up() -> None:
    """The first torch optimiser imports ``torch._dynamo`` (measured: 6 s of a fit's first slice under
    load, when the sliders wait behind it); import it once on a background thread at start instead,
    while the user picks a photo."""
    global _warmed
    with _warm_up:
        if _warmed:
            return
        _warmed = True
    threading.Thread(target=importlib.import_module, args=("torch._dynamo",), name="fit-warm-up", daemon=True).start()


class FitHandlers(HandlerBase):
    def __init__(self, engine: EngineHost, photos) -> None:
        super().__init__(engine)
        start_warm_up()
        self.photos = photos  # engine.service.photo.PhotoHandlers: the open photo
        self.job = None  # engine.fit.FitJob in progress
        self.photo = None  # the PhotoEdit it fits

    def handlers(self) -> dict[type, Handler]:
        return {p.FitPhoto: self._fit, p.RestoreFit: self._restore}

    def _fit(self, req: p.FitPhoto, t0: float) -> p.FitStatus:
        if req.start:
            self._start(req)
        elif self.job is None:
            raise NoFitRunning("no fit is running (start one)")
        elif self.photos.current is not self.photo:
            self.job = self.photo = None
            raise NoFitRunning("the photo changed while it was being fitted; the fit was dropped")
        job = self.job
        if req.stop:
            job.stop()
        else:
            seconds = float(req.seconds)
            if not (math.isfinite(seconds) and 0.0 < seconds <= 60.0):
                raise ValueError(f"seconds must be within (0, 60], got {req.seconds}")
            job.advance(seconds)
        if not job.done:
            return self._status(req.request_id, t0, job)
        self.job = None
        pe, self.photo = self.photo, None
        result = job.result
        if not result.fitted:
            return self._status(req.request_id, t0, job)
        from engine.fit_state import fit_to_bytes

        self.photos.current = fitted = job.photo(pe)
        weights, facts = fit_to_bytes(result)
        opened = self.photos.opened(req.request_id, t0, fitted)
        return self._status(req.request_id, t0, job, opened=opened, weights=weights, facts=facts)

    def _start(self, req: p.FitPhoto) -> None:
        from engine.fit import FitConfig, FitJob

        if not 1 <= int(req.steps) <= MAX_STEPS:
            raise ValueError(f"steps must be within 1..{MAX_STEPS}, got {req.steps}")
        self.job = self.photo = None
        pe = self.photos.require_photo()
        self.job = FitJob.for_photo(pe, FitConfig(steps=int(req.steps)))
        self.photo = pe

    def _status(self, rid: int, t0: float, job, **done) -> p.FitStatus:
        r = job.result if job.done else None
        return p.FitStatus(
            request_id=rid, step=job.step, steps=int(job.config.steps), psnr_before=job.psnr_before,
            psnr_db=float(r.psnr_after if r is not None else job.psnr_db), seconds=job.seconds,
            done=job.done, fitted=bool(r is not None and r.fitted), stopped=bool(r is not None and r.stopped),
            message=r.message if r is not None else "", elapsed_ms=elapsed_ms(t0), **done,
        )  # fmt: skip

    def _restore(self, req: p.RestoreFit, t0: float) -> p.PhotoOpened:
        from engine.fit_state import fit_from_bytes

        pe = self.photos.require_photo()
        z = np.asarray(req.z, np.float32).reshape(-1)
        if z.shape != pe.z.shape or not np.isfinite(z).all():
            raise ValueError(f"the fit's pivot must be {pe.z.size} finite numbers, got {z.size}")
        self.job = self.photo = None
        with self.budget():
            result = fit_from_bytes(pe.base_model, req.weights, dict(req.facts), z, dict(req.labels) or None)
            self.photos.current = fitted = pe.with_fit(result)
        return self.photos.opened(req.request_id, t0, fitted)
