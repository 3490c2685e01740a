"""``archspec import``: converters one Keras class at a time, small graphs end to end, refusals,
stable output, and the round trip over every ``keras.applications`` constructor."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

import archspec
from archspec.layers import LAYER_KINDS

keras = pytest.importorskip("keras")

from builders import build, import_model  # noqa: E402
from builders.importer import ImportRefused, convert_model, write_spec  # noqa: E402
from builders.importer.converters import CONVERTERS, Unliftable, convert_layer  # noqa: E402
from builders.importer.roundtrip import (  # noqa: E402
    compare_outputs,
    compare_report,
    layer_multiset,
)
from builders.importer.sources import application_names  # noqa: E402
from builders.model import build_from_report  # noqa: E402

pytestmark = pytest.mark.keras
L = keras.layers
ROOT = Path(__file__).resolve().parent.parent


def _convert(layer: Any, shape: tuple[int, ...] = (8, 8, 4)) -> dict[str, Any]:
    layer(keras.Input(shape))
    return convert_layer(layer)


CASES = [
    (L.Conv2D(8, 3), {"type": "conv2d", "filters": 8, "kernel": 3}),
    (
        L.Conv2D(8, (3, 1), strides=2, padding="same", use_bias=False, activation="relu"),
        {
            "type": "conv2d",
            "filters": 8,
            "kernel": [3, 1],
            "strides": 2,
            "padding": "same",
            "use_bias": False,
            "activation": "relu",
        },
    ),
    (L.DepthwiseConv2D(3, depth_multiplier=2), {"type": "depthwise_conv2d", "kernel": 3,
                                                 "depth_multiplier": 2}),
    (L.SeparableConv2D(6, 3, padding="same"), {"type": "separable_conv2d", "filters": 6,
                                               "kernel": 3, "padding": "same"}),
    (L.Conv2DTranspose(3, 2, strides=2), {"type": "conv2d_transpose", "filters": 3, "kernel": 2,
                                          "strides": 2}),
    (L.MaxPooling2D(3, strides=2), {"type": "max_pool2d", "pool": 3, "strides": 2}),
    (L.AveragePooling2D(2), {"type": "avg_pool2d"}),
    (L.GlobalAveragePooling2D(keepdims=True), {"type": "global_avg_pool2d", "keepdims": True}),
    (L.ZeroPadding2D(((0, 1), (0, 1))), {"type": "zero_padding2d", "padding": [[0, 1], [0, 1]]}),
    (L.ZeroPadding2D(3), {"type": "zero_padding2d", "padding": 3}),
    (L.Cropping2D(((1, 1), (2, 2))), {"type": "cropping2d", "cropping": [1, 2]}),
    (L.BatchNormalization(epsilon=1.001e-5), {"type": "batch_norm", "epsilon": 1.001e-5}),
    (L.LayerNormalization(epsilon=1e-6), {"type": "layer_norm", "epsilon": 1e-6}),
    (L.ReLU(6.0), {"type": "relu6"}),
    (L.ReLU(), {"type": "relu"}),
    (L.LeakyReLU(), {"type": "leaky_relu", "alpha": 0.3}),
    (L.Activation("swish"), {"type": "activation", "activation": "silu"}),
    (L.Softmax(), {"type": "softmax"}),
    (L.Dense(5, activation="softmax"), {"type": "dense", "units": 5, "activation": "softmax"}),
    (L.Dropout(0.2), {"type": "dropout", "rate": 0.2}),
    (L.Dropout(0.2, noise_shape=(None, 1, 1, 1)), {"type": "dropout", "rate": 0.2,
                                                   "noise_shape": [1, 1, 1]}),
    (L.Rescaling(1 / 255), {"type": "rescaling", "scale": 1 / 255}),
    (L.Normalization(), {"type": "normalization"}),
    (L.Activation("hard_silu"), {"type": "activation", "activation": "hard_silu"}),
    (L.Flatten(), {"type": "flatten"}),
    (L.Reshape((1, 1, 256)), {"type": "reshape", "shape": [1, 1, 256]}),
    (L.UpSampling2D(2, interpolation="bilinear"), {"type": "upsampling2d",
                                                   "interpolation": "bilinear"}),
]  # fmt: skip


@pytest.mark.parametrize(("layer", "expected"), CASES, ids=lambda c: getattr(c, "name", ""))
def test_converter_writes_what_a_person_would(layer: Any, expected: dict[str, Any]) -> None:
    assert _convert(layer) == expected
    LAYER_KINDS[expected["type"]].model_validate({**expected, "name": "x"})


@pytest.mark.parametrize(
    ("layer", "word"),
    [
        (L.Conv2D(8, 3, kernel_regularizer="l2"), "kernel_regularizer"),
        (L.BatchNormalization(axis=1), "axis"),
        (L.Dense(4, activation="exponential"), "exponential"),
        (L.Lambda(lambda x: x * 2), "Lambda"),
    ],
    ids=["regularizer", "bn-axis", "activation", "lambda"],
)
def test_what_no_spec_field_holds_is_refused_by_name(layer: Any, word: str) -> None:
    with pytest.raises(Unliftable, match=word):
        _convert(layer)


def test_every_converter_is_a_keras_class_and_writes_a_spec_kind() -> None:
    from keras.src.applications import convnext, inception_resnet_v2

    for cls in CONVERTERS:
        assert any(hasattr(m, cls) for m in (L, convnext, inception_resnet_v2)), cls


def _scaled_residual(scale: float) -> Any:
    """InceptionResNetV2's ``x + scale * r`` in a small graph."""
    from keras.src.applications.inception_resnet_v2 import CustomScaleLayer

    x = keras.Input((6, 6, 4), name="image")
    r = L.Conv2D(4, 3, padding="same", name="branch")(x)
    y = CustomScaleLayer(scale, name="mix")([x, r])
    return keras.Model(x, L.Conv2D(2, 1, name="head")(y))


def test_one_keras_layer_becomes_a_chain_named_after_it() -> None:
    """The helper comes first under ``<name>_scale``; the add keeps the Keras name, so it is
    the row compared with the Keras layer, and both models agree numerically."""
    model = _scaled_residual(0.17)
    imported = convert_model(model)
    assert imported.problems == []
    layers = imported.document["layers"]
    assert layers[1:3] == [
        {"name": "mix_scale", "type": "rescaling", "scale": 0.17},
        {"name": "mix", "type": "add", "inputs": ["input", "mix_scale"]},
    ]
    assert list(imported.helpers) == ["mix_scale"] and "'mix'" in imported.helpers["mix_scale"]
    report = archspec.analyze(imported.spec())
    assert compare_report(imported, report) == []
    built = build_from_report(imported.spec(), report)
    assert compare_outputs(imported, built.model, built.layers, model) == []
    imported.helpers.clear()  # unexplained, the extra row is a difference
    assert compare_report(imported, report) == [
        "mix_scale: in the report, but no Keras layer and not a helper step"
    ]


def test_a_residual_scaled_by_one_is_the_add_alone() -> None:
    imported = convert_model(_scaled_residual(1.0))
    assert [e["type"] for e in imported.document["layers"]] == ["conv2d", "add", "conv2d"]
    assert imported.helpers == {}


def _small_graph() -> Any:
    """Residual and concatenating branches, a nested Sequential and a raw ``x + y``."""
    x = keras.Input((16, 16, 3), name="image")
    stem = keras.Sequential([L.Conv2D(8, 3, padding="same", name="stem.conv"), L.ReLU(name="r")])
    a = stem(x)
    b = L.Conv2D(8, 1, name="branch")(a)
    c = L.Add(name="sum")([a, b])
    d = L.Concatenate(name="cat")([c, a])
    e = L.Conv2D(8, 1, name="squeeze")(d)
    f = e + c
    g = L.GlobalAveragePooling2D(name="gap")(f)
    out = L.Dense(3, activation="softmax", name="input")(g)
    return keras.Model(x, out, name="small net")


def test_small_graph_round_trips_layer_by_layer_and_numerically() -> None:
    model = _small_graph()
    imported = convert_model(model)
    assert imported.problems == []
    spec = archspec.loads(write_spec(imported.document))
    assert spec == imported.spec()
    names = [layer.name for layer in spec.layers]
    assert "stem_conv" in names and "input_" in names  # "." and the reserved name replaced
    report = archspec.analyze(spec)
    assert report.ok
    assert compare_report(imported, report) == []
    built = build(spec)
    assert compare_outputs(imported, built.model, built.layers, model) == []


def test_keras_leaky_relu_keeps_its_slope() -> None:
    """Keras's ``activation="leaky_relu"`` slopes 0.2; the spec's plain name means 0.01."""
    inputs = keras.Input((5,))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="leaky_relu", name="d")(inputs))
    imported = convert_model(model)
    assert imported.problems == []
    spec = archspec.loads(write_spec(imported.document))
    built = build(spec)
    assert compare_outputs(imported, built.model, built.layers, model) == []


def test_inputs_are_written_only_where_a_layer_does_not_read_the_previous_one() -> None:
    imported = convert_model(_small_graph())
    with_inputs = {e["name"]: e["inputs"] for e in imported.document["layers"] if "inputs" in e}
    raw_add = [n for n in with_inputs if n not in ("sum", "cat")]  # Keras numbers its name
    assert len(raw_add) == 1
    assert with_inputs == {
        "sum": ["r", "branch"],
        "cat": ["sum", "r"],
        raw_add[0]: ["squeeze", "sum"],
    }


def test_a_wrong_converter_is_caught_by_the_round_trip(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks can fail: a converter dropping the strides shows in shapes and outputs."""
    import builders.importer.converters as conv

    real = conv.CONVERTERS["Conv2D"]

    def forgetful(c: Any) -> dict[str, Any]:
        out = real(c)
        out.pop("strides", None)
        return out

    monkeypatch.setitem(conv.CONVERTERS, "Conv2D", forgetful)
    x = keras.Input((8, 8, 1))
    model = keras.Model(x, L.Conv2D(2, 3, strides=2, name="c")(x))
    imported = convert_model(model)
    report = archspec.analyze(imported.spec())
    assert any("c: Keras output (3, 3, 2)" in d for d in compare_report(imported, report))


def test_a_converter_losing_an_activation_is_caught_by_the_outputs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Shapes and counts cannot see a dropped activation; the forward pass must."""
    import builders.importer.converters as conv

    real = conv.CONVERTERS["Conv2D"]

    def linear(c: Any) -> dict[str, Any]:
        out = real(c)
        out.pop("activation", None)
        return out

    monkeypatch.setitem(conv.CONVERTERS, "Conv2D", linear)
    x = keras.Input((8, 8, 2))
    y = L.Conv2D(4, 3, activation="relu", name="c")(x)
    model = keras.Model(x, L.Dense(3, name="d")(L.Flatten(name="f")(y)))
    imported = convert_model(model)
    report = archspec.analyze(imported.spec())
    assert compare_report(imported, report) == []
    built = build_from_report(imported.spec(), report)
    differences = compare_outputs(imported, built.model, built.layers, model)
    assert len(differences) == 1 and differences[0].startswith("outputs differ"), differences


def test_import_model_raises_with_every_unliftable_layer() -> None:
    x = keras.Input((4,))
    y = L.Lambda(lambda t: t + 1, name="plus_one")(x)
    z = L.Dense(2, kernel_constraint="non_neg", name="positive")(y)
    with pytest.raises(ImportRefused) as info:
        import_model(keras.Model(x, z))
    found = {(p.name, p.cls) for p in info.value.problems}
    assert found == {("plus_one", "Lambda"), ("positive", "Dense")}


def test_partial_import_marks_every_stand_in() -> None:
    x = keras.Input((4, 4, 2))
    y = L.Lambda(lambda t: t * 2, name="double")(x)
    z = L.Conv2D(3, 1, name="mix")(y)
    imported = convert_model(keras.Model(x, z), partial=True)
    assert [p.name for p in imported.problems] == ["double"]
    comments = {n: f"stand-in for {p.cls} {p.name!r}" for n, p in imported.standins.items()}
    text = write_spec(imported.document, comments=comments)
    assert "# stand-in for Lambda 'double'" in text
    assert archspec.analyze(archspec.loads(text)).ok


def test_efficientnet_b0_with_blocks_is_short_and_strictly_valid(tmp_path: Path) -> None:
    out = tmp_path / "e.yaml"
    done = _run("import", "EfficientNetB0", "--blocks", "-o", str(out), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert out.read_text().count("\n") < 150
    assert "blocks:" in out.read_text() and "type: block" in out.read_text()
    report = archspec.analyze(archspec.load(out))
    assert report.totals.params == 5_330_571
    check = _run("check", "--strict", str(out), cwd=ROOT)
    assert check.returncode == 0, check.stdout + check.stderr


def test_free_sizes_answer_which_inputs_the_network_takes() -> None:
    x = keras.Input((32, 32, 3))
    y = L.Conv2D(4, 3, strides=2, name="c1")(x)
    y = L.MaxPooling2D(2, name="p1")(y)
    imported = convert_model(keras.Model(x, y), free=["H", "W"])
    assert imported.document["input"] == {"shape": ["H", "W", 3]}
    report = archspec.analyze(imported.spec())
    assert report.valid_inputs["H"].minimum == 5  # floor((H-3)/2)+1 >= 2


def test_writer_quotes_what_yaml_would_misread() -> None:
    document = {
        "archspec": 1,
        "name": "yes",
        "input": {"shape": [8, 3]},
        "layers": [
            {"name": "null", "type": "dense", "units": 2},
            {"name": "on", "type": "dropout", "rate": 1e-05},
        ],
    }
    assert archspec.loads(write_spec(document)) == archspec.from_dict(document)


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "archspec", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_a_lambda_file_is_refused_by_name_and_never_deserialised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x = keras.Input((4,))
    y = L.Lambda(lambda t: t * 3, name="triple")(x)
    keras.Model(x, L.Dense(2, name="head")(y)).save(tmp_path / "m.keras")
    loads: list[Any] = []
    monkeypatch.setattr(keras.saving, "load_model", lambda *a, **k: loads.append(k))
    from builders.importer.command import import_command

    result = CliRunner().invoke(import_command, [str(tmp_path / "m.keras"), "-o", "s.yaml"])
    assert result.exit_code == 1
    assert "triple (Lambda)" in result.output
    assert "Traceback" not in result.output
    assert loads == []
    assert not (tmp_path / "s.yaml").exists() and not Path("s.yaml").exists()


def test_a_saved_model_imports_through_safe_mode(tmp_path: Path) -> None:
    model = _small_graph()
    model.save(tmp_path / "m.keras")
    done = _run("import", str(tmp_path / "m.keras"), "-o", str(tmp_path / "s.yaml"), cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert archspec.analyze(archspec.load(tmp_path / "s.yaml")).ok


def test_import_is_byte_stable_and_checks_strictly(tmp_path: Path) -> None:
    texts = []
    for i in range(2):
        out = tmp_path / f"m{i}.yaml"
        done = _run("import", "MobileNet", "-o", str(out), cwd=ROOT)
        assert done.returncode == 0, done.stderr
        texts.append(out.read_bytes())
    assert texts[0] == texts[1]
    check = _run("check", "--strict", str(tmp_path / "m0.yaml"), cwd=ROOT)
    assert check.returncode == 0, check.stdout + check.stderr


def test_bad_sources_are_one_line(tmp_path: Path) -> None:
    for source in ("ResNet5O", str(tmp_path / "missing.keras")):
        done = _run("import", source, "-o", str(tmp_path / "s.yaml"), cwd=ROOT)
        assert done.returncode == 1
        assert "Traceback" not in done.stderr
        ours = [line for line in done.stderr.splitlines() if line.startswith("error:")]
        assert len(ours) == 1 and done.stderr.rstrip().endswith(ours[0]), done.stderr
    assert not (tmp_path / "s.yaml").exists()


# --------------------------------------------------------------------------- keras.applications

NOT_IMPORTABLE: dict[str, str] = {}
"""Constructors the importer refuses, and the class it names as the reason (none now)."""

SLOW = {
    "ConvNeXtBase",
    "ConvNeXtLarge",
    "ConvNeXtSmall",
    "ConvNeXtXLarge",
    "EfficientNetB4",
    "EfficientNetB5",
    "EfficientNetB6",
    "EfficientNetB7",
    "EfficientNetV2L",
    "EfficientNetV2M",
    "EfficientNetV2S",
    "InceptionResNetV2",
    "NASNetLarge",
    "ResNet101",
    "ResNet101V2",
    "ResNet152",
    "ResNet152V2",
    "VGG16",
    "VGG19",
    "DenseNet169",
    "DenseNet201",
}


def _applications() -> list[Any]:
    return [
        pytest.param(name, marks=[pytest.mark.slow] if name in SLOW else [])
        for name in application_names()
    ]


@pytest.fixture
def fresh_session() -> Any:
    """Each constructor in a fresh Keras session, released afterwards even when the test
    fails, so memory stays flat over forty models (the largest holds ~120M parameters)."""
    import gc

    keras.backend.clear_session()
    yield
    keras.backend.clear_session()
    gc.collect()


@pytest.mark.parametrize("name", _applications())
def test_every_application_round_trips(name: str, fresh_session: Any) -> None:
    """Import, report against Keras per layer, rebuild, copy the weights, run one batch.

    The Keras model is built once and serves every comparison; the ``--blocks`` spec is
    compared through the engine only (its layers are the flat spec's, regrouped), and the
    rebuild reuses the report already made. Outputs are compared on a batch of one.
    """
    started = time.perf_counter()
    model = getattr(keras.applications, name)(weights=None)
    refused = NOT_IMPORTABLE.get(name)
    imported = convert_model(model)
    if refused:
        assert imported.problems, f"{name} imports now: move it out of the refused lists"
        assert any(p.cls == refused for p in imported.problems), imported.problems[:3]
        return
    assert imported.problems == []
    text = write_spec(imported.document)
    spec = archspec.loads(text)
    assert spec == imported.spec()
    report = archspec.analyze(spec)
    assert report.ok, [d.message for d in report.errors][:3]
    assert compare_report(imported, report) == []
    blocked = convert_model(model, blocks=True)
    blocked_report = archspec.analyze(blocked.spec())
    assert blocked_report.ok, [d.message for d in blocked_report.errors][:3]
    assert blocked_report.totals.params == report.totals.params
    assert layer_multiset(blocked_report) == layer_multiset(report)
    built = build_from_report(spec, report)
    assert compare_outputs(imported, built.model, built.layers, model) == []
    print(f"{name}: {time.perf_counter() - started:.1f} s")


def test_application_lists_name_only_real_constructors() -> None:
    names = set(application_names())
    assert set(NOT_IMPORTABLE) <= names and set(SLOW) <= names
    assert np.isfinite(len(names)) and "ResNet50" in names
