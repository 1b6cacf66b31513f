"""The editor's own reads of user files refuse what is not a regular file at once (a FIFO would
block the read, and the GUI with it)."""

from __future__ import annotations

import os
import time

import pytest

from editor.imaging import ImageLoadError, read_image


def test_a_fifo_given_as_a_photo_is_refused_at_once(qapp, tmp_path):
    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    t0 = time.perf_counter()
    with pytest.raises(ImageLoadError, match=r"^photo.jpg: not a regular file \(a pipe, socket or device\); refusing to read it$"):
        read_image(fifo)
    with pytest.raises(ImageLoadError, match="^missing.png: no such file$"):
        read_image(tmp_path / "missing.png")
    assert time.perf_counter() - t0 < 2


def test_a_fifo_given_as_a_recipe_is_one_line_at_once(qtbot, window, tmp_path):
    fifo = tmp_path / "look.json"
    os.mkfifo(fifo)
    t0 = time.perf_counter()
    with qtbot.waitSignal(window.session.failed, timeout=2000) as failed:
        assert window.session.apply_recipe(fifo) is False
    assert time.perf_counter() - t0 < 2
    assert failed.args[0] == "look.json: cannot read the recipe (not a regular file (a pipe, socket or device); refusing to read it)"
