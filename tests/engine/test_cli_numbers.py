"""Every numeric option of every subcommand: out-of-range, non-finite and non-numeric values stop
with exit 2 and one ``error:`` line, before any work starts. The table is built by walking the
real parser, so a new option is covered (or flagged) without editing this file."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from engine.cli import UsageError, _load_command_modules, build_parser, main
from engine.cli.options import is_checked

_load_command_modules()
_PARSER = build_parser()


def _subcommands(parser: argparse.ArgumentParser, prefix=()):
    """(argv prefix, parser) for every leaf subcommand, e.g. (("data", "build-faces"), p)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix, parser
    for action in subs:
        for name, sub in action.choices.items():
            yield from _subcommands(sub, (*prefix, name))


def _numeric_options():
    for prefix, parser in _subcommands(_PARSER):
        for action in parser._actions:
            if action.option_strings and (hasattr(action.type, "bounds") or action.type in (int, float)):
                yield prefix, action


def _bad_values(action) -> list[str]:
    if not hasattr(action.type, "bounds"):
        return []
    lo, hi, integer = action.type.bounds
    values = ["nan", "inf", "-inf", "abc", "", "1e400"]
    if integer:
        values += [str(lo - 1), str(hi + 1), "1.5", str(10**30)]
    else:
        values += [repr(hi * 2 + 1), repr(lo - 1)]
    return values


CASES = [(prefix, action.option_strings[-1], value) for prefix, action in _numeric_options() for value in _bad_values(action)]
OPTIONS = list(_numeric_options())


def test_table_covers_every_subcommand():
    assert len({prefix[0] for prefix, _ in OPTIONS}) >= 20 and len(OPTIONS) >= 80 and len(CASES) >= 800


@pytest.mark.parametrize("prefix, action", OPTIONS, ids=lambda v: " ".join(v) if isinstance(v, tuple) else v.option_strings[-1])
def test_every_numeric_option_has_a_range_and_its_default_fits(prefix, action):
    assert is_checked(action), f"{' '.join(prefix)} {action.option_strings[-1]}: a plain {action.type.__name__}; use engine.cli.options"
    if action.default is not None:
        assert action.type(str(action.default)) == action.default


def test_bad_numbers_give_one_line_errors():
    """All cases in one test, on one parser (main() builds a parser per call: ~15 ms each); main()
    turns UsageError into the ``error:`` line and exit 2, checked below on a few cases."""
    failures = []
    for prefix, option, value in CASES:
        try:
            _PARSER.parse_args([*prefix, f"{option}={value}"])
            failures.append(f"{' '.join(prefix)} {option}={value}: accepted")
        except UsageError as exc:
            if not str(exc).startswith(f"argument {option}: ") or "\n" in str(exc):
                failures.append(f"{' '.join(prefix)} {option}={value}: {str(exc)[:120]!r}")
    assert not failures, f"{len(failures)} of {len(CASES)}:\n" + "\n".join(failures[:20])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--data", "x", "--out", "m.safetensors", "--batch-size", "-1"], "argument --batch-size: must be an integer in 1..4096, got -1"),
        (["train", "--data", "x", "--out", "m.safetensors", "--epochs", "0"], "argument --epochs: must be an integer in 1..100000, got 0"),
        (["classify", "m.safetensors", "x.png", "--reject-below", "nan"], "argument --reject-below: must be a finite number"),
        (["classify", "m.safetensors", "x.png", "--reject-below", "150%"], "argument --reject-below: a percentile must be"),
        (["train-judge", "--data", "x", "--out", "j.safetensors", "--size", "3"], "argument --size: must be an integer in 16..256, got 3"),
        (["traverse", "m.safetensors", "--out", "t.png", "--count", "-1"], "argument --count: must be an integer in 1..256, got -1"),
        (["sample", "--out", "x.png", "-n", "0"], "argument -n: must be an integer in 1..4096, got 0"),
        (["train", "--out", "m.safetensors"], "the following arguments are required: --data"),
    ],
)
def test_messages_name_the_option_and_the_range(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {message}" or err.startswith(f"error: {message}"), err


def test_unknown_lock_names_are_refused(tiny_ckpt, capsys):
    assert main(["entanglement", str(tiny_ckpt), "--lock", "Eyeglasses,Nope", "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --lock: unknown name(s) 'Nope'; known: Eyeglasses, Smiling") and len(err.splitlines()) == 1


def test_edit_amounts_must_be_finite(tmp_path, capsys):
    photo = tmp_path / "p.png"
    photo.write_bytes(b"")
    for spec in ("Eyeglasses=nan", "Eyeglasses=inf", "Eyeglasses=1e9"):
        assert main(["edit", str(photo), "--out", str(tmp_path / "out"), "--attr", spec]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: --attr '{spec}'") and len(err.splitlines()) == 1


def test_bench_refuses_nan_seconds_through_the_api():
    from engine.bench import model as bench

    with pytest.raises(ValueError, match="train_seconds"):
        bench.run(train_seconds=float("nan"), editor=False, progress=lambda s: None)


@pytest.mark.parametrize(
    "argv",
    [
        ["bench", "--train-seconds", "nan", "--no-editor"],  # looped forever
        ["train", "--data", "x", "--out", "m.safetensors", "--threads", "1000000"],  # native OpenMP abort
        ["bench-photo", "--width", "100000"],
    ],
)
@pytest.mark.subprocess
def test_end_to_end_exit_quickly_with_one_line(argv, tmp_path):
    r = subprocess.run([sys.executable, "-m", "engine.cli", *argv], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error: argument"), r.stderr


@pytest.mark.parametrize("fields, message", [({"epochs": 0}, "epochs must be within 1..100000"), ({"batch_size": -1}, "batch_size must be within"),
                                             ({"lr": float("nan")}, "lr must be a finite number"), ({"threads": 10**6}, "threads must be within 0..256"),
                                             ({"size": 3}, "size must be within 28..128"), ({"epochs": 2.5}, "epochs must be an integer")])  # fmt: skip
def test_train_config_has_the_same_ranges_for_the_api(fields, message):
    from engine.training.config import TrainConfig

    with pytest.raises(ValueError, match=message):
        TrainConfig(**fields)


@pytest.mark.parametrize("options, message", [("spectral_norm=maybe", "spectral_norm needs a bool"), ("n_critic=0", "n_critic must be within 1..100"),
                                              ("ema_decay=nan", "ema_decay must be a finite number"), ("n_critic=2.5", "n_critic needs a int"),
                                              ("n_critic", "--model-options: 'n_critic' is not NAME=VALUE"), ("critic=2", "'critic' is not a field of CGANConfig")])  # fmt: skip
def test_model_options_are_typed_and_ranged(options, message):
    from engine.models import registry
    from engine.models.cgan import CGANConfig
    from engine.training.loop import TrainingError, parse_model_options

    with pytest.raises((TrainingError, ValueError), match=message):
        registry.config_from_dict("cgan", parse_model_options(options, CGANConfig))


def test_one_reader_of_name_value_lists():
    from engine.protocol import name_value_pairs, parse_labels

    assert name_value_pairs(" A=1, ,B = -2 ,", "x", "A=1") == [("A", "1"), ("B", "-2")]
    assert name_value_pairs(["A=1", "C=x=y"], "x", "A=1") == [("A", "1"), ("C", "x=y")]  # a repeated option's items
    assert name_value_pairs("A,B=0", "x", "A=1", bare="1") == [("A", "1"), ("B", "0")]
    for bad in ("A", "=1", "A=1,=2"):
        with pytest.raises(ValueError, match=r"^--opt: '.*' is not NAME=VALUE, e\.g\. A=1$"):
            name_value_pairs(bad, "--opt", "A=1")
    assert parse_labels("Eyeglasses, Male=0.5") == {"Eyeglasses": 1.0, "Male": 0.5} and parse_labels("") is None
    with pytest.raises(ValueError, match="--labels: Male='x' is not NAME=NUMBER"):
        parse_labels("Male=x")


@pytest.mark.parametrize("argv, message", [
    (["edit", "x.png", "--out", "o", "--attr", "=2"], "--attr '=2': expected NAME=AMOUNT"),
    (["directions-import", "m.safetensors", "d.safetensors", "--rename", "Glasses"], "--rename: 'Glasses' is not NAME=VALUE"),
    (["directions-import", "m.safetensors", "d.safetensors", "--rename", "Glasses="], "--rename: Glasses= has no new name"),
])  # fmt: skip
def test_name_value_options_are_refused_in_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err


def test_unknown_methods_are_refused_before_any_work(capsys):
    assert main(["eval-edits", "--data", "faces:/nowhere", "--methods", "mean,pca"]) == 2
    assert capsys.readouterr().err.strip() == "error: --methods: unknown name(s) 'pca'; known: classifier, mean"
