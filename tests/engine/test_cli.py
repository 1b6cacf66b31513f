"""The command line: help for every subcommand, one-line errors, JSON output."""

from __future__ import annotations

import json

import pytest

from engine.cli import COMMANDS, _load_command_modules, main

_load_command_modules()  # so every registered subcommand is parametrized below


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0 and "usage: latent-studio" in capsys.readouterr().out


def test_sample_and_encode(tiny_ckpt, tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert main(["sample", "--model", str(tiny_ckpt), "-n", "4", "--out", str(out), "--json"]) == 0
    assert out.exists() and json.loads(capsys.readouterr().out)["n"] == 4
    assert main(["encode", str(out), "--model", str(tiny_ckpt), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["shape"] == [1, 8]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sample", "--model", "/no/such.safetensors", "--out", "x.png"], "error: such.safetensors: no such checkpoint file"),
        (["encode", "missing.png", "--model", "TINY"], "error: missing.png: no such file"),
        (["train", "--data", "imagenet:x", "--out", "m.safetensors", "--quiet"], "error: unknown data spec"),
        (["sample", "--model", "TINY", "-n", "0", "--out", "x.png"], "error: argument -n: must be an integer in 1..4096, got 0"),
    ],
)
def test_bad_input_gives_one_line_error(argv, message, tiny_ckpt, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = [str(tiny_ckpt) if a == "TINY" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(message) and len(err.splitlines()) == 1
