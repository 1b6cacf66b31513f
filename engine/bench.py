"""``latent-studio bench``: latency and throughput, each against a baseline measured in the same run.

Absolute times on shared 2-core machines are noise; ratios measured side by side are not.
Reported: decode/encode latency percentiles at 64 and 128 px (idle, and with a training
process running beside it), training throughput of our loop against a plain eager loop of the
same network (ratio), achieved FLOP/s against a measured matmul peak, peak memory, and the
editor's slider → pixels latency (measured in a subprocess: the engine never imports Qt).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from contextlib import contextmanager

import numpy as np
import torch

from engine.models.vae import VAE, VAEConfig
from engine.service import thread_budget


def percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms)
    return {"p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95)), "p99_ms": float(np.percentile(a, 99)), "n": len(ms)}


def _net(size: int, latent_dim: int = 64) -> VAE:
    return VAE(VAEConfig(image_size=size, latent_dim=latent_dim)).eval()


@torch.inference_mode()
def decode_latency(net: VAE, n: int = 200, threads: int = 1, channels_last: bool = True) -> dict[str, float]:
    """One-image decodes, as a slider drag makes them."""
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
    z = torch.randn(n + 10, net.config.latent_dim)
    times = []
    with thread_budget(threads):
        for i in range(n + 10):
            t0 = time.perf_counter()
            img = net.decode(z[i : i + 1]).mul(255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()
            if i >= 10:  # warm-up excluded
                times.append((time.perf_counter() - t0) * 1000)
    assert img.shape[1] == net.config.image_size
    return percentiles(times)


@torch.inference_mode()
def encode_latency(net: VAE, n: int = 100, threads: int = 1) -> dict[str, float]:
    x = torch.rand(1, 3, net.config.image_size, net.config.image_size).contiguous(memory_format=torch.channels_last)
    net = net.to(memory_format=torch.channels_last)
    times = []
    with thread_budget(threads):
        for i in range(n + 5):
            t0 = time.perf_counter()
            net.encode(x)
            if i >= 5:
                times.append((time.perf_counter() - t0) * 1000)
    return percentiles(times)


@contextmanager
def background_training(size: int = 64):
    """A training process on the same machine (all cores), as when a user trains beside the app."""
    code = (
        "import torch;from engine.bench import _net;n=_net(%d).train();o=torch.optim.Adam(n.parameters());"
        "x=torch.rand(64,3,%d,%d)\nwhile True:\n l=n.loss(x)['loss'];o.zero_grad();l.backward();o.step()" % (size, size, size)
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(3.0)  # let it reach full speed
        yield proc
    finally:
        proc.kill()
        proc.wait()


def train_throughput(size: int, optimized: bool, seconds: float = 8.0, batch: int = 64, amp: str = "off") -> float:
    """Images per second of VAE training steps. ``optimized``: channels_last tensors and model,
    uint8 batches converted in place, set_to_none grads. Baseline: the plain eager loop of
    pytorch/examples (NCHW float batches)."""
    torch.manual_seed(0)
    net = _net(size).train()
    data_u8 = torch.randint(0, 255, (batch * 8, 3, size, size), dtype=torch.uint8)
    data_f = data_u8.float() / 255
    if optimized:
        net = net.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    n_img, t_end, t_start, i = 0, None, None, 0
    while True:
        sl = slice((i % 8) * batch, (i % 8 + 1) * batch)
        if optimized:
            x = data_u8[sl].float().div_(255).contiguous(memory_format=torch.channels_last)
        else:
            x = data_f[sl]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp == "bf16"):
            loss = net.loss(x, step=i)["loss"]
        opt.zero_grad(set_to_none=optimized)
        loss.backward()
        opt.step()
        i += 1
        now = time.perf_counter()
        if i == 3:
            t_start = now  # warm-up excluded
        elif i > 3:
            n_img += batch
            if now - t_start > seconds:
                t_end = now
                break
    return n_img / (t_end - t_start)


def flops_per_image(net: VAE) -> float:
    """Training FLOPs for one image (forward + backward), counted by torch's FlopCounterMode."""
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.rand(2, 3, net.config.image_size, net.config.image_size)
    counter = FlopCounterMode(display=False)
    with counter:
        net.train().loss(x)["loss"].backward()
    return counter.get_total_flops() / 2


def matmul_peak_gflops(n: int = 1024, seconds: float = 2.0) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    count, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        a @ b
        count += 1
    return 2 * n**3 * count / (time.perf_counter() - t0) / 1e9


def editor_latency(model: str, n: int) -> dict | None:
    """Slider event → pixels painted, in an offscreen editor run as a subprocess."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    cmd = [sys.executable, "-m", "editor.bench", "--model", model, "-n", str(n), "--json"]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    except subprocess.TimeoutExpired:
        return {"error": "editor benchmark timed out"}
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout)


def run(model: str = "default", quick: bool = False, editor: bool = True, progress=print) -> dict:
    n = 60 if quick else 200
    secs = 3.0 if quick else 8.0
    results: dict = {"machine": {"threads": torch.get_num_threads(), "torch": torch.__version__, "cpu_count": os.cpu_count()}}
    for size in (64, 128):
        net = _net(size)
        progress(f"decode latency at {size} px")
        results[f"decode_{size}"] = {"idle_1thread": decode_latency(net, n), "idle_nchw_baseline": decode_latency(_net(size), n, channels_last=False)}
        results[f"encode_{size}"] = encode_latency(net, n // 2)
    progress("decode latency at 64 px while a training process runs beside it")
    with background_training(64):
        net = _net(64)
        results["decode_64"]["busy_1thread"] = decode_latency(net, n, threads=1)
        results["decode_64"]["busy_all_threads_baseline"] = decode_latency(net, n, threads=os.cpu_count() or 2)
    progress("training throughput: ours vs the plain eager loop")
    for size in (64,):
        ours = train_throughput(size, optimized=True, seconds=secs)
        plain = train_throughput(size, optimized=False, seconds=secs)
        bf16 = train_throughput(size, optimized=True, seconds=secs, amp="bf16")
        fpi = flops_per_image(_net(size))
        results[f"train_{size}"] = {
            "img_per_s": ours, "baseline_img_per_s": plain, "ratio": ours / plain, "gflops_achieved": ours * fpi / 1e9,
            "bf16_img_per_s": bf16, "bf16_ratio": bf16 / plain,
        }  # fmt: skip
    progress("matmul peak")
    results["matmul_peak_gflops"] = matmul_peak_gflops(seconds=1.0 if quick else 2.0)
    results["train_64"]["fraction_of_matmul_peak"] = results["train_64"]["gflops_achieved"] / results["matmul_peak_gflops"]
    if editor:
        progress("editor: slider event → pixels painted (offscreen)")
        results["editor"] = editor_latency(model, n)
    results["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return results


def table(results: dict) -> str:
    rows = []
    for key in ("decode_64", "decode_128"):
        for mode, r in results[key].items():
            rows.append(f"{key:<12} {mode:<28} p50 {r['p50_ms']:7.2f} ms  p95 {r['p95_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms")
    for key in ("encode_64", "encode_128"):
        r = results[key]
        rows.append(f"{key:<12} {'idle_1thread':<28} p50 {r['p50_ms']:7.2f} ms  p95 {r['p95_ms']:7.2f} ms")
    t = results["train_64"]
    rows.append(f"train_64     ours {t['img_per_s']:.0f} img/s vs plain eager {t['baseline_img_per_s']:.0f} img/s: ratio {t['ratio']:.2f}×")
    rows.append(f"train_64     ours with --amp bf16 {t['bf16_img_per_s']:.0f} img/s: ratio {t['bf16_ratio']:.2f}× the plain eager fp32 loop")
    rows.append(f"FLOP/s       {t['gflops_achieved']:.1f} GFLOP/s = {100 * t['fraction_of_matmul_peak']:.0f} % of the matmul peak {results['matmul_peak_gflops']:.1f} GFLOP/s")
    ed = results.get("editor")
    if ed and "error" not in ed:
        rows.append("editor       " + ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in ed.items()))
    elif ed:
        rows.append(f"editor       error: {ed['error']}")
    rows.append(f"peak memory  {results['peak_rss_mib']:.0f} MiB")
    return "\n".join(rows)
