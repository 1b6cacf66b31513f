"""The engine's handlers for conditional models in the editor (issue 6): the realism gauge
(``Realism``), inversion refinement a chunk at a time (``Refine``) and the bundled models
(``ListModels``); plus :func:`conditional_info`, the label and calibration facts ``ModelInfo``
carries.

``Engine`` registers them (``ConditionalHandlers(engine).handlers()``). The logic lives in
:mod:`engine.likelihood` (``RealismGauge``) and :mod:`engine.inversion` (``refine``); here requests
become calls and results become protocol answers. Like every handler these raise, and
``Engine.handle`` turns the exception into an ErrorResponse.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from engine import protocol as p
from engine.service.handlers import Handler, HandlerBase, elapsed_ms

UNITS = {
    "iwae_loglik_bpd": "log p(x) in bits/dim, importance-weighted (higher: likelier)",
    "d_logit": "discriminator logit D(x, y) (higher: more real)",
}
MAX_K = 256
MAX_REFINE_STEPS = 1000


def conditional_info(m) -> dict:
    """ModelInfo's conditional fields for a loaded ``engine.api.Model``: label mode and prior, and
    the realism calibration (None when the checkpoint has none or it is unreadable)."""
    out: dict = {}
    space = m.label_space
    if space is not None:
        out["label_mode"] = space.mode
        out["label_prior"] = tuple(round(float(v), 6) for v in space.prior)
    out["realism"] = realism_calibration(m.ckpt.info.get("realism"))
    return out


def realism_calibration(raw) -> p.RealismCalibration | None:
    from engine.likelihood import WARN_BELOW_PERCENTILE, Calibration

    if not raw:
        return None
    try:
        cal = Calibration.from_dict(dict(raw))
    except (TypeError, ValueError):
        return None
    return p.RealismCalibration(score=cal.score, units=UNITS.get(cal.score, cal.score), n=int(cal.n), data=str(cal.data),
                                warn_below_percentile=float(cal.warn_below_percentile or WARN_BELOW_PERCENTILE))


class ConditionalHandlers(HandlerBase):
    """``engine``: the :class:`engine.service.Engine` (its model, thread budget and open photo: ``engine.photos``)."""

    def __init__(self, engine) -> None:
        super().__init__(engine)
        self._gauge = None  # (model, RealismGauge) for the loaded model

    def handlers(self) -> dict[type, Handler]:
        return {p.Realism: self._realism, p.Refine: self._refine, p.AdoptLatent: self._adopt_latent, p.ListModels: self._list}

    # ------------------------------------------------------------------ helpers
    def _gauge_of(self, m):
        from engine.likelihood import RealismGauge

        if self._gauge is None or self._gauge[0] is not m:
            self._gauge = (m, RealismGauge(m))
        return self._gauge[1]

    # ------------------------------------------------------------------ handlers
    def _realism(self, req: p.Realism, t0: float) -> p.RealismScore:
        import torch

        m = self.require_model()
        if (req.z is None) == (req.images is None):
            raise ValueError("Realism needs a latent z or images (one of them)")
        if not 1 <= int(req.k) <= MAX_K:
            raise ValueError(f"k (importance samples) must be within 1..{MAX_K}, got {req.k}")
        gauge = self._gauge_of(m)
        gauge.k = int(req.k)
        with self.budget(), torch.inference_mode():
            z = None if req.z is None else m.latent_tensor(req.z)
            if z is not None:
                x = m.decode_tensor(z, m.label_tensor(req.labels, z.shape[0])).float().clamp(0, 1)
                images = x.mul(255.0).round().div(255.0)  # the 8-bit image the user sees
            else:
                images = np.asarray(req.images)
            rows = gauge(images, req.labels, z)
        cal = gauge.calibration
        warn = float(cal.warn_below_percentile) if cal is not None else 2.0
        details = {k: np.array([r[k] for r in rows], np.float64) for k in rows[0] if k not in ("score", "percentile", "plausible")}
        score_name = cal.score if cal is not None else ("d_logit" if m.family == "cgan" else "iwae_loglik_bpd")
        return p.RealismScore(
            request_id=req.request_id, score=np.array([r["score"] for r in rows], np.float64),
            percentile=np.array([r["percentile"] for r in rows], np.float64), plausible=np.array([r["plausible"] for r in rows], bool),
            units=UNITS.get(score_name, score_name), calibrated=cal is not None, warn_below_percentile=warn, details=details,
            elapsed_ms=elapsed_ms(t0),
        )  # fmt: skip

    def _refine(self, req: p.Refine, t0: float) -> p.Refined:
        from engine.inversion import refine

        m = self.require_model()
        if not 1 <= int(req.steps) <= MAX_REFINE_STEPS:
            raise ValueError(f"steps must be within 1..{MAX_REFINE_STEPS}, got {req.steps}")
        pe = None
        if req.image is not None:
            if req.adopt:
                raise ValueError("only the open photo's inversion can be adopted (leave image empty)")
            image = np.asarray(req.image)
            if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
                raise ValueError(f"expected an H×W×3 uint8 image, got {image.dtype} {tuple(image.shape)}")
        else:
            pe = self.engine.photos.require_photo()  # the open photo (re-bound to this model)
            if req.adopt and pe.fit is not None:  # adopting would bind the fitted copy as if it were the model
                raise ValueError("the photo is fitted to the model already (the fit refined its latent first); "
                                 "open it again to refine its inversion")
            image = pe.crop  # its aligned face
        start = None
        if req.z is not None:
            z = np.asarray(req.z, np.float32).reshape(-1)
            if z.size != m.latent_dim or not np.isfinite(z).all():
                raise ValueError(f"the start latent must be {m.latent_dim} finite numbers, got {z.size}")
            start = (z, req.labels if m.labels else None)
        elif pe is not None:
            start = (pe.z, dict(pe.labels) if m.labels else None)
        first = best = None
        with self.budget():
            for r in refine(m, image, steps=int(req.steps), lr=float(req.lr), optimise_labels=bool(req.optimise_labels),
                            report_every=max(1, int(req.steps) // 4), start=start):
                first = first or r
                best = r
        opened = None
        if req.adopt and best.loss < first.loss:
            opened = self._adopt(req.request_id, t0, pe, best.z, best.labels)
        return p.Refined(
            request_id=req.request_id, z=best.z.astype(np.float32), labels=dict(best.labels), image=best.image, loss=float(best.loss),
            psnr_db=float(best.psnr_db), start_psnr_db=float(first.psnr_db), steps=int(req.steps), ms_per_step=float(best.ms_per_step),
            start_loss=float(first.loss), opened=opened, elapsed_ms=elapsed_ms(t0),
        )  # fmt: skip

    def _adopt_latent(self, req: p.AdoptLatent, t0: float) -> p.PhotoOpened:
        m = self.require_model()
        pe = self.engine.photos.require_photo()
        if pe.fit is not None:
            raise ValueError("the photo is fitted to the model already; its fit carries its own latent")
        z = np.asarray(req.z, np.float32).reshape(-1)
        if z.size != m.latent_dim or not np.isfinite(z).all():
            raise ValueError(f"the latent must be {m.latent_dim} finite numbers, got {z.size}")
        return self._adopt(req.request_id, t0, pe, z, req.labels)

    def _adopt(self, rid: int, t0: float, pe, z: np.ndarray, labels: dict[str, float] | None) -> p.PhotoOpened:
        """Make a latent (and labels) the open photo's: same photo, face and alignment."""
        from engine.photo import bind_photo_edit

        photos = self.engine.photos
        with self.budget():
            photos.current = bind_photo_edit(pe.photo, pe.source, pe.faces, pe.chosen, pe.model, alignment=pe.alignment,
                                             z=z, labels=labels if pe.labels else None)
        return photos.opened(rid, t0, photos.current)

    def _list(self, req: p.ListModels, t0: float) -> p.ModelList:
        from engine.api import BUNDLED

        aliases = {v: k for k, v in BUNDLED.items()}
        entries = []
        for path in self.engine.model_files():
            meta = _header(path)
            if meta is None:
                continue
            info = meta.get("info") or {}
            entries.append(p.ModelEntry(
                source=aliases.get(path.name, path.stem), name=path.stem, family=str(meta.get("family", "?")),
                image_size=int((meta.get("config") or {}).get("image_size", 0)), labels=tuple(meta.get("labels") or ()),
                description=str(info.get("description", "")), calibrated=realism_calibration(info.get("realism")) is not None,
            ))  # fmt: skip
        return p.ModelList(request_id=req.request_id, models=tuple(entries), elapsed_ms=elapsed_ms(t0))


def _header(path: Path) -> dict | None:
    """A checkpoint's JSON metadata from its safetensors header alone (no weights read); None if unreadable."""
    from safetensors import safe_open

    from engine.checkpoint import META_KEY
    from engine.protocol.files import check_regular

    try:
        check_regular(path, "checkpoint")  # a FIFO in the models folder would block the listing
        with safe_open(str(path), framework="np") as f:
            raw = (f.metadata() or {}).get(META_KEY)
        return json.loads(raw) if raw else None
    except Exception:  # a broken file is left out of the list; loading it would say why
        return None

