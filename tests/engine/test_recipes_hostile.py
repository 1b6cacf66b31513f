"""Hostile recipes: whatever the JSON holds, reading it is a one-line ValueError (the CLI's
``edit --recipe`` and the editor's recipe loader both show that line), never another exception."""

from __future__ import annotations

import json

import pytest

from engine.cli import main
from engine.protocol import AttributeStep, Blend, DimensionStep, EditStack, read_recipe, recipe_json


def _recipe(*ops, **top) -> str:
    return json.dumps({"format": "latent-studio/recipe", "version": 1, "ops": list(ops), **top}, allow_nan=True)


HOSTILE = {
    "ops an integer": (_recipe().replace('"ops": []', '"ops": 5'), "recipe ops must be a list"),
    "ops an object": (_recipe().replace('"ops": []', '"ops": {"op": "dim"}'), "recipe ops must be a list"),
    "ops a string": (_recipe().replace('"ops": []', '"ops": "dim"'), "recipe ops must be a list"),
    "op not an object": (_recipe([1, 2]), "unknown op '[1, 2]'"),
    "op unhashable": (_recipe({"op": ["dim"]}), "unknown op"),
    "infinite dim": (_recipe({"op": "dim", "dim": float("inf"), "amount": 1}), "dim must be an integer"),
    "NaN dim": (_recipe({"op": "dim", "dim": float("nan"), "amount": 1}), "dim must be an integer"),
    "fractional dim": (_recipe({"op": "dim", "dim": 1.5, "amount": 1}), "dim must be an integer"),
    "negative dim": (_recipe({"op": "dim", "dim": -3, "amount": 1}), "dim must be an integer within 0..4095"),
    "astronomical dim": (_recipe({"op": "dim", "dim": 10**400, "amount": 1}), "dim must be an integer"),
    "list dim": (_recipe({"op": "dim", "dim": [1, 2], "amount": 1}), "dim must be an integer"),
    "bool dim": (_recipe({"op": "dim", "dim": True, "amount": 1}), "dim must be an integer"),
    "list amount": (_recipe({"op": "dim", "dim": 1, "amount": [1]}), "amount must be a finite number"),
    "string amount": (_recipe({"op": "attr", "name": "Eyeglasses", "amount": "2"}), "amount must be a finite number"),
    "NaN amount": (_recipe({"op": "attr", "name": "Eyeglasses", "amount": float("nan")}), "amount must be a finite number"),
    "infinite weight": (_recipe({"op": "blend", "target": [0.0], "weight": float("inf")}), "weight must be a finite number"),
    "huge amount": (_recipe({"op": "dim", "dim": 0, "amount": 1e300}), "amount must be a finite number within ±1e6"),
    "name a number": (_recipe({"op": "attr", "name": 3, "amount": 1}), "name must be text"),
    "name a list": (_recipe({"op": "attr", "name": ["a"], "amount": 1}), "name must be text"),
    "target a number": (_recipe({"op": "blend", "target": 1.0, "weight": 0.5}), "target must be a list"),
    "target of strings": (_recipe({"op": "blend", "target": ["a"], "weight": 0.5}), "target[0] must be a finite number"),
    "target nested": (_recipe({"op": "blend", "target": [[1.0]], "weight": 0.5}), "target[0] must be a finite number"),
    "target of 10**6 numbers": (_recipe({"op": "vector", "vector": [0.0] * 10**6}), "vector must be a list of 1..4096"),
    "vector with inf": (_recipe({"op": "vector", "vector": [0.0, float("inf")]}), "vector[1] must be a finite number"),
    "missing field": (_recipe({"op": "dim", "dim": 1}), "missing 1 required keyword-only argument: 'amount'"),
    "unknown field": (_recipe({"op": "dim", "dim": 1, "amount": 1, "x": 2}), "unknown field(s) x"),
    "labels of lists": (_recipe(labels={"Eyeglasses": [1]}), "recipe labels must be numbers"),
    "labels NaN": (_recipe(labels={"Eyeglasses": float("nan")}), "is outside 0..1"),
    "labels a list": (_recipe(labels=[1]), "recipe labels must be a non-empty"),
    "version a list": (_recipe(version=[1]), "recipe version"),
    "not an object": ("[1, 2, 3]", "not a Latent Studio recipe"),
    "nested 100000 deep": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "integer of 5000 digits": ('{"version": ' + "9" * 5000 + "}", "recipe is not valid JSON"),
    "not JSON": ("{ops: }", "recipe is not valid JSON"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_recipe_is_one_line_value_error(case):
    text, message = HOSTILE[case]
    with pytest.raises(ValueError) as exc:
        read_recipe(text)
    assert type(exc.value) is ValueError and message in str(exc.value) and "\n" not in str(exc.value), str(exc.value)


def test_good_recipes_still_round_trip():
    stack = EditStack(ops=(DimensionStep(dim=3, amount=-1.5), AttributeStep(name="Eyeglasses", amount=2), Blend(target=(0.0, 1.0), weight=0.25)))
    assert read_recipe(recipe_json(stack, {"Eyeglasses": 1.0})) == (stack, {"Eyeglasses": 1.0})
    assert EditStack.from_json(stack.to_json()) == stack


@pytest.mark.parametrize("case", ["ops an integer", "infinite dim", "list amount", "nested 100000 deep"])
def test_edit_command_reports_a_hostile_recipe_in_one_line(case, tmp_path, capsys):
    text, message = HOSTILE[case]
    recipe = tmp_path / "r.json"
    recipe.write_text(text)
    photo = tmp_path / "p.png"
    photo.write_bytes(b"")
    assert main(["edit", str(photo), "--recipe", str(recipe), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: r.json: ") and message in err and len(err.splitlines()) == 1, err
