"""Measure the per-photo fit: reconstruction, time, and whether edits survive it.

    .venv/bin/python scripts/eval_fit.py --model default --samples 4 [--steps 300] [--pivot encoded]
        [--locality 1.0] [--attribute-pool] [--threads 2] [--json out.json]

Photos: scikit-image's ``astronaut()`` (NASA, public domain) and matplotlib's ``grace_hopper.jpg``
(public domain, US Navy) when matplotlib is installed — real portraits the models never saw — and
``--samples`` of the model's own decoded samples upscaled 4× used as photos (an already-aligned
face: the centre square is the crop). For every photo and every attribute, edits of ±3σ (a
conditional model: the label set to 1 and to 0), all in the composite's mask of the crop:

The fitted change is what ``--method`` composites (``engine.fit_composite.method_fields``:
MASK-COLOUR[-sSOLID]; default: a fitted photo's own method) inside its mask, in crop space: the
coloured change plus, where the method is solid, the step from the crop to the fitted decode.
Δ₀ is always the unfitted model's own RGB change, in the same mask.

* ``ratio``  ‖Δ_fit‖ / ‖Δ₀‖, Δ = D(z') − D(z) on the fitted / unfitted model, the fitted edit
  calibrated per photo (``engine.fit.edit_gains``; ``ratio_raw``: without it) (target ≥ 0.8)
* ``cosine`` between Δ_fit and Δ₀ (target ≥ 0.7)
* ``ghost``  ⟨Δ_fit − Δ₀, e⟩ / (‖e‖·max(‖e‖, ‖Δ₀‖)) with e = D₀(z) − crop, the unfitted
  reconstruction's error: on a real photo (‖e‖ ≫ ‖Δ₀‖) the coefficient of the old
  reconstruction in what the fit adds to the change — the composite crop + Δ_fit then holds
  crop + ghost·e, a see-through copy of the old reconstruction (1: all of it, as a locality term
  near the pivot gave). Where e is small (the model's own faces) it is the share of the added
  change along e, bounded by ‖Δ_fit − Δ₀‖/‖Δ₀‖. Target ≤ 0.2.
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
from portraits import portraits  # noqa: E402 - beside this script


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


def edits_of(
    model, z: np.ndarray, labels: dict[str, float], gains: dict[str, float] | None = None
) -> list[tuple[str, np.ndarray, np.ndarray, dict]]:
    """(name, z', z' calibrated by ``gains``, labels') for ±3σ along each direction (conditional
    models: each label set to 1 and to 0)."""
    from engine.fit import attribute_step

    out = []
    if model.attributes:
        for name in sorted(model.attributes):
            for a in (3.0, -3.0):
                step = attribute_step(model, name, a)
                g = (gains or {}).get(f"{name}{'+' if a > 0 else '-'}", 1.0)
                out.append((f"{name}{a:+g}σ", z + step, z + g * step, labels))
    else:
        for name in model.labels:
            for v in (1.0, 0.0):
                out.append((f"{name}={v:g}", z, z, {**labels, name: v}))
    return out


def _cast(change: np.ndarray, mask: np.ndarray) -> float:
    """A colour cast: the mask-weighted mean of the change's chroma (RGB minus its BT.601 luma),
    as a length in grey levels — a hue shift of the whole face, not new structure."""
    luma = change @ np.array([0.299, 0.587, 0.114], np.float32)
    chroma = change - luma[:, :, None]
    mean = (chroma * mask[:, :, None]).sum(axis=(0, 1)) / max(float(mask.sum()), 1e-9)
    return round(float(np.linalg.norm(mean)), 2)


def edit_metrics(base, fitted, crop, z, labels, gains=None, method="face-luma") -> dict[str, dict]:
    from engine.fit_composite import WIDE_MASK, colour_change, crop_mask, method_fields, solid_alpha
    from engine.photo import face_mask

    how = method_fields(method)
    mask = {"face": face_mask, "crop": crop_mask, "wide": lambda s: face_mask(s, **WIDE_MASK)}[how["mask_shape"]](base.image_size)
    m3 = mask[:, :, None]
    lab = labels or None
    d0z = base.decode(z[None], labels=lab)[0].astype(np.float32)
    dfz = fitted.decode(z[None], labels=lab)[0].astype(np.float32)
    e = (d0z - crop.astype(np.float32)) * m3
    ne = max(float(np.linalg.norm(e)), 1e-9)
    rows = {}
    for name, zz, zg, ll in edits_of(base, z, labels, gains):
        d0 = (base.decode(zz[None], labels=ll or None)[0] - d0z) * m3
        raw = (fitted.decode(zz[None], labels=ll or None)[0] - dfz) * m3
        df = colour_change(fitted.decode(zg[None], labels=ll or None)[0] - dfz, how["colour"])
        if ll != labels and gains:  # a label edit: its per-photo pixel gain, as PhotoEdit.delta applies it
            from engine.fit import label_gain

            df = df * label_gain(gains, labels, ll)
        alpha = solid_alpha(df, how["solid"])
        df = df * m3 if alpha is None else (df + alpha[:, :, None] * (dfz - crop.astype(np.float32))) * m3  # what enters the crop
        n0, nf = float(np.linalg.norm(d0)), float(np.linalg.norm(df))
        if n0 / np.sqrt(mask.sum() * 3) < 1.0:  # under 1 grey level (a label already there): nothing to compare
            continue
        cast0, castf = _cast(d0, mask), _cast(df, mask)
        rows[name] = {
            "cast0": cast0,
            "cast": castf,
            "ratio": round(nf / n0, 3),
            "ratio_raw": round(float(np.linalg.norm(raw)) / n0, 3),
            "cosine": round(float((d0 * df).sum()) / max(n0 * nf, 1e-9), 3),
            "ghost": round(float(((df - d0) * e).sum()) / (ne * max(ne, n0)), 3),
            "rms0": round(float(n0 / np.sqrt(mask.sum() * 3)), 2),
        }
    return rows


PICTURE_EDITS = (("Eyeglasses", 3.0), ("Male", 3.0), ("Young", 3.0), ("Young", -3.0))


def pictures(pe, fitted_pe, name: str, folder: Path, methods=("face-luma",)) -> list[Path]:
    """Two PNGs per portrait: ``fit-NAME-recon.png`` (aligned crop | unfitted | fitted
    reconstruction, 4× nearest) and ``fit-NAME-edits.png`` (the face region at 100 % of the
    full-resolution composite; columns: original, then each of PICTURE_EDITS; rows: without
    the fit, then with it in each composite method of ``methods``)."""
    from dataclasses import replace

    from engine.fit_composite import method_fields
    from engine.protocol import AttributeStep, EditStack
    from engine.protocol.files import atomic_output

    def big(im):
        return np.asarray(Image.fromarray(im).resize((im.shape[1] * 4, im.shape[0] * 4), Image.Resampling.NEAREST))

    recon = np.concatenate([big(pe.crop), big(pe.reconstruction), big(fitted_pe.reconstruction)], axis=1)
    x0, y0, x1, y1 = pe.region
    rows = []
    for p in (pe, *(replace(fitted_pe, **method_fields(m), _mask_crop=None, _previews={}) for m in methods)):
        tiles = [p.photo[y0:y1, x0:x1]]
        for attr, amount in PICTURE_EDITS:
            if attr in p.model.attributes:
                z = p.edited_latent(edits=EditStack(ops=(AttributeStep(name=attr, amount=amount),)))
                tiles.append(p.composite(z)[y0:y1, x0:x1])
            elif attr in p.labels:  # a conditional model: the label set to 1 (+) or 0 (−)
                tiles.append(p.composite(p.z, labels={**p.labels, attr: 1.0 if amount > 0 else 0.0})[y0:y1, x0:x1])
        rows.append(np.concatenate([np.pad(t, ((2, 2), (2, 2), (0, 0)), constant_values=255) for t in tiles], axis=1))
    edits = np.concatenate(rows, axis=0)
    out = []
    for suffix, image in (("recon", recon), ("edits", edits)):
        path = folder / f"fit-{name}-{suffix}.png"
        with atomic_output(path) as tmp:  # 256 colours: a small picture for the docs
            Image.fromarray(image).quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(tmp, format="PNG", optimize=True)
        out.append(path)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--samples", type=int, default=4)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--pivot", default="encoded", choices=("encoded", "typical"))
    ap.add_argument("--locality", type=float, default=None)
    ap.add_argument("--attribute-pool", action="store_true")
    ap.add_argument("--attribute-change", type=float, default=None, help="weight of holding the pivot's old ±3σ attribute changes")
    ap.add_argument("--loose", default=None, help="directions held at --loose-weight, comma-separated (default: FitConfig's; '' none)")
    ap.add_argument("--loose-weight", type=float, default=None, help="the hold's weight on the --loose directions (default: FitConfig's; 0: not held)")
    ap.add_argument("--no-calibrate", action="store_true", help="no per-photo σ calibration")
    ap.add_argument("--freeze-labels", action="store_true", help="cGAN: keep the label embedding as trained")
    ap.add_argument("--label-change", type=float, default=1.0, help="conditional models: weight of holding the pivot's old label changes")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--fit-cache", help="folder: keep each photo's fit there and reuse it (its PSNR and time are the first run's)")
    ap.add_argument("--no-real", action="store_true")
    ap.add_argument("--json", help="write all figures here")
    ap.add_argument("--pictures", help="folder for before/after pictures of the real portraits (docs/photo)")
    ap.add_argument("--method", default=None, help="composite method of the fitted change measured, MASK-COLOUR[-sSOLID] "
                    "(default: a fitted photo's, engine.photo.FITTED_*)")
    ap.add_argument("--methods", default=None, help="composite methods for the fitted rows of the pictures, comma-separated (default: --method)")
    a = ap.parse_args(argv)

    import torch

    import engine
    from engine.fit import FitConfig, fit
    from engine.photo import FITTED_COLOUR, FITTED_MASK, FITTED_SOLID, open_photo

    method = a.method or f"{FITTED_MASK}-{FITTED_COLOUR}" + (f"-s{FITTED_SOLID:g}" if FITTED_SOLID else "")

    torch.set_num_threads(a.threads)
    model = engine.load_model(a.model, device="cpu")
    kw = {k: v for k, v in dict(steps=a.steps, lr=a.lr, locality_weight=a.locality, attribute_change_weight=a.attribute_change).items()
          if v is not None}
    cfg = FitConfig(
        pivot=a.pivot,
        attribute_pool=a.attribute_pool,
        calibrate=not a.no_calibrate,
        tune_labels=not a.freeze_labels,
        label_change_weight=a.label_change,
        **kw,
        **({} if a.loose is None else {"loose": tuple(filter(None, a.loose.split(",")))}),
        **({} if a.loose_weight is None else {"loose_weight": a.loose_weight}),
    )
    photos = ({} if a.no_real else portraits(("astronaut", "grace_hopper"), optional=True)) | sample_photos(model, a.samples)
    report = {"model": a.model, "method": method, "config": cfg.__dict__, "load": open("/proc/loadavg").read().split()[:3], "photos": {}}
    for name, photo in photos.items():
        pe = open_photo(model, photo, detector="auto" if not name.startswith("sample") else "centre")
        t = time.perf_counter()
        if a.fit_cache:  # the same fit as eval_fit_judge keeps: compare composite methods on one fit
            from eval_fit_judge import fitted_photo

            r = fitted_photo(pe, cfg, Path(a.fit_cache), f"{Path(a.model).stem}-{cfg.steps}-{name}")[1]
        else:
            r = fit(model, pe.crop, config=cfg)
        rows = edit_metrics(model, r.model, pe.crop, r.z, r.labels, r.gains, method)
        if a.pictures and not name.startswith("sample") and r.fitted:
            pictures(pe, pe.with_fit(r), f"{a.model}-{name}", Path(a.pictures), (a.methods or method).split(","))
        report["photos"][name] = {"face": pe.face.method, "psnr_before": round(r.psnr_before, 2), "psnr_after": round(r.psnr_after, 2),
                                  "seconds": round(r.seconds, 2), "steps": r.steps, "fit_wall_s": round(time.perf_counter() - t, 2),
                                  "pivot_norm": round(float(np.linalg.norm(r.z)), 2), "gains": r.gains, "edits": rows}  # fmt: skip
        line = " ".join(f"{k}:{v['ratio']:.2f}({v['ratio_raw']:.2f})/{v['cosine']:.2f}/{v['ghost']:+.2f}" for k, v in rows.items())
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
