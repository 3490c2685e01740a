"""The checker and Keras agree, layer by layer: output shape, trainable and frozen parameters.

Every spec in specs/ and hypothesis-generated stacks and small graphs are built in Keras and
compared with the engine's report; a deliberately broken engine rule must make the
comparison fail, or the suite would prove nothing.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import archspec
from archspec.symbols import as_int

keras = pytest.importorskip("keras")

from builders import BuildError, BuiltModel, Maxout, build  # noqa: E402

pytestmark = pytest.mark.keras

SPECS = Path(__file__).resolve().parent.parent / "specs"
SPEC_FILES = sorted(p for p in SPECS.rglob("*") if p.suffix in (".yaml", ".yml", ".json"))


def _weights(layers: list[Any], trainable: bool) -> int:
    return sum(
        math.prod(w.shape)
        for layer in layers
        for w in (layer.trainable_weights if trainable else layer.non_trainable_weights)
    )


def assert_agrees(spec: archspec.Spec, **sizes: int) -> BuiltModel:
    """Build ``spec`` in Keras and compare every spec layer with the engine's report.

    A free size the engine leaves symbolic must be ``None`` in Keras and every concrete one
    equal; parameters are summed over the Keras layers that make up the spec layer. With a
    concrete input the model also runs once, since Keras's static shapes can promise what
    TensorFlow then refuses. The spec must survive ``dump`` and ``loads`` unchanged.
    """
    keras.backend.clear_session()
    built = build(spec, sizes)
    model, report = built.model, built.report
    problems = []
    ran = _run_once(built)
    for row in report.layers:
        if row.name not in built.layers:
            continue  # does not lead to the output; the engine warned, Keras drops it
        layers = [model.get_layer(name) for name in built.layers[row.name]]
        got = tuple(layers[-1].output.shape[1:])
        want = tuple(as_int(d) for d in row.output_shape)
        if got != want:
            problems.append(
                f"{row.name} ({row.type}): shape engine {row.output_shape} vs Keras {got}"
            )
        if row.name in ran and ran[row.name] != want:
            problems.append(
                f"{row.name} ({row.type}): shape engine {row.output_shape} "
                f"vs TensorFlow at run time {ran[row.name]}"
            )
        for label, trainable, engine in (
            ("trainable", True, row.trainable_params),
            ("non-trainable", False, row.non_trainable_params),
        ):
            keras_count = _weights(layers, trainable)
            if as_int(engine) != keras_count:
                problems.append(
                    f"{row.name} ({row.type}): {label} params engine {engine} "
                    f"vs Keras {keras_count}"
                )
    assert not problems, "engine and Keras disagree:\n" + "\n".join(problems)
    assert set(built.layers) <= {row.name for row in report.layers}
    again = archspec.loads(archspec.dump(spec))
    assert again.model_dump() == spec.model_dump()
    return built


_KERNEL_MISSING = (
    "Current CPU implementations do not yet support",
    "Current implementation only supports",
)
"""TensorFlow's CPU kernels without oneDNN (CPUs lacking AVX-512, such as many AMD EPYCs) leave
out dilated transposed convolutions and unequal depthwise strides; the model is valid Keras."""


def _run_once(built: BuiltModel) -> dict[str, tuple[int, ...]]:
    """Every spec layer's output shape from one forward pass on zeros (concrete input only)."""
    model = built.model
    shape = tuple(model.input.shape[1:])
    if None in shape:
        return {}
    names = list(built.layers)
    probe = keras.Model(model.input, [model.get_layer(built.layers[n][-1]).output for n in names])
    try:
        outputs = probe(np.zeros((1, *shape), dtype="float32"), training=False)
    except Exception as exc:  # TensorFlow's error types; only a kernel this CPU lacks is spared
        if not any(words in str(exc) for words in _KERNEL_MISSING):
            raise
        return {}  # the static shapes above still hold the engine to Keras
    if len(names) == 1:
        outputs = [outputs]
    return {n: tuple(out.shape[1:]) for n, out in zip(names, outputs)}


def _sizes_to_try(report: archspec.Report) -> list[dict[str, int]]:
    """The smallest valid size of each free symbol, then a larger valid one."""
    if not report.valid_inputs:
        return [{}]
    smallest = {name: valid.minimum for name, valid in report.valid_inputs.items()}
    larger = {name: list(valid.first(4))[-1] for name, valid in report.valid_inputs.items()}
    return [smallest] if larger == smallest else [smallest, larger]


# -- (a) every spec in specs/ ---------------------------------------------------------------


@pytest.mark.parametrize("path", SPEC_FILES, ids=[p.stem for p in SPEC_FILES])
def test_spec_folder_agrees(path: Path) -> None:
    """At the smallest valid size and a larger one; with free sizes left free as well, where
    no weights depend on them (else the build must ask for --input)."""
    spec = archspec.load(path)
    report = archspec.analyze(spec)
    assert report.ok, report.diagnostics
    for sizes in _sizes_to_try(report):
        assert_agrees(spec, **sizes)
    if not spec.free_symbols():
        return
    if any(
        as_int(row.trainable_params + row.non_trainable_params) is None for row in report.layers
    ):
        with pytest.raises(BuildError, match="--input"):
            build(spec)
    else:
        assert_agrees(spec)


# -- hand-picked corners -----------------------------------------------------------------------

CORNERS = [
    {
        "id": "conv1d-causal-dilated",
        "input": [11, 2],
        "layers": [
            {
                "type": "conv1d",
                "filters": 3,
                "kernel": 3,
                "dilation": 2,
                "padding": "causal",
                "activation": "prelu",
            }
        ],
    },
    {
        "id": "conv1d-causal-strided",
        "input": [11, 2],
        "layers": [
            {"type": "conv1d", "filters": 3, "kernel": 4, "strides": 3, "padding": "causal"}
        ],
    },
    {
        "id": "transpose-same-even-kernel-output-padding",
        "input": [5, 6, 2],
        "layers": [
            {
                "type": "conv2d_transpose",
                "filters": 3,
                "kernel": 4,
                "strides": 2,
                "padding": "same",
                "output_padding": 1,
            }
        ],
    },
    {
        "id": "transpose-valid-stride-beyond-kernel",
        "input": [5, 4, 2],
        "layers": [{"type": "conv2d_transpose", "filters": 2, "kernel": 2, "strides": 3}],
    },
    {
        "id": "transpose-dilated",
        "input": [5, 2],
        "layers": [
            {
                "type": "conv1d_transpose",
                "filters": 2,
                "kernel": 3,
                "dilation": 2,
                "padding": "same",
            }
        ],
    },
    {
        "id": "transpose-3d",
        "input": [3, 4, 2, 1],
        "layers": [
            {
                "type": "conv3d_transpose",
                "filters": 2,
                "kernel": [1, 2, 3],
                "strides": [2, 1, 2],
                "output_padding": [1, 0, 0],
                "use_bias": False,
            }
        ],
    },
    {
        "id": "depthwise-multiplier-same-strided",
        "input": [7, 6, 3],
        "layers": [
            {
                "type": "depthwise_conv2d",
                "kernel": 3,
                "strides": 2,
                "padding": "same",
                "depth_multiplier": 3,
                "activation": {"type": "leaky_relu", "alpha": 0.2},
            }
        ],
    },
    {
        "id": "separable-1d-dilated-explicit",
        "input": [12, 3],
        "layers": [
            {
                "type": "separable_conv1d",
                "filters": 4,
                "kernel": 3,
                "dilation": 2,
                "padding": [[2, 1]],
                "depth_multiplier": 2,
            }
        ],
    },
    {
        "id": "grouped-dilated",
        "input": [9, 9, 4],
        "layers": [
            {
                "type": "conv2d",
                "filters": 6,
                "kernel": 3,
                "groups": 2,
                "dilation": [2, 1],
                "padding": [1, [0, 2]],
            }
        ],
    },
    {
        "id": "pools-stride-beyond-window",
        "input": [10, 9, 2],
        "layers": [
            {"type": "max_pool2d", "pool": 2, "strides": 3, "padding": "same"},
            {"type": "avg_pool2d", "pool": [2, 1], "strides": [1, 2]},
        ],
    },
    {
        "id": "pool-3d-and-global-keepdims",
        "input": [4, 5, 6, 2],
        "layers": [
            {"type": "avg_pool3d", "pool": 2, "padding": "same"},
            {"type": "global_max_pool3d", "keepdims": True},
        ],
    },
    {
        "id": "resize-1d-3d",
        "input": [4, 3, 5, 2],
        "layers": [
            {"type": "upsampling3d", "size": [1, 2, 3]},
            {"type": "zero_padding3d", "padding": [[1, 0], 2, [0, 3]]},
            {"type": "cropping3d", "cropping": [1, [0, 2], 1]},
        ],
    },
    {
        "id": "resize-1d",
        "input": [6, 2],
        "layers": [
            {"type": "upsampling1d", "size": 3},
            {"type": "zero_padding1d", "padding": [[2, 0]]},
            {"type": "cropping1d", "cropping": [[1, 4]]},
            {"type": "global_avg_pool1d"},
        ],
    },
    {
        "id": "activations-as-layers",
        "input": [6, 5, 3],
        "layers": [
            {"type": "relu", "max_value": 4.0},
            {"type": "relu6"},
            {"type": "leaky_relu"},
            {"type": "elu", "alpha": 0.5},
            {"type": "softmax", "axis": 1},
            {"type": "sigmoid"},
            {"type": "tanh"},
            {"type": "gelu"},
            {"type": "swish"},
            {"type": "prelu", "shared_axes": [1]},
            {"type": "prelu"},
            {"type": "activation", "activation": "prelu"},
            {"type": "activation", "activation": "selu"},
        ],
    },
    {
        "id": "dense-unflattened-with-prelu",
        "input": [4, 5, 3],
        "layers": [
            {"type": "dense", "units": 6, "activation": "prelu", "use_bias": False},
            {"type": "layer_norm", "center": False},
            {"type": "batch_norm", "scale": False},
        ],
    },
    {
        "id": "merges-of-three",
        "input": [6, 6, 2],
        "layers": [
            {"name": "a", "type": "conv2d", "filters": 2, "kernel": 3, "padding": "same"},
            {"name": "b", "type": "conv2d", "filters": 2, "kernel": 1, "inputs": ["input"]},
            {"name": "sum", "type": "add", "inputs": ["a", "b", "input"]},
            {"name": "most", "type": "maximum", "inputs": ["a", "sum", "b"]},
            {"name": "least", "type": "minimum", "inputs": ["a", "most"]},
            {"name": "product", "type": "multiply", "inputs": ["least", "b"]},
            {"name": "mean", "type": "average", "inputs": ["product", "a"]},
            {"name": "diff", "type": "subtract", "inputs": ["mean", "b"]},
            {"name": "cat", "type": "concatenate", "inputs": ["diff", "a", "input"]},
            {"name": "rows", "type": "concatenate", "axis": 1, "inputs": ["cat", "cat"]},
        ],
    },
    {
        "id": "maxout-both-forms",
        "input": [9, 8, 3],
        "layers": [
            {
                "type": "maxout",
                "filters": 4,
                "pieces": 3,
                "kernel": [3, 2],
                "strides": 2,
                "padding": [[1, 0], [2, 2]],
            },
            {"type": "maxout", "filters": 2, "kernel": 3, "padding": "same"},
            {"type": "flatten"},
            {"type": "maxout", "units": 5, "pieces": 4},
        ],
    },
    {
        "id": "spp-avg-then-dense",
        "input": [7, 9, 3],
        "layers": [
            {"type": "spp", "levels": [1, 3], "pooling": "avg"},
            {"type": "dense", "units": 4, "activation": "softmax"},
        ],
    },
    {
        "id": "reshape-and-dropouts",
        "input": [4, 6, 2],
        "layers": [
            {"type": "spatial_dropout2d", "rate": 0.3},
            {"type": "reshape", "shape": [-1, 4]},
            {"type": "spatial_dropout1d"},
            {"type": "reshape", "shape": [2, "2*2", 3, 2]},
            {"type": "spatial_dropout3d"},
            {"type": "flatten"},
            {"type": "dropout", "rate": 0.1},
        ],
    },
    {
        "id": "squeeze-excite",
        "input": [8, 8, 4],
        "layers": [
            {"name": "x", "type": "conv2d", "filters": 4, "kernel": 3, "padding": "same"},
            {"name": "squeeze", "type": "global_avg_pool2d", "keepdims": True},
            {"name": "reduce", "type": "conv2d", "filters": 2, "kernel": 1, "activation": "relu"},
            {"name": "gate", "type": "conv2d", "filters": 4, "kernel": 1},
            {"name": "shift", "type": "rescaling", "scale": 1, "offset": 3},
            {"name": "cap", "type": "relu", "max_value": 6.0},
            {"name": "sixth", "type": "rescaling", "scale": 0.16666666666666666},
            {"name": "excite", "type": "multiply", "inputs": ["x", "sixth"]},
        ],
    },
    {
        "id": "broadcasting-merges",
        "input": [6, 5, 3],
        "layers": [
            {"name": "col", "type": "avg_pool2d", "pool": [6, 1]},
            {"name": "row", "type": "avg_pool2d", "pool": [1, 5], "inputs": ["input"]},
            {"name": "one", "type": "global_max_pool2d", "keepdims": True, "inputs": ["input"]},
            {"name": "sum", "type": "add", "inputs": ["col", "row"]},
            {"name": "diff", "type": "subtract", "inputs": ["one", "sum"]},
            {"name": "mean", "type": "average", "inputs": ["diff", "col", "one"]},
            {"name": "most", "type": "maximum", "inputs": ["row", "mean"]},
            {"name": "least", "type": "minimum", "inputs": ["one", "most", "input"]},
        ],
    },
    {
        "id": "rescaling-normalization-dropout-noise",
        "input": [5, 4, 3],
        "layers": [
            {"type": "rescaling", "scale": 0.00392156862745098},
            {"type": "rescaling", "scale": [1, 2, 3], "offset": [-1, 0, 1]},
            {"type": "normalization"},
            {"type": "normalization", "mean": [0.485, 0.456, 0.406], "variance": 0.05},
            {"type": "normalization", "mean": 0.5, "variance": 0.25},
            {"type": "dropout", "rate": 0.2, "noise_shape": [1, 1, 1]},
            {"type": "dropout", "rate": 0.3, "noise_shape": [1, 1, 3]},
            {"type": "dropout", "noise_shape": [5, None, 1]},
            {"type": "flatten"},
            {"type": "normalization"},
        ],
    },
    {
        "id": "hard-activations-layer-scale-stochastic-depth",
        "input": [6, 6, 3],
        "layers": [
            {"type": "conv2d", "filters": 4, "kernel": 3, "activation": "hard_swish"},
            {"type": "conv2d", "filters": 4, "kernel": 1, "activation": "hard_silu"},
            {"type": "dense", "units": 5, "activation": "hard_sigmoid"},
            {"type": "activation", "activation": "hard_swish"},
            {"type": "hard_sigmoid"},
            {"type": "hard_swish"},
            {"type": "layer_scale", "init": 0.5},
            {"type": "stochastic_depth", "rate": 0.25},
            {"type": "layer_scale"},
        ],
    },
    {
        "id": "same-zero-padding-before-valid-strided",
        "input": [9, 8, 2],
        "layers": [
            {"type": "zero_padding2d", "padding": "same", "kernel": 3, "strides": 2},
            {"type": "conv2d", "filters": 2, "kernel": 3, "strides": 2},
            {"type": "zero_padding2d", "padding": "same", "kernel": [5, 2], "strides": [2, 3]},
            {"type": "depthwise_conv2d", "kernel": [5, 2], "strides": [2, 3]},
        ],
    },
    {
        "id": "params-in-expressions",
        "input": [8, 8, "channels"],
        "params": {"channels": 3, "width": 4},
        "layers": [
            {"type": "conv2d", "filters": "2*width", "kernel": "width - 1", "padding": "same"},
            {"type": "dense", "units": "width // 2"},
        ],
    },
]


@pytest.mark.parametrize("case", CORNERS, ids=[c["id"] for c in CORNERS])
def test_corner_cases_agree(case: dict[str, Any]) -> None:
    spec = archspec.from_dict(
        {
            "archspec": 1,
            "name": case["id"],
            "input": {"shape": case["input"]},
            "params": case.get("params", {}),
            "layers": case["layers"],
        }
    )
    report = archspec.analyze(spec)
    assert report.ok, report.errors
    assert_agrees(spec)


# -- refused by both ----------------------------------------------------------------------------


def _keras_transpose_same_even_kernel() -> None:
    layer = keras.layers.Conv1DTranspose(2, 2, padding="same", output_padding=0)
    inputs = keras.Input((5, 1))
    keras.Model(inputs, layer(inputs))(np.zeros((1, 5, 1), dtype="float32"))


REFUSED = [
    {
        "id": "causal-depthwise",
        "code": "bad-padding",
        "input": [8, 2],
        "layer": {"type": "depthwise_conv1d", "kernel": 3, "padding": "causal"},
        "keras": lambda: keras.layers.DepthwiseConv1D(3, padding="causal"),
    },
    {
        "id": "causal-separable",
        "code": "bad-padding",
        "input": [8, 2],
        "layer": {"type": "separable_conv1d", "filters": 2, "kernel": 3, "padding": "causal"},
        "keras": lambda: keras.layers.SeparableConv1D(2, 3, padding="causal"),
    },
    {
        "id": "causal-2d",
        "code": "bad-padding",
        "input": [8, 8, 2],
        "layer": {"type": "conv2d", "filters": 2, "kernel": 3, "padding": "causal"},
        "keras": lambda: keras.layers.Conv2D(2, 3, padding="causal"),
    },
    {
        "id": "causal-maxout",
        "code": "bad-padding",
        "input": [8, 8, 2],
        "layer": {"type": "maxout", "filters": 2, "kernel": 3, "padding": "causal"},
        "keras": lambda: Maxout(2, kernel_size=(3, 3), padding="causal"),
    },
    {
        "id": "strides-and-dilation",
        "code": "stride-and-dilation",
        "input": [8, 8, 2],
        "layer": {"type": "conv2d", "filters": 2, "kernel": 3, "strides": 2, "dilation": 2},
        "keras": lambda: keras.layers.Conv2D(2, 3, strides=2, dilation_rate=2),
    },
    {
        "id": "output-padding-not-below-strides",
        "code": "out-of-range",
        "input": [8, 2],
        "layer": {
            "type": "conv1d_transpose",
            "filters": 2,
            "kernel": 3,
            "strides": 2,
            "output_padding": 2,
        },
        "keras": lambda: keras.layers.Conv1DTranspose(2, 3, strides=2, output_padding=2),
    },
    {
        "id": "transpose-same-even-kernel-no-output-padding",
        "code": "bad-output-padding",
        "input": [5, 1],
        "layer": {
            "type": "conv1d_transpose",
            "filters": 2,
            "kernel": 2,
            "padding": "same",
            "output_padding": 0,
        },
        "keras": _keras_transpose_same_even_kernel,
    },
    {
        "id": "groups-not-dividing-channels",
        "code": "bad-groups",
        "input": [8, 8, 3],
        "layer": {"type": "conv2d", "filters": 4, "kernel": 1, "groups": 2},
        "keras": lambda: keras.layers.Conv2D(4, 1, groups=2)(keras.Input((8, 8, 3))),
    },
]


@pytest.mark.parametrize("case", REFUSED, ids=[c["id"] for c in REFUSED])
def test_checker_refuses_what_keras_refuses(case: dict[str, Any]) -> None:
    spec = archspec.from_dict(
        {
            "archspec": 1,
            "name": case["id"],
            "input": {"shape": case["input"]},
            "layers": [case["layer"]],
        }
    )
    report = archspec.analyze(spec)
    assert [d.code for d in report.errors] == [case["code"]]
    with pytest.raises(Exception):  # noqa: B017 - Keras raises ValueError, TensorFlow its own
        case["keras"]()


# -- (b) generated specs ----------------------------------------------------------------------


SUFFIX = {1: "1d", 2: "2d", 3: "3d"}
ACTIVATIONS = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "relu",
            "relu6",
            "tanh",
            "sigmoid",
            "elu",
            "gelu",
            "swish",
            "selu",
            "leaky_relu",
            "prelu",
            "softplus",
            "hard_sigmoid",
            "mish",
            "linear",
        ]
    ),
    st.builds(lambda a: {"type": "leaky_relu", "alpha": a}, st.sampled_from([0.1, 0.2])),
    st.builds(lambda a: {"type": "elu", "alpha": a}, st.sampled_from([0.5, 2.0])),
)


class _Net:
    """A spec under construction, with the concrete shape the generator expects so far.

    The generator keeps its own rough arithmetic only to propose layers that fit; whether
    they do is the engine's call (``assume(report.ok)``), and Keras is the reference.
    """

    def __init__(self, rank: int, spatial: list[int], channels: int):
        self.rank = rank
        self.spatial = spatial
        self.channels = channels
        self.layers: list[dict[str, Any]] = []
        self.last = "input"

    def add(
        self,
        layer: dict[str, Any],
        spatial: list[int] | None = None,
        channels: int | None = None,
        inputs: list[str] | None = None,
    ) -> str:
        name = f"l{len(self.layers)}"
        entry = {"name": name, **layer}
        if inputs is not None:
            entry["inputs"] = inputs
        self.layers.append(entry)
        self.last = name
        if spatial is not None:
            self.spatial = spatial
        if channels is not None:
            self.channels = channels
        return name


def _window(size: int, kernel: int, stride: int, dilation: int, padding: Any) -> int:
    keff = dilation * (kernel - 1) + 1
    if padding == "same":
        return -(-size // stride)
    if padding == "causal":
        return (size - 1) // stride + 1
    if padding == "valid":
        return (size - keff) // stride + 1
    lo, hi = padding
    return (size + lo + hi - keff) // stride + 1


def _transposed(
    size: int, kernel: int, stride: int, dilation: int, padding: str, out_pad: int | None
) -> int:
    keff = dilation * (kernel - 1) + 1
    if out_pad is None:
        return size * stride if padding == "same" else (size - 1) * stride + max(keff, stride)
    return (size - 1) * stride + (keff % 2 if padding == "same" else keff) + out_pad


def _padding_field(pairs: list[tuple[int, int]], form: int) -> Any:
    """The same explicit padding written as an int, one int per axis, or pairs."""
    if form == 0 and len({p for pair in pairs for p in pair}) == 1:
        return pairs[0][0]
    if form == 1 and all(lo == hi for lo, hi in pairs):
        return [lo for lo, _ in pairs]
    return [[lo, hi] for lo, hi in pairs]


@st.composite
def _windowed(
    draw: st.DrawFn, net: _Net, *, causal: bool = False, dilated: bool = True, explicit: bool = True
) -> tuple[dict[str, Any], list[int]]:
    """Kernel, strides, padding, dilation that fit the current spatial size."""
    rank = net.rank
    kernel = [draw(st.integers(1, 3)) for _ in range(rank)]
    strides = [draw(st.integers(1, 2)) for _ in range(rank)]
    dilation = [1] * rank
    if dilated and max(strides) == 1 and draw(st.booleans()):
        dilation = [draw(st.integers(1, 2)) for _ in range(rank)]
    modes = ["valid", "same"] + (["explicit"] if explicit else []) + (["causal"] if causal else [])
    mode = draw(st.sampled_from(modes))
    pairs = [(draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(rank)]
    padding: Any = mode if mode != "explicit" else _padding_field(pairs, draw(st.integers(0, 2)))
    axis_pad = [mode if mode != "explicit" else pair for pair in pairs]
    out = [
        _window(n, k, s, d, p)
        for n, k, s, d, p in zip(net.spatial, kernel, strides, dilation, axis_pad)
    ]
    if min(out) < 1:
        padding, out = "same", [-(-n // s) for n, s in zip(net.spatial, strides)]
    fields: dict[str, Any] = {
        "kernel": kernel if len(set(kernel)) > 1 or draw(st.booleans()) else kernel[0],
        "strides": strides if len(set(strides)) > 1 else strides[0],
        "padding": padding,
    }
    if max(dilation) > 1:
        fields["dilation"] = dilation
    return fields, out


@st.composite
def _step(draw: st.DrawFn, net: _Net) -> None:
    """Append one layer (or a small branch and its merge) that fits the current shape."""
    r, c = net.rank, net.channels
    kinds = [
        "conv",
        "conv",
        "depthwise",
        "pool",
        "norm",
        "activation",
        "dense",
        "residual",
        "concat",
        "pad",
        "crop",
        "dropout",
        "gate",
        "scale",
        "same_pad",
    ]
    if r < 3:
        kinds.append("separable")
    if max(net.spatial) <= 8:
        kinds += ["transpose", "upsampling"]
    if r == 2:
        kinds.append("maxout_conv")
    kind = draw(st.sampled_from(kinds))
    if kind == "conv":
        fields, out = draw(_windowed(net, causal=r == 1))
        groups = draw(st.sampled_from([g for g in (1, 2, 3) if c % g == 0]))
        filters = groups * draw(st.integers(1, 3))
        layer = {
            "type": f"conv{SUFFIX[r]}",
            "filters": filters,
            **fields,
            "activation": draw(ACTIVATIONS),
            "use_bias": draw(st.booleans()),
        }
        if groups > 1:
            layer["groups"] = groups
        net.add(layer, out, filters)
    elif kind in ("depthwise", "separable"):
        fields, out = draw(_windowed(net))
        mult = draw(st.integers(1, 2))
        layer = {
            "type": f"{kind}_conv{SUFFIX[r]}",
            **fields,
            "depth_multiplier": mult,
            "activation": draw(ACTIVATIONS),
            "use_bias": draw(st.booleans()),
        }
        if kind == "separable":
            layer["filters"] = draw(st.integers(1, 4))
        if r == 3:
            # Keras has no DepthwiseConv3D: a grouped conv3d with groups = channels is one.
            layer = {"type": "conv3d", "filters": c * mult, "groups": c, **fields}
        net.add(layer, out, layer.get("filters", c * mult))
    elif kind == "transpose":
        kernel = [draw(st.integers(1, 3)) for _ in range(r)]
        strides = [draw(st.integers(1, 2)) for _ in range(r)]
        padding = draw(st.sampled_from(["valid", "same"]))
        layer = {
            "type": f"conv{SUFFIX[r]}_transpose",
            "filters": draw(st.integers(1, 3)),
            "kernel": kernel,
            "strides": strides,
            "padding": padding,
            "activation": draw(ACTIVATIONS),
        }
        # TensorFlow's 'same' transposed conv cannot output (W - 1)*S: an even kernel needs
        # output_padding >= 1 there (the engine refuses it otherwise).
        lowest = [int(padding == "same" and k % 2 == 0) for k in kernel]
        if draw(st.booleans()) and all(low < s for low, s in zip(lowest, strides)):
            layer["output_padding"] = [
                draw(st.integers(low, s - 1)) for low, s in zip(lowest, strides)
            ]
        elif max(strides) == 1 and draw(st.booleans()):
            layer["dilation"] = draw(st.integers(1, 2))
        pad = layer.get("output_padding")
        dilation = layer.get("dilation", 1)
        out = [
            _transposed(n, k, s, dilation, padding, None if pad is None else pad[i])
            for i, (n, k, s) in enumerate(zip(net.spatial, kernel, strides))
        ]
        net.add(layer, out, layer["filters"])
    elif kind == "pool":
        fields, out = draw(_windowed(net, dilated=False, explicit=False))
        kind_name = draw(st.sampled_from(["max", "avg"]))
        layer = {
            "type": f"{kind_name}_pool{SUFFIX[r]}",
            "pool": fields["kernel"],
            "padding": fields["padding"],
        }
        if draw(st.booleans()):
            layer["strides"] = fields["strides"]
        else:
            pool = (
                fields["kernel"] if isinstance(fields["kernel"], list) else ([fields["kernel"]] * r)
            )
            out = [_window(n, k, k, 1, fields["padding"]) for n, k in zip(net.spatial, pool)]
        net.add(layer, out if min(out) >= 1 else None)
    elif kind == "norm":
        if draw(st.booleans()):
            net.add(
                {"type": "batch_norm", "center": draw(st.booleans()), "scale": draw(st.booleans())}
            )
        else:
            net.add(
                {"type": "layer_norm", "center": draw(st.booleans()), "scale": draw(st.booleans())}
            )
    elif kind == "activation":
        choice = draw(
            st.sampled_from(
                [
                    "activation",
                    "relu",
                    "relu6",
                    "leaky_relu",
                    "elu",
                    "softmax",
                    "sigmoid",
                    "tanh",
                    "gelu",
                    "swish",
                    "prelu",
                ]
            )
        )
        layer: dict[str, Any] = {"type": choice}
        if choice == "activation":
            layer["activation"] = draw(ACTIVATIONS.filter(lambda a: a is not None))
        elif choice == "prelu" and draw(st.booleans()):
            layer["shared_axes"] = sorted(draw(st.sets(st.integers(1, r + 1), max_size=r)))
        elif choice == "relu" and draw(st.booleans()):
            layer["max_value"] = 6.0
        net.add(layer)
    elif kind == "dense":
        units = draw(st.integers(1, 4))
        if draw(st.booleans()):
            net.add(
                {"type": "dense", "units": units, "activation": draw(ACTIVATIONS)}, channels=units
            )
        else:
            net.add(
                {"type": "maxout", "units": units, "pieces": draw(st.integers(2, 3))},
                channels=units,
            )
    elif kind == "maxout_conv":
        fields, out = draw(_windowed(net, dilated=False))
        filters = draw(st.integers(1, 3))
        net.add(
            {"type": "maxout", "filters": filters, "pieces": draw(st.integers(2, 3)), **fields},
            out,
            filters,
        )
    elif kind == "residual":
        start = net.last
        kernel = draw(st.sampled_from([1, 3]))
        branch = net.add(
            {
                "type": f"conv{SUFFIX[r]}",
                "filters": c,
                "kernel": kernel,
                "padding": "same",
                "activation": draw(ACTIVATIONS),
            }
        )
        if draw(st.booleans()):
            branch = net.add({"type": "batch_norm"})
        merge = draw(
            st.sampled_from(["add", "subtract", "multiply", "average", "maximum", "minimum"])
        )
        net.add({"type": merge}, inputs=[start, branch])
    elif kind == "concat":
        start = net.last
        along_space = draw(st.booleans())
        f1 = c if along_space else draw(st.integers(1, 3))
        left = net.add({"type": f"conv{SUFFIX[r]}", "filters": f1, "kernel": 1}, inputs=[start])
        right = net.add(
            {
                "type": f"max_pool{SUFFIX[r]}",
                "pool": draw(st.integers(1, 3)),
                "strides": 1,
                "padding": "same",
            },
            inputs=[start],
        )
        if along_space:  # Keras's axis numbering: 0 is the batch, 1 the first spatial axis
            net.add(
                {"type": "concatenate", "axis": 1},
                [2 * net.spatial[0], *net.spatial[1:]],
                inputs=[left, right],
            )
        else:
            net.add({"type": "concatenate"}, channels=f1 + c, inputs=[left, right])
    elif kind == "pad":
        pairs = [(draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(r)]
        net.add(
            {
                "type": f"zero_padding{SUFFIX[r]}",
                "padding": _padding_field(pairs, draw(st.integers(0, 2))),
            },
            [n + lo + hi for n, (lo, hi) in zip(net.spatial, pairs)],
        )
    elif kind == "crop":
        pairs = []
        for n in net.spatial:
            lo = draw(st.integers(0, min(2, n - 1)))
            pairs.append((lo, draw(st.integers(0, min(2, n - 1 - lo)))))
        net.add(
            {
                "type": f"cropping{SUFFIX[r]}",
                "cropping": _padding_field(pairs, draw(st.integers(0, 2))),
            },
            [n - lo - hi for n, (lo, hi) in zip(net.spatial, pairs)],
        )
    elif kind == "dropout":
        spatial = draw(st.booleans())
        net.add({"type": f"spatial_dropout{SUFFIX[r]}" if spatial else "dropout", "rate": 0.25})
    elif kind == "gate":
        # Squeeze-and-excitation and its relatives: a (1, ..., 1, C) map broadcast over space.
        start = net.last
        pooled = net.add(
            {"type": f"global_{draw(st.sampled_from(['avg', 'max']))}_pool{SUFFIX[r]}",
             "keepdims": True},
            inputs=[start],
        )  # fmt: skip
        gate = net.add(
            {"type": f"conv{SUFFIX[r]}", "filters": c, "kernel": 1,
             "activation": draw(st.sampled_from(["sigmoid", "hard_sigmoid", None]))},
            inputs=[pooled],
        )  # fmt: skip
        merge = draw(
            st.sampled_from(["add", "subtract", "multiply", "average", "maximum", "minimum"])
        )
        order = [start, gate] if draw(st.booleans()) else [gate, start]
        net.add({"type": merge}, inputs=order)
    elif kind == "scale":
        choice = draw(st.sampled_from(["rescaling", "normalization", "layer_scale", "depth"]))
        if choice == "rescaling":
            per_channel = draw(st.booleans())
            scale: Any = [0.5 * (i + 1) for i in range(c)] if per_channel else 0.25
            net.add({"type": "rescaling", "scale": scale, "offset": draw(st.sampled_from([0, 3]))})
        elif choice == "normalization":
            fixed = draw(st.booleans())
            net.add({"type": "normalization", **({"mean": 0.5, "variance": 2.0} if fixed else {})})
        elif choice == "layer_scale":
            net.add({"type": "layer_scale", "init": 0.1})
        else:
            net.add({"type": "stochastic_depth", "rate": 0.2})
    elif kind == "same_pad":
        kernel = [draw(st.integers(1, 5)) for _ in range(r)]
        strides = [draw(st.integers(1, 3)) for _ in range(r)]
        padded = []
        for n, k, s in zip(net.spatial, kernel, strides):
            rem = n % s
            padded.append(n + max(k - (s if rem == 0 else rem), 0))
        net.add({"type": f"zero_padding{SUFFIX[r]}", "padding": "same", "kernel": kernel,
                 "strides": strides}, padded)  # fmt: skip
        out = [(n - k) // s + 1 for n, k, s in zip(padded, kernel, strides)]
        net.add(
            {"type": f"max_pool{SUFFIX[r]}", "pool": kernel, "strides": strides},
            out if min(out) >= 1 else None,
        )
    elif kind == "upsampling":
        size = [draw(st.integers(1, 2)) for _ in range(r)]
        layer = {"type": f"upsampling{SUFFIX[r]}", "size": size[0] if r == 1 else size}
        if r == 2 and draw(st.booleans()):
            layer["interpolation"] = "bilinear"
        net.add(layer, [n * s for n, s in zip(net.spatial, size)])


@st.composite
def _head(draw: st.DrawFn, net: _Net) -> None:
    """Optionally end like a classifier: flatten + dense, global pooling or SPP."""
    r = net.rank
    heads = ["none", "flatten", "global"] + (["spp"] if r == 2 else [])
    head = draw(st.sampled_from(heads))
    if head == "flatten":
        net.add({"type": "flatten"})
        if draw(st.booleans()):
            net.add({"type": "reshape", "shape": [-1, 1]})
            net.add({"type": "flatten"})
        net.add(
            {"type": "dense", "units": draw(st.integers(1, 4)), "activation": draw(ACTIVATIONS)}
        )
    elif head == "global":
        kind = draw(st.sampled_from(["max", "avg"]))
        net.add({"type": f"global_{kind}_pool{SUFFIX[r]}", "keepdims": draw(st.booleans())})
    elif head == "spp":
        smallest = min(net.spatial)
        levels = draw(
            st.lists(st.integers(1, min(4, smallest)), min_size=1, max_size=3, unique=True)
        )
        net.add(
            {
                "type": "spp",
                "levels": sorted(levels),
                "pooling": draw(st.sampled_from(["max", "avg"])),
            }
        )
        net.add({"type": "dense", "units": 2})


@st.composite
def generated_specs(draw: st.DrawFn) -> archspec.Spec:
    rank = draw(st.sampled_from([1, 2, 2, 3]))
    biggest = {1: 24, 2: 12, 3: 6}[rank]
    spatial = [draw(st.integers(3, biggest)) for _ in range(rank)]
    channels = draw(st.integers(1, 4))
    net = _Net(rank, spatial, channels)
    for _ in range(draw(st.integers(1, 4))):
        draw(_step(net))
        if min(net.spatial) < 1:
            break
    draw(_head(net))
    return archspec.from_dict(
        {
            "archspec": 1,
            "name": "generated",
            "input": {"shape": [*spatial, channels]},
            "layers": net.layers,
        }
    )


@given(generated_specs())
def test_generated_specs_agree(spec: archspec.Spec) -> None:
    assume(archspec.analyze(spec).ok)
    assert_agrees(spec)


def test_generator_mostly_valid() -> None:
    """``assume`` is a safety net, not the generator: most draws must be valid specs."""
    seen: list[bool] = []

    @settings(max_examples=60, database=None)
    @given(generated_specs())
    def record(spec: archspec.Spec) -> None:
        seen.append(archspec.analyze(spec).ok)

    record()
    assert sum(seen) >= 0.8 * len(seen), f"only {sum(seen)} of {len(seen)} draws are valid"


# -- symbolic sizes -----------------------------------------------------------------------


def test_symbolic_input_builds_with_none_dimensions() -> None:
    spec = archspec.from_dict(
        {
            "archspec": 1,
            "name": "fcn",
            "input": {"shape": ["H", "W", 3]},
            "layers": [
                {
                    "name": "conv",
                    "type": "conv2d",
                    "filters": 4,
                    "kernel": 3,
                    "strides": 2,
                    "padding": "same",
                },
                {"name": "pool", "type": "max_pool2d", "pool": 2},
                {"name": "spp", "type": "spp", "levels": [1, 2]},
                {"name": "out", "type": "dense", "units": 3},
            ],
        }
    )
    built = assert_agrees(spec)
    assert tuple(built.model.get_layer("conv").output.shape) == (None, None, None, 4)
    assert tuple(built.model.get_layer("spp").output.shape) == (None, 20)
    assert_agrees(spec, H=9, W=13)


# -- (c) the suite notices a wrong rule -----------------------------------------------------


STRIDED_SAME = archspec.from_dict(
    {
        "archspec": 1,
        "name": "strided",
        "input": {"shape": [9, 9, 2]},
        "layers": [
            {
                "name": "conv",
                "type": "conv2d",
                "filters": 3,
                "kernel": 3,
                "strides": 2,
                "padding": "same",
            },
            {"name": "bn", "type": "batch_norm"},
        ],
    }
)


def test_agreement_holds_for_the_unpatched_engine() -> None:
    assert_agrees(STRIDED_SAME)


def test_wrong_same_padding_rule_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    from archspec import sizes

    right = sizes.conv_output_size

    def floor_instead_of_ceil(
        size: Any, kernel: int, stride: int, padding: Any, dilation: int = 1
    ) -> Any:
        if padding == "same":
            return size // stride  # should be ceil(size / stride)
        return right(size, kernel, stride, padding, dilation)

    monkeypatch.setattr(sizes, "conv_output_size", floor_instead_of_ceil)
    with pytest.raises(AssertionError, match=r"conv \(conv2d\): shape engine \(4, 4, 3\)"):
        assert_agrees(STRIDED_SAME)


def test_wrong_batch_norm_count_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    from archspec.layers.core import BatchNorm

    right = BatchNorm.infer

    def statistics_as_trainable(self: Any, ctx: Any, inputs: Any) -> Any:
        inferred = right(self, ctx, inputs)
        inferred.trainable, inferred.non_trainable = (
            inferred.trainable + inferred.non_trainable,
            0,
        )
        return inferred

    monkeypatch.setattr(BatchNorm, "infer", statistics_as_trainable)
    with pytest.raises(AssertionError, match="bn \\(batch_norm\\): trainable params"):
        assert_agrees(STRIDED_SAME)
