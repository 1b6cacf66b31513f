"""A small standalone file of named latent directions (``.safetensors``, nothing pickled).

Used for exporting/importing a checkpoint's attribute directions and for the user's own
attributes. Layout:

    tensors   ``dir.<name>``  float32 (D,)  one direction per name
              ``aux.<key>``   float32 (any) optional arrays (e.g. the tagged latents of a user attribute)
    metadata  ``{"latent_studio_directions": JSON}`` with ``format``, ``format_version``,
              ``latent_dim``, ``model`` (name and fingerprint of the model the directions
              belong to, when known) and free ``info`` (per-direction metrics, ...).

A direction only means something in the latent space it came from: :func:`read_directions`
rejects a latent size that does not match, and :func:`model_fingerprint` lets a caller notice
a different model of the same size.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from engine.checkpoint import metadata_json, read_safetensors

FORMAT = "latent-studio/directions"
FORMAT_VERSION = 1
META_KEY = "latent_studio_directions"
MAX_FILE_BYTES = 64 * 2**20  # directions files are small; anything bigger is not one


class DirectionsFileError(ValueError):
    """A file that is not a usable directions file; the message says why."""


def model_fingerprint(ckpt) -> str:
    """A short hash of a checkpoint's weights (its latent space's identity)."""
    h = hashlib.sha1()
    for key in sorted(ckpt.state):
        t = ckpt.state[key]
        h.update(key.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def write_directions(
    path: str | os.PathLike,
    directions: dict[str, np.ndarray],
    *,
    model: dict[str, Any] | None = None,
    info: dict[str, Any] | None = None,
    aux: dict[str, np.ndarray] | None = None,
) -> Path:
    import torch

    from engine.checkpoint import write_safetensors

    if not directions:
        raise DirectionsFileError("no directions to write")
    dims = {np.asarray(v).shape for v in directions.values()}
    if len(dims) != 1 or len(next(iter(dims))) != 1:
        raise DirectionsFileError(f"directions must all be 1-D of one length, got shapes {sorted(dims)}")
    tensors = {}
    for name, v in directions.items():
        _check_name(name)
        arr = np.ascontiguousarray(v, dtype=np.float32)
        if not np.isfinite(arr).all():
            raise DirectionsFileError(f"direction {name!r} contains NaN or infinity")
        tensors[f"dir.{name}"] = torch.from_numpy(arr.copy())
    for key, v in (aux or {}).items():
        tensors[f"aux.{key}"] = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32).copy())
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "latent_dim": int(next(iter(dims))[0]),
        "names": list(directions),
        "model": model or {},
        "info": info or {},
    }
    return write_safetensors(tensors, path, {META_KEY: json.dumps(meta)})


def read_directions(path: str | os.PathLike, latent_dim: int | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, np.ndarray]]:
    """→ (directions, metadata, aux arrays). Raises :class:`DirectionsFileError` naming the problem."""
    path = Path(path)
    name = path.name
    tensors, raw_meta = read_safetensors(path, "directions", DirectionsFileError, framework="numpy", max_bytes=MAX_FILE_BYTES)
    if META_KEY not in raw_meta:
        hint = " (a model checkpoint? use it as --model)" if "latent_studio" in raw_meta else ""
        raise DirectionsFileError(f"{name}: not a Latent Studio directions file{hint}")
    meta = metadata_json(raw_meta[META_KEY], name, DirectionsFileError)
    if meta.get("format") != FORMAT:
        raise DirectionsFileError(f"{name}: unknown format {str(meta.get('format'))[:60]!r}")
    if meta.get("format_version", 1) > FORMAT_VERSION:
        raise DirectionsFileError(f"{name}: format version {meta.get('format_version')} is newer than this Latent Studio")
    directions = {k[4:]: v.astype(np.float32) for k, v in tensors.items() if k.startswith("dir.")}
    aux = {k[4:]: v.astype(np.float32) for k, v in tensors.items() if k.startswith("aux.")}
    if not directions:
        raise DirectionsFileError(f"{name}: holds no directions")
    d = meta.get("latent_dim")
    if isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 1024:
        raise DirectionsFileError(f"{name}: latent_dim must be an integer within 1..1024, got {str(d)[:40]}")
    for k, v in directions.items():
        if v.shape != (d,):
            raise DirectionsFileError(f"{name}: direction {k!r} has shape {tuple(v.shape)}, expected ({d},)")
        if not np.isfinite(v).all():
            raise DirectionsFileError(f"{name}: direction {k!r} contains NaN or infinity")
    if latent_dim is not None and d != int(latent_dim):
        raise DirectionsFileError(f"{name}: directions are {d}-dimensional but the model's latent has {latent_dim} dimensions")
    return directions, meta, aux


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > 100 or any(c in name for c in "\n\r\t\0"):
        raise DirectionsFileError(f"bad direction name {name!r} (1–100 printable characters)")
