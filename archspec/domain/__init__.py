"""The exact set of input sizes a network accepts.

Every size in a network is built from ``+ const``, ``* int``, ``floor(./int)``,
``ceiling(./int)``, ``Mod(., int)`` and ``Max``/``Min`` over one input symbol per axis.
sympy's solvers and ``simplify`` give up on nested floors, so the set is computed by the
residue method instead: write ``H = L*k + r`` with ``L`` a multiple of every divisor on the
way (multiplied through nesting: ``floor(floor(H/2)/2)`` needs 4) and ``r = 0..L-1``. Then
each floor of ``c1*k + c0`` with integer ``c1`` is ``c1*k + floor(c0)``, every size is
affine in ``k`` (piecewise affine where ``Max``/``Min`` switch branch), ``size >= 1`` is a
bound on ``k`` and an equality at a merge holds always, never or at one ``k``. The union
over residues is the exact set, for every ``n`` at once.

Expressions outside that family (``H*H`` from a reshape, say) fall back to evaluating the
constraints at each size up to a limit; the result says so (``SizeSet.exact``).

One concern per module: ``evaluate`` (sizes at concrete inputs), ``piecewise`` (the affine
algebra over one residue class), ``solve`` (constraints to each size's set), ``joint``
(sizes tied together, solved jointly), ``sizeset`` and ``wording`` (the set, and how it
reads).
"""

from ..conditions import Constraint
from .evaluate import first_failing
from .joint import Coupling, same_value, solve_coupled
from .sizeset import SizeSet
from .solve import MAX_PERIOD, MAX_WORK, SEARCH_LIMIT, Domain, valid_sizes, valid_sizes_by_symbol

__all__ = [
    "MAX_PERIOD",
    "MAX_WORK",
    "SEARCH_LIMIT",
    "Constraint",
    "Coupling",
    "Domain",
    "SizeSet",
    "first_failing",
    "same_value",
    "solve_coupled",
    "valid_sizes",
    "valid_sizes_by_symbol",
]
