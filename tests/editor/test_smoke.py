"""``latent-studio --smoke-test`` (editor.smoke): the packaged app's start check must pass on a
working app and fail, with one line, on a broken one."""

from __future__ import annotations

from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from editor import smoke
from editor.app import create_window, parse_args

FAKE = "tests.editor.fake_engine:FakeEngine"


def _run(qtbot, settings, argv, capsys, **kwargs):
    args = parse_args(argv + ["--engine", FAKE])
    window = create_window(args, settings)
    qtbot.addWidget(window)
    window.show()
    code = smoke.run(QApplication.instance(), window, **kwargs)
    return code, capsys.readouterr()


def test_smoke_test_renders_an_edited_sample_and_exits_0(qtbot, settings, tmp_path, capsys):
    shot = tmp_path / "smoke.png"
    code, out = _run(qtbot, settings, ["--smoke-test", "--screenshot", str(shot)], capsys, screenshot=str(shot))
    assert code == 0, out.err
    assert out.out.startswith("smoke test: ok — model default (")
    assert not QImage(str(shot)).isNull()


def test_smoke_test_fails_in_one_line_when_the_model_does_not_load(qtbot, settings, capsys):
    code, out = _run(qtbot, settings, ["--smoke-test", "--model", "no-such-model"], capsys)
    assert code == 1
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "no-such-model" in lines[0]


def test_smoke_test_times_out_with_an_error(qtbot, settings, capsys):
    code, out = _run(qtbot, settings, ["--smoke-test"], capsys, timeout_s=0.0)
    assert code == 1 and "timed out" in out.err
