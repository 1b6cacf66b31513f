"""Judge the per-photo fit on the built-in test faces used as photos (issue 18, third target).

    .venv/bin/python scripts/eval_fit_judge.py [--model default] [--n 60] [--steps 200] [--threads 1]
        [--data /work/data/faces_v2] [--judge /work/runs/judge/judge.safetensors] [--json out.json]
        [--strip docs/photo/judge-default-strip.png]

For the first ``--n`` faces of the test split (CelebA layout, ``list_eval_partition.txt`` = 2), each
64×64 face is upscaled 4× (bicubic) to a 256×256 "photo", opened with ``detector="centre"`` (the
faces are aligned crops already: the centre square maps the photo onto the model's crop by a pure
4× scale, checked per face), fitted with :func:`engine.fit.fit_photo` (``FitConfig``'s defaults,
``--steps``), and edited by ±2σ (``--amount``) along Eyeglasses, Male and Young (a conditional model: the label set
to 1 / 0). The pixel judge (``engine.semantics.judge``) reads, per path:

* ``decode``     the unfitted model's own decode, D(z ± 2σ·d) at 64 px; before = D(z)
                 (what ``latent-studio eval-edits`` measures);
* ``composite``  the unfitted photo path: the full-resolution composite, downscaled to 64 px (Lanczos);
* ``fitted``     the fitted photo path (calibrated step, luma change, face mask), the same way;
* ``fitted_decode`` the fitted model's decode D_fit(z* + g·2σ·d) at 64 px (no compositing);
* ``fitted_rgb`` the fitted composite with the change in RGB (``colour="rgb"``) instead of luma;
* ``fitted_nomask`` the fitted composite (luma) without the face mask (a diagnostic: the mask set to 1).
* ``--variants``  more fitted composites by method (``crop-rgb``, ``ones-luma``, …); ``u-METHOD``: the
                 *unfitted* photo composited by that method (what an additive composite of the
                 unfitted change reaches: ``u-crop-luma`` against ``fitted`` compares the fits alone).
* ``--config``   FitConfig fields for the fit (``attribute_change_weight=1``, ``attribute_pool=1``, …).

For the composites "before" is the photo itself (a zero edit returns it exactly), downscaled the
same way. **Success** as in ``engine.semantics.edit_eval``: among faces the judge puts on the
other side before the edit (negative for +2σ, positive for −2σ), the share it puts on the
target side after — so a face that already has the attribute counts only for −2σ. ``success_by_label``:
the same with the data set's labels choosing the faces (the same faces on every path).
**Identity**: dlib descriptor distance (``engine.semantics.identity``) between the 256 px
composite and the 256 px photo (``decode``: D(z') against D(z) at 64 px, upscaled 4× as eval-edits does);
the share under 0.6 is dlib's "same person".
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

ATTRS = ("Eyeglasses", "Male", "Young")
SIGNS = (+1, -1)
PATHS = ("decode", "composite", "fitted", "fitted_decode")  # always measured; --variants adds more
VARIANTS: tuple[str, ...] = ()  # --variants, e.g. "crop-rgb-s30": the fitted composite with mask, colour, solid
AMOUNT = 2.0  # --amount
DLIB_SAME_PERSON = 0.6


def down(im: np.ndarray, size: int = 64) -> np.ndarray:
    return np.asarray(Image.fromarray(im).resize((size, size), Image.Resampling.LANCZOS))


def up4(im: np.ndarray) -> np.ndarray:
    return np.asarray(Image.fromarray(im).resize((im.shape[1] * 4, im.shape[0] * 4), Image.Resampling.BICUBIC))


def test_faces(root: Path, n: int):
    from engine.data.datasets import load_celeba

    data = load_celeba(root, 64, 3, split="test", progress=False, limit=n)
    images = data.images.permute(0, 2, 3, 1).numpy()
    labels = np.asarray(data.labels)[:, [data.label_names.index(a) for a in ATTRS]] > 0
    return images, labels


def edits(pe, attr: str, sign: int):
    """(z', labels') of the ±2σ edit (conditional models: the label set to 1 / 0) on ``pe`` —
    calibrated by the fit's per-photo gains when ``pe`` is fitted (PhotoEdit.edited_latent)."""
    from engine.protocol import AttributeStep, EditStack

    if pe.model.attributes:
        return pe.edited_latent(edits=EditStack(ops=(AttributeStep(name=attr, amount=sign * AMOUNT),))), None
    return pe.z, {**pe.labels, attr: 1.0 if sign > 0 else 0.0}


def variant(fpe, name: str):
    """The fitted photo composited as ``name`` (``engine.fit_composite.method_fields``, e.g.
    ``crop-rgb-s30``; ``ones-COLOUR``: no mask at all, a diagnostic; a ``-g`` suffix: the per-photo
    gains measured in the method's mask instead of the face mask), all else as the fit left it."""
    from dataclasses import replace

    from engine.fit_composite import method_fields

    gains_in_mask = name.endswith("-g")
    name = name.removesuffix("-g")
    if name.startswith("ones-"):
        out = replace(fpe, **method_fields("crop" + name[4:]), _previews={}, _mask_crop=np.ones((fpe.alignment.size,) * 2, np.float32))
    else:
        out = replace(fpe, **method_fields(name), _previews={}, _mask_crop=None)
    if gains_in_mask and fpe.fit is not None and fpe.fit.gains:
        out = replace(out, fit=replace(fpe.fit, gains=gains_in(out)))
    return out


def gains_in(pe) -> dict[str, float]:
    """``engine.fit.edit_gains`` measured in ``pe``'s crop mask instead of the face mask (a diagnostic)."""
    from engine.fit import edit_gains

    return edit_gains(pe.base_model, pe.model, pe.z, pe.labels, mask=pe.crop_mask())


def fitted_photo(pe, cfg, cache: Path | None, key: str):
    """(fitted PhotoEdit, FitResult, fit seconds): fitted now, or the same fit read back from ``cache``
    (its tuned decoder tensors and facts, ``engine.fit_state``) so that composites compare on one fit."""
    from engine.fit import fit_photo
    from engine.fit_state import fit_from_bytes, fit_to_bytes
    from engine.protocol.files import atomic_write

    tensors, facts = (cache / f"{key}.safetensors", cache / f"{key}.json") if cache else (None, None)
    if tensors is not None and tensors.is_file() and facts.is_file():
        f = json.loads(facts.read_text())
        r = fit_from_bytes(pe.model, tensors.read_bytes(), f, np.asarray(f["z"], np.float32), f["labels"])
        r.seconds = float(f["fit_s"])  # the first run's
        return pe.with_fit(r), r, f["fit_s"]
    t = time.perf_counter()
    fpe, r = fit_photo(pe, cfg)
    fit_s = time.perf_counter() - t
    if cache is not None and r.fitted:
        data, f = fit_to_bytes(r)
        cache.mkdir(parents=True, exist_ok=True)
        atomic_write(tensors, data)
        atomic_write(facts, json.dumps({**f, "z": r.z.tolist(), "labels": r.labels, "fit_s": fit_s}))
    return fpe, r, fit_s


def one_face(model, judge, ident, ident64, face64: np.ndarray, cfg, keep_pictures: bool, cache: Path | None = None, key: str = ""):
    from engine.photo import open_photo

    photo = up4(face64)
    pe = open_photo(model, photo, detector="centre")
    m = pe.alignment.matrix
    exact = bool(np.allclose(m, [[4.0, 0.0, 0.0], [0.0, 4.0, 0.0]]))
    crop_err = float(np.abs(pe.crop.astype(np.float32) - face64.astype(np.float32)).mean())
    fpe, r, fit_s = fitted_photo(pe, cfg, cache, key)
    variants = {v: variant(pe, v[2:]) if v.startswith("u-") else variant(fpe, v) for v in VARIANTS}  # u-: the unfitted photo
    before = {"decode": pe.reconstruction, "composite": down(photo), "fitted": down(photo), "fitted_decode": fpe.reconstruction,
              **{v: down(photo) for v in VARIANTS}}  # fmt: skip
    after = {p: [] for p in (*PATHS, *VARIANTS)}
    big = {"composite": [], "fitted": []}  # 256 px composites for identity
    dec = []
    for attr in ATTRS:
        for sign in SIGNS:
            z0, l0 = edits(pe, attr, sign)
            d0 = pe.model.decode(z0[None], labels=(l0 or pe.labels) or None)[0]
            after["decode"].append(d0)
            dec.append(d0)
            c0 = pe.composite(z0, labels=l0)
            big["composite"].append(c0)
            after["composite"].append(down(c0))
            zf, lf = edits(fpe, attr, sign)
            after["fitted_decode"].append(fpe.model.decode(zf[None], labels=(lf or fpe.labels) or None)[0])
            cf = fpe.composite(zf, labels=lf)
            big["fitted"].append(cf)
            after["fitted"].append(down(cf))
            for v, vpe in variants.items():
                cv = vpe.composite(z0 if v.startswith("u-") else zf, labels=l0 if v.startswith("u-") else lf)
                big.setdefault(v, []).append(cv)
                after[v].append(down(cv))
    judged = {p: {"before": judge.judge(before[p][None])[0].tolist(), "after": judge.judge(np.stack(after[p])).tolist()} for p in after}
    idist = {p: ident.distances(np.stack([photo] * len(big[p])), np.stack(big[p])).round(4).tolist() for p in big}
    idist["decode"] = ident64.distances(np.stack([pe.reconstruction] * len(dec)), np.stack(dec)).round(4).tolist()
    rec = {
        "centre_exact_4x": exact,
        "crop_vs_face_mean_abs": round(crop_err, 3),
        "psnr_before": round(r.psnr_before, 2),
        "psnr_after": round(r.psnr_after, 2),
        "fitted": bool(r.fitted),
        "fit_s": round(fit_s, 2),
        "gains": r.gains,
        "judged": judged,
        "identity": idist,
    }
    pics = None
    if keep_pictures:
        pics = {"photo": photo, "decode": after["decode"], "composite": big["composite"], "fitted": big["fitted"]}
    return rec, pics


def summarise(records: list[dict], labels: np.ndarray) -> dict:
    """Success per path × attribute × sign (judged-before and label eligibility), identity shares."""
    out = {}
    for p in (*PATHS, *VARIANTS):
        if p not in records[0]["judged"]:
            continue
        rows = {}
        for ai, attr in enumerate(ATTRS):
            for si, sign in enumerate(SIGNS):
                k = ai * len(SIGNS) + si
                want = sign > 0
                ok_j, n_j, ok_l, n_l = 0, 0, 0, 0
                ids = []
                for i, rec in enumerate(records):
                    jb = rec["judged"][p]["before"][ai]
                    ja = rec["judged"][p]["after"][k][ai]
                    if jb != want:  # judged on the other side before the edit
                        n_j += 1
                        ok_j += ja == want
                    if bool(labels[i, ai]) != want:
                        n_l += 1
                        ok_l += ja == want
                    if p in rec["identity"]:
                        ids.append(rec["identity"][p][k])
                row = {"success": ok_j / n_j if n_j else None, "n": n_j, "success_by_label": ok_l / n_l if n_l else None, "n_label": n_l}
                if ids:
                    row["identity_median"] = float(np.median(ids))
                    row["same_person"] = float(np.mean(np.asarray(ids) < DLIB_SAME_PERSON))
                rows[f"{attr}{'+' if sign > 0 else '-'}"] = row
        out[p] = rows
    return out


def markdown(summary: dict, n: int) -> str:
    pct = lambda v: "–" if v is None else f"{100 * v:.0f}"  # noqa: E731
    lines = [
        f"| edit (N = {n}) | decode: success (of) | composite, unfitted | composite, fitted | fitted − decode (pts) | "
        "by label: decode / fitted | fitted decode | identity < 0.6: fitted / unfitted comp. (median dist.) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key in summary["decode"]:
        d, c, f, fd = (summary[p][key] for p in PATHS[:4])
        diff = "–" if d["success"] is None or f["success"] is None else f"{100 * (f['success'] - d['success']):+.0f}"
        lines.append(
            f"| {key.replace('+', f' +{AMOUNT:g}σ').replace('-', f' −{AMOUNT:g}σ')} | {pct(d['success'])} % ({d['n']}) | {pct(c['success'])} % ({c['n']}) | "
            f"{pct(f['success'])} % ({f['n']}) | {diff} | {pct(d['success_by_label'])} / {pct(f['success_by_label'])} % ({d['n_label']}) | "
            f"{pct(fd['success'])} % ({fd['n']}) | {pct(f['same_person'])} % / {pct(c['same_person'])} % "
            f"({f['identity_median']:.2f} / {c['identity_median']:.2f}) |"
        )
    names = [p for p in (*PATHS, *VARIANTS) if p in summary]
    lines += ["", "| edit | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for key in summary["decode"]:
        lines.append(f"| {key} | " + " | ".join(f"{pct(summary[p][key]['success'])} % ({summary[p][key]['n']})" for p in names) + " |")
    ids = [p for p in names if "same_person" in summary[p][key]]
    lines += ["", "| edit: identity < 0.6 (median) | " + " | ".join(ids) + " |", "|---|" + "---|" * len(ids)]
    for key in summary["decode"]:
        lines.append(f"| {key} | " + " | ".join(f"{pct(summary[p][key]['same_person'])} % ({summary[p][key]['identity_median']:.2f})"
                                                 for p in ids) + " |")  # fmt: skip
    return "\n".join(lines)


def strip(pics: list[dict], path: Path) -> None:
    """Rows per face: the photo then the six edits (Eyeglasses ±, Male ±, Young ±) as the unfitted
    decode (64 px, 1.5× nearest), the unfitted composite and the fitted composite (256 px downscaled to 96), 256 colours."""
    tile = 96

    def t(im):
        return np.asarray(
            Image.fromarray(im).resize((tile, tile), Image.Resampling.LANCZOS if im.shape[0] > tile else Image.Resampling.NEAREST)
        )

    rows = []
    for p in pics:
        for kind in ("decode", "composite", "fitted"):
            first = t(p["photo"]) if kind != "decode" else np.full((tile, tile, 3), 255, np.uint8)
            tiles = [first] + [t(im) for im in p[kind]]
            rows.append(np.concatenate([np.pad(x, ((1, 1), (1, 1), (0, 0)), constant_values=255) for x in tiles], axis=1))
        rows.append(np.full((6, rows[-1].shape[1], 3), 255, np.uint8))
    from engine.protocol.files import atomic_output

    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(np.concatenate(rows, axis=0)).quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    with atomic_output(path) as tmp:
        image.save(tmp, format="PNG", optimize=True)  # a small picture for the docs


def config_fields(text: str) -> dict:
    """``KEY=VALUE,...`` → FitConfig keyword arguments, each value cast to the field's default's type."""
    from engine.fit import FitConfig

    base, out = FitConfig(), {}
    for item in filter(None, text.split(",")):
        k, v = item.split("=", 1)
        kind = type(getattr(base, k))
        out[k] = bool(int(v)) if kind is bool else tuple(filter(None, v.split("+"))) if kind is tuple else kind(v)
    return out


def main(argv=None) -> int:
    global AMOUNT, VARIANTS
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--steps", type=int, default=None, help="fit steps (default: FitConfig's)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads, the fit's too")
    ap.add_argument("--amount", type=float, default=AMOUNT, help="edit size in σ (the issue's target: 2)")
    ap.add_argument("--data", default="/work/data/faces_v2")
    ap.add_argument("--judge", default="/work/runs/judge/judge.safetensors")
    ap.add_argument("--json", help="write all figures here (rewritten after every face)")
    ap.add_argument("--strip", help="PNG of the first --strip-faces faces: photo and the six edits per path")
    ap.add_argument("--strip-faces", type=int, default=3)
    ap.add_argument("--variants", default="", help="more fitted composites, MASK-COLOUR[-sSOLID] comma-separated "
                    "(MASK face|crop|ones, COLOUR rgb|luma|gated, SOLID grey levels), e.g. crop-rgb,crop-rgb-s30; "
                    "a u- prefix composites the unfitted photo that way (u-crop-luma)")
    ap.add_argument("--fit-cache", help="folder: keep each face's fit there and reuse it (compare composites on one fit)")
    ap.add_argument("--config", default="", help="FitConfig fields for the fit, KEY=VALUE comma-separated "
                    "(e.g. attribute_change_weight=1,attribute_pool=1,pivot=typical); use its own --fit-cache")
    ap.add_argument("--start", type=int, default=0, help="skip the first faces")
    ap.add_argument("--time-budget", type=float, default=0, help="stop starting new faces after this many seconds (0: none)")
    a = ap.parse_args(argv)

    import torch

    import engine

    AMOUNT = float(a.amount)
    VARIANTS = tuple(v for v in a.variants.split(",") if v)
    from engine.fit import FitConfig
    from engine.protocol.files import atomic_write
    from engine.semantics.identity import DlibIdentity
    from engine.semantics.judge import load_judge

    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    model = engine.load_model(a.model, device="cpu")
    judge = load_judge(a.judge)
    assert tuple(judge.names) == ATTRS, judge.names
    cfg = FitConfig(threads=a.threads, **({"steps": a.steps} if a.steps is not None else {}), **config_fields(a.config))
    ident, ident64 = DlibIdentity(upscale=1), DlibIdentity(upscale=4)
    faces, labels = test_faces(Path(a.data), a.n)
    report = {"model": a.model, "n_requested": a.n, "data": f"{a.data} (test split)", "judge": a.judge, "amount_sigma": float(a.amount),
              "config": cfg.__dict__, "load_start": open("/proc/loadavg").read().split()[:3], "faces": []}  # fmt: skip
    pics = []
    for i, face in enumerate(faces):
        if a.time_budget and time.perf_counter() - t0 > a.time_budget:
            print(f"time budget reached after {i} faces", flush=True)
            break
        if i < a.start:
            continue
        key = f"{Path(a.model).stem}-{cfg.steps}-{i}"
        rec, p = one_face(model, judge, ident, ident64, face, cfg, bool(a.strip) and i < a.strip_faces,
                          Path(a.fit_cache) if a.fit_cache else None, key)  # fmt: skip
        report["faces"].append(rec)
        if p is not None:
            pics.append(p)
        print(f"face {i:3d}: {rec['psnr_before']:5.1f} -> {rec['psnr_after']:5.1f} dB, fit {rec['fit_s']:5.1f} s, "
              f"exact 4x {rec['centre_exact_4x']}, crop err {rec['crop_vs_face_mean_abs']:.2f}", flush=True)  # fmt: skip
        report["n"] = len(report["faces"])
        report["summary"] = summarise(report["faces"], labels[a.start:])
        report["load_end"] = open("/proc/loadavg").read().split()[:3]
        report["wall_s"] = round(time.perf_counter() - t0, 1)
        if a.json:
            atomic_write(a.json, json.dumps(report, indent=1, default=str))
    if pics and a.strip:
        strip(pics, Path(a.strip))
    n = len(report["faces"])
    print(markdown(report["summary"], n))
    fs = [r["fit_s"] for r in report["faces"]]
    pb = [r["psnr_before"] for r in report["faces"]]
    pa = [r["psnr_after"] for r in report["faces"]]
    print(f"faces {n}; fit {np.median(fs):.1f} s median; PSNR {np.median(pb):.1f} -> {np.median(pa):.1f} dB median; "
          f"centre exact 4x on {sum(r['centre_exact_4x'] for r in report['faces'])}/{n}; "
          f"crop vs face mean |diff| max {max(r['crop_vs_face_mean_abs'] for r in report['faces']):.2f}; "
          f"wall {time.perf_counter() - t0:.0f} s; load {open('/proc/loadavg').read().strip()}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
