"""Per-photo σ calibration of a fitted model: how much farther an attribute step (or a label flip)
must go on the fitted decoder for an edit to change the face as much as it did on the unfitted
one (the fit stiffens the decoder around the pivot). Used by :mod:`engine.fit` after a fit and by
:class:`engine.photo.PhotoEdit` when it applies an edit."""

from __future__ import annotations

from dataclasses import replace

import numpy as np


def attribute_step(model, name: str, amount: float) -> np.ndarray:
    """The latent offset of ``amount`` σ along a named direction (as the sliders move it)."""
    from engine.protocol import AttributeStep, EditStack

    zero = np.zeros(model.latent_dim, np.float32)
    return EditStack(ops=(AttributeStep(name=name, amount=amount),)).apply(zero, model.latent_stats.std, model.attributes)


def edit_gains(model, fitted, z: np.ndarray, labels: dict[str, float] | None = None, amount: float = 3.0, *,
               mask: np.ndarray) -> dict[str, float]:
    """Per-photo σ calibration: for each attribute direction and each sign (``NAME+``, ``NAME-``),
    how much farther the fitted model must move for a ±``amount``σ edit to change the face
    (inside the face mask) as much as it changed the unfitted model's decode of the pivot. The
    fit stiffens the decoder around the pivot (measured on real portraits: the same step changes
    the fitted decode 0.48–0.77× as much without FitConfig.attribute_change_weight, 0.90–0.98× with it) and not evenly in both directions; the gain gives the
    slider its old reach. One secant correction, clipped to 1..3. ``mask``: S×S, where the change
    is measured (the photo's face mask)."""
    mask = np.asarray(mask, np.float32)[None, :, :, None]
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
