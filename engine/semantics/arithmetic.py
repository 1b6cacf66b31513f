"""Latent arithmetic, the notes' "man with glasses − man + woman = woman with glasses".

``result = A − B + C`` where each term is the mean posterior latent μ of

* one image or a set of images: ``a.png``, ``a.png,b.png``, a folder, or a glob ``faces/*.png``;
* a labelled group of a data set: ``attr:Male=1,Eyeglasses=1`` (±1 or 1/0; needs the data set's
  encodings, see :class:`engine.semantics.encoded.EncodedSet`);
* latents: ``z:FILE.npy`` (mean of its rows) or ``z:FILE.npy:ROW``;
* a prior sample: ``sample:SEED``.

Besides the mean, a term keeps its members, so ``A − B`` can also be added to each member of C
one by one (each woman without glasses gets her own glasses).
"""

from __future__ import annotations

import glob
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.protocol.files import read_regular

MAX_LATENT_FILE_BYTES = 256 * 2**20  # a million 64-d latents

MAX_TERM_IMAGES = 2000


@dataclass
class Term:
    spec: str
    mean: np.ndarray  # D
    members: np.ndarray  # n×D
    description: str

    @property
    def n(self) -> int:
        return int(len(self.members))


def parse_condition(text: str) -> dict[str, int]:
    """``Male=1,Eyeglasses=-1`` → {"Male": 1, "Eyeglasses": -1} (0 means −1)."""
    from engine.protocol.edits import name_value_pairs

    out = {}
    for name, value in name_value_pairs(text, "a condition", "Male=1,Eyeglasses=-1"):
        try:
            v = int(float(value))
        except ValueError:
            v = None
        if v not in (-1, 0, 1):
            raise ValueError(f"bad value in {name}={value}; use 1, 0 or -1")
        out[name] = 1 if v > 0 else -1
    if not out:
        raise ValueError("an attr: term needs at least one NAME=VALUE")
    return out


def select_group(encoded, conditions: dict[str, int]) -> np.ndarray:
    """Boolean mask of the encoded data set's items that meet every condition."""
    if encoded is None:
        raise ValueError("an attr: term needs a labelled data set (--data faces:DIR)")
    mask = np.ones(len(encoded), bool)
    for name, v in conditions.items():
        mask &= encoded.column(name) == v
    return mask


def image_paths(spec: str) -> list[Path]:
    paths: list[Path] = []
    from engine.data.datasets import IMAGE_SUFFIXES

    for part in filter(None, (p.strip() for p in spec.split(","))):
        if any(ch in part for ch in "*?["):
            found = sorted(Path(p) for p in glob.glob(part))
            if not found:
                raise ValueError(f"{part}: matches no files")
            paths += found
        elif Path(part).is_dir():
            found = sorted(p for p in Path(part).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise ValueError(f"{part}: a folder without images")
            paths += found
        else:
            paths.append(Path(part))
    if len(paths) > MAX_TERM_IMAGES:
        raise ValueError(f"{spec}: {len(paths)} images, more than {MAX_TERM_IMAGES} in one term")
    return paths


def resolve_term(spec: str, model, encoded=None) -> Term:
    """A term spec → its mean latent and members (see the module doc)."""
    spec = spec.strip()
    if not spec:
        raise ValueError("empty term")
    kind, _, rest = spec.partition(":")
    if kind == "attr":
        cond = parse_condition(rest)
        mask = select_group(encoded, cond)
        if not mask.any():
            raise ValueError(f"{spec}: no item of the data set has {rest}")
        members = encoded.mu[mask]
        return Term(spec, members.mean(0), members, f"{rest} ({int(mask.sum())} items)")
    if kind == "z":
        file, row = rest, ""
        if not os.path.exists(rest) and ":" in rest:
            file, _, row = rest.rpartition(":")
        try:  # a regular file of sane size first: a FIFO would block, a huge file exhaust memory
            z = np.load(io.BytesIO(read_regular(file, "latents file", max_bytes=MAX_LATENT_FILE_BYTES)), allow_pickle=False)
        except (OSError, ValueError, EOFError, MemoryError) as exc:
            raise ValueError(f"{file}: not a readable .npy of latents ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})") from None
        z = np.asarray(z, np.float32).reshape(-1, z.shape[-1]) if z.ndim else z
        if z.ndim != 2 or z.shape[1] != model.latent_dim:
            raise ValueError(f"{file}: latents must be N×{model.latent_dim}, got {tuple(np.shape(z))}")
        if row:
            try:
                z = z[int(row)][None]
            except (ValueError, IndexError):
                raise ValueError(f"{spec}: no row {row!r} in {len(z)} latents") from None
        return Term(spec, z.mean(0), z, f"{len(z)} latents from {Path(file).name}")
    if kind == "sample":
        try:
            seed = int(rest)
        except ValueError:
            raise ValueError(f"{spec}: write sample:SEED with an integer seed") from None
        z = model.sample_latents(1, seed=seed)
        return Term(spec, z[0], z, f"prior sample {seed}")
    from engine.data.align import crop_for_model
    from engine.data.images import load_image

    paths = image_paths(spec)  # each photo's face aligned as the editor aligns it; a crop at the model's size as it is
    z = np.concatenate([model.encode(crop_for_model(load_image(p), model.image_size, name=p.name)) for p in paths])
    what = paths[0].name if len(paths) == 1 else f"{len(paths)} images"
    return Term(spec, z.mean(0), z, what)


def latent_arithmetic(a: np.ndarray, b: np.ndarray, c: np.ndarray, amount: float = 1.0) -> np.ndarray:
    """``C + amount · (A − B)``; amount 1 is the notes' ``A − B + C``."""
    a, b, c = (np.asarray(v, np.float32) for v in (a, b, c))
    return (c + float(amount) * (a - b)).astype(np.float32)


def arithmetic_panel(model, a: Term, b: Term, c: Term, per_item: int = 8, seed: int = 0, amount: float = 1.0) -> tuple[np.ndarray, dict]:
    """Images for the panel: row 1 = [mean A, mean B, mean C, A − B + C]; when C has several
    members, row 2 = ``per_item`` of them (reconstructed), row 3 = each + (A − B)
    (``amount`` scales A − B). Returns (uint8 images in grid order, with ncol), and the latents used."""
    result = latent_arithmetic(a.mean, b.mean, c.mean, amount)
    top = model.decode(np.stack([a.mean, b.mean, c.mean, result]))
    out = {"result": result, "items": None, "edited": None}
    k = min(per_item, c.n)
    if k >= 2:
        idx = np.random.default_rng(seed).choice(c.n, size=k, replace=False) if c.n > k else np.arange(k)
        items = c.members[idx]
        edited = items + float(amount) * (a.mean - b.mean)[None]
        out["items"], out["edited"] = items, edited
        ncol = max(4, k)
        blank = np.full((ncol - 4,) + top.shape[1:], 255, np.uint8)
        images = np.concatenate([top, blank, model.decode(items), model.decode(edited)]) if ncol > 4 else np.concatenate([top, model.decode(items), model.decode(edited)])
        return images, {**out, "ncol": ncol}
    return top, {**out, "ncol": 4}
