"""The latent panel's "PCA axes" set (issue 5): principal axes of the aggregate posterior as
sliders, in σ units of each axis, in the same edit (EditStack, undo) as the dimension sliders.

Against the FakeEngine (the real handlers over a fake model that stores PCA axes) and, for
"PC1 moves the picture more than the last PC", against the real engine on the bundled default
model, whose checkpoint stores the PCA of its training set's μ."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.protocol import AddVector, DimensionStep, EditStack
from editor.widgets.latent_panel import DIMENSIONS, PCA
from tests.editor._semantics import edit_sample, wait_edit_shown
from tests.editor.conftest import TIMEOUT_MS

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "resources" / "models" / "default-faces-vae64.safetensors"


def wait_pca(qtbot, window, timeout: int = TIMEOUT_MS):
    pca = window.semantics.pca
    qtbot.waitUntil(lambda: pca.axes is not None and window.latents.pca is not None, timeout=timeout)
    return pca.axes


def move(qtbot, window, row, value: float, timeout: int = TIMEOUT_MS) -> np.ndarray:
    """Drag-free slider move (as typing a value); returns the pixels of the edit once shown."""
    row.slider.setValue(value)
    return wait_edit_shown(qtbot, window, timeout).copy()


def change(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


def test_pca_axes_slider_set_edits_the_same_stack_and_undo_restores(qtbot, window, fake):
    latents = window.latents
    axes = wait_pca(qtbot, window)
    k = len(axes.std)
    assert k == fake.model.latent_dim and np.all(np.diff(axes.explained) <= 0)  # ordered by variance
    np.testing.assert_allclose(axes.std ** 2, np.sort(fake.model.latent_stats.std.astype(np.float64) ** 2)[::-1], rtol=1e-5)

    z = edit_sample(qtbot, window, 0)
    start = wait_edit_shown(qtbot, window).copy()

    # a dimension slider first, then the PCA set: both in one edit
    dim = int(latents.active_dims[0])
    with_dim = move(qtbot, window, latents.rows[dim], 1.5)
    assert latents.set_axis_set(PCA) and latents.mode == PCA and latents.stack.currentWidget() is latents.pca_scroll
    assert np.array_equal(window.canvas.views["edited"].frame.array, with_dim)  # switching sets keeps the edit
    assert len(latents.pca_rows) == k
    assert latents.pca_rows[0].label.text() == f"PC1 · {100 * axes.explained[0]:.1f} %"
    assert latents.pca_rows[k - 1].label.text().startswith(f"PC{k} · ")

    both = move(qtbot, window, latents.pca_rows[0], 2.0)
    std = window.model.info.stats.std
    step = axes.axes[0] * axes.std[0]  # z = base + Σ offset_d σ_d + a_k σ_k v_k, computed here independently
    expected_z = z.astype(np.float64) + 1.5 * std[dim] * np.eye(len(z))[dim] + 2.0 * step.astype(np.float64)
    np.testing.assert_allclose(both.astype(int), fake.decode_latents(expected_z.astype(np.float32)[None])[0].astype(int), atol=1)
    ops = window.edit.stack.ops
    assert [type(op) for op in ops] == [DimensionStep, AddVector] and ops[1].label == "PC1" and ops[1].amount == 2.0

    # back to the dimensions: the edit, the pixels and both sets' positions stay
    assert latents.set_axis_set(DIMENSIONS) and latents.stack.currentWidget() is latents.scroll
    assert np.array_equal(window.canvas.views["edited"].frame.array, both)
    assert latents.rows[dim].value() == 1.5 and latents.pca_rows[0].value() == 2.0
    latents.set_axis_set(PCA)

    # undo the PCA move: the pixels of the dimension-only edit and the PC1 slider at 0; redo
    window.history.undo_stack.undo()
    assert np.array_equal(wait_edit_shown(qtbot, window), with_dim)
    assert latents.pca_rows[0].value() == 0.0 and latents.rows[dim].value() == 1.5
    window.history.undo_stack.redo()
    assert np.array_equal(wait_edit_shown(qtbot, window), both) and latents.pca_rows[0].value() == 2.0
    window.history.undo_stack.undo()
    window.history.undo_stack.undo()
    assert np.array_equal(wait_edit_shown(qtbot, window), start) and window.edit.stack == EditStack()

    # PC1 (largest σ) moves the picture more than the last PC; "Reset all" in PCA mode resets the axes
    pc1 = change(move(qtbot, window, latents.pca_rows[0], 2.0), start)
    latents.pca_rows[0].slider.setValue(0.0)
    assert np.array_equal(wait_edit_shown(qtbot, window), start)
    last = change(move(qtbot, window, latents.pca_rows[k - 1], 2.0), start)
    assert pc1 > last > 0
    latents.reset_all.click()
    assert np.array_equal(wait_edit_shown(qtbot, window), start) and latents.pca_rows[k - 1].value() == 0.0


def test_a_model_without_pca_keeps_the_dimensions_only(qtbot, window, fake):
    wait_pca(qtbot, window)
    assert window.latents.set_axis_set(PCA)
    fake.add_model("no-pca", 12, 24, pca=False)  # the next model stores no PCA
    with qtbot.waitSignal(window.model.changed, timeout=TIMEOUT_MS):
        window.model.load("no-pca")
    qtbot.waitUntil(lambda: window.semantics.pca.axes is not None, timeout=TIMEOUT_MS)
    assert len(window.semantics.pca.axes.std) == 0 and "latent-studio pca" in window.semantics.pca.axes.note
    latents = window.latents
    assert latents.mode == DIMENSIONS and not latents.set_axis_set(PCA) and latents.pca is None
    assert not latents.axis_set.model().item(1).isEnabled()


# --------------------------------------------------------------------------- the real engine


@pytest.fixture
def default_window(qtbot, settings):
    pytest.importorskip("torch")
    if not DEFAULT_MODEL.exists():
        pytest.skip("the bundled default model is not in this checkout")
    from engine.service import Engine

    from editor.client import EngineClient
    from editor.main_window import MainWindow

    client = EngineClient(Engine)
    window = MainWindow(client, settings)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.model.changed, timeout=60_000):
        window.model.load(str(DEFAULT_MODEL), "cpu")
    yield window
    assert client.shutdown(10_000)


def test_pc1_changes_the_default_models_faces_more_than_the_last_pc(qtbot, default_window):
    import engine

    window, timeout = default_window, 60_000
    axes = wait_pca(qtbot, window, timeout)
    k = len(axes.std)
    assert k == 64 and axes.explained[0] > 5 * axes.explained[-1]
    latents = window.latents
    assert latents.set_axis_set(PCA)
    model = engine.load_model(str(DEFAULT_MODEL), device="cpu")
    pc1, last = [], []
    for index in range(4):  # four sampled faces, +2σ along PC1 and along PC64 each
        z = edit_sample(qtbot, window, index, timeout=timeout)
        start = wait_edit_shown(qtbot, window, timeout).copy()
        first = move(qtbot, window, latents.pca_rows[0], 2.0, timeout)
        # the pixels on screen are the engine's decode of z + 2 σ_1 v_1 (the edit went through the stack)
        expected = model.decode((z + 2.0 * axes.std[0] * axes.axes[0])[None])[0]
        np.testing.assert_allclose(first.astype(int), expected.astype(int), atol=1)
        pc1.append(change(first, start))
        window.history.undo_stack.undo()
        assert np.array_equal(wait_edit_shown(qtbot, window, timeout), start)  # undo restores the face exactly
        last.append(change(move(qtbot, window, latents.pca_rows[k - 1], 2.0, timeout), start))
        latents.pca_rows[k - 1].slider.setValue(0.0)
        assert np.array_equal(wait_edit_shown(qtbot, window, timeout), start)
    # measured here: PC1 +2σ changes a face by several times more than PC64 +2σ
    assert min(pc1) > 2 * max(last), (pc1, last)
