"""Per-photo fit: pivotal tuning (Roich et al. 2021, "PTI") of a copy of the model's decoder.

The latent found for the aligned crop is the *pivot* (a cGAN's encoder guess is first refined by
:mod:`engine.inversion`). A deep copy of the decoder / generator is tuned so that the pivot
reproduces the crop, while a locality term keeps the old outputs at latents drawn **from the
prior** (not between the pivot and the prior: an edited latent lies closer to the pivot than
such samples, so they would hold it to the old, blurry reconstruction and paste a ghost of it)::

    min_θ  ‖D_θ(z*) − x‖²  +  λ₁ |D_θ(z*) − x|₁  +  λ_loc · mean_p ‖D_θ(z_p) − D₀(z_p)‖²,   z_p ~ prior

The bundled model is never modified: :func:`fit` returns another :class:`engine.api.Model` that
shares the checkpoint (names, directions, statistics) and owns its tuned weights.

A plain function for a worker thread (Orange3's pattern): ``progress(FitProgress)`` every few
steps, ``should_stop()`` polled every step; a stop keeps the best weights so far, a divergence
(non-finite loss, PSNR falling far below its best) keeps the unfitted weights and says why.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

#: Which parameters a fit tunes, per family: the decoder side only (the encoder is not used again).
DECODER_PREFIXES = {"vae": ("from_latent.", "decoder."), "cvae": ("from_latent.", "decoder."), "cgan": ("g_ema.",)}
#: The generator's label embedding (kept as trained unless FitConfig.tune_labels).
LABEL_PREFIXES = {"cgan": ("g_ema.embed.",)}


@dataclass(frozen=True)
class FitConfig:
    steps: int = 200
    lr: float = 2e-3
    l1_weight: float = 0.5  # an L1 term sharpens small errors that L2 leaves
    locality_weight: float = 1.0
    locality_batch: int = 4  # prior latents per step, drawn from a fixed pool
    locality_pool: int = 64
    attribute_pool: bool = False  # also hold the pool moved ±3σ along each attribute (the edits' own latents)
    pivot: str = "encoded"  # "encoded" | "typical" (pulled into the prior's typical radius: an editable pivot)
    refine_steps: int = 100  # cGAN: inversion refinement of the encoder's guess before the fit
    check_every: int = 10  # PSNR check, best-so-far snapshot and progress report
    diverge_db: float = 6.0  # diverged: the PSNR this far below the unfitted model's at three checks in a row
    tune_labels: bool = True  # a cGAN: tune its label embedding too
    label_change_weight: float = 1.0  # conditional models: hold the unfitted change of each label set to 0 and to 1 at the pivot
    calibrate: bool = True  # per-photo σ calibration of the attribute directions (edit_gains)
    # torch threads for the fit (0: leave torch's setting). One: with any other work on the cores,
    # two threads took 155-183 s for what one did in 7.2 s here (OpenMP waiting on busy cores)
    threads: int = 1
    seed: int = 0

    def __post_init__(self):
        if not 0 <= int(self.steps) <= 20000:
            raise ValueError(f"steps must be within 0..20000, got {self.steps}")
        if not (0 < float(self.lr) and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr}")
        if self.pivot not in ("encoded", "typical"):
            raise ValueError(f"pivot must be 'encoded' or 'typical', got {self.pivot!r}")


@dataclass(frozen=True)
class FitProgress:
    step: int
    steps: int
    psnr_db: float
    elapsed_s: float


@dataclass
class FitResult:
    model: object  # the fitted engine.api.Model (the unfitted one when nothing was gained)
    z: np.ndarray  # the pivot, D float32
    labels: dict[str, float]
    psnr_before: float  # of the uint8 reconstructions against the crop, dB
    psnr_after: float
    steps: int  # optimisation steps done
    seconds: float
    before: np.ndarray  # S×S×3 uint8: unfitted decode of the pivot
    after: np.ndarray  # S×S×3 uint8: fitted decode of the pivot
    fitted: bool  # False: diverged (unfitted weights kept) or zero steps
    stopped: bool = False  # should_stop() ended it early (best-so-far weights kept)
    message: str = ""  # why it diverged, or empty
    gains: dict[str, float] = field(default_factory=dict)  # per-photo σ calibration of each attribute (see edit_gains)
    history: list[float] = field(default_factory=list)  # PSNR at each check


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR in dB of two uint8 images."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def _copy(model):
    from engine.api import Model

    net = copy.deepcopy(model.net).eval()
    return Model(net=net, ckpt=model.ckpt, device=model.device, name=model.name)


def pivot_of(model, crop: np.ndarray, config: FitConfig = FitConfig(), start=None) -> tuple[np.ndarray, dict[str, float]]:
    """The pivot latent (and labels) of a crop: the encoder's guess (or ``start``, a (z, labels)
    pair), refined for a cGAN, optionally pulled into the prior's typical radius."""
    if start is None:
        z, labels = model.encode_with_labels(crop)
        z, labels = z[0], labels[0]
    else:
        z, labels = start
    if model.family == "cgan" and config.refine_steps > 0:
        from engine.inversion import invert

        r = invert(model, crop, steps=int(config.refine_steps), start=(z, labels))
        z, labels = r.z, r.labels
    if config.pivot == "typical":
        z = typical_pivot(model, z)
    return np.asarray(z, np.float32), dict(labels)


def typical_pivot(model, z: np.ndarray) -> np.ndarray:
    """``z`` moved towards the prior's mean until its whitened radius is the prior's typical
    √D (no change when it is inside already): the distortion–editability trade-off of e4e."""
    extra = model.ckpt.extra
    d = model.latent_dim
    mean = extra.get("prior_mean", np.zeros(d, np.float32)).reshape(-1).astype(np.float64)
    chol = extra.get("prior_chol")
    r = np.asarray(z, np.float64) - mean
    w = np.linalg.solve(chol.reshape(d, d).astype(np.float64), r) if chol is not None else r
    radius = float(np.linalg.norm(w))
    typical = math.sqrt(d)
    return (mean + r * min(1.0, typical / max(radius, 1e-9))).astype(np.float32)


def fit_photo(
    pe,
    config: FitConfig = FitConfig(),
    progress: Callable[[FitProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
):
    """Fit the model to an open photo (:class:`engine.photo.PhotoEdit`), starting from its latent.
    Returns (the photo rendered by the fitted model — ``pe`` itself when the fit diverged or gained
    nothing —, the :class:`FitResult`)."""
    model = pe.base_model
    with _threads(config):  # the cGAN's refinement too
        z, labels = pivot_of(model, pe.crop, config, start=(pe.z, pe.labels))
        result = fit(model, pe.crop, z, labels, config, progress, should_stop)
    return (pe.with_fit(result) if result.fitted else pe), result


def _threads(config: FitConfig):
    from engine.devices import thread_budget

    return thread_budget(int(config.threads)) if config.threads > 0 else contextlib.nullcontext()


def fit(
    model,
    crop: np.ndarray,
    z: np.ndarray | None = None,
    labels: dict[str, float] | None = None,
    config: FitConfig = FitConfig(),
    progress: Callable[[FitProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> FitResult:
    """Tune a copy of ``model``'s decoder so that the pivot reproduces ``crop`` (S×S×3 uint8 at
    the model's resolution). ``z``/``labels``: the pivot (default: :func:`pivot_of`)."""
    with _threads(config):
        return _fit(model, crop, z, labels, config, progress, should_stop)


def _fit(model, crop, z, labels, config: FitConfig, progress, should_stop) -> FitResult:
    t0 = time.perf_counter()
    if z is None:
        z, labels = pivot_of(model, crop, config)
    labels = dict(labels or {})
    z = np.asarray(z, np.float32).reshape(-1)
    before = model.decode(z[None], labels=labels or None)[0]
    target_u8 = model.to_images(model.to_tensor(crop))[0]
    psnr_before = psnr(before, target_u8)
    out = FitResult(model=model, z=z, labels=labels, psnr_before=psnr_before, psnr_after=psnr_before, steps=0, seconds=0.0,
                    before=before, after=before, fitted=False)  # fmt: skip
    if config.steps == 0:
        out.seconds = time.perf_counter() - t0
        return out
    fitted = _copy(model)
    with torch.inference_mode(False), torch.enable_grad():
        run = _Run(model, fitted, crop, z, labels, config)
        steps, stopped, message, history = run.loop(t0, progress, should_stop)
    out.steps, out.stopped, out.message, out.history = steps, stopped, message, history
    if message:  # diverged: the unfitted weights stay
        out.seconds = time.perf_counter() - t0
        return out
    after = fitted.decode(z[None], labels=labels or None)[0]
    psnr_after = psnr(after, target_u8)
    if psnr_after <= psnr_before:  # nothing gained (a stop at once): keep the unfitted model
        out.seconds = time.perf_counter() - t0
        return out
    gains = edit_gains(model, fitted, z, labels) if config.calibrate else {}
    out.seconds = time.perf_counter() - t0
    return replace(out, model=fitted, after=after, psnr_after=psnr_after, fitted=True, gains=gains)


def attribute_step(model, name: str, amount: float) -> np.ndarray:
    """The latent offset of ``amount`` σ along a named direction (as the sliders move it)."""
    from engine.protocol import AttributeStep, EditStack

    zero = np.zeros(model.latent_dim, np.float32)
    return EditStack(ops=(AttributeStep(name=name, amount=amount),)).apply(zero, model.latent_stats.std, model.attributes)


def edit_gains(model, fitted, z: np.ndarray, labels: dict[str, float] | None = None, amount: float = 3.0) -> dict[str, float]:
    """Per-photo σ calibration: for each attribute direction and each sign (``NAME+``, ``NAME-``),
    how much farther the fitted model must move for a ±``amount``σ edit to change the face
    (inside the face mask) as much as it changed the unfitted model's decode of the pivot. The
    fit stiffens the decoder around the pivot (measured on real portraits: the same step changes
    the fitted decode 0.48–0.77× as much) and not evenly in both directions; the gain gives the
    slider its old reach. One secant correction, clipped to 1..3."""
    from engine.photo import face_mask

    mask = face_mask(model.image_size)[None, :, :, None]
    if not model.attributes:
        return _label_gains(model, fitted, z, labels or {}, mask)
    lab = labels or None
    keys = [(n, a) for n in sorted(model.attributes) for a in (amount, -amount)]
    steps = np.stack([attribute_step(model, n, a) for n, a in keys])
    zs = np.concatenate([z[None], z[None] + steps]).astype(np.float32)

    def size(out, base):  # the change's norm inside the mask, per image
        return np.sqrt((((out - base) * mask) ** 2).sum(axis=(1, 2, 3)))

    d0, df = (m.decode(zs, labels=lab).astype(np.float32) for m in (model, fitted))
    c0, cf = size(d0[1:], d0[:1]), size(df[1:], df[:1])
    g1 = np.clip(c0 / np.maximum(cf, 1e-6), 1.0, 3.0)
    # the change grows slower than the step on a fitted decoder: one secant correction
    cf1 = size(fitted.decode((z[None] + g1[:, None] * steps).astype(np.float32), labels=lab).astype(np.float32), df[:1])
    slope = (cf1 - cf) / np.maximum(g1 - 1.0, 1e-6)
    g = np.where((g1 > 1.0) & (slope > 1e-6), 1.0 + (c0 - cf) / np.maximum(slope, 1e-6), g1)
    return {f"{n}{'+' if a > 0 else '-'}": round(float(np.clip(v, 1.0, 3.0)), 3) for (n, a), v in zip(keys, g)}


def _label_gains(model, fitted, z, labels: dict[str, float], mask) -> dict[str, float]:
    """A conditional model's edits are label changes, which cannot move farther than 0..1: its
    gain (``label:NAME``) scales the fitted change in pixels instead, so that flipping the label
    changes the face as much as it did on the unfitted decode. Clipped to 1..3."""
    if not labels:
        return {}
    names = sorted(labels)
    ys = [labels] + [{**labels, n: 0.0 if labels[n] >= 0.5 else 1.0} for n in names]
    gains = {}
    outs = [np.stack([m.decode(z[None], labels=y)[0] for y in ys]).astype(np.float32) for m in (model, fitted)]
    c0, cf = (np.sqrt((((o[1:] - o[:1]) * mask) ** 2).sum(axis=(1, 2, 3))) for o in outs)
    for i, n in enumerate(names):
        gains[f"label:{n}"] = round(float(min(3.0, max(1.0, c0[i] / max(cf[i], 1e-6)))), 3)
    return gains


def label_gain(gains: dict[str, float], labels: dict[str, float], edited: dict[str, float]) -> float:
    """The pixel gain of a label edit (:func:`_label_gains`): the mean over the labels it changes."""
    changed = [k for k, v in edited.items() if abs(v - labels.get(k, v)) > 1e-6]
    return float(np.mean([gains.get(f"label:{k}", 1.0) for k in changed])) if changed else 1.0


def calibrated(edits, gains: dict[str, float]):
    """``edits`` with each attribute step scaled by its per-photo gain (:func:`edit_gains`)."""
    from engine.protocol import AttributeStep, EditStack

    if not gains:
        return edits

    def gain(op):
        return gains.get(f"{op.name}{'+' if op.amount >= 0 else '-'}", 1.0)

    ops = tuple(replace(op, amount=op.amount * gain(op)) if isinstance(op, AttributeStep) else op for op in edits.ops)
    return EditStack(ops=ops)


class _Run:
    """The optimisation of one fit (torch side)."""

    def __init__(self, model, fitted, crop, z, labels, config: FitConfig):
        self.cfg = config
        self.model, self.fitted = model, fitted
        dev = model.device
        self.x = model.to_tensor(crop)[:1].contiguous().float()
        self.z = torch.from_numpy(z[None]).to(dev)
        self.y = model.label_tensor(labels or None, 1)
        prefixes = DECODER_PREFIXES[model.family]
        named = dict(fitted.net.named_parameters())
        for p in fitted.net.parameters():
            p.requires_grad_(False)
        frozen = () if config.tune_labels else LABEL_PREFIXES.get(model.family, ())
        self.names = [k for k in named if k.startswith(prefixes) and not (frozen and k.startswith(frozen))]
        self.params = [named[k].requires_grad_(True) for k in self.names]
        self.opt = torch.optim.Adam(self.params, lr=float(config.lr))
        # a short warm-up (Adam's first steps have the full lr whatever the gradient: a good start
        # at 37 dB fell 8 dB before recovering), then cosine decay to 5 % instead of oscillating at the end
        n, warm = max(1, int(config.steps)), max(1, int(config.steps) // 20)
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, lambda t: min(1.0, (t + 1) / warm) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(t, n) / n)))
        )
        self.gen = torch.Generator().manual_seed(int(config.seed))
        self.pool_z, self.pool_y, self.pool_x = self._pool()
        self.flips, self.flip_change = self._label_flips()

    def _pool(self):
        """Prior latents (and labels) with the unfitted model's outputs there."""
        m, cfg = self.model, self.cfg
        if cfg.locality_weight <= 0:
            return None, None, None
        zp = torch.from_numpy(m.sample_latents(int(cfg.locality_pool), seed=int(cfg.seed) + 1)).to(m.device)
        space = m.label_space
        yp = None
        if space is not None:
            prior = torch.from_numpy(np.asarray(space.prior, np.float32)).expand(zp.shape[0], -1)
            if space.mode == "onehot":
                yp = F.one_hot(torch.multinomial(prior, 1, generator=self.gen)[:, 0], space.dim).float()
            else:
                yp = torch.bernoulli(prior, generator=self.gen)
            yp = yp.to(m.device)
        if cfg.attribute_pool and m.attributes:
            from engine.protocol import AttributeStep, EditStack

            base = zp.cpu().numpy()
            moved = [base]
            for name in sorted(m.attributes):
                for a in (-3.0, 3.0):
                    step = EditStack(ops=(AttributeStep(name=name, amount=a),)).apply(
                        np.zeros(m.latent_dim, np.float32), m.latent_stats.std, m.attributes
                    )
                    moved.append(base + step[None])
            zp = torch.from_numpy(np.concatenate(moved).astype(np.float32)).to(m.device)
            yp = None if yp is None else yp.repeat(len(moved), 1)
        with torch.no_grad():
            xp = m.decode_tensor(zp, yp).float()
        return zp, yp, xp

    def _label_flips(self):
        """A conditional model with ``label_change_weight``: the pivot's labels, each set to 0 and
        to 1 in turn, and the unfitted model's change for each (held during the fit)."""
        m, cfg = self.model, self.cfg
        if cfg.label_change_weight <= 0 or self.y is None or (m.label_space and m.label_space.mode == "onehot"):
            return None, None
        y = self.y.float()
        rows = []
        for i in range(y.shape[1]):  # each label set to 1 and to 0 (an edit can go either way from an estimate)
            for v in (0.0, 1.0):
                if abs(float(y[0, i]) - v) > 1e-3:
                    row = y[0].clone()
                    row[i] = v
                    rows.append(row)
        if not rows:
            return None, None
        flips = torch.stack(rows)
        with torch.no_grad():
            z = self.z.expand(flips.shape[0], -1)
            change = m.decode_tensor(z, flips).float() - m.decode_tensor(self.z, self.y).float()
        return flips, change

    def loss(self) -> tuple[torch.Tensor, float]:
        cfg = self.cfg
        rec = self.fitted.decode_tensor(self.z, self.y).float()
        mse = F.mse_loss(rec, self.x)
        loss = mse + cfg.l1_weight * (rec - self.x).abs().mean() if cfg.l1_weight > 0 else mse
        if self.pool_z is not None:
            idx = torch.randint(0, self.pool_z.shape[0], (int(cfg.locality_batch),), generator=self.gen).to(self.pool_z.device)
            yp = None if self.pool_y is None else self.pool_y[idx]
            out = self.fitted.decode_tensor(self.pool_z[idx], yp).float()
            loss = loss + cfg.locality_weight * F.mse_loss(out, self.pool_x[idx])
        if self.flips is not None:  # one flipped label per step keeps the unfitted model's change
            k = int(torch.randint(0, self.flips.shape[0], (1,), generator=self.gen))
            out = self.fitted.decode_tensor(self.z, self.flips[k : k + 1]).float()
            loss = loss + cfg.label_change_weight * F.mse_loss(out - rec, self.flip_change[k : k + 1])
        return loss, float(mse.detach())

    def loop(self, t0, progress, should_stop) -> tuple[int, bool, str, list[float]]:
        cfg = self.cfg
        start = [p.detach().clone() for p in self.params]
        best_psnr, best, first, low = -1.0, start, None, 0
        history: list[float] = []
        steps = int(cfg.steps)
        done = 0
        for step in range(1, steps + 1):
            if should_stop is not None and should_stop():
                self._restore(best)
                return done, True, "", history
            loss, mse = self.loss()
            now = 10.0 * math.log10(1.0 / max(mse, 1e-10)) if math.isfinite(mse) else float("nan")
            if not math.isfinite(float(loss.detach())):
                self._restore(start)
                return done, False, f"the fit diverged at step {step} (the loss is not finite); the unfitted model is kept", history
            if (step - 1) % cfg.check_every == 0:  # the PSNR of the weights before this step's update
                history.append(now)
                first = now if first is None else first
                if now > best_psnr:
                    best_psnr, best = now, [p.detach().clone() for p in self.params]
                low = low + 1 if now < first - cfg.diverge_db else 0
                if low >= 3:  # Adam's spikes recover within a check or two; three checks this low do not
                    self._restore(start)
                    return done, False, (f"the fit diverged at step {step} (PSNR fell from {first:.1f} to {now:.1f} dB); "
                                         "the unfitted model is kept"), history  # fmt: skip
                if progress is not None:
                    progress(FitProgress(step=done, steps=steps, psnr_db=now, elapsed_s=time.perf_counter() - t0))
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            self.sched.step()
            done = step
        with torch.no_grad():
            _, mse = self.loss()
        final = 10.0 * math.log10(1.0 / max(mse, 1e-10)) if math.isfinite(mse) else float("nan")
        if not math.isfinite(final) or final < best_psnr:
            if not math.isfinite(final) and best is start:
                self._restore(start)
                return done, False, "the fit diverged (the loss is not finite); the unfitted model is kept", history
            self._restore(best)
        else:
            history.append(final)
        if progress is not None:
            progress(FitProgress(step=done, steps=steps, psnr_db=max(final, best_psnr) if math.isfinite(final) else best_psnr,
                                 elapsed_s=time.perf_counter() - t0))  # fmt: skip
        for p in self.params:
            p.requires_grad_(False)
        return done, False, "", history

    def _restore(self, values: list[torch.Tensor]) -> None:
        with torch.no_grad():
            for p, v in zip(self.params, values):
                p.copy_(v)
        for p in self.params:
            p.requires_grad_(False)


def bench_fit(model, steps: int = 200, threads: int = 1, photo: np.ndarray | None = None) -> dict:
    """Time one fit of the face in ``photo`` (default: scikit-image's astronaut(), a real portrait)
    on ``threads`` torch threads: open (detect, align, encode) is not counted."""
    from engine.photo import open_photo

    if photo is None:
        from skimage.data import astronaut

        photo = astronaut()
    pe = open_photo(model, photo)
    r = fit_photo(pe, FitConfig(steps=int(steps), threads=int(threads)))[1]
    return {"seconds": round(r.seconds, 2), "steps": r.steps, "threads": int(threads), "psnr_before": round(r.psnr_before, 2),
            "psnr_after": round(r.psnr_after, 2), "fitted": r.fitted}  # fmt: skip
