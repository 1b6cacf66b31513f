"""Attribute directions as the normal of a linear classifier on μ (logistic regression), with
held-out accuracy and ROC AUC per attribute; the mean difference (``directions.py``) is the
other method and is scored the same way, so the two can be compared side by side.

Conventions (shared by both methods, so a checkpoint's ``attr.<name>`` always means the same):

* A direction ``d`` points from the attribute's negative to its positive side. Its **length is
  the gap between the two class means measured along it**: ``d = u · (u·(m₊ − m₋))`` with
  ``u`` the unit direction. For the mean difference this is exactly ``m₊ − m₋``; for the
  classifier ``u = w/‖w‖`` with ``w`` the logistic-regression weights in latent units.
* Held-out scores: a direction scores each latent by ``μ·u``. AUC is the ROC AUC of that score
  against the labels; accuracy is the logistic regression's own on held-out data for the
  classifier, and for the mean difference a threshold half-way between the projected class
  means of the training data.
* ``sigma`` is the standard deviation of ``μ·u`` over the training data (the data's spread along
  the direction), ``gap_sigma`` the class-mean gap in those units.

In a checkpoint: ``attributes[name]`` holds the direction, ``extra["classifier.<name>"]`` the
logistic regression as D+1 floats (weights in latent units, then the bias: logit = w·z + b),
``info["attributes"][name]`` the metrics (method, accuracy, auc, sigma, counts, data).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.semantics.directions import MIN_PER_CLASS, mean_difference_directions

METHODS = ("classifier", "mean")


@dataclass
class DirectionFit:
    name: str
    method: str
    direction: np.ndarray  # D, gap-scaled (see module doc)
    sigma: float
    gap_sigma: float
    accuracy: float | None
    auc: float | None
    n_train: int
    n_test: int
    positive_rate: float
    classifier: np.ndarray | None = None  # D+1: w, b (logit = w·z + b)

    def metrics(self) -> dict[str, Any]:
        r = lambda v: None if v is None else round(float(v), 4)  # noqa: E731
        return {
            "method": self.method,
            "accuracy": r(self.accuracy),
            "auc": r(self.auc),
            "sigma": r(self.sigma),
            "gap_sigma": r(self.gap_sigma),
            "n_train": self.n_train,
            "n_test": self.n_test,
            "positive_rate": r(self.positive_rate),
        }


def unit_vector(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


def binary_auc(y: np.ndarray, score: np.ndarray) -> float | None:
    if len(np.unique(y)) < 2:
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y > 0, score))


def _split_ok(y: np.ndarray) -> bool:
    return (y > 0).sum() >= MIN_PER_CLASS and (y < 0).sum() >= MIN_PER_CLASS


def _finish(name, method, u, mu_tr, y_tr, mu_te, y_te, accuracy, classifier=None) -> DirectionFit:
    pos, neg = y_tr > 0, y_tr < 0
    gap_vec = mu_tr[pos].mean(0) - mu_tr[neg].mean(0)
    gap = float(u @ gap_vec)
    proj = mu_tr @ u
    sigma = float(max(proj.std(), 1e-12))
    auc = binary_auc(y_te, mu_te @ u) if mu_te is not None and len(mu_te) else None
    return DirectionFit(
        name=name, method=method, direction=(u * gap).astype(np.float32), sigma=sigma, gap_sigma=gap / sigma,
        accuracy=accuracy, auc=auc, n_train=int(len(y_tr)), n_test=0 if mu_te is None else int(len(mu_te)),
        positive_rate=float(pos.mean()), classifier=classifier,
    )  # fmt: skip


def mean_difference_fits(mu_tr, y_tr, names, mu_te=None, y_te=None) -> dict[str, DirectionFit]:
    """The mean-difference directions of ``directions.py``, scored on held-out data."""
    raw = mean_difference_directions(mu_tr, y_tr, names)
    out = {}
    for j, name in enumerate(names):
        if name not in raw:
            continue
        u = unit_vector(raw[name])
        acc = None
        if mu_te is not None and len(mu_te):
            yt = y_tr[:, j]
            threshold = 0.5 * ((mu_tr[yt > 0] @ u).mean() + (mu_tr[yt < 0] @ u).mean())
            acc = float((((mu_te @ u) > threshold) == (y_te[:, j] > 0)).mean())
        out[name] = _finish(name, "mean", u, mu_tr, y_tr[:, j], mu_te, None if y_te is None else y_te[:, j], acc)
    return out


def logistic_fits(mu_tr, y_tr, names, mu_te=None, y_te=None, C: float = 1.0, max_iter: int = 2000) -> dict[str, DirectionFit]:
    """One logistic regression per attribute on standardised μ; its normal, mapped back to
    latent units (w = w_std / std), is the direction."""
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        raise RuntimeError("classifier directions need scikit-learn: pip install 'latent-studio[metrics]'") from None
    mean, std = mu_tr.mean(0), np.maximum(mu_tr.std(0), 1e-6)
    xs = (mu_tr - mean) / std
    out = {}
    for j, name in enumerate(names):
        y = y_tr[:, j]
        if not _split_ok(y):
            continue
        clf = LogisticRegression(C=C, max_iter=max_iter)
        clf.fit(xs, y > 0)
        w = clf.coef_[0] / std
        b = float(clf.intercept_[0] - (clf.coef_[0] * mean / std).sum())
        acc = None
        if mu_te is not None and len(mu_te):
            acc = float((((mu_te @ w + b) > 0) == (y_te[:, j] > 0)).mean())
        fit = _finish(name, "classifier", unit_vector(w), mu_tr, y, mu_te, None if y_te is None else y_te[:, j], acc, np.append(w, b).astype(np.float32))
        out[name] = fit
    return out


def fit_directions(method: str, mu_tr, y_tr, names, mu_te=None, y_te=None) -> dict[str, DirectionFit]:
    if method == "classifier":
        return logistic_fits(mu_tr, y_tr, names, mu_te, y_te)
    if method == "mean":
        return mean_difference_fits(mu_tr, y_tr, names, mu_te, y_te)
    raise ValueError(f"unknown method {method!r}; use {' or '.join(METHODS)}")


def logistic_classifiers(mu, labels, names) -> dict[str, np.ndarray]:
    """Just the linear read-outs (D+1 each), e.g. for the entanglement readout."""
    return {k: f.classifier for k, f in logistic_fits(mu, labels, names).items()}


def classifiers_of(ckpt) -> dict[str, np.ndarray]:
    """The logistic read-outs stored in a checkpoint (``extra["classifier.<name>"]``)."""
    p = "classifier."
    return {k[len(p) :]: v for k, v in ckpt.extra.items() if k.startswith(p)}


def store_fits(ckpt, fits: dict[str, DirectionFit], data: str = "", keep_other: bool = True) -> None:
    """Write directions, classifiers and metrics into ``ckpt`` (in memory)."""
    if not keep_other:
        ckpt.attributes.clear()
    metrics = dict(ckpt.info.get("attributes", {})) if keep_other else {}
    for name, fit in fits.items():
        ckpt.attributes[name] = fit.direction
        metrics[name] = {**fit.metrics(), "data": data}
        if fit.classifier is not None:
            ckpt.extra[f"classifier.{name}"] = fit.classifier
    ckpt.info["attributes"] = metrics


def compute_directions(
    checkpoint: str | os.PathLike,
    data: str,
    method: str = "classifier",
    out: str | os.PathLike | None = None,
    train_split: str = "train",
    test_split: str = "test",
    limit: int | None = None,
    device: str = "cpu",
    progress: bool = True,
    cache: bool = True,
) -> dict[str, Any]:
    """(Re)compute attribute directions of a checkpoint from a labelled data set and write them
    into it (``out`` or in place). Both methods are scored; ``method`` is the one stored. When
    the classifier is stored, the logistic read-outs go along (``extra.classifier.<name>``);
    with ``mean`` they are still stored, for the entanglement readout."""
    import engine
    from engine import checkpoint as ckpt_io
    from engine.semantics.encoded import encode_dataset

    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use {' or '.join(METHODS)}")
    model = engine.load_model(str(checkpoint), device=device)
    tr = encode_dataset(model, data, train_split, limit, progress, cache)
    te = encode_dataset(model, data, test_split, None, progress, cache)
    if tr.labels is None:
        raise ValueError(f"{data}: has no attribute labels")
    both = {m: fit_directions(m, tr.mu, tr.labels, tr.names, te.mu, te.labels) for m in METHODS}
    chosen = both[method]
    if not chosen:
        raise ValueError(f"{data}: no attribute has {MIN_PER_CLASS}+ examples on both sides")
    ckpt = ckpt_io.load(checkpoint)
    store_fits(ckpt, chosen, data=f"{data} ({train_split}: {len(tr)}, scored on {test_split}: {len(te)})")
    for name, fit in both["classifier"].items():
        ckpt.extra[f"classifier.{name}"] = fit.classifier
    target = Path(out or checkpoint)
    ckpt_io.save(ckpt, target)
    return {
        "checkpoint": str(target),
        "stored": method,
        "train": len(tr),
        "test": len(te),
        "attributes": {name: {m: both[m][name].metrics() for m in METHODS if name in both[m]} for name in chosen},
        "cosine_mean_vs_classifier": {
            n: round(float(unit_vector(both["mean"][n].direction) @ unit_vector(both["classifier"][n].direction)), 4) for n in chosen if n in both["mean"] and n in both["classifier"]
        },
    }


# --------------------------------------------------------------------------- export / import


def export_directions(checkpoint: str | os.PathLike, path: str | os.PathLike, names: list[str] | None = None) -> dict[str, Any]:
    """Write a checkpoint's attribute directions (and their classifiers and metrics) to a small
    standalone ``.safetensors`` file."""
    from engine import checkpoint as ckpt_io
    from engine.semantics.direction_files import model_fingerprint, write_directions

    ckpt = ckpt_io.load(checkpoint)
    names = names or sorted(ckpt.attributes)
    missing = [n for n in names if n not in ckpt.attributes]
    if missing:
        raise ValueError(f"the checkpoint has no direction {missing[0]!r} (it has: {', '.join(sorted(ckpt.attributes)) or 'none'})")
    if not names:
        raise ValueError("the checkpoint has no attribute directions to export")
    classifiers = classifiers_of(ckpt)
    aux = {f"classifier.{n}": classifiers[n] for n in names if n in classifiers}
    metrics = {n: ckpt.info.get("attributes", {}).get(n, {}) for n in names}
    write_directions(
        path, {n: ckpt.attributes[n] for n in names}, aux=aux, info={"attributes": metrics},
        model={"name": Path(checkpoint).stem, "fingerprint": model_fingerprint(ckpt)},
    )  # fmt: skip
    return {"out": str(path), "directions": names, "bytes": Path(path).stat().st_size}


def import_directions(
    checkpoint: str | os.PathLike, path: str | os.PathLike, out: str | os.PathLike | None = None, rename: dict[str, str] | None = None, replace: bool = True
) -> dict[str, Any]:
    """Add the directions of a file to a checkpoint (``out`` or in place). The latent size must
    match; a different model's fingerprint is reported (``same_model``) but allowed."""
    from engine import checkpoint as ckpt_io
    from engine.semantics.direction_files import model_fingerprint, read_directions

    ckpt = ckpt_io.load(checkpoint)
    dirs, meta, aux = read_directions(path, ckpt.latent_dim)
    rename = rename or {}
    added = []
    metrics = dict(ckpt.info.get("attributes", {}))
    for name, v in dirs.items():
        new = rename.get(name, name)
        if new in ckpt.attributes and not replace:
            raise ValueError(f"the checkpoint already has a direction {new!r}")
        ckpt.attributes[new] = v
        if f"classifier.{name}" in aux:
            ckpt.extra[f"classifier.{new}"] = aux[f"classifier.{name}"]
        m = meta.get("info", {}).get("attributes", {}).get(name)
        metrics[new] = {**(m or {}), "imported_from": Path(path).name}
        added.append(new)
    ckpt.info["attributes"] = metrics
    target = Path(out or checkpoint)
    ckpt_io.save(ckpt, target)
    fp = meta.get("model", {}).get("fingerprint")
    return {"checkpoint": str(target), "added": added, "same_model": None if fp is None else fp == model_fingerprint(ckpt)}
