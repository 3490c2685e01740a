"""KerasTuner over a spec: invalid points fail as trials, with the engine's reason, unbuilt."""

from __future__ import annotations

import numpy as np
import pytest

import archspec

keras = pytest.importorskip("keras")
kt = pytest.importorskip("keras_tuner")

pytestmark = pytest.mark.keras

SPEC = """\
archspec: 1
name: tiny
input: {shape: [12, 12, 1]}
params: {width: 4, kernel: 3}
layers:
  - {name: c1, type: conv2d, filters: width, kernel: kernel, activation: relu}
  - {name: p1, type: max_pool2d, pool: 2}
  - {name: c2, type: conv2d, filters: width, kernel: kernel, activation: relu}
  - {type: flatten}
  - {name: out, type: dense, units: 3, activation: softmax}
"""
# 12 -> conv k -> 12-k+1 -> pool -> floor((13-k)/2) -> conv k: needs floor((13-k)/2) >= k,
# so kernel 3 works, 5 fails at c2, and the space {3, 4, 5} x {4, 8} is a third invalid (k=5).


def test_random_search_never_builds_an_invalid_point(tmp_path) -> None:
    from builders.tuning import SpecHyperModel

    spec = archspec.loads(SPEC)
    hypermodel = SpecHyperModel(spec, {"kernel": [3, 4, 5], "width": [4, 8]})
    tuner = kt.RandomSearch(
        hypermodel,
        objective="loss",
        max_trials=6,
        max_consecutive_failed_trials=6,
        directory=str(tmp_path),
        project_name="tiny",
        seed=1,
    )
    rng = np.random.default_rng(0)
    x, y = rng.random((32, 12, 12, 1), dtype=np.float32), rng.integers(0, 3, 32)
    tuner.search(x, y, epochs=1, batch_size=16, verbose=0)

    trials = list(tuner.oracle.trials.values())
    points = [(t.hyperparameters.get("kernel"), t.hyperparameters.get("width")) for t in trials]
    assert len(set(points)) == len(trials) == 6  # the whole space, each point once
    failed = [t for t in trials if t.status == "FAILED"]
    completed = [t for t in trials if t.status == "COMPLETED"]
    assert sorted(t.hyperparameters.get("kernel") for t in failed) == [5, 5]
    assert all("layer 'c2'" in t.message and "archspec" in t.message for t in failed)
    assert len(completed) == 4
    assert hypermodel.builds == len(completed)  # one Keras build per valid point, none else
    assert [r.layer for r in hypermodel.rejected] == ["c2", "c2"]

    best_hp = tuner.get_best_hyperparameters(1)[0]
    best = tuner.get_best_models(1)[0]
    engine = archspec.analyze(
        spec.model_copy(
            update={"params": {"kernel": best_hp.get("kernel"), "width": best_hp.get("width")}}
        )
    )
    assert best.count_params() == engine.totals.params


def test_a_space_over_unknown_params_is_refused() -> None:
    from builders.tuning import SpecHyperModel

    with pytest.raises(ValueError, match="not a param"):
        SpecHyperModel(archspec.loads(SPEC), {"kernal": [3]})
