"""Training end to end on a miniature: checkpoint contents, previews, resume, NaN stop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine import checkpoint as ckpt_io
from tests.tiny_models import device_under_test
from engine.training.loop import TrainConfig, TrainingError, log_dir, state_path, train


def _cfg(data, **kw):
    base = dict(data=f"celeba:{data}", size=32, latent_dim=6, base_width=8, batch_size=8, epochs=2, lr=2e-3, seed=0, threads=1, device=device_under_test())
    return TrainConfig(**{**base, **kw})


def test_train_writes_app_ready_checkpoint(celeba_dir, tmp_path):
    out = tmp_path / "m.safetensors"
    metrics = train(_cfg(celeba_dir), out, progress=False, log=lambda s: None)
    ck = ckpt_io.load(out)
    assert set(ck.stats) == {"mean", "std", "kl"} and ck.stats["kl"].shape == (6,)
    assert set(ck.attributes) == {"Eyeglasses", "Male"}
    assert ck.info["training"]["epochs_done"] == 2 and ck.info["training"]["final"]
    assert metrics["n_images"] == 6 and np.isfinite(metrics["psnr_db"]) and "elbo_bits_per_dim" in metrics
    history = ck.info["training"]["history"]
    assert history[-1]["val_neg_elbo"] < history[0]["val_neg_elbo"] * 1.5
    assert (log_dir(out) / "epoch002_recon.png").exists() and (log_dir(out) / "epoch002_samples.png").exists()
    # the 'Eyeglasses' direction points from the dark images towards the bright ones
    net = ck.build().eval().requires_grad_(False)
    mu_dark, _ = net.encode(torch.full((1, 3, 32, 32), 0.25))
    mu_bright, _ = net.encode(torch.full((1, 3, 32, 32), 0.8))
    assert float((mu_bright - mu_dark)[0] @ torch.from_numpy(ck.attributes["Eyeglasses"])) > 0


def test_resume_continues_where_it_stopped(celeba_dir, tmp_path):
    out = tmp_path / "m.safetensors"
    train(_cfg(celeba_dir, epochs=1), out, progress=False, log=lambda s: None)
    with pytest.raises(TrainingError, match="pass --resume"):
        train(_cfg(celeba_dir, epochs=2), out, progress=False, log=lambda s: None)
    logs = []
    train(_cfg(celeba_dir, epochs=2), out, resume=True, progress=False, log=logs.append)
    assert any("resuming at epoch 2/2" in s for s in logs)
    assert ckpt_io.load(out).info["training"]["epochs_done"] == 2
    with pytest.raises(TrainingError, match="other settings"):
        train(_cfg(celeba_dir, epochs=3, latent_dim=7), out, resume=True, progress=False, log=lambda s: None)


def test_init_from_starts_from_the_weights_of_another_checkpoint(celeba_dir, tmp_path):
    first, second = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    train(_cfg(celeba_dir, epochs=1), first, progress=False, log=lambda s: None)
    logs = []
    train(_cfg(celeba_dir, epochs=1, lr=0.0, lr_final_fraction=1.0, init_from=str(first)), second, progress=False, log=logs.append)
    assert any("starting from the weights of a.safetensors" in s for s in logs)
    a, b = ckpt_io.load(first).state, ckpt_io.load(second).state
    conv = next(k for k in a if k.endswith("weight") and a[k].dim() == 4)
    assert torch.equal(a[conv], b[conv])  # lr 0: the weights are exactly the ones it started from
    assert ckpt_io.load(second).info["training"]["config"]["init_from"] == str(first)
    with pytest.raises(TrainingError, match="differs in shape at"):
        train(_cfg(celeba_dir, epochs=1, latent_dim=7, init_from=str(first)), tmp_path / "c.safetensors", progress=False)
    with pytest.raises(TrainingError, match="is a vae checkpoint, not cgan"):
        train(_cfg(celeba_dir, epochs=1, model="cgan", init_from=str(first)), tmp_path / "d.safetensors", progress=False)
    (tmp_path / "junk.safetensors").write_bytes(b"not a checkpoint")
    with pytest.raises(TrainingError, match="--init-from: "):
        train(_cfg(celeba_dir, epochs=1, init_from=str(tmp_path / "junk.safetensors")), tmp_path / "e.safetensors", progress=False)


def test_resume_without_state_is_refused(celeba_dir, tmp_path):
    with pytest.raises(TrainingError, match="nothing to resume"):
        train(_cfg(celeba_dir), tmp_path / "none.safetensors", resume=True, progress=False)


def test_nan_loss_stops_with_clear_message_and_keeps_last_checkpoint(celeba_dir, tmp_path, monkeypatch):
    out = tmp_path / "m.safetensors"
    train(_cfg(celeba_dir, epochs=1), out, progress=False, log=lambda s: None)
    good = out.read_bytes()
    from engine.models.vae import VAE

    real_loss = VAE.loss

    def poisoned(self, x, step=None):
        d = real_loss(self, x, step)
        if step is not None and step >= 5:
            d["loss"] = d["loss"] * float("nan")
        return d

    monkeypatch.setattr(VAE, "loss", poisoned)
    with pytest.raises(TrainingError, match="loss became nan"):
        train(_cfg(celeba_dir, epochs=3), out, resume=True, progress=False, log=lambda s: None)
    assert out.read_bytes() == good and state_path(out).exists()


@pytest.mark.gpu
def test_fp16_mixed_precision_trains_on_cuda(celeba_dir, tmp_path):
    out = tmp_path / "fp16.safetensors"
    metrics = train(_cfg(celeba_dir, epochs=1, amp="fp16", device="cuda"), out, progress=False, log=lambda s: None)
    assert np.isfinite(metrics["psnr_db"]) and ckpt_io.load(out).info["training"]["config"]["amp"] == "fp16"


def test_amp_auto_is_resolved_and_recorded(celeba_dir, tmp_path):
    from engine.devices import auto_amp, pick_device

    out = tmp_path / "auto.safetensors"
    train(_cfg(celeba_dir, epochs=1, amp="auto"), out, progress=False, log=lambda s: None)
    expected = auto_amp(pick_device(device_under_test()))  # bf16 on a CPU with native bf16, else off
    assert ckpt_io.load(out).info["training"]["config"]["amp"] == expected


def test_bf16_mixed_precision_trains_and_fp16_needs_cuda(celeba_dir, tmp_path):
    out = tmp_path / "bf16.safetensors"
    metrics = train(_cfg(celeba_dir, epochs=1, amp="bf16"), out, progress=False, log=lambda s: None)
    assert np.isfinite(metrics["psnr_db"]) and ckpt_io.load(out).info["training"]["config"]["amp"] == "bf16"
    if not torch.cuda.is_available():
        with pytest.raises(TrainingError, match="--amp fp16 needs a CUDA device"):
            train(_cfg(celeba_dir, epochs=1, amp="fp16"), tmp_path / "fp16.safetensors", progress=False)
