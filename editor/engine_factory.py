"""Where the engine implementation lives, and building it: the app's choice, not the contract's.

The editor never imports engine internals: the client's worker thread imports the engine named
by ``"module:attribute"`` (so the heavy import of torch never blocks the window), exactly as it
would connect to an engine in another process. ``latent-studio --engine`` and the editor bench
name another one (a fake, in tests)."""

from __future__ import annotations

import importlib

ENGINE_FACTORY = "engine.service:Engine"


def create_engine(spec: str = ENGINE_FACTORY, **kwargs):
    """Import and construct the engine named by ``"module:attribute"``. Returns an object
    with ``handle(request) -> Response``."""
    module_name, _, attr = spec.partition(":")
    factory = getattr(importlib.import_module(module_name), attr)
    return factory(**kwargs)
