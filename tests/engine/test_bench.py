"""`latent-studio bench --quick` on the CPU: runs end to end without Qt, superqt or platformdirs
(as on the GPU machine) and writes every key the README's performance table is made from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Importing the CLI and the bench must not need the GUI stack: these imports are made to fail.
BLOCKED = ("PySide6", "shiboken6", "superqt", "platformdirs", "editor")
RUN_WITHOUT_GUI_STACK = f"""
import sys
for name in {BLOCKED!r}:
    sys.modules[name] = None  # any import of these raises ImportError
from engine.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
@pytest.mark.subprocess
def test_quick_bench_on_cpu_without_the_gui_stack(tmp_path):
    out = tmp_path / "bench.json"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", RUN_WITHOUT_GUI_STACK, "bench", "--quick", "--repeat", "20", "--train-seconds", "1", "--no-editor", "--device", "cpu", "--json", str(out)],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    r = json.loads(out.read_text())
    assert json.loads(proc.stdout) == r  # --json prints what OUT holds
    assert r["machine"]["device"] == "cpu" and r["machine"]["torch"]
    for key in ("decode_64", "decode_128"):
        for mode in ("idle_1thread", "idle_nchw_baseline"):
            assert 0 < r[key][mode]["p50_ms"] <= r[key][mode]["p95_ms"] <= r[key][mode]["p99_ms"]
    assert {"busy_1thread", "busy_all_threads_baseline"} <= set(r["decode_64"])
    assert r["encode_64"]["p95_ms"] > 0 and r["encode_128"]["p95_ms"] > 0
    assert set(r["matmul_peak_gflops"]) == {"fp32", "bf16"} and r["matmul_peak_gflops"]["fp32"] > 0
    t = r["train_64"]
    assert set(t["amp"]) == {"off", "bf16"}  # the CPU default; fp16 needs CUDA
    assert t["baseline_img_per_s"] > 0 and t["img_per_s"] == t["amp"]["off"]["img_per_s"]
    for e in t["amp"].values():
        assert e["ratio"] == e["img_per_s"] / t["baseline_img_per_s"]
        assert 0 < e["fraction_of_matmul_peak"] and e["peak_memory_mib"] > 0
    c = r["train_cgan_64"]
    assert c["img_per_s"] > 0 and c["ratio"] == c["img_per_s"] / c["baseline_img_per_s"]
    for size in ("64", "128"):
        a = r["encode_aligned"][size]
        if "skipped" not in a:  # dlib and scikit-image installed (the dev extra): a real face, aligned by dlib
            assert a["detector"] == "dlib" and 0 < a["align_only"]["p50_ms"] and a["p50_ms"] <= a["p99_ms"]
    assert r["editor"] == {"skipped": "--no-editor"}
    assert r["peak_rss_mib"] > 0 and "peak_cuda_memory_mib" not in r


def test_bench_refuses_fp16_on_the_cpu_and_unknown_amp(capsys):
    from engine.cli import main

    assert main(["bench", "--amp", "fp16", "--no-editor"]) == 2
    assert "fp16 needs a CUDA device" in capsys.readouterr().err
    assert main(["bench", "--amp", "off,fp8", "--no-editor"]) == 2
    assert "'fp8'" in capsys.readouterr().err
