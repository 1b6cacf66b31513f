"""The editor's developer tools (python -m editor.bench / editor.screenshot) refuse impossible
numbers in one line, like the latent-studio subcommands do."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module, args, says", [
    ("editor.bench", ["-n", "0"], "-n must be within"),
    ("editor.bench", ["--rate", "0"], "--rate must be within"),
    ("editor.bench", ["--seconds", "nan"], "--seconds must be within"),
    ("editor.screenshot", ["out.png", "--timeout", "-1"], "--timeout must be within"),
    ("editor.screenshot", ["out.png", "--size", "100000x5"], "--size must be WIDTHxHEIGHT"),
])  # fmt: skip
@pytest.mark.subprocess
def test_impossible_numbers_are_one_line_errors(module, args, says, tmp_path):
    out = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 2 and says in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "out.png").exists()
