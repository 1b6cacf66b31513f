"""The editor ↔ engine boundary: editor → protocol ← engine, enforced, not hoped for."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EDITOR_ALLOWED_ENGINE = {"engine.protocol"}
QT_MODULES = ("PySide6", "shiboken6", "editor", "superqt", "qtpy", "PyQt5", "PyQt6")


def _imports(path: Path, module_level_only: bool = False):
    """(line, module) for every import in ``path`` (optionally only those run at import time)."""
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    if module_level_only:  # module level includes top-level if/try blocks, not function bodies
        stack, nodes = list(tree.body), []
        while stack:
            node = stack.pop()
            nodes.append(node)
            if isinstance(node, (ast.If, ast.Try, ast.With)):
                stack.extend(ast.iter_child_nodes(node))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against the package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                yield node.lineno, ".".join(base + ([node.module] if node.module else []))
            else:
                yield node.lineno, node.module or ""


def _top(module: str) -> str:
    return module.split(".")[0]


def test_editor_imports_no_torch_and_no_engine_internals():
    files = sorted((ROOT / "editor").rglob("*.py"))
    assert files, "no editor sources found"
    bad = []
    for path in files:
        for line, module in _imports(path):
            if _top(module) == "torch" or (
                _top(module) == "engine" and module not in EDITOR_ALLOWED_ENGINE and not module.startswith("engine.protocol.")
            ):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not bad, "editor must import only engine.protocol from the engine:\n" + "\n".join(bad)


def test_engine_imports_no_qt_or_editor_at_module_level():
    bad = []
    for path in sorted((ROOT / "engine").rglob("*.py")):
        for line, module in _imports(path, module_level_only=True):
            if _top(module) in QT_MODULES:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not bad, "engine must not import Qt or the editor at import time:\n" + "\n".join(bad)


def test_engine_imports_qt_nowhere_except_cli_opening_the_gui():
    bad = []
    for path in sorted((ROOT / "engine").rglob("*.py")):
        for line, module in _imports(path):
            if _top(module) in QT_MODULES and not (path.relative_to(ROOT).as_posix() == "engine/cli/__init__.py" and _top(module) == "editor"):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not bad, "only engine/cli/__init__.py may import the editor (lazily), nothing may import Qt:\n" + "\n".join(bad)


@pytest.mark.subprocess
def test_importing_the_editor_does_not_load_torch():
    code = (
        "import sys, editor.main_window, editor.app, editor.bench, editor.client\n"
        "heavy = sorted(m for m in sys.modules if m == 'torch' or m.startswith('torch.'))\n"
        "assert not heavy, heavy\n"
        "engine_mods = sorted(m for m in sys.modules if m.startswith('engine'))\n"
        "assert all(m in ('engine', 'engine.protocol') or m.startswith('engine.protocol.') for m in engine_mods), engine_mods\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr
