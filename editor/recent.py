"""Recently used paths (photos, checkpoints), kept in QSettings.

The list lives in memory; each change is written by the settings writer thread
(:func:`editor.background.store_setting`: a JSON file beside the settings file), so remembering
a photo never waits for the disk.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from editor.background import read_setting, store_setting


class RecentList:
    def __init__(self, settings: QSettings, key: str, limit: int = 10) -> None:
        self._settings, self._key, self._limit = settings, key, limit
        value = read_setting(settings, key, [])
        if isinstance(value, str):  # QSettings gives a bare string for a one-item list
            value = [value]
        self._items = [str(p) for p in (value or []) if p][:limit]

    def paths(self) -> list[str]:
        return list(self._items)

    def existing(self) -> list[str]:
        return [p for p in self.paths() if Path(p).exists()]

    def add(self, path: str | Path) -> None:
        path = str(Path(path).resolve())
        self._set([path] + [p for p in self._items if p != path])

    def remove(self, path: str) -> None:
        self._set([p for p in self._items if p != path])

    def clear(self) -> None:
        self._set([])

    def _set(self, items: list[str]) -> None:
        self._items = items[: self._limit]
        store_setting(self._settings, self._key, list(self._items))
