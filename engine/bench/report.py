"""The bench's results as the table ``latent-studio bench`` prints (no torch: formatting only)."""

from __future__ import annotations


def table(results: dict) -> str:
    rows = [f"device       {results['machine']['device']} (torch {results['machine']['torch']})"]
    for key in ("decode_64", "decode_128"):
        for mode, r in results[key].items():
            rows.append(f"{key:<12} {mode:<28} p50 {r['p50_ms']:7.2f} ms  p95 {r['p95_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms")
    for key in ("encode_64", "encode_128"):
        r = results[key]
        rows.append(f"{key:<12} {'idle_1thread':<28} p50 {r['p50_ms']:7.2f} ms  p95 {r['p95_ms']:7.2f} ms")
    peaks = results["matmul_peak_gflops"]
    rows.append("matmul peak  " + ", ".join(f"{dt} {g:.1f} GFLOP/s" for dt, g in peaks.items()))
    t = results["train_64"]
    rows.append(f"train_64     plain eager fp32 loop {t['baseline_img_per_s']:.0f} img/s (the baseline)")
    for mode, e in t["amp"].items():
        rows.append(
            f"train_64     ours, amp {mode:<4} {e['img_per_s']:7.0f} img/s: ratio {e['ratio']:.2f}×, "
            f"{e['gflops_achieved']:.1f} GFLOP/s = {100 * e['fraction_of_matmul_peak']:.2g} % of the {e['matmul_peak_dtype']} matmul peak"
        )
    c = results["train_cgan_64"]
    rows.append(f"train_cgan64 ours {c['img_per_s']:.0f} img/s vs plain eager {c['baseline_img_per_s']:.0f} img/s: ratio {c['ratio']:.2f}×")
    if "bf16" in c:
        rows.append(f"train_cgan64 ours, amp bf16 {c['bf16']['img_per_s']:.0f} img/s: ratio {c['bf16']['ratio']:.2f}× the plain eager loop")
    for size, r in results["encode_aligned"].items():
        if "skipped" in r:
            rows.append(f"encode+align {size} px: skipped ({r['skipped']})")
        else:
            rows.append(f"encode+align {size:<3} px, dlib, {r['faces_found']} face(s)   p50 {r['p50_ms']:7.2f} ms  p95 {r['p95_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms")
    ed = results.get("editor") or {}
    for size in ("64", "128"):
        for load, r in ed.get(size, {}).items():
            if r and "error" not in r:
                rows.append(f"editor {size:<3} px {load:<5} slider→pixels   p50 {r['p50_ms']:7.2f} ms  p95 {r['p95_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms"
                            f"  (drag {r['drag_fps']:.0f} fps, longest stall {r['max_stall_ms']:.0f} ms)")
    if "error" in ed or "skipped" in ed:
        rows.append(f"editor       {'error: ' + ed['error'] if 'error' in ed else 'skipped (' + ed['skipped'] + ')'}")
    rows.append(f"peak memory  {results['peak_rss_mib']:.0f} MiB resident" + (f", {results['peak_cuda_memory_mib']:.0f} MiB CUDA" if "peak_cuda_memory_mib" in results else ""))
    return "\n".join(rows)
