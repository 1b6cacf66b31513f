from __future__ import annotations

import numpy as np
import pytest
from PIL import Image


@pytest.fixture(scope="session")
def tiny_ckpt(tmp_path_factory):
    from tests.tiny_models import tiny_checkpoint

    return tiny_checkpoint(tmp_path_factory.mktemp("models") / "tiny.safetensors")


def write_celeba_miniature(root, n: int = 40, size: int = 32, seed: int = 0):
    """A miniature in the CelebA layout: bright images are 'Eyeglasses', left-red ones 'Male'."""
    rng = np.random.default_rng(seed)
    (root / "img_align_celeba").mkdir(parents=True)
    names, rows = ["Eyeglasses", "Male"], []
    for i in range(n):
        glasses, male = i % 2 == 0, i % 3 == 0
        base = 200 if glasses else 60
        img = np.clip(rng.normal(base, 20, (size, size, 3)), 0, 255).astype(np.uint8)
        if male:
            img[:, : size // 2, 0] = 255
        fname = f"{i + 1:06d}.png"
        Image.fromarray(img).save(root / "img_align_celeba" / fname)
        rows.append(f"{fname} {' '.join('1' if v else '-1' for v in (glasses, male))}")
    (root / "list_attr_celeba.txt").write_text(f"{n}\n{' '.join(names)}\n" + "\n".join(rows) + "\n")
    part = [f"{i + 1:06d}.png {0 if i < int(n * 0.7) else (1 if i < int(n * 0.85) else 2)}" for i in range(n)]
    (root / "list_eval_partition.txt").write_text("\n".join(part) + "\n")
    return root


@pytest.fixture
def celeba_dir(tmp_path):
    return write_celeba_miniature(tmp_path / "celeba")
