"""The walk: binds the names, expands the graph, infers every layer once, solves the sizes.

Each layer's fields are resolved and inferred by its kind (``archspec.layers``); this module
orders the work, applies the limits, and hands receptive fields (``fields``), dropped pixels
(``tiling``) and the valid input sizes (``archspec.domain``) to the modules that own them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from functools import cache
from typing import Any

from pydantic import BaseModel

from ..conditions import Constraint
from ..diagnostics import Diagnostic, Severity, SpecPath, locate
from ..expr import ExprError, parse_expression
from ..graph import INPUT, Graph, Node, expand
from ..layers import AugmentArgs, Context, Inferred, LayerError, format_shape
from ..layers.base import positive
from ..limits import DEFAULT_LIMITS, Limits
from ..report import LayerRow, Report
from ..spec import Spec
from ..symbols import Measures, Value, is_affine, is_symbolic, symbol
from .binding import Emit, bind_names, input_shape, non_affine, placeholder_names
from .fields import Fields, ReceptiveFields, origin
from .tiling import Tiling


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
            diagnostics=locate(
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
        self.couplings: tuple[Any, ...] = ()
        """What the conditions tying several input sizes together allow (``domain.Coupling``)."""
        self.augmentations: list[AugmentArgs] = []
        self.fields = ReceptiveFields(self.emit)
        self.tiling = Tiling(self.emit, strict, limits, len(spec.input.shape) - 1)

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

    # -- the walk ----------------------------------------------------------------------------
    def run(self) -> Report:
        env = bind_names(self.spec, self.sizes, self.emit)
        rows: list[LayerRow] = []
        model_input = shape = input_shape(self.spec, env, self.emit) if env is not None else None
        graph: Graph | None = None
        if shape is not None and env is not None:
            shape = self.augment(shape, env)
        if shape is not None and env is not None:
            graph, found = expand(self.spec, env, self.limits)
            self.diagnostics.extend(found)
        elif not any(d.code == "unknown-size" for d in self.diagnostics):
            self.check_without_values()
        if graph is not None and shape is not None:
            rows = self.walk(graph, shape)
            self.diagnostics = pointwise_dense_as_notes(self.diagnostics, rows, graph.output)
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
            report.couplings = self.couplings
        located = locate(self.diagnostics, self.spec.source)
        # in file order, as a reader fixes them; those without a place keep theirs, at the end
        report.diagnostics = sorted(
            located, key=lambda d: (d.line is None, d.line or 0, d.column or 0)
        )
        return report

    def check_without_values(self) -> None:
        """When a param or the input shape cannot be bound, the layers are still read for the
        mistakes that depend on no value: unknown names, duplicate layers, dangling inputs,
        bad block arguments. Every independent mistake of a file comes out in one run."""
        graph, found = expand(self.spec, placeholder_names(self.spec), self.limits)
        seen = {(d.code, d.path, d.message) for d in self.diagnostics}
        for d in found:
            valueless = d.code in VALUELESS_CODES or d.message.startswith("unknown name")
            if d.is_error and valueless and (d.code, d.path, d.message) not in seen:
                self.diagnostics.append(d)
        for node in graph.nodes if graph is not None else ():
            unknown_names(node, self.emit)

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
        shapes: dict[str, tuple[Value, ...]] = {INPUT: input_shape}
        fields: dict[str, Fields | None] = {INPUT: origin(len(input_shape) - 1)}
        rows: list[LayerRow] = []
        failed: set[str] = set()
        nesting: dict[Any, tuple[int, int]] = {}
        measured_sizes: Measures = {}
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
            if node.name in graph.broken or any(i in failed for i in node.inputs):
                # not analysed (what it reads is unknown), but its own names are still checked
                failed.add(node.name)
                unknown_names(node, self.emit)
                continue
            inferred = self.infer(node, [shapes[i] for i in node.inputs])
            if inferred is None:
                failed.add(node.name)
                continue
            spatial = inferred.shape[:-1]
            if len(inferred.shape) > 1 and not all(is_affine(d, measured_sizes) for d in spatial):
                bad = next(d for d in spatial if not is_affine(d, measured_sizes))
                self.emit(
                    Severity.ERROR,
                    "bad-expression",
                    f"layer {node.name!r}: " + non_affine(node.name, bad),
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
            self.tiling.track_margins(node, inferred, shapes)
            self.fields.note_causal(node, inferred)
            rf = self.fields.step(node, inferred, [fields[i] for i in node.inputs])
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
                    type=node.layer.type,
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
        kind = node.layer.type
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
        self.tiling.check(node, inferred)
        return inferred

    # -- valid sizes -------------------------------------------------------------------------
    def solve(self, shape: tuple[Value, ...]) -> dict[str, Any]:
        free = [str(s) for d in shape if is_symbolic(d) for s in d.free_symbols]  # type: ignore[union-attr]
        names = sorted(set(free))
        if not names:
            return {}
        from .. import domain
        from ..domain.joint import relation_texts

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
        self.couplings = result.couplings
        for c in result.contradictions:
            self.emit(
                Severity.ERROR,
                "no-valid-size",
                f"layer {c.label!r} needs {relation_texts([c])[0]}, which no input size makes true",
                ("input", "shape"),
            )
        for undecided in result.undecided:
            self.emit(
                Severity.NOTE,
                "coupled-sizes",
                f"sizes are valid only when {undecided.lhs} == {undecided.rhs} "
                f"(at layer {undecided.label!r}); this involves a size the solver does not "
                "solve for, so the valid-input sets ignore it",
                ("input", "shape"),
            )
        for coupling in result.couplings:
            if coupling.satisfiable or any(sets[n].is_empty for n in coupling.symbols):
                continue  # an empty size set is reported below, on its own
            layers = sorted({c.label for c in (coupling.conflict or coupling.constraints)})
            relations = " and ".join(relation_texts(coupling.conflict or coupling.constraints))
            each = ", ".join(sets[n].describe(n) for n in coupling.symbols if n in sets)
            if coupling.exact:
                self.emit(
                    Severity.ERROR,
                    "no-valid-size",
                    f"no input sizes meet the conditions of layer(s) "
                    f"{', '.join(map(repr, layers))} together: {relations} (with {each})",
                    ("input", "shape"),
                    "these layers tie the sizes together in ways that cannot all hold",
                )
            else:
                self.emit(
                    Severity.WARNING,
                    "no-valid-size",
                    f"no input sizes up to {coupling.checked_up_to} meet the conditions of "
                    f"layer(s) {', '.join(map(repr, layers))} together: {relations}; larger "
                    "sizes were not checked",
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
                low = declared[name].min or 1 if name in declared else 1
                high = declared[name].max if name in declared else None
                conflict = _empty_because(constraints, symbol(name), low, high)
                if not conflict:
                    self.emit(
                        Severity.ERROR,
                        "no-valid-size",
                        f"no size of {name} makes every layer valid",
                        ("input", "shape"),
                        "check the layers that shrink the input the most",
                    )
                    continue
                layers = list(dict.fromkeys(c.label for c in conflict))
                last = conflict[-1]
                node = next((n for c, n in self.constraints if n and n.name == last.label), None)
                path: SpecPath = ("input", "shape")
                if node is not None:
                    path = (*node.path, last.field) if last.field else node.path
                self.emit(
                    Severity.ERROR,
                    "no-valid-size",
                    f"no size of {name} makes every layer valid: the conditions of layer(s) "
                    f"{', '.join(map(repr, layers))} cannot hold together: "
                    + " and ".join(relation_texts(conflict)),
                    path,
                    "these are the layers to change; the others accept some size",
                    last.label or None,
                )
        self.tiling.check_symbolic(sets)
        return sets


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


POINTWISE_DENSE = (
    "; here it is a per-position (1x1) layer inside the network, as ConvNeXt's pointwise "
    "layers are, and the output is still reduced later, so this is noted, not warned"
)


def pointwise_dense_as_notes(
    diagnostics: list[Diagnostic], rows: list[LayerRow], output: str | None
) -> list[Diagnostic]:
    """Keep ``dense-unflattened`` a warning only where the mistake it names shows: a Dense on
    a map that produces the model's output (through shape-keeping layers such as an
    activation), so the "classifier" answers per position. Anywhere else a Dense on the last
    axis is a pointwise layer (ConvNeXt, MLP-Mixer) and stays visible as a note."""
    by_name = {row.name: row for row in rows}
    head = by_name.get(output or "")
    while head is not None and head.type != "dense" and len(head.inputs) == 1:
        before = by_name.get(head.inputs[0])
        if before is None or tuple(before.output_shape) != tuple(head.output_shape):
            break
        head = before
    warned = head.name if head is not None and head.type == "dense" else None
    out = []
    noted: set[tuple[object, ...]] = set()
    for d in diagnostics:
        if d.code == "dense-unflattened" and d.severity is Severity.WARNING and d.layer != warned:
            if d.path in noted:
                continue  # every copy of a block says it at the same place: once is enough
            noted.add(d.path)
            d = replace(d, severity=Severity.NOTE, message=d.message + POINTWISE_DENSE)
        out.append(d)
    return out


MAX_CONFLICT_SEARCH = 256
"""Conditions beyond which the search for the failing layers gives up (one solve each)."""


def _empty_because(
    constraints: list[Constraint], name: Any, low: int, high: int | None
) -> tuple[Constraint, ...]:
    """A smallest set of one size's conditions that no size meets, in the order of the layers
    (a deletion filter over the residue solver): the layers to name when none is valid."""
    from ..domain import valid_sizes

    own = [c for c in constraints if _only(c, name)]
    if not own or len(own) > MAX_CONFLICT_SEARCH:
        return ()

    def empty(cs: list[Constraint]) -> bool:
        found = valid_sizes(cs, name, minimum=low, maximum=high)
        return found.exact and found.is_empty

    for c in own:  # most often one condition alone is never true
        if empty([c]):
            return (c,)
    needed = list(own)
    for c in own:
        trial = [d for d in needed if d is not c]
        if trial and empty(trial):
            needed = trial
    return tuple(needed)


def _only(c: Constraint, name: Any) -> bool:
    free = set(getattr(c.lhs, "free_symbols", ())) | set(getattr(c.rhs, "free_symbols", ()))
    return free == {name}


VALUELESS_CODES = frozenset(
    {"duplicate-name", "unknown-input", "unknown-argument", "missing-argument", "unknown-block"}
)
"""Expansion errors that hold whatever the params are: reported even when binding failed."""


@cache
def _expression_fields(kind: type[BaseModel]) -> tuple[str, ...]:
    """The fields of a layer kind that take expressions, read from its JSON Schema."""
    properties = kind.model_json_schema().get("properties", {})
    return tuple(
        name
        for name, schema in properties.items()
        if "arithmetic over params and symbols" in json.dumps(schema) and "enum" not in schema
    )


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def unknown_names(node: Node, emit: Emit) -> None:
    """Each unknown name in the layer's own fields, where it stands, as the analysis words it.

    Checked apart from the shapes, so a layer after a broken one still reports its own names.
    """
    known = dict.fromkeys(node.env, 1)
    for name in _expression_fields(type(node.layer)):
        for text in _strings(getattr(node.layer, name, None)):
            try:
                parse_expression(text).evaluate(known)
            except ExprError as exc:
                if exc.message.startswith("unknown name"):
                    emit(
                        Severity.ERROR,
                        "bad-expression",
                        f"layer {node.name!r} ({node.layer.type}): {exc.message}",
                        (*node.path, name),
                        exc.hint,
                        node.name,
                    )
