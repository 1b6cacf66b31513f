"""Pictures of a conditional model's label control (for the model cards and docs/conditional.md).

    python scripts/conditional_pictures.py resources/models/faces-cgan64.safetensors docs/conditional/faces-cgan

writes PREFIX-labels.png (one row per label setting: none = the training frequencies, each
label alone at 1 with the others at 0, all at 1; the same z in each column) and
PREFIX-<label>-blend.png (the first label from 0 to 1 in 6 steps, one row per z).
"""

from __future__ import annotations

import sys

import numpy as np

import engine
from engine.data.grids import save_grid


def main(checkpoint: str, prefix: str, n: int = 8, seed: int = 3) -> None:
    m = engine.load_model(checkpoint, device="cpu")
    if not m.labels:
        raise SystemExit(f"{checkpoint} is not a conditional model")
    z = m.sample_latents(n, seed=seed)
    off = {name: 0.0 for name in m.labels}
    settings = [None] + [{**off, name: 1.0} for name in m.labels] + [{name: 1.0 for name in m.labels}]
    rows = [m.decode(z, labels=s) for s in settings]
    save_grid(np.concatenate(rows), f"{prefix}-labels.png", ncol=n, scale=2)
    first = m.labels[0]
    steps = np.linspace(0.0, 1.0, 6)
    blend = np.stack([m.decode(z, labels={first: float(v)}) for v in steps], axis=1).reshape(-1, *rows[0].shape[1:])
    save_grid(blend, f"{prefix}-{first.lower()}-blend.png", ncol=len(steps), scale=2)
    names = ["(training frequencies)"] + [f"{name} only" for name in m.labels] + ["all"]
    print(f"{prefix}-labels.png rows: " + ", ".join(names))


if __name__ == "__main__":
    main(*sys.argv[1:3])
