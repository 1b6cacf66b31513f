"""How well models reconstruct (and edit) real faces before any per-photo fit, beside the cost
on their own test faces — to compare a model trained with ``--augment real`` with one without.

    .venv/bin/python scripts/eval_real_crops.py --model default /work/runs/aug/faces-vae64-aug.safetensors \\
        --data faces:/work/data/faces_v2 [--n-test 500] [--threads 1] [--json out.json] [--pictures out.png]

Every figure is PSNR at model resolution between 8-bit images: the input and decode(encode(input))
(posterior mean), as the editor shows it. Sets:

* ``real``: scikit-image's ``astronaut()`` (NASA, public domain) and matplotlib's
  ``grace_hopper.jpg`` (US Navy, public domain), each face found and aligned as the editor does
  (``engine.photo.open_photo``): the crop and its reconstruction.
* ``lfw``: the 100 faces of scikit-image's ``lfw_subset()`` (25×25 grey, already cropped but framed
  tighter than the face set): upscaled bicubically to the model's size, grey replicated to RGB.
  Crude — reported apart.
* ``test``: the first ``--n-test`` faces of ``--data``'s test split (the in-distribution cost);
  ``test_aug``: the same faces through ``engine.data.augment.real_photo_augment`` (seed 0).

Edit strength before any fit: for ±3σ along each attribute direction, the RMS change of the
decode (grey levels, inside the face mask) on the real crops and averaged over the first 100
test faces; ``ratio`` real / test (below 1: the direction moves a real face less than the model's
own faces).
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


def psnr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-image PSNR (dB) of uint8 N×H×W×C arrays."""
    mse = ((a.astype(np.float64) - b.astype(np.float64)) ** 2).reshape(len(a), -1).mean(1)
    return 10 * np.log10(255.0**2 / np.maximum(mse, 1e-10))


def lfw_faces(size: int) -> np.ndarray:
    """scikit-image's LFW subset: its first 100 images are faces (the rest are not)."""
    from skimage.data import lfw_subset

    faces = lfw_subset()[:100]
    out = [np.asarray(Image.fromarray((f * 255).round().astype(np.uint8)).resize((size, size), Image.Resampling.BICUBIC)) for f in faces]
    return np.repeat(np.stack(out)[..., None], 3, axis=3)


def test_faces(spec: str, model, n: int) -> np.ndarray:
    from engine.data.datasets import load_dataset

    data = load_dataset(spec, model.image_size, model.channels, "test", progress=False)
    x = data.images[:n]
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    return x.permute(0, 2, 3, 1).contiguous().numpy()


def augmented(images: np.ndarray, seed: int = 0) -> np.ndarray:
    import torch

    from engine.data.augment import real_photo_augment

    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    y = real_photo_augment(x, torch.Generator().manual_seed(seed))
    return (y * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def reconstruct(model, images: np.ndarray, batch: int = 256) -> np.ndarray:
    return np.concatenate([model.decode(model.encode(images[i : i + batch])) for i in range(0, len(images), batch)])


def edit_rms(model, z: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """RMS change (grey levels, in the mask) of ±3σ along each direction, averaged over the rows of z."""
    from engine.protocol import AttributeStep, EditStack

    base = model.decode(z).astype(np.float32)
    out = {}
    for name in sorted(model.attributes):
        for amount in (3.0, -3.0):
            step = EditStack(ops=(AttributeStep(name=name, amount=amount),)).apply(
                np.zeros(model.latent_dim, np.float32), model.latent_stats.std, model.attributes
            )
            d = (model.decode(z + step[None]).astype(np.float32) - base) * mask[None, :, :, None]
            out[f"{name}{amount:+g}"] = float(np.sqrt((d**2).sum((1, 2, 3)) / (mask.sum() * 3)).mean())
    return out


def measure(model, photos, lfw, test, test_aug) -> tuple[dict, dict]:
    from engine.photo import face_mask, open_photo

    report, pics = {"real": {}}, {}
    mask = face_mask(model.image_size)
    for name, photo in photos.items():
        pe = open_photo(model, photo, detector="auto")
        report["real"][name] = {"face": pe.face.method, "psnr": round(float(psnr(pe.crop[None], pe.reconstruction[None])[0]), 2),
                                "edit_rms": edit_rms(model, pe.z[None], mask)}  # fmt: skip
        pics[name] = (pe.crop, pe.reconstruction)
    for key, images in (("lfw", lfw), ("test", test), ("test_aug", test_aug)):
        if images is None:
            continue
        rec = reconstruct(model, images)
        p = psnr(images, rec)
        report[key] = {"n": len(images), "psnr_mean": round(float(p.mean()), 2), "psnr_median": round(float(np.median(p)), 2)}
        pics[key] = (images[:6], rec[:6])
    if test is not None:
        report["test"]["edit_rms"] = edit_rms(model, model.encode(test[:100]), mask)
        for row in report["real"].values():
            row["edit_ratio"] = {k: round(v / max(report["test"]["edit_rms"][k], 1e-9), 3) for k, v in row["edit_rms"].items()}
    return report, pics


def picture(names: list[str], all_pics: list[dict], path: str) -> None:
    """Rows: the real crops, then LFW and test faces; columns: the input, then each model's
    reconstruction (2× nearest)."""
    from engine.protocol.files import atomic_output

    rows = []
    first = all_pics[0]
    for key in first:
        inputs = first[key][0] if first[key][0].ndim == 4 else first[key][0][None]
        for j in range(len(inputs)):
            tiles = [inputs[j]] + [(p[key][1] if p[key][1].ndim == 4 else p[key][1][None])[j] for p in all_pics]
            rows.append(np.concatenate([np.pad(t, ((1, 1), (1, 1), (0, 0)), constant_values=255) for t in tiles], axis=1))
    grid = np.concatenate(rows, axis=0)
    grid = np.asarray(Image.fromarray(grid).resize((grid.shape[1] * 2, grid.shape[0] * 2), Image.Resampling.NEAREST))
    with atomic_output(path) as tmp:
        Image.fromarray(grid).save(tmp, format="PNG")
    print(f"picture: {path} (columns: input, {', '.join(names)})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", nargs="+", default=["default"], help="bundled names or checkpoint paths, measured in one run")
    ap.add_argument("--data", help="data spec whose test split gives the in-distribution figures (e.g. faces:DIR)")
    ap.add_argument("--n-test", type=int, default=500)
    ap.add_argument("--no-lfw", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="write the report here")
    ap.add_argument("--pictures", help="PNG of inputs and reconstructions side by side")
    a = ap.parse_args(argv)

    import torch

    import engine

    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    photos = portraits(("astronaut", "grace_hopper"), optional=True)
    report = {"models": {}, "load_before": open("/proc/loadavg").read().split()[:3]}
    all_pics = []
    for name in a.model:
        model = engine.load_model(name, device="cpu")
        lfw = None if a.no_lfw else lfw_faces(model.image_size)
        test = test_faces(a.data, model, a.n_test) if a.data else None
        test_aug = None if test is None else augmented(test)
        r, pics = measure(model, photos, lfw, test, test_aug)
        r["training"] = {
            k: (model.ckpt.info.get("training", {}).get("config", {}) or {}).get(k) for k in ("augment", "epochs", "time_budget_min")
        }
        r["training"]["epochs_done"] = model.ckpt.info.get("training", {}).get("epochs_done")
        report["models"][name] = r
        all_pics.append(pics)
    report["load_after"] = open("/proc/loadavg").read().split()[:3]
    report["seconds"] = round(time.perf_counter() - t0, 1)

    cols = ["real:" + n for n in photos] + ["lfw", "test", "test_aug"]
    print(f"{'model':44s} " + " ".join(f"{c:>18s}" for c in cols) + "   (PSNR dB)")
    for name, r in report["models"].items():
        vals = [r["real"][n]["psnr"] for n in photos] + [r[k]["psnr_mean"] if k in r else float("nan") for k in ("lfw", "test", "test_aug")]
        print(f"{Path(name).name[:44]:44s} " + " ".join(f"{v:18.2f}" for v in vals))
    for name, r in report["models"].items():
        for photo, row in r["real"].items():
            if "edit_ratio" in row:
                print(
                    f"edit strength real/test, {Path(name).name[:30]}, {photo}: "
                    + " ".join(f"{k} {v:.2f}" for k, v in row["edit_ratio"].items())
                )
    print("load", " ".join(report["load_before"]), "->", " ".join(report["load_after"]), f"({report['seconds']} s)")
    if a.json:
        from engine.protocol.files import atomic_write

        atomic_write(a.json, json.dumps(report, indent=2))
    if a.pictures:
        picture([Path(n).name for n in a.model], all_pics, a.pictures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
