"""Tests never touch the user's home: the autouse fixture in tests/conftest.py points every
config/data/cache location at a temporary folder, and the run checks the real ones at the end."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
import pytest

from tests import conftest
from tests.conftest import HOME_VARIABLES, real_user_folders_changed


def _inside(path: str | os.PathLike, root: Path) -> bool:
    return Path(path).resolve().is_relative_to(root.resolve())


def test_every_location_is_temporary(temporary_home):
    for name in HOME_VARIABLES:
        assert _inside(os.environ[name], temporary_home), name
    for where in (platformdirs.user_config_dir("latent-studio"), platformdirs.user_data_dir("latent-studio"),
                  platformdirs.user_cache_dir("latent-studio"), os.path.expanduser("~")):
        assert _inside(where, temporary_home), where


def test_engine_folders_are_temporary(temporary_home):
    from engine.semantics.encoded import cache_dir
    from engine.semantics.user_attributes import data_dir

    assert _inside(cache_dir(), temporary_home)
    assert _inside(data_dir(), temporary_home)


def test_qt_settings_land_in_the_temporary_home(temporary_home, qapp):
    from PySide6.QtCore import QCoreApplication, QSettings

    QCoreApplication.setOrganizationName("latent-studio-test")
    QCoreApplication.setApplicationName("latent-studio-test")
    settings = QSettings()
    settings.setValue("probe", 1)
    settings.sync()
    assert _inside(settings.fileName(), temporary_home), settings.fileName()
    assert Path(settings.fileName()).is_file()


def test_each_test_has_its_own_home(temporary_home):
    marker = temporary_home / "config" / "marker"
    marker.write_text("x")
    assert marker.is_file()


def test_the_real_user_folders_are_untouched_so_far():
    if not os.environ.get("CI"):
        pytest.skip("outside CI another process may write the real folders; the writer's guard below still holds")
    assert real_user_folders_changed() == []


def test_the_atomic_writer_refuses_the_real_user_folders_in_tests(tmp_path, monkeypatch):
    from engine.protocol.files import atomic_write

    real = tmp_path / "real-cache" / "latent-studio"  # stands for the real folder: nothing real is written
    real.mkdir(parents=True)
    monkeypatch.setattr(conftest, "_REAL_FOLDERS", [real])
    with pytest.raises(AssertionError, match="real user's folders"):
        atomic_write(real / "stats.json", "{}")
    assert list(real.iterdir()) == []
    atomic_write(tmp_path / "elsewhere.json", "{}")  # anywhere else is fine
