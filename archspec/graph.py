"""From the spec's nested lists and blocks to a flat, ordered graph of named layers.

Blocks are expanded here, once: each copy gets dotted names (``stage2.1.conv_a``), its own
argument values and the path of its definition in the file, so every later diagnostic can point
at the line that wrote the layer.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from .diagnostics import Diagnostic, Severity, SpecPath
from .expr import ExprError, did_you_mean, parse_expression
from .layers import LayerBase
from .limits import DEFAULT_LIMITS, Limits
from .spec import BlockArg, BlockUse, Spec
from .symbols import Value, as_int, fraction_of

INPUT = "input"

_STEPS_PER_LAYER = 5
"""Expansion steps (layers, block copies, block arguments) allowed per layer of max_layers."""


@dataclass(frozen=True)
class Node:
    """One layer of the expanded graph."""

    name: str
    layer: LayerBase
    inputs: tuple[str, ...]
    path: SpecPath
    env: Mapping[str, Value]
    scope: tuple[str, ...] = ()
    """Names of the enclosing block copies, outermost first; the report folds on this."""
    use_path: SpecPath | None = None
    """Where the enclosing block was used, for layers defined inside a block."""


@dataclass
class Graph:
    nodes: list[Node]
    output: str
    by_name: dict[str, Node] = field(default_factory=dict)
    broken: frozenset[str] = frozenset()
    """Layers with an input that names no layer: present, so that their own fields are still
    checked, but never analysed (what they read is unknown)."""

    def __post_init__(self) -> None:
        self.by_name = {n.name: n for n in self.nodes}


@dataclass
class _Pending:
    name: str
    layer: LayerBase
    refs: list[str]
    prefix: str
    path: SpecPath
    env: Mapping[str, Value]
    scope: tuple[str, ...]
    use_path: SpecPath | None


class _Expander:
    def __init__(self, spec: Spec, limits: Limits):
        self.spec = spec
        self.limits = limits
        self.pending: list[_Pending] = []
        self.names: dict[str, int] = {}
        self.aliases: dict[str, str] = {}
        self.counters: Counter[str] = Counter()
        self.reserved = {entry.name for entry in spec.layers if entry.name}
        """Names written at the top level: generated names must not take them first."""
        self.diagnostics: list[Diagnostic] = []
        self.scope_inputs: dict[str, str] = {"": INPUT}
        """Block-copy prefix -> the layer that feeds it, which ``input`` means inside."""
        self.steps = 0
        """Nested repeats multiply: counting layers alone does not bound the work when the
        copies yield errors instead of layers, so every entry, copy and argument counts."""
        self.reported: set[tuple[str, str, SpecPath]] = set()
        """Every copy of a block repeats its errors at the same place: each is said once."""
        self.hints_left = limits.max_hints
        self.block_guesses: dict[str, str | None] = {}

    def error(
        self,
        code: str,
        message: str,
        path: SpecPath,
        hint: str | None = None,
        layer: str | None = None,
    ) -> None:
        key = (code, message, tuple(path))
        if key in self.reported:
            return
        self.reported.add(key)
        self.diagnostics.append(
            Diagnostic(Severity.ERROR, code, message, path=path, hint=hint, layer=layer)
        )

    def step(self, here: SpecPath, count: int = 1) -> None:
        """Stop expanding once the work or the errors exceed what any real spec needs."""
        self.steps += count
        budget = _STEPS_PER_LAYER * self.limits.max_layers
        if self.steps > budget:
            self.error(
                "limit-exceeded",
                f"expanding the blocks takes more than {budget} steps (layers, block copies "
                f"and block arguments; {_STEPS_PER_LAYER} x Limits.max_layers)",
                here,
                "nested repeats multiply: check the repeat counts",
            )
            raise _Stop
        if len(self.diagnostics) > self.limits.max_expand_errors:
            self.error(
                "limit-exceeded",
                f"more than {self.limits.max_expand_errors} errors while expanding the blocks; "
                "stopped here",
                here,
                "fix the first errors, or raise --limit max_expand_errors=N",
            )
            raise _Stop

    def guess_block(self, name: str) -> str | None:
        """A failing use inside a block fails in every copy: look for its hint once."""
        if name not in self.block_guesses:
            self.block_guesses[name] = did_you_mean(name, list(self.spec.blocks))
        return self.block_guesses[name]

    def auto_name(self, kind: str) -> str:
        """Keras's convention: conv2d, conv2d_1, conv2d_2, ..."""
        while True:
            n = self.counters[kind]
            self.counters[kind] += 1
            name = kind if n == 0 else f"{kind}_{n}"
            if name not in self.names and name not in self.aliases and name not in self.reserved:
                return name

    def integer(self, raw: int | str, env: Mapping[str, Value], path: SpecPath) -> int | None:
        try:
            value = raw if isinstance(raw, int) else parse_expression(raw).evaluate(env)
        except ExprError as exc:
            self.error("bad-expression", exc.message, path, exc.hint)
            return None
        concrete = as_int(value)
        inexact = fraction_of(value)
        if inexact is not None:
            self.error(
                "not-whole",
                f"must be a whole number. Received: {raw!r} = {inexact}",
                path,
                "round it: ceil(...), floor(...) or round(...)",
            )
        elif concrete is None:
            self.error(
                "not-concrete",
                f"must be a concrete integer, got {raw!r}",
                path,
                "bind the symbols it uses under params:",
            )
        return concrete

    def expand(
        self,
        layers: list,
        path: SpecPath,
        prefix: str,
        prev: str,
        env: Mapping[str, Value],
        scope: tuple[str, ...],
        stack: tuple[str, ...],
        use_path: SpecPath | None,
    ) -> str:
        for i, entry in enumerate(layers):
            here = (*path, i)
            self.step(here)
            if isinstance(entry, BlockUse):
                prev = self.use_block(entry, here, prefix, prev, env, scope, stack, use_path)
                continue
            name = prefix + (entry.name or self.auto_name(entry.type))
            if name in self.names or name in self.aliases:
                self.error(
                    "duplicate-name",
                    f"layer name {name!r} is already used",
                    (*here, "name"),
                    "give every layer a unique name",
                    name,
                )
                continue
            if len(self.pending) >= self.limits.max_layers:
                self.error(
                    "limit-exceeded",
                    f"the spec expands to more than {self.limits.max_layers} layers",
                    here,
                    "if this is meant, raise it: --limit max_layers=N",
                )
                raise _Stop
            self.names[name] = len(self.pending)
            refs = list(entry.inputs) if entry.inputs else [_Resolved(prev)]
            self.pending.append(_Pending(name, entry, refs, prefix, here, env, scope, use_path))
            prev = name
        return prev

    def use_block(
        self,
        use: BlockUse,
        here: SpecPath,
        prefix: str,
        prev: str,
        env: Mapping[str, Value],
        scope: tuple[str, ...],
        stack: tuple[str, ...],
        use_path: SpecPath | None,
    ) -> str:
        block = self.spec.blocks.get(use.block)
        if block is None:
            guess = self.guess_block(use.block)
            self.error(
                "unknown-block",
                f"no block named {use.block!r}",
                (*here, "block"),
                f"did you mean {guess!r}?" if guess else "define it under blocks:",
            )
            return prev
        if use.block in stack:
            self.error(
                "block-recursion",
                f"block {use.block!r} uses itself: {' -> '.join((*stack, use.block))}",
                (*here, "block"),
            )
            return prev
        repeat = self.integer(use.repeat, env, (*here, "repeat"))
        if repeat is None:
            return prev
        # repeat 0 passes the input through: a family's smallest member may have no copies
        # of a stage that its larger members repeat (EfficientNet-B0's one-block stages).
        if not 0 <= repeat <= self.limits.max_repeat:
            self.error(
                "out-of-range",
                f"repeat must be between 0 and {self.limits.max_repeat}. "
                f"Received: repeat={use.repeat}",
                (*here, "repeat"),
            )
            return prev
        self.step(
            here,
            repeat
            + sum(_cost(raw) for raw in use.args.values())
            + sum(_cost(arg.default) for arg in block.args.values() if isinstance(arg, BlockArg)),
        )
        args = self.block_args(use, block, env, here)
        if args is None:
            return prev
        if use.inputs:
            ref = use.inputs[0]
            start = self.resolve_now(ref, prefix, here)
            if start is None:
                return prev
            prev = start
        base = use.name or self.auto_name(use.block)
        block_path: SpecPath = ("blocks", use.block, "layers")
        outer_use = use_path or here
        for copy in range(1, repeat + 1):
            instance = prefix + (f"{base}.{copy}" if repeat > 1 else base)
            self.scope_inputs[instance + "."] = prev
            prev = self.expand(
                block.layers,
                block_path,
                instance + ".",
                prev,
                {**env, **args},
                (*scope, instance),
                (*stack, use.block),
                outer_use,
            )
            if repeat > 1:
                self.aliases.setdefault(instance, prev)
        self.aliases[prefix + base] = prev
        return prev

    def block_args(self, use: BlockUse, block, env, here: SpecPath) -> dict[str, Value] | None:
        args: dict[str, Value] = {}
        ok = True
        for key in use.args:
            if key not in block.args:
                guess = did_you_mean(key, list(block.args))
                self.error(
                    "unknown-argument",
                    f"block {use.block!r} has no argument {key!r}",
                    (*here, "args", key),
                    f"did you mean {guess!r}?"
                    if guess
                    else f"its arguments are: {', '.join(block.args) or 'none'}",
                )
                ok = False
        for key, arg in block.args.items():
            raw = use.args.get(key, arg.default)
            if raw is None:
                self.error(
                    "missing-argument",
                    f"block {use.block!r} needs argument {key!r}",
                    (*here, "args"),
                )
                ok = False
                continue
            try:
                args[key] = (
                    raw if isinstance(raw, int) else parse_expression(raw).evaluate({**env, **args})
                )
            except ExprError as exc:
                self.error("bad-expression", exc.message, (*here, "args", key), exc.hint)
                ok = False
        return args if ok else None

    def resolve_now(self, ref: str, prefix: str, here: SpecPath) -> str | None:
        target = self.lookup(ref, prefix)
        if target is None:
            self.dangling(ref, prefix, (*here, "inputs", 0), "must name a layer defined before")
        return target

    def lookup(self, ref: str, prefix: str) -> str | None:
        if ref == INPUT:
            return self.scope_inputs.get(prefix, INPUT)
        for candidate in (prefix + ref, ref) if prefix else (ref,):
            if candidate in self.names:
                return candidate
            if candidate in self.aliases:
                return self.aliases[candidate]
        return None

    def dangling(self, ref: str, prefix: str, path: SpecPath, why: str = "") -> None:
        guess = None
        self.hints_left -= 1
        if self.hints_left >= 0:
            visible = [n[len(prefix) :] for n in self.names if n.startswith(prefix)]
            visible += [INPUT, *self.aliases]
            guess = did_you_mean(ref, visible)
        self.error(
            "unknown-input",
            f"inputs names {ref!r}, which is not a layer{' ' + why if why else ''}",
            path,
            f"did you mean {guess!r}?" if guess else None,
        )


def _cost(raw: object) -> int:
    """Steps one argument costs: parsing and evaluating text takes ~3 us per character."""
    return 1 + len(raw) // 8 if isinstance(raw, str) else 1


class _Resolved(str):
    """A reference already resolved to a full name (the implicit previous layer)."""


class _Stop(Exception):
    pass


def expand(
    spec: Spec, env: Mapping[str, Value], limits: Limits = DEFAULT_LIMITS
) -> tuple[Graph | None, list[Diagnostic]]:
    """Expand blocks, resolve ``inputs`` and order the layers; errors come back as values."""
    ex = _Expander(spec, limits)
    try:
        last = ex.expand(spec.layers, ("layers",), "", INPUT, env, (), (), None)
    except _Stop:
        return None, ex.diagnostics
    inputs: dict[str, tuple[str, ...]] = {}
    broken: set[str] = set()
    for p in ex.pending:
        resolved = []
        for k, ref in enumerate(p.refs):
            if isinstance(ref, _Resolved):
                resolved.append(str(ref))
                continue
            target = ex.lookup(ref, p.prefix)
            if target is None:
                ex.dangling(ref, p.prefix, (*p.path, "inputs", k))
                broken.add(p.name)
            elif target == p.name:
                ex.error(
                    "cycle",
                    f"layer {p.name!r} takes itself as input",
                    (*p.path, "inputs", k),
                    layer=p.name,
                )
                broken.add(p.name)
            else:
                resolved.append(target)
        inputs[p.name] = tuple(resolved)
    output = last
    if spec.output is not None:
        target = ex.lookup(spec.output, "")
        if target is None:
            ex.dangling(spec.output, "", ("output",))
        else:
            output = target
    # Errors so far leave the graph whole (a duplicate is dropped, a dangling input marks its
    # layer broken): the analysis still checks every other layer, so a run reports them all.
    failed = any(d.is_error for d in ex.diagnostics)
    order = _toposort(ex, inputs)
    if order is None:
        return None, ex.diagnostics
    by_name = {p.name: p for p in ex.pending}
    nodes = [
        Node(
            name,
            by_name[name].layer,
            inputs[name],
            by_name[name].path,
            by_name[name].env,
            by_name[name].scope,
            by_name[name].use_path,
        )
        for name in order
    ]
    if not failed:
        _warn_unused(ex, nodes, output)
    return Graph(nodes, output, broken=frozenset(broken)), ex.diagnostics


def _toposort(ex: _Expander, inputs: dict[str, tuple[str, ...]]) -> list[str] | None:
    """Kahn's algorithm, keeping the file's order among layers that are ready together."""
    position = {p.name: i for i, p in enumerate(ex.pending)}
    waiting = {name: {i for i in deps if i != INPUT} for name, deps in inputs.items()}
    users: dict[str, list[str]] = {name: [] for name in inputs}
    for name, deps in waiting.items():
        for dep in deps:
            users[dep].append(name)
    import heapq

    ready = [(position[n], n) for n, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, name = heapq.heappop(ready)
        order.append(name)
        for user in users[name]:
            waiting[user].discard(name)
            if not waiting[user]:
                heapq.heappush(ready, (position[user], user))
    if len(order) == len(inputs):
        return order
    stuck = [p for p in ex.pending if waiting[p.name]]
    cycle = _find_cycle({p.name: waiting[p.name] for p in stuck})
    first = min(cycle, key=lambda n: position[n])
    pending = ex.pending[position[first]]
    ex.error(
        "cycle",
        f"layers form a cycle: {' -> '.join([*cycle, cycle[0]])}",
        (*pending.path, "inputs"),
        "a layer's inputs must come from earlier in the graph",
        first,
    )
    return None


def _find_cycle(waiting: dict[str, set[str]]) -> list[str]:
    start = next(iter(waiting))
    seen: list[str] = []
    node = start
    while node not in seen:
        seen.append(node)
        node = next(iter(sorted(waiting[node])))
    return seen[seen.index(node) :]


def _warn_unused(ex: _Expander, nodes: list[Node], output: str) -> None:
    """A branch that never reaches the output is dropped by Keras; say so instead."""
    by_name = {n.name: n for n in nodes}
    live = set()
    stack = [output]
    while stack:
        name = stack.pop()
        if name in live or name not in by_name:
            continue
        live.add(name)
        stack.extend(by_name[name].inputs)
    for node in nodes:
        if node.name not in live:
            ex.diagnostics.append(
                Diagnostic(
                    Severity.WARNING,
                    "unused-layer",
                    f"layer {node.name!r} does not lead to the output {output!r}",
                    path=node.path,
                    layer=node.name,
                    hint="name it in a later layer's inputs, or remove it",
                )
            )
