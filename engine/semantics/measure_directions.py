"""Attribute directions for the continuous landmark measures (Smiling, MouthOpen, EyesOpen,
HeadYaw, HeadRoll, LightDirection: ``engine.data.landmarks``) and ``Age`` (the age labeller's
estimate, ``engine.data.age``), fitted on a face set's ``face_measures.csv`` and
``faces_meta.csv`` (``engine.data.face_measures.split_labels``).

The ±1 attributes get a classifier normal or a class-mean difference
(``classifier_directions.py``); a continuous label has no classes, so:

* ``regression`` (stored by default): a ridge regression of the standardised measure on
  standardised μ; its normal, mapped back to latent units, is the direction. Only faces with a
  label enter (a face dlib missed has none).
* ``mean``: mean μ of the top quarter of the faces minus mean μ of the bottom quarter.

Stored like the ±1 attributes (``classifier_directions`` module doc), so the editor, ``edit
--attr Smiling=+2``, the locks and ``eval-edits`` use them unchanged: the direction's length is
the gap between the μ means of the faces above and below the median along it (the binary
threshold: above the median is the positive side); ``extra["classifier.<name>"]`` holds the
linear read-out w, b with ``w·z + b`` ≈ (measure − median) / s.d. (positive above the median),
and ``info["attributes"][name]`` the metrics: held-out correlation r and R² of the read-out,
ROC AUC of the median split, σ along the direction, counts.

``samples=N`` fits the same regression on the model's own pairs instead — N prior draws z, each
decoded with the labels of a random training face (a conditional model's "label setting"), the
measures read on the generated pixels (:func:`sampled_labelled`) — for a GAN, which has no
posterior (its encoder's ẑ is only a first guess that ``engine.inversion`` refines). Such a
direction needs no encoder; it is still scored on the encoder's estimates of the test faces. The
bundled cGAN's directions are fitted so: the landmark judge measured them better than directions
fitted on the encoder's estimates (docs/semantics.md, "The face cGAN"); :func:`per_setting_cosines`
tells whether a direction depends on the label setting.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from engine.data.age import LABELS
from engine.semantics.classifier_directions import DirectionFit, binary_auc, unit_vector

METHODS = ("regression", "mean")
MIN_LABELLED = 8


def _finish(name: str, method: str, u: np.ndarray, mu: np.ndarray, y: np.ndarray, median: float, readout: np.ndarray | None) -> DirectionFit:
    pos, neg = y > median, y < median
    gap = float(u @ (mu[pos].mean(0) - mu[neg].mean(0)))
    sigma = float(max((mu @ u).std(), 1e-12))
    return DirectionFit(name=name, method=method, direction=(u * gap).astype(np.float32), sigma=sigma, gap_sigma=gap / sigma,
                        accuracy=None, auc=None, n_train=int(len(y)), n_test=0, positive_rate=float(pos.mean()), classifier=readout)


def fit_measure_directions(method: str, mu: np.ndarray, values: np.ndarray, names=LABELS, alpha: float = 1.0) -> dict[str, DirectionFit]:
    """One direction per column of ``values`` (N×K, NaN = unlabelled; column j is ``names[j]``, so
    six columns are the landmark measures alone) from the labelled rows of ``mu``."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use {' or '.join(METHODS)}")
    out = {}
    for j, name in enumerate(list(names)[: values.shape[1]]):
        ok = np.isfinite(values[:, j])
        if ok.sum() < MIN_LABELLED:
            continue
        x, y = np.asarray(mu[ok], np.float64), values[ok, j]
        median, sd = float(np.median(y)), float(max(y.std(), 1e-12))
        if min((y > median).sum(), (y < median).sum()) < 2:  # no spread: nothing to follow
            continue
        mean, std = x.mean(0), np.maximum(x.std(0), 1e-6)
        xs = (x - mean) / std
        t = (y - median) / sd
        ws = np.linalg.solve(xs.T @ xs + alpha * len(y) * 1e-3 * np.eye(x.shape[1]), xs.T @ (t - t.mean()))
        w = ws / std
        b = float(t.mean() - w @ mean)
        readout = np.append(w, b).astype(np.float32)
        if method == "regression":
            u = unit_vector(w)
        else:
            lo, hi = np.quantile(y, [0.25, 0.75])
            u = unit_vector(x[y >= hi].mean(0) - x[y <= lo].mean(0))
        fit = _finish(name, method, u, x, y, median, readout)
        fit.median, fit.sd = median, sd  # for the held-out scores
        out[name] = fit
    return out


def score(fits: dict[str, DirectionFit], mu: np.ndarray, values: np.ndarray, names=LABELS) -> dict[str, dict[str, Any]]:
    """Held-out metrics: correlation r of μ·u with the measure, R² of the linear read-out, AUC of
    the median split (the training median), counts."""
    out = {}
    for j, name in enumerate(list(names)[: values.shape[1]]):
        if name not in fits:
            continue
        f = fits[name]
        ok = np.isfinite(values[:, j])
        x, y = np.asarray(mu[ok], np.float64), values[ok, j]
        proj = x @ unit_vector(f.direction)
        pred = x @ f.classifier[:-1] + f.classifier[-1]
        t = (y - f.median) / f.sd
        r2 = 1.0 - float(((t - pred) ** 2).sum()) / max(float(((t - t.mean()) ** 2).sum()), 1e-12)
        r = float(np.corrcoef(proj, y)[0, 1]) if len(y) > 2 else None
        auc = binary_auc(np.where(y > f.median, 1, -1), proj)
        f.auc, f.n_test = auc, int(len(y))
        out[name] = {**f.metrics(), "r": None if r is None else round(r, 4), "r2": round(r2, 4), "median": round(f.median, 5), "sd": round(f.sd, 5)}
    return out


def prior_draws(model, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` latents from N(mean, std²) of the model's latent statistics (a GAN's: N(0, I)), float32."""
    st = model.latent_stats
    return (st.mean + st.std * rng.standard_normal((int(n), model.latent_dim))).astype(np.float32)


def sampled_labelled(model, n: int, data: str, seed: int = 0, progress: bool = True, cache: bool = True):
    """(z N×D, measures N×len(LABELS), label vectors N×L or None) of ``n`` draws from the prior
    N(mean, std²) of the model's latent statistics (a GAN's: N(0, I)), each decoded with the labels
    (0/1) of a random face of ``data``'s training split for a conditional model, and measured by
    dlib (and the age network) on the generated pixels."""
    from engine.data.age import measure_labels
    from engine.semantics.encoded import encode_dataset
    from engine.semantics.landmark_eval import decode_rows

    rng = np.random.default_rng(seed)
    z = prior_draws(model, n, rng)
    y = None
    if model.labels:
        enc = encode_dataset(model, data, "train", None, progress, cache)
        if enc.labels is None or any(name not in enc.names for name in model.labels):
            raise ValueError(f"{data}: the training split has no labels {', '.join(model.labels)} to decode the samples with")
        table = (enc.labels[:, [enc.names.index(name) for name in model.labels]] > 0).astype(np.float32)
        y = table[rng.integers(0, len(table), int(n))]
    images = np.concatenate([decode_rows(model, z[i : i + 256], None if y is None else y[i : i + 256]) for i in range(0, len(z), 256)])
    return z, measure_labels(images, progress=progress, desc="measuring samples"), y


def per_setting_cosines(z: np.ndarray, values: np.ndarray, settings: np.ndarray, names=LABELS, min_n: int = 300, seed: int = 0) -> dict[str, Any]:
    """Does a direction depend on the label setting? Per setting (a row of ``settings``) with
    ``min_n``+ measured samples: the cosine between the regression direction fitted on that
    setting's samples and the one fitted on all the other samples, beside the same cosine for a
    random subset of the same size against the rest (the noise floor at that n)."""
    rng = np.random.default_rng(seed)
    keys, inverse = np.unique(settings.astype(np.int8), axis=0, return_inverse=True)
    out: dict[str, Any] = {}
    for j, name in enumerate(list(names)[: values.shape[1]]):
        ok = np.isfinite(values[:, j])
        rows = []
        for k, key in enumerate(keys):
            inside = ok & (inverse.ravel() == k)
            if inside.sum() < min_n:
                continue
            rest = ok & ~inside
            ref = np.flatnonzero(ok)
            pick = np.zeros(len(ok), bool)
            pick[rng.choice(ref, int(inside.sum()), replace=False)] = True
            cos = []
            for a, b in ((inside, rest), (pick, ok & ~pick)):
                fa = fit_measure_directions("regression", z[a], values[a][:, [j]], [name])[name]
                fb = fit_measure_directions("regression", z[b], values[b][:, [j]], [name])[name]
                cos.append(round(float(unit_vector(fa.direction) @ unit_vector(fb.direction)), 3))
            rows.append({"setting": [int(v) for v in key], "n": int(inside.sum()), "cosine_vs_rest": cos[0], "random_same_n": cos[1]})
        out[name] = rows
    return out


def data_root(spec: str) -> Path:
    kind, _, where = spec.partition(":")
    if kind not in ("faces", "celeba") or not where:
        raise ValueError(f"{spec}: landmark measures are read from faces:DIR or celeba:DIR (face_measures.csv) or measured in folder:DIR")
    return Path(where)


#: ``folder:`` sets are measured on the fly, on the centre square at this side (dlib needs more than 64 px).
FOLDER_MEASURE_SIDE = 256


def labelled_split(model, spec: str, split: str, limit: int | None, progress: bool, cache: bool):
    """(μ, labels N×len(LABELS)) of one split, row-aligned. ``faces:``/``celeba:`` read
    ``face_measures.csv`` (and the builder's ages); ``folder:DIR`` measures its images now (the
    centre square at :data:`FOLDER_MEASURE_SIDE`; the age labeller too)."""
    from engine.data.face_measures import split_labels
    from engine.semantics.encoded import encode_dataset

    if spec.partition(":")[0] == "folder":
        from engine.data.datasets import load_dataset
        from engine.data.age import measure_labels

        big = load_dataset(spec, max(FOLDER_MEASURE_SIDE, model.image_size), 3, split, progress=progress)
        big = big.subset(np.arange(min(int(limit), len(big)))) if limit else big
        values = measure_labels(big.images.permute(0, 2, 3, 1).numpy(), progress=progress)
        return encode_dataset(model, spec, split, limit, progress, cache).mu, values
    enc = encode_dataset(model, spec, split, limit, progress, cache)
    values = split_labels(data_root(spec), split, limit)
    if len(values) != len(enc):
        raise ValueError(f"{spec}: {len(enc)} images in the {split} split but {len(values)} rows of measures (unreadable images?)")
    return enc.mu, values


def compute_measure_directions(
    checkpoint: str | os.PathLike, data: str, method: str = "regression", out: str | os.PathLike | None = None, names=None,
    limit: int | None = None, device: str = "cpu", progress: bool = True, cache: bool = True, samples: int = 0, seed: int = 0,
    readouts_only: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Fit directions for the landmark measures of ``data`` (train split; scored on test) and
    store ``method``'s in the checkpoint (``out`` or in place), beside its other attributes.
    ``samples=N``: fit them on N of the model's own samples instead (:func:`sampled_labelled`).
    ``readouts_only``: keep the stored directions and replace only the read-outs the locks hold
    (with ``samples``: what the decoder draws, while a direction fitted on μ may keep the person better)."""
    import engine
    from engine import checkpoint as ckpt_io
    from engine.semantics.classifier_directions import store_fits

    names = list(names or LABELS)
    model = engine.load_model(str(checkpoint), device=device)
    settings = None
    if samples:
        mu_tr, y_tr, settings = sampled_labelled(model, samples, data, seed, progress, cache)
        source = f"{samples} prior draws (seed {seed})" + (" decoded with random training faces' labels" if settings is not None else "")
        source += f", measured on the generated pixels ({method}; {{n}} measured, scored on {data} test: the encoder's estimates)"
    else:
        mu_tr, y_tr = labelled_split(model, data, "train", limit, progress, cache)
        source = f"{data} {{kind}} ({method}; train: {{n}} labelled of {len(y_tr)}, scored on test)"
    mu_te, y_te = labelled_split(model, data, "test", None, progress, cache)
    cols = [LABELS.index(n) for n in names]
    both = {m: fit_measure_directions(m, mu_tr, y_tr[:, cols], names) for m in METHODS}
    scores = {m: score(both[m], mu_te, y_te[:, cols], names) for m in METHODS}
    chosen = both[method]
    if not chosen:
        raise ValueError(f"{data}: no measure has {MIN_LABELLED}+ labelled training faces")
    ckpt = ckpt_io.load(checkpoint)
    n_lab = int(np.isfinite(y_tr[:, cols[0]]).sum())
    if readouts_only:
        _store_readouts(ckpt, chosen, source.format(kind="measures", n=n_lab))
    else:
        for kind, group in (("landmark measures", [n for n in chosen if n != "Age"]), ("age estimates (faces_meta.csv)", [n for n in chosen if n == "Age"])):
            if group:
                store_fits(ckpt, {n: chosen[n] for n in group}, data=source.format(kind=kind, n=int(np.isfinite(y_tr[:, LABELS.index(group[0])]).sum())))
        for name in chosen:
            ckpt.info["attributes"][name].update({k: scores[method][name][k] for k in ("r", "r2", "auc", "median", "sd", "n_test")})
    target = Path(out or checkpoint)
    ckpt_io.save(ckpt, target)
    extra = {} if settings is None else {"per_label_setting": per_setting_cosines(mu_tr, y_tr[:, cols], settings, names, seed=seed)}
    return {
        **extra,
        "checkpoint": str(target), "stored": method, "train": len(y_tr), "train_labelled": n_lab, "test": len(y_te),
        "attributes": {n: {m: scores[m][n] for m in METHODS if n in scores[m]} for n in chosen},
        "cosine_mean_vs_regression": {n: round(float(unit_vector(both["mean"][n].direction) @ unit_vector(both["regression"][n].direction)), 4)
                                      for n in chosen if n in both["mean"]},
    }  # fmt: skip


def _store_readouts(ckpt, fits, source: str) -> None:
    """Replace the read-outs (``extra["classifier.<name>"]``) of directions the checkpoint has, and say so in its info."""
    missing = [n for n in fits if n not in ckpt.attributes]
    if missing:
        raise ValueError(f"--readouts-only: the checkpoint has no {missing[0]} direction to keep (run measure-directions without it first)")
    for name, fit in fits.items():
        ckpt.extra[f"classifier.{name}"] = fit.classifier
        info = ckpt.info.setdefault("attributes", {})
        info[name] = {**info.get(name, {}), "readout": source}
