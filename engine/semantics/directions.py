"""Named attribute directions in latent space.

First version (the notes' latent arithmetic): the mean difference of posterior means between
images with and without an attribute, direction = mean(μ | a=+1) − mean(μ | a=−1).
"""

from __future__ import annotations

import numpy as np

MIN_PER_CLASS = 2


def mean_difference_directions(mu: np.ndarray, labels: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    """``labels``: N×A in {−1, +1} (CelebA convention). Attributes with fewer than
    ``MIN_PER_CLASS`` examples on either side are skipped."""
    out: dict[str, np.ndarray] = {}
    for j, name in enumerate(names):
        pos, neg = labels[:, j] > 0, labels[:, j] < 0
        if pos.sum() < MIN_PER_CLASS or neg.sum() < MIN_PER_CLASS:
            continue
        out[name] = (mu[pos].mean(0) - mu[neg].mean(0)).astype(np.float32)
    return out
