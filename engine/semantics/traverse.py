"""Latent traversals: decode a base latent moved along one axis at a time, from −span σ to +span σ.

An axis is a direction in latent space with its own σ unit: for a latent dimension, e_d·std_d;
for a named attribute direction a, the unit vector u = a/‖a‖ scaled by the spread of the data
along it, σ_u = √(Σ_d u_d² std_d²) (treating the aggregate posterior as axis-aligned); for a
principal axis of the aggregate posterior (``pca.py``, stored in the checkpoint's extras), the
unit axis times the exact σ along it, √variance.
"""

from __future__ import annotations

import numpy as np

from engine.data.grids import make_grid


def dimension_axes(std: np.ndarray, dims) -> dict[str, np.ndarray]:
    axes = {}
    for d in dims:
        v = np.zeros_like(std)
        v[d] = std[d]
        axes[f"z{d}"] = v
    return axes


def attribute_axis(direction: np.ndarray, std: np.ndarray) -> np.ndarray:
    """One σ of the data along ``direction``."""
    u = direction / max(float(np.linalg.norm(direction)), 1e-12)
    return (u * np.sqrt(float(np.sum(u**2 * std**2)))).astype(np.float32)


def traversal_latents(base: np.ndarray, axis: np.ndarray, steps: int = 9, span: float = 3.0) -> np.ndarray:
    """steps×D latents: base + t·axis for t in linspace(−span, span)."""
    t = np.linspace(-span, span, steps, dtype=np.float32)[:, None]
    return (base[None, :] + t * axis[None, :]).astype(np.float32)


def traversal_grid(model, axes: dict[str, np.ndarray], base: np.ndarray, steps: int = 9, span: float = 3.0) -> np.ndarray:
    """One row per axis; returns the grid image (uint8)."""
    rows = [model.decode(traversal_latents(base, axis, steps, span)) for axis in axes.values()]
    return make_grid(np.concatenate(rows), ncol=steps)


AXES = ("dims", "pca", "attributes")


def choose_axes(model, kind: str, count: int = 8) -> dict[str, np.ndarray]:
    """``dims``: the ``count`` most informative dimensions; ``pca``: the ``count`` leading
    principal axes stored in the checkpoint (``latent-studio pca``); ``attributes``: every
    named direction."""
    stats = model.latent_stats
    if kind == "dims":
        return dimension_axes(stats.std, stats.order_by_information()[:count])
    if kind == "attributes":
        if not model.attributes:
            raise ValueError("this model has no attribute directions")
        return {name: attribute_axis(a, stats.std) for name, a in sorted(model.attributes.items())}
    if kind == "pca":
        from engine.semantics.pca import load_pca, pca_axes

        ckpt = getattr(model, "ckpt", None)
        result = load_pca(ckpt) if ckpt is not None else None
        if result is None:
            raise ValueError("this model has no PCA axes; compute them with: latent-studio pca CKPT --data faces:DIR (or traverse --data)")
        return pca_axes(result, count)
    raise ValueError(f"unknown axes {kind!r}; use dims, pca or attributes")
