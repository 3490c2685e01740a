"""The example specs against numbers nobody here wrote: published parameter counts and Keras.

A spec that checks is not yet a correct spec; these tests tie the classic networks to the
counts their authors or Keras Applications publish, and every spec to what Keras itself counts
once built, so a wrong rule in the engine or a slip in a spec cannot pass unnoticed.
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

import archspec
from archspec.cli import cli
from archspec.symbols import as_int

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
SPEC_FILES = sorted(SPECS.glob("*.yaml"))

PUBLISHED_TOTAL = {
    "vgg16": 138_357_544,  # keras.applications.VGG16, include_top=True
    "resnet50": 25_636_712,  # keras.applications.ResNet50
    "resnet152": 60_419_944,  # keras.applications.ResNet152
    "mobilenet_v2": 3_538_984,  # keras.applications.MobileNetV2, alpha 1.0, 224
}
"""Keras Applications' counts, trainable and non-trainable together, as ``count_params()``."""

PUBLISHED_TRAINABLE = {
    "resnet18": 11_689_512,  # torchvision resnet18; its batch-norm statistics are buffers
    "alexnet": 60_965_224,  # Caffe's bvlc_alexnet, two-GPU grouping included
}
"""Counts from frameworks that do not count batch-norm statistics as parameters."""

SIZES = {
    "unet": {"H": 64, "W": 64, "C": 1},
    "spp_net": {"H": 224, "W": 224},
    "dilated_net": {"H": 96, "W": 96},
}
"""Where a spec's input is symbolic, the size Keras builds it at."""


def spec_ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def test_check_passes_on_every_spec() -> None:
    result = CliRunner().invoke(cli, ["check", str(SPECS)])
    assert result.exit_code == 0, result.output


def test_every_spec_opens_with_its_source() -> None:
    """The header comment is the user's first answer to "where does this network come from"."""
    for path in SPEC_FILES:
        first = path.read_text().splitlines()[0]
        assert first.startswith("# "), f"{path.name} does not open with a comment"


@pytest.mark.parametrize("path", SPEC_FILES, ids=spec_ids(SPEC_FILES))
def test_spec_checks_without_warnings(path: Path) -> None:
    """Notes (a pointwise Dense, sizes that tile only for some inputs) are information."""
    report = archspec.analyze(path)
    assert [d.code for d in report.diagnostics if d.severity.value != "note"] == []


@pytest.mark.parametrize("name", sorted(PUBLISHED_TOTAL))
def test_published_total(name: str) -> None:
    totals = archspec.analyze(SPECS / f"{name}.yaml").totals
    assert totals.params == PUBLISHED_TOTAL[name]


@pytest.mark.parametrize("name", sorted(PUBLISHED_TRAINABLE))
def test_published_trainable(name: str) -> None:
    totals = archspec.analyze(SPECS / f"{name}.yaml").totals
    assert totals.trainable_params == PUBLISHED_TRAINABLE[name]


PUBLISHED_FIELD = {
    "alexnet": 195,
    "vgg16": 212,
    "resnet50": 483,
    "resnet152": 1507,
    "mobilenet_v2": 491,
}
"""Receptive fields of the last spatial layer, from Araujo, Norris & Sim, "Computing receptive
fields of convolutional neural networks", Distill 2019 (their table of ImageNet models)."""


@pytest.mark.parametrize("name", sorted(PUBLISHED_FIELD))
def test_published_receptive_field(name: str) -> None:
    from archspec.render import last_spatial_field

    row = last_spatial_field(archspec.analyze(SPECS / f"{name}.yaml"))
    assert row is not None and row.receptive_field is not None
    assert [as_int(a.size) for a in row.receptive_field] == [PUBLISHED_FIELD[name]] * 2


def test_resnet_stages_repeat_as_published() -> None:
    """ResNet-50 and -152 differ only in how often the identity block repeats (3-4-6-3 and
    3-8-36-3), which the layer counts must show: 516 layers, one fewer than Keras's model
    (its count includes the input layer)."""
    for name, blocks in (("resnet50", (3, 4, 6, 3)), ("resnet152", (3, 8, 36, 3))):
        report = archspec.analyze(SPECS / f"{name}.yaml")
        adds = [row for row in report.layers if row.type == "add"]
        assert len(adds) == sum(blocks)
    assert len(archspec.analyze(SPECS / "resnet152.yaml").layers) == 516


def test_unet_accepts_multiples_of_16() -> None:
    report = archspec.analyze(SPECS / "unet.yaml")
    assert report.ok
    assert report.valid_inputs["H"].describe("H") == "H = 16k, k >= 1"
    assert report.valid_inputs["W"].describe("W") == "W = 16k, k >= 1"


def test_spp_net_accepts_any_size_from_its_minimum() -> None:
    """conv5 must still cover the finest (6x6) grid; four 'same' layers of stride 2 make it
    ceil(H/16) wide, so ceil(H/16) >= 6, that is H >= 81, and every such size yields the same
    12,800 features for fc6."""
    report = archspec.analyze(SPECS / "spp_net.yaml")
    assert report.ok
    assert report.valid_inputs["H"].describe("H") == "H >= 81"
    assert report.valid_inputs["W"].describe("W") == "W >= 81"
    at_min, at_large = report.at(H=81, W=81), report.at(H=600, W=800)
    assert at_min.layer("spp").output_shape == at_large.layer("spp").output_shape == (12_800,)
    assert at_min.totals.params == at_large.totals.params == report.totals.params
    with pytest.raises(ValueError, match="H >= 81"):
        report.at(H=80, W=81)


def test_dilated_context_module_field() -> None:
    """Yu & Koltun's table 1: receptive fields 3, 5, 9, 17, 33, 65, 67, 67."""
    report = archspec.analyze(SPECS / "dilated_net.yaml")
    fields = [as_int(row.receptive_field[0].size) for row in report.layers]
    assert fields == [3, 5, 9, 17, 33, 65, 67, 67]
    assert report.valid_inputs["H"].describe("H") == "H >= 67"


def test_sequence_model_sees_its_whole_input() -> None:
    report = archspec.analyze(SPECS / "conv1d_sequence.yaml")
    assert as_int(report.layer("level8.out").receptive_field[0].size) == 3061


def _builder():  # type: ignore[no-untyped-def]
    try:
        return importlib.import_module("builders.model")
    except ImportError as exc:
        pytest.skip(f"builders.model is not importable: {exc}")


@pytest.mark.keras
@pytest.mark.parametrize("path", SPEC_FILES, ids=spec_ids(SPEC_FILES))
def test_engine_totals_equal_keras(path: Path) -> None:
    """One build per spec: the engine's totals, split as Keras splits them."""
    model_module = _builder()
    import keras

    spec = archspec.load(path)
    sizes = SIZES.get(spec.name, {})
    totals = archspec.analyze(spec, sizes).totals
    keras.backend.clear_session()
    model = model_module.build_model(spec, sizes)
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    assert (totals.params, totals.trainable_params) == (model.count_params(), trainable)


APPLICATIONS = {
    "vgg16": "VGG16",
    "resnet50": "ResNet50",
    "resnet152": "ResNet152",
    "mobilenet_v2": "MobileNetV2",
}


@pytest.mark.keras
@pytest.mark.parametrize("name", sorted(APPLICATIONS))
def test_same_layers_as_keras_application(name: str) -> None:
    """Equal totals could hide two compensating slips; equal weighted layers (output shape and
    parameter split of each) cannot. Compared as multisets, since the two graphs may list
    parallel branches in different orders. Built directly from keras.applications, so this
    holds whatever the builder does."""
    import collections

    import keras

    keras.backend.clear_session()
    model = getattr(keras.applications, APPLICATIONS[name])(weights=None)
    theirs = collections.Counter(
        (
            tuple(layer.output.shape[1:]),
            sum(math.prod(w.shape) for w in layer.trainable_weights),
            sum(math.prod(w.shape) for w in layer.non_trainable_weights),
        )
        for layer in model.layers
        if layer.weights
    )
    report = archspec.analyze(SPECS / f"{name}.yaml")
    ours = collections.Counter(
        (tuple(row.output_shape), row.trainable_params, row.non_trainable_params)
        for row in report.layers
        if row.params
    )
    assert ours == theirs
    assert tuple(model.output.shape[1:]) == report.layers[-1].output_shape


# -- minimal cases of the checker's false warnings (FALSE_WARNINGS above) ----------------------


def _warnings(layers: list[dict], shape: list[int]) -> list[str]:
    spec = archspec.from_dict(
        {"archspec": 1, "name": "case", "input": {"shape": shape}, "layers": layers}
    )
    report = archspec.analyze(spec)
    assert report.ok
    return [d.code for d in report.diagnostics]


def test_padding_in_the_conv_is_not_a_dropped_pixel() -> None:
    """The same arithmetic with the padding inside the layer: no warning (the reference)."""
    stem = [{"type": "conv2d", "filters": 1, "kernel": 7, "strides": 2, "padding": 3}]
    assert _warnings(stem, [224, 224, 1]) == []


def test_padding_layer_pixels_are_not_dropped_image_pixels() -> None:
    """Keras's ResNet stem: 224 + 3 + 3 = 230 under a 7x7/2 window reaches 228; the pixel left
    over is the last padding column, not the image, so nothing is lost."""
    stem = [
        {"type": "zero_padding2d", "padding": 3},
        {"type": "conv2d", "filters": 1, "kernel": 7, "strides": 2},
    ]
    assert _warnings(stem, [224, 224, 1]) == []


def test_upsampled_map_aligns_with_the_map_before_pooling() -> None:
    """2x2 pooling then 2x upsampling: output pixel j comes from pooled pixel j//2, centred on
    input 2*(j//2) + 1/2, so on average (the affine field the recurrences track) on j, like the
    map before pooling. Upsampling by u must shift the centre by -(u - 1)/2 output jumps; the
    engine keeps it, and warns on every U-Net skip."""
    skip = [
        {"name": "a", "type": "conv2d", "filters": 1, "kernel": 1},
        {"type": "max_pool2d", "pool": 2},
        {"name": "up", "type": "upsampling2d", "size": 2},
        {"type": "concatenate", "inputs": ["a", "up"]},
    ]
    assert _warnings(skip, [16, 16, 1]) == []


def test_causal_residual_is_aligned() -> None:
    """x[t] + conv(x)[t] with causal padding: both end at step t, which is what causality
    means; the conv's centre lies (k - 1)/2 steps back by design (WaveNet, TCN)."""
    residual = [
        {"name": "c", "type": "conv1d", "filters": 1, "kernel": 3, "padding": "causal"},
        {"type": "add", "inputs": ["input", "c"]},
    ]
    assert _warnings(residual, [32, 1]) == []
