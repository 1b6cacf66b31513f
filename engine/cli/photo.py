"""Subcommands of the photo workflow: ``edit`` (batch edit photos or folders) and ``bench-photo``.

``latent-studio edit PHOTO|DIR ... --attr Eyeglasses=+2 --attr Smiling=+1 --recipe R.json --out DIR``

Each photo: find and align the face, encode, apply the edit (the recipe's operations, then the
``--dim`` and ``--attr`` steps, in σ units as on the editor's sliders), composite the change at
full resolution, export to ``OUT/<name><suffix>.<ext>`` (EXIF kept, orientation reset).

Failures are skipped and reported, one line each on stderr (``skipped NAME: reason``) and under
``failures`` in ``--json``; photos in which the face finder found no face are also listed under
``no_face`` (they are refused, never edited on their centre square unless ``--detector centre``).
**Exit status**: 0 when at least one photo was written (even if others failed); 1 with the one
line ``error: no face found in FILE (--detector centre edits the centre square)`` when the only
photo (or every photo) has no face, nothing written; 2 with a one-line error when every photo
failed otherwise or there was nothing to edit, or on bad arguments (unknown attribute,
unreadable recipe) — checked before any photo is touched.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from engine.cli import args, command
from engine.cli.options import MAX_THREADS, int_in, number

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".bmp", ".gif")
OUT_FORMATS = {"png": ".png", "jpg": ".jpg", "jpeg": ".jpg", "webp": ".webp"}
RECIPE_MAX_BYTES = 16 * 2**20  # a recipe is a few KB of JSON


def _edit_args(p):
    p.add_argument("inputs", nargs="+", metavar="PHOTO|DIR", help="photos, or folders of photos (not recursive)")
    p.add_argument("--out", required=True, help="folder to write the edited photos to (created if missing); "
                   "for one photo also a file name (.png, .jpg, .jpeg, .webp)")
    p.add_argument("--attr", action="append", default=[], metavar="NAME=AMOUNT", help="σ along an attribute direction, e.g. Eyeglasses=+2 (repeatable)")
    p.add_argument("--dim", action="append", default=[], metavar="D=AMOUNT", help="σ along latent dimension D, e.g. 3=-1.5 (repeatable)")
    p.add_argument("--recipe", help="an edit recipe (.json) saved from the editor; applied before --dim/--attr")
    p.add_argument("--labels", metavar="NAME=VALUE,...", help="conditional models: decode with these labels (0..1; over the recipe's)")
    p.add_argument("--model", default="default", help="bundled name or checkpoint path")
    p.add_argument("--device", default="auto")
    p.add_argument("--format", default="same", choices=("same", *OUT_FORMATS), help="output format (same: the input's, PNG if it has none we write)")
    p.add_argument("--suffix", default="", help="appended to each output file's name, e.g. --suffix=-edited")
    p.add_argument("--detector", default="auto", choices=("auto", "dlib", "centre"),
                   help="face finder (auto = dlib; a photo without a face is refused) or centre: the centre square, no detection")
    p.add_argument("--face", type=int_in(0, 1000), default=None, help="which face when there are several (0 = best ranked; default)")
    p.add_argument("--quality", type=int_in(1, 100), default=95, help="JPEG/WebP quality 1..100")
    p.add_argument("--no-exif", action="store_true", help="do not copy EXIF metadata")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files (never the source photos)")
    p.add_argument("--fit", action="store_true", help="fit the model to each photo first (per-photo pivotal tuning, a few seconds each)")
    p.add_argument("--fit-threads", type=int_in(0, MAX_THREADS), default=0,
                   help="torch threads for --fit (0: the cores idle when it starts; a fit is the same for the same count, not across counts)")


def parse_steps(specs: list[str], kind: str) -> list[tuple[str, float]]:
    """``["Eyeglasses=+2", ...]`` → ``[("Eyeglasses", 2.0), ...]``; ValueError with the bad spec."""
    from engine.protocol import name_value_pairs

    out = []
    for spec in specs:
        try:
            out += [(name, number(value, -1000, 1000)) for name, value in name_value_pairs([spec], f"--{kind}", "")]
        except ValueError:
            raise ValueError(f"--{kind} {spec!r}: expected NAME=AMOUNT, e.g. {'Eyeglasses=+2' if kind == 'attr' else '3=-1.5'}") from None
    return out


def build_edit(recipe: str | None, dims: list[str], attrs: list[str]):
    """(stack, labels): the recipe's operations then the --dim/--attr steps; its labels (None
    without a recipe or when it has none)."""
    from engine.protocol import AttributeStep, DimensionStep, EditStack, read_recipe

    stack, labels = EditStack(), None
    if recipe:
        try:
            from engine.protocol.files import read_regular

            text = read_regular(recipe, "recipe", max_bytes=RECIPE_MAX_BYTES).decode("utf-8")
        except OSError as exc:  # missing, a folder, a FIFO (refused before a read could block), too big
            reason = str(exc).splitlines()[0].removeprefix(f"{Path(recipe).name}: ")
            raise ValueError(f"{Path(recipe).name}: cannot read the recipe ({reason})") from None
        except UnicodeDecodeError:
            raise ValueError(f"{Path(recipe).name}: cannot read the recipe (not UTF-8 text)") from None
        try:
            stack, labels = read_recipe(text)
        except ValueError as exc:
            raise ValueError(f"{Path(recipe).name}: {exc}") from None
    for name, amount in parse_steps(dims, "dim"):
        if not name.lstrip("-").isdigit():
            raise ValueError(f"--dim {name}={amount}: the dimension must be an integer")
        stack = stack.push(DimensionStep(dim=int(name), amount=amount))
    for name, amount in parse_steps(attrs, "attr"):
        stack = stack.push(AttributeStep(name=name, amount=amount))
    return stack, labels


def collect_photos(inputs: list[str]) -> list[Path]:
    """Files as given (whatever their suffix), and the image files directly inside folders, sorted."""
    photos: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():  # non-regular entries (a FIFO named x.jpg) are kept, to be refused and listed
            photos += sorted(p for p in path.iterdir() if not p.is_dir() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))
        else:
            photos.append(path)  # a missing file is reported as a failure of its own
    return photos


def check_suffix(suffix: str) -> str:
    """``--suffix`` goes into a file name: no folder separators, so every output stays in ``--out``."""
    if any(sep in suffix for sep in ("/", "\\", os.sep, os.altsep or "/")) or "\0" in suffix:
        raise ValueError(f"--suffix {suffix!r}: must not contain a path separator (outputs are written inside --out)")
    return suffix


def names_a_file(out: Path) -> bool:
    """``--out photo.png``: a file to write (one photo), not a folder to create."""
    return out.suffix.lower() in set(OUT_FORMATS.values()) | {".jpeg"} and not out.is_dir()


def output_path(photo: Path, out: Path, fmt: str, suffix: str) -> Path:
    if names_a_file(out):
        return out
    ext = OUT_FORMATS.get(fmt) if fmt != "same" else (photo.suffix.lower() if photo.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp") else ".png")
    return out / f"{photo.stem}{suffix}{ext}"


def edit_photos(model, photos: list[Path], stack, out_dir: Path, *, fmt: str = "same", suffix: str = "", detector: str = "auto",
                face: int | None = None, quality: int = 95, keep_exif: bool = True, overwrite: bool = False, progress: bool = True,
                report=None, labels: dict[str, float] | None = None, fit=None) -> dict:
    """Apply ``stack`` to every photo; never raises for one photo's failure. Returns
    ``{"written": [{"file", "out", "size", "faces"}...], "failures": [{"file", "error"}...],
    "no_face": [file...]}`` (``no_face``: the failures where no face was found). ``out_dir`` (or,
    when it names a file for one photo, its folder) is created when the first photo is written."""
    from tqdm import tqdm

    from engine.data.align import NoFaceError
    from engine.photo import open_photo
    from engine.photo_export import export_photo

    check_suffix(suffix)
    report = report or (lambda line: None)
    written, failed, no_face = [], [], []
    bar = tqdm(photos, desc="edit", unit="photo", disable=not progress, file=sys.stderr)
    for photo in bar:
        try:
            pe = open_photo(model, photo, detector=detector, face_index=face)
            if fit is not None:  # a FitConfig: the per-photo fit (engine.fit) renders the edit
                from engine.fit import fit_photo

                pe, _ = fit_photo(pe, fit)
            image = pe.composite(pe.edited_latent(edits=stack), labels=labels)
            target = output_path(photo, out_dir, fmt, suffix)
            target.parent.mkdir(parents=True, exist_ok=True)
            out = export_photo(image, target, pe.source, overwrite=overwrite, quality=quality, keep_exif=keep_exif)
            written.append({"file": str(photo), "out": out["path"], "size": list(out["size"]), "faces": len(pe.faces)})
            for note in out.get("warnings", ()):  # e.g. EXIF trimmed to fit a JPEG: the photo was written
                bar.write(f"warning {photo.name}: {note}", file=sys.stderr) if progress else report(f"warning {photo.name}: {note}")
        except Exception as exc:  # one bad photo never stops the batch
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            message = message.removeprefix(f"{photo.name}: ")  # the loader names the file already
            failed.append({"file": str(photo), "error": message})
            if isinstance(exc, NoFaceError):
                no_face.append(str(photo))
            line = f"skipped {photo.name}: {message}"
            if len(photos) == 1:
                pass  # the one photo's error is the command's one error line
            elif progress:
                bar.write(line, file=sys.stderr)
            else:
                report(line)
    bar.close()
    return {"written": written, "failures": failed, "no_face": no_face}


@command("edit", "edit photos (or folders of them) with attribute steps or a recipe; full resolution, EXIF kept")
@args(_edit_args)
def _edit(a):
    import engine

    check_suffix(a.suffix)
    stack, labels = build_edit(a.recipe, a.dim, a.attr)
    from engine.protocol import parse_labels

    labels = {**(labels or {}), **(parse_labels(a.labels) or {})} or None
    if stack.is_empty and not labels:
        raise ValueError("nothing to do: give --attr, --dim, --labels or --recipe")
    photos = collect_photos(a.inputs)
    if not photos:
        raise ValueError(f"no photos found in {', '.join(a.inputs)}")
    if not 1 <= a.quality <= 100:
        raise ValueError(f"--quality must be within 1..100, got {a.quality}")
    m = engine.load_model(a.model, device=a.device)
    import numpy as np

    from engine.fit import FitConfig

    stack.apply(np.zeros(m.latent_dim, np.float32), m.latent_stats.std, m.attributes)  # unknown attribute / dimension: fail now
    if labels:
        m.label_tensor(labels, 1)  # labels the model does not have, or an unconditional model: fail now
    out_dir = Path(a.out)
    if names_a_file(out_dir) and len(photos) != 1:
        raise ValueError(f"--out {out_dir.name} names one file, but {len(photos)} photos were given: give a folder")
    say = lambda line: print(line, file=sys.stderr)  # noqa: E731
    result = edit_photos(
        m, photos, stack, out_dir, fmt=a.format, suffix=a.suffix, detector=a.detector, face=a.face, quality=a.quality,
        keep_exif=not a.no_exif, overwrite=a.overwrite, progress=not a.quiet, report=say, labels=labels,
        fit=FitConfig(threads=a.fit_threads) if a.fit else None,
    )  # fmt: skip
    summary = {"edited": len(result["written"]), "failed": len(result["failures"]), "no_face": result["no_face"], "out": str(out_dir),
               "edit": stack.to_dict()["ops"], **({"labels": labels} if labels else {})}  # fmt: skip
    if not result["written"]:
        raise _nothing_edited(photos, result)
    if a.json:
        return {**summary, **result}
    return summary


def _nothing_edited(photos: list[Path], result: dict) -> Exception:
    """The command's one error when no photo was written: the photo's own error for one photo,
    the no-face error (exit status 1) when none had a face, else a summary (exit status 2)."""
    from engine.data.align import NoFaceError

    failures, no_face = result["failures"], result["no_face"]
    if len(no_face) == len(failures) == len(photos):
        return NoFaceError(no_face[0] if len(no_face) == 1 else f"any of the {len(no_face)} photos")
    if len(photos) == 1:
        return RuntimeError(failures[0]["error"] if photos[0].name in failures[0]["error"] else f"{photos[0].name}: {failures[0]['error']}")
    return RuntimeError(f"no photo was edited: all {len(photos)} failed (reasons above)")


def _bench_photo_args(p):
    p.add_argument("--model", default="default", help="bundled name or checkpoint path")
    p.add_argument("-n", type=int_in(1, 10_000), default=10, help="repetitions")
    p.add_argument("--width", type=int_in(64, 8000), default=4000)
    p.add_argument("--height", type=int_in(64, 8000), default=3000)
    p.add_argument("--threads", type=int_in(1, MAX_THREADS), default=1, help="torch threads (the editor's interactive budget is 1)")
    p.add_argument("--max-side", type=int_in(64, 8192), default=1024, help="preview size (long side of the face region)")
    p.add_argument("--array", action="store_true", help="start from pixels in memory instead of a JPEG file")
    p.add_argument("--detector", default="auto", choices=("auto", "dlib", "centre"))
    p.add_argument("--device", default="cpu")
    p.add_argument("--no-app", action="store_true", help="skip the one-shot measurement of the app's path (Engine + LoadModel + OpenPhoto + RenderEdit)")
    p.add_argument("--fit-steps", type=int_in(0, 20000), default=200, help="also time one per-photo fit of astronaut() with this many steps (0: skip)")
    p.add_argument("--fit-threads", type=int_in(0, MAX_THREADS), default=0, help="torch threads for the fit (0: the idle cores, as the editor's fit)")


@command("bench-photo", "latency of open → first edited preview on a synthetic 12-megapixel photo (p50/p95)")
@args(_bench_photo_args)
def _bench_photo(a):
    import engine
    from engine.bench.photo import bench_app_first_preview, bench_open_to_preview

    if a.n < 1:
        raise ValueError(f"-n must be positive, got {a.n}")
    # first, while this process has not loaded dlib: the app's own path, once
    app = None if a.no_app else bench_app_first_preview(a.model, a.width, a.height, a.max_side)
    m = engine.load_model(a.model, device=a.device)
    result = bench_open_to_preview(m, n=a.n, width=a.width, height=a.height, from_file=not a.array, max_side=a.max_side,
                                   detector=a.detector, threads=a.threads)  # fmt: skip
    if app is not None:
        result["app_first_preview"] = app
    if a.fit_steps:
        from engine.bench.photo import bench_fit

        result["fit"] = bench_fit(m, steps=a.fit_steps, threads=a.fit_threads)
    return result
