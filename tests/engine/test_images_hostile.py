"""Property tests of the image loader over hostile inputs: a clean image or one clear error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.data import fuzz
from engine.data.images import ImageLoadError, load_image


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_arbitrary_bytes(data):
    fuzz.check(data)


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), which=st.integers(0, len(fuzz.MODES_AND_FORMATS) - 1))
def test_mutated_valid_images(seed, which):
    rng = np.random.default_rng(seed)
    data = fuzz.valid_image(rng, *fuzz.MODES_AND_FORMATS[which])
    assert fuzz.check(data) == "ok"  # every valid mode/format/orientation loads
    _, bad = fuzz.mutate(rng, data)
    fuzz.check(bad)


def test_declared_huge_png_is_refused_quickly():
    with pytest.raises(ImageLoadError, match="decompression bomb"):
        load_image(fuzz.png_bomb())  # 10 gigapixels declared: PIL's own guard fires first
    with pytest.raises(ImageLoadError, match="85 megapixels, over the 80 MP limit"):
        load_image(fuzz.png_bomb(10_000, 8_500))  # 85 MP: under PIL's guard, over ours


def test_fuzz_run_counts():
    report = fuzz.run(300, seed=1)
    assert report["tried"] == 301 and fuzz.clean(report), report["failures"]
    assert report["ok"] > 30 and report["rejected"] > 30


def test_the_fuzz_run_notices_a_loader_that_lets_hostile_files_through(monkeypatch):
    import engine.data.images as images

    monkeypatch.setattr(images, "FORMATS", None)  # every format Pillow knows, EPS included
    monkeypatch.setattr(images, "_check_jpeg_data", lambda *args: None)
    report = fuzz.run(100, seed=1)  # the oversized JPEGs it lets through take a second each to decode
    assert report["accepted_hostile"] >= 3 and not fuzz.clean(report)
    assert any("PostScript" in f or "EPS" in f for f in report["failures"]) or report["programs_started"]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_hostile_kinds_are_always_refused(seed):
    rng = np.random.default_rng(seed)
    for data in (fuzz.postscript(rng), fuzz.refused_format(rng)[1], fuzz.jpeg_declaring_more(rng)):
        assert fuzz.check(data) == "rejected"
