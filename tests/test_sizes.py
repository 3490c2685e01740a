"""Size arithmetic against the lecture's exercises, brute-force window counting and Keras."""

from __future__ import annotations

import doctest
from fractions import Fraction

import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from tiers import examples

from archspec import sizes
from archspec.sizes import (
    INPUT_FIELD,
    ceildiv,
    conv_output_size,
    conv_transpose_output_size,
    dropped_pixels,
    effective_kernel,
    floordiv,
    receptive_field_step,
    same_padding,
)
from archspec.symbols import is_symbolic

H = sympy.Symbol("H", integer=True, positive=True)


def test_doctests() -> None:
    failed, attempted = doctest.testmod(sizes)
    assert attempted > 10
    assert failed == 0


# The lecture's exercises: input, kernel, padding P, stride S, output.
LECTURE = [
    {"size": 4, "kernel": 2, "pad": 0, "stride": 1, "out": 3},
    {"size": 5, "kernel": 3, "pad": 2, "stride": 2, "out": 4},
    {"size": 32, "kernel": 5, "pad": 2, "stride": 1, "out": 32},
    {"size": 32, "kernel": 5, "pad": 0, "stride": 1, "out": 28},
]


def _case_id(case: dict) -> str:
    return "{size}-{kernel}-P{pad}-S{stride}".format(**case)


@pytest.mark.parametrize("case", LECTURE, ids=_case_id)
def test_lecture_exercises(case: dict) -> None:
    p = case["pad"]
    out = conv_output_size(case["size"], case["kernel"], case["stride"], (p, p))
    assert out == case["out"]
    assert dropped_pixels(case["size"], case["kernel"], case["stride"], (p, p)) == 0
    if p == 0:
        assert conv_output_size(case["size"], case["kernel"], case["stride"]) == case["out"]


def test_lecture_network() -> None:
    """28x28 -> conv 5 -> pool 2 -> conv 5 -> pool 2 gives 24, 12, 8, 4 (worked example 4)."""
    seen = []
    size = 28
    for step in ("conv", "pool", "conv", "pool"):
        size = conv_output_size(size, 5) if step == "conv" else conv_output_size(size, 2, 2)
        seen.append(size)
    assert seen == [24, 12, 8, 4]


# --- brute force: count window positions on a padded 1-D array --------------------------------


def tf_same_split(size: int, keff: int, stride: int) -> tuple[int, int]:
    """TensorFlow's definition: enough padding for ceil(W/S) windows, the odd one after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + keff - size, 0)
    return total // 2, total - total // 2


def oracle_pads(size: int, keff: int, stride: int, padding: sizes.Padding) -> tuple[int, int]:
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return keff - 1, 0
    if padding == "same":
        return tf_same_split(size, keff, stride)
    return padding  # type: ignore[return-value]


def window_starts(size: int, keff: int, stride: int, pads: tuple[int, int]) -> list[int]:
    padded = [None] * pads[0] + list(range(size)) + [None] * pads[1]
    return [i for i in range(0, len(padded), stride) if i + keff <= len(padded)]


def oracle_dropped(size: int, keff: int, stride: int, pads: tuple[int, int]) -> int:
    """Real pixels at or beyond the end of the last window."""
    starts = window_starts(size, keff, stride, pads)
    end = starts[-1] + keff
    return sum(1 for i in range(pads[0], pads[0] + size) if i >= end)


paddings = st.one_of(
    st.sampled_from(["valid", "same", "causal"]),
    st.tuples(st.integers(0, 4), st.integers(0, 4)),
)
strides = st.integers(1, 4)
dilations = st.integers(1, 3)
kernels = st.integers(1, 7)
widths = st.integers(1, 64)


@settings(max_examples=examples(500))
@given(widths, kernels, strides, dilations, paddings)
def test_conv_output_counts_windows(
    size: int, kernel: int, stride: int, dilation: int, padding: sizes.Padding
) -> None:
    assume(stride == 1 or dilation == 1)  # Keras refuses both at once
    keff = effective_kernel(kernel, dilation)
    pads = oracle_pads(size, keff, stride, padding)
    starts = window_starts(size, keff, stride, pads)
    out = conv_output_size(size, kernel, stride, padding, dilation)
    if starts:
        assert out == len(starts)
        assert dropped_pixels(size, kernel, stride, padding, dilation) == oracle_dropped(
            size, keff, stride, pads
        )
    else:
        assert out < 1
    if padding == "same":
        assert same_padding(size, keff, stride) == pads


@settings(max_examples=examples(300))
@given(widths, kernels, strides, st.sampled_from(["valid", "same"]))
def test_pool_output_counts_windows(size: int, pool: int, stride: int, padding: str) -> None:
    pads = oracle_pads(size, pool, stride, padding)  # type: ignore[arg-type]
    starts = window_starts(size, pool, stride, pads)
    out = conv_output_size(size, pool, stride, padding)  # type: ignore[arg-type]
    assert out == len(starts) if starts else out < 1


@settings(max_examples=examples(300))
@given(widths, kernels, strides, dilations, st.data())
def test_conv_transpose_inverts_conv(
    size: int, kernel: int, stride: int, dilation: int, data: st.DataObject
) -> None:
    """A transposed conv's output is a size the forward conv maps back to the input size."""
    assume(stride == 1 or dilation == 1)
    padding = data.draw(st.sampled_from(["valid", "same"]))
    keff = effective_kernel(kernel, dilation)
    a = data.draw(st.one_of(st.none(), st.integers(0, stride - 1)))
    out = conv_transpose_output_size(size, kernel, stride, padding, dilation, a)
    if padding == "valid" or a is None:
        assert conv_output_size(out, kernel, stride, padding, dilation) == size
    else:
        # Keras's explicit-output-padding 'same' crops keff // 2 on each side of the full
        # transposed output (W-1)*S + keff + a.
        assert out == (size - 1) * stride + keff + a - 2 * (keff // 2)


# --- Keras's own shape functions --------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_shapes():
    pytest.importorskip("keras")
    from keras.src.backend.common import backend_utils
    from keras.src.ops import operation_utils

    return operation_utils, backend_utils


@pytest.mark.keras
@settings(max_examples=examples(300), deadline=None)
@given(widths, kernels, strides, dilations, st.sampled_from(["valid", "same", "causal"]))
def test_conv_matches_keras(keras_shapes, size, kernel, stride, dilation, padding) -> None:
    operation_utils, _ = keras_shapes
    try:
        shape = operation_utils.compute_conv_output_shape(
            (1, size, 2), 3, (kernel,), stride, padding, dilation_rate=dilation
        )
    except ValueError:
        assert conv_output_size(size, kernel, stride, padding, dilation) < 1
        return
    assert shape[1] == conv_output_size(size, kernel, stride, padding, dilation)


@pytest.mark.keras
@settings(max_examples=examples(300), deadline=None)
@given(widths, kernels, strides, st.sampled_from(["valid", "same"]))
def test_pool_matches_keras(keras_shapes, size, pool, stride, padding) -> None:
    operation_utils, _ = keras_shapes
    try:
        shape = operation_utils.compute_pooling_output_shape(
            (1, size, 2), (pool,), (stride,), padding
        )
    except ValueError:
        assert conv_output_size(size, pool, stride, padding) < 1
        return
    assert shape[1] == conv_output_size(size, pool, stride, padding)


@pytest.mark.keras
@settings(max_examples=examples(300), deadline=None)
@given(widths, kernels, strides, dilations, st.sampled_from(["valid", "same"]), st.data())
def test_conv_transpose_matches_keras(
    keras_shapes, size, kernel, stride, dilation, padding, data
) -> None:
    _, backend_utils = keras_shapes
    a = data.draw(st.one_of(st.none(), st.integers(0, stride - 1)))
    shape = backend_utils.compute_conv_transpose_output_shape(
        (1, size, 2), (kernel,), 3, stride, padding, a, dilation_rate=dilation
    )
    assert shape[1] == conv_transpose_output_size(size, kernel, stride, padding, dilation, a)


# --- the symbolic path agrees with the int path -----------------------------------------------

symbolic_sizes = st.sampled_from(["H", "H+3", "2H", "floor(H/2)"])


def build(form: str, value):
    return {
        "H": value,
        "H+3": value + 3,
        "2H": 2 * value,
        "floor(H/2)": floordiv(value, 2),
    }[form]


@settings(max_examples=examples(200), deadline=None)
@given(symbolic_sizes, kernels, strides, dilations, paddings, st.integers(1, 200))
def test_symbolic_equals_int(form, kernel, stride, dilation, padding, n) -> None:
    sym, num = build(form, H), build(form, n)
    keff = effective_kernel(kernel, dilation)

    def same(expr, value) -> None:
        assert is_symbolic(expr) or isinstance(expr, int)
        got = expr.xreplace({H: n}) if is_symbolic(expr) else expr
        assert got == value
        assert isinstance(value, int)

    same(floordiv(sym, stride), floordiv(num, stride))
    same(ceildiv(sym, stride), ceildiv(num, stride))
    same(
        conv_output_size(sym, kernel, stride, padding, dilation),
        conv_output_size(num, kernel, stride, padding, dilation),
    )
    if isinstance(padding, str) and padding != "causal":
        same(
            conv_output_size(sym, kernel, stride, padding),
            conv_output_size(num, kernel, stride, padding),
        )
        a = n % stride if n % 3 else None
        same(
            conv_transpose_output_size(sym, kernel, stride, padding, dilation, a),
            conv_transpose_output_size(num, kernel, stride, padding, dilation, a),
        )
    for e, v in zip(same_padding(sym, keff, stride), same_padding(num, keff, stride), strict=True):
        same(e, v)
    same(
        dropped_pixels(sym, kernel, stride, padding, dilation),
        dropped_pixels(num, kernel, stride, padding, dilation),
    )


@settings(max_examples=examples(100), deadline=None)
@given(
    st.lists(
        st.tuples(kernels, strides, st.sampled_from(["valid", "same"])), min_size=1, max_size=3
    ),
    st.integers(1, 100),
)
def test_symbolic_receptive_field_equals_int(layers, n) -> None:
    rf_sym, rf_num, size_sym, size_num = INPUT_FIELD, INPUT_FIELD, H, n
    for kernel, stride, padding in layers:
        before_sym = same_padding(size_sym, kernel, stride)[0] if padding == "same" else 0
        before_num = same_padding(size_num, kernel, stride)[0] if padding == "same" else 0
        rf_sym = receptive_field_step(rf_sym, kernel, stride, 1, before_sym)
        rf_num = receptive_field_step(rf_num, kernel, stride, 1, before_num)
        size_sym = conv_output_size(size_sym, kernel, stride, padding)
        size_num = conv_output_size(size_num, kernel, stride, padding)
    start = rf_sym.start.xreplace({H: n}) if is_symbolic(rf_sym.start) else rf_sym.start
    assert (rf_sym.size, rf_sym.jump) == (rf_num.size, rf_num.jump)
    assert Fraction(int(sympy.numer(start)), int(sympy.denom(start))) == rf_num.start


# --- receptive field: propagate indices back from an output pixel -----------------------------


def field_of(output: int, layers: list[tuple[int, int, int, int]]) -> set[int]:
    """Input coordinates that output ``output`` of the last layer reads, padding included."""
    coords = {output}
    for kernel, stride, dilation, before in reversed(layers):
        coords = {o * stride + t * dilation - before for o in coords for t in range(kernel)}
    return coords


conv_layers = st.tuples(kernels, strides, dilations, paddings).filter(
    lambda layer: layer[1] == 1 or layer[2] == 1
)


@settings(
    max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)
@given(
    st.lists(conv_layers, min_size=1, max_size=3),
    st.integers(8, 64),
)
def test_receptive_field_brute_force(layers, size) -> None:
    rf = INPUT_FIELD
    concrete = []
    for kernel, stride, dilation, padding in layers:
        keff = effective_kernel(kernel, dilation)
        before = oracle_pads(size, keff, stride, padding)[0]
        rf = receptive_field_step(rf, kernel, stride, dilation, before)
        concrete.append((kernel, stride, dilation, before))
        size = conv_output_size(size, kernel, stride, padding, dilation)
        assume(size >= 2)
    first, second = field_of(0, concrete), field_of(1, concrete)
    assert rf.size == max(first) - min(first) + 1
    assert rf.start == Fraction(max(first) + min(first), 2)
    assert rf.jump == min(second) - min(first)
