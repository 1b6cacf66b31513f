"""Training-time augmentations that make synthetic faces look like real photos.

The built-in faces come from one DCGAN: clean, evenly lit, neutral white balance, never blurred,
noisy or compressed. Real aligned crops have all of that, and the model reconstructs them poorly
(they lie off its training distribution). :func:`real_photo_augment` draws, per image, the
camera and lighting effects real crops have — on the float training batch, batched, cheap on a
CPU, and deterministic given the ``torch.Generator`` (the training's shuffle generator, whose
state ``--resume`` restores). The VAE's target is the augmented image itself.

Order follows a camera: framing (small affine) → scene light (a soft shading ramp) → optics
(blur) → sensor noise → processing (white balance, saturation, tone, sharpening) → JPEG.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

AUGMENTATIONS = ("none", "real")

#: Share of images left untouched, so the clean synthetic faces stay in the training mix.
P_CLEAN = 0.2
#: Probability of each effect on an image that is augmented, and its range.
P = dict(affine=0.5, light=0.35, blur=0.3, noise=0.4, white_balance=0.6, saturation=0.5, tone=0.6, sharpen=0.3, jpeg=0.35)
ROTATE_DEG, SCALE, SHIFT_PX = 3.0, 0.04, 2.0
LIGHT = 0.3  # a ramp from 1 − LIGHT to 1 + LIGHT across the crop at most
BLUR_SIGMA = (0.4, 1.2)  # pixels at 64×64 (scaled with the image side)
NOISE_SIGMA = (0.003, 0.025)  # luminance noise, [0, 1] units (a crop downscaled from a photo keeps little); chroma: a fraction of it
CHROMA_NOISE = (0.2, 0.6)
TEMPERATURE, TINT = 0.15, 0.05  # gains 1 ± t on red/blue (warm/cool), 1 ± tint on green
SATURATION = (0.6, 1.35)
BRIGHTNESS, CONTRAST, GAMMA = 0.08, (0.75, 1.25), 0.3  # gamma = exp(±GAMMA)
SHARPEN = (0.3, 0.8)  # unsharp-mask amount
JPEG_QUALITY = (25.0, 85.0)
LUMA = (0.299, 0.587, 0.114)


def augment(batch: torch.Tensor, kind: str, generator: torch.Generator) -> torch.Tensor:
    """``kind`` "none": the batch itself (the generator untouched); "real": :func:`real_photo_augment`."""
    if kind == "none":
        return batch
    if kind == "real":
        return real_photo_augment(batch, generator)
    raise ValueError(f"augment must be one of {', '.join(AUGMENTATIONS)}, got {kind!r}")


def real_photo_augment(batch: torch.Tensor, generator: torch.Generator, strength: float = 1.0) -> torch.Tensor:
    """N×C×H×W float in [0, 1] (C = 1 or 3) → a new batch of the same shape, dtype and device.

    Each effect hits an image with its probability in ``P`` times ``strength`` (0: the batch
    unchanged). All random numbers come from ``generator`` (a CPU generator), drawn in a fixed
    order whatever the batch holds, so the same seed gives the same batch on any device."""
    if batch.ndim != 4 or batch.shape[1] not in (1, 3) or not batch.is_floating_point():
        raise ValueError(f"expected an N×C×H×W float batch with 1 or 3 channels, got {batch.dtype} {tuple(batch.shape)}")
    n, c, h, w = batch.shape
    dev = batch.device
    x = batch.float().clone(memory_format=torch.contiguous_format)  # never the caller's tensor

    def uniform(lo, hi, *shape):
        return (lo + (hi - lo) * torch.rand(shape, generator=generator)).to(dev)

    keep = torch.rand(n, generator=generator) < P_CLEAN

    def chosen(name):  # indices of the images this effect hits; its parameters are drawn for these only
        hit = (torch.rand(n, generator=generator) < P[name] * strength) & ~keep
        return hit.nonzero().flatten().to(dev)

    # -- framing: rotation, scale and shift, with reflected borders (no black corners)
    i = chosen("affine")
    if len(i):
        k = len(i)
        angle = uniform(-ROTATE_DEG, ROTATE_DEG, k) * math.pi / 180
        scale = 1 + uniform(-SCALE, SCALE, k)
        shift = uniform(-SHIFT_PX, SHIFT_PX, k, 2) * 2 / torch.tensor([w, h], device=dev)
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
        grid = F.affine_grid(theta, [k, c, h, w], align_corners=False)
        x[i] = F.grid_sample(x[i], grid, mode="bilinear", padding_mode="reflection", align_corners=False)

    # -- light: a soft linear shading ramp in a random direction (window light, a shadowed side)
    i = chosen("light")
    if len(i):
        direction, amount = uniform(0, 2 * math.pi, len(i)), uniform(-LIGHT, LIGHT, len(i))
        ys, xs = torch.meshgrid(torch.linspace(-1, 1, h, device=dev), torch.linspace(-1, 1, w, device=dev), indexing="ij")
        ramp = torch.cos(direction)[:, None, None] * xs + torch.sin(direction)[:, None, None] * ys
        x[i] = x[i] * (1 + amount[:, None, None] * ramp.clamp(-1, 1))[:, None]

    # -- optics: Gaussian blur
    i = chosen("blur")
    if len(i):
        x[i] = _gaussian_blur(x[i], uniform(*BLUR_SIGMA, len(i)) * (h / 64))

    # -- sensor noise: luminance (shared by the channels) plus some chroma noise
    i = chosen("noise")
    if len(i):
        k = len(i)
        sigma = uniform(*NOISE_SIGMA, k)[:, None, None, None]
        noise = torch.randn((k, 1, h, w), generator=generator).to(dev)
        if c == 3:
            chroma = uniform(*CHROMA_NOISE, k)[:, None, None, None]
            noise = noise + chroma * torch.randn((k, c, h, w), generator=generator).to(dev)
        x[i] = x[i] + sigma * noise

    # -- processing: white balance (temperature and tint), saturation, tone, sharpening
    if c == 3:
        i = chosen("white_balance")
        if len(i):
            t, g = uniform(-TEMPERATURE, TEMPERATURE, len(i)), uniform(-TINT, TINT, len(i))
            x[i] = x[i] * torch.stack([1 + t, 1 + g, 1 - t], 1)[:, :, None, None]
        i = chosen("saturation")
        if len(i):
            grey = _luma(x[i])
            x[i] = grey + uniform(*SATURATION, len(i))[:, None, None, None] * (x[i] - grey)

    i = chosen("tone")
    if len(i):
        k = len(i)
        b = uniform(-BRIGHTNESS, BRIGHTNESS, k)[:, None, None, None]
        contrast = uniform(*CONTRAST, k)[:, None, None, None]
        gamma = torch.exp(uniform(-GAMMA, GAMMA, k))[:, None, None, None]
        xi = x[i]
        mean = xi.mean((1, 2, 3), keepdim=True)
        x[i] = ((xi - mean) * contrast + mean + b).clamp(0, 1) ** gamma  # clamped first: no NaN from a negative base

    i = chosen("sharpen")
    if len(i):
        xi = x[i]
        soft = _gaussian_blur(xi, torch.full((len(i),), h / 64, device=dev))
        x[i] = xi + uniform(*SHARPEN, len(i))[:, None, None, None] * (xi - soft)

    # -- compression: JPEG (8×8 DCT quantisation, chroma at half resolution)
    x = x.clamp_(0, 1)
    i = chosen("jpeg")
    if len(i):
        x[i] = _jpeg_like(x[i], uniform(*JPEG_QUALITY, len(i)))
    return x.to(batch.dtype)


def _luma(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    return (x * torch.tensor(LUMA, device=x.device)[None, :, None, None]).sum(1, keepdim=True)


def _gaussian_blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian with a σ per image (one grouped convolution per axis), reflect padding."""
    n, c, h, w = x.shape
    radius = max(1, min(int(math.ceil(3 * float(sigma.max()))), min(h, w) // 2 - 1))
    t = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    k = torch.exp(-0.5 * (t[None] / sigma[:, None].clamp_min(1e-3)) ** 2)
    k = (k / k.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (n·c) × taps
    y = x.reshape(1, n * c, h, w)
    y = F.conv2d(F.pad(y, (radius, radius, 0, 0), mode="reflect"), k[:, None, None, :], groups=n * c)
    y = F.conv2d(F.pad(y, (0, 0, radius, radius), mode="reflect"), k[:, None, :, None], groups=n * c)
    return y.reshape(n, c, h, w)


# The JPEG standard's quantisation tables (Annex K), scaled by quality as libjpeg does.
_Q_LUMA = [16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
           18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99]  # fmt: skip
_Q_CHROMA = [17, 18, 24, 47] + [99] * 4 + [18, 21, 26, 66] + [99] * 4 + [24, 26, 56] + [99] * 5 + [47, 66] + [99] * 6 + [99] * 32


def _dct_matrix(device) -> torch.Tensor:
    """The 64×64 orthonormal 2-D DCT-II of an 8×8 block (row-major), so that a whole batch of
    blocks is one matrix product rather than thousands of tiny ones."""
    i = torch.arange(8, device=device, dtype=torch.float32)
    d = torch.cos((2 * i[None, :] + 1) * i[:, None] * math.pi / 16) * math.sqrt(2 / 8)
    d[0] /= math.sqrt(2)
    return torch.kron(d, d)


def _quantise(plane: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """n×1×H×W (H, W multiples of 8, values in 0..255 − 128) → the same after DCT quantisation;
    ``table`` n×64 per image."""
    n, _, h, w = plane.shape
    d = _dct_matrix(plane.device)
    blocks = plane.reshape(n, h // 8, 8, w // 8, 8).permute(0, 1, 3, 2, 4).reshape(n, -1, 64)
    q = table[:, None, :]
    blocks = (torch.round(blocks @ d.T / q) * q) @ d
    return blocks.reshape(n, h // 8, w // 8, 8, 8).permute(0, 1, 3, 2, 4).reshape(n, 1, h, w)


def _jpeg_like(x: torch.Tensor, quality: torch.Tensor) -> torch.Tensor:
    """A JPEG round trip in torch: YCbCr, 4:2:0 chroma, 8×8 DCT quantisation."""
    n, c, h, w = x.shape
    ph, pw = -h % 16, -w % 16  # whole 8×8 blocks, also after 2× chroma subsampling
    x = F.pad(x, (0, pw, 0, ph), mode="replicate") * 255
    scale = torch.where(quality < 50, 5000 / quality, 200 - 2 * quality) / 100  # libjpeg's quality scaling
    tables = [(torch.tensor(t, device=x.device, dtype=torch.float32)[None] * scale[:, None]).clamp(1, 255)
              for t in (_Q_LUMA, _Q_CHROMA)]  # fmt: skip
    if c == 1:
        y = _quantise(x - 128, tables[0]) + 128
    else:
        r, g, b = x[:, 0:1], x[:, 1:2], x[:, 2:3]
        lum = 0.299 * r + 0.587 * g + 0.114 * b
        cb = -0.168736 * r - 0.331264 * g + 0.5 * b
        cr = 0.5 * r - 0.418688 * g - 0.081312 * b
        lum = _quantise(lum - 128, tables[0]) + 128
        size = cb.shape[-2:]
        cb, cr = (
            F.interpolate(_quantise(F.avg_pool2d(p, 2), tables[1]), size=size, mode="bilinear", align_corners=False) for p in (cb, cr)
        )
        y = torch.cat([lum + 1.402 * cr, lum - 0.344136 * cb - 0.714136 * cr, lum + 1.772 * cb], 1)
    return (y[:, :, :h, :w] / 255).clamp(0, 1)
