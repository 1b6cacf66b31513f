"""The label panel of conditional models (issue 6), through the real engine on tiny cVAEs: it
shows the photo's label estimate, moving a label re-renders the photo through the edit lane (the
pixels equal an independent engine's answer), "Photo's labels" gives the original back exactly,
one-hot models blend two classes, sampling mode draws with the labels, switching models
re-encodes the photo, the chooser lists the bundled models, and errors land on the banner."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tests.tiny_models")

from engine import protocol as p  # noqa: E402
from tests.editor._conditional_models import (  # noqa: E402,F401 - fixtures
    REAL_TIMEOUT_MS,
    differs,
    independent_engine,
    multi_cvae,
    onehot_cvae,
    real,
    tiny_vae,
)
from tests.editor._photo import open_photo_file, wait_rendered  # noqa: E402


def _flipped(labels: dict[str, float], name: str) -> float:
    return 0.0 if labels[name] >= 0.5 else 1.0


def test_unconditional_model_has_no_label_controls(qtbot, window):
    ui = window.conditional
    assert not ui.labels.available and not ui.dock.isVisible()
    assert ui.label_panel.sliders == {} and ui.label_panel.note.isVisibleTo(ui.label_panel)
    ui.labels.set_value("Eyeglasses", 1.0)  # nothing to set: a message, not an exception
    assert "no label" in window.banner.text()


def test_a_label_slider_re_renders_the_photo_like_the_engine(qtbot, real, multi_cvae, photo):
    real.load(multi_cvae)
    window, ui = real.window, real.window.conditional
    assert ui.dock.isVisible() and set(ui.label_panel.sliders) == {"Bright", "Red"}
    original = open_photo_file(qtbot, window, photo, timeout=REAL_TIMEOUT_MS)
    estimate = dict(window.photo.current.labels)
    assert set(estimate) == {"Bright", "Red"}
    wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
    for name, slider in ui.label_panel.sliders.items():  # the panel shows the photo's estimate
        assert slider.value() == pytest.approx(estimate[name], abs=0.006)

    target = _flipped(estimate, "Bright")
    ui.label_panel.sliders["Bright"].setValue(target)
    shown = wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
    sent = real.engine.of(p.RenderEdit)[-1]
    assert sent.labels == {**estimate, "Bright": target} and sent.edits.is_empty
    assert differs(shown, original) > 0, "moving a label slider changed no pixel"
    other = independent_engine(multi_cvae)
    other.handle(p.OpenPhoto(path=str(photo), detector="centre"))
    expected = other.handle(p.RenderEdit(labels={**estimate, "Bright": target}, full_resolution=True, whole_photo=True))
    np.testing.assert_array_equal(shown, expected.image)

    ui.label_panel.reset_button.click()  # back to the photo's own labels: the original pixels
    np.testing.assert_array_equal(wait_rendered(qtbot, window, REAL_TIMEOUT_MS), original)
    assert ui.label_panel.sliders["Bright"].value() == pytest.approx(estimate["Bright"], abs=0.006)


def test_switch_button_and_a_drag(qtbot, real, multi_cvae, photo):
    real.load(multi_cvae)
    window, panel = real.window, real.window.conditional.label_panel
    open_photo_file(qtbot, window, photo, timeout=REAL_TIMEOUT_MS)
    wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
    switch = panel.switches["Red"]
    want = 0.0 if switch.isChecked() else 1.0
    switch.click()
    wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
    assert real.engine.of(p.RenderEdit)[-1].labels["Red"] == want and panel.sliders["Red"].value() == want

    before = len(real.engine.of(p.RenderEdit))
    slider = panel.sliders["Bright"]
    slider._slider.setSliderDown(True)  # as a mouse drag does: previews while held …
    for v in (0.2, 0.4, 0.6):
        slider.setValue(v)
    slider._slider.setSliderDown(False)  # … full quality on release
    wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
    renders = real.engine.of(p.RenderEdit)[before:]
    assert renders and renders[-1].full_resolution and not renders[-1].preview and renders[-1].labels["Bright"] == 0.6
    assert all(r.preview for r in renders[:-1])


def test_one_hot_model_chooses_and_blends_classes(qtbot, real, onehot_cvae, photo):
    real.load(onehot_cvae)
    window, ui = real.window, real.window.conditional
    panel = ui.label_panel
    assert panel.mode == "onehot" and panel.sliders == {}
    assert [panel.class_a.itemText(i) for i in range(panel.class_a.count())] == ["dark", "bright"]
    original = open_photo_file(qtbot, window, photo, timeout=REAL_TIMEOUT_MS)
    wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
    base = window.edit.base_labels
    assert set(base) == {"dark", "bright"}
    faces = {}
    for t in (1.0, 0.0, 0.5):
        want = {"dark": 1.0 - t, "bright": t}
        ui.labels.set_blend("dark", "bright", t)
        shown = wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
        if want == base:  # the photo's own labels: the zero edit, the original pixels
            np.testing.assert_array_equal(shown, original)
            faces[t] = window.edit.encoded.reconstruction.copy()
        else:
            assert real.engine.of(p.RenderEdit)[-1].labels == want
            faces[t] = window.photo.last.face.copy()
    assert differs(faces[0.0], faces[1.0]) > 0 and differs(faces[0.5], faces[0.0]) > 0 and differs(faces[0.5], faces[1.0]) > 0
    assert panel.class_a.currentText() == "dark" and panel.class_b.currentText() == "bright"
    assert panel.blend.value() == pytest.approx(0.5)

    panel.class_b.setCurrentText("—")  # no second class: all "dark", the blend slider is off
    panel.class_b.activated.emit(0)
    wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
    assert window.edit.labels == {"dark": 1.0, "bright": 0.0} and not panel.blend.isEnabled()
    np.testing.assert_array_equal(window.photo.last.face if window.photo.last else window.edit.encoded.reconstruction, faces[0.0])


def test_labels_in_sampling_mode(qtbot, real, multi_cvae):
    real.load(multi_cvae)
    window, ui = real.window, real.window.conditional
    window.tabs.setCurrentWidget(window.samples)
    qtbot.waitUntil(lambda: window.sampling.result is not None, timeout=REAL_TIMEOUT_MS)
    first = window.sampling.result
    with qtbot.waitSignal(window.sampling.ready, timeout=REAL_TIMEOUT_MS):
        ui.label_panel.sliders["Bright"].setValue(1.0)  # the grid is on screen: drawn again with the labels
    grid = window.sampling.result
    labels = real.engine.of(p.Sample)[-1].labels
    assert labels["Bright"] == 1.0 and set(labels) == {"Bright", "Red"}
    other = independent_engine(multi_cvae)
    expected = other.handle(p.Sample(n=window.sampling.n, seed=window.sampling.seed, temperature=window.sampling.temperature,
                                     labels=labels))
    np.testing.assert_array_equal(grid.images, expected.images)
    assert differs(grid.images, first.images) > 0

    window.samples.sampleChosen.emit(2)  # edit a sample: its labels come with it, zero edit = the sample
    qtbot.waitUntil(lambda: window.edit.edit is not None, timeout=REAL_TIMEOUT_MS)
    assert window.edit.base_labels == labels
    np.testing.assert_array_equal(window.edit.edited.array, grid.images[2])
    ui.label_panel.sliders["Red"].setValue(_flipped(labels, "Red"))
    qtbot.waitUntil(lambda: window.edit.rendering is not None and window.edit.up_to_date,
                    timeout=REAL_TIMEOUT_MS)
    want = other.handle(p.Decode(z=grid.z[2][None], labels={**labels, "Red": _flipped(labels, "Red")}))
    np.testing.assert_array_equal(window.edit.edited.array, want.images[0])


def test_switching_models_re_encodes_the_photo_and_shows_its_labels(qtbot, real, tiny_vae, multi_cvae, photo):
    real.load(tiny_vae)
    window, ui = real.window, real.window.conditional
    open_photo_file(qtbot, window, photo, timeout=REAL_TIMEOUT_MS)
    assert window.edit.encoded.z.shape == (8,) and not ui.dock.isVisible()
    real.load(multi_cvae)
    qtbot.waitUntil(lambda: window.edit.edit is not None and window.edit.encoded.z.shape == (4,), timeout=REAL_TIMEOUT_MS)
    assert real.engine.of(p.ChooseFace), "the photo was not re-bound to the new model"
    assert ui.dock.isVisible() and window.edit.base_labels == window.photo.current.labels
    other = independent_engine(multi_cvae)
    opened = other.handle(p.OpenPhoto(path=str(photo), detector="centre"))
    np.testing.assert_allclose(window.edit.encoded.z, opened.z, atol=1e-5)
    for name, slider in ui.label_panel.sliders.items():
        assert slider.value() == pytest.approx(opened.labels[name], abs=0.006)
    real.load(tiny_vae)  # and back: no labels, the label dock goes away
    qtbot.waitUntil(lambda: window.edit.edit is not None and window.edit.encoded.z.shape == (8,), timeout=REAL_TIMEOUT_MS)
    assert not ui.dock.isVisible() and window.edit.labels is None


def test_model_chooser_lists_the_bundled_models_with_their_family(qtbot, real):
    chooser = real.window.chooser
    qtbot.waitUntil(lambda: bool(real.window.model.catalog), timeout=REAL_TIMEOUT_MS)
    texts = [chooser.combo.itemText(i) for i in range(chooser.combo.count())]
    assert texts[0] == "default-faces-vae64 · VAE" and chooser.sources()[0] == "default"
    for name, family in (("faces-cvae64", "conditional VAE"), ("fashion-cvae28", "conditional VAE"), ("faces-cgan64", "conditional GAN")):
        if any(e.name == name for e in real.window.model.catalog):  # those bundled in this checkout
            assert f"{name} · {family}" in texts
    assert texts[-1] == "Open any checkpoint…" and chooser.sources()[-1] is None


def test_a_label_the_engine_refuses_is_shown_and_the_edit_stays(qtbot, real, multi_cvae, photo):
    real.load(multi_cvae)
    window, ui = real.window, real.window.conditional
    open_photo_file(qtbot, window, photo, timeout=REAL_TIMEOUT_MS)
    ui.label_panel.sliders["Bright"].setValue(0.25)
    good = wait_rendered(qtbot, window, REAL_TIMEOUT_MS).copy()
    real.engine.fail[p.RenderEdit] = "label 'Bright' exploded"
    ui.label_panel.sliders["Bright"].setValue(0.75)
    qtbot.waitUntil(lambda: "exploded" in window.banner.text(), timeout=REAL_TIMEOUT_MS)
    assert "Rendering the edit failed" in window.banner.text()
    np.testing.assert_array_equal(window.photo.composite(), good)  # what was shown stays
    ui.label_panel.sliders["Bright"].setValue(0.5)  # and the app carries on
    wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
    assert real.engine.of(p.RenderEdit)[-1].labels["Bright"] == 0.5


def test_label_changes_are_undoable_steps(qtbot, real, multi_cvae, photo):
    real.load(multi_cvae)
    window, ui = real.window, real.window.conditional
    stack = window.history.undo_stack
    original = open_photo_file(qtbot, window, photo, timeout=REAL_TIMEOUT_MS)
    estimate = dict(window.edit.base_labels)
    slider = ui.label_panel.sliders["Bright"]
    target = _flipped(estimate, "Bright")
    slider._slider.setSliderDown(True)  # one drag through several values: one step
    for v in (0.3, 0.5, 0.7, target):
        slider.setValue(v)
    slider._slider.setSliderDown(False)
    labelled = wait_rendered(qtbot, window, REAL_TIMEOUT_MS).copy()
    assert stack.count() == 1 and stack.text(0).startswith("Labels: Bright")
    from tests.editor._photo import move_slider

    move_slider(window, 0, 1.0)  # a latent slider after it: its own step
    wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
    assert stack.count() == 2

    window.undo_action.trigger()  # the latent step
    np.testing.assert_array_equal(wait_rendered(qtbot, window, REAL_TIMEOUT_MS), labelled)
    window.undo_action.trigger()  # the label step: the photo's own labels, the original pixels
    np.testing.assert_array_equal(wait_rendered(qtbot, window, REAL_TIMEOUT_MS), original)
    assert window.edit.labels == estimate and slider.value() == pytest.approx(estimate["Bright"], abs=0.006)
    window.redo_action.trigger()
    np.testing.assert_array_equal(wait_rendered(qtbot, window, REAL_TIMEOUT_MS), labelled)
    assert window.edit.labels["Bright"] == target and slider.value() == target


def _photo_with_red_flipped(qtbot, real, multi_cvae, photo):
    """The photo open on the multi-hot cVAE with its "Red" label flipped: window, dock, the photo's
    own label estimate, the flipped value and the rendered edit."""
    real.load(multi_cvae)
    window, ui = real.window, real.window.conditional
    open_photo_file(qtbot, window, photo, timeout=REAL_TIMEOUT_MS)
    estimate = dict(window.edit.base_labels)
    target = _flipped(estimate, "Red")
    ui.label_panel.sliders["Red"].setValue(target)
    return window, ui, estimate, target, wait_rendered(qtbot, window, REAL_TIMEOUT_MS).copy()


def test_a_session_keeps_the_label_edit(qtbot, real, multi_cvae, photo, tmp_path):
    window, ui, estimate, target, edited = _photo_with_red_flipped(qtbot, real, multi_cvae, photo)
    assert window.session.save_and_wait(tmp_path / "labels.lsession")
    assert real.engine.of(p.SaveSession)[-1].labels == {**estimate, "Red": target}
    ui.label_panel.reset_button.click()
    wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
    with qtbot.waitSignal(window.session.loaded, timeout=REAL_TIMEOUT_MS):
        window.session.open(tmp_path / "labels.lsession")
    np.testing.assert_array_equal(wait_rendered(qtbot, window, REAL_TIMEOUT_MS), edited)
    assert window.edit.labels == {**estimate, "Red": target} and ui.label_panel.sliders["Red"].value() == target


def test_a_recipe_carries_the_labels_back_and_to_the_batch_command(qtbot, real, multi_cvae, photo, tmp_path):
    window, ui, estimate, target, edited = _photo_with_red_flipped(qtbot, real, multi_cvae, photo)
    recipe = window.session.save_recipe(tmp_path / "red")
    stack, labels = p.read_recipe(recipe.read_text())
    assert stack.is_empty and labels == {**estimate, "Red": target}
    from engine.cli.photo import build_edit

    assert build_edit(str(recipe), [], []) == (stack, labels)  # what `latent-studio edit --recipe` reads

    ui.label_panel.reset_button.click()  # back to the photo's own labels, then apply the recipe
    wait_rendered(qtbot, window, REAL_TIMEOUT_MS)
    steps = window.history.undo_stack.count()
    assert window.session.apply_recipe(recipe)
    np.testing.assert_array_equal(wait_rendered(qtbot, window, REAL_TIMEOUT_MS), edited)
    assert window.edit.labels == labels and ui.label_panel.sliders["Red"].value() == target
    assert window.history.undo_stack.count() == steps + 1  # the labels are one undoable step
    window.undo_action.trigger()
    assert window.edit.labels == estimate
