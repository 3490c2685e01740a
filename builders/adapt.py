"""Statistics a model learns from its training data before fitting: ``Normalization``.

A ``normalization`` layer without ``mean`` and ``variance`` is adapted on the training split,
seen as the layer sees it: through the layers before it (a ``rescaling`` of the pixels, say)
at inference, so that augmentation does not shift the statistics. The sums are kept in
float64: Keras's own ``adapt`` merges float32 batch means and drifts by about 1e-5 on pixels.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

__all__ = ["adapt_normalization", "unadapted_normalization"]


def unadapted_normalization(model: keras.Model) -> list[Any]:
    """The ``Normalization`` layers whose statistics must come from data, in graph order."""
    return [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.Normalization) and layer.input_mean is None
    ]


def adapt_normalization(model: keras.Model, train: Any) -> list[str]:
    """Adapt every such layer on ``train`` (batches of ``(x, y)``); returns their names.

    Earlier layers are adapted first, so a later one sees its inputs as trained. The layers
    normalise per channel (the last axis), as the spec's ``normalization`` does.
    """
    adapted = []
    for layer in unadapted_normalization(model):
        feed = keras.Model(model.inputs, layer.input)
        total = squares = None
        count = 0
        for batch in train:
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            seen = np.asarray(feed(x, training=False), dtype=np.float64)
            flat = seen.reshape(-1, seen.shape[-1])
            total = flat.sum(axis=0) + (0 if total is None else total)
            squares = (flat * flat).sum(axis=0) + (0 if squares is None else squares)
            count += flat.shape[0]
        if not count:
            continue
        mean = total / count  # type: ignore[operator]
        variance = np.maximum(squares / count - mean * mean, 0.0)  # type: ignore[operator]
        layer.adapt_mean.assign(mean.reshape(layer.adapt_mean.shape))
        layer.adapt_variance.assign(variance.reshape(layer.adapt_variance.shape))
        layer.count.assign(count)
        layer.finalize_state()
        adapted.append(layer.name)
    return adapted
