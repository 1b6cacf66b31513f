"""Two checkpoints' locked landmark edits side by side on the same test faces, at the model's size.

For each name and each of the first ``--faces`` test faces (encoded as eval-edits --landmarks
--stored encodes them, each decoded with its estimated labels), one row: checkpoint A at −2σ, 0,
+2σ, then checkpoint B at −2σ, 0, +2σ — each direction with every other stored label's read-out
locked (the editor's lock, "stored ⊥others" of the landmark judge). Used to look at what
keep-identity --metric local changed (docs/semantics.md, "The local metric"):

    OMP_NUM_THREADS=1 .venv/bin/python scripts/compare_directions.py A.safetensors B.safetensors \
        --data faces:/work/data/faces_v2 --names HeadYaw,EyesOpen --faces 4 --out pairs.png
"""

from __future__ import annotations

import argparse

import numpy as np


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--data", required=True)
    p.add_argument("--names", default="HeadYaw")
    p.add_argument("--faces", type=int, default=4)
    p.add_argument("--strength", type=float, default=2.0)
    p.add_argument("--gap", type=int, default=6)
    p.add_argument("--out", required=True)
    a = p.parse_args()

    import engine
    from engine.outputs import save_image
    from engine.semantics.landmark_eval import decode_rows, estimated_labels, stored_landmark_variants
    from engine.semantics.measure_directions import labelled_split
    from engine.semantics.orthogonal import edit_vector

    models = [engine.load_model(path, device="cpu") for path in (a.a, a.b)]
    mu, _ = labelled_split(models[0], a.data, "test", a.faces, False, True)
    labels = estimated_labels(models[0], a.data, "test", a.faces, False)
    rows = []
    for name in a.names.split(","):
        for i in range(len(mu)):
            tiles = []
            for m in models:
                step = edit_vector(stored_landmark_variants(m)["stored ⊥others"][name], m.latent_stats.std, a.strength)
                z = np.stack([mu[i] - step, mu[i], mu[i] + step]).astype(np.float32)
                tiles.append(np.concatenate(list(decode_rows(m, z, None if labels is None else np.repeat(labels[i : i + 1], 3, 0))), 1))
            gap = np.full((tiles[0].shape[0], a.gap, 3), 255, np.uint8)
            rows.append(np.concatenate([tiles[0], gap, tiles[1]], 1))
    save_image(a.out, np.concatenate(rows, 0))
    print(a.out)


if __name__ == "__main__":
    main()
