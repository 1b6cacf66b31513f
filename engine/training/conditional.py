"""Training steps of the conditional families, for the loop in :mod:`engine.training.loop`.

Each trainer has the methods of ``engine.training.loop.VAETrainer`` (the VAE's): its optimisers, one
``step(x, y, step)`` returning rank-averaged losses, validation, preview grids (for
conditional models one row per label setting, the same z in each column), the app-ready
checkpoint and the held-out evaluation. The loop keeps resume, the NaN stop, the time budget
and progress for all families.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine import checkpoint as ckpt_io
from engine.training import distributed
from engine.data.datasets import ImageSet
from engine.data.grids import save_grid
from engine.evaluate import to_uint8, psnr
from engine.models.conditional import LabelSpace
from engine.protocol.files import atomic_write
from engine.semantics.latent_stats import latent_statistics
from engine.training.loop import autocast

CALIBRATION_LIMIT = 2000  # held-out images for the realism / reject calibration
STATS_LIMIT = 10000  # training images for the latent statistics
EVAL_LIMIT = (1000, 300)  # test images for the importance-weighted bits/dim and the generative classifier (≤ 32 px, larger)


class ConditionalTrainer:
    log_keys: tuple[str, ...] = ()

    def __init__(self, net, tc, train_set: ImageSet, labels: LabelSpace):
        self.net, self.tc, self.space = net, tc, labels
        self.y_train = labels.encode(train_set.labels)  # N×L float in {0, 1}
        self.val_set: ImageSet | None = None
        with torch.no_grad():
            net.label_prior.copy_(torch.from_numpy(labels.prior))

    def labels(self, idx: torch.Tensor, device) -> torch.Tensor:
        return self.y_train[idx].to(device)

    def set_lr(self, lr: float) -> None:
        for opt in self.optimizers().values():
            for group in opt.param_groups:
                group["lr"] = lr

    def _y_of(self, data: ImageSet, n: int | None = None) -> torch.Tensor:
        labels = data.labels if n is None else data.labels[:n]
        return self.space.encode(labels)

    # ------------------------------------------------------------------ previews
    @torch.no_grad()
    def _sample_rows(self, fixed_z: torch.Tensor, folder: Path, epoch: int) -> None:
        """One row per label setting (``LabelSpace.preview_rows``), the same 8 z in every row."""
        rows = self.space.preview_rows().to(fixed_z.device)
        z = fixed_z[:8]
        zz = z.repeat(rows.shape[0], 1)
        yy = rows.repeat_interleave(z.shape[0], 0)
        save_grid(to_uint8(self.net.decode(zz, yy)), folder / f"epoch{epoch:03d}_samples.png", ncol=z.shape[0], scale=2)
        legend = folder / "samples_rows.txt"
        if not legend.exists():
            atomic_write(legend, "\n".join(_row_name(self.space, r) for r in rows.cpu()) + "\n")

    @torch.no_grad()
    def _recon(self, fixed_val: torch.Tensor, folder: Path, epoch: int) -> None:
        recon = self.net(fixed_val)
        pairs = torch.stack([fixed_val, recon], 1).flatten(0, 1)
        save_grid(to_uint8(pairs), folder / f"epoch{epoch:03d}_recon.png", ncol=16, scale=2)

    def previews(self, fixed_val, fixed_z, folder: Path, epoch: int) -> None:
        self.net.eval()
        self._recon(fixed_val, folder, epoch)
        self._sample_rows(fixed_z, folder, epoch)

    # ------------------------------------------------------------------ checkpoint
    def _info(self, train_set: ImageSet, history, final: bool, test_metrics) -> dict:
        return {
            "description": f"{self.tc.model} on {train_set.description}, conditioned on {', '.join(self.space.names)}",
            "data": {"spec": self.tc.data, "train_images": len(train_set), "label_names": train_set.label_names},
            "labels": {"mode": self.space.mode, "names": list(self.space.names), "prior": [round(float(p), 6) for p in self.space.prior]},
            "training": {"config": asdict(self.tc), "epochs_done": len(history), "history": history, "final": final},
            "metrics": test_metrics or {},
        }

    def _write(self, out, cfg, stats, info) -> None:
        state = dict(self.net.state_dict())
        ckpt = ckpt_io.Checkpoint(family=self.tc.model, config=cfg, state=state, labels=list(self.space.names), stats=stats, info=info)
        ckpt_io.save(ckpt, out)

    def _calibrate(self, device, k: int) -> dict:
        from engine.likelihood import calibrate

        if self.val_set is None or self.val_set.labels is None:
            return {}
        cals = calibrate(self.net, self.tc.model, self.val_set, self._y_of(self.val_set), k=k, limit=CALIBRATION_LIMIT, device=device, spec=f"{self.tc.data} (val)")
        return {name: cal.to_dict() for name, cal in cals.items()}


def _row_name(space: LabelSpace, row: torch.Tensor) -> str:
    on = [n for n, v in zip(space.names, row.tolist()) if v > 0.5]
    return ", ".join(on) if on else "(none)"


def _label_accuracy(space: LabelSpace, estimate: torch.Tensor, truth: torch.Tensor) -> float:
    if space.mode == "onehot":
        return float((estimate.argmax(1) == truth.argmax(1)).float().mean())
    return float(((estimate > 0.5) == (truth > 0.5)).float().mean())


# --------------------------------------------------------------------------- conditional VAE


class _CVAELoss(nn.Module):
    """DDP synchronises gradients through ``forward``: the conditional VAE's loss as forward."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, y, step=None):
        return self.net.loss(x, y, step=step)


class CVAETrainer(ConditionalTrainer):
    log_keys = ("loss", "rec", "kl")

    def __init__(self, net, tc, train_set, labels):
        super().__init__(net, tc, train_set, labels)
        self.opt = torch.optim.Adam(net.parameters(), lr=tc.lr)

    def optimizers(self):
        return {"": self.opt}

    def wrap(self, world: distributed.World, device) -> None:
        self.world = world
        self.model = _CVAELoss(self.net)
        if world.active:
            ids = [device.index] if device.type == "cuda" else None
            self.model = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)

    def step(self, x, y, step):
        with autocast(x.device, self.tc.amp):  # the loss itself is computed in float32 (vae.loss)
            losses = self.model(x, y, step)
        logged = {k: distributed.mean(losses[k].detach(), self.world) for k in self.log_keys}
        if torch.isfinite(logged["loss"]):
            self.opt.zero_grad(set_to_none=True)
            losses["loss"].backward()
            self.opt.step()
        return logged

    def postfix(self, means):
        return {"loss": f"{means['loss']:.1f}", "kl": f"{means['kl']:.1f}"}

    def summary(self, means):
        return {"train_loss": means["loss"], "train_kl": means["kl"]}

    @torch.no_grad()
    def validate(self, val_set, device):
        self.val_set = val_set
        self.net.eval()
        y_all = self._y_of(val_set)
        tot, kl, n, acc, n_acc = 0.0, 0.0, 0, 0.0, 0
        for i, x in enumerate(val_set.batches(256, device)):
            y = y_all[i * 256 : i * 256 + x.shape[0]].to(device)
            losses = self.net.loss(x, y)
            tot += float(losses["rec"] + losses["kl"]) * x.shape[0]
            kl += float(losses["kl"]) * x.shape[0]
            n += x.shape[0]
            if n_acc < 1000:
                acc += _label_accuracy(self.space, self.net.estimate_labels(x), y) * x.shape[0]
                n_acc += x.shape[0]
        return {"val_neg_elbo": tot / n, "val_kl": kl / n, "val_label_acc_elbo": acc / max(1, n_acc)}

    @torch.no_grad()
    def save_model(self, out, cfg, train_set, history, device, final: bool, test_metrics=None) -> None:
        self.net.eval()
        n = min(len(train_set), STATS_LIMIT)
        mus, logvars = [], []
        for i, x in enumerate(train_set.subset(np.arange(n)).batches(256, device)):
            mu, logvar = self.net.encode(x, self.y_train[i * 256 : i * 256 + x.shape[0]].to(device))
            mus.append(mu.float().cpu())
            logvars.append(logvar.float().cpu())
        stats = latent_statistics(torch.cat(mus).numpy(), torch.cat(logvars).numpy())
        info = self._info(train_set, history, final, test_metrics)
        if final:
            info.update(self._calibrate(device, k=16 if cfg.image_size <= 32 else 4))
        self._write(out, cfg, stats, info)

    @torch.no_grad()
    def evaluate(self, test_set, device) -> dict:
        from engine.likelihood import bits_per_dim, classify, true_setting_index

        self.net.eval()
        y_all = self._y_of(test_set)
        rec, kl, ps, n = 0.0, 0.0, 0.0, 0
        for i, x in enumerate(test_set.batches(256, device)):
            y = y_all[i * 256 : i * 256 + x.shape[0]].to(device)
            losses = self.net.loss(x, y)
            rec += float(losses["rec"]) * x.shape[0]
            kl += float(losses["kl"]) * x.shape[0]
            ps += float(psnr(self.net(x, y), x).sum())
            n += x.shape[0]
        m = min(len(test_set), EVAL_LIMIT[0] if self.net.config.image_size <= 32 else EVAL_LIMIT[1])
        x = test_set.images[:m].to(device).float().div(255)
        bpd = bits_per_dim(self.net, x, y_all[:m].to(device), k=16)
        cls = classify(self.net, x, self.space, k=4)
        acc = float((cls.prediction == true_setting_index(self.space, y_all[:m])).mean())
        return {
            "n_images": n,
            "psnr_db": ps / n,
            "neg_elbo_nats": (rec + kl) / n,
            "kl_nats": kl / n,
            f"elbo_bits_per_dim_given_y_{m}": float(bpd["elbo_bpd"].mean()),
            f"iwae16_bits_per_dim_given_y_{m}": float(bpd["iwae_bpd"].mean()),
            f"generative_classifier_accuracy_{m}": acc,
        }


# --------------------------------------------------------------------------- conditional GAN


class CGANTrainer(ConditionalTrainer):
    log_keys = ("d_loss", "g_loss", "e_loss")

    def __init__(self, net, tc, train_set, labels):
        super().__init__(net, tc, train_set, labels)
        cfg = net.config
        if cfg.loss == "wgan":  # as in the WGAN paper: RMSProp, no momentum
            make = lambda ps: torch.optim.RMSprop(ps, lr=tc.lr)  # noqa: E731
        else:
            betas = (0.0, 0.9) if cfg.loss == "wgan-gp" else (0.5, 0.999)
            make = lambda ps: torch.optim.Adam(ps, lr=tc.lr, betas=betas)  # noqa: E731
        self.opt_g, self.opt_d = make(net.generator.parameters()), make(net.discriminator.parameters())
        self.opt_e = torch.optim.Adam(net.encoder.parameters(), lr=tc.lr, betas=(0.5, 0.999))
        self.last_g = torch.tensor(0.0)  # the generator loss of the latest generator step (every n_critic)
        self.last_e = torch.tensor(0.0)  # the encoder loss of the latest encoder step (every enc_every)

    def optimizers(self):
        return {"": self.opt_g, "d": self.opt_d, "e": self.opt_e}

    def wrap(self, world: distributed.World, device) -> None:
        if world.active:
            from engine.training.loop import TrainingError

            raise TrainingError("cgan: multi-process (DDP) training is not supported yet; run it in one process")
        self.world, self.device = world, device

    def step(self, x, y, step):
        net, cfg = self.net, self.net.config
        n, d = x.shape[0], cfg.latent_dim
        z = torch.randn(n, d, device=x.device)
        with autocast(x.device, self.tc.amp):
            dl = net.d_loss(x, y, z)
        if torch.isfinite(dl["d_loss"]):
            self.opt_d.zero_grad(set_to_none=True)
            dl["d_loss"].backward()
            self.opt_d.step()
            if cfg.loss == "wgan":
                net.clip_discriminator()
        if step % cfg.n_critic == 0:
            net.discriminator.requires_grad_(False)
            with autocast(x.device, self.tc.amp):
                gl = net.g_loss(y, torch.randn(n, d, device=x.device))["g_loss"]
            if torch.isfinite(gl):
                self.opt_g.zero_grad(set_to_none=True)
                gl.backward()
                self.opt_g.step()
                net.update_ema(step // cfg.n_critic, warm_up=not self.tc.init_from)  # a warm start's average is warm already
            net.discriminator.requires_grad_(True)
            self.last_g = gl.detach()
        if step % cfg.enc_every == 0:
            with autocast(x.device, self.tc.amp):
                el = net.e_loss(x, y, torch.randn(n, d, device=x.device))["e_loss"]
            if torch.isfinite(el):
                self.opt_e.zero_grad(set_to_none=True)
                el.backward()
                self.opt_e.step()
            self.last_e = el.detach()
        return {"d_loss": dl["d_loss"].detach(), "g_loss": self.last_g, "e_loss": self.last_e}

    def postfix(self, means):
        return {"d": f"{means['d_loss']:.3f}", "g": f"{means['g_loss']:.3f}", "e": f"{means['e_loss']:.2f}"}

    def summary(self, means):
        return {"train_d_loss": means["d_loss"], "train_g_loss": means["g_loss"], "train_e_loss": means["e_loss"]}

    @torch.no_grad()
    def _held_out(self, data: ImageSet, device, limit: int) -> dict[str, float]:
        self.net.eval()
        m = min(limit, len(data))
        y_all = self._y_of(data, m)
        g = torch.Generator().manual_seed(0)
        d_real, d_fake, ps, acc, n = 0.0, 0.0, 0.0, 0.0, 0
        for i in range(0, m, 256):
            x = data.images[i : min(i + 256, m)].to(device).float().div(255)
            y = y_all[i : i + x.shape[0]].to(device)
            z = torch.randn(x.shape[0], self.net.config.latent_dim, generator=g).to(device)
            d_real += float(self.net.discriminate(x, y).sum())
            d_fake += float(self.net.discriminate(self.net.decode(z, y), y).sum())
            zh, yh = self.net.infer(x)
            ps += float(psnr(self.net.decode(zh, yh), x).sum())
            acc += _label_accuracy(self.space, yh, y) * x.shape[0]
            n += x.shape[0]
        return {"d_real": d_real / n, "d_fake_ema": d_fake / n, "encoder_psnr_db": ps / n, "encoder_label_acc": acc / n}

    def _recalibrate(self, device) -> None:
        self.net.recalibrate_ema_batchnorm(self.y_train.to(device))

    def validate(self, val_set, device):
        self.val_set = val_set
        self._recalibrate(device)
        return {f"val_{k}": v for k, v in self._held_out(val_set, device, 512).items()}

    def save_model(self, out, cfg, train_set, history, device, final: bool, test_metrics=None) -> None:
        d = cfg.latent_dim
        # the generator's latent is N(0, I) by construction: sliders in prior units, all dimensions live
        stats = {"mean": np.zeros(d, np.float32), "std": np.ones(d, np.float32), "kl": np.ones(d, np.float32)}
        info = self._info(train_set, history, final, test_metrics)
        if final:
            info.update(self._calibrate(device, k=0))
        self._write(out, cfg, stats, info)

    def evaluate(self, test_set, device) -> dict:
        self._recalibrate(device)
        out = self._held_out(test_set, device, len(test_set))
        out["n_images"] = min(len(test_set), len(test_set))
        return out
