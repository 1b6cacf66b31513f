"""Likelihoods, the realism gauge and the reject option (the notes' generative classifier).

VAEs (and the conditional VAE, given a label y):

    log w_k = log p(x|z_k, y) + log p(z_k) − log q(z_k|x, y),   z_k ~ q(z|x, y)
    ELBO    = mean_k log w_k                          (a lower bound on log p(x|y))
    IWAE_K  = log (1/K) Σ_k w_k                       (tighter: ELBO ≤ IWAE_K ≤ log p(x|y), → as K → ∞)

in bits per dimension: −log p / (D·ln 2), plus 8 for the Gaussian decoder (its density on
[0, 1] becomes a probability of 8-bit pixels, the uniform-dequantisation bound). A Bernoulli
decoder on grey values is a pseudo-likelihood: its bits/dim are reported without the offset.

GANs have no likelihood: their realism score is the discriminator's logit D(x, y).

The realism gauge turns a score into a percentile of the same score over held-out real data
(the calibration, stored in the checkpoint's ``info["realism"]``): an edit whose percentile
falls below a few percent has left the plausible region.

Classify with reject (conditional VAE): p(y|x) ∝ p(x|y)·p(y) over the label settings, with
log p(x|y) the IWAE estimate; the input is rejected when max_y log p(x|y) is below a threshold
(a raw value, or a percentile of held-out data stored in ``info["reject"]``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from engine.models.conditional import LabelSpace
from engine.protocol import LATENT_RMS_LIMIT

LN2 = math.log(2.0)
LOG_2PI = math.log(2.0 * math.pi)
PERCENTILES = np.linspace(0.0, 100.0, 101)
WARN_BELOW_PERCENTILE = 2.0  # the gauge's soft warning: less plausible than 98 % of held-out data


# --------------------------------------------------------------------------- VAE likelihoods


def _encode(net, x: torch.Tensor, y: torch.Tensor | None):
    return net.encode(x) if y is None else net.encode(x, y)


def _decode_logits(net, z: torch.Tensor, y: torch.Tensor | None):
    return net.decode_logits(z) if y is None else net.decode_logits(z, y)


def offset_bits(net) -> float:
    """Bits per dimension added to a continuous density on [0,1] to make it a bound on 8-bit data."""
    return 8.0 if net.config.likelihood == "gaussian" else 0.0


def to_bits_per_dim(log_p_nats: torch.Tensor, net, n_dims: int) -> torch.Tensor:
    """log p(x) in nats per image → bits per dimension (lower is more likely)."""
    return -log_p_nats / (n_dims * LN2) + offset_bits(net)


@torch.no_grad()
def log_weights(net, x: torch.Tensor, y: torch.Tensor | None = None, k: int = 16, generator: torch.Generator | None = None) -> torch.Tensor:
    """Importance log-weights log p(x|z_k,y) + log p(z_k) − log q(z_k|x,y): N×K nats."""
    mu, logvar = _encode(net, x, y)
    n, d = mu.shape
    std = (0.5 * logvar).exp()
    eps = torch.randn(n, k, d, generator=generator).to(mu.device) if generator is not None else torch.randn(n, k, d, device=mu.device)
    z = mu[:, None] + std[:, None] * eps  # N×K×D
    log_q = (-0.5 * eps.pow(2) - 0.5 * logvar[:, None] - 0.5 * LOG_2PI).sum(-1)
    log_pz = (-0.5 * z.pow(2) - 0.5 * LOG_2PI).sum(-1)
    yk = None if y is None else y.repeat_interleave(k, 0)
    logits = _decode_logits(net, z.flatten(0, 1), yk)
    log_px = -net.reconstruction_nll(x.repeat_interleave(k, 0), logits).view(n, k)
    return log_px + log_pz - log_q


@torch.no_grad()
def elbo_and_iwae(net, x: torch.Tensor, y: torch.Tensor | None = None, k: int = 16, seed: int | None = 0, chunk: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """(ELBO, IWAE_K) in nats per image, N each. ``seed`` fixes the noise (a deterministic
    gauge); chunks keep N·K decodes in memory bounds."""
    net.eval()
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    step = max(1, chunk // k)
    elbos, iwaes = [], []
    for i in range(0, x.shape[0], step):
        lw = log_weights(net, x[i : i + step], None if y is None else y[i : i + step], k, gen)
        elbos.append(lw.mean(1))
        iwaes.append(torch.logsumexp(lw, 1) - math.log(k))
    return torch.cat(elbos), torch.cat(iwaes)


@torch.no_grad()
def bits_per_dim(net, x: torch.Tensor, y: torch.Tensor | None = None, k: int = 16, seed: int | None = 0) -> dict[str, torch.Tensor]:
    """{"elbo_bpd", "iwae_bpd"}: per image, bits per dimension (IWAE ≤ ELBO in bits)."""
    elbo, iwae = elbo_and_iwae(net, x, y, k, seed)
    n_dims = x[0].numel()
    return {"elbo_bpd": to_bits_per_dim(elbo, net, n_dims), "iwae_bpd": to_bits_per_dim(iwae, net, n_dims)}


# --------------------------------------------------------------------------- conditional: classify, reject


@torch.no_grad()
def per_label_bounds(net, x: torch.Tensor, space: LabelSpace, k: int = 16, seed: int | None = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(ELBO, IWAE_K) of log p(x|y), nats, for every label setting of ``space``: N×M each."""
    ys, _ = space.settings()
    elbos, iwaes = [], []
    for m in range(ys.shape[0]):
        y = ys[m].to(x.device).expand(x.shape[0], -1).contiguous()
        e, i = elbo_and_iwae(net, x, y, k, None if seed is None else seed + m)
        elbos.append(e)
        iwaes.append(i)
    return torch.stack(elbos, 1), torch.stack(iwaes, 1)


def label_log_likelihoods(net, x: torch.Tensor, space: LabelSpace, k: int = 16, seed: int | None = 0) -> torch.Tensor:
    """log p(x|y) (IWAE_K, nats) for every label setting of ``space``: N×M."""
    return per_label_bounds(net, x, space, k, seed)[1]


def loglik_per_dim_bits(log_p_nats: torch.Tensor, net, n_dims: int) -> torch.Tensor:
    """log p in bits per dimension, sign kept (higher is more likely): −bits/dim."""
    return -to_bits_per_dim(log_p_nats, net, n_dims)


@dataclass
class Classified:
    prediction: np.ndarray  # N setting indices
    posterior: np.ndarray  # N×M  p(y|x)
    score: np.ndarray  # N  max_y log p(x|y), bits per dimension (higher: more plausible)
    names: list[str]  # M setting names

    def rejected(self, threshold: float) -> np.ndarray:
        return self.score < threshold


@torch.no_grad()
def classify(net, x: torch.Tensor, space: LabelSpace, k: int = 16, seed: int | None = 0, batch_size: int = 256) -> Classified:
    """The generative classifier: p(y|x) ∝ p(x|y)·p(y), and the reject score max_y log p(x|y)."""
    _, log_py = space.settings()
    n_dims = x[0].numel()
    lls = torch.cat([label_log_likelihoods(net, x[i : i + batch_size], space, k, seed) for i in range(0, x.shape[0], batch_size)])
    log_post = torch.log_softmax(lls + log_py.to(lls.device), 1)
    score = loglik_per_dim_bits(lls.max(1).values, net, n_dims)
    return Classified(log_post.argmax(1).cpu().numpy(), log_post.exp().cpu().numpy(), score.cpu().numpy(), space.setting_names())


def true_setting_index(space: LabelSpace, y: torch.Tensor) -> np.ndarray:
    """Index of each row of y (N×L in {0,1}) among ``space.settings()``."""
    if space.mode == "onehot":
        return y.argmax(1).cpu().numpy()
    bits = (y > 0.5).long().cpu()
    return (bits * (2 ** torch.arange(space.dim))).sum(1).numpy()


def roc_auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties counted half (Mann–Whitney U)."""
    positive, negative = np.asarray(positive, np.float64), np.asarray(negative, np.float64)
    both = np.concatenate([positive, negative])
    order = both.argsort(kind="mergesort")
    ranks = np.empty(len(both))
    sorted_vals = both[order]
    # average ranks over ties
    i = 0
    while i < len(both):
        j = i
        while j + 1 < len(both) and sorted_vals[j + 1] == sorted_vals[i]:
            j += 1
        ranks[order[i : j + 1]] = 0.5 * (i + j) + 1
        i = j + 1
    r_pos = ranks[: len(positive)].sum()
    return float((r_pos - len(positive) * (len(positive) + 1) / 2) / (len(positive) * len(negative)))


# --------------------------------------------------------------------------- the realism gauge


@dataclass
class Calibration:
    """Percentiles 0..100 of a plausibility score (higher: more plausible) over held-out data."""

    score: str  # "iwae_loglik_bpd" | "d_logit" | "max_label_loglik_bpd"
    quantiles: list[float]  # 101 values, at percentiles 0, 1, ..., 100
    n: int
    data: str = ""
    k: int = 0  # importance samples used (VAEs)
    warn_below_percentile: float = WARN_BELOW_PERCENTILE
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_scores(cls, score: str, values: np.ndarray, **kw) -> "Calibration":
        values = np.asarray(values, np.float64)
        values = values[np.isfinite(values)]
        if values.size == 0:
            raise ValueError("no finite scores to calibrate on")
        q = np.percentile(values, PERCENTILES)
        return cls(score=score, quantiles=[round(float(v), 6) for v in q], n=int(values.size), **kw)

    @classmethod
    def from_dict(cls, d: dict) -> "Calibration":
        """From stored JSON (a checkpoint's info), every field checked: ValueError with one line."""
        from engine.models.fields import check_value

        if not isinstance(d, dict):
            raise ValueError("a calibration must be a JSON object")
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        for name, default, lo, hi in (("score", "", None, None), ("n", 0, 0, None), ("data", "", None, None), ("k", 0, 0, None),
                                      ("warn_below_percentile", 0.0, 0.0, 100.0)):  # fmt: skip
            if name in known:
                check_value(name, default, known[name], lo, hi)
        q = known.get("quantiles")
        if not isinstance(q, list) or len(q) != len(PERCENTILES):
            raise ValueError(f"a calibration needs {len(PERCENTILES)} quantiles, got {len(q) if isinstance(q, list) else type(q).__name__}")
        for i, v in enumerate(q):
            check_value(f"quantiles[{i}]", 0.0, v)
        if not isinstance(known.get("extra", {}), dict):
            raise ValueError("a calibration's extra must be a JSON object")
        if "score" not in known or "n" not in known:
            raise ValueError("a calibration needs its score and n")
        return cls(**known)

    def to_dict(self) -> dict:
        return asdict(self)

    def percentile(self, values) -> np.ndarray:
        """Where each value falls among the held-out scores, 0..100 (clamped at the ends)."""
        q = np.asarray(self.quantiles)
        q = np.maximum.accumulate(q)  # monotone even with float noise
        values = np.asarray(values, np.float64)
        out = np.interp(values, q, PERCENTILES)
        return np.where(np.isnan(values), 0.0, out)

    def threshold(self, percentile: float) -> float:
        return float(np.interp(percentile, PERCENTILES, np.maximum.accumulate(np.asarray(self.quantiles))))


@torch.no_grad()
def plausibility(net, family: str, x: torch.Tensor, y: torch.Tensor | None = None, k: int = 16, seed: int | None = 0) -> dict[str, np.ndarray]:
    """The gauge's raw numbers for images x (float N×C×S×S in [0,1]).

    vae/cvae: ``elbo_bpd``, ``iwae_bpd`` and ``score`` = −iwae_bpd (log-likelihood bits/dim;
    the conditional VAE uses log p(x|y) for given y, else log Σ_y p(x|y)p(y));
    cgan: ``d_logit`` and ``score`` = D(x, y) (y: given, else the encoder's estimate).
    """
    net.eval()
    if family == "cgan":
        d = net.discriminate(x, y).float().cpu().numpy()
        return {"d_logit": d, "score": d}
    n_dims = x[0].numel()
    if family == "cvae" and y is None:
        space = net.label_space()
        elbos, iwaes = per_label_bounds(net, x, space, k, seed)  # N×M nats each
        log_py = space.settings()[1].to(x.device)
        elbo = torch.logsumexp(elbos + log_py, 1)  # log Σ_y p(y)·e^{ELBO_y} ≤ log p(x)
        iwae = torch.logsumexp(iwaes + log_py, 1)
    else:
        elbo, iwae = elbo_and_iwae(net, x, y, k, seed)
    elbo_bpd, iwae_bpd = to_bits_per_dim(elbo, net, n_dims), to_bits_per_dim(iwae, net, n_dims)
    return {"elbo_bpd": elbo_bpd.cpu().numpy(), "iwae_bpd": iwae_bpd.cpu().numpy(), "score": (-iwae_bpd).cpu().numpy()}


SCORE_NAMES = {"cgan": "d_logit", "vae": "iwae_loglik_bpd", "cvae": "iwae_loglik_bpd"}


@torch.no_grad()
def calibrate(net, family: str, data, labels_y: torch.Tensor | None, k: int = 16, limit: int = 2000, batch_size: int = 256, device="cpu", spec: str = "") -> dict[str, Calibration]:
    """Calibrations on held-out data: ``realism`` (the gauge; conditional models score each
    image under its true labels), and for the conditional VAE ``reject`` (max_y log p(x|y))."""
    net.eval()
    n = min(limit, len(data)) if limit else len(data)
    scores, rejects = [], []
    for i in range(0, n, batch_size):
        x = data.images[i : min(i + batch_size, n)].to(device).float().div_(255.0)
        y = None if labels_y is None else labels_y[i : i + x.shape[0]].to(device)
        scores.append(plausibility(net, family, x, y, k)["score"])
        if family == "cvae":
            lls = label_log_likelihoods(net, x, net.label_space(), k)
            rejects.append(loglik_per_dim_bits(lls.max(1).values, net, x[0].numel()).cpu().numpy())
    kw = dict(data=spec, k=k if family != "cgan" else 0)
    out = {"realism": Calibration.from_scores(SCORE_NAMES[family], np.concatenate(scores), **kw)}
    if rejects:
        out["reject"] = Calibration.from_scores("max_label_loglik_bpd", np.concatenate(rejects), **kw)
    return out


def calibrate_gan_on_samples(net, n: int = 2000, seed: int = 0, batch_size: int = 256, device="cpu") -> Calibration:
    """A cGAN's gauge relative to its own output: percentiles of D(G(z, y), y) over the
    generator's samples (z ~ N(0, I), labels drawn from the training frequencies).

    In the editor a GAN's edit is always G's output, and a discriminator scores fakes below real
    faces: calibrated on real images every edit would sit near the 0th percentile. Against G's
    own samples the gauge says whether an edit looks as plausible as the model's typical output."""
    net.eval()
    g = torch.Generator().manual_seed(seed)
    prior = net.label_prior.detach().float().cpu()
    scores = []
    with torch.inference_mode():
        for i in range(0, n, batch_size):
            b = min(batch_size, n - i)
            z = torch.randn(b, net.config.latent_dim, generator=g)
            if net.config.label_mode == "multi":
                y = torch.bernoulli(prior.expand(b, -1).contiguous(), generator=g)
            else:
                y = torch.nn.functional.one_hot(torch.multinomial(prior, b, replacement=True, generator=g), prior.numel()).float()
            z, y = z.to(device), y.to(device)
            scores.append(plausibility(net, "cgan", net.decode(z, y), y)["score"])
    return Calibration.from_scores(SCORE_NAMES["cgan"], np.concatenate(scores), data=f"the generator's own samples (n={n}, labels drawn from the training frequencies)", k=0)


def latent_typicality(z: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """For rows of z (N×D): the percentile (0–100) of prior draws z ~ N(0, I) lying *farther*
    from the centre, 100·P(χ²_D > ‖z‖²), and the RMS per dimension ‖z‖/√D (1 for a typical draw)."""
    z = torch.as_tensor(z).detach().double().cpu().reshape(len(z), -1)
    half_d = torch.tensor(z.shape[1] / 2.0, dtype=torch.float64)
    sq = z.pow(2).sum(1)
    return (100.0 * torch.special.gammaincc(half_d, sq / 2.0)).numpy(), (sq / z.shape[1]).sqrt().numpy()


class RealismGauge:
    """Live realism of images under a loaded model (``engine.api.Model``), as percentiles of
    held-out data. ``gauge(images, labels, z)`` → one dict per image.

    For a GAN the discriminator alone is a weak off-manifold signal: on the bundled face cGAN it
    warned about only 23 % of latents scaled ×3, whose decodes are broken. So when the latents
    behind the images are known, an image is also implausible when its latent lies beyond
    ``LATENT_RMS_LIMIT`` (details ``latent_rms`` and ``latent_percentile``, the χ² tail): the
    generator never saw such a latent in training. The percentile shown stays D's."""

    def __init__(self, model, k: int = 16):
        self.model, self.k = model, k
        raw = model.ckpt.info.get("realism")
        self.calibration = Calibration.from_dict(raw) if raw else None

    def __call__(self, images, labels: dict[str, float] | None = None, z=None) -> list[dict]:
        m = self.model
        x = images if torch.is_tensor(images) else m.to_tensor(images)
        y = m.label_tensor(labels, x.shape[0]) if (labels is not None and m.labels) else None
        raw = plausibility(m.net, m.family, x.contiguous(), y, self.k)
        pct = self.calibration.percentile(raw["score"]) if self.calibration else np.full(len(raw["score"]), np.nan)
        far_out = np.zeros(len(raw["score"]), bool)
        if m.family == "cgan" and z is not None:
            raw["latent_percentile"], raw["latent_rms"] = latent_typicality(z)
            far_out = raw["latent_rms"] > LATENT_RMS_LIMIT
        warn = self.calibration.warn_below_percentile if self.calibration else WARN_BELOW_PERCENTILE
        out = []
        for i in range(len(raw["score"])):
            row = {k: float(v[i]) for k, v in raw.items()}
            row["percentile"] = float(pct[i])
            row["plausible"] = bool((np.isnan(pct[i]) or pct[i] >= warn) and not far_out[i])
            out.append(row)
        return out


# --------------------------------------------------------------------------- classify-with-reject evaluation


def _resize_uint8(images, size: int, channels: int) -> torch.Tensor:
    """uint8 N×H×W (grey) → uint8 N×C×S×S, bilinear."""
    x = torch.as_tensor(np.asarray(images, np.float32))[:, None]
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = x.round().clamp(0, 255).to(torch.uint8)
    return x.expand(-1, channels, -1, -1).contiguous()


def out_of_distribution_sets(size: int, channels: int, n: int, faces_dir: str | None, seed: int = 0, progress: bool = False) -> dict[str, torch.Tensor]:
    """uint8 N×C×S×S sets from elsewhere: scikit-learn's digits (8×8 upscaled), uniform noise,
    and grey faces of a CelebA-layout folder (its test split)."""
    from sklearn.datasets import load_digits

    from engine.data.datasets import load_dataset

    out = {}
    digits = load_digits().images[:n] * (255.0 / 16.0)
    out["digits"] = _resize_uint8(digits, size, channels)
    g = torch.Generator().manual_seed(seed)
    out["noise"] = torch.randint(0, 256, (n, 1, size, size), generator=g, dtype=torch.uint8).expand(-1, channels, -1, -1).contiguous()
    if faces_dir:
        faces = load_dataset(f"faces:{faces_dir}", size, channels, "test", progress)
        out["faces"] = faces.images[:n]
    return out


@torch.no_grad()
def evaluate_reject(model, data_spec: str, faces_dir: str | None, reject_below: str = "5%", k: int = 16, limit: int = 0, ood_n: int = 1000, calibration_n: int = 2000, log=lambda s: None) -> dict:
    """The notes' conditional generative classifier on a class-labelled set: test accuracy
    without rejection; the threshold (a percentile of val scores, or a number); accuracy on what
    it accepts; ROC AUC and reject rates of in- versus out-of-distribution inputs."""
    import time

    from engine.data.datasets import load_dataset

    t0 = time.perf_counter()
    net, space, dev = model.net, model.label_space, model.device
    size, ch = model.image_size, model.channels

    def run(images: torch.Tensor) -> Classified:
        return classify(net, images.to(dev).float().div(255.0), space, k=k)

    test = load_dataset(data_spec, size, ch, "test", progress=False)
    if limit:
        test = test.subset(np.arange(min(limit, len(test))))
    truth = true_setting_index(space, space.encode(test.labels))
    log(f"classifying {len(test)} test images ({space.dim} labels × {k} importance samples)")
    res = run(test.images)
    correct = res.prediction == truth
    val = load_dataset(data_spec, size, ch, "val", progress=False)
    val_scores = run(val.images[:calibration_n]).score
    if str(reject_below).strip().endswith("%"):
        pct = float(str(reject_below).strip()[:-1])
        threshold = float(np.percentile(val_scores, pct))
        kind = f"{pct:g}th percentile of {min(calibration_n, len(val))} val images"
    else:
        threshold, kind = float(reject_below), "given (log-likelihood bits/dim)"
    accepted = res.score >= threshold
    report = {
        "data": data_spec,
        "n_test": int(len(test)),
        "k": k,
        "accuracy_no_reject": float(correct.mean()),
        "threshold_bits_per_dim": threshold,
        "threshold_kind": kind,
        "accept_rate_test": float(accepted.mean()),
        "accuracy_on_accepted": float(correct[accepted].mean()) if accepted.any() else None,
        "accuracy_on_rejected": float(correct[~accepted].mean()) if (~accepted).any() else None,
        "test_score_median": float(np.median(res.score)),
        "ood": {},
    }
    log("scoring out-of-distribution sets")
    all_ood = []
    for name, images in out_of_distribution_sets(size, ch, ood_n, faces_dir).items():
        s = run(images).score
        all_ood.append(s)
        report["ood"][name] = {
            "n": int(len(s)),
            "auc": roc_auc(res.score, s),
            "reject_rate": float((s < threshold).mean()),
            "score_median": float(np.median(s)),
        }
    report["auc_all_ood"] = roc_auc(res.score, np.concatenate(all_ood))
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report
