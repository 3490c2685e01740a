"""The layer kinds of today's CNNs, in the engine: broadcasting merges (squeeze-and-excitation),
rescaling, normalization, drop-connect noise shapes, hard activations, layer scale, stochastic
depth and 'same' zero padding that depends on the incoming size.

Agreement with Keras is in ``test_agreement.py``; here are the rules themselves, the errors
a user sees, and the exactness of the valid-size solver with size-dependent padding.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import archspec
from archspec.layers.core import same_pad_axis


def _spec(layers: list[dict[str, Any]], shape: list[Any]) -> archspec.Spec:
    return archspec.from_dict(
        {"archspec": 1, "name": "t", "input": {"shape": shape}, "layers": layers}
    )


SQUEEZE_EXCITE = [
    {"name": "x", "type": "conv2d", "filters": 4, "kernel": 3, "padding": "same"},
    {"name": "squeeze", "type": "global_avg_pool2d", "keepdims": True},
    {"name": "gate", "type": "conv2d", "filters": 4, "kernel": 1, "activation": "sigmoid"},
    {"name": "excite", "type": "multiply", "inputs": ["x", "gate"]},
]


def test_squeeze_excite_broadcasts_the_gate() -> None:
    report = archspec.analyze(_spec(SQUEEZE_EXCITE, [8, 8, 3]))
    assert report.ok, report.diagnostics
    assert report.layer("gate").output_shape == (1, 1, 4)
    assert report.layer("excite").output_shape == (8, 8, 4)


def test_squeeze_excite_on_free_sizes() -> None:
    report = archspec.analyze(_spec(SQUEEZE_EXCITE, ["H", "W", 3]))
    assert report.ok, report.diagnostics
    assert [str(d) for d in report.layer("excite").output_shape] == ["H", "W", "4"]
    assert list(report.valid_inputs["H"].first(3)) == [1, 2, 3]


def test_shapes_that_do_not_broadcast_are_a_located_error(tmp_path: Any) -> None:
    text = """\
archspec: 1
name: bad
input: {shape: [8, 8, 4]}
layers:
  - {name: a, type: conv2d, filters: 4, kernel: 1}
  - {name: b, type: avg_pool2d, pool: [1, 8], inputs: [input]}
  - {name: c, type: conv2d, filters: 3, kernel: 1}
  - {name: m, type: multiply, inputs: [a, c]}
"""
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    report = archspec.analyze(archspec.load(path))
    [error] = report.errors
    assert error.code == "shape-mismatch"
    assert "(8, 8, 4)" in error.message and "(8, 1, 3)" in error.message
    assert (error.line, error.file) == (8, str(path))


@pytest.mark.parametrize(
    ("a", "b", "out"),
    [
        ([8, 8, 4], [1, 1, 4], (8, 8, 4)),
        ([1, 8, 4], [8, 1, 4], (8, 8, 4)),
        ([8, 8, 1], [8, 8, 4], (8, 8, 4)),
        ([1, 1, 1], [3, 2, 5], (3, 2, 5)),
    ],
)
def test_broadcast_shapes(a: list[int], b: list[int], out: tuple[int, ...]) -> None:
    from archspec.layers.merge import broadcast

    assert broadcast("add", [tuple(a), tuple(b)])[0] == out
    assert broadcast("add", [tuple(b), tuple(a)])[0] == out


@given(
    st.lists(st.integers(1, 4), min_size=1, max_size=4).flatmap(
        lambda shape: st.tuples(
            st.just(shape),
            st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)),
            st.lists(st.booleans(), min_size=len(shape), max_size=len(shape)),
        )
    )
)
def test_broadcast_is_numpys(case: tuple[list[int], list[bool], list[bool]]) -> None:
    """Shapes made from one shape by setting some axes to 1 broadcast as NumPy says; a size
    changed to another size > 1 does not."""
    import numpy as np

    from archspec.layers.base import LayerError
    from archspec.layers.merge import broadcast

    shape, ones_a, ones_b = case
    a = tuple(1 if o else d for d, o in zip(shape, ones_a))
    b = tuple(1 if o else d for d, o in zip(shape, ones_b))
    assert broadcast("add", [a, b])[0] == np.broadcast_shapes(a, b)
    wrong = tuple(d + 1 if d > 1 else d for d in a)
    if wrong != a and b != tuple(1 for _ in b):
        clash = any(x != y and x > 1 and y > 1 for x, y in zip(wrong, b))
        if clash:
            with pytest.raises(LayerError, match="do not broadcast"):
                broadcast("add", [wrong, b])


def test_symbolic_sizes_broadcast_only_against_one_or_equal() -> None:
    """floor(H/2) against H is no broadcast: they must be equal, which no H >= 2 makes true."""
    layers = [
        {"name": "half", "type": "max_pool2d", "pool": 2},
        {"name": "up", "type": "upsampling2d", "size": 2},
        {"name": "sum", "type": "add", "inputs": ["input", "up"]},
    ]
    report = archspec.analyze(_spec(layers, ["H", 8, 1]))
    assert report.ok
    assert list(report.valid_inputs["H"].first(4)) == [2, 4, 6, 8]


def test_normalization_counts_adapted_statistics() -> None:
    layers = [{"name": "n", "type": "normalization"}]
    row = archspec.analyze(_spec(layers, [5, 5, 3])).layer("n")
    assert (row.trainable_params, row.non_trainable_params) == (0, 7)
    given = [{"name": "n", "type": "normalization", "mean": [1, 2, 3], "variance": [1, 1, 2]}]
    assert archspec.analyze(_spec(given, [5, 5, 3])).layer("n").params == 0


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        ({"type": "normalization", "mean": 0.5}, "mean and variance together"),
        ({"type": "normalization", "mean": 0, "variance": -1}, "variance must be >= 0"),
        ({"type": "rescaling", "scale": ".nan"}, "number"),
        ({"type": "zero_padding2d", "padding": "same"}, "needs the kernel"),
        ({"type": "zero_padding2d", "padding": 1, "kernel": 3}, "padding: same only"),
    ],
)
def test_bad_fields_are_refused_when_loading(layer: dict[str, Any], message: str) -> None:
    with pytest.raises(archspec.SpecError, match=message):
        _spec([layer], [4, 4, 3])


@pytest.mark.parametrize(
    ("layer", "code"),
    [
        ({"type": "rescaling", "scale": [1, 2]}, "wrong-rank"),
        ({"type": "normalization", "mean": [1, 2], "variance": 1}, "wrong-rank"),
        ({"type": "dropout", "noise_shape": [1, 1]}, "wrong-rank"),
        ({"type": "dropout", "noise_shape": [1, 2, 1]}, "bad-noise-shape"),
        ({"type": "zero_padding2d", "padding": "valid"}, "bad-padding"),
    ],
)
def test_bad_fields_are_located_errors(layer: dict[str, Any], code: str) -> None:
    report = archspec.analyze(_spec([{"name": "x", **layer}], [4, 4, 3]))
    assert [d.code for d in report.errors] == [code]


def test_hard_activations_are_names_and_layers() -> None:
    layers = [
        {"type": "conv2d", "filters": 2, "kernel": 1, "activation": "hard_swish"},
        {"type": "activation", "activation": "hard_silu"},
        {"type": "hard_sigmoid"},
        {"type": "hard_swish"},
    ]
    assert archspec.analyze(_spec(layers, [4, 4, 3])).ok


def test_layer_scale_has_one_weight_per_channel() -> None:
    layers = [{"name": "s", "type": "layer_scale"}, {"name": "d", "type": "stochastic_depth"}]
    report = archspec.analyze(_spec(layers, [4, 4, "C"]))
    assert str(report.layer("s").trainable_params) == "C"
    assert report.layer("d").params == 0


# -- 'same' zero padding: Keras Applications' correct_pad at every size ------------------------


def correct_pad(size: int, kernel: int) -> tuple[int, int]:
    """keras.applications' imagenet_utils.correct_pad on one axis of known size."""
    adjust = 1 - size % 2
    return kernel // 2 - adjust, kernel // 2


@given(st.integers(1, 400), st.sampled_from([3, 5, 7]))
def test_same_padding_is_correct_pad_for_stride_2(size: int, kernel: int) -> None:
    before, after, padded = same_pad_axis(size, kernel, 2)
    assert (before, after) == correct_pad(size, kernel)
    assert padded == size + before + after


@given(st.integers(1, 60), st.integers(1, 6), st.integers(1, 4))
def test_symbolic_same_padding_equals_the_concrete_one(size: int, kernel: int, stride: int) -> None:
    from archspec.symbols import symbol

    H = symbol("H")
    concrete = same_pad_axis(size, kernel, stride)
    symbolic = [
        int(v.xreplace({H: size})) if hasattr(v, "xreplace") else v
        for v in same_pad_axis(H, kernel, stride)
    ]
    assert tuple(symbolic) == concrete


def test_padding_that_depends_on_the_size_keeps_the_solver_exact() -> None:
    """Pad as 'same' would, then a valid strided conv, twice: ceil(ceil(H/2)/2), any H; then
    a valid 3x3 needs ceil(ceil(H/2)/2) >= 3, that is H >= 9. Checked against brute force."""
    layers = [
        {"type": "zero_padding2d", "padding": "same", "kernel": 3, "strides": 2},
        {"type": "conv2d", "filters": 2, "kernel": 3, "strides": 2},
        {"type": "zero_padding2d", "padding": "same", "kernel": 5, "strides": 2},
        {"type": "depthwise_conv2d", "kernel": 5, "strides": 2},
        {"name": "last", "type": "conv2d", "filters": 2, "kernel": 3},
    ]
    spec = _spec(layers, ["H", 16, 3])
    report = archspec.analyze(spec)
    assert report.ok, report.diagnostics
    assert list(report.valid_inputs["H"].first(3)) == [9, 10, 11]
    for h in range(1, 40):
        at = archspec.analyze(spec, H=h)
        assert at.ok == (h >= 9), h
        if at.ok:
            quarter = math.ceil(math.ceil(h / 2) / 2)
            assert at.layer("last").output_shape[0] == quarter - 2


# -- normalization learned from the training data ----------------------------------------------

ADAPTED_SPEC = """
archspec: 1
name: adapted
input: {shape: [8, 8, 3]}
layers:
  - {name: pixels, type: rescaling, scale: 2}
  - {name: norm, type: normalization}
  - {name: c1, type: conv2d, filters: 2, kernel: 3, activation: relu}
  - {type: flatten}
  - {name: out, type: dense, units: 2, activation: softmax}
train: {epochs: 1, batch_size: 32, optimizer: {type: adam, learning_rate: 1.0e-3}}
"""


@pytest.mark.keras
def test_train_adapts_normalization_to_the_training_data(tmp_path: Any) -> None:
    """Every image has the same per-channel mean (a checkerboard of +-0.1 around 0.2, 0.5 and
    0.7), so whichever images the training split holds, the adapted mean is 2x those: the
    rescaling before the layer is applied to what it learns from."""
    import keras
    import numpy as np
    from click.testing import CliRunner

    from builders.commands import train

    base = np.array([0.2, 0.5, 0.7], dtype=np.float32)
    board = np.where((np.add.outer(np.arange(8), np.arange(8)) % 2) == 0, 0.1, -0.1)
    image = base + board[..., None].astype(np.float32)
    x = np.repeat(image[None], 40, axis=0)
    y = np.arange(40) % 2
    np.savez(tmp_path / "data.npz", x_train=x, y_train=y)
    spec = tmp_path / "adapted.yaml"
    spec.write_text(ADAPTED_SPEC)
    report = archspec.analyze(spec)
    assert report.layer("norm").non_trainable_params == 2 * 3 + 1
    out = tmp_path / "run"
    result = CliRunner().invoke(
        train, [str(spec), "--data", str(tmp_path / "data.npz"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    [saved] = sorted(out.rglob("*.keras"))[:1]
    model = keras.saving.load_model(saved, safe_mode=True)
    norm = model.get_layer("norm")
    assert sum(int(np.prod(w.shape)) for w in norm.non_trainable_weights) == 7
    mean = np.asarray(norm.adapt_mean).reshape(-1)
    seen = 2 * x.astype(np.float64)  # what the layer sees, from the stored float32 pixels
    np.testing.assert_allclose(mean, seen.mean(axis=(0, 1, 2)), atol=1e-5)
    variance = np.asarray(norm.adapt_variance).reshape(-1)
    np.testing.assert_allclose(variance, seen.var(axis=(0, 1, 2)), atol=1e-5)
