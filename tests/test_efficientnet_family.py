"""specs/efficientnet.yaml's variants against keras.applications.EfficientNetB0..B7.

Parameter totals need no forward pass: each Keras model is built (weights=None, nothing
downloaded) and counted, and the engine's totals for the variant must equal them. B5-B7 are
big graphs to construct, so they are marked slow (they still run in ``make test``).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import archspec

keras = pytest.importorskip("keras")

pytestmark = pytest.mark.keras

SPEC = Path(__file__).resolve().parent.parent / "specs" / "efficientnet.yaml"
SLOW = {"b5", "b6", "b7"}


@pytest.mark.parametrize(
    "variant",
    [pytest.param(f"b{i}", marks=[pytest.mark.slow] if f"b{i}" in SLOW else []) for i in range(8)],
)
def test_variant_totals_equal_keras(variant: str) -> None:
    spec = archspec.load(SPEC).variant(variant)
    report = archspec.analyze(spec)
    assert report.ok, report.errors
    keras.backend.clear_session()
    model = getattr(keras.applications, f"EfficientNetB{variant[1]}")(weights=None)
    assert report.input_shape == tuple(model.input_shape[1:])
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    frozen = sum(math.prod(w.shape) for w in model.non_trainable_weights)
    assert (report.totals.trainable_params, report.totals.non_trainable_params) == (
        trainable,
        frozen,
    )
    assert report.totals.params == model.count_params()
