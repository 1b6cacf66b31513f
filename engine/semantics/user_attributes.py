"""Your own attributes: tag a handful (5–20) of photos or samples as *with* / *without*, name it,
and get a direction at once.

The direction is the mean difference ``m_with − m_without`` of the tagged latents — the same
convention as the checkpoint's attributes (its length is the gap between the two groups), so
it can be used with the same σ-unit sliders (``traverse.attribute_axis``). What is normalised:

* each side is averaged, so 3 photos with and 12 without weigh the same as 6 and 6;
* with so few examples the gap is dominated by who was tagged, so the file also records
  ``loo_accuracy`` (leave-one-out: is each tagged latent on its own side when the direction is
  computed without it?) and ``gap_sigma`` (the gap in units of the data's σ along it, when the
  model's latent statistics are given) — a weak or inconsistent attribute shows up there.

Saved as one small directions file per attribute in ``<user data>/attributes/`` where the user
data folder is ``platformdirs.user_data_dir("latent-studio")`` or ``$LATENT_STUDIO_DATA_DIR``.
The tagged latents travel in the file too (``aux.with``, ``aux.without``), so an attribute can
be re-tagged later. Export is a copy of that file; import validates it first.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from engine.protocol.files import atomic_write, read_regular
from engine.semantics.direction_files import DirectionsFileError, read_directions, write_directions

ENV_DATA = "LATENT_STUDIO_DATA_DIR"
MIN_PER_SIDE = 2
MAX_TAGGED = 500
KIND = "user-attribute"


def data_dir() -> Path:
    env = os.environ.get(ENV_DATA)
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_data_dir("latent-studio"))


def attributes_dir() -> Path:
    return data_dir() / "attributes"


def slug(name: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_.-]+", "-", name.strip()).strip("-.")
    if not s:
        raise ValueError(f"attribute name {name!r} has no usable characters")
    return s[:80]


@dataclass
class UserAttribute:
    name: str
    direction: np.ndarray  # D
    with_latents: np.ndarray  # n₊×D
    without_latents: np.ndarray  # n₋×D
    loo_accuracy: float
    gap_sigma: float | None = None
    model: dict | None = None
    created: float = 0.0

    @property
    def latent_dim(self) -> int:
        return int(self.direction.shape[0])

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "latent_dim": self.latent_dim,
            "n_with": int(len(self.with_latents)),
            "n_without": int(len(self.without_latents)),
            "loo_accuracy": round(self.loo_accuracy, 4),
            "gap_sigma": None if self.gap_sigma is None else round(self.gap_sigma, 4),
            "model": self.model or {},
            "created": self.created,
        }


def _as_latents(z, what: str) -> np.ndarray:
    z = np.asarray(z, np.float32)
    if z.ndim == 1:
        z = z[None]
    if z.ndim != 2:
        raise ValueError(f"{what}: expected latents shaped N×D, got {tuple(z.shape)}")
    if not np.isfinite(z).all():
        raise ValueError(f"{what}: latents contain NaN or infinity")
    return z


def leave_one_out_accuracy(pos: np.ndarray, neg: np.ndarray) -> float:
    """Share of tagged latents on their own side of the mid-point when left out of the direction."""
    hits, total = 0, 0
    for side, group, other in ((1, pos, neg), (-1, neg, pos)):
        for i in range(len(group)):
            rest = np.delete(group, i, axis=0)
            mp, mn = (rest, other) if side > 0 else (other, rest)
            d = mp.mean(0) - mn.mean(0)
            mid = 0.5 * (mp.mean(0) + mn.mean(0))
            hits += int(np.sign((group[i] - mid) @ d) == side)
            total += 1
    return hits / max(total, 1)


def make_user_attribute(name: str, with_latents, without_latents, std: np.ndarray | None = None, model: dict | None = None) -> UserAttribute:
    slug(name)
    pos, neg = _as_latents(with_latents, "with"), _as_latents(without_latents, "without")
    if pos.shape[1] != neg.shape[1]:
        raise ValueError(f"'with' latents have {pos.shape[1]} dimensions, 'without' {neg.shape[1]}")
    if len(pos) < MIN_PER_SIDE or len(neg) < MIN_PER_SIDE:
        raise ValueError(f"tag at least {MIN_PER_SIDE} examples on each side (got {len(pos)} with, {len(neg)} without)")
    if len(pos) + len(neg) > MAX_TAGGED:
        raise ValueError(f"at most {MAX_TAGGED} tagged examples")
    d = (pos.mean(0) - neg.mean(0)).astype(np.float32)
    if float(np.linalg.norm(d)) < 1e-8:
        raise ValueError("the two groups have the same mean latent: no direction")
    gap = None
    if std is not None:
        from engine.semantics.orthogonal import sigma_along

        gap = float(np.linalg.norm(d)) / max(sigma_along(d, std), 1e-12)
    return UserAttribute(name, d, pos, neg, leave_one_out_accuracy(pos, neg), gap, model, time.time())


def _write(attr: UserAttribute, path: Path) -> Path:
    return write_directions(
        path, {attr.name: attr.direction}, model=attr.model,
        info={"kind": KIND, **{k: v for k, v in attr.summary().items() if k != "model"}},
        aux={"with": attr.with_latents, "without": attr.without_latents},
    )  # fmt: skip


def _read(path: Path, latent_dim: int | None = None) -> UserAttribute:
    dirs, meta, aux = read_directions(path, latent_dim)
    info = meta.get("info", {})
    if info.get("kind") != KIND or len(dirs) != 1:
        raise DirectionsFileError(f"{Path(path).name}: a directions file, but not a user attribute")
    (name, d), = dirs.items()
    d_ = d.shape[0]
    return UserAttribute(
        name, d, aux.get("with", np.zeros((0, d_), np.float32)), aux.get("without", np.zeros((0, d_), np.float32)),
        float(info.get("loo_accuracy", float("nan"))), info.get("gap_sigma"), meta.get("model") or None, float(info.get("created", 0.0)),
    )  # fmt: skip


def save_user_attribute(attr: UserAttribute, overwrite: bool = True) -> Path:
    path = attributes_dir() / f"{slug(attr.name)}.safetensors"
    if path.exists() and not overwrite:
        raise ValueError(f"a user attribute {attr.name!r} already exists")
    return _write(attr, path)


def load_user_attribute(name: str, latent_dim: int | None = None) -> UserAttribute:
    path = attributes_dir() / f"{slug(name)}.safetensors"
    if not path.exists():
        raise ValueError(f"no user attribute {name!r} (in {attributes_dir()})")
    return _read(path, latent_dim)


def list_user_attributes(latent_dim: int | None = None) -> list[UserAttribute]:
    """Every readable user attribute (of this latent size, if given), by name; broken files are skipped."""
    out = []
    folder = attributes_dir()
    for path in sorted(folder.glob("*.safetensors")) if folder.is_dir() else []:
        try:
            out.append(_read(path, latent_dim))
        except DirectionsFileError:
            continue
    return sorted(out, key=lambda a: a.name.lower())


def delete_user_attribute(name: str) -> None:
    path = attributes_dir() / f"{slug(name)}.safetensors"
    if not path.exists():
        raise ValueError(f"no user attribute {name!r}")
    path.unlink()


def export_user_attribute(name: str, dest: str | os.PathLike) -> Path:
    load_user_attribute(name)  # validates
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(dest, read_regular(attributes_dir() / f"{slug(name)}.safetensors", "user attribute"))
    return dest


def import_user_attribute(path: str | os.PathLike, name: str | None = None, overwrite: bool = False, latent_dim: int | None = None) -> UserAttribute:
    attr = _read(Path(path), latent_dim)
    if name:
        attr.name = name
    save_user_attribute(attr, overwrite=overwrite)
    return attr
