"""Latent Studio's Qt side: the editor window and its engine client.

Imports PySide6, superqt, numpy and ``engine.protocol`` only — never torch and never engine
internals (``tests/editor/test_boundaries.py`` enforces it). The engine is built inside the
client's worker thread through :func:`editor.engine_factory.create_engine`.
"""
