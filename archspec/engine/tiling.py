"""Border pixels a strided window never reaches: the lecture's fractional ``(W - F + 2P)/S + 1``.

Concrete sizes are checked layer by layer; symbolic remainders are kept and checked once the
valid sizes are known, against the smallest of them. Zeros a padding layer appended at the end
of an axis may be dropped without loss, so the margins of appended zeros are followed through
the layers that keep every pixel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..conditions import Constraint
from ..diagnostics import Severity
from ..graph import INPUT, Node
from ..layers import Inferred
from ..limits import Limits
from ..symbols import Value, as_int, symbol
from .binding import Emit


class Tiling:
    def __init__(self, emit: Emit, strict: bool, limits: Limits, spatial: int):
        self.emit = emit
        self.strict = strict
        self.limits = limits
        self.margins: dict[str, tuple[Value, ...]] = {INPUT: (0,) * spatial}
        """Zeros appended at the end of each axis, per layer."""
        self.remainders: list[tuple[Value, Value, object, Node]] = []
        """Symbolic pixels dropped by a stride, the padding zeros they may be, formula, layer."""

    def track_margins(
        self, node: Node, inferred: Inferred, shapes: Mapping[str, tuple[Value, ...]]
    ) -> None:
        """Follow the zeros padding layers append, through layers that keep every pixel."""
        spatial = len(inferred.shape) - 1
        margin: tuple[Value, ...] = (0,) * spatial
        if len(node.inputs) == 1:
            before = self.margins.get(node.inputs[0], ())
            if inferred.pad_after is not None and len(before) == spatial:
                margin = tuple(m + p for m, p in zip(before, inferred.pad_after))
            elif (
                inferred.windows is None
                and not inferred.upsample
                and tuple(inferred.shape[:-1]) == tuple(shapes[node.inputs[0]][:-1])
            ):
                margin = before
        self.margins[node.name] = margin

    def check(self, node: Node, inferred: Inferred) -> None:
        """Border pixels a strided window never reaches (the lecture's fractional output).

        Only windows that cover their input contiguously (kernel >= stride) count: a 1x1
        stride-2 projection skips every other pixel by design, not just the border.
        """
        lost = []
        windows = inferred.windows if isinstance(inferred.windows, (list, tuple)) else []
        margins = self.margins.get(node.inputs[0], ()) if len(node.inputs) == 1 else ()
        for axis, (dropped, formula) in enumerate(inferred.dropped_pixels):
            if axis < len(windows):
                w = windows[axis]
                if (w.kernel - 1) * w.dilation + 1 < w.stride:
                    continue
            zeros = margins[axis] if axis < len(margins) else 0
            concrete = as_int(dropped)
            if concrete is None:
                self.remainders.append((dropped, zeros, formula, node))
                continue
            concrete = max(concrete - zeros, 0) if isinstance(zeros, int) else concrete
            if concrete > 0:
                lost.append(f"{concrete} on {formula}")
        if lost:
            self.emit(
                Severity.ERROR if self.strict else Severity.WARNING,
                "stride-tiling",
                f"layer {node.name!r}: the stride does not tile its input, so border pixels are "
                f"never seen ({'; '.join(lost)}): (W - F + 2P)/S + 1 is not whole",
                (*node.path, "strides"),
                "pad the input, or pick a size that tiles exactly",
                node.name,
            )

    def check_symbolic(self, sets: Mapping[str, Any]) -> None:
        """A stride that drops pixels for some valid sizes: warn with the smallest such size."""

        found: dict[tuple[Any, Any, str], tuple[int, str] | None] = {}
        """Branches that drop the same pixels share one answer: (first bad size, exact set)."""
        skipped: list[str] = []
        for dropped, zeros, formula, node in self.remainders:
            names = [str(s) for s in dropped.free_symbols]  # type: ignore[union-attr]
            if len(names) != 1 or names[0] not in sets:
                continue
            key = (dropped, zeros, names[0])
            if key not in found:
                if len(found) >= self.limits.max_tiling_checks:
                    skipped.append(node.name)
                    continue
                found[key] = self.first_untiled(sets[names[0]], dropped, zeros, names[0])
            answer = found[key]
            if answer is None:
                continue
            bad, exact = answer
            # A note, not a warning: the network is the same at every size, and which sizes
            # tile is the input's choice (ConvNeXt's 4x4 patches want H = 4k). A concrete
            # size that drops pixels (--input H=225) is still warned about, above.
            self.emit(
                Severity.NOTE,
                "stride-tiling",
                f"layer {node.name!r}: the stride does not tile its input for some sizes, "
                f"e.g. {names[0]}={bad} ({formula}); exact for {exact}",
                (*node.path, "strides"),
                f"pick a size in that set, or check one with --input {names[0]}=...",
                node.name,
            )
        if skipped:
            self.emit(
                Severity.NOTE,
                "limit-exceeded",
                f"tiling checked for the first {self.limits.max_tiling_checks} strided layers with "
                f"free sizes only; not for {len(skipped)} more, from {skipped[0]!r}",
                (),
                "raise --limit max_tiling_checks=N to check more",
            )

    @staticmethod
    def first_untiled(
        valid: Any, dropped: Value, zeros: Value, name: str
    ) -> tuple[int, str] | None:
        """The smallest valid size whose pixels a stride drops, and where none are dropped."""
        from .. import domain

        # Pixels beyond the padding zeros at the end are the only real loss.
        tiles = Constraint("ge", zeros, dropped)
        sym = symbol(name)
        # The first valid sizes are checked directly; the exact set of sizes that tile (a
        # residue solve of up to MAX_PERIOD classes) is only worth computing to warn.
        bad = next(
            (n for n in valid.first(64) if domain.first_failing([tiles], {sym: n}) is not None),
            None,
        )
        if bad is None:
            return None
        return bad, domain.valid_sizes([tiles], sym).describe(name)
