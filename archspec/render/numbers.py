"""Number and size wording shared by every format: exact counts, short units, shapes, fields.

Numbers stay exact where a reader compares them (parameters) and get short units where a reader
estimates (MACs, bytes). Symbolic values print as their expression, since no unit makes
``20*(H - 4)*(W - 4)`` shorter. Nothing here knows about reports, so ``archspec.report`` can use
these functions without importing the renderers.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ..canonical import canonical_text, monomial_text, unordered_text
from ..symbols import as_int

if TYPE_CHECKING:
    from ..sizes import ReceptiveField


def concrete(value: Any) -> int | None:
    """The int behind a value, or None when it is symbolic or a fraction."""
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else None
    return as_int(value)


def expression_text(value: Any) -> str:
    """An expression in its one printed form (``ceil(H/2)``, ``floor(H/4) - 2``, ``H mod 2``).

    Expressions equal at every size print identically, whichever way the network built them:
    see ``archspec.canonical``.
    """
    try:
        return _expression_text(value)
    except TypeError:  # unhashable
        return _expression_text.__wrapped__(value)


@lru_cache(maxsize=1 << 16, typed=True)
def _expression_text(value: Any) -> str:
    """Memoized: a format reads a total several times (its text, then its bytes' text), and
    sympy walks a whole tree for its free symbols each time they are asked for."""
    plain = monomial_text(value)
    if plain is not None:
        return plain
    if not hasattr(type(value), "free_symbols"):  # on the class: the property is the walk
        return str(value)
    count = _symbols_up_to(value, _ORDERED_SYMBOLS + 1)
    if not count:
        return str(value)
    if count > _ORDERED_SYMBOLS:
        # sympy orders a sum's terms by monomials as long as its symbols: quadratic, a minute
        # for the totals of 2,000 layers with symbolic filters. Their stored order is as exact.
        return unordered_text(value)
    return canonical_text(value)


_ORDERED_SYMBOLS = 32
"""Free symbols up to which expressions take their canonical form, in sympy's reading order."""


def _symbols_up_to(value: Any, most: int) -> int:
    """How many distinct symbols ``value`` holds, counted up to ``most``: a total of 2,000
    symbolic layers has 2,000, and ``free_symbols`` builds and merges a set per node of it
    (15 ms) where the first 33 decide."""
    seen: set[Any] = set()
    stack = [value]
    while stack:
        e = stack.pop()
        if e.is_Symbol:
            seen.add(e)
            if len(seen) >= most:
                break
        else:
            stack.extend(e.args)
    return len(seen)


def exact_text(value: Any) -> str:
    """Exact text with thousands separators: ``61,706``, ``1/2``, or ``floor(H/2) - 2``."""
    if value is None:
        return "-"
    number = concrete(value)
    if number is not None:
        return f"{number:,}"
    return expression_text(value)


def size_text(value: Any) -> str:
    """Like ``exact_text`` without separators, for sizes inside shapes and fields: ``224``."""
    number = concrete(value)
    return str(number) if number is not None else exact_text(value)


def short_count(value: Any) -> str:
    """Three significant digits with K/M/G/T: ``417K``, ``1.23M``; exact below 1000."""
    number = concrete(value)
    if number is None:
        return exact_text(value)
    if abs(number) < 1000:
        return str(number)
    scaled = float(number)
    for unit in ("K", "M", "G", "T", "P"):
        scaled /= 1000
        if abs(scaled) < 999.5 or unit == "P":
            return _three_digits(scaled) + unit
    raise AssertionError("unreachable")


def short_bytes(value: Any) -> str:
    """Bytes in KB/MB/GB of 1024, as Keras's ``summary()`` prints them: ``38.3 KB``."""
    number = concrete(value)
    if number is None:
        return exact_text(value) + " bytes"
    if abs(number) < 1024:
        return f"{number} B"
    scaled = float(number)
    for unit in ("KB", "MB", "GB", "TB", "PB"):
        scaled /= 1024
        if abs(scaled) < 1023.5 or unit == "PB":
            return f"{_three_digits(scaled)} {unit}"
    raise AssertionError("unreachable")


def _three_digits(x: float) -> str:
    if abs(x) >= 99.95:
        return f"{x:.0f}"
    if abs(x) >= 9.995:
        return f"{x:.1f}"
    return f"{x:.2f}"


def with_short_unit(value: Any, unit: Any = short_count) -> str:
    """``1,265,920 (1.27M)``; an expression alone, since units cannot shorten it."""
    if concrete(value) is None:
        return exact_text(value)
    return f"{exact_text(value)} ({unit(value)})"


def shape_text(shape: Sequence[Any]) -> str:
    """``(24, 24, 20)``, the way Keras and the diagnostics print shapes (without the batch)."""
    inner = ", ".join(size_text(d) for d in shape)
    return f"({inner},)" if len(shape) == 1 else f"({inner})"


def axes_text(values: Sequence[Any], compact: bool = True) -> str:
    """Per-axis values: ``5`` when every axis agrees (compact), else ``5x3``."""
    texts = [size_text(v) for v in values]
    if compact and texts and all(t == texts[0] for t in texts):
        return texts[0]
    return "x".join(f"({t})" if " " in t else t for t in texts)


def field_text(rf: Sequence[ReceptiveField] | None, compact: bool = True) -> str:
    """Receptive-field size per axis; ``global`` where the layer sees its whole input."""
    return "global" if rf is None else axes_text([a.size for a in rf], compact)


def jump_text(rf: Sequence[ReceptiveField] | None, compact: bool = True) -> str:
    """Effective stride per axis; ``-`` where there is no spatial field."""
    return "-" if rf is None else axes_text([a.jump for a in rf], compact)
