"""A command line tool answers --help and argument errors at once: the CLI builds only the
parser it needs and no option builder imports torch — nor numpy or the contract (together
0.4 s of a --help under load)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import sys
from engine.cli import main
try:
    code = main({argv!r})
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in ("torch", "PySide6", "dlib", "numpy", "engine.protocol") if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
"""


def _cli_commands() -> list[str]:
    from engine import cli

    cli._load_command_modules()
    return sorted(cli.COMMANDS)


@pytest.mark.parametrize("argv", [["--help"], ["train", "--size", "3"], ["train", "--help"], ["edit", "--help"]]
                         + [[name, "--help"] for name in ("sample", "encode", "eval", "bench", "fit")])
@pytest.mark.subprocess
def test_help_and_argument_errors_import_no_torch(argv):
    if argv[0] not in ("--help", *_cli_commands()):
        pytest.skip(f"no {argv[0]} command")
    out = subprocess.run([sys.executable, "-c", PROBE.format(argv=argv)], capture_output=True, text=True, timeout=60)
    assert "HEAVY=" in out.stdout, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "HEAVY=", f"{' '.join(argv)} imported {out.stdout.strip().splitlines()[-1]}"


@pytest.mark.subprocess
def test_every_subcommand_help_builds_without_torch():
    code = """
import sys
from engine import cli
cli._load_command_modules()
for name in cli.COMMANDS:
    cli.build_parser(only=name)
print("HEAVY=" + ",".join(m for m in ("torch",) if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "HEAVY=", out.stdout + out.stderr


@pytest.mark.parametrize("word, meant", [("traine", "train"), ("smaple", "sample"), ("edti", "edit")])
def test_a_mistyped_command_is_an_error_not_a_photo_for_the_gui(word, meant, capsys):
    from engine.cli import main

    assert main([word]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"did you mean {meant}?" in err[0]


def test_a_photo_name_is_not_taken_for_a_mistyped_command():
    from engine.cli import _load_command_modules, _mistyped_command

    _load_command_modules()
    for word in ("train.jpg", "photos/train", "-h", "portrait"):
        assert _mistyped_command(word) is None, word
