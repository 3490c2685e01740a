"""Receptive fields per layer, and whether the branches of a merge see the same grid.

The recurrences are those of Araujo et al. (Distill 2019) and Dumoulin & Visin: per spatial
axis a field has a size r, a jump j (the effective stride) and the centre of the first
output's field. On multi-path graphs r is the largest over the paths; paths whose jump or
centre disagree are reported as misaligned.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from ..canonical import bounds, canonical_text, same_value
from ..diagnostics import Severity
from ..graph import Node
from ..layers import GLOBAL, Inferred
from ..sizes import ReceptiveField, effective_kernel, receptive_field_step
from ..symbols import Value, as_int
from .binding import Emit

Fields = tuple[ReceptiveField, ...]


def origin(spatial: int) -> Fields:
    """The input image: each pixel sees itself."""
    return tuple(ReceptiveField(1, 1, 0) for _ in range(spatial))


class ReceptiveFields:
    """Steps every layer's field from its inputs' fields, in graph order."""

    def __init__(self, emit: Emit):
        self.emit = emit
        self.causal: set[str] = set()
        """Layers behind a causal window: their fields end, not centre, on the output step."""

    def note_causal(self, node: Node, inferred: Inferred) -> None:
        windows = inferred.windows if isinstance(inferred.windows, (list, tuple)) else []
        if any(w.causal for w in windows) or any(i in self.causal for i in node.inputs):
            self.causal.add(node.name)

    def step(
        self, node: Node, inferred: Inferred, inputs: Sequence[Fields | None]
    ) -> Fields | None:
        if any(f is None for f in inputs) or inferred.windows == GLOBAL:
            return None
        fields = inputs[0]
        assert fields is not None
        if len(inputs) > 1:
            causal = any(i in self.causal for i in node.inputs)
            fields = self.merge(node, inputs, causal)  # type: ignore[arg-type]
        if len(inferred.shape) - 1 != len(fields) and not inferred.windows:
            return fields if len(inferred.shape) - 1 == len(fields) else None
        if inferred.upsample:
            out = []
            for f, u in zip(fields, inferred.upsample):
                jump = _div(f.jump, u)
                out.append(ReceptiveField(f.size, jump, f.start - _times(jump, u - 1, 2)))
            return tuple(out)
        if not inferred.windows:
            return fields
        assert not isinstance(inferred.windows, str)
        out = []
        for f, w in zip(fields, inferred.windows):
            if w.transposed:
                jump = _div(f.jump, w.stride)
                size = f.size + (effective_kernel(w.kernel, w.dilation) - 1) * jump
                out.append(ReceptiveField(size, jump, f.start - _times(jump, w.stride - 1, 2)))
                continue
            out.append(receptive_field_step(f, w.kernel, w.stride, w.dilation, w.pad_before))
        return tuple(out)

    def merge(self, node: Node, inputs: Sequence[Fields], causal: bool = False) -> Fields:
        """The largest field over the paths; paths seeing different grids are misaligned.

        Paths with different jumps, or whose centres lie a whole step or more apart at some
        size, mix pixels of different places: a warning. Centres less than one step apart are a
        note: that is what TensorFlow's 'same' padding does to every strided window (the odd
        pad pixel goes after the image, so a 3x3/2 'same' window centres half a step from a
        1x1/2 shortcut at even sizes), standard in Keras's ResNet, Xception, NASNet and RegNetX;
        explicit symmetric padding aligns them, and the note says so.

        Causal paths are exempt from the centre comparison: a causal window ends on its
        output step by design (WaveNet, TCN), so its centre lies behind the identity path's.
        """
        merged = []
        shifted: list[str] = []
        sub_cell: list[str] = []
        for axis in range(len(inputs[0])):
            axes = [f[axis] for f in inputs if len(f) > axis]
            biggest = axes[0]
            for a in axes[1:]:
                if _known_greater(a.size, biggest.size):
                    biggest = a
            for a in axes[1:]:
                if _differs(a.jump, axes[0].jump) or _differs(a.start, axes[0].start):
                    found = (
                        f"axis {axis}: jump {canonical_text(axes[0].jump)} vs "
                        f"{canonical_text(a.jump)}, centre {canonical_text(axes[0].start)} vs "
                        f"{canonical_text(a.start)}"
                    )
                    under_a_step = not _differs(a.jump, axes[0].jump) and _within_one_step(
                        a.start, axes[0].start, a.jump
                    )
                    (sub_cell if under_a_step else shifted).append(found)
                    break
            merged.append(biggest)
        if causal:
            return tuple(merged)
        if shifted:
            self.emit(
                Severity.WARNING,
                "misaligned-merge",
                f"layer {node.name!r}: its inputs see the image on different grids "
                f"({'; '.join(shifted + sub_cell)})",
                node.path,
                "give every path the same total stride, and check each path's padding and "
                "cropping: a centre a whole step off adds pixels of different places",
                node.name,
            )
        elif sub_cell:
            self.emit(
                Severity.NOTE,
                "misaligned-merge",
                f"layer {node.name!r}: its inputs' grids are offset by less than one step "
                f"({'; '.join(sub_cell)}), as TensorFlow's asymmetric 'same' padding offsets "
                "strided windows (Keras's ResNet, Xception, NASNet and RegNetX downsample so)",
                node.path,
                "to centre them exactly, pad the strided window explicitly and symmetrically: "
                "zero_padding2d of (kernel - 1)/2 before it, then padding: valid",
                node.name,
            )
        return tuple(merged)


def _within_one_step(a: Value, b: Value, jump: Value) -> bool:
    """True when the centres ``a`` and ``b`` are less than ``jump`` apart at every size."""
    step = as_int(jump) if not isinstance(jump, Fraction) else jump
    span = bounds(_minus(a, b))
    return step is not None and span is not None and max(-span[0], span[1]) < step


def _minus(a: Value, b: Value) -> Value:
    if isinstance(a, (int, Fraction)) and isinstance(b, (int, Fraction)):
        return a - b
    import sympy

    def exact(x: Any) -> Any:
        return sympy.Rational(x.numerator, x.denominator) if isinstance(x, Fraction) else x

    return sympy.expand(exact(a) - exact(b))


def _div(a: Value, b: int) -> Value:
    if isinstance(a, (int, Fraction)):
        return (
            Fraction(a, b)
            if isinstance(a, int) and a % b
            else (a // b if isinstance(a, int) else a / b)
        )
    return a / b


def _times(value: Value, numerator: int, denominator: int) -> Value:
    """value * numerator / denominator, exact for ints, Fractions and sympy expressions."""
    if isinstance(value, (int, Fraction)):
        return value * Fraction(numerator, denominator)
    import sympy

    return value * sympy.Rational(numerator, denominator)


def _known_greater(a: Value, b: Value) -> bool:
    ia, ib = as_int(a), as_int(b)
    if ia is not None and ib is not None:
        return ia > ib
    try:
        return bool(a > b)
    except TypeError:
        return False


def _differs(a: Value, b: Value) -> bool:
    return not same_value(a, b)
