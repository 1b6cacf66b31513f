"""Geometric edits on real portraits: does adding the model's change (the plain composite) or
warping the photo's own pixels by the flow between the decodes (engine.flow_composite) move the
face's landmarks the way the edit says?

For each photo (fitted with engine.fit.fit_photo, default settings) and each edit (±2σ, ±3σ), dlib's
68 landmarks are re-measured (engine.data.landmarks) on the full-resolution face region of:

* ``decode`` the fitted model's own 64-px decodes (edited vs reconstruction): what the model means
* ``decode-warp`` the reconstruction warped by the flow alone: how much of the model's move the flow carries
* ``plain``  photo + the change D(z') − D(z) warped back (the composite before this work)
* ``flow``   photo warped by the flow between the decodes + the change the flow does not explain (for
  the warped attributes the product itself, PhotoEdit.render: its feature regions and share rules)
* ``warp``   the warp alone

Per row: each geometric measure's move against the unedited photo (decode: against the
reconstruction), in s.d. of the face set's labels (/work/data/faces_v2/summary.json "measures"),
whether the own measure moves the right way, dlib identity distance to the original (same person
< 0.6), high-frequency energy in the face ellipse over the original's (sharpness, 1 = as sharp),
and the pixel judge's Eyeglasses logit on the aligned crop of the result (frames must not get
weaker under the warp). Also the share of the change's energy the flow explains.

    OMP_NUM_THREADS=1 .venv/bin/python scripts/eval_geometric_edits.py --json docs/photo/geometric-edits.json \
        --markdown /tmp/geo.md --pictures docs/photo
"""

from __future__ import annotations

import argparse
import io
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

EDITS = ("Smiling", "MouthOpen", "HeadYaw", "EyesOpen", "HeadRoll", "Eyeglasses")
AMOUNTS = (2.0, -2.0, 3.0, -3.0)
METHODS = ("decode", "decode-warp", "plain", "flow", "warp")
LANDMARKS = True  # the flow: landmarks where they reach (the product's), --optical-flow-only: the optical flow alone
GEO = ("Smiling", "MouthOpen", "EyesOpen", "HeadYaw", "HeadRoll")


def hf_energy(image: np.ndarray, weight: np.ndarray) -> float:
    """Σ weight · (luma − Gaussian-blurred luma)²: the detail a blur removes."""
    from PIL import Image, ImageFilter

    y = image.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    blurred = np.asarray(Image.fromarray(np.clip(y, 0, 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.5)), np.float32)
    return float((weight * (y - blurred) ** 2).sum())


def variants(pe, z, original: np.ndarray, grid, mask: np.ndarray, opens: float = 0.0, warp_only: float = 0.0):
    """{method: uint8 image} for one edited latent, and the motion found; ``opens``: the weight of the
    mouth's opening drawn as a jaw drop (1 for a MouthOpen edit, as the product gives it);
    ``warp_only``: how far the residual is left out (1 for HeadYaw)."""
    from engine import flow_composite as fc

    delta, face, _ = pe._layers(z)
    recon = pe.reconstruction
    o = original.astype(np.float32)
    plain = o + fc.sample(delta, grid)
    mot = fc.motion(recon, face, mask, landmarks=LANDMARKS, head=warp_only > 0)
    full = replace(mot, weight=1.0, opening_weight=opens, warp_only=warp_only)  # the mechanism measured in full, whatever the gate says
    flow, _ = fc.flow_change(o, grid, recon, face, delta, mask, colour=_colour(pe), mot=full)
    warp = fc.warp_patch(o, fc.output_displacement(mot.flow * mask[:, :, None], grid))
    u8 = lambda a: np.clip(np.rint(a), 0, 255).astype(np.uint8)  # noqa: E731
    return {"plain": u8(plain), "flow": u8(o + flow), "warp": u8(warp)}, face, mot


def _colour(pe):
    from engine.fit_composite import colour_change

    return lambda d: colour_change(d, pe.colour)


def main(argv=None) -> int:
    import torch

    import engine
    from engine.data.landmarks import measure_image
    from engine.data.warp import warp_crop
    from engine.fit import FitConfig, fit_photo
    from eval_fit_judge import config_fields
    from portraits import portraits
    from engine.photo import face_mask, open_photo
    from engine.protocol import AttributeStep, EditStack
    from engine.protocol.files import atomic_write
    from engine.semantics.identity import DlibIdentity
    from engine.semantics.judge import load_judge
    from engine import flow_composite as fc
    from engine import step_parts as sp

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", default="portrait,astronaut,astronaut-x2,grace_hopper")
    ap.add_argument("--model", default="default")
    ap.add_argument("--summary", default="/work/data/faces_v2/summary.json")
    ap.add_argument("--judge", default="/work/runs/judge/judge.safetensors")
    ap.add_argument("--json", default=None)
    ap.add_argument("--markdown", default=None)
    ap.add_argument("--pictures", default=None, help="folder for before/after PNGs at 100 %% (face region)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads, the fit's too (a fit is the same for the same count, not across counts)")
    ap.add_argument("--optical-flow-only", action="store_true", help="the flow without the landmarks (the product before 2026-12-07 evening)")
    ap.add_argument("--config", default="", help="FitConfig fields for the fit, KEY=VALUE comma-separated (loose=Smiling+HeadYaw,loose_weight=0)")
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    global LANDMARKS
    LANDMARKS = not a.optical_flow_only
    sd = {k: v["sd"] for k, v in json.loads(Path(a.summary).read_text())["measures"]["stats"].items()}
    judge = load_judge(a.judge) if Path(a.judge).exists() else None
    ident = DlibIdentity(upscale=2)
    model = engine.load_model(a.model, device="cpu")
    rows, pics = [], {}
    for pname, photo in portraits(a.photos.split(",")).items():
        t0 = time.time()
        pe, res = fit_photo(open_photo(model, photo), FitConfig(**{"threads": a.threads, **config_fields(a.config)}))  # a fit differs across thread counts
        original, sx, sy, grid = pe.output_geometry(True, 0)
        mask = pe.crop_mask()
        ell = np.clip(fc.sample(face_mask(pe.alignment.size)[:, :, None], grid, mode="bilinear")[:, :, 0], 0, 1)
        base = measure_image(original)
        base_dec = measure_image(pe.reconstruction)
        hf0 = hf_energy(original, ell)
        eg = judge.names.index("Eyeglasses") if judge is not None else None

        def crop_of(patch: np.ndarray, pe=pe) -> np.ndarray:  # the aligned crop of an edited face region
            full = pe.photo.copy()
            x0, y0, x1, y1 = pe.region
            full[y0:y1, x0:x1] = patch
            return warp_crop(full, pe.alignment)

        eg0 = float(judge.logits(crop_of(original)[None])[0, eg]) if judge is not None else None
        print(
            f"{pname}: {photo.shape[1]}×{photo.shape[0]}, region {original.shape[1]}×{original.shape[0]}, fit {time.time() - t0:.1f} s, "
            f"psnr {res.psnr_before:.1f} -> {res.psnr_after:.1f} dB; eyeglasses logit {eg0}",
            flush=True,
        )
        for attr in [e for e in EDITS if e in model.attributes]:  # a cGAN: Eyeglasses is a label, not a direction
            for amount in AMOUNTS:
                z = pe.edited_latent(None, EditStack(ops=(AttributeStep(name=attr, amount=amount),)))
                imgs, face, mot = variants(pe, z, original, grid, mask, float(attr in sp.OPENS), float(attr in sp.WARP_ONLY))
                imgs["decode"] = face
                product = pe.render(z, full_resolution=True).image.astype(int)  # what PhotoEdit composites now
                product_is = "flow" if attr in sp.WARPED else "plain"
                product_gap = int(np.abs(product - imgs[product_is]).max())
                if attr in sp.WARPED:  # the product itself (its feature regions, its share rules), not the mechanism rebuilt here
                    imgs["flow"] = product.astype(np.uint8)
                imgs["decode-warp"] = np.clip(np.rint(fc.resample(pe.reconstruction, mot.flow)), 0, 255).astype(np.uint8)
                mag = np.hypot(mot.flow[..., 0], mot.flow[..., 1]) * mask
                for meth in METHODS:
                    im = imgs[meth]
                    m = measure_image(im)
                    ref = base_dec if meth.startswith("decode") else base
                    row = {
                        "photo": pname,
                        "edit": attr,
                        "amount": amount,
                        "method": meth,
                        "share": round(mot.share, 3),
                        "flow_p99_crop_px": round(float(np.percentile(mag, 99)), 2),
                        "min_jacobian": round(fc.min_jacobian(mot.flow), 3),  # ≤ 0: the warp folds
                    }
                    if m is not None and ref is not None:
                        row["moves_sd"] = {k: round((m[k] - ref[k]) / sd[k], 3) for k in GEO}
                        if attr in GEO:
                            row["right_way"] = bool(np.sign(row["moves_sd"][attr]) == np.sign(amount))
                    else:
                        row["moves_sd"] = None
                    if not meth.startswith("decode"):
                        row["identity"] = round(float(ident.distances(original[None], im[None])[0]), 3)
                        row["sharpness"] = round(hf_energy(im, ell) / hf0, 3)
                        if judge is not None:
                            row["eyeglasses_logit"] = round(float(judge.logits(crop_of(im)[None])[0, eg]), 3)
                    if meth == product_is:
                        row["product_max_gap"] = product_gap  # grey levels between PhotoEdit.render and this method
                    rows.append(row)
                    mv = row["moves_sd"]
                    print(
                        f"  {attr:10s} {amount:+.0f} {meth:6s} share {mot.share:.2f} "
                        f"{'' if mv is None else ' '.join(f'{k[:5]} {v:+.2f}' for k, v in mv.items())} "
                        f"id {row.get('identity', '-')} sharp {row.get('sharpness', '-')} eg {row.get('eyeglasses_logit', '-')}",
                        flush=True,
                    )
                if abs(amount) == 3.0 and amount > 0:
                    pics[(pname, attr)] = (original, imgs["plain"], imgs["flow"])
    report = {
        "model": a.model,
        "fit": f"FitConfig({a.config})",
        "data_sd": sd,
        "rows": rows,
        "flow": {"control": fc.CONTROL, "smooth": fc.SMOOTH, "stages": fc.STAGES},
    }
    if a.json:
        atomic_write(a.json, (json.dumps(report, indent=1) + "\n").encode())
    if a.markdown:
        atomic_write(a.markdown, markdown(rows).encode())
        print(markdown(rows))
    if a.pictures:
        save_pictures(pics, Path(a.pictures))
    return 0


def markdown(rows: list[dict]) -> str:
    """One line per edit, means over the photos, plain → flow: own move (and the model's decode), right
    way, worst other geometric move, identity, sharpness; Eyeglasses: the judge's logit instead."""
    lines = [
        "| edit | decode own move | own move plain → flow (s.d.) | right way plain → flow | worst other plain → flow "
        "| identity plain → flow | sharpness plain → flow | flow share |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    edits = sorted({(r["edit"], r["amount"]) for r in rows}, key=lambda k: (EDITS.index(k[0]) if k[0] in EDITS else 99, -k[1]))

    def stat(attr, amount, meth, what):
        rs = [r for r in rows if (r["edit"], r["amount"], r["method"]) == (attr, amount, meth)]
        ok = [r for r in rs if r["moves_sd"] is not None]
        if what == "own":
            return np.mean([r["moves_sd"][attr] for r in ok]) if ok and attr in GEO else np.nan
        if what == "right":
            return f"{sum(r['right_way'] for r in ok)}/{len(ok)}" if ok and attr in GEO else "–"
        if what == "other":
            return np.mean([max(abs(v) for k, v in r["moves_sd"].items() if k != attr) for r in ok]) if ok else np.nan
        vals = [r[what] for r in rs if what in r]
        return np.mean(vals) if vals else np.nan

    for attr, amount in edits:
        s = lambda meth, what, a=attr, m=amount: stat(a, m, meth, what)  # noqa: E731
        own = (f"{s('plain', 'own'):+.2f} → {s('flow', 'own'):+.2f}" if attr in GEO
               else f"logit {s('plain', 'eyeglasses_logit'):+.2f} → {s('flow', 'eyeglasses_logit'):+.2f}")  # fmt: skip
        lines.append(
            f"| {attr} {amount:+.0f}σ | {s('decode', 'own'):+.2f} | {own} | {s('plain', 'right')} → {s('flow', 'right')} "
            f"| {s('plain', 'other'):.2f} → {s('flow', 'other'):.2f} | {s('plain', 'identity'):.2f} → {s('flow', 'identity'):.2f} "
            f"| {s('plain', 'sharpness'):.2f} → {s('flow', 'sharpness'):.2f} | {s('flow', 'share'):.2f} |"
        )
    return "\n".join(lines).replace("nan", "–").replace("+–", "–") + "\n"


def save_pictures(pics: dict, folder: Path) -> None:
    """Per photo: rows = the warped edits (step_parts.WARPED) at +3σ, columns = original, plain composite,
    flow warp (what PhotoEdit composites now); the middle of the face at 100 %."""
    from PIL import Image

    from engine import step_parts as sp
    from engine.protocol.files import atomic_write

    folder.mkdir(parents=True, exist_ok=True)
    for pname in sorted({p for p, _ in pics}):
        rows = []
        for (p, attr), (o, plain, flow) in pics.items():
            if p != pname or attr not in sp.WARPED:
                continue
            h, w = o.shape[:2]
            y0, y1, x0, x1 = int(0.3 * h), int(0.8 * h), int(0.25 * w), int(0.75 * w)  # brows to chin
            rows.append(np.concatenate([im[y0:y1, x0:x1] for im in (o, plain, flow)], 1))
        buf = io.BytesIO()
        Image.fromarray(np.concatenate(rows, 0)).save(buf, format="PNG", optimize=True)
        atomic_write(folder / f"geometric-{pname}.png", buf.getvalue())


if __name__ == "__main__":
    raise SystemExit(main())
