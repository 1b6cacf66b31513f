"""Do attribute edits do what they say? Measured on held-out faces with a pixel judge
(``judge.py``) that never sees the latent directions.

For every attribute ``a`` and every direction variant (mean difference / classifier normal,
raw / orthogonalised against all other attributes):

1. the held-out faces are encoded (μ) and decoded: the *before* images (reconstructions, so
   that before and after differ only by the edit, not by the VAE's blur);
2. ``+strength σ`` along the direction is added (σ as on the editor's sliders:
   ``orthogonal.sigma_along``) and decoded: the *after* images;
3. the judge reads both. **success** = share judged positive after, among faces judged negative
   before; **other flipped** = share of (face, other attribute) pairs whose judged value changed;
   **identity** = distance between before and after (``identity.py``: dlib descriptors, or the
   stated pixel alternative).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from engine.semantics.orthogonal import (
    conditional_direction,
    conditional_directions,
    edit_vector,
    lock_vectors,
    project_out,
    sigma_along,
    stored_lock_vectors,
)


def decode_all(model, z: np.ndarray, batch_size: int = 256) -> np.ndarray:
    return np.concatenate([model.decode(z[i : i + batch_size]) for i in range(0, len(z), batch_size)])


def direction_variants(
    fits_by_method: dict[str, dict[str, np.ndarray]], classifiers: dict[str, np.ndarray] | None = None, orthogonalise: bool = True,
    readouts: dict[str, np.ndarray] | None = None,
) -> dict[str, dict[str, np.ndarray]]:  # fmt: skip
    """{"mean": dirs, "classifier": dirs} → {"mean raw", "mean ⊥others", "classifier raw", ...}.
    ⊥others: each direction with every other attribute locked (its classifier normal projected
    out when ``classifiers`` has it, else its direction of the same method) — the editor's lock.
    With ``readouts`` (per attribute a second vector to keep fixed, e.g. :func:`judge_readouts`)
    also "⊥others+judge": both the classifier normal and that vector of every other attribute
    projected out."""
    out = {}
    for method, dirs in fits_by_method.items():
        out[f"{method} raw"] = dirs
        if orthogonalise and len(dirs) > 1:
            locks = lock_vectors(dirs, classifiers)
            out[f"{method} ⊥others"] = conditional_directions(dirs, locks=locks)
            if readouts is not None:  # an attribute the judge never (or always) says has no read-out: its classifier normal alone
                out[f"{method} ⊥others+judge"] = {
                    a: project_out(d, [v for b in dirs if b != a for v in (locks[b], readouts.get(b)) if v is not None])
                    for a, d in dirs.items()
                }  # fmt: skip
    return out


def stored_variants(model, names) -> dict[str, dict[str, np.ndarray]]:
    """The checkpoint's own directions of ``names``, raw and locked as the editor locks them: every
    other stored attribute's read-out (its classifier normal, else its direction) held fixed —
    the landmark attributes' too, which the ⊥others of fitted directions cannot know about."""
    dirs = {n: np.asarray(v, np.float32) for n, v in model.attributes.items()}
    mine = [n for n in names if n in dirs]
    if not mine:
        raise ValueError(f"{model.name}: no stored direction for {', '.join(names)}")
    locks = stored_lock_vectors(model)
    return {"stored raw": {n: dirs[n] for n in mine}, "stored ⊥all": {n: conditional_direction(dirs, n, dirs, locks) for n in mine}}


def judge_readouts(model, judge, mu: np.ndarray, batch_size: int = 256) -> dict[str, np.ndarray]:
    """The judge's linear read-out of each attribute in latent space: a logistic regression of what
    the judge says about the *reconstructions* of ``mu`` (decoded, then judged) on ``mu``; its
    normal (D floats, latent units) is the direction along which the pixel judge's verdict on that
    attribute changes, across faces. Fit it on the training split only."""
    from engine.semantics.classifier_directions import logistic_fits

    judged = np.concatenate([judge.judge(model.decode(mu[i : i + batch_size])) for i in range(0, len(mu), batch_size)])
    fits = logistic_fits(np.asarray(mu, np.float32), np.where(judged, 1, -1), list(judge.names))
    return {n: np.asarray(f.classifier[:-1], np.float32) for n, f in fits.items()}


def evaluate_edits(
    model, judge, mu: np.ndarray, variants: dict[str, dict[str, np.ndarray]], strength: float = 2.0, identity=None,
    identity_n: int = 200, log: Callable[[str], None] = lambda s: None, controls: int = 3, seed: int = 0,
) -> dict[str, Any]:  # fmt: skip
    """The table of the module doc, one row per (variant, attribute). ``controls``: that many
    random directions, edited the same way, give the noise floor of "other flipped" (how often the
    judge changes its mind when the image changes by an edit of this size about nothing in particular)."""
    std = model.latent_stats.std
    before = decode_all(model, mu)
    judged_before = judge.judge(before)
    names = judge.names
    id_n = min(identity_n, len(mu))
    rows = []
    reference = {}
    if identity is not None and id_n >= 2:
        # scale of the identity measure: two different faces, and the same decode twice (0)
        shuffled = np.roll(np.arange(id_n), 1)
        reference["different_faces"] = round(float(identity.distances(before[:id_n], before[shuffled]).mean()), 4)
    for variant, dirs in variants.items():
        for a, direction in dirs.items():
            if a not in names:
                continue
            j = names.index(a)
            after = decode_all(model, mu + edit_vector(direction, std, strength)[None])
            judged_after = judge.judge(after)
            neg = ~judged_before[:, j]
            others = [k for k in range(len(names)) if k != j]
            flips = {names[k]: float((judged_after[:, k] != judged_before[:, k]).mean()) for k in others}
            row = {
                "attribute": a,
                "variant": variant,
                "success": float(judged_after[neg, j].mean()) if neg.any() else None,
                "n_negative_before": int(neg.sum()),
                "other_flipped": float(np.mean(list(flips.values()))) if flips else 0.0,
                "flipped": {k: round(v, 4) for k, v in flips.items()},
                "pixel_change": float(np.abs(after.astype(np.float32) - before.astype(np.float32)).mean()),
                "sigma": sigma_along(direction, std),
            }
            rows.append({**row, **_identity(identity, before, after, id_n)})
            log(f"{variant:>16} {a:>12}: success {row['success'] if row['success'] is None else round(row['success'], 3)}, other flipped {row['other_flipped']:.3f}")
    rng = np.random.default_rng(seed)
    for c in range(controls):
        direction = rng.standard_normal(mu.shape[1]).astype(np.float32)
        after = decode_all(model, mu + edit_vector(direction, std, strength)[None])
        judged_after = judge.judge(after)
        flips = {n: float((judged_after[:, k] != judged_before[:, k]).mean()) for k, n in enumerate(names)}
        row = {
            "attribute": "(random)", "variant": f"control {c + 1}", "success": None, "n_negative_before": 0,
            "other_flipped": float(np.mean(list(flips.values()))), "flipped": {k: round(v, 4) for k, v in flips.items()},
            "pixel_change": float(np.abs(after.astype(np.float32) - before.astype(np.float32)).mean()), "sigma": sigma_along(direction, std),
        }  # fmt: skip
        rows.append({**row, **_identity(identity, before, after, id_n)})
        log(f"{row['variant']:>16}: flipped {row['other_flipped']:.3f} ({row['flipped']})")
    return {
        "strength_sigma": strength,
        "faces": int(len(mu)),
        "judged_positive_before": {n: round(float(judged_before[:, k].mean()), 4) for k, n in enumerate(names)},
        "identity_metric": None if identity is None else identity.name,
        "identity_faces": id_n if identity is not None else 0,
        "identity_reference": reference,
        "rows": rows,
    }


def markdown_table(result: dict[str, Any]) -> str:
    has_id = any("identity" in r for r in result["rows"])
    has_same = any("same_person" in r for r in result["rows"])
    head = "| attribute | direction | success | other attributes flipped | Δ pixels |" + (" identity dist. |" if has_id else "") + (" same person |" if has_same else "")
    sep = "|---|---|---:|---:|---:|" + ("---:|" if has_id else "") + ("---:|" if has_same else "")
    lines = [head, sep]
    pct = lambda v: "–" if v is None else f"{100 * v:.1f} %"  # noqa: E731
    for r in sorted(result["rows"], key=lambda r: (r["attribute"] == "(random)", r["attribute"], r["variant"])):
        flips = ", ".join(f"{k} {100 * v:.1f} %" for k, v in r["flipped"].items())
        line = f"| {r['attribute']} | {r['variant']} | {pct(r['success'])} (of {r['n_negative_before']}) | {pct(r['other_flipped'])} ({flips}) | {r['pixel_change']:.1f} |"
        if has_id:
            line += f" {r.get('identity', float('nan')):.3f} |"
        if has_same:
            line += f" {pct(r.get('same_person'))} |"
        lines.append(line)
    return "\n".join(lines)


def _identity(identity, before: np.ndarray, after: np.ndarray, n: int) -> dict[str, float]:
    """Mean identity distance between the first ``n`` faces before and after an edit, and with
    dlib descriptors the share judged the same person."""
    if identity is None or not n:
        return {}
    d = identity.distances(before[:n], after[:n])
    out = {"identity": float(d.mean())}
    if getattr(identity, "kind", "") == "dlib":
        from engine.semantics.identity import DLIB_SAME_PERSON

        out["same_person"] = float((d < DLIB_SAME_PERSON).mean())
    return out
