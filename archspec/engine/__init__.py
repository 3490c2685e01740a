"""The checker: walks the expanded graph once, inferring every layer, and collects diagnostics.

Concrete sizes stay Python ints from end to end (sympy is never imported then); free sizes are
sympy symbols, and every condition they must meet is solved exactly at the end by
``archspec.domain`` into the set of valid input sizes.

    analysis   the walk: limits, order of work, the report
    binding    names in scope (free sizes, params) and the input shape
    fields     receptive fields and the alignment of merged branches
    tiling     border pixels a stride never reaches
"""

from .analysis import analyze

__all__ = ["analyze"]
