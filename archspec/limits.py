"""Bounds on what a spec may ask of the checker, so a hostile file cannot hang or exhaust it.

Every bound is generous for real architectures (ResNet-152 is ~500 layers) and small enough
that the worst file within them is checked in well under a second. Pass another ``Limits`` to
``archspec.load`` / ``archspec.analyze`` to change them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 4 * 1024 * 1024
    """Largest spec file read, in bytes; checked before parsing."""
    max_depth: int = 64
    """Deepest nesting of mappings and lists; checked on the event stream before composing."""
    max_nodes: int = 200_000
    """Most nodes in the loaded tree, counting every use of an alias (billion laughs)."""
    max_int_digits: int = 30
    """Longest integer literal, in digits; sizes beyond that are never meant."""
    max_string: int = 10_000
    """Longest string value, in characters."""
    max_layers: int = 20_000
    """Most layers after blocks and repeats are expanded."""
    max_repeat: int = 1_000
    """Largest ``repeat`` of one block use."""


DEFAULT_LIMITS = Limits()
