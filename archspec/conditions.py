"""The one record of a condition on free sizes, shared by the layer kinds and the solver.

A layer kind states what its output needs (``size >= 1``, two branches equal); the engine
labels each condition with its layer, and ``archspec.domain`` solves them all together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .symbols import Value


@dataclass(frozen=True)
class Constraint:
    """``lhs >= rhs`` or ``lhs == rhs`` over free sizes.

    ``label`` names the layer the condition comes from, ``field`` the key of that layer to
    point at, ``formula`` the arithmetic that produced it (built lazily: see ``Formula``).
    """

    kind: Literal["ge", "eq"]
    lhs: Value
    rhs: Value
    label: str = ""
    field: str | None = None
    formula: object = ""


__all__ = ["Constraint"]
