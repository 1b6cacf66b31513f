"""The engine's service, one wing of the engine: ``Engine.handle(request) -> response`` (``engine.py``),
the handler base (``handlers.py``) and one handler class per domain (``photo.py``,
``semantics.py``, ``conditional.py``, ``fit.py``). The editor builds ``engine.service:Engine``."""

from engine.service.engine import INTERACTIVE_THREADS, Engine, ModelHandlers, NoModelLoaded

__all__ = ["INTERACTIVE_THREADS", "Engine", "ModelHandlers", "NoModelLoaded"]
