"""The lecture's worked convolutions, reproduced by a one-layer spec built in Keras.

Figures from ``worked-examples.md`` sections 2 and 3: cross-correlation, stride 1, no
padding. Keras lays a kernel out as kH x kW x in x out, so ``kernel[:, :, i, o] = W[o, i]``
in the lecture's (Torch) layout, and images are channels-last.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import archspec

pytest.importorskip("keras")

from builders import build_model

pytestmark = pytest.mark.keras

LECTURE_NET = Path(__file__).resolve().parent.parent / "specs" / "lecture_net.yaml"

IMAGE = [
    [0, 1, 1, 1, 0, 0, 0],
    [0, 0, 1, 1, 1, 0, 0],
    [0, 0, 0, 1, 1, 1, 0],
    [0, 0, 0, 1, 1, 0, 0],
    [0, 0, 1, 1, 0, 0, 0],
    [0, 1, 1, 0, 0, 0, 0],
    [1, 1, 0, 0, 0, 0, 0],
]
KERNEL = [[1, 0, 1], [0, 1, 0], [1, 0, 1]]
EXPECTED_2 = [
    [1, 4, 3, 4, 1],
    [1, 2, 4, 3, 3],
    [1, 2, 3, 4, 1],
    [1, 3, 3, 1, 1],
    [3, 3, 1, 1, 0],
]

PLANES = [  # I[1], I[2]
    [[1, -2, 2, 2], [2, 1, 3, -2], [-2, 3, -3, 1], [-1, 2, -4, 2]],
    [[3, 0, 0, 0], [-2, -2, 1, -1], [2, -1, 3, 1], [5, -2, 0, 1]],
]
WEIGHTS = [  # W[o][i], each kH x kW
    [[[1, -2], [-2, 1]], [[1, 0], [0, 1]]],
    [[[3, 1], [2, 2]], [[0, 0], [0, 4]]],
]
BIAS = [0.1, 0.2]
EXPECTED_3 = [  # O[1], O[2]
    [[3.1, -3.9, -10.9], [4.1, -12.9, 16.1], [-3.9, 0.1, 9.1]],
    [[-0.8, 8.2, 6.2], [5.2, 18.2, 7.2], [-8.8, 2.2, -7.8]],
]


def _one_conv(shape: list[int], filters: int, kernel: int, use_bias: bool) -> archspec.Spec:
    return archspec.from_dict(
        {
            "archspec": 1,
            "name": "worked",
            "input": {"shape": shape},
            "layers": [
                {
                    "name": "conv",
                    "type": "conv2d",
                    "filters": filters,
                    "kernel": kernel,
                    "use_bias": use_bias,
                }
            ],
        }
    )


def test_single_channel_example() -> None:
    model = build_model(_one_conv([7, 7, 1], 1, 3, use_bias=False))
    kernel = np.array(KERNEL, dtype="float32").reshape(3, 3, 1, 1)
    model.get_layer("conv").set_weights([kernel])
    image = np.array(IMAGE, dtype="float32").reshape(1, 7, 7, 1)
    out = model.predict(image, verbose=0)
    assert out.shape == (1, 5, 5, 1)
    np.testing.assert_allclose(out[0, :, :, 0], EXPECTED_2, atol=1e-6)


def test_multi_channel_example_with_bias() -> None:
    model = build_model(_one_conv([4, 4, 2], 2, 2, use_bias=True))
    weights = np.array(WEIGHTS, dtype="float32")  # (out, in, kH, kW)
    kernel = weights.transpose(2, 3, 1, 0)  # kernel[:, :, i, o] = W[o, i]
    model.get_layer("conv").set_weights([kernel, np.array(BIAS, dtype="float32")])
    image = np.array(PLANES, dtype="float32").transpose(1, 2, 0)[None]  # channels last
    out = model.predict(image, verbose=0)
    assert out.shape == (1, 3, 3, 2)
    np.testing.assert_allclose(out[0].transpose(2, 0, 1), EXPECTED_3, atol=1e-6)


def test_lecture_network_shapes() -> None:
    """Section 4: 24x24x20, 12x12x20, 8x8x20, 4x4x20 (320 values), 1024, 10."""
    model = build_model(archspec.load(LECTURE_NET))
    shapes = [tuple(layer.output.shape[1:]) for layer in model.layers[1:]]
    assert shapes == [(24, 24, 20), (12, 12, 20), (8, 8, 20), (4, 4, 20), (320,), (1024,), (10,)]
