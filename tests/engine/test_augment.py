"""The real-photo augmentations: shape/dtype/range kept, seeded, actually changing images, off
when disabled; and the training option that uses them."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from engine import checkpoint as ckpt_io
from engine.data import augment as aug
from tests.tiny_models import device_under_test
from engine.training.loop import TrainConfig, train


def _faces(n=16, size=32, c=3, seed=0):
    """Smooth face-like images (a bright ellipse on a darker ground) with a little texture."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    face = ((xx / 0.6) ** 2 + (yy / 0.8) ** 2 < 1).float()
    base = 0.25 + 0.5 * face[None, None] * torch.rand(n, c, 1, 1, generator=g)
    return (base + 0.05 * torch.rand(n, c, size, size, generator=g)).clamp(0, 1)


@pytest.mark.parametrize("c, size", [(3, 64), (3, 28), (1, 32)])
def test_shape_dtype_range_kept_and_input_untouched(c, size):
    x = _faces(c=c, size=size)
    before = x.clone()
    y = aug.real_photo_augment(x, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.dtype == x.dtype and y.device == x.device
    assert torch.isfinite(y).all() and float(y.min()) >= 0 and float(y.max()) <= 1
    assert torch.equal(x, before)  # a new tensor, never the caller's


def test_deterministic_per_seed_and_different_across_seeds():
    x = _faces()
    a = aug.real_photo_augment(x, torch.Generator().manual_seed(7))
    b = aug.real_photo_augment(x, torch.Generator().manual_seed(7))
    c = aug.real_photo_augment(x, torch.Generator().manual_seed(8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_changes_most_images_and_keeps_some_clean():
    x = _faces(n=200)
    y = aug.real_photo_augment(x, torch.Generator().manual_seed(0))
    changed = (y - x).abs().flatten(1).amax(1) > 1e-6
    assert 0.7 < float(changed.float().mean()) < 0.95  # P_CLEAN of the images are left as they were
    assert float((y - x)[changed].abs().mean()) > 0.01


def test_identity_when_disabled():
    x = _faces()
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    assert aug.augment(x, "none", g) is x and torch.equal(g.get_state(), state)  # "none" draws nothing
    assert torch.equal(aug.real_photo_augment(x, torch.Generator().manual_seed(0), strength=0.0), x)
    with pytest.raises(ValueError, match="augment must be one of none, real"):
        aug.augment(x, "heavy", g)


def test_each_effect_does_what_it_says(monkeypatch):
    """One effect at a time at full probability: white balance warms or cools (red vs blue
    gains), blur lowers the high frequencies, noise raises them, JPEG makes 8×8 blocks."""
    x = _faces(n=64, size=64)

    def only(name):
        monkeypatch.setattr(aug, "P_CLEAN", 0.0)
        monkeypatch.setattr(aug, "P", {k: float(k == name) for k in aug.P})
        return aug.real_photo_augment(x, torch.Generator().manual_seed(1))

    def detail(t):  # mean absolute Laplacian-ish difference
        return float((t[..., 1:, :] - t[..., :-1, :]).abs().mean())

    wb = only("white_balance")
    ratio = (wb[:, 0] / x[:, 0].clamp_min(1e-3)).mean((1, 2)) * (x[:, 2] / wb[:, 2].clamp_min(1e-3)).mean((1, 2))
    assert float(ratio.max()) > 1.1 and float(ratio.min()) < 0.9  # some warmer, some cooler
    assert detail(only("blur")) < 0.8 * detail(x)
    assert detail(only("noise")) > 1.2 * detail(x)
    assert not torch.equal(only("affine"), x) and not torch.equal(only("light"), x)
    jpeg = only("jpeg")
    err = (jpeg - x).abs().mean((0, 1))
    assert float(err.mean()) > 0.003
    # a real JPEG codec at the middle of the quality range makes an error of the same size
    arr = (x[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=55)
    pil = np.asarray(Image.open(buf)).astype(np.float32) / 255
    assert 0.2 < float(err.mean()) / float(np.abs(pil - arr / 255).mean()) < 5


def test_gradients_not_needed_and_cuda_matches_cpu_draws():
    x = _faces()
    dev = device_under_test()
    y = aug.real_photo_augment(x.to(dev), torch.Generator().manual_seed(3))
    ref = aug.real_photo_augment(x, torch.Generator().manual_seed(3))
    assert torch.allclose(y.cpu(), ref, atol=2e-3)  # the same draws on any device


def test_training_records_and_uses_the_option(celeba_dir, tmp_path):
    base = dict(data=f"celeba:{celeba_dir}", size=32, latent_dim=6, base_width=8, batch_size=8, epochs=1, lr=2e-3, seed=0, threads=1,
                device=device_under_test())  # fmt: skip
    plain, real = tmp_path / "plain.safetensors", tmp_path / "real.safetensors"
    train(TrainConfig(**base), plain, progress=False, log=lambda s: None)
    train(TrainConfig(**base, augment="real"), real, progress=False, log=lambda s: None)
    a, b = ckpt_io.load(plain), ckpt_io.load(real)
    assert a.info["training"]["config"]["augment"] == "none" and b.info["training"]["config"]["augment"] == "real"
    assert any(not torch.equal(a.state[k], b.state[k]) for k in a.state)  # the batches differed
    with pytest.raises(ValueError, match="augment must be one of none, real"):
        TrainConfig(augment="heavy")


def test_cli_flag(tmp_path):
    from engine.cli import UsageError, build_parser

    args = build_parser().parse_args(["train", "--data", "x", "--out", "m.safetensors", "--augment", "real"])
    assert args.augment == "real"
    with pytest.raises(UsageError, match="--augment: invalid choice: 'heavy'"):
        build_parser().parse_args(["train", "--data", "x", "--out", "m.safetensors", "--augment", "heavy"])
