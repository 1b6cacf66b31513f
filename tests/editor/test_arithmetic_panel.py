"""The arithmetic panel: A − B + C over samples, the current edit, image files and your
attributes' tagged groups; a live result; save it; edit it."""

from __future__ import annotations

import numpy as np

from editor.imaging import array_to_qimage, read_image
from tests.editor._semantics import data_dir, draw_samples, edit_sample, wait_directions  # noqa: F401
from tests.editor.conftest import TIMEOUT_MS, write_photo


def wait_result(qtbot, window):
    arith = window.semantics.arithmetic
    qtbot.waitUntil(lambda: arith.result is not None and arith.up_to_date and not window.client.busy,
                    timeout=TIMEOUT_MS)  # fmt: skip
    return arith.result


def test_result_of_samples_and_the_current_edit_is_shown_and_live(qtbot, window, fake, tmp_path):
    result = draw_samples(qtbot, window, n=8)
    z = np.asarray(result.z)
    arith, panel = window.semantics.arithmetic, window.semantics.arithmetic_panel
    panel.slots["a"].samplesRequested.emit("a", [0, 1])  # a set: its mean
    panel.slots["b"].samplesRequested.emit("b", [2])
    assert arith.result is None and panel.shown_result() is None  # not before the three are set
    z_c = edit_sample(qtbot, window, 3)
    panel.slots["c"].currentRequested.emit("c")
    assert "current edit" in panel.slots["c"].label.text()

    answer = wait_result(qtbot, window)
    expected_z = z[[0, 1]].mean(0) - z[2] + z_c
    np.testing.assert_allclose(answer.z, expected_z, atol=1e-5)
    np.testing.assert_array_equal(panel.shown_result(), fake.decode_latents(expected_z)[0])
    np.testing.assert_array_equal(panel.slots["b"].view.frame.array, result.images[2])  # each term's decode
    assert answer.counts == (2, 1, 1)

    # C follows the edit: moving a slider in the editor updates the result
    dim = int(window.latents.active_dims[0])
    window.latents.rows[dim].slider.setValue(2.0)
    qtbot.waitUntil(lambda: not np.allclose(arith.slots.slots["c"].term.latents, z_c), timeout=TIMEOUT_MS)
    answer = wait_result(qtbot, window)
    z_edit = window.edit.edited_latent()
    np.testing.assert_array_equal(panel.shown_result(), fake.decode_latents(z[[0, 1]].mean(0) - z[2] + z_edit)[0])

    # save it, and edit it like a sample
    out = arith.save_result(tmp_path / "result.png")
    np.testing.assert_array_equal(read_image(out)[0], panel.shown_result())
    panel.edit_button.click()
    assert window.tabs.currentWidget() is window.canvas
    np.testing.assert_allclose(window.edit.edit.z, answer.z)


def test_image_files_and_per_member_results(qtbot, window, fake, tmp_path):
    # Images at the model's size are used as they are (a larger image must show a face).
    a = write_photo(tmp_path / "a.png", h=32, w=32, seed=1)
    b = write_photo(tmp_path / "b.png", h=32, w=32, seed=2)
    result = draw_samples(qtbot, window, n=8)
    arith, panel = window.semantics.arithmetic, window.semantics.arithmetic_panel
    arith.slots.set_files("a", [a])
    arith.slots.set_files("b", [b])
    arith.slots.set_samples("c", [4, 5, 6])
    answer = wait_result(qtbot, window)
    m = fake.model
    za, zb = (m.encode(fake.aligned(read_image(p)[0]))[0] for p in (a, b))
    zc = np.asarray(result.z[[4, 5, 6]])
    np.testing.assert_allclose(answer.z, za - zb + zc.mean(0), atol=1e-4)
    np.testing.assert_array_equal(panel.shown_result(), answer.image)
    # C is a set: A − B added to each of its members too
    assert answer.items.shape == (3, 32, 32, 3) and answer.edited.shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(answer.edited, fake.decode_latents(zc + (za - zb)))
    assert panel.members.count() == 6 and not panel.members.isHidden()


def test_user_attribute_groups_and_errors(qtbot, window, fake, data_dir):
    wait_directions(qtbot, window)
    result = draw_samples(qtbot, window, n=8)
    z = np.asarray(result.z)
    user, arith = window.semantics.user, window.semantics.arithmetic
    user.add_samples("with", [0, 1, 2])
    user.add_samples("without", [3, 4])
    with qtbot.waitSignal(user.created, timeout=TIMEOUT_MS):
        user.create("hat")
    qtbot.waitUntil(lambda: window.semantics.arithmetic_panel.slots["a"].user_attributes == ("hat",), timeout=TIMEOUT_MS)
    arith.slots.set_group("a", "hat=1")
    arith.slots.set_group("b", "hat=-1")
    arith.slots.set_samples("c", [7])
    answer = wait_result(qtbot, window)
    np.testing.assert_allclose(answer.z, z[[0, 1, 2]].mean(0) - z[[3, 4]].mean(0) + z[7], atol=1e-5)
    assert "hat with" in answer.descriptions[0]

    arith.slots.set_group("b", "nope=1")  # no such attribute: an error on the banner, the app carries on
    qtbot.waitUntil(lambda: "Latent arithmetic failed" in window.banner.text(), timeout=TIMEOUT_MS)
    assert "nope" in window.banner.text()
    arith.slots.set_group("b", "hat=-1")
    answer = wait_result(qtbot, window)
    np.testing.assert_allclose(answer.z, z[[0, 1, 2]].mean(0) - z[[3, 4]].mean(0) + z[7], atol=1e-5)


def test_a_larger_image_without_a_face_is_refused_in_one_line(qtbot, window, fake, tmp_path):
    draw_samples(qtbot, window, n=4)
    arith = window.semantics.arithmetic
    flat = tmp_path / "flat.png"
    assert array_to_qimage(np.full((48, 64, 3), 128, np.uint8)).save(str(flat))  # one grey: the face finder finds no face in it
    arith.slots.set_files("a", [flat])
    arith.slots.set_samples("b", [1])
    arith.slots.set_samples("c", [2])
    qtbot.waitUntil(lambda: "no face found in flat.png" in window.banner.text(), timeout=TIMEOUT_MS)
    assert "\n" not in window.banner.text()
