"""Measure the per-photo fit: reconstruction, time, and whether edits survive it.

    .venv/bin/python scripts/eval_fit.py --model default --samples 4 [--steps 300] [--pivot encoded]
        [--locality 1.0] [--attribute-pool] [--threads 2] [--json out.json]

Photos: scikit-image's ``astronaut()`` (NASA, public domain) and matplotlib's ``grace_hopper.jpg``
(public domain, US Navy) when matplotlib is installed — real portraits the models never saw — and
``--samples`` of the model's own decoded samples upscaled 4× used as photos (an already-aligned
face: the centre square is the crop). For every photo and every attribute, edits of ±3σ (a
conditional model: the label set to 1 and to 0), all in the face mask of the crop:

* ``ratio``  ‖Δ_fit‖ / ‖Δ₀‖, Δ = D(z') − D(z) on the fitted / unfitted model (target ≥ 0.8)
* ``cosine`` between Δ_fit and Δ₀ (target ≥ 0.7)
* ``ghost``  cos(Δ_fit, e) with e = D₀(z) − crop, the unfitted reconstruction's error: how much
  of the change pastes the old reconstruction into the photo (its energy share is ghost²;
  1: the change is that error; target ≤ 0.2). ``ghost0``: the same for the unfitted Δ₀.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def real_portraits() -> dict[str, np.ndarray]:
    from skimage.data import astronaut

    photos = {"astronaut": astronaut()}
    try:
        import matplotlib.cbook as cbook

        path = cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
        photos["grace_hopper"] = np.asarray(Image.open(path).convert("RGB"))
    except Exception:  # matplotlib not installed: astronaut alone
        pass
    return photos


def sample_photos(model, n: int, seed: int = 123) -> dict[str, np.ndarray]:
    """The model's own samples, upscaled 4× (bicubic): faces framed like its training set."""
    if n <= 0:
        return {}
    labels = None
    if model.label_space is not None:
        labels = {k: float(v) for k, v in zip(model.labels, model.label_space.prior)}
    images = model.sample(n, seed=seed, labels=labels)
    s = model.image_size * 4
    return {f"sample{i}": np.asarray(Image.fromarray(im).resize((s, s), Image.Resampling.BICUBIC)) for i, im in enumerate(images)}


def edits_of(model, z: np.ndarray, labels: dict[str, float]) -> list[tuple[str, np.ndarray, dict]]:
    """(name, z', labels') for ±3σ along each direction (conditional models: each label to 1 and 0)."""
    from engine.protocol import AttributeStep, EditStack

    out = []
    if model.attributes:
        for name in sorted(model.attributes):
            for a in (3.0, -3.0):
                zz = EditStack(ops=(AttributeStep(name=name, amount=a),)).apply(z, model.latent_stats.std, model.attributes)
                out.append((f"{name}{a:+g}σ", zz, labels))
    else:
        for name in model.labels:
            for v in (1.0, 0.0):
                out.append((f"{name}={v:g}", z, {**labels, name: v}))
    return out


def edit_metrics(base, fitted, crop, z, labels, mask) -> dict[str, dict]:
    m3 = mask[:, :, None]
    lab = labels or None
    d0z = base.decode(z[None], labels=lab)[0].astype(np.float32)
    dfz = fitted.decode(z[None], labels=lab)[0].astype(np.float32)
    e = (d0z - crop.astype(np.float32)) * m3
    ne = float(np.linalg.norm(e))
    rows = {}
    for name, zz, ll in edits_of(base, z, labels):
        d0 = (base.decode(zz[None], labels=ll or None)[0] - d0z) * m3
        df = (fitted.decode(zz[None], labels=ll or None)[0] - dfz) * m3
        n0, nf = float(np.linalg.norm(d0)), float(np.linalg.norm(df))
        if n0 < 1e-3:  # the label is already there: no change to compare
            continue
        rows[name] = {
            "ratio": round(nf / n0, 3),
            "cosine": round(float((d0 * df).sum()) / max(n0 * nf, 1e-9), 3),
            "ghost": round(float((df * e).sum()) / max(nf * ne, 1e-9), 3),
            "ghost0": round(float((d0 * e).sum()) / max(n0 * ne, 1e-9), 3),
            "rms0": round(n0 / np.sqrt(mask.sum() * 3), 2),
        }
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--pivot", default="encoded", choices=("encoded", "typical"))
    ap.add_argument("--locality", type=float, default=None)
    ap.add_argument("--attribute-pool", action="store_true")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-real", action="store_true")
    ap.add_argument("--json", help="write all figures here")
    a = ap.parse_args(argv)

    import torch

    import engine
    from engine.fit import FitConfig, fit
    from engine.photo import face_mask, open_photo

    torch.set_num_threads(a.threads)
    model = engine.load_model(a.model, device="cpu")
    kw = {k: v for k, v in dict(steps=a.steps, lr=a.lr, locality_weight=a.locality).items() if v is not None}
    cfg = FitConfig(pivot=a.pivot, attribute_pool=a.attribute_pool, **kw)
    photos = ({} if a.no_real else real_portraits()) | sample_photos(model, a.samples)
    mask = face_mask(model.image_size)
    report = {"model": a.model, "config": cfg.__dict__, "load": open("/proc/loadavg").read().split()[:3], "photos": {}}
    for name, photo in photos.items():
        pe = open_photo(model, photo, detector="auto" if not name.startswith("sample") else "centre")
        t = time.perf_counter()
        r = fit(model, pe.crop, config=cfg)
        rows = edit_metrics(model, r.model, pe.crop, r.z, r.labels, mask)
        report["photos"][name] = {"face": pe.face.method, "psnr_before": round(r.psnr_before, 2), "psnr_after": round(r.psnr_after, 2),
                                  "seconds": round(r.seconds, 2), "steps": r.steps, "fit_wall_s": round(time.perf_counter() - t, 2),
                                  "pivot_norm": round(float(np.linalg.norm(r.z)), 2), "edits": rows}  # fmt: skip
        line = " ".join(f"{k}:{v['ratio']:.2f}/{v['cosine']:.2f}/{v['ghost']:+.2f}" for k, v in rows.items())
        print(
            f"{name:13s} {r.psnr_before:5.1f}->{r.psnr_after:5.1f} dB {r.seconds:4.1f}s |z| {np.linalg.norm(r.z):4.1f}  {line}", flush=True
        )
    edits = [e for p in report["photos"].values() for e in p["edits"].values()]
    real = [e for n, p in report["photos"].items() if not n.startswith("sample") for e in p["edits"].values()]
    for label, rows in (("all", edits), ("real", real)):
        if rows:
            print(f"{label}: ratio {np.median([e['ratio'] for e in rows]):.2f} (min {min(e['ratio'] for e in rows):.2f}) "
                  f"cosine {np.median([e['cosine'] for e in rows]):.2f} (min {min(e['cosine'] for e in rows):.2f}) "
                  f"ghost {np.median([e['ghost'] for e in rows]):+.2f} (max {max(e['ghost'] for e in rows):+.2f})")  # fmt: skip
    print("load", open("/proc/loadavg").read().strip())
    if a.json:
        from engine.protocol.files import atomic_write

        atomic_write(a.json, json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
