"""Which model the engine has loaded, loading another one, and the bundled models (``ListModels``)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from engine.protocol import ErrorResponse, ListModels, LoadModel, ModelInfo, ModelList, Request, Response
from editor.client import EngineClient


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
        self._pending: dict[int, str] = {}
        self.catalog: tuple = ()  # ModelEntry per bundled model, once listed
        self._list_id = 0
        client.modelInfo.connect(self._on_info)
        client.answered.connect(self._on_answered)
        client.error.connect(self._on_error)

    def load(self, source: str, device: str = "auto") -> int:
        rid = self._client.submit(LoadModel(source=str(source), device=device))
        self._pending[rid] = str(source)
        self.loading.emit(str(source))
        return rid

    def list_models(self) -> int:
        """Ask the engine which models are bundled (answered by ``catalogChanged``)."""
        self._list_id = self._client.submit(ListModels())
        return self._list_id

    def _on_answered(self, lane: str, request: Request, response: Response) -> None:
        if request.request_id == self._list_id and isinstance(response, ModelList):
            self.catalog = tuple(response.models)
            self.catalogChanged.emit(self.catalog)

    def _on_info(self, info: ModelInfo) -> None:
        source = self._pending.pop(info.request_id, None)
        previous, self.info = self.info, info
        if source is not None:  # the answer to our LoadModel: a (re)load, panels rebuild
            self.source = source
            self.changed.emit(info)
        elif previous is None or (previous.name, previous.latent_dim) != (info.name, info.latent_dim):
            self.changed.emit(info)  # e.g. GetLatentStats revealing a different model

    def _on_error(self, request: Request, error: ErrorResponse) -> None:
        source = self._pending.pop(request.request_id, None)
        if source is not None:
            self.failed.emit(f"Could not load model {source!r}: {error.message}")
