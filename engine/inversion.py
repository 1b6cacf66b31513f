"""Inversion of a photo into a model: the encoder's guess, then an optional refinement by optimisation.

    start      (z₀, y₀) = E(x)         cGAN: its encoder; conditional VAE: μ(x, ŷ) with ŷ from Bayes' rule;
                                       VAE: μ(x)
    refine     min_{z, u}  ‖G(z, y(u)) − x‖²  +  λ_f Σ_l ‖φ_l(G(z, y)) − φ_l(x)‖²  +  λ_p ‖z‖²/D
               y(u) = σ(u) (attributes) or softmax(u) (classes); φ_l: the discriminator's features
               (cGAN only); Adam on z and u.

A plain function for a worker thread (Orange3's ConcurrentWidgetMixin pattern): it reports
progress through a callback with every better result, and stops when ``cancel`` says so,
returning the best result so far. :func:`refine` is the same as a generator.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, Iterator

import numpy as np
import torch
import torch.nn.functional as F


@dataclass
class InversionResult:
    step: int  # optimisation steps done (0: the encoder's guess)
    z: np.ndarray  # D float32
    labels: dict[str, float]  # estimated labels (conditional models), else {}
    image: np.ndarray  # S×S×3 uint8, the model's reconstruction
    loss: float
    psnr_db: float  # of the reconstruction against the model-resolution input
    elapsed_s: float
    ms_per_step: float = 0.0
    done: bool = False  # the last result: finished, or cancelled
    cancelled: bool = False
    history: list[float] = field(default_factory=list)  # PSNR at each reported improvement


Cancel = Callable[[], bool] | threading.Event | None


def _cancelled(cancel: Cancel) -> bool:
    if cancel is None:
        return False
    return cancel.is_set() if isinstance(cancel, threading.Event) else bool(cancel())


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float((a - b).pow(2).mean().clamp(min=1e-10))
    return 10.0 * math.log10(1.0 / mse)


def refine(
    model,
    image,
    steps: int = 200,
    lr: float = 0.05,
    feature_weight: float = 1.0,
    prior_weight: float = 1e-3,
    optimise_labels: bool = True,
    report_every: int = 5,
    cancel: Cancel = None,
    start: tuple[np.ndarray, dict[str, float] | None] | None = None,
) -> Iterator[InversionResult]:
    """Yield the encoder's result, then each better one (checked every ``report_every`` steps),
    and last the best with ``done=True``. ``model``: an :class:`engine.api.Model`; ``image``:
    uint8 H×W×3 (any size) or float 1×C×S×S in [0, 1]. ``start``: (z, labels) instead of the encoder."""
    if steps < 0 or report_every < 1:
        raise ValueError("steps must be ≥ 0 and report_every ≥ 1")
    net, space = model.net, model.label_space
    has_features = hasattr(net, "discriminator") and feature_weight > 0
    t0 = time.perf_counter()
    with torch.inference_mode(False), torch.enable_grad():
        x = image.detach().clone() if torch.is_tensor(image) else model.to_tensor(np.asarray(image)).clone()
        x = x[:1].contiguous()
        with torch.no_grad():
            if start is None:
                z0, y0 = model.encode_tensor(x)
            else:
                z0 = torch.as_tensor(np.asarray(start[0], np.float32).reshape(1, -1), device=x.device)
                y0 = model.label_tensor(start[1], 1)
            target_feats = [f.detach() for f in net.discriminator.features(x * 2 - 1)] if has_features else []
        z = z0.detach().clone().float().requires_grad_(True)
        params = [z]
        u = None
        if y0 is not None:
            y0 = y0.detach().float().clamp(1e-4, 1 - 1e-4)
            u = (y0.log() if space.mode == "onehot" else torch.logit(y0)).clone().requires_grad_(optimise_labels)
            if optimise_labels:
                params.append(u)
        opt = torch.optim.Adam(params, lr=lr)

        def labels_of(u_):
            if u_ is None:
                return None
            return torch.softmax(u_, 1) if space.mode == "onehot" else torch.sigmoid(u_)

        def objective():
            y = labels_of(u)
            rec = model.decode_tensor(z, y)
            loss = F.mse_loss(rec, x)
            if has_features:
                feats = net.discriminator.features(rec * 2 - 1)
                loss = loss + feature_weight * sum(F.mse_loss(a, b) for a, b in zip(feats, target_feats)) / len(feats)
            if prior_weight > 0:
                loss = loss + prior_weight * z.pow(2).mean()
            return loss, rec, y

        def result(step, loss, rec, y, done=False, cancelled=False, history=()):
            el = time.perf_counter() - t0
            return InversionResult(
                step=step,
                z=z.detach().float().cpu().numpy()[0].copy(),
                labels={} if y is None else space.as_dict(y.detach().float().cpu().numpy()[0]),
                psnr_db=_psnr(rec.detach(), x),
                image=model.to_images(rec.detach().clone())[0],  # to_images works in place on float32
                loss=float(loss),
                elapsed_s=el,
                ms_per_step=1000.0 * el_steps[0] / max(1, step),
                done=done,
                cancelled=cancelled,
                history=list(history),
            )

        el_steps = [0.0]
        with torch.no_grad():
            loss, rec, y = objective()
        best = result(0, loss, rec, y)
        history = [best.psnr_db]
        best.history = list(history)
        yield best
        cancelled = False
        for step in range(1, steps + 1):
            if _cancelled(cancel):
                cancelled = True
                break
            ts = time.perf_counter()
            loss, rec, y = objective()
            opt.zero_grad(set_to_none=True)
            grads = torch.autograd.grad(loss, params)
            for p, g in zip(params, grads):
                p.grad = g
            opt.step()
            el_steps[0] += time.perf_counter() - ts
            if step % report_every == 0 or step == steps:
                with torch.no_grad():
                    loss, rec, y = objective()
                if float(loss) < best.loss:
                    history.append(_psnr(rec, x))
                    best = result(step, loss, rec, y, history=history)
                    yield best
        done_steps = (step - 1 if cancelled else step) if steps else 0
        yield replace(best, done=True, cancelled=cancelled, ms_per_step=1000.0 * el_steps[0] / max(1, done_steps), history=list(history))


def invert(model, image, callback: Callable[[InversionResult], None] | None = None, cancel: Cancel = None, **kw) -> InversionResult:
    """Run :func:`refine` to the end (or until ``cancel``), calling ``callback`` with each better
    result; return the best. Keyword arguments as for :func:`refine` (``steps=0``: encoder only)."""
    best = None
    for r in refine(model, image, cancel=cancel, **kw):
        best = r
        if callback is not None:
            callback(r)
    return best
