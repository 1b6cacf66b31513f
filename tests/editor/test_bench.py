"""The latency benchmark runs (briefly) on the FakeEngine; the real numbers come from `latent-studio bench`."""

from __future__ import annotations

import functools

from editor.bench import format_result, measure_slider_latency
from tests.editor.fake_engine import FakeEngine


def test_measure_slider_latency_on_the_fake_engine(qapp):
    result = measure_slider_latency(
        n=20, duration_s=0.5, engine=functools.partial(FakeEngine, image_size=64, latent_dim=16, delay=0.002)
    )
    assert result["n"] == 20 and result["image_size"] == 64
    assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"] <= result["max_ms"] < 5000
    assert result["drag_events"] > 5 and result["drag_frames"] > 0
    assert result["max_stall_ms"] > 0
    assert "p95" in format_result(result)


def test_bench_command_prints_json(qapp, capsys):
    import json

    from editor.bench import main

    assert main(["--engine", "tests.editor.fake_engine:FakeEngine", "-n", "5", "--seconds", "0.3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 5 and result["p95_ms"] > 0
    assert main(["--engine", "tests.editor.fake_engine:FakeEngine", "--model", "missing", "-n", "1"]) == 2
