import os
from pathlib import Path

import pytest

# Qt without a display: the editor's tests run offscreen (set before anything imports Qt).
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

#: Every variable through which the app, Qt (QStandardPaths/QSettings) or platformdirs find the
#: user's config, data and cache folders. Tests point each at a temporary folder.
HOME_VARIABLES = {
    "HOME": "home",
    "XDG_CONFIG_HOME": "config",
    "XDG_DATA_HOME": "data",
    "XDG_CACHE_HOME": "cache",
    "XDG_STATE_HOME": "state",
    "LATENT_STUDIO_DATA_DIR": "data/latent-studio",
    "LATENT_STUDIO_CACHE_DIR": "cache/latent-studio",
}


def pytest_addoption(parser):
    parser.addoption(
        "--device",
        default="cpu",
        help="device for the engine's model tests: cpu (default), cuda, mps or auto (see tests.tiny_models.device_under_test)",
    )


def pytest_configure(config):
    # An environment variable rather than a fixture: module-level helpers and the training
    # subprocesses of the tests see it too.
    os.environ["LATENT_STUDIO_TEST_DEVICE"] = config.getoption("--device")


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` are skipped without CUDA (torch is imported only when one is collected,
    so the editor's tests never load it here)."""
    gpu = [item for item in items if item.get_closest_marker("gpu") is not None]
    if not gpu:
        return
    import torch

    if not torch.cuda.is_available():
        for item in gpu:
            item.add_marker(pytest.mark.skip(reason="needs a CUDA GPU"))


def _user_folders() -> list[Path]:
    """The real user's Latent Studio folders, read before any test changes the environment."""
    home = Path(os.environ.get("HOME", "~")).expanduser()
    config = Path(os.environ.get("XDG_CONFIG_HOME", home / ".config"))
    data = Path(os.environ.get("XDG_DATA_HOME", home / ".local/share"))
    cache = Path(os.environ.get("XDG_CACHE_HOME", home / ".cache"))
    return [config / "latent-studio", config / "Latent Studio", data / "latent-studio", cache / "latent-studio"]


def _snapshot(folders: list[Path]) -> dict[str, tuple[int, int]]:
    seen = {}
    for folder in folders:
        if folder.is_dir():
            for path in folder.rglob("*"):
                try:
                    st = path.lstat()
                except OSError:
                    continue
                seen[str(path)] = (st.st_mtime_ns, st.st_size)
        elif folder.exists():
            seen[str(folder)] = (folder.lstat().st_mtime_ns, folder.lstat().st_size)
    return seen


_REAL_FOLDERS = _user_folders()
_REAL_BEFORE = _snapshot(_REAL_FOLDERS)


@pytest.fixture(scope="session", autouse=True)
def _session_home(tmp_path_factory):
    """Session-wide temporary homes, for objects made once per run (the QApplication)."""
    root = tmp_path_factory.mktemp("session-home")
    saved = {name: os.environ.get(name) for name in HOME_VARIABLES}
    for name, sub in HOME_VARIABLES.items():
        (root / sub).mkdir(parents=True, exist_ok=True)
        os.environ[name] = str(root / sub)
    yield root
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True)
def temporary_home(tmp_path_factory, monkeypatch) -> Path:
    """Each test gets its own config/data/cache home: no test reads or writes the user's."""
    root = tmp_path_factory.mktemp("home")
    for name, sub in HOME_VARIABLES.items():
        (root / sub).mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(name, str(root / sub))
    return root


def real_user_folders_changed() -> list[str]:
    """Paths in the real user's Latent Studio folders that appeared or changed since the run began."""
    after = _snapshot(_REAL_FOLDERS)
    return sorted(path for path, stamp in after.items() if _REAL_BEFORE.get(path) != stamp)


def inside_real_user_folders(path: str | os.PathLike) -> bool:
    target = Path(path).resolve()
    return any(target.is_relative_to(folder.resolve()) for folder in _REAL_FOLDERS)


@pytest.fixture(scope="session", autouse=True)
def _refuse_writes_into_the_real_user_folders():
    """Every output goes through the one atomic writer: it refuses, in this process, a path in the
    real user's folders — a test that writes there fails at the write, whatever else runs beside."""
    from engine.protocol import files

    check = files._refuse_non_regular

    def guarded(path, name):
        if inside_real_user_folders(path):
            raise AssertionError(f"a test wrote into the real user's folders: {path}")
        return check(path, name)

    files._refuse_non_regular = guarded
    yield
    files._refuse_non_regular = check


def pytest_sessionfinish(session, exitstatus):
    changed = real_user_folders_changed()
    if changed:
        print("\nthe test run wrote into the real user's folders:\n  " + "\n  ".join(changed[:20]))
        if os.environ.get("CI"):  # a clean machine: nothing else writes there
            session.exitstatus = 1
        else:
            print("(not failing outside CI: another process on this machine may have written them; CI=true fails)")
