"""The one base of the engine's handler classes: what a handler needs of the engine it serves.

A handler class answers one domain's requests (``handlers()`` maps request types to methods
``(request, t0) -> response``); ``engine.service.Engine`` registers them. Handlers raise, and
``Engine.handle`` turns the exception into an ErrorResponse. Typed through :class:`EngineHost`, so
a test can serve the real handlers from a stand-in that has only a model.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from engine.api import Model
    from engine.protocol import Response

#: ``handler(request, t0)``: t0 is ``time.perf_counter()`` when the request arrived.
Handler = Callable[[Any, float], "Response"]


class NoModelLoaded(RuntimeError):
    pass


class EngineHost(Protocol):
    """What handlers read of the engine: the loaded model and the interactive thread budget."""

    model: Model | None
    interactive_threads: int


def elapsed_ms(t0: float) -> float:
    """Milliseconds since ``t0`` (a ``time.perf_counter()`` reading): every answer's ``elapsed_ms``."""
    return (time.perf_counter() - t0) * 1000.0


class HandlerBase:
    def __init__(self, engine: EngineHost, budget: Callable[[], AbstractContextManager] | None = None) -> None:
        """``budget``: a context-manager factory for model work; default: the engine's interactive
        thread budget (a test's numpy stand-in passes ``contextlib.nullcontext``)."""
        self.engine = engine
        self._budget_factory = budget

    def handlers(self) -> dict[type, Handler]:
        raise NotImplementedError

    @property
    def model(self) -> Model | None:
        return self.engine.model

    def require_model(self) -> Model:
        model = self.engine.model
        if model is None:
            raise NoModelLoaded("no model is loaded yet")
        return model

    def budget(self) -> AbstractContextManager:
        """Interactive model work runs on its own small thread budget, so a training run beside
        the app cannot starve a slider drag."""
        if self._budget_factory is not None:
            return self._budget_factory()
        from engine.devices import thread_budget  # torch: only when a handler runs

        return thread_budget(self.engine.interactive_threads)
