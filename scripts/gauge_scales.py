"""How the realism gauge of a GAN reacts to latents pushed out of the prior (issue 6).

    python scripts/gauge_scales.py faces-cgan64 docs/conditional/faces-cgan-latent-scale.png

Prior draws scaled ×1 … ×3: the share the gauge warns about with the discriminator alone and with
the latent check (engine.protocol.LATENT_RMS_LIMIT), the median D percentile, and a picture with one
row per scale (the same z in each column) to see where the decodes break.
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from PIL import Image

import engine
from engine.likelihood import RealismGauge

SCALES = (1.0, 1.2, 1.5, 2.0, 3.0)


def main(model: str, picture: str, n: int = 200, seed: int = 11) -> None:
    m = engine.load_model(model, device="cpu")
    gauge = RealismGauge(m)
    z0 = np.asarray(m.sample_latents(n, seed=seed))
    rows = []
    for scale in SCALES:
        z = (z0 * scale).astype(np.float32)
        images = m.decode(z)
        d_only, with_z = gauge(images, None), gauge(images, None, torch.as_tensor(z))
        warned = lambda rs: 100.0 * np.mean([not r["plausible"] for r in rs])  # noqa: E731
        print(f"z ×{scale:g}: warned {warned(d_only):.1f} % (D alone), {warned(with_z):.1f} % (D + latent); "
              f"median D percentile {np.median([r['percentile'] for r in d_only]):.1f}")
        rows.append(np.concatenate(list(images[:8]), 1))
    Image.fromarray(np.concatenate(rows, 0)).save(picture)
    print(f"wrote {picture} (rows: ×{', ×'.join(f'{s:g}' for s in SCALES)})")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
