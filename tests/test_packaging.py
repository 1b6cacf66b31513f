"""Packaging: the PyInstaller spec's ``excludes`` must never name a module the running app imports
(face finding, and what a torch optimizer imports on its first step, included), and a built
one-folder app (when dist/latent-studio exists) must pass its start check and fit a photo."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "latent-studio.spec"
APP = ROOT / "dist" / "latent-studio" / "latent-studio"


def spec_excludes() -> list[str]:
    for node in ast.walk(ast.parse(SPEC.read_text())):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "excludes" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise AssertionError("no excludes = [...] in the spec")


def wrongly_excluded(loaded: set[str]) -> list[str]:
    excludes = spec_excludes()
    return sorted(m for m in loaded if any(m == e or m.startswith(e + ".") for e in excludes))


def _env() -> dict[str, str]:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "OMP_NUM_THREADS": "1"}


@pytest.mark.slow
@pytest.mark.subprocess
def test_the_app_imports_nothing_the_spec_excludes(tmp_path):
    """Run the smoke test (real engine, default model) and list what got imported."""
    script = ("import json, sys\nfrom editor.app import main\ncode = main(['--smoke-test'])\n"
              f"open({str(tmp_path / 'mods.json')!r}, 'w').write(json.dumps(sorted(sys.modules)))\nsys.exit(code)\n")
    env = {**_env(), "LATENT_STUDIO_DATA_DIR": str(tmp_path / "data")}
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "smoke test: ok" in run.stdout
    loaded = set(json.loads((tmp_path / "mods.json").read_text()))
    excludes = spec_excludes()
    assert "scipy" in excludes and "pytest" in excludes
    assert {"dlib", "face_recognition_models"} <= loaded  # the smoke test found the portrait's face with dlib
    wrong = wrongly_excluded(loaded)
    assert not wrong, f"the spec excludes modules the app imports: {wrong}"


@pytest.mark.slow
@pytest.mark.subprocess
def test_an_optimizer_step_imports_nothing_the_spec_excludes():
    """The per-photo fit and training step a torch optimizer, whose first step()/zero_grad() import
    torch._dynamo (and sympy through it) even without torch.compile: the packaged app once stopped
    every fit with "module 'torch._dynamo' has no attribute 'disable'" because the spec excluded it.
    Deterministic, unlike the smoke test above, where the fit races the edit."""
    script = ("import json, sys, torch\np = torch.nn.Parameter(torch.zeros(3))\nopt = torch.optim.Adam([p], lr=0.1)\n"
              "(p - 1).square().sum().backward()\nopt.step()\nopt.zero_grad()\nprint(json.dumps(sorted(sys.modules)))\n")
    run = subprocess.run([sys.executable, "-c", script], env=_env(), capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
    wrong = wrongly_excluded(set(json.loads(run.stdout)))
    assert not wrong, f"the spec excludes modules a torch optimizer imports: {wrong[:20]}"


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.skipif(not APP.exists(), reason="no packaged app: build it with packaging/README.md")
def test_the_packaged_app_starts_and_renders(tmp_path):
    env = {**_env(), "LATENT_STUDIO_DATA_DIR": str(tmp_path / "data")}
    run = subprocess.run([str(APP), "--smoke-test", "--screenshot", str(tmp_path / "shot.png")], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "smoke test: ok" in run.stdout and (tmp_path / "shot.png").stat().st_size > 1000


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.skipif(not APP.exists(), reason="no packaged app: build it with packaging/README.md")
def test_the_packaged_app_fits_the_bundled_portrait(tmp_path):
    """The per-photo fit (a torch optimizer) runs in the packaged app: dlib finds the face, steps run."""
    portrait = ROOT / "resources" / "images" / "portrait.jpg"
    env = {**_env(), "LATENT_STUDIO_DATA_DIR": str(tmp_path / "data")}
    run = subprocess.run([str(APP), "fit", str(portrait), "--steps", "3", "--out", str(tmp_path / "fit"), "--json"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)
    assert report["face"] == "dlib" and report["steps"] == 3
    assert (tmp_path / "fit" / "after.png").stat().st_size > 1000
