"""Every registered layer kind is complete: fields, resolution, a Keras mapping, an agreement case.

Like a model zoo's tests parametrised over its registry, these run over ``LAYER_KINDS`` itself,
so a kind added without its Keras maker or without a case comparing it with Keras fails here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import archspec
from archspec.layers import LAYER_KINDS, NO_ARGS
from archspec.layers.pooling import _Pool

keras = pytest.importorskip("keras")

from test_agreement import CORNERS, SPEC_FILES, assert_agrees  # noqa: E402

from builders import build  # noqa: E402
from builders.keras_layers import KERAS_LAYERS  # noqa: E402

pytestmark = pytest.mark.keras


def _types(layers: list[dict[str, Any]]) -> set[str]:
    return {layer["type"] for layer in layers}


KIND_CASES = [
    {
        "id": "pools-1d",
        "input": [17, 3],
        "layers": [
            {"type": "max_pool1d", "pool": 3, "strides": 2},
            {"type": "depthwise_conv1d", "kernel": 3, "depth_multiplier": 2},
            {"type": "global_max_pool1d"},
        ],
    },
    {
        "id": "avg-pool1d-same",
        "input": [9, 2],
        "layers": [{"type": "avg_pool1d", "pool": 2, "padding": "same"}],
    },
    {
        "id": "volumes",
        "input": [7, 8, 9, 2],
        "layers": [
            {"type": "conv3d", "filters": 4, "kernel": [3, 1, 2], "padding": "same"},
            {"type": "max_pool3d", "pool": 2},
            {"type": "global_avg_pool3d", "keepdims": True},
        ],
    },
    {
        "id": "separable-upsampled-cropped",
        "input": [10, 12, 3],
        "layers": [
            {"type": "separable_conv2d", "filters": 5, "kernel": 3, "depth_multiplier": 2},
            {"type": "upsampling2d", "size": [2, 3], "interpolation": "bilinear"},
            {"type": "cropping2d", "cropping": [[1, 2], 3]},
            {"type": "global_max_pool2d"},
        ],
    },
]
"""Kinds no corner case or spec uses, compared with Keras here."""


@pytest.mark.parametrize("case", KIND_CASES, ids=[c["id"] for c in KIND_CASES])
def test_kind_cases_agree(case: dict[str, Any]) -> None:
    spec = archspec.from_dict(
        {
            "archspec": 1,
            "name": case["id"],
            "input": {"shape": case["input"]},
            "layers": case["layers"],
        }
    )
    assert archspec.analyze(spec).ok
    assert_agrees(spec)


def _kinds_with_an_agreement_case() -> set[str]:
    covered: set[str] = set()
    for case in [*CORNERS, *KIND_CASES]:
        covered |= _types(case["layers"])
    for path in SPEC_FILES:
        report = archspec.analyze(archspec.load(path))
        covered |= {row.type for row in report.layers}
    return covered


def test_every_kind_has_exactly_one_keras_maker() -> None:
    assert set(KERAS_LAYERS) == set(LAYER_KINDS)


def test_every_kind_is_compared_with_keras() -> None:
    missing = sorted(set(LAYER_KINDS) - _kinds_with_an_agreement_case())
    assert not missing, f"kinds without an agreement case in tests/test_agreement.py: {missing}"


def test_kinds_without_fields_resolve_to_no_args() -> None:
    spec = archspec.from_dict(
        {
            "archspec": 1,
            "name": "plain",
            "input": {"shape": [4, 4, 2]},
            "layers": [{"name": "f", "type": "flatten"}],
        }
    )
    assert archspec.analyze(spec).layer("f").args is NO_ARGS


LENET = Path(__file__).resolve().parent.parent / "specs" / "lenet5.yaml"


def test_a_resolved_default_is_read_in_one_place(monkeypatch: pytest.MonkeyPatch) -> None:
    """Break pooling's default stride (the pool size, as in Keras) where it is resolved, and
    both the engine's answer and the built Keras model change with it: the builder reads the
    engine's resolution instead of applying the default a second time."""
    spec = archspec.load(LENET)
    assert archspec.analyze(spec).layer("s2").output_shape == (14, 14, 6)
    assert tuple(build(spec).model.get_layer("s2").output.shape[1:]) == (14, 14, 6)

    right = _Pool.resolve

    def stride_one_by_default(self: _Pool, ctx: Any, inputs: Any) -> Any:
        args = right(self, ctx, inputs)
        if self.strides is None:
            args = type(args)(args.pool, (1,) * len(args.pool), args.padding)
        return args

    monkeypatch.setattr(_Pool, "resolve", stride_one_by_default)
    engine = archspec.analyze(spec).layer("s2").output_shape
    keras.backend.clear_session()
    built = tuple(build(spec).model.get_layer("s2").output.shape[1:])
    assert engine == (27, 27, 6)  # the engine's own test of LeNet-5 would fail
    assert built == (27, 27, 6)  # and so would any test of the built model's shapes
