"""Conditional (orthogonalised) directions and the entanglement readout."""

from __future__ import annotations

import numpy as np
import pytest

from engine.semantics.orthogonal import (
    classifier_flip_rates,
    conditional_direction,
    conditional_directions,
    cosine_matrix,
    edit_vector,
    entanglement_report,
    lock_costs,
    logit_shifts,
    project_out,
    sigma_along,
)


def unit(v):
    return v / np.linalg.norm(v)


def test_orthogonalised_direction_has_zero_cosine_with_the_locked_ones():
    rng = np.random.default_rng(0)
    dirs = {n: rng.standard_normal(16).astype(np.float32) for n in "ABCD"}
    dirs["B"] = dirs["A"] * 0.8 + dirs["B"] * 0.2  # strongly entangled with A
    d = conditional_direction(dirs, "A", ["B", "C"])
    assert abs(unit(d) @ unit(dirs["B"])) < 1e-5 and abs(unit(d) @ unit(dirs["C"])) < 1e-5
    assert abs(unit(d) @ unit(dirs["D"])) > 1e-3  # D was not locked
    # the result is the orthogonal projection: what is left of A, never longer than A
    assert np.linalg.norm(d) < np.linalg.norm(dirs["A"])
    assert (dirs["A"] - d) @ d == pytest.approx(0.0, abs=1e-4)
    # locking the target itself is ignored; unknown names are an error
    np.testing.assert_allclose(conditional_direction(dirs, "A", ["A"]), dirs["A"])
    with pytest.raises(ValueError, match="cannot lock 'Z'"):
        conditional_direction(dirs, "A", ["Z"])


def test_project_out_handles_dependent_and_empty_locks():
    a = np.array([1.0, 1.0, 0.0])
    e0 = np.array([1.0, 0.0, 0.0])
    np.testing.assert_allclose(project_out(a, [e0, 2 * e0, np.zeros(3)]), [0, 1, 0], atol=1e-6)
    np.testing.assert_allclose(project_out(a, []), a)
    np.testing.assert_allclose(project_out(np.array([0.0, 0, 1]), [e0]), [0, 0, 1])  # already orthogonal: unchanged


def test_lock_costs_name_the_lock_that_takes_most_of_a_direction():
    dirs = {"A": np.array([3.0, 1.0, 0.0]), "B": np.array([0.0, 1.0, 0.0]), "C": np.array([1.0, 0.0, 0.0]), "D": np.array([0.0, 0.0, 1.0])}
    locks = dict(dirs, C=np.array([2.0, 0.0, 0.0]))  # a lock vector is kept fixed whatever its length
    costs = lock_costs(dirs, "A", ["D", "B", "A", "C", "B"], locks)
    # C alone leaves |(0, 1)| / |(3, 1)|, B alone |(3, 0)| / |(3, 1)|; D is orthogonal to A (costs nothing), A is the target
    assert [n for n, _ in costs] == ["C", "B"]
    np.testing.assert_allclose([k for _, k in costs], [1 / np.sqrt(10), 3 / np.sqrt(10)])
    assert lock_costs(dirs, "A", []) == () and lock_costs(dirs, "D", ["A", "B", "C"]) == ()


def test_conditional_directions_default_locks_all_others():
    rng = np.random.default_rng(1)
    dirs = {n: rng.standard_normal(8) for n in "XYZ"}
    out = conditional_directions(dirs)
    for a in "XYZ":  # each conditional direction is orthogonal to the other *raw* directions
        for b in set("XYZ") - {a}:
            assert abs(unit(out[a]) @ unit(dirs[b])) < 1e-6
    names, cos = cosine_matrix(out)
    assert names == ["X", "Y", "Z"]
    _, raw = cosine_matrix(dirs)
    np.testing.assert_allclose(raw, raw.T, atol=1e-6)
    np.testing.assert_allclose(np.diag(raw), 1.0, atol=1e-6)


def test_sigma_units_match_the_slider_convention():
    std = np.array([2.0, 2.0, 1.0])
    assert sigma_along(np.array([3.0, 4.0, 0.0]), std) == pytest.approx(2.0)
    np.testing.assert_allclose(edit_vector(np.array([3.0, 4.0, 0.0]), std, 2.0), [2.4, 3.2, 0.0], atol=1e-6)


def test_edit_along_a_moves_an_entangled_classifier_unless_orthogonalised():
    rng = np.random.default_rng(2)
    d = 10
    wa, wb = unit(rng.standard_normal(d)), unit(rng.standard_normal(d))
    da = unit(wa + 0.8 * wb)  # A's direction leaks into B's classifier
    dirs = {"A": da, "B": wb}
    classifiers = {"A": np.append(wa, 0.0), "B": np.append(wb, 0.0)}
    std = np.ones(d)
    rows, cols, shift = logit_shifts(dirs, classifiers, std)
    assert rows == ["A", "B"] and cols == ["A", "B"]
    assert abs(shift[0, 1]) > 0.3
    _, _, orth = logit_shifts(conditional_directions(dirs), classifiers, std)
    assert abs(orth[0, 1]) < 1e-5  # the locked classifier's logit does not move
    mu = rng.standard_normal((500, d))
    _, _, flips = classifier_flip_rates(dirs, classifiers, mu, std, 2.0)
    _, _, flips_orth = classifier_flip_rates(conditional_directions(dirs), classifiers, mu, std, 2.0)
    assert flips[0, 1] > 0.1 and flips_orth[0, 1] == 0.0
    report = entanglement_report(dirs, classifiers, std, mu)
    assert set(report) >= {"cosine", "logit_shift_per_sigma_raw", "logit_shift_per_sigma_orthogonalised", "classifier_flips_at_2sigma_orthogonalised"}
    assert report["classifier_flips_at_2sigma_orthogonalised"]["A"]["B"] == 0.0


def test_locking_keeps_the_locked_classifier_readout_fixed_even_for_mean_directions():
    from engine.semantics.orthogonal import lock_vectors

    rng = np.random.default_rng(3)
    d = 12
    dirs = {n: rng.standard_normal(d) for n in "AB"}  # e.g. mean differences
    classifiers = {n: np.append(rng.standard_normal(d), 0.5) for n in "AB"}  # their read-outs differ from them
    locks = lock_vectors(dirs, classifiers)
    np.testing.assert_allclose(locks["B"], classifiers["B"][:-1], rtol=1e-6)
    std = np.ones(d)
    _, _, by_dirs = logit_shifts(conditional_directions(dirs), classifiers, std)
    _, _, by_locks = logit_shifts(conditional_directions(dirs, locks=locks), classifiers, std)
    assert abs(by_dirs[0, 1]) > 1e-3  # orthogonal to B's direction is not enough
    assert abs(by_locks[0, 1]) < 1e-5 and abs(by_locks[1, 0]) < 1e-5
    assert set(lock_vectors({"A": dirs["A"]}, {})) == {"A"}
