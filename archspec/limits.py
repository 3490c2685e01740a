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


DEFAULT_LIMITS = Limits()
