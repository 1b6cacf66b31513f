"""Benchmarks, one wing of the engine (``latent-studio bench`` and ``bench-photo``): ``model.py``
(decode/encode latency, training throughput, each against a baseline measured in the same run),
``photo.py`` (open → first preview, the per-photo fit's time), ``peak.py`` (matmul peak and
training FLOPs per image), ``report.py`` (the printed table, no torch)."""
