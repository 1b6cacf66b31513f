"""Less entangled edits: conditional directions and the entanglement readout.

**Conditional direction** (InterFaceGAN's conditional manipulation): to move attribute A while
keeping B, C fixed, remove from A's direction its components along the *locked* vectors,
``d' = d − Q Qᵀ d`` with Q an orthonormal basis of span(locked). Then a step along d' does not
change the projection of the latent on any locked vector. What is locked is, per attribute, its
**linear classifier's normal** ``w_B`` when one is known (``lock_vectors``; then the classifier's
logit ``w_B·z + b`` — the model's linear read-out of B — provably stays where it was), else B's
direction itself. d' is the orthogonal projection of the original (gap-scaled) vector, so its
length is the part of A's class gap that is left.

**Entanglement readout**: the cosine matrix between directions, and how far an edit along one
direction moves every attribute's linear classifier: ``Δlogit[a, b] = w_b · (s σ_a u_a)`` for
an edit of ``s`` σ along ``a``; with latents at hand also the share of them whose classifier
decision on ``b`` flips. Rows are the edited attribute, columns the attribute read out.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np


def _unit(v: np.ndarray) -> np.ndarray:
    return np.asarray(v, np.float64) / max(float(np.linalg.norm(v)), 1e-12)


def project_out(direction: np.ndarray, locked: Sequence[np.ndarray]) -> np.ndarray:
    """``direction`` with every component in the span of ``locked`` removed (float32)."""
    d = np.asarray(direction, np.float64)
    locked = [np.asarray(v, np.float64) for v in locked if np.linalg.norm(v) > 1e-12]
    if not locked:
        return d.astype(np.float32)
    q, r = np.linalg.qr(np.stack(locked, 1))  # D×k
    keep = np.abs(np.diag(r)) > 1e-9 * max(1.0, float(np.abs(r).max()))  # drop linearly dependent columns
    q = q[:, keep]
    return (d - q @ (q.T @ d)).astype(np.float32)


def lock_vectors(directions: dict[str, np.ndarray], classifiers: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """What locking each attribute keeps fixed: its classifier normal (the D weights of a stored
    D+1 read-out) where known, else its direction."""
    classifiers = classifiers or {}
    out = {n: np.asarray(classifiers[n][:-1], np.float32) for n in classifiers}
    for n, d in directions.items():
        out.setdefault(n, np.asarray(d, np.float32))
    return out


def stored_lock_vectors(model) -> dict[str, np.ndarray]:
    """What the editor's locks keep fixed for each of ``model``'s stored attributes: the classifier
    normal its checkpoint stores, else the direction (:func:`lock_vectors`)."""
    from engine.semantics.classifier_directions import classifiers_of

    directions = dict(model.attributes)
    return lock_vectors(directions, {n: w for n, w in classifiers_of(model.ckpt).items() if n in directions})


def conditional_direction(directions: dict[str, np.ndarray], target: str, locked: Iterable[str], locks: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """The direction of ``target`` with the ``locked`` attributes projected out; ``locks`` gives
    the vector to keep fixed per attribute (see :func:`lock_vectors`; default: the directions)."""
    if target not in directions:
        raise ValueError(f"no direction {target!r} (have: {', '.join(sorted(directions))})")
    locks = directions if locks is None else locks
    locked = [n for n in locked if n != target]
    unknown = [n for n in locked if n not in locks]
    if unknown:
        raise ValueError(f"cannot lock {unknown[0]!r}: no such direction")
    return project_out(directions[target], [locks[n] for n in locked])


def lock_costs(directions: dict[str, np.ndarray], target: str, locked: Iterable[str], locks: dict[str, np.ndarray] | None = None,
               floor: float = 0.995) -> tuple[tuple[str, float], ...]:  # fmt: skip
    """What each lock alone costs ``target``: (locked name, the share of the direction's length left
    with only that lock) for the locks that leave less than ``floor``, the most costly first. Which
    lock to release for a longer edit (a lock of a correlated attribute takes most of a direction;
    the joint share left is not the product of these)."""
    locks = directions if locks is None else locks
    d = np.asarray(directions[target], np.float64)
    norm = max(float(np.linalg.norm(d)), 1e-12)
    costs = [(n, float(np.linalg.norm(project_out(d, [locks[n]])) / norm)) for n in dict.fromkeys(locked) if n != target and n in locks]
    return tuple(sorted(((n, k) for n, k in costs if k < floor), key=lambda c: c[1]))


def conditional_directions(directions: dict[str, np.ndarray], locked: Iterable[str] | None = None, locks: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Every direction made orthogonal to the ``locked`` ones (default: to all the others)."""
    locks = directions if locks is None else locks
    locked = [n for n in (locks if locked is None else locked)]
    return {n: conditional_direction(directions, n, locked, locks) for n in directions}


def cosine_matrix(directions: dict[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    names = list(directions)
    u = np.stack([_unit(directions[n]) for n in names]) if names else np.zeros((0, 0))
    return names, (u @ u.T).astype(np.float32)


def sigma_along(direction: np.ndarray, std: np.ndarray) -> float:
    """The data's σ along ``direction`` with the aggregate posterior taken as axis-aligned:
    √(Σ u_d² std_d²) — the same unit as ``traverse.attribute_axis`` and the editor's sliders."""
    u = _unit(direction)
    return float(np.sqrt(np.sum(u**2 * np.asarray(std, np.float64) ** 2)))


def edit_vector(direction: np.ndarray, std: np.ndarray, strength: float) -> np.ndarray:
    """``strength`` σ along ``direction`` as a latent offset."""
    return (_unit(direction) * sigma_along(direction, std) * float(strength)).astype(np.float32)


def logit_shifts(directions: dict[str, np.ndarray], classifiers: dict[str, np.ndarray], std: np.ndarray, strength: float = 1.0) -> tuple[list[str], list[str], np.ndarray]:
    """Δlogit[a, b] of classifier b for a ``strength``-σ edit along a (rows: edits, columns: read-outs)."""
    rows, cols = list(directions), [n for n in classifiers]
    m = np.zeros((len(rows), len(cols)), np.float32)
    for i, a in enumerate(rows):
        step = edit_vector(directions[a], std, strength)
        for j, b in enumerate(cols):
            m[i, j] = float(np.asarray(classifiers[b][:-1]) @ step)
    return rows, cols, m


def classifier_flip_rates(directions, classifiers, mu: np.ndarray, std: np.ndarray, strength: float = 2.0) -> tuple[list[str], list[str], np.ndarray]:
    """Share of the latents ``mu`` whose classifier-b decision flips after a ``strength``-σ edit along a."""
    rows, cols = list(directions), list(classifiers)
    m = np.zeros((len(rows), len(cols)), np.float32)
    for j, b in enumerate(cols):
        w, bias = np.asarray(classifiers[b][:-1], np.float64), float(classifiers[b][-1])
        before = mu @ w + bias > 0
        for i, a in enumerate(rows):
            after = (mu + edit_vector(directions[a], std, strength)) @ w + bias > 0
            m[i, j] = float((after != before).mean())
    return rows, cols, m


def entanglement_report(directions, classifiers=None, std=None, mu=None, strength: float = 2.0, locked: Iterable[str] | None = None) -> dict:
    """Cosines, and with classifiers Δlogit per σ and flip rates, for raw and conditional directions."""
    def as_table(rows, cols, m):
        return {r: {c: round(float(m[i, j]), 4) for j, c in enumerate(cols)} for i, r in enumerate(rows)}

    names, cos = cosine_matrix(directions)
    report = {"cosine": as_table(names, names, cos)}
    if classifiers and std is not None:
        variants = {"raw": directions, "orthogonalised": conditional_directions(directions, locked, lock_vectors(directions, classifiers))}
        for label, dirs in variants.items():
            report[f"logit_shift_per_sigma_{label}"] = as_table(*logit_shifts(dirs, classifiers, std, 1.0))
            if mu is not None:
                report[f"classifier_flips_at_{strength:g}sigma_{label}"] = as_table(*classifier_flip_rates(dirs, classifiers, mu, std, strength))
    return report
