"""The engine against ground truth: the lecture's figures, brute force, integer oracles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import archspec
from archspec.cli import cli

DATA = Path(__file__).parent / "data"


def one_layer(size: int, channels: int, layer: dict) -> archspec.Report:
    return archspec.analyze(
        archspec.from_dict(
            {
                "archspec": 1,
                "name": "t",
                "input": {"shape": [size, size, channels]},
                "layers": [{"name": "x", **layer}],
            }
        )
    )


# -- worked-examples.md, section 1 -------------------------------------------------------------
@pytest.mark.parametrize(
    ("size", "channels", "layer", "shape", "params"),
    [
        (4, 1, {"type": "conv2d", "filters": 1, "kernel": 2}, (3, 3, 1), None),
        (
            5,
            1,
            {"type": "conv2d", "filters": 1, "kernel": 3, "padding": 2, "strides": 2},
            (4, 4, 1),
            None,
        ),
        (32, 3, {"type": "conv2d", "filters": 10, "kernel": 5, "padding": 2}, (32, 32, 10), 760),
        (32, 3, {"type": "conv2d", "filters": 5, "kernel": 5}, (28, 28, 5), None),
        (32, 3, {"type": "max_pool2d", "pool": 2}, (16, 16, 3), 0),
    ],
)
def test_lecture_exercises(
    size: int, channels: int, layer: dict, shape: tuple, params: int | None
) -> None:
    report = one_layer(size, channels, layer)
    assert report.ok, report.diagnostics
    row = report.layer("x")
    assert row.output_shape == shape
    if params is not None:
        assert row.params == params


def test_lecture_network() -> None:
    report = archspec.analyze(
        archspec.load(Path(__file__).parent.parent / "specs/lecture_net.yaml")
    )
    shapes = [r.output_shape for r in report.layers]
    assert shapes[:6] == [(24, 24, 20), (12, 12, 20), (8, 8, 20), (4, 4, 20), (320,), (1024,)]
    # conv: F*F*D1*K + K
    assert report.layer("conv1").params == 5 * 5 * 1 * 20 + 20
    assert report.layer("conv2").params == 5 * 5 * 20 * 20 + 20
    assert report.layer("fc").params == 320 * 1024 + 1024


# -- independent oracle --------------------------------------------------------------------------
def positions(size: int, keff: int, stride: int, before: int, after: int) -> int:
    """Count window placements on a padded 1-D array, one by one."""
    padded = size + before + after
    return sum(1 for i in range(0, padded, stride) if i + keff <= padded)


def oracle(size: int, layer: dict) -> int:
    kind = layer["type"]
    k = layer.get("kernel", layer.get("pool", 1))
    s = layer.get("strides", layer.get("pool", 1) if "pool" in kind else 1)
    d = layer.get("dilation", 1)
    keff = d * (k - 1) + 1
    pad = layer.get("padding", "valid")
    if kind == "upsampling2d":
        return size * layer["size"]
    if kind == "conv2d_transpose":
        if pad == "valid":
            return (size - 1) * s + max(keff, s)
        return size * s
    if pad == "same":
        return -(-size // s)
    if pad == "valid":
        return positions(size, keff, s, 0, 0)
    return positions(size, keff, s, pad, pad)


layer_strategy = st.one_of(
    st.builds(
        lambda k, s, d, p: {
            "type": "conv2d",
            "filters": 2,
            "kernel": k,
            "strides": s,
            "dilation": d if s == 1 else 1,
            "padding": p,
        },
        st.integers(1, 5),
        st.integers(1, 3),
        st.integers(1, 3),
        st.one_of(st.sampled_from(["valid", "same"]), st.integers(0, 3)),
    ),
    st.builds(
        lambda k, s, p: {"type": "max_pool2d", "pool": k, "strides": s, "padding": p},
        st.integers(1, 3),
        st.integers(1, 3),
        st.sampled_from(["valid", "same"]),
    ),
    st.builds(
        lambda k, s, p: {
            "type": "conv2d_transpose",
            "filters": 2,
            "kernel": k,
            "strides": s,
            "padding": p,
        },
        st.integers(1, 4),
        st.integers(1, 3),
        st.sampled_from(["valid", "same"]),
    ),
    st.builds(lambda f: {"type": "upsampling2d", "size": f}, st.integers(1, 3)),
)


@given(size=st.integers(1, 40), layers=st.lists(layer_strategy, min_size=1, max_size=5))
def test_shapes_equal_oracle(size: int, layers: list[dict]) -> None:
    spec = archspec.from_dict(
        {"archspec": 1, "name": "r", "input": {"shape": [size, size, 3]}, "layers": layers}
    )
    report = archspec.analyze(spec)
    expected = size
    for i, layer in enumerate(layers):
        expected = oracle(expected, layer)
        if expected < 1:
            assert not report.ok
            assert any(d.code == "output-size" for d in report.errors)
            return
        assert report.layers[i].output_shape[:2] == (expected, expected)
    assert report.ok, report.diagnostics


@given(size=st.integers(4, 40), k1=st.integers(1, 5), k2=st.integers(1, 5), s=st.integers(1, 2))
def test_residual_merge_matches_or_is_refused(size: int, k1: int, k2: int, s: int) -> None:
    spec = archspec.from_dict(
        {
            "archspec": 1,
            "name": "g",
            "input": {"shape": [size, size, 3]},
            "layers": [
                {"name": "a", "type": "conv2d", "filters": 4, "kernel": k1, "strides": s},
                {"name": "b", "type": "conv2d", "filters": 4, "kernel": k2, "inputs": ["input"]},
                {"name": "sum", "type": "add", "inputs": ["a", "b"]},
            ],
        }
    )
    report = archspec.analyze(spec)
    ha = positions(size, k1, s, 0, 0)
    hb = positions(size, k2, 1, 0, 0)
    if ha < 1 or hb < 1:
        assert not report.ok
    elif ha == hb or 1 in (ha, hb):  # equal, or one side broadcasts (size 1)
        out = max(ha, hb)
        assert report.ok and report.layer("sum").output_shape == (out, out, 4)
    else:
        assert [d.code for d in report.errors] == ["shape-mismatch"]


@given(size=st.integers(16, 64))
def test_symbolic_report_equals_concrete(size: int) -> None:
    spec = archspec.load(DATA / "lenet_symbolic.yaml")
    symbolic = archspec.analyze(spec).at(H=size, W=size + 1)
    concrete = archspec.analyze(spec, H=size, W=size + 1)
    assert concrete.ok
    for a, b in zip(symbolic.layers, concrete.layers):
        assert a.output_shape == b.output_shape
        assert a.params == b.params and a.macs == b.macs


# -- valid input sizes, confirmed by brute force --------------------------------------------------
def brute_force(path: Path, name: str, other: str) -> set[int]:
    spec = archspec.load(path)
    return {n for n in range(1, 301) if archspec.analyze(spec, {name: n, other: 64}).ok}


def test_lenet_minimum_by_brute_force() -> None:
    report = archspec.analyze(archspec.load(DATA / "lenet_symbolic.yaml"))
    valid = report.valid_inputs["H"]
    assert valid.minimum == 16
    assert valid.describe("H") == "H >= 16"
    assert {n for n in range(1, 301) if n in valid} == brute_force(
        DATA / "lenet_symbolic.yaml", "H", "W"
    )


def test_unet_needs_multiples_of_16_by_brute_force() -> None:
    report = archspec.analyze(archspec.load(DATA / "unet4.yaml"))
    valid = report.valid_inputs["H"]
    assert valid.describe("H") == "H = 16k, k >= 1"
    truth = brute_force(DATA / "unet4.yaml", "H", "W")
    assert truth == set(range(16, 301, 16))
    assert {n for n in range(1, 301) if n in valid} == truth


def test_sizes_command() -> None:
    result = CliRunner().invoke(cli, ["sizes", str(DATA / "unet4.yaml")])
    assert result.exit_code == 0, result.output
    assert "H = 16k, k >= 1" in result.output
    assert "W = 16k, k >= 1" in result.output
    result = CliRunner().invoke(cli, ["sizes", str(DATA / "lenet_symbolic.yaml")])
    assert "H >= 16  (smallest: H=16); H=15 fails at layer 's4'" in result.output


def test_check_at_given_sizes() -> None:
    ok = CliRunner().invoke(cli, ["check", "--input", "H=32,W=48", str(DATA / "unet4.yaml")])
    assert ok.exit_code == 0, ok.output
    bad = CliRunner().invoke(cli, ["check", "--input", "H=40,W=48", str(DATA / "unet4.yaml")])
    assert bad.exit_code == 1
    assert "m3" in bad.output or "m4" in bad.output


# -- parameters --------------------------------------------------------------------------------
def test_batchnorm_moving_statistics_are_non_trainable() -> None:
    report = one_layer(8, 16, {"type": "batch_norm"})
    row = report.layer("x")
    assert (row.trainable_params, row.non_trainable_params) == (32, 32)


def test_symbolic_width_gives_polynomial_params() -> None:
    spec = archspec.from_dict(
        {
            "archspec": 1,
            "name": "w",
            "input": {"shape": [8, 8, 3]},
            "symbols": {"width": {}},
            "layers": [
                {"type": "conv2d", "filters": "width", "kernel": 3},
                {"type": "conv2d", "filters": "2*width", "kernel": 3},
            ],
        }
    )
    report = archspec.analyze(spec)
    assert str(report.totals.params) == "18*width**2 + 30*width"
    assert archspec.analyze(spec, width=4).totals.params == 18 * 16 + 30 * 4


@pytest.mark.parametrize(
    ("layer", "channels", "params"),
    [
        ({"type": "depthwise_conv2d", "kernel": 3, "depth_multiplier": 2}, 8, 3 * 3 * 8 * 2 + 16),
        ({"type": "separable_conv2d", "filters": 16, "kernel": 3}, 8, 9 * 8 + 8 * 16 + 16),
        ({"type": "conv2d", "filters": 8, "kernel": 3, "groups": 4}, 8, 9 * 2 * 8 + 8),
        ({"type": "conv2d_transpose", "filters": 4, "kernel": 3, "strides": 2}, 8, 9 * 8 * 4 + 4),
        ({"type": "maxout", "units": 5, "pieces": 3}, 8, (8 * 8 * 8 + 1) * 5 * 3),
        ({"type": "prelu", "shared_axes": [1, 2]}, 8, 8),
        ({"type": "prelu"}, 8, 8 * 8 * 8),
        ({"type": "layer_norm"}, 8, 16),
    ],
)
def test_parameter_rules(layer: dict, channels: int, params: int) -> None:
    if layer["type"] == "maxout":
        spec = archspec.from_dict(
            {
                "archspec": 1,
                "name": "m",
                "input": {"shape": [8, 8, channels]},
                "layers": [{"type": "flatten"}, {"name": "x", **layer}],
            }
        )
        report = archspec.analyze(spec)
    else:
        report = one_layer(8, channels, layer)
    assert report.ok, report.diagnostics
    assert report.layer("x").params == params


# -- receptive fields ------------------------------------------------------------------------------
def test_receptive_field_of_lecture_network() -> None:
    report = archspec.analyze(
        archspec.load(Path(__file__).parent.parent / "specs/lecture_net.yaml")
    )
    # r: 5, 6, 14, 16 ; jump: 1, 2, 2, 4
    fields = [(r.receptive_field[0].size, r.receptive_field[0].jump) for r in report.layers[:4]]
    assert fields == [(5, 1), (6, 2), (14, 2), (16, 4)]
    assert report.layer("flatten").receptive_field is None


def test_dilation_grows_the_field() -> None:
    report = one_layer(32, 1, {"type": "conv2d", "filters": 1, "kernel": 3, "dilation": 4})
    assert report.layer("x").receptive_field[0].size == 9
    assert report.layer("x").output_shape == (24, 24, 1)


def _downsampling(shape: list[Any], strided: list[dict[str, Any]]) -> archspec.Spec:
    """A strided 1x1 shortcut added to a main path ending in ``strided``, as ResNet's and
    Xception's downsampling blocks are written."""
    main = {"name": "main", "type": "conv2d", "filters": 4, "kernel": 3, "padding": "same"}
    shortcut = {
        "name": "shortcut",
        "type": "conv2d",
        "inputs": ["input"],
        "filters": 4,
        "kernel": 1,
        "strides": 2,
    }
    last = strided[-1]["name"]
    return archspec.from_dict(
        {
            "archspec": 1,
            "name": "down",
            "input": {"shape": shape},
            "layers": [
                main,
                *strided,
                shortcut,
                {"name": "sum", "type": "add", "inputs": [last, "shortcut"]},
            ],
        }
    )


SAME_POOL = [{"name": "pool", "type": "max_pool2d", "pool": 3, "strides": 2, "padding": "same"}]
SAME_CONV = [
    {"name": "pool", "type": "conv2d", "filters": 4, "kernel": 3, "strides": 2, "padding": "same"}
]
SYMMETRIC = [
    {"name": "pad", "type": "zero_padding2d", "padding": 1},
    {"name": "pool", "type": "max_pool2d", "pool": 3, "strides": 2},
]


def _misaligned(report: archspec.Report) -> list[Any]:
    return [d for d in report.diagnostics if d.code == "misaligned-merge"]


@pytest.mark.parametrize("strided", [SAME_POOL, SAME_CONV], ids=["xception", "keras-resnet"])
@pytest.mark.parametrize("shape", [["H", "W", 3], [32, 33, 3]], ids=["free", "32x33"])
def test_a_same_padding_offset_under_one_step_is_a_note_that_says_why(
    strided: list[dict[str, Any]], shape: list[Any]
) -> None:
    """A strided 'same' window next to a strided 1x1 shortcut centres half a step off at even
    sizes (TensorFlow pads after the image): Keras's own networks do it, so it is a note."""
    report = archspec.analyze(_downsampling(shape, strided), strict=True)
    assert report.ok, report.diagnostics
    [note] = _misaligned(report)
    assert note.severity == "note" and note.layer == "sum"
    assert "less than one step" in note.message and "'same' padding" in note.message
    assert "symmetrically" in (note.hint or "")


@pytest.mark.parametrize("shape", [["H", "W", 3], [32, 33, 3], [32, 32, 3]])
def test_the_notes_fix_explicit_symmetric_padding_aligns_the_merge(shape: list[Any]) -> None:
    assert _misaligned(archspec.analyze(_downsampling(shape, SAME_POOL)))
    assert _misaligned(archspec.analyze(_downsampling(shape, SYMMETRIC))) == []


CROP = [[2, 0], [2, 0]]


def test_a_branch_a_whole_step_off_warns() -> None:
    """A valid 3x3 against a 1x1 on a map cropped by 2 at the start: the same size and stride,
    but centres one pixel (one whole step) apart."""
    spec = archspec.from_dict(
        {
            "archspec": 1,
            "name": "m",
            "input": {"shape": ["H", "W", 3]},
            "layers": [
                {"name": "a", "type": "conv2d", "filters": 4, "kernel": 3},
                {"name": "crop", "type": "cropping2d", "inputs": ["input"], "cropping": CROP},
                {"name": "b", "type": "conv2d", "filters": 4, "kernel": 1},
                {"name": "sum", "type": "add", "inputs": ["a", "b"]},
            ],
        }
    )
    report = archspec.analyze(spec)
    assert [d.severity for d in _misaligned(report)] == ["warning"]


def test_different_jumps_warn() -> None:
    """A 2x2/2 pool against the centre crop of the same size: steps of 2 and 1."""
    spec = archspec.from_dict(
        {
            "archspec": 1,
            "name": "m",
            "input": {"shape": [32, 32, 3]},
            "layers": [
                {"name": "a", "type": "max_pool2d", "pool": 2},
                {"name": "b", "type": "cropping2d", "inputs": ["input"], "cropping": 8},
                {"name": "sum", "type": "add", "inputs": ["a", "b"]},
            ],
        }
    )
    report = archspec.analyze(spec)
    assert report.ok, report.diagnostics
    [warning] = _misaligned(report)
    assert warning.severity == "warning" and "jump 2 vs 2" not in warning.message


def test_generated_names_never_take_a_written_one() -> None:
    spec = archspec.from_dict(
        {
            "archspec": 1,
            "name": "n",
            "input": {"shape": [8, 8, 1]},
            "layers": [
                {"type": "conv2d", "filters": 2, "kernel": 3},
                {"name": "conv2d", "type": "conv2d", "filters": 2, "kernel": 3},
            ],
        }
    )
    report = archspec.analyze(spec)
    assert report.ok, report.diagnostics
    assert [r.name for r in report.layers] == ["conv2d_1", "conv2d"]
