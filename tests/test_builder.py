"""The builder's contract: one Keras maker per layer kind, activations and augmentations with
the lecture's meaning, None for free sizes, custom layers that save and load in a fresh
process, and ``archspec build`` that writes a model or nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import archspec
from archspec.layers import LAYER_KINDS

keras = pytest.importorskip("keras")

from builders import BuildError, Maxout, SpatialPyramidPooling, build, build_model  # noqa: E402
from builders.keras_layers import AUGMENT_KINDS, AUGMENTATIONS, KERAS_LAYERS  # noqa: E402

pytestmark = pytest.mark.keras

ROOT = Path(__file__).resolve().parent.parent


def _spec(layers: list[dict[str, Any]], shape: list[Any], **extra: Any) -> archspec.Spec:
    return archspec.from_dict(
        {"archspec": 1, "name": "t", "input": {"shape": shape}, "layers": layers, **extra}
    )


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    paths = [p for p in (os.environ.get("PYTHONPATH"), str(ROOT)) if p]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


# -- the mapping ------------------------------------------------------------------------------


def test_every_layer_kind_has_exactly_one_keras_maker() -> None:
    assert set(KERAS_LAYERS) == set(LAYER_KINDS)


def test_every_augmentation_kind_has_a_keras_layer() -> None:
    assert set(AUGMENTATIONS) == AUGMENT_KINDS


def test_keras_layer_names_are_the_spec_names() -> None:
    spec = _spec(
        [
            {
                "name": "stem",
                "type": "conv2d",
                "filters": 2,
                "kernel": 3,
                "padding": 1,
                "activation": "leaky_relu",
            },
            {"type": "conv2d", "filters": 2, "kernel": 1, "activation": "relu"},
            {"name": "out", "type": "global_avg_pool2d"},
        ],
        [8, 8, 1],
    )
    built = build(spec)
    assert built.layers == {
        "stem": ["stem.pad", "stem", "stem.act"],
        "conv2d": ["conv2d"],
        "out": ["out"],
    }
    assert [layer.name for layer in built.model.layers] == [
        "input",
        "stem.pad",
        "stem",
        "stem.act",
        "conv2d",
        "out",
    ]


def test_build_model_attaches_the_layer_mapping() -> None:
    model = build_model(
        _spec(
            [{"name": "c", "type": "conv1d", "filters": 2, "kernel": 2, "activation": "prelu"}],
            [5, 3],
        )
    )
    assert model.archspec_layers == {"c": ["c", "c.act"]}
    assert model.get_layer("c.act").count_params() == 2  # one slope per channel


ACTIVATION_CASES = [
    {"activation": "leaky_relu", "x": -2.0, "y": -0.02},
    {"activation": {"type": "leaky_relu", "alpha": 0.1}, "x": -2.0, "y": -0.2},
    {"activation": "relu6", "x": 9.0, "y": 6.0},
    {"activation": "elu", "x": -1.0, "y": float(np.expm1(-1.0))},
    {"activation": {"type": "elu", "alpha": 2.0}, "x": -1.0, "y": 2 * float(np.expm1(-1.0))},
    {"activation": "prelu", "x": -2.0, "y": 0.0},  # Keras initialises the slopes to 0
    {"activation": "linear", "x": -2.0, "y": -2.0},
]


@pytest.mark.parametrize("case", ACTIVATION_CASES, ids=lambda c: json.dumps(c["activation"]))
def test_activations_have_the_lecture_meaning(case: dict[str, Any]) -> None:
    keras.backend.clear_session()
    model = build_model(
        _spec(
            [
                {
                    "name": "d",
                    "type": "dense",
                    "units": 1,
                    "use_bias": False,
                    "activation": case["activation"],
                }
            ],
            [1],
        )
    )
    model.get_layer("d").set_weights([np.ones((1, 1), dtype="float32")])
    out = model.predict(np.array([[case["x"]]], dtype="float32"), verbose=0)
    assert out[0, 0] == pytest.approx(case["y"], abs=1e-6)


def test_leaky_relu_layer_default_is_the_lectures_slope() -> None:
    model = build_model(_spec([{"name": "act", "type": "leaky_relu"}], [3]))
    out = model.predict(np.array([[-1.0, 0.0, 2.0]], dtype="float32"), verbose=0)
    np.testing.assert_allclose(out, [[-0.01, 0.0, 2.0]], atol=1e-7)


# -- augmentation -----------------------------------------------------------------------------

EVERY_AUGMENTATION = [
    {"type": "random_flip", "mode": "horizontal_and_vertical"},
    {"type": "random_translation", "height": 0.1, "width": [-0.2, 0.1], "fill_mode": "constant"},
    {"type": "random_rotation", "factor": 0.05},
    {"type": "random_zoom", "height": 0.1},
    {"type": "random_shear", "x_factor": 0.1},
    {"type": "random_contrast", "factor": 0.2},
    {"type": "random_brightness", "factor": 0.1},
    {"type": "random_hue", "factor": 0.1},
    {"type": "random_saturation", "factor": 0.2},
    {"type": "random_gaussian_blur", "factor": 0.5},
    {"type": "random_erasing", "factor": 0.5},
    {"type": "gaussian_noise", "stddev": 0.1},
]


def test_augmentation_is_random_in_training_and_inert_at_inference() -> None:
    assert {a["type"] for a in EVERY_AUGMENTATION} | {"random_crop"} == AUGMENT_KINDS
    spec = _spec(
        [{"name": "pool", "type": "global_avg_pool2d"}], [12, 12, 3], augment=EVERY_AUGMENTATION
    )
    model = build_model(spec)
    names = [layer.name for layer in model.layers[1 : len(EVERY_AUGMENTATION) + 1]]
    assert names == [f"augment.{i}" for i in range(len(EVERY_AUGMENTATION))]
    images = np.random.default_rng(0).random((4, 12, 12, 3), dtype="float32")
    inference = np.asarray(model(images, training=False))
    np.testing.assert_allclose(inference, images.mean(axis=(1, 2)), atol=1e-6)
    training = np.asarray(model(images, training=True))
    assert not np.allclose(training, inference)


def test_random_crop_crops_to_what_the_engine_says() -> None:
    spec = _spec(
        [{"name": "conv", "type": "conv2d", "filters": 2, "kernel": 3}],
        ["H", "W", 1],
        augment=[{"type": "random_crop", "height": 10, "width": 8, "name": "crop"}],
    )
    built = build(spec)
    assert built.model.get_layer("augment.crop").output.shape[1:3] == (10, 8)
    assert built.report.layer("conv").output_shape == (8, 6, 2)
    assert tuple(built.model.get_layer("conv").output.shape[1:]) == (8, 6, 2)


# -- sizes, refusals, precision ---------------------------------------------------------------

FLATTEN_DENSE = [
    {"name": "conv", "type": "conv2d", "filters": 2, "kernel": 3},
    {"name": "flat", "type": "flatten"},
    {"name": "fc", "type": "dense", "units": 3},
]


def test_dense_after_flatten_needs_concrete_sizes() -> None:
    spec = _spec(FLATTEN_DENSE, ["H", "W", 1])
    with pytest.raises(BuildError, match=r"'fc'.*--input H=3,W=3"):
        build_model(spec)
    model = build_model(spec, H=5, W=6)
    assert tuple(model.output.shape) == (None, 3)
    assert model.get_layer("flat").output.shape == (None, 24)


def test_free_sizes_build_as_none() -> None:
    spec = _spec([*FLATTEN_DENSE[:1], {"name": "gap", "type": "global_max_pool2d"}], ["H", "W", 1])
    model = build_model(spec)
    assert tuple(model.input.shape) == (None, None, None, 1)
    assert tuple(model.get_layer("conv").output.shape) == (None, None, None, 2)
    assert model.predict(np.zeros((1, 9, 5, 1)), verbose=0).shape == (1, 2)
    model = build_model(spec, {"H": 9})
    assert tuple(model.get_layer("conv").output.shape) == (None, 7, None, 2)


def test_invalid_spec_is_refused_with_the_checkers_diagnostics() -> None:
    spec = _spec([{"name": "conv", "type": "conv2d", "filters": 2, "kernel": 9}], [5, 5, 1])
    with pytest.raises(archspec.SpecError) as caught:
        build_model(spec)
    assert any(d.code == "output-size" for d in caught.value.diagnostics)


def test_reshape_with_free_sizes_is_refused_clearly() -> None:
    spec = _spec([{"name": "r", "type": "reshape", "shape": ["H", 2]}], ["H", 2])
    with pytest.raises(BuildError, match=r"'r'.*concrete"):
        build_model(spec)
    assert build_model(spec, H=3).output.shape == (None, 3, 2)


def test_layers_that_miss_the_output_are_left_out() -> None:
    spec = _spec(
        [
            {"name": "side", "type": "flatten"},
            {"name": "side_fc", "type": "dense", "units": 2},
            {"name": "main", "type": "conv1d", "filters": 3, "kernel": 1, "inputs": ["input"]},
        ],
        ["L", 1],
    )
    built = build(spec)  # side_fc's weights depend on L, but it never reaches the output
    assert set(built.layers) == {"main"}


def test_mixed_precision_keeps_the_output_in_float32() -> None:
    spec = _spec(
        [
            {"name": "conv", "type": "conv2d", "filters": 2, "kernel": 3},
            {"name": "gap", "type": "global_avg_pool2d"},
            {"name": "out", "type": "dense", "units": 3, "activation": "softmax"},
        ],
        [8, 8, 1],
    )
    model = build_model(spec, mixed_precision=True)
    assert model.get_layer("conv").compute_dtype == "float16"
    assert model.get_layer("conv").variable_dtype == "float32"
    assert model.archspec_layers["out"] == ["out", "out.act"]
    assert model.get_layer("out.act").compute_dtype == "float32"
    assert model.output.dtype == "float32"
    pooled = build_model(
        _spec(spec.model_dump()["layers"][:2], [8, 8, 1], augment=[{"type": "random_flip"}]),
        mixed_precision=True,
    )
    assert pooled.get_layer("augment.0").compute_dtype == "float32"
    assert pooled.archspec_layers["gap"] == ["gap", "gap.float32"]
    assert pooled.output.dtype == "float32"


# -- custom layers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "layer",
    [
        Maxout(4, 3),
        Maxout(2, 2, kernel_size=(3, 2), strides=(2, 1), padding=((1, 0), (2, 2))),
        SpatialPyramidPooling([1, 2, 4], "avg"),
    ],
    ids=["maxout-dense", "maxout-conv", "spp"],
)
def test_custom_layer_config_round_trips(layer: Any) -> None:
    config = layer.get_config()
    again = type(layer).from_config(json.loads(json.dumps(config)))
    assert again.get_config() == config


def test_spp_matches_pooling_by_hand_for_any_size() -> None:
    layer = SpatialPyramidPooling([1, 2, 3], "max")
    images = np.random.default_rng(1).random((2, 7, 5, 3), dtype="float32")
    expected = []
    for level in (1, 2, 3):
        for i in range(level):
            rows = slice(i * 7 // level, -(-(i + 1) * 7 // level))
            for j in range(level):
                cols = slice(j * 5 // level, -(-(j + 1) * 5 // level))
                expected.append(images[:, rows, cols, :].max(axis=(1, 2)))
    np.testing.assert_allclose(np.asarray(layer(images)), np.concatenate(expected, -1))


def test_maxout_is_the_max_over_its_pieces() -> None:
    layer = Maxout(2, 3)
    x = np.random.default_rng(2).random((5, 4), dtype="float32")
    y = np.asarray(layer(x))
    kernel, bias = (np.asarray(w) for w in layer.weights)
    pieces = (x @ kernel + bias).reshape(5, 2, 3)
    # float32 sums in another order (TensorFlow's kernels differ by CPU): a few ulps apart
    np.testing.assert_allclose(y, pieces.max(axis=-1), rtol=1e-5, atol=1e-7)


SAVED_SPEC = {
    "archspec": 1,
    "name": "saved",
    "input": {"shape": ["H", "W", 3]},
    "layers": [
        {"name": "pad", "type": "zero_padding2d", "padding": "same", "kernel": 3, "strides": 2},
        {"name": "mx", "type": "maxout", "filters": 4, "kernel": 3, "padding": [1, [0, 1]]},
        {"name": "scale", "type": "layer_scale", "init": 0.5},
        {"name": "drop_path", "type": "stochastic_depth", "rate": 0.2},
        {"name": "bn", "type": "batch_norm"},
        {"name": "spp", "type": "spp", "levels": [1, 2]},
        {"name": "fc", "type": "maxout", "units": 5, "pieces": 3},
        {"name": "out", "type": "dense", "units": 3, "activation": "prelu"},
    ],
    "augment": [
        {"type": "random_flip"},
        {"type": "random_rotation", "factor": 0.1},
        {"type": "random_contrast", "factor": 0.2},
    ],
}

LOAD_AND_PREDICT = """
import sys
import numpy as np
import keras
import builders  # registers the custom layers
model = keras.saving.load_model(sys.argv[1], safe_mode=True)
np.save(sys.argv[3], model.predict(np.load(sys.argv[2]), verbose=0))
print(",".join(layer.__class__.__name__ for layer in model.layers))
"""


def test_saved_model_loads_safely_in_a_fresh_process(tmp_path: Path) -> None:
    model = build_model(archspec.from_dict(SAVED_SPEC))
    images = np.random.default_rng(3).random((2, 11, 9, 3), dtype="float32")
    before = model.predict(images, verbose=0)
    model.save(tmp_path / "model.keras")
    np.save(tmp_path / "x.npy", images)
    done = _run(
        "-c",
        LOAD_AND_PREDICT,
        str(tmp_path / "model.keras"),
        str(tmp_path / "x.npy"),
        str(tmp_path / "y.npy"),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Maxout" in done.stdout and "SpatialPyramidPooling" in done.stdout
    for custom in ("SamePadding", "LayerScale", "StochasticDepth"):
        assert custom in done.stdout
    assert "RandomRotation" in done.stdout
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), before, rtol=1e-5, atol=1e-6)


# -- archspec build ---------------------------------------------------------------------------

BAD_SPEC = """\
archspec: 1
name: bad
input: {shape: [5, 5, 1]}
layers:
  - {name: conv, type: conv2d, filters: 2, kernel: 7}
"""


def test_build_command_refuses_an_invalid_spec_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD_SPEC)
    done = _run("-m", "archspec", "build", "bad.yaml", "-o", "model.keras", cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "bad.yaml" in done.stderr and "[output-size]" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml"]


def test_build_command_writes_a_model(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from archspec.cli import cli

    spec = tmp_path / "net.yaml"
    spec.write_text(archspec.dump(_spec(FLATTEN_DENSE, ["H", "W", 1])))
    runner = CliRunner()
    refused = runner.invoke(cli, ["build", str(spec), "-o", str(tmp_path / "m.keras")])
    assert refused.exit_code == 1
    assert "--input H=3,W=3" in refused.stderr
    done = runner.invoke(
        cli,
        ["build", str(spec), "-o", str(tmp_path / "m.keras"), "--input", "H=6,W=7", "--summary"],
    )
    assert done.exit_code == 0, done.output
    assert "fc (Dense)" in done.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras", "net.yaml"]
    umask = os.umask(0o022)
    os.umask(umask)
    assert (tmp_path / "m.keras").stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600
    model = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert model.get_layer("flat").output.shape == (None, 40)


def test_build_command_never_leaves_a_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from archspec.cli import cli

    spec = tmp_path / "net.yaml"
    spec.write_text(archspec.dump(_spec(FLATTEN_DENSE, [6, 6, 1])))
    (tmp_path / "m.keras").write_text("the previous model")

    def interrupted(self: Any, path: str, *args: Any, **kwargs: Any) -> None:
        Path(path).write_text("half a model")
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save", interrupted)
    done = CliRunner().invoke(cli, ["build", str(spec), "-o", str(tmp_path / "m.keras")])
    assert done.exit_code != 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras", "net.yaml"]
    assert (tmp_path / "m.keras").read_text() == "the previous model"
