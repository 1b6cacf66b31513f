"""Recently used paths (photos, checkpoints), kept in QSettings."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings


class RecentList:
    def __init__(self, settings: QSettings, key: str, limit: int = 10) -> None:
        self._settings, self._key, self._limit = settings, key, limit

    def paths(self) -> list[str]:
        value = self._settings.value(self._key, [])
        if isinstance(value, str):  # QSettings gives a bare string for a one-item list
            value = [value]
        return [str(p) for p in (value or []) if p]

    def existing(self) -> list[str]:
        return [p for p in self.paths() if Path(p).exists()]

    def add(self, path: str | Path) -> None:
        path = str(Path(path).resolve())
        items = [path] + [p for p in self.paths() if p != path]
        self._settings.setValue(self._key, items[: self._limit])

    def remove(self, path: str) -> None:
        self._settings.setValue(self._key, [p for p in self.paths() if p != path])

    def clear(self) -> None:
        self._settings.setValue(self._key, [])
