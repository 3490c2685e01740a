"""The modern reproductions in specs/ against keras.applications itself, layer by layer.

Each spec takes its input as [H, W, 3]; at the application's default size and at two odd
sizes it accepts, the engine's report and the Keras model built by keras.applications
(weights=None, nothing downloaded) must have the same layers: the multiset of (output shape,
trainable, non-trainable parameters) over every layer, and the same totals. Multisets,
because the two graphs may list parallel branches in different orders. Each reference model
is built once per size and shared by the tests that read it.
"""

from __future__ import annotations

import collections
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import archspec
from archspec.report import LayerRow
from archspec.symbols import as_int

keras = pytest.importorskip("keras")

pytestmark = pytest.mark.keras

SPECS = Path(__file__).resolve().parent.parent / "specs"


def _not_a_keras_layer(*suffixes: str) -> Callable[[LayerRow], bool]:
    return lambda row: row.name.rsplit(".", 1)[-1] in suffixes


APPLICATIONS: dict[str, dict[str, Any]] = {
    "efficientnet_b0": {"keras": "EfficientNetB0", "sizes": [(224, 224), (225, 193), (97, 131)]},
    "mobilenet_v3_small": {
        "keras": "MobileNetV3Small",
        "sizes": [(224, 224), (225, 193), (97, 131)],
        "not_layers": _not_a_keras_layer("gate_shift", "gate_scale"),
    },
    "convnext_tiny": {
        "keras": "ConvNeXtTiny",
        "sizes": [(224, 224), (225, 193), (97, 131)],
        "not_layers": _not_a_keras_layer("add"),  # Keras writes inputs + x
    },
    "efficientnet_v2_b0": {
        "keras": "EfficientNetV2B0",
        "sizes": [(224, 224), (225, 193), (97, 131)],
    },
    "inception_resnet_v2": {
        "keras": "InceptionResNetV2",
        "sizes": [(299, 299), (225, 193), (97, 131)],
        # Keras fuses x + scale * r into one CustomScaleLayer: the spec's add stands for it
        "not_layers": _not_a_keras_layer("scale"),
    },
}
"""Spec -> the keras.applications constructor, its sizes (the default first), and the spec
layers Keras writes as tensor arithmetic rather than layers (``x + 3.0`` in MobileNetV3's
hard sigmoid) or fuses with the next (InceptionResNetV2's scaled residual ``x + 0.17 * r``,
one ``CustomScaleLayer``, is ``rescaling`` then ``add``)."""

CASES = [
    pytest.param(name, size, id=f"{name}-{size[0]}x{size[1]}", marks=pytest.mark.slow)
    for name, entry in APPLICATIONS.items()
    for size in entry["sizes"]
]


def _count(weights: list[Any]) -> int:
    return sum(math.prod(w.shape) for w in weights)


@pytest.fixture(scope="module")
def reference() -> Callable[[str, tuple[int, int]], Any]:
    """keras.applications models, built once per (spec, size) for the whole module."""
    built: dict[tuple[str, tuple[int, int]], Any] = {}

    def get(name: str, size: tuple[int, int]) -> Any:
        if (name, size) not in built:
            built.clear()  # one at a time: the big ones hold hundreds of MB
            keras.backend.clear_session()
            constructor = getattr(keras.applications, APPLICATIONS[name]["keras"])
            built[(name, size)] = constructor(weights=None, input_shape=(*size, 3))
        return built[(name, size)]

    return get


def _flat(layers: list[Any]) -> list[Any]:
    """Nested models (ConvNeXt's stem and downsampling are Sequential) count by their layers."""
    out = []
    for layer in layers:
        out.extend(_flat(layer.layers) if isinstance(layer, keras.Model) else [layer])
    return out


def _layers(model: Any) -> collections.Counter[tuple[Any, ...]]:
    return collections.Counter(
        (
            tuple(layer.output.shape[1:]),
            _count(layer.trainable_weights),
            _count(layer.non_trainable_weights),
        )
        for layer in _flat(model.layers)
        if not isinstance(layer, keras.layers.InputLayer)
    )


def _rows(name: str, report: archspec.Report) -> collections.Counter[tuple[Any, ...]]:
    skip = APPLICATIONS[name].get("not_layers", lambda row: False)
    return collections.Counter(
        (
            tuple(as_int(d) for d in row.output_shape),
            as_int(row.trainable_params),
            as_int(row.non_trainable_params),
        )
        for row in report.layers
        if not skip(row)
    )


@pytest.mark.parametrize(("name", "size"), CASES)
def test_spec_has_the_layers_of_the_keras_application(
    name: str, size: tuple[int, int], reference: Callable[..., Any]
) -> None:
    model = reference(name, size)
    report = archspec.analyze(SPECS / f"{name}.yaml", H=size[0], W=size[1])
    assert report.ok, report.diagnostics
    theirs, ours = _layers(model), _rows(name, report)
    missing, extra = theirs - ours, ours - theirs
    assert not missing and not extra, (
        f"Keras layers the spec lacks: {sorted(missing.items())[:8]}; "
        f"spec layers Keras lacks: {sorted(extra.items())[:8]}"
    )
    trainable = _count(model.trainable_weights)
    assert (report.totals.params, report.totals.trainable_params) == (
        model.count_params(),
        trainable,
    )
    assert tuple(model.output.shape[1:]) == report.layers[-1].output_shape


@pytest.mark.parametrize("name", sorted(APPLICATIONS))
def test_spec_is_written_for_every_size(name: str) -> None:
    """[H, W, 3], not a size baked in, and strict checking passes."""
    spec = archspec.load(SPECS / f"{name}.yaml")
    assert spec.input.shape == ["H", "W", 3]
    report = archspec.analyze(spec, strict=True)
    assert report.ok, report.diagnostics


@pytest.mark.slow
def test_efficientnet_b0_runs_at_its_smallest_valid_sizes() -> None:
    """``archspec sizes`` says every H, W >= 1 (the 'same'-style padding keeps every strided
    stage at ceil(size/2) >= 1), so there is no invalid size below the smallest ones; the
    model built once with free sizes runs at each of the three smallest, with the shape the
    engine predicts there."""
    import numpy as np

    from builders import build

    spec = archspec.load(SPECS / "efficientnet_b0.yaml")
    report = archspec.analyze(spec)
    smallest = [list(report.valid_inputs[n].first(3)) for n in ("H", "W")]
    assert smallest == [[1, 2, 3], [1, 2, 3]]
    keras.backend.clear_session()
    model = build(spec).model
    for h, w in zip(*smallest):
        out = model(np.zeros((1, h, w, 3), dtype="float32"), training=False)
        assert tuple(out.shape[1:]) == archspec.analyze(spec, H=h, W=w).layers[-1].output_shape
        probe = archspec.analyze(spec, H=h, W=w).layer("block7a.project_bn").output_shape
        assert probe[:2] == (-(-h // 32), -(-w // 32))
