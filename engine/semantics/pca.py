"""PCA directions of the aggregate posterior (the notes' PCA on the codes μ of a data set).

Stored in a checkpoint's ``extra`` arrays, one axis per row:

    ``extra["pca.axes"]``      K×D  unit principal axes, largest variance first
    ``extra["pca.variance"]``  K    the variance of μ along each axis (eigenvalues)
    ``extra["pca.mean"]``      D    the mean of μ (the centre of the decomposition)
    ``info["pca"]``            data description, N, total variance, explained-variance ratios

Sign convention: each axis is flipped so that its largest-magnitude entry is positive (a
deterministic sign; PCA alone does not fix one). For sliders and traversals an axis's σ unit is
``√variance`` along it, exact (no axis-aligned approximation needed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class PCAResult:
    axes: np.ndarray  # K×D, unit rows
    variance: np.ndarray  # K
    mean: np.ndarray  # D
    total_variance: float
    n: int = 0

    @property
    def explained_ratio(self) -> np.ndarray:
        return (self.variance / max(self.total_variance, 1e-12)).astype(np.float32)

    def axis(self, k: int) -> np.ndarray:
        """1 σ along principal axis k (0-based), as a latent offset."""
        return (self.axes[k] * np.sqrt(max(float(self.variance[k]), 0.0))).astype(np.float32)


def pca_directions(mu: np.ndarray, k: int | None = None) -> PCAResult:
    mu = np.asarray(mu, np.float64)
    if mu.ndim != 2 or len(mu) < 2:
        raise ValueError(f"PCA needs at least two latents shaped N×D, got {tuple(mu.shape)}")
    n, d = mu.shape
    k = min(int(k or d), d, n)
    if k < 1:
        raise ValueError("k must be positive")
    mean = mu.mean(0)
    x = mu - mean
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    var = s**2 / (n - 1)
    axes = vt[:k]
    signs = np.sign(axes[np.arange(k), np.abs(axes).argmax(1)])
    axes = axes * np.where(signs == 0, 1, signs)[:, None]
    return PCAResult(axes.astype(np.float32), var[:k].astype(np.float32), mean.astype(np.float32), float(var.sum()), n)


def store_pca(ckpt, result: PCAResult, data: str = "") -> None:
    ckpt.extra["pca.axes"] = result.axes
    ckpt.extra["pca.variance"] = result.variance
    ckpt.extra["pca.mean"] = result.mean
    ratio = result.explained_ratio
    ckpt.info["pca"] = {
        "data": data,
        "n": result.n,
        "k": int(len(result.variance)),
        "total_variance": round(result.total_variance, 6),
        "explained_variance_ratio": [round(float(v), 5) for v in ratio],
    }


def load_pca(ckpt) -> PCAResult | None:
    """The PCA stored in a checkpoint, or None."""
    e = ckpt.extra
    if "pca.axes" not in e or "pca.variance" not in e:
        return None
    axes = np.asarray(e["pca.axes"], np.float32)
    if axes.ndim == 1:  # tolerate a flattened K·D vector
        axes = axes.reshape(-1, ckpt.latent_dim)
    if axes.ndim != 2 or axes.shape[1] != ckpt.latent_dim:
        raise ValueError(f"pca.axes has shape {tuple(axes.shape)}, expected K×{ckpt.latent_dim}")
    var = np.asarray(e["pca.variance"], np.float32).reshape(-1)
    info = ckpt.info.get("pca", {})
    total = float(info.get("total_variance", var.sum()))
    return PCAResult(axes, var, np.asarray(e.get("pca.mean", np.zeros(ckpt.latent_dim)), np.float32), total, int(info.get("n", 0)))


def pca_axes(result: PCAResult, count: int | None = None) -> dict[str, np.ndarray]:
    """``{"pc1": 1σ offset, ...}`` for traversals and sliders."""
    k = len(result.variance) if count is None else min(int(count), len(result.variance))
    return {f"pc{i + 1}": result.axis(i) for i in range(k)}


def compute_pca(
    checkpoint: str | os.PathLike, data: str, split: str = "train", k: int | None = None, out: str | os.PathLike | None = None,
    limit: int | None = None, device: str = "cpu", progress: bool = True, cache: bool = True,
) -> dict[str, Any]:  # fmt: skip
    """PCA of μ over one split of ``data``, written into the checkpoint (``out`` or in place)."""
    import engine
    from engine import checkpoint as ckpt_io
    from engine.semantics.encoded import encode_dataset

    model = engine.load_model(str(checkpoint), device=device)
    enc = encode_dataset(model, data, split, limit, progress, cache)
    result = pca_directions(enc.mu, k)
    ckpt = ckpt_io.load(checkpoint)
    store_pca(ckpt, result, data=f"{data} ({split}: {len(enc)})")
    target = Path(out or checkpoint)
    ckpt_io.save(ckpt, target)
    ratio = result.explained_ratio
    cum = np.cumsum(ratio)
    return {
        "checkpoint": str(target),
        "n": len(enc),
        "k": int(len(ratio)),
        "explained_variance_ratio_top10": [round(float(v), 4) for v in ratio[:10]],
        "components_for_50_80_95_percent": [int(np.searchsorted(cum, q) + 1) for q in (0.5, 0.8, 0.95)],
    }
