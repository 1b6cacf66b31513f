"""``latent-studio fit PHOTO --out DIR``: the per-photo fit of :mod:`engine.fit`, from the command line.

Finds and aligns the face (as ``edit`` does), fits a copy of the model's decoder to the crop and
writes ``DIR/aligned.png`` (the aligned crop at the model's resolution), ``DIR/before.png`` and
``DIR/after.png`` (the pivot's reconstruction before and after the fit). Reports
``psnr_before``, ``psnr_after``, ``seconds`` and ``steps``. No face: exit status 1, one line,
nothing written. A fit that diverges keeps the unfitted model and says so (``after.png`` is then
the unfitted reconstruction).
"""

from __future__ import annotations

import sys
from pathlib import Path

from engine.cli import args, command
from engine.cli.options import MAX_THREADS, float_in, int_in

FIT_FILES = ("aligned.png", "before.png", "after.png")


def _fit_args(p):
    p.add_argument("photo", help="a photo with a face")
    p.add_argument("--out", required=True, help="folder to write aligned.png, before.png and after.png to (created if missing)")
    p.add_argument("--model", default="default", help="bundled name or checkpoint path")
    p.add_argument("--steps", type=int_in(0, 20000), default=None, help="optimisation steps (default 200)")
    p.add_argument("--lr", type=float_in(0.0, 1.0, above=True), default=None, help="Adam learning rate (default 2e-3)")
    p.add_argument(
        "--pivot",
        default="encoded",
        choices=("encoded", "typical"),
        help="encoded: the encoder's latent (cGAN: refined); typical: pulled into the prior's typical radius (editable)",
    )
    p.add_argument(
        "--detector", default="auto", choices=("auto", "dlib", "centre"), help="face finder (centre: the centre square, no detection)"
    )
    p.add_argument("--face", type=int_in(0, 1000), default=None, help="which face when there are several (0 = best ranked; default)")
    p.add_argument("--overwrite", action="store_true", help="replace existing files in --out")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    p.add_argument(
        "--threads",
        type=int_in(0, MAX_THREADS),
        default=0,
        help="torch threads for the fit (default 0: the idle cores, at most 4; with other work on the cores more threads were 20x slower here)",
    )


def fit_config(steps: int | None = None, lr: float | None = None, pivot: str = "encoded", threads: int = 0):
    from engine.fit import FitConfig

    kw = {k: v for k, v in (("steps", steps), ("lr", lr)) if v is not None}
    return FitConfig(pivot=pivot, threads=threads, **kw)


@command("fit", "per-photo fit (pivotal tuning): tune a copy of the decoder so that the photo's latent reproduces its face")
@args(_fit_args)
def _fit(a):
    from tqdm import tqdm

    import engine
    from engine.fit import fit
    from engine.photo import open_photo
    from engine.protocol.files import atomic_output

    cfg = fit_config(a.steps, a.lr, a.pivot, a.threads)
    out = Path(a.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out}: not a folder")
    existing = [n for n in FIT_FILES if (out / n).exists()]
    if existing and not a.overwrite:
        raise ValueError(f"{out / existing[0]} already exists (use --overwrite to replace it)")
    model = engine.load_model(a.model, device=a.device)
    pe = open_photo(model, a.photo, detector=a.detector, face_index=a.face)  # NoFaceError: exit 1, nothing written
    bar = tqdm(total=cfg.steps, desc="fit", unit="step", disable=a.quiet, file=sys.stderr)

    def progress(p):
        bar.update(p.step - bar.n)
        bar.set_postfix_str(f"{p.psnr_db:.1f} dB")

    try:
        result = fit(model, pe.crop, config=cfg, progress=progress)
    finally:
        bar.close()
    if result.message:
        print(f"warning: {result.message}", file=sys.stderr)
    from PIL import Image

    out.mkdir(parents=True, exist_ok=True)
    for name, image in zip(FIT_FILES, (pe.crop, result.before, result.after)):
        with atomic_output(out / name) as tmp:
            Image.fromarray(image).save(tmp, format="PNG")
    return {
        "photo": str(a.photo), "out": str(out), "files": [str(out / n) for n in FIT_FILES], "model": a.model, "face": pe.face.method,
        "psnr_before": round(result.psnr_before, 2), "psnr_after": round(result.psnr_after, 2), "seconds": round(result.seconds, 2),
        "steps": result.steps, "fitted": result.fitted, "pivot": cfg.pivot, **({"message": result.message} if result.message else {}),
    }  # fmt: skip
