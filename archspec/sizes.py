"""Size arithmetic of convolutions and pooling, with Keras's rounding.

Every function takes a size that is either a Python int or a sympy expression in integer,
positive symbols (``H``). Ints take a fast path of plain integer arithmetic and return ints;
sympy is imported only when an argument is symbolic, so that ``import archspec`` stays fast.
The formulas follow ``keras/src/ops/operation_utils.py`` and
``keras/src/backend/common/backend_utils.py``; each one is checked against them in the tests.

Only ``floor``, ``ceiling``, ``Mod``, ``Max`` and ``Min`` with integer divisors are used,
so every result stays inside what ``archspec.domain`` solves exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Literal, Union

from .arithmetic import plus
from .symbols import Value, as_int, is_symbolic

if TYPE_CHECKING:
    import sympy

Offset = Union[int, Fraction, "sympy.Expr"]
"""A coordinate that may fall between pixel centres (a half-integer)."""

Padding = Literal["valid", "same", "causal"] | tuple[int, int]
"""Keras's padding modes, or explicit zero padding ``(before, after)`` on one axis."""


def _tidy(value: Value) -> Value:
    """sympy numbers that come out of symbolic arithmetic go back to the int fast path."""
    n = as_int(value)
    return value if n is None else n


def _integral(a: Value) -> bool:
    """A sympy expression known to be an integer (ints took the fast path already)."""
    return getattr(a, "is_integer", False) is True


def floordiv(a: Value, b: int) -> Value:
    """``floor(a / b)``, exact for symbols (sympy's ``//`` is not defined on expressions).

    >>> import sympy
    >>> H = sympy.Symbol("H", integer=True, positive=True)
    >>> floordiv(7, 2), floordiv(H - 4, 2)
    (3, floor(H/2) - 2)
    """
    n = as_int(a)
    if n is not None:
        return n // b
    if b == 1 and _integral(a):
        return a  # what sympy returns, without its ~5 ms of assumption queries per call
    import sympy

    return _tidy(sympy.floor(a * sympy.Rational(1, b)))


def ceildiv(a: Value, b: int) -> Value:
    """``ceil(a / b)``.

    >>> import sympy
    >>> H = sympy.Symbol("H", integer=True, positive=True)
    >>> ceildiv(7, 2), ceildiv(H, 2)
    (4, ceiling(H/2))
    """
    n = as_int(a)
    if n is not None:
        return -(-n // b)
    if b == 1 and _integral(a):
        return a
    import sympy

    return _tidy(sympy.ceiling(a * sympy.Rational(1, b)))


def _mod(a: Value, b: int) -> Value:
    n = as_int(a)
    if n is not None:
        return n % b
    if b == 1 and _integral(a):
        return 0
    # a - b*floor(a/b), not sympy.Mod: the same value, built several times faster, since
    # Mod's evaluation queries sympy's assumptions at length on nested sizes.
    return _tidy(a - b * floordiv(a, b))


def effective_kernel(kernel: int, dilation: int) -> int:
    """The span a dilated kernel covers, ``D*(F-1) + 1``.

    >>> effective_kernel(3, 2)
    5
    """
    return dilation * (kernel - 1) + 1


def conv_output_size(
    size: Value, kernel: int, stride: int = 1, padding: Padding = "valid", dilation: int = 1
) -> Value:
    """The lecture's ``(W - F + 2P)/S + 1``, rounded down as Keras does.

    'same' and 'causal' give ``ceil(W/S)``; explicit ``(p0, p1)`` pads ``p0 + p1`` zeros.
    The result may be < 1: rejecting that is the caller's job, with the layer in hand.

    >>> conv_output_size(32, 5), conv_output_size(5, 3, 2, (2, 2))
    (28, 4)
    >>> conv_output_size(7, 3, 2, "same"), conv_output_size(7, 3, 2, "causal")
    (4, 4)
    >>> import sympy
    >>> H = sympy.Symbol("H", integer=True, positive=True)
    >>> conv_output_size(H, 3, 2)
    floor(H/2 - 3/2) + 1
    """
    keff = effective_kernel(kernel, dilation)
    if padding in ("same", "causal"):
        return ceildiv(size, stride)
    before, after = (0, 0) if isinstance(padding, str) else padding
    # The whole offset is added at once: sympy folds the numbers of a sum into one term, so
    # ``size + (p - F + 1)`` is the expression ``size + p - F + 1`` makes, in one addition.
    # Stride 1 needs no rounding: skipping floor() spares sympy an integrality query per layer.
    if stride == 1:
        return plus(size, before + after - keff + 1)
    return floordiv(plus(size, before + after - keff), stride) + 1


def conv_transpose_output_size(
    size: Value,
    kernel: int,
    stride: int,
    padding: Literal["valid", "same"],
    dilation: int = 1,
    output_padding: int | None = None,
) -> Value:
    """Keras's ``deconv_output_length``: the inverse map of a strided convolution.

    Without ``output_padding`` it is ``(W-1)*S + max(k_eff, S)`` ('valid') or ``W*S``
    ('same'); with it, ``(W-1)*S + k_eff + a`` or ``(W-1)*S + k_eff % 2 + a``.

    >>> conv_transpose_output_size(4, 3, 2, "valid"), conv_transpose_output_size(4, 3, 2, "same")
    (9, 8)
    >>> conv_transpose_output_size(4, 3, 2, "same", output_padding=0)
    7
    """
    keff = effective_kernel(kernel, dilation)
    if padding == "valid":
        extra = max(keff, stride) - keff if output_padding is None else output_padding
        return (size - 1) * stride + keff + extra
    if padding == "same":
        if output_padding is None:
            return size * stride
        return (size - 1) * stride + keff % 2 + output_padding
    raise ValueError(
        f"Transposed convolutions take padding 'valid' or 'same'. Received: padding={padding!r}"
    )


def same_padding(size: Value, kernel_eff: int, stride: int) -> tuple[Value, Value]:
    """TensorFlow's split of 'same' padding into (before, after); the odd pixel goes after.

    The total is ``max(k_eff - S, 0)`` when S divides W, else ``max(k_eff - W mod S, 0)``,
    which is ``max(k_eff - S + (-W mod S), 0)`` in one formula. With a symbolic W the
    result therefore depends on W's residue class modulo S.

    >>> same_padding(7, 3, 2), same_padding(8, 3, 2), same_padding(8, 4, 1)
    ((1, 1), (0, 1), (1, 2))
    >>> import sympy
    >>> H = sympy.Symbol("H", integer=True, positive=True)
    >>> before, after = same_padding(H, 3, 2)
    >>> [(before.xreplace({H: n}), after.xreplace({H: n})) for n in (7, 8)]
    [(1, 1), (0, 1)]
    """
    n = as_int(size)
    if n is not None:
        rem = n % stride
        total = max(kernel_eff - (stride if rem == 0 else rem), 0)
        return total // 2, total - total // 2
    if kernel_eff <= 1:
        return 0, 0
    import sympy

    total = kernel_eff - stride + _mod(-size, stride)
    if kernel_eff < stride:
        total = sympy.Max(total, 0)
    before = floordiv(total, 2)
    return before, _tidy(total - before)


def dropped_pixels(
    size: Value, kernel: int, stride: int, padding: Padding, dilation: int = 1
) -> Value:
    """Input pixels at the end that no window reaches, because S does not tile the input.

    The lecture's ``(W - F + 2P)/S + 1`` coming out as a fraction. Only real pixels count:
    with explicit padding the last ``p1`` uncovered positions are padding zeros. 'same'
    drops pixels only when the kernel is narrower than the stride; 'causal' is explicit
    padding ``(k_eff - 1, 0)``. Pixels skipped *between* windows when ``k_eff < S`` are a
    choice of the architecture (a strided 1x1 projection) and are not counted.

    >>> dropped_pixels(32, 3, 2, "valid"), dropped_pixels(33, 3, 2, "valid")
    (1, 0)
    >>> dropped_pixels(8, 1, 2, "same"), dropped_pixels(8, 3, 2, "same")
    (1, 0)
    """
    keff = effective_kernel(kernel, dilation)
    if stride == 1:
        return 0  # every position starts a window
    if padding == "same":
        if keff >= stride:
            return 0
        n = as_int(size)
        if n is not None:
            return max(stride - (-n % stride) - keff, 0)
        import sympy

        return _tidy(sympy.Max(stride - _mod(-size, stride) - keff, 0))
    if padding == "valid":
        before, after = 0, 0
    elif padding == "causal":
        before, after = keff - 1, 0
    else:
        before, after = padding
    rem = _mod(plus(size, before + after - keff), stride)
    # The uncovered tail is the last `rem` positions of the padded input; the padding after
    # the input comes first off it. Unless the first window lies wholly in the padding
    # before (before >= keff), some real pixel is covered, so the tail is shorter than W.
    if after == 0 and before < keff:
        return rem
    if after >= stride - 1:
        return 0
    n = as_int(size)
    if n is not None:
        tail = max(rem - after, 0)
        return min(tail, n) if before >= keff else tail
    import sympy

    dropped = sympy.Max(rem - after, 0)
    return _tidy(sympy.Min(dropped, size) if before >= keff else dropped)


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of one output pixel along one axis, in input pixels.

    ``size`` is how many input pixels it spans, ``jump`` the distance in input pixels
    between neighbouring outputs (the effective stride) and ``start`` the centre of the
    first output's field, with input pixel centres at 0, 1, 2, ...: negative when the field
    reaches into the padding, a half-integer for even-sized fields.
    """

    size: Value
    jump: Value
    start: Offset


INPUT_FIELD = ReceptiveField(1, 1, 0)
"""The input image: each pixel sees itself."""


def receptive_field_step(
    rf: ReceptiveField, kernel: int, stride: int, dilation: int = 1, pad_before: Value = 0
) -> ReceptiveField:
    """One layer of the recurrence of Araujo et al. (Distill 2019), Dumoulin & Visin.

    ``r_out = r_in + (k_eff - 1)*j_in``, ``j_out = j_in*S`` and
    ``start_out = start_in + ((k_eff - 1)/2 - pad_before)*j_in``.

    >>> rf = receptive_field_step(INPUT_FIELD, 3, 1, pad_before=1)
    >>> rf = receptive_field_step(rf, 2, 2)
    >>> rf
    ReceptiveField(size=4, jump=2, start=Fraction(1, 2))
    """
    keff = effective_kernel(kernel, dilation)
    size = rf.size + (keff - 1) * rf.jump
    jump = rf.jump * stride
    ints = type(rf.jump) is int and type(pad_before) is int and type(rf.start) is int
    if ints and keff % 2:  # an odd kernel centres on a pixel: the same int, without Fractions
        return ReceptiveField(size, jump, rf.start + ((keff - 1) // 2 - pad_before) * rf.jump)
    if isinstance(rf.jump, int) and isinstance(pad_before, int) and not is_symbolic(rf.start):
        start = rf.start + (Fraction(keff - 1, 2) - pad_before) * rf.jump
        if isinstance(start, Fraction) and start.denominator == 1:
            start = int(start)
        return ReceptiveField(size, jump, start)
    import sympy

    start_in = rf.start
    if isinstance(start_in, Fraction):
        start_in = sympy.Rational(start_in.numerator, start_in.denominator)
    start = start_in + (sympy.Rational(keff - 1, 2) - pad_before) * rf.jump
    return ReceptiveField(size, jump, start)


__all__ = [
    "INPUT_FIELD",
    "Offset",
    "Padding",
    "ReceptiveField",
    "ceildiv",
    "conv_output_size",
    "conv_transpose_output_size",
    "dropped_pixels",
    "effective_kernel",
    "floordiv",
    "receptive_field_step",
    "same_padding",
]
