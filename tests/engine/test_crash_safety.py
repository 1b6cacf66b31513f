"""Crash-safe training: SIGKILL in the middle of a run, then --resume continues from the last checkpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from engine import checkpoint as ckpt_io
from engine.training.loop import state_path


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_mid_run_then_resume(celeba_dir, tmp_path):
    out = tmp_path / "m.safetensors"
    argv = [sys.executable, "-m", "engine.cli", "train", "--data", f"celeba:{celeba_dir}", "--size", "32", "--latent-dim", "4",
            "--base-width", "8", "--batch-size", "4", "--threads", "1", "--quiet", "--out", str(out)]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(argv + ["--epochs", "200"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not state_path(out).exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.3)  # well inside later epochs: kill lands mid-step or mid-write
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()[-500:]
    # what the kill left is a usable checkpoint, never half a file
    done = ckpt_io.load(out).info["training"]["epochs_done"]
    assert 1 <= done < 200
    total = done + 2
    res = subprocess.run(argv + ["--epochs", str(total), "--resume"], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-800:]
    final = ckpt_io.load(out)
    assert final.info["training"]["epochs_done"] == total and final.info["training"]["final"]
    assert [h["epoch"] for h in final.info["training"]["history"]] == list(range(1, total + 1))
