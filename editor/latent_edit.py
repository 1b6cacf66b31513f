"""The edit of one latent, as data: slider offsets in σ units over a base latent. No Qt.

``edited = z + offsets * scale + shift`` where ``scale`` is the per-dimension std of the posterior
means (LatentStats.std), so "+1" on a slider moves a dimension by one typical spread, and
``shift`` is a latent offset contributed by other editing panels (e.g. the attribute sliders).
"""

from __future__ import annotations

import numpy as np

from engine.protocol import LatentStats

MIN_STD = 1e-6  # below this a dimension's std is meaningless: fall back to the prior's σ = 1


class LatentEdit:
    def __init__(self, z: np.ndarray, stats: LatentStats) -> None:
        self.z = np.asarray(z, np.float32).reshape(-1)
        std = np.asarray(stats.std, np.float32).reshape(-1)
        if std.shape != self.z.shape:
            raise ValueError(f"latent has {self.z.size} dims but the stats have {std.size}")
        self.scale = np.where(std > MIN_STD, std, 1.0).astype(np.float32)
        self.offsets = np.zeros_like(self.z)  # σ units
        self.shift = np.zeros_like(self.z)  # latent units: named attribute steps and the like

    @property
    def dim(self) -> int:
        return self.z.size

    @property
    def is_zero(self) -> bool:
        return not np.any(self.offsets) and not np.any(self.shift)

    def set(self, dim: int, sigma: float) -> None:
        self.offsets[dim] = sigma

    def set_all(self, offsets: np.ndarray) -> None:
        self.offsets[:] = np.asarray(offsets, np.float32).reshape(-1)

    def set_shift(self, shift: np.ndarray) -> None:
        self.shift[:] = np.asarray(shift, np.float32).reshape(-1)

    def reset(self, dim: int | None = None) -> None:
        if dim is None:
            self.offsets[:] = 0.0
        else:
            self.offsets[dim] = 0.0

    def randomise(self, rng: np.random.Generator, dims: np.ndarray, spread: float = 1.0, limit: float = 3.0) -> None:
        """Random offsets ~ N(0, spread²) σ on ``dims`` (clipped to ±limit); others reset."""
        self.offsets[:] = 0.0
        self.offsets[dims] = np.clip(rng.standard_normal(len(dims)) * spread, -limit, limit)

    def edited(self) -> np.ndarray:
        """The latent to decode (D,)."""
        return self.z + self.offsets * self.scale + self.shift

    def traversal(self, dim: int, values: np.ndarray) -> np.ndarray:
        """N×D: the current edit with ``dim`` set to each of ``values`` (σ units)."""
        batch = np.repeat(self.edited()[None], len(values), axis=0)
        batch[:, dim] = self.z[dim] + self.shift[dim] + np.asarray(values, np.float32) * self.scale[dim]
        return batch
