"""Interactive latency benchmark: slider event → edited pixels painted, and event-loop stalls.

``measure_slider_latency()`` builds the real window (offscreen unless a display is set), loads
a model, encodes a synthetic photo and then

1. moves the most informative slider ``n`` times, one event at a time, timing each event
   until the edited view has painted the decode of that value (p50/p95/max);
2. drags it for ``duration_s`` seconds at ``rate_hz`` mouse events per second, timing each
   event until a frame at least that new is painted, and the longest gap in a 5 ms heartbeat
   timer (how long the window could not respond).

Works with the real engine (``engine="engine.service:Engine"``, the default) and with any
factory, e.g. the test suite's FakeEngine (``engine="tests.editor.fake_engine:FakeEngine"``).
"""

from __future__ import annotations

import functools
import gc
import math
import os
import sys
import tempfile
import time
from typing import Any, Callable

import numpy as np

from editor.engine_factory import ENGINE_FACTORY, create_engine


def _percentiles(values_ms: list[float]) -> dict[str, float]:
    if not values_ms:
        return {"p50_ms": float("nan"), "p95_ms": float("nan"), "p99_ms": float("nan"), "max_ms": float("nan")}
    a = np.asarray(values_ms)
    return {k: float(np.percentile(a, q)) for k, q in (("p50_ms", 50), ("p95_ms", 95), ("p99_ms", 99))} | {"max_ms": float(a.max())}


def synthetic_photo(size: int) -> np.ndarray:
    """A smooth, face-sized test picture (no files needed)."""
    y, x = np.mgrid[0:size, 0:size] / max(size - 1, 1)
    r = np.clip(0.55 + 0.35 * np.cos(3 * x) * np.sin(2 * y), 0, 1)
    g = np.clip(0.45 + 0.3 * np.exp(-((x - 0.5) ** 2 + (y - 0.45) ** 2) * 8), 0, 1)
    b = np.clip(0.35 + 0.4 * y, 0, 1)
    return (np.stack([r, g, b], -1) * 255).astype(np.uint8)


def measure_slider_latency(
    model: str = "default",
    n: int = 200,
    *,
    duration_s: float = 10.0,
    rate_hz: float = 60.0,
    engine: str | Callable[[], Any] = ENGINE_FACTORY,
    device: str = "auto",
    timeout_s: float = 120.0,
) -> dict[str, Any]:
    """Measure slider event → pixels painted (ms) and the longest event-loop stall (ms)."""
    if "QT_QPA_PLATFORM" not in os.environ and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from editor.client import EngineClient
    from editor.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "latent-studio-bench"])
    factory = engine if callable(engine) else functools.partial(create_engine, engine)
    settings_dir = tempfile.TemporaryDirectory()
    client = EngineClient(factory)
    settings = QSettings(os.path.join(settings_dir.name, "bench.ini"), QSettings.Format.IniFormat)
    settings.setValue("fit/auto", False)  # slider latency alone: a per-photo fit would interleave its slices (≤ 0.3 s each)
    window = MainWindow(client, settings)
    window.resize(1100, 700)
    window.show()
    wake = QTimer(interval=20)  # wakes the waiting loop below even when nothing else happens
    wake.start()

    def spin_until(predicate: Callable[[], bool], what: str, timeout: float = timeout_s) -> None:
        deadline = time.perf_counter() + timeout
        while not predicate():
            if time.perf_counter() > deadline:
                raise TimeoutError(f"benchmark: timed out waiting for {what}")
            app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents | QEventLoop.ProcessEventsFlag.WaitForMoreEvents)

    errors: list[str] = []
    for failed in (client.failed, window.model.failed, window.edit.failed, window.photo.failed):
        failed.connect(errors.append)

    def newest() -> int:
        """The request id of the newest render of the edit (0: none, the reconstruction is shown)."""
        ticket = window.edit.rendering
        return 0 if ticket is None else ticket.request_id
    # `latent-studio bench` trains networks in this process first: collect their garbage now, so
    # that a collector pass over it does not land inside the measured drag (the app never trains).
    gc.collect()
    try:
        window.model.load(model, device)
        spin_until(lambda: window.model.info is not None or errors, "the model to load")
        if window.model.info is None:
            raise RuntimeError(f"benchmark: could not load {model!r}: {errors[-1]}")
        info = window.model.info
        window.edit.open_array(synthetic_photo(info.image_size * 2), "benchmark photo")
        spin_until(lambda: window.edit.edit is not None or errors, "the photo to encode")
        if window.edit.edit is None:
            raise RuntimeError(f"benchmark: could not encode: {errors[-1]}")
        dim = int(window.latents.active_dims[0]) if len(window.latents.active_dims) else 0
        row = window.latents.rows[dim]
        view = window.canvas.views["edited"]
        painted: dict[int, float] = {}
        paint_log: list[tuple[float, int]] = []

        def on_painted(tag: int) -> None:
            if tag and tag not in painted:
                painted[tag] = time.perf_counter()
                paint_log.append((painted[tag], tag))

        view.painted.connect(on_painted)
        decode_ms: list[float] = []
        client.timing.connect(lambda kind, ms: decode_ms.append(ms) if kind in ("Decode", "RenderEdit") else None)

        # -- 1. one event at a time
        single: list[float] = []
        for i in range(n):
            value = (0.25 + 2.5 * ((i * 7) % 11) / 10.0) * (1 if i % 2 else -1)
            t0 = time.perf_counter()
            row.slider.setValue(value)
            rid = newest()
            spin_until(lambda rid=rid: rid in painted, "a frame to be painted", 30.0)
            single.append((painted[rid] - t0) * 1e3)
        engine_single = list(decode_ms)

        # -- 2. a continuous drag, with a heartbeat to catch stalls
        decode_ms.clear()
        events: list[tuple[float, int]] = []
        beats: list[float] = []
        heartbeat = QTimer(interval=5, timerType=Qt.TimerType.PreciseTimer)
        heartbeat.timeout.connect(lambda: beats.append(time.perf_counter()))
        mouse = QTimer(interval=max(1, round(1000 / rate_hz)), timerType=Qt.TimerType.PreciseTimer)
        start = time.perf_counter()

        def move() -> None:
            t = time.perf_counter() - start
            row.slider.setValue(round(2.8 * math.sin(2 * math.pi * t / 2.0) + 0.013, 3) or 0.01)
            events.append((time.perf_counter(), newest()))

        mouse.timeout.connect(move)
        row.slider._slider.setSliderDown(True)  # as a mouse press does: previews while held
        heartbeat.start()
        mouse.start()
        loop = QEventLoop()
        QTimer.singleShot(int(duration_s * 1000), loop.quit)
        loop.exec()
        mouse.stop()
        heartbeat.stop()
        row.slider._slider.setSliderDown(False)  # release: one full-quality decode
        final = newest()
        spin_until(lambda: final == 0 or final in painted, "the final frame", 30.0)

        drag: list[float] = []
        paints = sorted(paint_log)
        for t_event, rid in events:
            after = [t for t, tag in paints if tag >= rid and t >= t_event]
            if rid and after:
                drag.append((after[0] - t_event) * 1e3)
        gaps = np.diff(beats) * 1e3 if len(beats) > 1 else np.zeros(1)
        drag_frames = sum(1 for t, _ in paints if start <= t <= start + duration_s)
        result: dict[str, Any] = {
            "model": info.name,
            "device": info.device,
            "image_size": info.image_size,
            "latent_dim": info.latent_dim,
            "n": n,
            **_percentiles(single),
            "engine_decode_p50_ms": float(np.median(engine_single)) if engine_single else float("nan"),
            "drag_seconds": duration_s,
            "drag_events": len(events),
            "drag_frames": drag_frames,
            "drag_fps": drag_frames / duration_s,
            **{f"drag_{k}": v for k, v in _percentiles(drag).items()},
            "max_stall_ms": float(gaps.max()),
            "client_counts": dict(client.counts),
        }
        return result
    finally:
        wake.stop()
        client.shutdown()
        window.close()
        window.deleteLater()
        app.processEvents()
        settings_dir.cleanup()


def format_result(result: dict[str, Any]) -> str:
    return (
        f"{result['model']} on {result['device']} ({result['image_size']}px, {result['latent_dim']}-d): "
        f"slider→pixels p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms (n={result['n']}); "
        f"{result['drag_seconds']:.0f} s drag: {result['drag_fps']:.0f} fps, p95 {result['drag_p95_ms']:.1f} ms, "
        f"longest stall {result['max_stall_ms']:.1f} ms"
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m editor.bench [--model M] [-n N] [--seconds S] [--json]`` (used by ``latent-studio bench``)."""
    import argparse
    import json

    parser = argparse.ArgumentParser(prog="python -m editor.bench", description=measure_slider_latency.__doc__)
    parser.add_argument("--model", default="default", help="bundled model name or checkpoint path")
    parser.add_argument("-n", type=int, default=200, help="single slider events to time (default 200)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the continuous drag (default 10)")
    parser.add_argument("--rate", type=float, default=60.0, help="mouse events per second during the drag")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--engine", default=ENGINE_FACTORY, help="engine factory, module:attribute")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.n <= 100_000:
        parser.error(f"-n must be within 1..100000, got {args.n}")
    if not 0 < args.seconds <= 3600:  # also refuses nan
        parser.error(f"--seconds must be within (0, 3600], got {args.seconds}")
    if not 0 < args.rate <= 1000:
        parser.error(f"--rate must be within (0, 1000] events per second, got {args.rate}")
    try:
        result = measure_slider_latency(args.model, args.n, duration_s=args.seconds, rate_hz=args.rate,
                                        engine=args.engine, device=args.device)
    except (RuntimeError, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result) if args.json else format_result(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
