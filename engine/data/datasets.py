"""Data sets, all held in memory as one uint8 tensor (N×C×S×S) for fast CPU training.

Specs on the command line: ``folder:DIR``, ``celeba:DIR``, ``faces:DIR`` (the built-in face set,
which is written in the CelebA layout), ``fashion-mnist``. Splits are deterministic: CelebA's
``list_eval_partition.txt`` when present, else a hash of each file name (stable when files are
added), so train/val/test never mix between runs.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from engine.data.images import ImageLoadError, load_image, to_model_input
from engine.protocol.files import read_regular

SPLITS = {"train": 0, "val": 1, "test": 2}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


class DatasetError(ValueError):
    pass


@dataclass
class ImageSet:
    """Images (uint8 N×C×S×S), optional labels (N×A, ±1 or class ids), their names, and a description."""

    images: torch.Tensor
    labels: np.ndarray | None = None
    label_names: list[str] = field(default_factory=list)
    description: str = ""
    skipped: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def subset(self, index: np.ndarray) -> "ImageSet":
        index = np.asarray(index)
        labels = None if self.labels is None else self.labels[index]
        return ImageSet(self.images[torch.from_numpy(index)], labels, self.label_names, self.description)

    def batches(self, batch_size: int, device: torch.device | str = "cpu"):
        """Float batches in [0,1], in order (for evaluation)."""
        for i in range(0, len(self), batch_size):
            yield self.images[i : i + batch_size].to(device).float().div_(255.0)


def hash_split(name: str) -> int:
    """0 train (80 %), 1 val (10 %), 2 test (10 %), from a stable hash of the name."""
    bucket = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) % 10
    return 0 if bucket < 8 else (1 if bucket == 8 else 2)


def _load_files(paths: list[Path], size: int, channels: int, progress: bool) -> tuple[torch.Tensor, list[int], list[str]]:
    from tqdm import tqdm

    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    kept, skipped = [], []
    for i, path in enumerate(tqdm(paths, desc="loading images", unit="img", disable=not progress, leave=False)):
        try:
            out[len(kept)] = to_model_input(load_image(path, working_side=2 * size), size)  # a big photo is decoded small
            kept.append(i)
        except ImageLoadError as exc:
            skipped.append(str(exc))
    arr = torch.from_numpy(out[: len(kept)]).permute(0, 3, 1, 2)
    if channels == 1:
        arr = arr.float().mean(1, keepdim=True).round().to(torch.uint8)
    return arr.contiguous(), kept, skipped


def load_folder(root: Path, size: int, channels: int = 3, split: str = "train", progress: bool = True) -> ImageSet:
    """Every image under ``root`` (recursively). An ``attributes.csv`` (``file,Attr1,Attr2``; ±1
    or 0/1) beside them gives labels."""
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DatasetError(f"{root}: holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    files = [f for f in files if hash_split(f.relative_to(root).as_posix()) == SPLITS[split]]
    labels, names = None, []
    csv_path = root / "attributes.csv"
    if csv_path.exists():
        table, names = _read_attribute_csv(csv_path)
        files = [f for f in files if f.name in table]
        labels = np.array([table[f.name] for f in files], dtype=np.int8) if files else None
    images, kept, skipped = _load_files(files, size, channels, progress)
    if labels is not None:
        labels = labels[kept]
    return ImageSet(images, labels, names, f"folder {root}", skipped)


def _text(path: Path) -> str:
    """A label file's text; a FIFO or a device in its place is refused instead of blocking."""
    try:
        return read_regular(path, "label file", max_bytes=256 * 2**20).decode("utf-8", errors="replace")
    except OSError as exc:
        raise DatasetError(str(exc).splitlines()[0]) from None


def _read_attribute_csv(path: Path) -> tuple[dict[str, list[int]], list[str]]:
    rows = list(csv.reader(io.StringIO(_text(path), newline="")))
    if not rows or len(rows[0]) < 2:
        raise DatasetError(f"{path.name}: expected a header 'file,Attr1,...'")
    names = [n.strip() for n in rows[0][1:]]
    table = {}
    for row in rows[1:]:
        if not row:
            continue
        try:
            values = [int(float(v)) for v in row[1:]]
        except ValueError:
            raise DatasetError(f"{path.name}: non-numeric label in row {row[:3]}") from None
        table[row[0].strip()] = [1 if v > 0 else -1 for v in values]
    return table, names


def load_celeba(root: Path, size: int, channels: int = 3, split: str = "train", progress: bool = True, limit: int | None = None) -> ImageSet:
    """The CelebA layout: ``img_align_celeba/``, ``list_attr_celeba.txt`` (count, names, then
    ``file ±1 ...`` rows) and optionally ``list_eval_partition.txt`` (``file 0|1|2``)."""
    img_dir, attr_file = root / "img_align_celeba", root / "list_attr_celeba.txt"
    if not img_dir.is_dir() or not attr_file.exists():
        raise DatasetError(f"{root}: not in the CelebA layout (needs img_align_celeba/ and list_attr_celeba.txt)")
    lines = _text(attr_file).splitlines()
    if len(lines) < 2:
        raise DatasetError(f"{attr_file.name}: too short")
    names = lines[1].split()
    table: dict[str, list[int]] = {}
    for n, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != len(names) + 1:
            raise DatasetError(f"{attr_file.name} line {n}: {len(parts) - 1} labels, expected {len(names)}")
        table[parts[0]] = [1 if int(v) > 0 else -1 for v in parts[1:]]
    partition: dict[str, int] = {}
    part_file = root / "list_eval_partition.txt"
    if part_file.exists():
        for line in _text(part_file).splitlines():
            parts = line.split()
            if len(parts) == 2:
                partition[parts[0]] = int(parts[1])
    chosen = [f for f in sorted(table) if partition.get(f, hash_split(f)) == SPLITS[split]]
    if limit:
        chosen = chosen[:limit]
    images, kept, skipped = _load_files([img_dir / f for f in chosen], size, channels, progress)
    labels = np.array([table[chosen[i]] for i in kept], dtype=np.int8).reshape(len(kept), len(names))
    return ImageSet(images, labels, names, f"CelebA layout {root}", skipped)


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_fashion_mnist(root: Path | None, size: int = 28, channels: int = 1, split: str = "train", progress: bool = True) -> ImageSet:
    """Debian's ``dataset-fashion-mnist`` files. train/val split the 60k training images
    (last 5k = val); test is the official 10k. Labels are class ids (N×1)."""
    root = root or FASHION_MNIST_DIR
    prefix = "t10k" if split == "test" else "train"
    img_path, lab_path = root / f"{prefix}-images-idx3-ubyte.gz", root / f"{prefix}-labels-idx1-ubyte.gz"
    if not img_path.exists():
        raise DatasetError(f"Fashion-MNIST not found in {root} (apt-get install dataset-fashion-mnist)")
    images, labels = _read_idx(img_path), _read_idx(lab_path).astype(np.int64)
    if split != "test":
        sl = slice(0, 55000) if split == "train" else slice(55000, 60000)
        images, labels = images[sl], labels[sl]
    x = torch.from_numpy(images.copy())[:, None]
    if size != 28:
        x = torch.nn.functional.interpolate(x.float(), size=(size, size), mode="bilinear", align_corners=False).round().clamp(0, 255).to(torch.uint8)
    if channels == 3:
        x = x.expand(-1, 3, -1, -1).contiguous()
    return ImageSet(x, labels[:, None], ["class"], "Fashion-MNIST (Zalando, MIT licence)")


Loader = Callable[..., ImageSet]
_LOADERS: dict[str, Loader] = {"folder": load_folder, "celeba": load_celeba, "faces": load_celeba, "fashion-mnist": load_fashion_mnist}


def load_dataset(spec: str, size: int, channels: int = 3, split: str = "train", progress: bool = True) -> ImageSet:
    """``kind:PATH`` (or ``fashion-mnist``) → :class:`ImageSet` of one split."""
    kind, _, where = spec.partition(":")
    if kind not in _LOADERS:
        raise DatasetError(f"unknown data spec {spec!r}; use folder:DIR, celeba:DIR, faces:DIR or fashion-mnist")
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; use train, val or test")
    if kind != "fashion-mnist" and not where:
        raise DatasetError(f"{kind}: needs a folder, as in {kind}:DIR")
    data = _LOADERS[kind](Path(where) if where else None, size=size, channels=channels, split=split, progress=progress)
    if len(data) == 0:
        raise DatasetError(f"{spec}: the {split} split is empty")
    return data
