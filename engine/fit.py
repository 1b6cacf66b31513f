"""Per-photo fit: pivotal tuning (Roich et al. 2021, "PTI") of a copy of the model's decoder.

The latent found for the aligned crop is the *pivot* (a cGAN's encoder guess is first refined by
:mod:`engine.inversion`). A deep copy of the decoder / generator is tuned so that the pivot
reproduces the crop, while a locality term keeps the old outputs at latents drawn **from the
prior** (not between the pivot and the prior: an edited latent lies closer to the pivot than
such samples, so they would hold it to the old, blurry reconstruction and paste a ghost of it)::

    min_θ  ‖D_θ(z*) − x‖²  +  λ₁ |D_θ(z*) − x|₁  +  λ_loc · mean_p ‖D_θ(z_p) − D₀(z_p)‖²,   z_p ~ prior
           +  λ_att · ‖(D_θ(z*+δ_k) − D_θ(z*)) − (D₀(z*+δ_k) − D₀(z*))‖²,   δ_k: ±3σ along an attribute direction

(the last term holds the unfitted edits at the pivot, one direction and sign per step; conditional
models hold their label flips the same way, see :class:`engine.fit_run.FitRun`)

The bundled model is never modified: :func:`fit` returns another :class:`engine.api.Model` that
shares the checkpoint (names, directions, statistics) and owns its tuned weights.

A plain function for a worker thread (Orange3's pattern): ``progress(FitProgress)`` every few
steps, ``should_stop()`` polled every step; a stop keeps the best weights so far, a divergence
(non-finite loss, PSNR falling far below its best) keeps the unfitted weights and says why.
"""

from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np
import torch

from engine.fit_gains import attribute_step, calibrated, edit_gains, label_gain  # noqa: F401 - public here too
from engine.fit_run import DECODER_PREFIXES, LABEL_PREFIXES, FitRun  # noqa: F401 - public here too
from engine.step_parts import OPENS, WARPED


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
    # hold the unfitted change of the pivot moved ±3σ along each attribute direction (one per step, decoded with the
    # locality batch): edits on the fitted decoder change the face as on the unfitted one (docs/photo.md, issue 18)
    attribute_change_weight: float = 3.0
    # directions held loosely, at loose_weight instead: the warped ones (engine.step_parts.WARPED), whose flow must
    # be a motion of this face, which the unfitted change (another, blurry face's) is not. Held at the full weight,
    # Smiling moved the right way on 11 of 16 real-portrait edits; not held (0), HeadYaw's fitted change drifted from
    # the unfitted one (cosine 0.67); at 1 every edit survives the fit and the landmarks move as unheld (docs/photo.md)
    # MouthOpen, warped (as a jaw drop) since 2026-12-07 late, stays held in full as before: loosening it was not measured
    loose: tuple[str, ...] = tuple(n for n in WARPED if n not in OPENS)
    loose_weight: float = 1.0
    calibrate: bool = True  # per-photo σ calibration of the attribute directions (edit_gains)
    # directions calibrated on dlib's landmarks too (engine.fit_landmarks), e.g. ("HeadYaw", "HeadRoll"): on four real
    # portraits their moves reach the built-in faces' (HeadYaw 0.54 -> 1.21 s.d. between -2 and +2 sigma), but at +3 sigma
    # the eyes ghost and darken, so none by default (docs/semantics.md "Calibrating the geometric edits")
    landmark_gain: tuple[str, ...] = ()
    # torch threads for the fit; 0: as many cores as are idle when it starts (engine.devices.idle_threads:
    # 2 idle cores fit in 4.2-4.9 s where 1 takes 6.5 s, but with other work on the cores two threads
    # took 155-183 s for what one did in 7.2 s: OpenMP waiting on busy cores)
    threads: int = 0
    seed: int = 0

    def __post_init__(self):
        if not 0 <= int(self.steps) <= 20000:
            raise ValueError(f"steps must be within 0..20000, got {self.steps}")
        if not (0 < float(self.lr) and math.isfinite(self.lr)):
            raise ValueError(f"lr must be a positive number, got {self.lr}")
        if not 0 <= int(self.threads) <= 256:
            raise ValueError(f"threads must be within 0..256 (0: the idle cores), got {self.threads}")
        if not (isinstance(self.loose, tuple) and all(isinstance(n, str) for n in self.loose)):
            raise ValueError(f"loose must be a tuple of attribute names, got {self.loose!r}")
        if not (isinstance(self.landmark_gain, tuple) and all(isinstance(n, str) for n in self.landmark_gain)):
            raise ValueError(f"landmark_gain must be a tuple of attribute names, got {self.landmark_gain!r}")
        if not (self.loose_weight >= 0 and math.isfinite(self.loose_weight)):
            raise ValueError(f"loose_weight must be a number ≥ 0, got {self.loose_weight}")
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


def copy_model(model):
    from engine.api import Model

    net = copy.deepcopy(model.net).eval()
    return Model(net=net, ckpt=model.ckpt, device=model.device, name=model.name)


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
    job = FitJob.for_photo(pe, config)
    job.advance(progress=progress, should_stop=should_stop)
    return job.photo(pe), job.result


def _threads(config: FitConfig):
    """The job's thread budget (FitJob resolves threads 0, the idle cores, once when it starts)."""
    from engine.devices import thread_budget

    return thread_budget(int(config.threads))


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
    the model's resolution). ``z``/``labels``: the pivot (default: the encoder's guess, refined for a cGAN)."""
    job = FitJob(model, crop, z, labels, config)
    job.advance(progress=progress, should_stop=should_stop)
    return job.result


class FitJob:
    """One fit, done in slices: :meth:`advance` runs it for a while (or to its end), :meth:`stop`
    ends it keeping the best weights so far; ``done`` and ``result`` say how it ended. The editor's
    engine runs a slice per request, so renders of the edit interleave with the fit; the CLI runs
    it in one go. The loaded model is never modified (the fit tunes a copy)."""

    def __init__(self, model, crop: np.ndarray, z=None, labels=None, config: FitConfig = FitConfig(), *, derive: bool | None = None) -> None:
        """``z``/``labels``: the pivot as it is; ``derive`` (default: when ``z`` is None): derive
        the pivot from them (the encoder's guess when None): a cGAN's inversion refinement
        (``config.refine_steps``), then the typical radius when ``config.pivot`` asks — the
        refinement is the job's first work, in slices too."""
        self.t0 = time.perf_counter()
        if config.threads <= 0:  # once per job: the fit's own threads raise the load it would read next
            from engine.devices import idle_threads

            config = replace(config, threads=idle_threads())
        self.config, self.model, self.crop = config, model, crop
        self.derive = z is None if derive is None else bool(derive)
        if z is None:
            with _threads(config):
                z, labels = (v[0] for v in model.encode_with_labels(crop))
        self._pivot = (np.asarray(z, np.float32).reshape(-1), dict(labels or {}))
        self._refine_left = int(config.refine_steps) if self.derive and model.family == "cgan" else 0
        self._ms_per_refine_step = 50.0  # a first guess, measured after the first slice
        self.result: FitResult | None = None  # set once the pivot is known
        self._run: FitRun | None = None
        self.done = False
        if not self._refine_left:
            self._set_up()

    def _set_up(self, optimise: bool = True) -> None:
        """The pivot is final: the unfitted decode of it, and the optimisation (none for zero steps,
        or without ``optimise``: a stop while the pivot was being refined)."""
        config, model = self.config, self.model
        z, labels = self._pivot
        with _threads(config):
            if self.derive and config.pivot == "typical":
                z = typical_pivot(model, z)
            before = model.decode(z[None], labels=labels or None)[0]
            self._target = model.to_images(model.to_tensor(self.crop))[0]
            first = psnr(before, self._target)
            self.result = FitResult(model=model, z=z, labels=labels, psnr_before=first, psnr_after=first, steps=0, seconds=0.0,
                                    before=before, after=before, fitted=False)  # fmt: skip
            if config.steps > 0 and optimise:
                with torch.inference_mode(False), torch.enable_grad():
                    self._run = FitRun(model, copy_model(model), self.crop, z, labels, config)
        self.done = self._run is None
        self.result.seconds = time.perf_counter() - self.t0

    def _refine(self, end: float) -> None:
        """A cGAN's inversion refinement of the pivot, as many steps as fit
        before ``end`` (all of them without an end: one run, as the CLI always did)."""
        from engine.inversion import invert

        left = self._refine_left
        k = left if math.isinf(end) else max(1, min(left, int((end - time.perf_counter()) * 1000.0 / self._ms_per_refine_step)))
        with _threads(self.config):
            r = invert(self.model, self.crop, steps=k, start=self._pivot)
        self._pivot = (np.asarray(r.z, np.float32), dict(r.labels))
        self._refine_left -= k
        self._ms_per_refine_step = r.ms_per_step or self._ms_per_refine_step
        if not self._refine_left:
            self._set_up()

    @classmethod
    def for_photo(cls, pe, config: FitConfig = FitConfig()) -> "FitJob":
        """A fit of an open photo's face, from its latent (refined first for a cGAN)."""
        return cls(pe.base_model, pe.crop, pe.z, pe.labels, config, derive=True)

    @property
    def step(self) -> int:
        return 0 if self._run is None else self._run.done

    @property
    def seconds(self) -> float:
        """Time since the job started; once it has ended, how long it took."""
        return self.result.seconds if self.done else time.perf_counter() - self.t0

    @property
    def psnr_before(self) -> float:
        """The unfitted model's PSNR of the pivot (NaN while a cGAN's pivot is still being refined)."""
        return float("nan") if self.result is None else self.result.psnr_before

    @property
    def psnr_db(self) -> float:
        """The PSNR (dB, float images) at the latest check; the unfitted one before any."""
        run = self._run
        return self.psnr_before if run is None or not run.history else run.psnr_db

    def advance(self, seconds: float = math.inf, progress: Callable[[FitProgress], None] | None = None,
                should_stop: Callable[[], bool] | None = None) -> bool:
        """Run steps for about ``seconds`` (at least one); True once the fit has ended.
        ``progress`` at every PSNR check; ``should_stop()`` before every step."""
        end = time.perf_counter() + float(seconds)
        while self._refine_left and (time.perf_counter() < end or math.isinf(end)):
            self._refine(end)
        if self.done or self._run is None:
            return self.done
        run = self._run
        with _threads(self.config), torch.inference_mode(False), torch.enable_grad():
            while True:
                if should_stop is not None and should_stop():
                    run.stop()
                    self._finish("", stopped=True)
                    break
                outcome = run.step()
                if run.checked and progress is not None:
                    progress(FitProgress(step=run.done, steps=int(self.config.steps), psnr_db=run.psnr_db,
                                         elapsed_s=time.perf_counter() - self.t0))  # fmt: skip
                if outcome is not None:
                    self._finish(outcome)
                    break
                if time.perf_counter() >= end:
                    break
        return self.done

    def stop(self) -> FitResult:
        """End now, keeping the best weights so far (a usable state)."""
        if self._refine_left:  # still refining the pivot: no fit yet, the unfitted model stays
            self._refine_left = 0
            self._set_up(optimise=False)
            self.result.stopped = True
        if not self.done:
            with _threads(self.config):
                self._run.stop()
                self._finish("", stopped=True)
        return self.result

    def photo(self, pe):
        """``pe`` rendered by the fitted model (``pe`` itself when the fit diverged or gained nothing)."""
        return pe.with_fit(self.result) if self.result.fitted else pe

    def _gain_mask(self) -> np.ndarray:
        """Where the per-photo σ calibration measures an edit: the face mask (as the composite of an
        unfitted photo uses it)."""
        from engine.photo import face_mask

        return face_mask(self.model.image_size)

    def _gains(self, fitted, z: np.ndarray, labels: dict[str, float]) -> dict[str, float]:
        """Each edit's per-photo σ calibration: its pixel change, and for ``landmark_gain`` its landmarks."""
        gains = edit_gains(self.model, fitted, z, labels, mask=self._gain_mask())
        if not self.config.landmark_gain:
            return gains
        from engine.fit_landmarks import landmark_gains

        return landmark_gains(fitted, z, labels, gains, names=self.config.landmark_gain)

    def _finish(self, message: str, stopped: bool = False) -> None:
        run, out = self._run, self.result
        self.done = True
        out.steps, out.stopped, out.message, out.history = run.done, stopped, message, list(run.history)
        if not message:  # diverged: the unfitted weights stay
            z, labels = out.z, out.labels
            after = run.fitted.decode(z[None], labels=labels or None)[0]
            gained = psnr(after, self._target)
            if gained > out.psnr_before:  # else nothing gained (a stop at once): keep the unfitted model
                gains = self._gains(run.fitted, z, labels) if self.config.calibrate else {}
                self.result = out = replace(out, model=run.fitted, after=after, psnr_after=gained, fitted=True, gains=gains)
        out.seconds = time.perf_counter() - self.t0
