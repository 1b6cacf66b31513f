"""The attribute panel's groups (issue 14): headers in the engine's order with their rows under
them, one group for a model the engine does not group, locks on grouped rows, folding, and the
tooltip that says what a slider measures."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from engine.protocol import AttributeDirectionSet, AttributeInfo
from engine.semantics.attribute_table import TABLE
from editor.widgets.attribute_panel import AttributePanel
from tests.editor._semantics import edit_sample, one_sigma, wait_directions, wait_edit_shown
from tests.editor.conftest import TIMEOUT_MS


def _directions(infos: list[AttributeInfo]) -> AttributeDirectionSet:
    names = tuple(i.name for i in infos)
    zero = {n: np.zeros(4, np.float32) for n in names}
    return AttributeDirectionSet(
        request_id=0,
        names=names,
        attributes=tuple(infos),
        steps=zero,
        directions=zero,
        locked=(),
        cosines=np.eye(len(names), dtype=np.float32),
    )


def _groups(panel: AttributePanel) -> list[tuple[str, list[str]]]:
    return [(title, [r.name for r in g.rows]) for title, g in panel.groups.items()]


def test_the_default_models_attributes_under_their_headers_in_the_engines_order(qtbot):
    """What the real engine's table gives the default VAE's nine attributes (its order, its groups)."""
    checkpoint_order = ["Eyeglasses", "Male", "Young", "Smiling", "MouthOpen", "EyesOpen", "HeadYaw", "HeadRoll", "LightDirection"]
    from engine.semantics.attribute_table import describe, panel_order

    infos = [AttributeInfo(name=n, source="model", group=describe(n)[0], description=describe(n)[1]) for n in panel_order(checkpoint_order)]
    infos.append(AttributeInfo(name="freckles", source="user"))
    panel = AttributePanel()
    qtbot.addWidget(panel)
    panel.build(_directions(infos))
    assert _groups(panel) == [
        ("Expression", ["Smiling", "MouthOpen", "EyesOpen"]), ("Pose", ["HeadYaw", "HeadRoll"]), ("Light", ["LightDirection"]),
        ("Identity", ["Male", "Young", "Eyeglasses"]), ("Yours", ["freckles"]),
    ]  # fmt: skip
    # the headers sit above their rows, in that order, in the panel itself
    panel.resize(320, 2000)
    panel.show()
    qtbot.waitExposed(panel)
    ys = [(g.header.mapTo(panel, g.header.rect().topLeft()).y(), [r.mapTo(panel, r.rect().topLeft()).y() for r in g.rows])
          for g in panel.groups.values()]  # fmt: skip
    flat = [y for head, rows in ys for y in [head, *rows]]
    assert flat == sorted(flat) and len(set(flat)) == len(flat)
    assert panel.groups["Pose"].header.text() == "Pose (2)"
    # each slider says what it measures (the engine's table), before what σ means
    tip = panel.rows["Smiling"].slider.toolTip()
    assert tip.startswith(f"Smiling: {TABLE['Smiling'][1]}") and "mouth corners" in tip and "inter-ocular distance" in tip
    assert "σ units" in tip
    assert panel.rows["freckles"].slider.toolTip().startswith("freckles: strength in σ units")  # nothing known: as before


def test_a_model_without_groups_shows_one_group_and_an_unknown_attribute_goes_under_other(qtbot):
    panel = AttributePanel()
    qtbot.addWidget(panel)
    panel.build(
        _directions([AttributeInfo(name=n, source="model") for n in ("Sneaker", "Boot")] + [AttributeInfo(name="mine", source="user")])
    )
    assert _groups(panel) == [("Attributes", ["Sneaker", "Boot"]), ("Yours", ["mine"])]
    panel.build(
        _directions([AttributeInfo(name="Smiling", source="model", group="Expression"), AttributeInfo(name="Boot", source="model")])
    )
    assert _groups(panel) == [("Expression", ["Smiling"]), ("Other", ["Boot"])]


def test_folding_a_group_hides_its_rows_names_what_is_moved_and_is_kept(qtbot):
    infos = [AttributeInfo(name="HeadYaw", source="model", group="Pose"), AttributeInfo(name="HeadRoll", source="model", group="Pose"),
             AttributeInfo(name="Male", source="model", group="Identity")]  # fmt: skip
    panel = AttributePanel()
    qtbot.addWidget(panel)
    panel.build(_directions(infos))
    panel.resize(320, 800)
    panel.show()
    qtbot.waitExposed(panel)
    pose = panel.groups["Pose"]
    assert pose.rows[0].isVisible() and pose.header.arrowType() == Qt.ArrowType.DownArrow
    panel.set_strengths({"HeadYaw": 1.5})
    pose.header.click()
    assert pose.collapsed and not panel.rows["HeadYaw"].isVisible() and not panel.rows["HeadRoll"].isVisible()
    assert panel.rows["Male"].isVisible()  # the other group stays open
    assert pose.header.arrowType() == Qt.ArrowType.RightArrow and pose.header.text() == "Pose (2) · HeadYaw +1.5σ"
    # a rebuild (other attributes, another model) keeps the fold
    panel.build(_directions(infos[::-1]))
    assert panel.groups["Pose"].collapsed and not panel.rows["HeadYaw"].isVisible()
    panel.groups["Pose"].header.click()
    assert panel.rows["HeadYaw"].isVisible() and panel.rows["HeadRoll"].isVisible()


def test_lock_and_slider_on_a_grouped_row_in_the_window(qtbot, window, fake):
    """Fake model: Smiling (Expression), Young (Identity), Glasses (not in the engine's table)."""
    directions = wait_directions(qtbot, window)
    panel = window.semantics.attribute_panel
    assert _groups(panel) == [("Expression", ["Smiling"]), ("Identity", ["Young"]), ("Other", ["Glasses"])]
    assert [a.group for a in directions.attributes] == ["Expression", "Identity", ""]
    z = edit_sample(qtbot, window, 1)
    std = window.model.info.stats.std
    young = fake.model.attributes["Young"]
    panel.groups["Expression"].header.click()  # folding one group leaves the others working
    panel.rows["Young"].slider.setValue(-1.0)
    np.testing.assert_array_equal(wait_edit_shown(qtbot, window), fake.decode_latents(z - one_sigma(young, std))[0])
    panel.rows["Young"].lock.setChecked(True)
    assert not panel.rows["Young"].slider.isEnabled()
    locked = wait_directions(qtbot, window, locked=("Young",))
    assert panel.groups["Expression"].collapsed  # the conditioned directions keep the fold
    assert panel.rows["Young"].lock.isChecked() and {a.name: a.kept for a in locked.attributes}["Young"] == 1.0


def test_a_grouped_rows_traversal_strip_decodes_the_edit_along_it_and_a_click_applies(qtbot, window, fake):
    from engine.semantics.orthogonal import project_out

    wait_directions(qtbot, window)
    z = edit_sample(qtbot, window, 2)
    panel, attrs = window.semantics.attribute_panel, window.semantics.attributes
    std = window.model.info.stats.std
    smiling, young = fake.model.attributes["Smiling"], fake.model.attributes["Young"]
    strips = []
    attrs.traversalReady.connect(lambda name, images, values: strips.append((name, np.asarray(images), np.asarray(values))))
    panel.rows["Smiling"].slider.setValue(1.0)
    wait_edit_shown(qtbot, window)

    row = panel.rows["Young"]  # under "Identity"
    row.strip_button.click()
    qtbot.waitUntil(lambda: bool(strips) and bool(row.strip.buttons), timeout=TIMEOUT_MS)
    name, images, values = strips[-1]
    assert name == "Young" and panel.traversal == "Young" and row.strip.isVisible()
    np.testing.assert_allclose(values, np.linspace(-3, 3, 7))
    # the current edit (Smiling +1σ) with Young at each value; the other attributes stay where they are
    expected = fake.decode_latents(z + one_sigma(smiling, std) + values[:, None] * one_sigma(young, std))
    np.testing.assert_allclose(images.astype(int), expected.astype(int), atol=1)
    row.strip.buttons[5].click()  # +2σ
    assert row.value() == 2.0
    np.testing.assert_allclose(wait_edit_shown(qtbot, window).astype(int), images[5].astype(int), atol=1)

    # one strip at a time; locking Young decodes the Smiling strip again along the conditioned step
    panel.rows["Smiling"].strip_button.click()
    assert panel.traversal == "Smiling" and not row.strip_button.isChecked() and not row.strip.isVisible()
    row.lock.setChecked(True)
    wait_directions(qtbot, window, locked=("Young",))
    conditioned = one_sigma(project_out(smiling, [young]), std)
    expected = fake.decode_latents(z + 2.0 * one_sigma(young, std) + values[:, None] * conditioned)
    qtbot.waitUntil(lambda: strips[-1][0] == "Smiling" and np.abs(strips[-1][1].astype(int) - expected).max() <= 1, timeout=TIMEOUT_MS)
    panel.rows["Smiling"].strip_button.click()  # closed: no more decodes for it
    assert panel.traversal == "" and attrs.traversal_name is None


def test_a_row_names_the_lock_that_takes_most_of_its_direction(qtbot):
    costs = (("Smiling", 0.65), ("EyesOpen", 0.69), ("HeadYaw", 0.98))
    infos = [AttributeInfo(name="Age", source="model", group="Identity", kept=0.57, lock_costs=costs),
             AttributeInfo(name="Male", source="model", group="Identity", kept=0.9, lock_costs=(("Age", 0.9),)),
             AttributeInfo(name="Young", source="model", group="Identity")]  # fmt: skip
    panel = AttributePanel()
    qtbot.addWidget(panel)
    panel.build(_directions(infos))
    age = panel.rows["Age"]
    assert "57% left</b>, Smiling's lock most" in age.score.text()
    assert "each lock alone leaves: Smiling 65%, EyesOpen 69%, HeadYaw 98%" in age.slider.toolTip()
    assert panel.rows["Male"].score.text().endswith("after locks</span>")  # one lock: it is the one, not named twice
    assert "left" not in panel.rows["Young"].score.text() and "lock alone" not in panel.rows["Young"].slider.toolTip()
