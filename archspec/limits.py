"""Bounds on what a spec may ask of the checker, so a hostile file cannot hang or exhaust it.

Every bound is far above real architectures (the ResNet-50 spec is 3.5 kB and a few hundred
nodes; ResNet-152 is ~500 layers) and low enough that the worst file within them stays cheap.
PyYAML is pure Python, about 50 µs per node and 1 µs per character, so the node and byte
bounds cap a load at a few seconds and ~50 MB. Pass another ``Limits`` to ``archspec.load`` /
``archspec.analyze`` to change them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 1024 * 1024
    """Largest spec file read, in bytes (characters for text); checked before parsing."""
    max_depth: int = 64
    """Deepest nesting of mappings and lists, the top-level mapping being 1."""
    max_nodes: int = 50_000
    """Most nodes in the loaded tree, counting every use of an alias (billion laughs)."""
    max_int_digits: int = 30
    """Longest integer literal, in decimal digits; sizes beyond that are never meant."""
    max_string: int = 10_000
    """Longest scalar (string, number or key) as written, in characters."""
    max_layers: int = 20_000
    """Most layers after blocks and repeats are expanded."""
    max_repeat: int = 1_000
    """Largest ``repeat`` of one block use."""
    max_nesting: int = 16
    """Deepest floor/ceiling nesting of a free size (one level per stride that does not divide
    out). Real networks stay near 5 (ResNet-152, U-Net, MobileNetV2); each level can double the
    period of the exact solver and sympy's own recursion gives out near 150."""
    max_terms: int = 400
    """Largest size expression, in terms counted with repetition (the specs here stay under 40).
    Concatenating a branch with its own strided copy along a spatial axis doubles the expression
    at each level; sympy's simplification of ``Mod`` and ``floor`` then grows as fast."""
    max_errors: int = 200
    """Errors after which the walk stops: each error can scan every name in scope for a hint."""
    max_tiling_checks: int = 256
    """Distinct symbolic tiling remainders checked against the valid sizes; the rest get a note."""
    max_expand_errors: int = 500
    """Errors after which block expansion stops: a failing block use repeated a million times
    says no more."""
    max_hints: int = 50
    """Dangling names that get a "did you mean" hint in block expansion; each scans every layer
    name."""


DEFAULT_LIMITS = Limits()
