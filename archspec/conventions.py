"""How costs are counted: the constants every report, rendering and JSON document agrees on.

A leaf module (no imports from archspec), so the report object and its renderers can both read
it without importing each other.
"""

from __future__ import annotations

BYTES_PER_VALUE = 4
"""float32: what Keras builds by default; mixed precision halves activations, not weights."""

DEFAULT_BATCH = 32
"""Keras's ``fit`` batch size when none is given: the training estimate a Keras user meets first."""

OPTIMIZER_SLOTS = 2
"""Adam keeps two values per weight (first and second moments)."""

CONVENTIONS = {
    "macs": "multiply-accumulates of convolution and dense weights only (the fvcore/ptflops "
    "convention); bias additions, normalization, activations, pooling, merges and "
    "resizing are not counted",
    "flops": "exactly 2 x macs (one multiply and one add per MAC), nothing else",
    "bytes_per_value": BYTES_PER_VALUE,
    "activation_elements": "elements of each layer's output for one sample; the total sums "
    "every layer's output and excludes the input",
    "training_bytes": "4 bytes x (weights + gradients + optimizer slots per weight) + "
    "activation bytes x batch size",
}
"""How costs are counted, stated in every JSON report since the peer tools disagree."""
