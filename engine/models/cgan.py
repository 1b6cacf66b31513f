"""A conditional DCGAN, as in the notes, with an encoder for inversion.

    generator      G(z, y) = convT stack( [z ; W_e y] )          label embedded, concatenated to z
    discriminator  D(x, y) = w·φ(x) + ⟨V y, φ(x)⟩                projection discriminator: D sees y
    losses         "ns"      D: −log σ(D(x,y)) − log(1 − σ(D(G(z,y),y)))   G: −log σ(D(G(z,y),y))
                             (the non-saturating generator loss of the notes)
                   "wgan"    D: E[D(G)] − E[D(x)], then every weight of D clipped to [−c, c]
                   "wgan-gp" the same, plus λ·E[(‖∇_x̂ D(x̂,y)‖ − 1)²] at x̂ between real and fake
    EMA            G_ema ← d·G_ema + (1 − d)·G after each generator step; decoding uses G_ema
    encoder        E(x) = (ẑ, ŷ logits), trained on generated pairs (G_ema(z,y) → z, y) and on real
                   images (their labels, and the pixel reconstruction G_ema(E(x)) ≈ x): inversion

Images are float N×C×S×S in [0, 1] outside, [−1, 1] inside. y is a float N×L vector in
[0, 1] (multi-hot attributes or one-hot class; see :mod:`engine.models.conditional`).
Resolution as in the VAE: halved while even and above 4 (64 → 4×4, 28 → 7×7).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.models.conditional import LABEL_MODES, default_prior, label_loss, label_probs
from engine.models.fields import check_fields, ranged
from engine.models.registry import register
from engine.models.vae import VAEConfig

GAN_LOSSES = ("ns", "wgan", "wgan-gp")


@dataclass(frozen=True)
class CGANConfig:
    image_size: int = ranged(64, 28, 128)
    channels: int = ranged(3, choices=(1, 3))
    latent_dim: int = ranged(100, 1, 1024)
    label_dim: int = ranged(3, 1, 1000)
    label_mode: str = ranged("multi", choices=LABEL_MODES)  # "multi" (binary attributes) | "onehot" (classes)
    embed_dim: int = ranged(32, 1, 1024)  # label embedding concatenated to z
    base_width: int = ranged(32, 1, 512)
    max_width: int = ranged(256, 1, 1024)
    loss: str = ranged("ns", choices=GAN_LOSSES)
    clip: float = ranged(0.01, 1e-6, 100.0)  # WGAN weight clipping of D
    gp_weight: float = ranged(10.0, 0.0, 1e4)  # WGAN-GP
    n_critic: int = ranged(1, 1, 100)  # discriminator steps per generator step (5 is usual for WGAN)
    ema_decay: float = ranged(0.999, 0.0, 0.999999)
    enc_rec_weight: float = ranged(1.0, 0.0, 1e4)  # encoder: weight of the pixel loss on real images
    enc_every: int = ranged(1, 1, 10**6)  # train the encoder every this many steps (it costs about a third of a step)
    spectral_norm: bool = True  # spectral normalisation of D's layers (loss "ns" only: WGANs use clipping / GP)
    dcgan_init: bool = True  # weights N(0, 0.02), as in DCGAN
    mbstd: bool = True  # minibatch standard deviation feature in D (ProGAN): counters mode collapse

    def __post_init__(self):
        check_fields(self)  # types and ranges of every field, one-line errors
        VAEConfig(image_size=self.image_size, channels=self.channels, latent_dim=self.latent_dim)  # same size rules

    def stages(self) -> tuple[int, int]:
        return VAEConfig.stages(self)  # type: ignore[arg-type]

    def widths(self) -> list[int]:
        return VAEConfig.widths(self)  # type: ignore[arg-type]


def _down_stack(channels: int, widths: list[int], norm: bool, sn: bool = False) -> nn.Sequential:
    """S → S/2 → ... → s0 convolutions (the VAE encoder's shape); BatchNorm only where asked;
    spectral normalisation of each convolution with ``sn``."""
    layers: list[nn.Module] = []
    cin = channels
    for i, cout in enumerate(widths):
        layers += [_sn(nn.Conv2d(cin, cout, 4, 2, 1, bias=not (norm and i > 0)), sn)]
        if norm and i > 0:
            layers += [nn.BatchNorm2d(cout)]
        layers += [nn.LeakyReLU(0.2)]
        cin = cout
    return nn.Sequential(*layers)


def _dcgan_init(m: nn.Module) -> None:
    """DCGAN's initialisation: weights N(0, 0.02), BatchNorm scale N(1, 0.02), biases 0."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        w = m.parametrizations.weight.original if nn.utils.parametrize.is_parametrized(m, "weight") else m.weight
        nn.init.normal_(w, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def _sn(layer: nn.Module, on: bool) -> nn.Module:
    if on and layer.weight.is_meta:  # a shape-only build (checkpoint checks): skip the power iteration's warm-up
        nn.utils.parametrize.register_parametrization(layer, "weight", _SpectralShape(layer.weight))
        return layer
    return nn.utils.parametrizations.spectral_norm(layer) if on else layer


class _SpectralShape(nn.Module):
    """Spectral normalisation's state layout (``_u``: out, ``_v``: in) without its computation:
    on the meta device its 15 warm-up iterations cost seconds and compute nothing."""

    def __init__(self, weight: torch.Tensor):
        super().__init__()
        self.register_buffer("_u", torch.empty(weight.shape[0], device=weight.device))
        self.register_buffer("_v", torch.empty(weight[0].numel(), device=weight.device))

    def forward(self, weight: torch.Tensor) -> torch.Tensor:
        return weight


class Generator(nn.Module):
    def __init__(self, cfg: CGANConfig):
        super().__init__()
        k, s0 = cfg.stages()
        w = cfg.widths()
        self.base_shape = (w[-1], s0, s0)
        self.embed = nn.Linear(cfg.label_dim, cfg.embed_dim, bias=False)
        self.project = nn.Linear(cfg.latent_dim + cfg.embed_dim, w[-1] * s0 * s0, bias=False)
        up: list[nn.Module] = [nn.BatchNorm2d(w[-1]), nn.ReLU()]
        for cin, cout in zip(reversed(w), list(reversed(w))[1:]):  # s0 → ... → S/2
            up += [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
        up += [nn.ConvTranspose2d(w[0], cfg.channels, 4, 2, 1), nn.Tanh()]  # S/2 → S, in [−1, 1]
        self.up = nn.Sequential(*up)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.project(torch.cat([z, self.embed(y)], 1)).view(z.shape[0], *self.base_shape)  # N×W×s0×s0
        return self.up(h)  # N×C×S×S in [−1, 1]


class Discriminator(nn.Module):
    """Projection discriminator (Miyato & Koyama 2018); no BatchNorm (WGAN-GP's gradient penalty
    is per sample); spectrally normalised layers for the non-saturating loss (without them D
    overpowers G within a few hundred steps on faces and G collapses)."""

    def __init__(self, cfg: CGANConfig):
        super().__init__()
        k, s0 = cfg.stages()
        w = cfg.widths()
        sn = cfg.spectral_norm and cfg.loss == "ns"
        self.trunk = _down_stack(cfg.channels, w, norm=False, sn=sn)
        self.mbstd = cfg.mbstd
        flat = (w[-1] + int(cfg.mbstd)) * s0 * s0
        self.head = _sn(nn.Linear(flat, 1), sn)
        self.project = _sn(nn.Linear(cfg.label_dim, flat, bias=False), sn)
        self.register_buffer("mbstd_running", torch.zeros(()))  # for eval: scores do not depend on the batch

    def _with_mbstd(self, h: torch.Tensor) -> torch.Tensor:
        """Append the minibatch standard deviation (mean over features) as one more channel. In
        training it is the batch's (and tracked as a running mean); in eval, the running mean."""
        if self.training and h.shape[0] > 1:
            sd = h.float().std(0, unbiased=False).add(1e-8).mean()
            with torch.no_grad():
                self.mbstd_running.lerp_(sd.detach(), 0.01)
        else:
            sd = self.mbstd_running
        return torch.cat([h, sd.to(h.dtype).expand(h.shape[0], 1, *h.shape[2:])], 1)

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Activations after each stage (for the inversion's feature loss). x in [−1, 1]."""
        out = []
        for layer in self.trunk:
            x = layer(x)
            if isinstance(layer, nn.LeakyReLU):
                out.append(x)
        return out

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.trunk(x)  # N×W×s0×s0
        if self.mbstd:
            h = self._with_mbstd(h)
        h = h.flatten(1)  # N×F
        return self.head(h).squeeze(1) + (self.project(y) * h).sum(1)  # N logits


class Encoder(nn.Module):
    """x → (ẑ, label logits)."""

    def __init__(self, cfg: CGANConfig):
        super().__init__()
        k, s0 = cfg.stages()
        w = cfg.widths()
        self.trunk = nn.Sequential(_down_stack(cfg.channels, w, norm=True), nn.Flatten())
        self.head = nn.Linear(w[-1] * s0 * s0, cfg.latent_dim + cfg.label_dim)
        self.latent_dim = cfg.latent_dim

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.head(self.trunk(x))
        return h[:, : self.latent_dim], h[:, self.latent_dim :]


@register("cgan", CGANConfig, conditional=True)
class CGAN(nn.Module):
    def __init__(self, config: CGANConfig):
        super().__init__()
        self.config = config
        self.generator = Generator(config)
        self.discriminator = Discriminator(config)
        self.encoder = Encoder(config)
        if config.dcgan_init and not self.generator.embed.weight.is_meta:  # meta: shapes only, nothing to initialise
            self.apply(_dcgan_init)
        self.g_ema = copy.deepcopy(self.generator).requires_grad_(False).eval()
        self.register_buffer("label_prior", default_prior(config.label_dim, config.label_mode))

    def train(self, mode: bool = True):
        super().train(mode)
        self.g_ema.eval()  # the averaged generator always runs with its (recalibrated) statistics
        return self

    # ------------------------------------------------------------------ labels
    def prior_labels(self, n: int) -> torch.Tensor:
        return self.label_prior.expand(n, -1)

    def _y(self, y: torch.Tensor | None, n: int) -> torch.Tensor:
        return self.prior_labels(n) if y is None else y.to(self.label_prior.dtype)

    # ------------------------------------------------------------------ app side
    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z: N×D, y: N×L (None: the label prior) → images N×C×S×S in [0, 1], from G_ema."""
        return (self.g_ema(z, self._y(y, z.shape[0])) + 1.0) * 0.5

    def infer(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x in [0, 1] → (ẑ N×D, label estimate N×L in [0, 1]) from the encoder."""
        z, logits = self.encoder(x * 2.0 - 1.0)
        return z, label_probs(logits, self.config.label_mode)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The VAE's signature: (ẑ, log σ²); a GAN's encoder is deterministic, so log σ² = 0."""
        z, _ = self.infer(x)
        return z, torch.zeros_like(z)

    def discriminate(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """D's logit of images in [0, 1] under labels y (None: the encoder's estimate)."""
        if y is None:
            _, y = self.infer(x)
        return self.discriminator(x * 2.0 - 1.0, y)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Reconstruction through the encoder and G_ema (previews, PSNR of the encoder)."""
        z, y = self.infer(x)
        return self.decode(z, y)

    # ------------------------------------------------------------------ training pieces
    @torch.no_grad()
    def update_ema(self, step: int, warm_up: bool = True) -> None:
        """G_ema ← d·G_ema + (1 − d)·G, with d warmed up as min(decay, (1 + t)/(10 + t)); without
        ``warm_up`` (an average that is already warm, e.g. a warm start) d is the decay itself."""
        d = min(self.config.ema_decay, (1.0 + step) / (10.0 + step)) if warm_up else self.config.ema_decay
        for pe, p in zip(self.g_ema.parameters(), self.generator.parameters()):
            pe.lerp_(p, 1.0 - d)
        for be, b in zip(self.g_ema.buffers(), self.generator.buffers()):
            be.copy_(b)

    @torch.no_grad()
    def recalibrate_ema_batchnorm(self, labels: torch.Tensor, batches: int = 8, batch_size: int = 64, seed: int = 0) -> None:
        """Re-estimate G_ema's BatchNorm statistics from G_ema's own activations (running
        averages of the raw G do not fit the averaged weights). ``labels``: M×L to draw from."""
        g = torch.Generator().manual_seed(seed)
        dev = self.label_prior.device
        bns = [m for m in self.g_ema.modules() if isinstance(m, nn.BatchNorm2d)]
        saved = [m.momentum for m in bns]
        for m in bns:
            m.reset_running_stats()
            m.momentum = None  # cumulative average
        self.g_ema.train()
        for _ in range(batches):
            z = torch.randn(batch_size, self.config.latent_dim, generator=g).to(dev)
            y = labels[torch.randint(len(labels), (batch_size,), generator=g)].to(dev)
            self.g_ema(z, y)
        for m, mom in zip(bns, saved):
            m.momentum = mom
        self.g_ema.eval()

    def d_loss(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """The discriminator's (critic's) loss on real x (in [0, 1]) and G(z, y)."""
        cfg = self.config
        real = x * 2.0 - 1.0
        with torch.no_grad():
            fake = self.generator(z, y)
        d_real, d_fake = self.discriminator(real, y), self.discriminator(fake, y)
        if cfg.loss == "ns":
            loss = F.softplus(-d_real).mean() + F.softplus(d_fake).mean()
        else:
            loss = d_fake.mean() - d_real.mean()
        out = {"d_loss": loss, "d_real": d_real.mean().detach(), "d_fake": d_fake.mean().detach()}
        if cfg.loss == "wgan-gp":
            gp = self.gradient_penalty(real, fake, y)
            out["gp"] = gp.detach()
            out["d_loss"] = loss + cfg.gp_weight * gp
        return out

    def gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """E[(‖∇_x̂ D(x̂, y)‖₂ − 1)²] at x̂ = ε·real + (1 − ε)·fake, ε ~ U(0, 1) per image."""
        eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
        mix = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
        (grad,) = torch.autograd.grad(self.discriminator(mix, y).sum(), mix, create_graph=True)
        return (grad.flatten(1).norm(dim=1) - 1.0).pow(2).mean()

    @torch.no_grad()
    def clip_discriminator(self) -> None:
        """WGAN's Lipschitz constraint, "simple and brutal": every weight of D into [−c, c]."""
        for p in self.discriminator.parameters():
            p.clamp_(-self.config.clip, self.config.clip)

    def g_loss(self, y: torch.Tensor, z: torch.Tensor) -> dict[str, torch.Tensor]:
        d_fake = self.discriminator(self.generator(z, y), y)
        loss = F.softplus(-d_fake).mean() if self.config.loss == "ns" else -d_fake.mean()  # non-saturating: −log D(G(z))
        return {"g_loss": loss}

    def e_loss(self, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor) -> dict[str, torch.Tensor]:
        """Encoder: recover (z, y) of generated images; labels and pixels of real ones."""
        mode = self.config.label_mode
        with torch.no_grad():
            gen = self.g_ema(z, y)
        z_hat, logits = self.encoder(gen)
        latent = (z_hat - z).pow(2).mean()
        lab = label_loss(logits, y, mode).mean()
        zr, logits_r = self.encoder(x * 2.0 - 1.0)
        lab_real = label_loss(logits_r, y, mode).mean()
        loss = latent + lab + lab_real
        out = {"e_latent": latent.detach(), "e_label": lab_real.detach()}
        if self.config.enc_rec_weight > 0:
            rec = self.decode(zr, label_probs(logits_r, mode))
            pix = (rec - x).pow(2).mean()
            loss = loss + self.config.enc_rec_weight * pix * x[0].numel() / self.config.latent_dim
            out["e_pixel"] = pix.detach()
        out["e_loss"] = loss
        return out
