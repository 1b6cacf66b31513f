"""Which model the engine has loaded, loading another one, and the bundled models (``ListModels``)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from engine.protocol import ListModels, LoadModel, ModelInfo, ModelList, Request
from editor.client import EngineClient, Ticket


class ModelController(QObject):
    loading = Signal(str)  # source
    changed = Signal(object)  # ModelInfo
    failed = Signal(str)  # one line for a person
    catalogChanged = Signal(object)  # tuple[ModelEntry, ...]: the bundled models

    def __init__(self, client: EngineClient, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._client = client
        self.info: ModelInfo | None = None
        self.source: str | None = None
        self.catalog: tuple = ()  # ModelEntry per bundled model, once listed
        self._loaded: LoadModel | None = None  # the request that loaded the current model
        client.on_restart(self._replay)

    def load(self, source: str, device: str = "auto") -> Ticket:
        request = LoadModel(source=str(source), device=device)
        self.loading.emit(str(source))
        return self._client.call(request, None, done=lambda info: self._on_loaded(request, info),
                                 failed=lambda error: self.failed.emit(f"Could not load model {source!r}: {error.message}"))

    def list_models(self) -> Ticket:
        """Ask the engine which models are bundled (answered by ``catalogChanged``)."""
        return self._client.call(ListModels(), None, done=self._on_listed,
                                 failed=lambda error: self.failed.emit(f"Could not list the bundled models: {error.message}"))

    def _on_listed(self, listed: ModelList) -> None:
        self.catalog = tuple(listed.models)
        self.catalogChanged.emit(self.catalog)

    def _on_loaded(self, request: LoadModel, info: ModelInfo) -> None:
        self.info, self.source, self._loaded = info, request.source, request
        self.changed.emit(info)  # a (re)load: panels rebuild

    def _replay(self) -> list[Request]:
        """A restarted engine is empty: load the same model again first."""
        loaded = self._loaded
        return [] if loaded is None else [LoadModel(source=loaded.source, device=loaded.device)]
