"""The checker: walks the expanded graph once, inferring every layer, and collects diagnostics.

Concrete sizes stay Python ints from end to end (sympy is never imported then); free sizes are
sympy symbols, and every condition they must meet is solved exactly at the end by
``archspec.domain`` into the set of valid input sizes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from fractions import Fraction
from typing import Any

from .conditions import Constraint
from .diagnostics import Diagnostic, Severity, SpecPath
from .expr import ExprError, did_you_mean, parse_expression
from .graph import INPUT, Graph, Node, expand
from .layers import GLOBAL, AugmentArgs, Context, Inferred, LayerError, format_shape
from .layers.base import positive
from .limits import DEFAULT_LIMITS, Limits
from .report import LayerRow, Report
from .sizes import ReceptiveField
from .spec import Spec
from .symbols import Value, as_int, is_affine, is_symbolic, symbol


def analyze(
    spec: Spec,
    sizes: Mapping[str, int] | None = None,
    *,
    strict: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    **more_sizes: int,
) -> Report:
    """Infer every layer of ``spec``; sizes bind free symbols (H=224) or override params."""
    bound = {**(sizes or {}), **more_sizes}
    analysis = _Analysis(spec, bound, strict, limits)
    try:
        return analysis.run()
    except RecursionError:
        # A backstop: limits.max_nesting stops the walk long before sympy's recursion runs out.
        return Report(
            spec_name=spec.name,
            file=getattr(spec.source, "file", None),
            input_shape=(),
            sizes=bound,
            layers=[],
            output=None,
            diagnostics=_locate(
                [
                    Diagnostic(
                        Severity.ERROR,
                        "limit-exceeded",
                        "the size expressions nest too deeply to analyse",
                        path=(),
                        hint="bind the free sizes with --input to check concrete sizes",
                    )
                ],
                spec.source,
            ),
        )


class _Analysis:
    def __init__(self, spec: Spec, sizes: Mapping[str, int], strict: bool, limits: Limits):
        self.spec = spec
        self.sizes = dict(sizes)
        self.strict = strict
        self.limits = limits
        self.diagnostics: list[Diagnostic] = []
        self.constraints: list[tuple[Constraint, Node | None]] = []
        self.augmentations: list[AugmentArgs] = []
        self.remainders: list[tuple[Value, Value, object, Node]] = []
        """Symbolic pixels dropped by a stride, the padding zeros they may be, formula, layer."""

    # -- diagnostics -------------------------------------------------------------------------
    def emit(
        self,
        severity: Severity,
        code: str,
        message: str,
        path: SpecPath,
        hint: str | None = None,
        layer: str | None = None,
    ) -> None:
        self.diagnostics.append(
            Diagnostic(severity, code, message, path=path, hint=hint, layer=layer)
        )

    # -- names -------------------------------------------------------------------------------
    def environment(self) -> dict[str, Value] | None:
        free = self.spec.free_symbols()
        known = set(free) | set(self.spec.params)
        for key, value in self.sizes.items():
            if key not in known:
                guess = did_you_mean(key, sorted(known))
                self.emit(
                    Severity.ERROR,
                    "unknown-size",
                    f"--input names {key!r}, which is neither a symbol nor a param",
                    (),
                    f"did you mean {guess!r}?"
                    if guess
                    else f"known names: {', '.join(sorted(known)) or 'none'}",
                )
            elif not isinstance(value, int) or value < 1:
                self.emit(
                    Severity.ERROR,
                    "out-of-range",
                    f"{key} must be a positive integer. Received: {key}={value!r}",
                    (),
                )
        env: dict[str, Value] = {}
        for name in free:
            env[name] = self.sizes[name] if name in self.sizes else symbol(name)
        for name, raw in self.spec.params.items():
            if name in self.sizes:
                env[name] = self.sizes[name]
                continue
            try:
                env[name] = raw if isinstance(raw, int) else parse_expression(raw).evaluate(env)
            except ExprError as exc:
                self.emit(Severity.ERROR, "bad-expression", exc.message, ("params", name), exc.hint)
                return None
        return None if any(d.is_error for d in self.diagnostics) else env

    def input_shape(self, env: Mapping[str, Value]) -> tuple[Value, ...] | None:
        shape: list[Value] = []
        for i, raw in enumerate(self.spec.input.shape):
            path = ("input", "shape", i)
            try:
                value = raw if isinstance(raw, int) else parse_expression(raw).evaluate(env)
            except ExprError as exc:
                self.emit(Severity.ERROR, "bad-expression", exc.message, path, exc.hint)
                return None
            concrete = as_int(value)
            if concrete is not None and concrete < 1:
                self.emit(
                    Severity.ERROR,
                    "out-of-range",
                    f"input sizes must be >= 1. Received: {raw!r} = {concrete}",
                    path,
                )
                return None
            if i < len(self.spec.input.shape) - 1 and not is_affine(value):
                self.emit(Severity.ERROR, "bad-expression", _non_affine(raw, value), path)
                return None
            shape.append(value)
        return tuple(shape)

    # -- the walk ----------------------------------------------------------------------------
    def run(self) -> Report:
        env = self.environment()
        rows: list[LayerRow] = []
        model_input = shape = self.input_shape(env) if env is not None else None
        graph: Graph | None = None
        if shape is not None and env is not None:
            shape = self.augment(shape, env)
        if shape is not None and env is not None:
            graph, found = expand(self.spec, env, self.limits)
            self.diagnostics.extend(found)
        if graph is not None and shape is not None:
            rows = self.walk(graph, shape)
        report = Report(
            spec_name=self.spec.name,
            file=getattr(self.spec.source, "file", None),
            input_shape=shape or (),
            sizes=self.sizes,
            layers=rows,
            output=graph.output if graph else None,
            model_input_shape=model_input or (),
            augment=self.augmentations,
            graph=graph,
        )
        if (
            graph is not None
            and shape is not None
            and not any(d.is_error for d in self.diagnostics)
        ):
            report.valid_inputs = self.solve(shape)
        report.diagnostics = _locate(self.diagnostics, self.spec.source)
        return report

    def augment(
        self, shape: tuple[Value, ...], env: Mapping[str, Value]
    ) -> tuple[Value, ...] | None:
        for i, aug in enumerate(self.spec.augment):
            try:
                args = aug.resolve(Context(env, aug.name or aug.type), shape)
                shape = aug.infer(args, shape)
                self.augmentations.append(args)
            except LayerError as exc:
                path: SpecPath = ("augment", i) + ((exc.field,) if exc.field else ())
                self.emit(Severity.ERROR, exc.code, exc.message, path, exc.hint)
                return None
            for axis, size in enumerate(shape[:-1]):
                for c in positive(size, f"{aug.type} axis {axis}: {size}"):
                    self.constraints.append((c, None))
        return shape

    def walk(self, graph: Graph, input_shape: tuple[Value, ...]) -> list[LayerRow]:
        spatial = len(input_shape) - 1
        origin = tuple(ReceptiveField(1, 1, 0) for _ in range(spatial))
        shapes: dict[str, tuple[Value, ...]] = {INPUT: input_shape}
        fields: dict[str, tuple[ReceptiveField, ...] | None] = {INPUT: origin}
        self.margins: dict[str, tuple[Value, ...]] = {INPUT: (0,) * spatial}
        self.causal: set[str] = set()
        rows: list[LayerRow] = []
        failed: set[str] = set()
        nesting: dict[Any, tuple[int, int]] = {}
        errors = counted = 0
        for node in graph.nodes:
            errors += sum(d.is_error for d in self.diagnostics[counted:])
            counted = len(self.diagnostics)
            if errors >= self.limits.max_errors:
                self.emit(
                    Severity.ERROR,
                    "limit-exceeded",
                    f"more than {self.limits.max_errors} errors; the layers from here on were not "
                    "checked",
                    node.path,
                    "fix the first errors, or raise --limit max_errors=N",
                    layer=node.name,
                )
                break
            if any(i in failed for i in node.inputs):
                failed.add(node.name)
                continue
            inferred = self.infer(node, [shapes[i] for i in node.inputs])
            if inferred is None:
                failed.add(node.name)
                continue
            if len(inferred.shape) > 1 and not all(map(is_affine, inferred.shape[:-1])):
                bad = next(d for d in inferred.shape[:-1] if not is_affine(d))
                self.emit(
                    Severity.ERROR,
                    "bad-expression",
                    f"layer {node.name!r}: " + _non_affine(node.name, bad),
                    node.path,
                    layer=node.name,
                )
                failed.add(node.name)
                continue
            measured = [_complexity(d, nesting) for d in inferred.shape]
            depth = max((m[0] for m in measured), default=0)
            terms = max((m[1] for m in measured), default=0)
            if depth > self.limits.max_nesting or terms > self.limits.max_terms:
                self.emit(
                    Severity.ERROR,
                    "limit-exceeded",
                    f"layer {node.name!r}: its output size nests {depth} floor/ceiling levels "
                    f"deep in {terms} terms; free sizes are analysed up to "
                    f"{self.limits.max_nesting} levels and {self.limits.max_terms} terms",
                    node.path,
                    "bind the free sizes with --input to check concrete sizes, or raise "
                    "--limit max_nesting=N / --limit max_terms=N",
                    node.name,
                )
                failed.add(node.name)
                continue
            shapes[node.name] = tuple(inferred.shape)
            self.track_margins(node, inferred, shapes)
            rf = self.receptive_field(node, inferred, [fields[i] for i in node.inputs])
            fields[node.name] = rf
            line = None
            source = self.spec.source
            if source is not None:
                pos = source.position(node.path)
                line = pos[0] if pos else None
            rows.append(
                LayerRow(
                    index=len(rows),
                    name=node.name,
                    type=node.layer.type,  # type: ignore[attr-defined]
                    inputs=node.inputs,
                    output_shape=tuple(inferred.shape),
                    trainable_params=inferred.trainable,
                    non_trainable_params=inferred.non_trainable,
                    macs=inferred.macs,
                    receptive_field=rf,
                    formulas=tuple(inferred.formulas),
                    scope=node.scope,
                    line=line,
                    args=inferred.args,
                )
            )
        return rows

    def infer(self, node: Node, inputs: list[tuple[Value, ...]]) -> Inferred | None:
        low, high = node.layer.arity
        kind = node.layer.type  # type: ignore[attr-defined]
        if len(inputs) < low or (high is not None and len(inputs) > high):
            want = (
                f"exactly {low}"
                if low == high
                else (f"at least {low}" if high is None else f"{low} to {high}")
            )
            self.emit(
                Severity.ERROR,
                "wrong-arity",
                f"{kind} takes {want} input{'s' if want != 'exactly 1' else ''}, got {len(inputs)}",
                (*node.path, "inputs"),
                layer=node.name,
            )
            return None
        try:
            args = node.layer.resolve(Context(node.env, node.name), inputs)
            inferred = node.layer.infer(args, inputs)
            inferred.args = args
        except LayerError as exc:
            path = (*node.path, exc.field) if exc.field else node.path
            shapes = ", ".join(format_shape(s) for s in inputs)
            self.emit(
                Severity.ERROR,
                exc.code,
                f"layer {node.name!r} ({kind}, input {shapes}): {exc.message}",
                path,
                exc.hint,
                node.name,
            )
            return None
        for c in inferred.constraints:
            self.constraints.append((c, node))
        for warning in inferred.warnings:
            self.emit(
                Severity.WARNING,
                warning.code,
                f"layer {node.name!r}: {warning.message}",
                node.path,
                warning.hint,
                node.name,
            )
        self.tiling(node, inferred)
        return inferred

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
        windows = inferred.windows if isinstance(inferred.windows, (list, tuple)) else []
        if any(w.causal for w in windows) or any(i in self.causal for i in node.inputs):
            self.causal.add(node.name)

    def tiling(self, node: Node, inferred: Inferred) -> None:
        """Border pixels a strided window never reaches (the lecture's fractional output).

        Only windows that cover their input contiguously (kernel >= stride) count: a 1x1
        stride-2 projection skips every other pixel by design, not just the border.
        """
        lost = []
        windows = inferred.windows if isinstance(inferred.windows, (list, tuple)) else []
        margins = self.margins.get(node.inputs[0], ()) if len(node.inputs) == 1 else ()
        for axis, (dropped, formula) in enumerate(inferred.remainders):
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

    def receptive_field(
        self, node: Node, inferred: Inferred, inputs: list[tuple[ReceptiveField, ...] | None]
    ) -> tuple[ReceptiveField, ...] | None:
        if any(f is None for f in inputs) or inferred.windows == GLOBAL:
            return None
        fields = inputs[0]
        assert fields is not None
        if len(inputs) > 1:
            causal = any(i in self.causal for i in node.inputs)
            fields = self.merge_fields(node, inputs, causal)  # type: ignore[arg-type]
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
        from .sizes import effective_kernel, receptive_field_step

        out = []
        for f, w in zip(fields, inferred.windows):  # type: ignore[arg-type]
            if w.transposed:
                jump = _div(f.jump, w.stride)
                size = f.size + (effective_kernel(w.kernel, w.dilation) - 1) * jump
                out.append(ReceptiveField(size, jump, f.start - _times(jump, w.stride - 1, 2)))
                continue
            out.append(receptive_field_step(f, w.kernel, w.stride, w.dilation, w.pad_before))
        return tuple(out)

    def merge_fields(
        self, node: Node, inputs: list[tuple[ReceptiveField, ...]], causal: bool = False
    ) -> tuple[ReceptiveField, ...]:
        """The largest field over the paths; paths seeing different grids are misaligned.

        Causal paths are exempt from the centre comparison: a causal window ends on its
        output step by design (WaveNet, TCN), so its centre lies behind the identity path's.
        """
        merged = []
        mismatched = []
        for axis in range(len(inputs[0])):
            axes = [f[axis] for f in inputs if len(f) > axis]
            biggest = axes[0]
            for a in axes[1:]:
                if _known_greater(a.size, biggest.size):
                    biggest = a
            for a in axes[1:]:
                if _differs(a.jump, axes[0].jump) or _differs(a.start, axes[0].start):
                    mismatched.append(
                        f"axis {axis}: jump {axes[0].jump} vs {a.jump}, "
                        f"centre {axes[0].start} vs {a.start}"
                    )
                    break
            merged.append(biggest)
        if mismatched and not causal:
            self.emit(
                Severity.WARNING,
                "misaligned-merge",
                f"layer {node.name!r}: its inputs see the image on different grids "
                f"({'; '.join(mismatched)})",
                node.path,
                "align the branches' strides and paddings (e.g. stride the 1x1 conv, not the 3x3)",
                node.name,
            )
        return tuple(merged)

    # -- valid sizes -------------------------------------------------------------------------
    def solve(self, shape: tuple[Value, ...]) -> dict[str, Any]:
        free = [str(s) for d in shape if is_symbolic(d) for s in d.free_symbols]  # type: ignore[union-attr]
        names = sorted(set(free))
        if not names:
            return {}
        from . import domain

        symbols = [symbol(n) for n in names]
        constraints = [
            replace(c, label=node.name if node else "augment") for c, node in self.constraints
        ]
        declared = self.spec.symbols
        result = domain.valid_sizes_by_symbol(
            constraints,
            symbols,
            minimum={n: (declared[n].min or 1) if n in declared else 1 for n in names},
            maximum={n: declared[n].max if n in declared else None for n in names},
        )
        sets = {n: result[n] for n in names if n in result.sizes}
        for coupled in result.coupled:
            self.emit(
                Severity.NOTE,
                "coupled-sizes",
                f"sizes are valid only when {coupled.lhs} == {coupled.rhs} "
                f"(at layer {coupled.label!r}); the per-size sets above ignore this",
                ("input", "shape"),
            )
        for name, sizes in sets.items():
            if sizes.is_empty and not sizes.exact:
                # Sizes were tried one by one up to a bound: larger ones may well be valid.
                self.emit(
                    Severity.WARNING,
                    "no-valid-size",
                    f"no size of {name} up to {sizes.checked_up_to} makes every layer valid; "
                    "larger sizes were not checked",
                    ("input", "shape"),
                    f"check a larger size with --input {name}=...",
                )
            elif sizes.is_empty:
                self.emit(
                    Severity.ERROR,
                    "no-valid-size",
                    f"no size of {name} makes every layer valid",
                    ("input", "shape"),
                    "check the layers that shrink the input the most",
                )
        self.check_tiling(sets)
        return sets

    def check_tiling(self, sets: Mapping[str, Any]) -> None:
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
            self.emit(
                Severity.ERROR if self.strict else Severity.WARNING,
                "stride-tiling",
                f"layer {node.name!r}: the stride does not tile its input for some sizes, "
                f"e.g. {names[0]}={bad} ({formula}); exact for {exact}",
                (*node.path, "strides"),
                "restrict the input size or pad",
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
        from . import domain

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


def _non_affine(what: object, value: Value) -> str:
    return (
        f"the spatial size {what!r} = {value} is not affine in the free sizes; the engine "
        "solves sizes built from + and -, multiplication by integers and division by integers "
        "(such as 2*H + 1 or H//4), not products or powers of sizes"
    )


def _complexity(value: Any, memo: dict[Any, tuple[int, int]]) -> tuple[int, int]:
    """Levels of floor, ceiling, Mod, Max and Min in a size, and its terms with repetition.

    Memoized on the shared sub-expressions, so linear in the distinct ones even when the terms
    counted with repetition are exponentially many.
    """
    if isinstance(value, int) or not getattr(value, "args", None):
        return 0, 1
    found = memo.get(value)
    if found is None:
        parts = [_complexity(a, memo) for a in value.args]
        level = 0 if value.is_Add or value.is_Mul or value.is_Pow else 1
        found = (max(p[0] for p in parts) + level, 1 + sum(p[1] for p in parts))
        memo[value] = found
    return found


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
    if isinstance(a, (int, Fraction)) and isinstance(b, (int, Fraction)):
        return a != b
    try:
        import sympy

        return sympy.expand(a - b) != 0
    except (TypeError, ValueError):
        return False


KEY_CODES = frozenset({"unknown-key"})


def _locate(diagnostics: list[Diagnostic], source: Any) -> list[Diagnostic]:
    """Fill in file, line and column from the document each path came from."""
    if source is None:
        return diagnostics
    out = []
    for d in diagnostics:
        if d.line is None:
            pos = (
                (source.key_position(d.path) if d.code in KEY_CODES else source.position(d.path))
                if d.path
                else None
            )
            d = d.at(source.file, *(pos if pos else (None, None)))
        out.append(d)
    return out
