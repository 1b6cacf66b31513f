"""Landmark gain of geometric edits on real portraits: how far must a fitted model's attribute step
go for the edit to move its own landmark measure as much as it does on the built-in faces?

For each photo (fitted with engine.fit.fit_photo, default FitConfig; fits cached under --cache) and
each geometric attribute (Smiling, MouthOpen, EyesOpen, HeadYaw, HeadRoll), dlib's landmark measures
(engine.data.landmarks) are read on the fitted model's 64-px decodes of the pivot moved −2σ and +2σ
*with today's per-photo pixel gain* (engine.fit_gains.edit_gains, recomputed), swept over multipliers
k of that step, and on the unfitted model's decodes of the plain step. The target is the
in-distribution move: ``landmark-eval-test500.json``'s locked rows (⊥others; own move between −2σ
and +2σ in s.d. of the face set's labels), half of it per sign. The landmark gain is
engine.fit_landmarks.landmark_gains (one ratio at k = 1):

    L = clip(target_per_sign / measured_move, 1, --lmax),  combined gain = min(pixel gain · L, --cap)

(wrong way, no move or no face: the pixel gain stays). Then the full-resolution composites
(PhotoEdit.render, as the editor exports) are rendered at ±2σ with today's gains and with the
combined ones, and re-measured against the unedited photo: own move, right way, worst other
geometric move, dlib identity distance (same person < 0.6), sharpness in the face ellipse, and
flow_composite.min_jacobian of the warp (≤ 0: it folds). Pictures (--pictures): per photo, rows
Smiling, MouthOpen, HeadYaw at −2σ and +2σ; columns original, today, landmark gain; 100 %.

    OMP_NUM_THREADS=1 nice -n 5 .venv/bin/python scripts/eval_landmark_gain.py \
        --json docs/semantics/landmark-gain-real.json --pictures docs/semantics
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

GEO = ("Smiling", "MouthOpen", "EyesOpen", "HeadYaw", "HeadRoll")
SWEEP = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
AMOUNT = 2.0


def targets(path: str, variant: str) -> tuple[dict[str, float], dict[str, float]]:
    """({attribute: own move between −2σ and +2σ, s.d.}, {measure: s.d. of the face set's labels})."""
    d = json.loads(Path(path).read_text())
    rows = {r["attribute"]: r["own_move_sd"] for r in d["rows"] if r["variant"] == variant}
    return rows, d["data_sd"]


def moves(m, ref, sd) -> dict[str, float] | None:
    if m is None or ref is None:
        return None
    return {k: round(float((m[k] - ref[k]) / sd[k]), 3) for k in GEO}


def main(argv=None) -> int:
    import torch

    import engine
    from dataclasses import replace

    from eval_fit_judge import config_fields, fitted_photo
    from eval_geometric_edits import hf_energy
    from portraits import portraits

    from engine.fit import FitConfig
    from engine.photo import open_photo

    from engine import flow_composite as fc

    from engine import step_parts as sp
    from engine.data.landmarks import measure_image
    from engine.fit_gains import attribute_step, edit_gains
    from engine.fit_landmarks import CAP, LMAX, landmark_gains
    from engine.photo import face_mask
    from engine.protocol import AttributeStep, EditStack
    from engine.protocol.files import atomic_write
    from engine.semantics.identity import DlibIdentity

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", default="portrait,astronaut,grace_hopper")
    ap.add_argument("--model", default="default")
    ap.add_argument("--targets", default="docs/semantics/landmark-eval-test500.json")
    ap.add_argument("--variant", default="regression ⊥others", help="which rows of --targets (the locked ones by default)")
    ap.add_argument("--lmax", type=float, default=LMAX, help="the most one landmark ratio L may raise a gain (engine.fit_landmarks.LMAX)")
    ap.add_argument("--cap", type=float, default=CAP, help="the largest combined gain, pixel gain × L (engine.fit_landmarks.CAP)")
    ap.add_argument("--cache", default="/tmp/latent-studio-fit-cache")
    ap.add_argument("--fit", action="append", default=[], metavar="KEY=VALUE",
                    help="a FitConfig field other than its default, e.g. attribute_change_weight=0 (eval_fit_judge.config_fields)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--pictures", default=None)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    target, sd = targets(a.targets, a.variant)
    config = {"threads": a.threads, **config_fields(",".join(a.fit))}  # the fit's threads too: a fit differs across counts
    ident = DlibIdentity(upscale=2)
    model = engine.load_model(a.model, device="cpu")
    names = [n for n in GEO if n in model.attributes]
    out = {"model": a.model, "fit": f"FitConfig({', '.join(a.fit)})", "amount_sigma": AMOUNT, "targets": {"file": a.targets, "variant": a.variant,
           "own_move_sd_pm2": target}, "data_sd": sd, "lmax": a.lmax, "cap": a.cap, "photos": {}}  # fmt: skip
    pics = {}
    for pname, photo in portraits(a.photos.split(",")).items():
        tag = "".join(f"-{k}={v}" for k, v in sorted(config.items()))  # the fit is kept as tensors + JSON, never pickled
        pe = fitted_photo(open_photo(model, photo), FitConfig(**config), Path(a.cache), f"{pname}-{model.name}{tag}")[0]
        z = pe.z
        lab = pe.labels or None
        # today's pixel gains, recomputed (a fit made with engine.fit_landmarks hooked in stores the combined ones)
        gains = edit_gains(pe.unfitted, pe.model, z, pe.labels, mask=face_mask(model.image_size))
        t0 = time.perf_counter()
        cal = landmark_gains(pe.model, z, pe.labels, gains, cap=a.cap, lmax=a.lmax)
        seconds = time.perf_counter() - t0
        lg = {k: round(cal[k] / gains[k], 3) for k in gains if k[:-1] in names}
        base_dec = measure_image(pe.reconstruction)
        base_unf = measure_image(pe.unfitted.decode(z[None], labels=lab)[0])
        rec: dict = {"gains": gains, "landmark_gains_seconds": round(seconds, 3), "decode": {}, "composite": {}}
        for n in names:
            for s in (1, -1):
                key = f"{n}{'+' if s > 0 else '-'}"
                g = gains.get(key, 1.0)
                step = attribute_step(model, n, s * AMOUNT)
                zs = np.stack([z + k * g * step for k in SWEEP] + [z + step]).astype(np.float32)
                dec = pe.model.decode(zs[:-1], labels=lab)
                unf = pe.unfitted.decode(zs[-1:], labels=lab)[0]
                sweep = {str(k): moves(measure_image(d), base_dec, sd) for k, d in zip(SWEEP, dec)}
                mu = moves(measure_image(unf), base_unf, sd)
                want = target[n] / 2
                L = lg[key]
                rec["decode"][key] = {"gain": g, "target_sd": round(want, 3), "sweep": sweep, "unfitted_no_gain": mu, "L": L}
                print(f"{pname} {key:11s} g {g:.2f} want {want:.2f} decode own "
                      + " ".join(f"k{k}:{'-' if v is None else f'{s * v[n]:+.2f}'}" for k, v in sweep.items())
                      + f" unfitted {'-' if mu is None else f'{s * mu[n]:+.2f}'} -> L {L:.2f}", flush=True)
        rec["landmark_gain"] = lg
        original, _, _, grid = pe.output_geometry(True, 0)
        ell = np.clip(fc.sample(face_mask(pe.alignment.size)[:, :, None], grid, mode="bilinear")[:, :, 0], 0, 1)
        base = measure_image(original)
        hf0 = hf_energy(original, ell)
        for label, gs in (("today", gains), ("landmark", cal)):
            p = replace(pe, fit=replace(pe.fit, gains=gs))
            for n in names:
                for s in (1, -1):
                    key = f"{n}{'+' if s > 0 else '-'}"
                    ze = p.edited_latent(None, EditStack(ops=(AttributeStep(name=n, amount=s * AMOUNT),)))
                    r = p.render(ze, full_resolution=True)
                    im = r.image
                    mj = round(fc.min_jacobian(fc.motion(p.reconstruction, r.face, p.crop_mask()).flow), 3) if n in sp.WARPED else None
                    mv = moves(measure_image(im), base, sd)
                    row = {"gain": gs.get(key, 1.0), "moves_sd": mv, "identity": round(float(ident.distances(original[None], im[None])[0]), 3),
                           "sharpness": round(hf_energy(im, ell) / hf0, 3), "min_jacobian": mj}  # fmt: skip
                    if mv is not None:
                        row["own"] = mv[n]
                        row["right_way"] = bool(np.sign(mv[n]) == s)
                        row["worst_other"] = max(abs(v) for k, v in mv.items() if k != n)
                    rec["composite"].setdefault(key, {})[label] = row
                    print(f"{pname} {label:8s} {key:11s} gain {row['gain']:.2f} own {row.get('own', '-')} other {row.get('worst_other', '-')} "
                          f"id {row['identity']} sharp {row['sharpness']} minJ {mj}", flush=True)
                    if n in ("Smiling", "MouthOpen", "HeadYaw"):
                        pics.setdefault(pname, {"original": original})[(label, key)] = im
        out["photos"][pname] = rec
    out["summary"] = summary(out, names)
    print(markdown(out["summary"]))
    if a.json:
        atomic_write(a.json, (json.dumps(out, indent=1, ensure_ascii=False) + "\n").encode())
    if a.pictures:
        save_pictures(pics, Path(a.pictures))
    return 0


def summary(out: dict, names) -> list[dict]:
    rows = []
    for n in names:
        for s in ("+", "-"):
            key = f"{n}{s}"
            recs = [p for p in out["photos"].values()]
            row = {"edit": key, "L": [p["landmark_gain"].get(key) for p in recs]}
            for label in ("today", "landmark"):
                cs = [p["composite"][key][label] for p in recs]
                ok = [c for c in cs if c["moves_sd"] is not None]
                row[label] = {
                    "gain": [c["gain"] for c in cs],
                    "own": round(float(np.mean([c["own"] for c in ok])), 3) if ok else None,
                    "right_way": f"{sum(c['right_way'] for c in ok)}/{len(cs)}",
                    "worst_other": round(float(np.mean([c["worst_other"] for c in ok])), 3) if ok else None,
                    "identity_max": max(c["identity"] for c in cs),
                    "sharpness_min": min(c["sharpness"] for c in cs),
                    "min_jacobian": min((c["min_jacobian"] for c in cs if c["min_jacobian"] is not None), default=None),
                }
            rows.append(row)
    return rows


def markdown(rows: list[dict]) -> str:
    f = lambda v, fmt: "–" if v is None else format(v, fmt)  # noqa: E731
    lines = ["| edit ±2σ | landmark gain L (per photo) | own move today → calibrated (s.d.) | right way | worst other | "
             "identity (max) | sharpness (min) | min Jacobian |", "|---|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for r in rows:
        t, c = r["today"], r["landmark"]
        lines.append(f"| {r['edit']} | {' / '.join(f(x, '.2f') for x in r['L'])} | {f(t['own'], '+.2f')} → {f(c['own'], '+.2f')} "
                     f"| {t['right_way']} → {c['right_way']} | {f(t['worst_other'], '.2f')} → {f(c['worst_other'], '.2f')} "
                     f"| {t['identity_max']:.2f} → {c['identity_max']:.2f} | {t['sharpness_min']:.2f} → {c['sharpness_min']:.2f} "
                     f"| {f(t['min_jacobian'], '.2f')} → {f(c['min_jacobian'], '.2f')} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def save_pictures(pics: dict, folder: Path) -> None:
    """Per photo: rows Smiling, MouthOpen, HeadYaw at −2σ and +2σ; columns original, today, landmark-calibrated;
    the middle of the face region at 100 %."""
    from PIL import Image

    from engine.protocol.files import atomic_write

    folder.mkdir(parents=True, exist_ok=True)
    for pname, d in pics.items():
        o = d["original"]
        h, w = o.shape[:2]
        y0, y1, x0, x1 = int(0.3 * h), int(0.8 * h), int(0.25 * w), int(0.75 * w)
        rows = []
        for n in ("Smiling", "MouthOpen", "HeadYaw"):
            for s in ("-", "+"):
                if ("today", f"{n}{s}") in d:
                    rows.append(np.concatenate([im[y0:y1, x0:x1] for im in (o, d[("today", f"{n}{s}")], d[("landmark", f"{n}{s}")])], 1))
        buf = io.BytesIO()
        Image.fromarray(np.concatenate(rows, 0)).save(buf, format="PNG", optimize=True)
        ext = "png"
        if buf.tell() > 300_000:  # a large face region: JPEG keeps the docs' pictures under 300 KB
            buf, ext = io.BytesIO(), "jpg"
            Image.fromarray(np.concatenate(rows, 0)).save(buf, format="JPEG", quality=90)
        atomic_write(folder / f"landmark-gain-{pname}.{ext}", buf.getvalue())


if __name__ == "__main__":
    raise SystemExit(main())
