"""Checkpoints: one ``.safetensors`` file, nothing pickled.

Tensors:
    ``model.<name>``      the module's state dict
    ``attr.<name>``       a named attribute direction (D)
    ``stats.mean|std|kl`` per-dimension latent statistics (D)
    ``extra.<name>``      any other array a family or tool needs (e.g. PCA axes)
Metadata: ``{"latent_studio": JSON}`` with format version, family, config, image size,
channels, label names, data description and metrics. A file that is not such a checkpoint
gets a :class:`CheckpointError` that names what is wrong.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.models import registry
from engine.protocol.files import atomic_output, open_regular

FORMAT = "latent-studio/checkpoint"
FORMAT_VERSION = 1
META_KEY = "latent_studio"


class CheckpointError(ValueError):
    """A file that is not a usable Latent Studio checkpoint; the message says why."""


@dataclass
class Checkpoint:
    family: str
    config: Any  # the family's frozen config dataclass
    state: dict[str, torch.Tensor]
    labels: list[str] = field(default_factory=list)
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    stats: dict[str, np.ndarray] = field(default_factory=dict)  # mean, std, kl
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)  # data, metrics, training: free JSON

    @property
    def latent_dim(self) -> int:
        return int(self.config.latent_dim)

    def build(self) -> torch.nn.Module:
        """Rebuild the module and load the weights, strictly."""
        module = registry.build(self.family, self.config)
        try:
            module.load_state_dict(self.state, strict=True)
        except RuntimeError as exc:
            first = str(exc).splitlines()[0]
            detail = " ".join(str(exc).split())[:300]
            raise CheckpointError(f"weights do not match the {self.family} config: {first} {detail[len(first):]}".strip()) from None
        return module


def save(ckpt: Checkpoint, path: str | os.PathLike) -> Path:
    """Write the checkpoint atomically."""
    tensors: dict[str, torch.Tensor] = {f"model.{k}": v.detach().cpu().contiguous() for k, v in ckpt.state.items()}
    for prefix, arrays in (("attr", ckpt.attributes), ("stats", ckpt.stats), ("extra", ckpt.extra)):
        for name, arr in arrays.items():
            tensors[f"{prefix}.{name}"] = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "family": ckpt.family,
        "config": asdict(ckpt.config),
        "image_size": ckpt.config.image_size,
        "channels": ckpt.config.channels,
        "latent_dim": ckpt.latent_dim,
        "labels": list(ckpt.labels),
        "attributes": sorted(ckpt.attributes),
        "info": ckpt.info,
    }
    return write_safetensors(tensors, path, {META_KEY: json.dumps(meta)})


def write_safetensors(tensors: dict[str, torch.Tensor], path: str | os.PathLike, metadata: dict[str, str]) -> Path:
    """Written through the one atomic writer: a kill or a full disk at any moment leaves either
    the old file or the new one, never half of one."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return path


def looks_like_pickle(head: bytes, size: int) -> bool:
    """A pickle / torch.save zip, judged from a file's first 9 bytes. A safetensors file starts with
    its header length (u64, little-endian) and then ``{``; that length's first byte may be 0x80 (as
    a pickle's is), so the safetensors shape is checked first."""
    if len(head) >= 9 and head[8:9] == b"{" and 0 < int.from_bytes(head[:8], "little") <= size - 8:
        return False
    return head[:1] == b"\x80" or head[:2] == b"PK"


def read_safetensors(path: str | os.PathLike, kind: str, error: type[Exception], framework: str = "pt", max_bytes: int | None = None):
    """The one way to open a ``.safetensors`` file a user hands us (checkpoints, directions files,
    judges): it must exist, be a file, not be a pickle and be readable. Returns (tensors, raw
    metadata dict); failures raise ``error`` with one line naming the file and the problem."""
    path = Path(path)
    name = path.name
    if not path.exists():
        raise error(f"{name}: no such {kind} file")
    if path.is_dir():
        raise error(f"{name}: is a folder, not a {kind} file")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        raise error(f"{name}: {size / 2**20:.0f} MiB is too big for a {kind} file")
    try:
        with open_regular(path, f"{kind} file") as f:  # a FIFO would block the read forever
            head = f.read(9)
    except OSError as exc:
        raise error(str(exc).splitlines()[0]) from None
    if looks_like_pickle(head, size):
        raise error(f"{name}: a pickle/torch.save file; only .safetensors {kind} files are accepted (pickles can run code)")
    import importlib

    from safetensors import safe_open

    load_file = importlib.import_module(f"safetensors.{'torch' if framework == 'pt' else framework}").load_file
    try:
        with safe_open(str(path), framework=framework) as f:
            raw_meta = f.metadata() or {}
        tensors = load_file(str(path))
    except Exception as exc:  # safetensors raises its own error types
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise error(f"{name}: not a readable safetensors file ({reason})") from None
    return tensors, raw_meta


def load(path: str | os.PathLike) -> Checkpoint:
    """Read and validate a checkpoint; never unpickles. Every metadata field is checked for type
    and range, the config against the tensors' shapes (before any module is built, so a small file
    cannot ask for gigabytes) and every tensor for finiteness."""
    path = Path(path)
    name = path.name
    tensors, raw_meta = read_safetensors(path, "checkpoint", CheckpointError)
    if META_KEY not in raw_meta:
        raise CheckpointError(f"{name}: a safetensors file without Latent Studio metadata (not one of our checkpoints)")
    meta = metadata_json(raw_meta[META_KEY], name, CheckpointError)
    try:
        family, config, labels, info = _read_meta(meta)
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{name}: {exc}") from None

    def group(prefix: str) -> dict[str, torch.Tensor]:
        p = prefix + "."
        return {k[len(p) :]: v for k, v in tensors.items() if k.startswith(p)}

    for key, t in tensors.items():  # a float64 sum of finite float32/16 values cannot overflow: NaN/inf show through it
        if t.is_floating_point() and not math.isfinite(float(t.sum(dtype=torch.float64))):
            raise CheckpointError(f"{name}: tensor {key} holds NaN or infinite values (a diverged or damaged model)")
    state = group("model")
    if not state:
        raise CheckpointError(f"{name}: holds no model weights")
    check_shapes(family, config, state, name)
    d = int(config.latent_dim)
    arrays = {}
    for prefix in ("attr", "stats", "extra"):
        arrays[prefix] = {k: v.float().numpy() for k, v in group(prefix).items()}
    for kind in ("attr", "stats"):
        for k, v in arrays[kind].items():
            if v.shape != (d,):
                raise CheckpointError(f"{name}: {kind}.{k} has shape {tuple(v.shape)}, expected ({d},) for latent_dim {d}")
    for k, v in arrays["extra"].items():
        rule = EXTRA_SHAPES.get(k) or EXTRA_SHAPES.get(k.split(".")[0] + ".*")
        if rule is not None and not rule[0](v.shape, d):
            raise CheckpointError(f"{name}: extra.{k} has shape {tuple(v.shape)}, expected {rule[1]} for latent_dim {d}")
    extra = arrays["extra"]
    if "pca.axes" in extra and "pca.variance" in extra and extra["pca.axes"].size != extra["pca.variance"].size * d:
        raise CheckpointError(f"{name}: extra.pca.axes and extra.pca.variance disagree on the number of axes")
    return Checkpoint(family=family, config=config, state=state, labels=labels, attributes=arrays["attr"], stats=arrays["stats"],
                      extra=arrays["extra"], info=info)  # fmt: skip


def metadata_json(text: str, name: str, error: type[Exception]) -> dict:
    """The JSON object in a safetensors file's metadata (checkpoints, judges, directions files);
    anything else, however deep or malformed, is ``error`` with one line."""
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{name}: metadata is not valid JSON ({exc.msg})") from None
    except RecursionError:
        raise error(f"{name}: metadata is not valid JSON (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer past Python's digit limit
        raise error(f"{name}: metadata is not valid JSON ({str(exc).splitlines()[0][:100]})") from None
    if not isinstance(meta, dict):
        raise error(f"{name}: metadata must be a JSON object, got {type(meta).__name__}")
    version = meta.get("format_version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise error(f"{name}: format_version must be a positive integer, got {str(version)[:40]}")
    return meta


#: Shapes of the extra arrays that code reads (D: latent_dim, K: a number of axes up to D); other
#: extras are free-form. (rule(shape, D), what the message says)
EXTRA_SHAPES = {
    "prior_mean": (lambda s, d: s == (d,), "(D,)"),
    "prior_chol": (lambda s, d: s == (d, d), "(D, D)"),
    "pca.mean": (lambda s, d: s == (d,), "(D,)"),
    "pca.variance": (lambda s, d: len(s) == 1 and 1 <= s[0] <= d, "(K,) with K ≤ D"),
    "pca.axes": (lambda s, d: (len(s) == 2 and 1 <= s[0] <= d and s[1] == d) or (len(s) == 1 and 0 < s[0] <= d * d and s[0] % d == 0), "(K, D)"),
    "classifier.*": (lambda s, d: s == (d + 1,), "(D+1,): weights and bias"),
}


def _read_meta(meta: dict) -> tuple[str, Any, list[str], dict]:
    """(family, config, labels, info) from the metadata JSON; ValueError/TypeError says what is wrong."""
    if meta.get("format") != FORMAT:
        raise ValueError(f"unknown format {str(meta.get('format'))[:60]!r}")
    version = meta.get("format_version", FORMAT_VERSION)
    if version > FORMAT_VERSION:
        raise ValueError(f"format version {version} is newer than this Latent Studio ({FORMAT_VERSION})")
    for key in ("family", "config"):
        if key not in meta:
            raise ValueError(f"metadata lacks {key!r}")
    family = meta["family"]
    if not isinstance(family, str):
        raise ValueError(f"family must be a string, got {type(family).__name__}")
    if not isinstance(meta["config"], dict):
        raise ValueError(f"config must be a JSON object, got {type(meta['config']).__name__}")
    try:
        config = registry.config_from_dict(family, dict(meta["config"]))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"bad config: {str(exc)[:200]}") from None
    labels = meta.get("labels", [])
    if not isinstance(labels, list) or not all(isinstance(v, str) and 0 < len(v) <= 200 for v in labels) or len(set(labels)) != len(labels):
        raise ValueError("labels must be a list of distinct, non-empty names")
    if registry.family(family).conditional and labels and len(labels) != config.label_dim:
        raise ValueError(f"{len(labels)} label names for a model with label_dim {config.label_dim}")
    info = meta.get("info", {})
    if not isinstance(info, dict):
        raise ValueError(f"info must be a JSON object, got {type(info).__name__}")
    for key in ("realism", "reject"):  # calibrations the realism gauge and classify read
        if info.get(key):
            from engine.likelihood import Calibration

            try:
                Calibration.from_dict(info[key])
            except (TypeError, ValueError) as exc:
                raise ValueError(f"info.{key}: {exc}") from None
    for key in ("pca", "attributes"):
        if not isinstance(info.get(key, {}), dict):
            raise ValueError(f"info.{key} must be a JSON object")
    return family, config, list(labels), info


def check_shapes(family: str, config, state: dict[str, torch.Tensor], name: str) -> None:
    """The config's module, built on the meta device (no memory), must have exactly these
    weights with these shapes; else CheckpointError naming the first difference."""
    with torch.device("meta"):
        expected = registry.build(family, config).state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        what = f"lacks model.{missing[0]}" if missing else f"has an unexpected model.{unexpected[0]}"
        raise CheckpointError(f"{name}: weights do not match the {family} config: {what} ({len(missing)} missing, {len(unexpected)} unexpected)")
    for key, t in expected.items():
        if tuple(state[key].shape) != tuple(t.shape):
            raise CheckpointError(f"{name}: weights do not match the {family} config: model.{key} is {tuple(state[key].shape)}, "
                                  f"the config needs {tuple(t.shape)}")  # fmt: skip
