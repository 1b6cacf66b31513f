"""The landmark judge: do the geometric attribute edits move the face the way they say, read by
dlib's 68 landmarks on the *edited pixels* (``engine.data.landmarks``) — a judge that never
sees a latent (``latent-studio eval-edits --landmarks``).

For each measure ``a`` with a direction and each direction variant: held-out faces (μ) are
decoded at ``+strength σ`` and at ``−strength σ`` along the direction (σ as on the editor's
sliders) and every measure is read on both images. Faces where dlib misses either image are
left out (counted). Per row:

* **right way** — share of faces whose own measure is larger at +strength than at −strength;
* **own move** — mean (+ minus −) of the own measure, in s.d. of the data's labels (the
  training faces' measure);
* **other moves** — the same mean change of every other measure, in its s.d. (signed);
  ``worst_other`` is the largest in size among the geometric ones;
* **identity** (with dlib) — descriptor distance between the +strength and −strength images
  and the share under dlib's same-person threshold 0.6.

``Age`` (``engine.data.age``) is judged the same way by its own labeller, the age network on the
same HOG box, in years over the training faces' s.d.; it counts among the others' moves but not
in ``worst_other`` (geometric measures only). A conditional model decodes each face with its own
labels (``labels``: the ones its encoder estimated, as the editor keeps a photo's), not the prior.

Random directions edited the same way (``controls``) give the noise floor of the moves.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from engine.data.age import LABELS, measure_labels
from engine.data.landmarks import GEOMETRIC
from engine.semantics.orthogonal import edit_vector, sigma_along


def decode_rows(model, z: np.ndarray, labels: np.ndarray | None = None, batch_size: int = 256) -> np.ndarray:
    """Decode ``z``; with ``labels`` (N×L label vectors of a conditional model) each row with its own."""
    if labels is None:
        return np.concatenate([model.decode(z[i : i + batch_size]) for i in range(0, len(z), batch_size)])
    import torch

    out = []
    with torch.inference_mode():
        for i in range(0, len(z), batch_size):
            y = torch.from_numpy(np.ascontiguousarray(labels[i : i + batch_size], np.float32)).to(model.device)
            out.append(model.to_images(model.decode_tensor(model.latent_tensor(z[i : i + batch_size]), y)))
    return np.concatenate(out)


def estimated_labels(model, spec: str, split: str, limit: int | None, progress: bool = False, batch_size: int = 256) -> np.ndarray | None:
    """A conditional model's label estimates (N×L) for one split, as its encoder made them with μ
    (``model.encode_tensor``); None for an unconditional model."""
    if not model.labels:
        return None
    import torch

    from engine.data.datasets import load_dataset

    data = load_dataset(spec, model.image_size, model.channels, split, progress=progress)
    if limit:
        data = data.subset(np.arange(min(int(limit), len(data))))
    out = []
    with torch.inference_mode():
        for i in range(0, len(data), batch_size):
            x = data.images[i : i + batch_size].to(model.device).float().div_(255.0)
            out.append(model.encode_tensor(x)[1].float().cpu().numpy())
    return np.concatenate(out)


def _row(attribute: str, variant: str, plus: np.ndarray, minus: np.ndarray, sd: dict[str, float], identity, id_n: int) -> dict[str, Any]:
    mp, mm = measure_labels(plus), measure_labels(minus)
    geo = [LABELS.index(m) for m in GEOMETRIC]
    ok = np.isfinite(mp[:, geo]).all(1) & np.isfinite(mm[:, geo]).all(1)
    delta = (mp - mm)[ok]
    moves = {m: (round(float(np.nanmean(delta[:, k]) / sd[m]), 4) if ok.any() and sd.get(m) else None) for k, m in enumerate(LABELS)}
    row: dict[str, Any] = {"attribute": attribute, "variant": variant, "faces": int(len(plus)), "measured": int(ok.sum()),
                           "missed": round(1.0 - float(ok.mean()), 4) if len(ok) else None}
    if attribute in LABELS:
        j = LABELS.index(attribute)
        own = delta[:, j][np.isfinite(delta[:, j])]
        row["right_way"] = round(float((own > 0).mean()), 4) if len(own) else None
        row["own_move_sd"] = moves[attribute]
        others = {m: v for m, v in moves.items() if m != attribute}
    else:
        row["right_way"], row["own_move_sd"], others = None, None, dict(moves)
    row["other_moves_sd"] = others
    geo_others = [abs(v) for m, v in others.items() if m in GEOMETRIC and v is not None]
    row["worst_other_sd"] = round(max(geo_others), 4) if geo_others else None
    if identity is not None and id_n:
        d = identity.distances(plus[:id_n], minus[:id_n])
        row["identity"] = round(float(d.mean()), 4)
        if getattr(identity, "kind", "") == "dlib":
            from engine.semantics.identity import DLIB_SAME_PERSON

            row["same_person"] = round(float((d < DLIB_SAME_PERSON).mean()), 4)
    return row


def stored_landmark_variants(model) -> dict[str, dict[str, np.ndarray]]:
    """The checkpoint's own landmark and Age directions, "stored raw" and "stored ⊥others" (each
    with the other stored labels' read-outs locked, as ``eval-edits --landmarks --stored`` judges them)."""
    from engine.semantics.classifier_directions import classifiers_of
    from engine.semantics.edit_eval import direction_variants

    stored = {n: np.asarray(model.attributes[n], np.float32) for n in LABELS if n in model.attributes}
    if not stored:
        raise ValueError(f"{model.name}: no stored direction for {', '.join(LABELS)} (run measure-directions first)")
    readouts = {n: v for n, v in classifiers_of(model.ckpt).items() if n in stored}
    return direction_variants({"stored": stored}, readouts)


def evaluate_landmark_edits(
    model, mu: np.ndarray, variants: dict[str, dict[str, np.ndarray]], sd: dict[str, float], strength: float = 2.0,
    identity=None, identity_n: int = 200, controls: int = 1, seed: int = 0, log: Callable[[str], None] = lambda s: None,
    labels: np.ndarray | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The table of the module doc, one row per (variant, label with a direction in it);
    ``labels``: a conditional model's per-face label vectors to decode with."""
    std = model.latent_stats.std
    id_n = min(identity_n, len(mu)) if identity is not None else 0
    rows = []
    for variant, dirs in variants.items():
        for a, d in dirs.items():
            if a not in LABELS:
                continue
            step = edit_vector(d, std, strength)
            row = _row(a, variant, decode_rows(model, mu + step[None], labels), decode_rows(model, mu - step[None], labels), sd, identity, id_n)
            row["sigma"] = sigma_along(d, std)
            rows.append(row)
            log(f"{variant:>14} {a:>14}: right way {row['right_way']}, own {row['own_move_sd']} s.d., worst other {row['worst_other_sd']} s.d.")
    rng = np.random.default_rng(seed)
    for c in range(controls):
        step = edit_vector(rng.standard_normal(mu.shape[1]).astype(np.float32), std, strength)
        plus, minus = decode_rows(model, mu + step[None], labels), decode_rows(model, mu - step[None], labels)
        rows.append(_row("(random)", f"control {c + 1}", plus, minus, sd, identity, id_n))
        log(f"{rows[-1]['variant']:>14}: moves {rows[-1]['other_moves_sd']}")
    return {"strength_sigma": strength, "faces": int(len(mu)), "identity_faces": id_n, "data_sd": sd,
            "identity_metric": None if identity is None else identity.name, "rows": rows}


def markdown_table(result: dict[str, Any]) -> str:
    """One line per row: right way, own move, each other measure's move (s.d.), identity."""
    s = result["strength_sigma"]
    has_id = any("same_person" in r for r in result["rows"])
    head = (f"| edit (±{s:g}σ) | direction | faces measured | right way | own move | other measures' moves (s.d.) | worst other |"
            + (" same person (dlib) |" if has_id else ""))
    lines = [head, "|---|---|---:|---:|---:|---|---:|" + ("---:|" if has_id else "")]
    f = lambda v, fmt: "–" if v is None else format(v, fmt)  # noqa: E731
    for r in result["rows"]:
        others = ", ".join(f"{m} {f(v, '+.2f')}" for m, v in r["other_moves_sd"].items())
        pct = "–" if r["right_way"] is None else f"{100 * r['right_way']:.1f} %"
        line = (f"| {r['attribute']} | {r['variant']} | {r['measured']} of {r['faces']} | {pct} | {f(r['own_move_sd'], '+.2f')} s.d. "
                f"| {others} | {f(r['worst_other_sd'], '.2f')} |")
        if has_id:
            same = r.get("same_person")
            line += " – |" if same is None else f" {100 * same:.0f} % |"
        lines.append(line)
    return "\n".join(lines)
