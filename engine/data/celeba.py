"""The CelebA layout's attribute file (``list_attr_celeba.txt``: a count, the attribute names,
then ``file ±1 ...`` rows), read without torch: the face-set builder and its landmark labeller use it."""

from __future__ import annotations

import os

import numpy as np


def read_attr(path: str | os.PathLike[str]) -> tuple[list[str], list[str], np.ndarray]:
    """Read a CelebA-style attribute file: (names, image ids, int8 N x A labels)."""
    with open(path, encoding="ascii") as f:
        count = int(f.readline())
        names = f.readline().split()
        ids, vals = [], []
        for line in f:
            parts = line.split()
            if parts:
                ids.append(parts[0])
                vals.append([int(v) for v in parts[1:]])
    if len(ids) != count:
        raise ValueError(f"{path}: header says {count} rows, found {len(ids)}")
    return names, ids, np.asarray(vals, dtype=np.int8)
