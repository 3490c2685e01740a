"""Repeated sub-graphs of an imported spec, written once as ``blocks:`` and used by name.

A run of consecutive layers can be a block when it reads one tensor from before it (the block
input) and only its last layer is read after it: a ResNet bottleneck, an MBConv body, a
DenseNet layer, Inception's conv-bn-relu. Two runs are copies when they are the same layers
wired the same way, integer fields aside; integers that differ between copies become typed
block arguments (one argument for positions that always agree, ``4*filters`` for one that is
always a multiple of another). Blocks are chosen greedily, the one that saves the most lines
first; chained copies with equal arguments become one use with ``repeat:``. Nothing here
changes the network: the test suite compares the blocked report with the flat one.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from archspec.layers import LAYER_KINDS

from .core import Imported

__all__ = ["find_blocks"]

INT_FIELDS = frozenset(
    {"filters", "units", "kernel", "strides", "dilation", "groups", "depth_multiplier", "pool",
     "size", "shape", "pieces"}
)  # fmt: skip
"""Fields written as integer expressions, so they can take block arguments."""

MAX_BLOCK = 40
"""Longest run considered, in layers: bounds the search on thousand-layer models."""

_HOLE = "#"


def _abstract(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return _HOLE
    if isinstance(value, list):
        return tuple(_abstract(v) for v in value)
    return value


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_frozen(v) for v in value)
    return value


def _ints(entry: dict[str, Any]) -> list[tuple[str, int | None, int]]:
    """(field, list position or None, value) of every integer a block argument could take."""
    out: list[tuple[str, int | None, int]] = []
    for key, value in entry.items():
        if key not in INT_FIELDS:
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            out.append((key, None, value))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                if isinstance(v, int) and not isinstance(v, bool):
                    out.append((key, i, v))
    return out


def _int_defaults(kind: str) -> dict[str, int]:
    fields = LAYER_KINDS[kind].model_fields
    return {
        key: field.default
        for key, field in fields.items()
        if key in INT_FIELDS and isinstance(field.default, int) and not field.is_required()
    }


def _filled(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry with integer defaults written out: a stride-1 and a stride-2 copy match."""
    missing = {k: v for k, v in _int_defaults(entry["type"]).items() if k not in entry}
    return {**entry, **missing}


def _unfilled(entry: dict[str, Any]) -> dict[str, Any]:
    defaults = _int_defaults(entry["type"])
    return {k: v for k, v in entry.items() if k not in defaults or defaults[k] != v}


class _Flat:
    """The flat layer list with every input resolved to an index (-1: the model input)."""

    def __init__(self, layers: list[dict[str, Any]], output: str | None):
        self.layers = layers
        self.filled = [_filled(e) for e in layers]
        self.names = [str(e["name"]) for e in layers]
        index = {name: i for i, name in enumerate(self.names)}
        self.ins: list[list[int]] = []
        for i, entry in enumerate(layers):
            refs = entry.get("inputs") or [self.names[i - 1] if i else "input"]
            self.ins.append([index.get(r, -1) for r in refs])
        n = len(layers)
        self.last_reader = [-1] * n
        for i, refs in enumerate(self.ins):
            for r in refs:
                if r >= 0:
                    self.last_reader[r] = max(self.last_reader[r], i)
        self.output = index.get(output, n - 1) if output else n - 1
        self.last_reader[self.output] = n
        self.shapes = [
            (e["type"], _frozen({k: _abstract(v) if k in INT_FIELDS else v
                                 for k, v in e.items() if k not in ("name", "inputs")}))
            for e in self.filled
        ]  # fmt: skip
        self.readers = [0] * n
        for refs in self.ins:
            for r in set(refs):
                if r >= 0:
                    self.readers[r] += 1

    def runs(self) -> dict[tuple[Any, ...], list[tuple[int, int, int]]]:
        """Signature -> (start, end, block input) of every run that can be a block."""
        found: dict[tuple[Any, ...], list[tuple[int, int, int]]] = defaultdict(list)
        n = len(self.layers)
        for i in range(n):
            first = self.ins[i]
            if len(set(first)) != 1 or first[0] >= i:
                continue
            source = first[0]
            sig: tuple[Any, ...] = ((self.shapes[i], ("in",) * len(first)),)
            reach = self.last_reader[i]
            for j in range(i + 1, min(n, i + MAX_BLOCK)):
                refs = []
                ok = True
                for r in self.ins[j]:
                    if r == source:
                        refs.append("in")
                    elif i <= r < j:
                        refs.append(j - r)
                    else:
                        ok = False
                        break
                if not ok:
                    break
                sig = (*sig, (self.shapes[j], tuple(refs)))
                if reach <= j:
                    found[sig].append((i, j, source))
                reach = max(reach, self.last_reader[j])
        return found


def _choose(flat: _Flat) -> list[list[tuple[int, int, int]]]:
    """Groups of non-overlapping copies, the most line-saving group first."""
    candidates = flat.runs()
    covered = [False] * len(flat.layers)
    chosen: list[list[tuple[int, int, int]]] = []
    while True:
        prefix = [0]
        for c in covered:
            prefix.append(prefix[-1] + c)
        best: tuple[tuple[int, int, int], list[tuple[int, int, int]]] | None = None
        for runs in candidates.values():
            picked: list[tuple[int, int, int]] = []
            end = -1
            for i, j, source in runs:
                if i > end and prefix[j + 1] == prefix[i]:
                    picked.append((i, j, source))
                    end = j
            if len(picked) < 2:
                continue
            length = picked[0][1] - picked[0][0] + 1
            saving = len(picked) * length - (length + 3 + len(picked))
            # Among equal savings, blocks that end where the graph forks (a residual
            # block's output) read as people draw them.
            forks = sum(flat.readers[j] > 1 for _, j, _ in picked)
            key = (saving, forks, -picked[0][0])
            if saving > 0 and (best is None or key > best[0]):
                best = (key, picked)
        if best is None:
            return chosen
        for i, j, _ in best[1]:
            for k in range(i, j + 1):
                covered[k] = True
        chosen.append(best[1])


def _common_prefix(words: list[str]) -> str:
    """Characters every word starts with (names, not paths: ``conv2_block`` from two)."""
    if not words:
        return ""
    first = min(words)
    last = max(words)
    n = 0
    while n < len(first) and first[n] == last[n]:
        n += 1
    return first[:n]


def _valid(name: str) -> bool:
    return bool(name) and (name[0].isalpha() or name[0] == "_") and name not in ("input",)


def _local_names(flat: _Flat, runs: list[tuple[int, int, int]]) -> list[str]:
    """Names inside the block: what the copies' names share after their common prefix, or
    the layer types where they share nothing."""
    suffixes = []
    for i, j, _ in runs:
        names = flat.names[i : j + 1]
        cut = len(_common_prefix(names))
        suffixes.append([n[cut:] for n in names])
    first = suffixes[0]
    if all(s == first for s in suffixes) and len(set(first)) == len(first) and all(first):
        return [s if _valid(s) else f"_{s}" for s in first]
    out, seen = [], defaultdict(int)
    for k in range(runs[0][1] - runs[0][0] + 1):
        kind = str(flat.layers[runs[0][0] + k]["type"])
        seen[kind] += 1
        out.append(kind if seen[kind] == 1 else f"{kind}_{seen[kind]}")
    return out


def _arguments(
    flat: _Flat, runs: list[tuple[int, int, int]]
) -> tuple[dict[tuple[int, str, int | None], str], list[str], list[list[int]]]:
    """Which integers become arguments: position -> expression, argument names, and each
    copy's argument values."""
    length = runs[0][1] - runs[0][0] + 1
    positions: dict[tuple[int, str, int | None], list[int]] = {}
    for k in range(length):
        for i, _, _ in runs:
            for key, index, value in _ints(flat.filled[i + k]):
                positions.setdefault((k, key, index), []).append(value)
    expressions: dict[tuple[int, str, int | None], str] = {}
    names: list[str] = []
    vectors: list[list[int]] = []
    for position, values in positions.items():
        if len(set(values)) == 1:
            continue
        expression = None
        for name, vector in zip(names, vectors):
            if vector == values:
                expression = name
                break
            if all(v and w % v == 0 for v, w in zip(vector, values)):
                ratios = {w // v for v, w in zip(vector, values)}
                if len(ratios) == 1:
                    expression = f"{ratios.pop()}*{name}"
                    break
        if expression is None:
            base = position[1]
            name = base
            k = 2
            while name in names:
                name = f"{base}{k}"
                k += 1
            names.append(name)
            vectors.append(values)
            expression = name
        expressions[position] = expression
    per_copy = [[vector[c] for vector in vectors] for c in range(len(runs))]
    return expressions, names, per_copy


def _body(
    flat: _Flat,
    run: tuple[int, int, int],
    local: list[str],
    expressions: dict[tuple[int, str, int | None], str],
) -> list[dict[str, Any]]:
    i, j, source = run
    layers = []
    for k in range(j - i + 1):
        entry = dict(flat.filled[i + k])
        refs = ["input" if r == source else local[r - i] for r in flat.ins[i + k]]
        previous = "input" if k == 0 else local[k - 1]
        entry.pop("inputs", None)
        for (pos, key, index), expression in expressions.items():
            if pos != k:
                continue
            if index is None:
                entry[key] = expression
            else:
                entry[key] = [*entry[key][:index], expression, *entry[key][index + 1 :]]
        constant = {key for (pos, key, _), _ in expressions.items() if pos == k}
        entry = {
            key: value
            for key, value in entry.items()
            if key in constant or key not in _unfilled_keys(entry)
        }
        out: dict[str, Any] = {"name": local[k], "type": entry.pop("type")}
        entry.pop("name")
        if refs != [previous]:
            out["inputs"] = refs
        out.update(entry)
        layers.append(out)
    return layers


def _unfilled_keys(entry: dict[str, Any]) -> set[str]:
    """Keys of ``entry`` that only restate a default."""
    return set(entry) - set(_unfilled(entry))


def find_blocks(imported: Imported) -> None:
    """Rewrite ``imported.document`` with the repeated sub-graphs as blocks, in place."""
    document = imported.document
    flat = _Flat(document["layers"], document.get("output"))
    groups = _choose(flat)
    if not groups:
        return
    taken = set(flat.names)
    blocks: dict[str, Any] = {}
    uses: dict[int, dict[str, Any]] = {}
    """Start index -> the use replacing the run starting there."""
    exit_name: dict[int, str] = {}
    """Index of a run's last layer -> the name later layers read it by."""
    spans: dict[int, int] = {}
    groups.sort(key=lambda g: g[0][0])
    for number, runs in enumerate(groups, 1):
        block = f"block_{number}"
        local = _local_names(flat, runs)
        expressions, names, per_copy = _arguments(flat, runs)
        blocks[block] = {
            "args": {name: "int" for name in names},
            "layers": _body(flat, runs[0], local, expressions),
        }
        if not names:
            del blocks[block]["args"]
        merged: list[list[int]] = []
        for c, (i, j, source) in enumerate(runs):
            if (
                merged
                and per_copy[merged[-1][-1]] == per_copy[c]
                and runs[merged[-1][-1]][1] == source
                and source == i - 1
                and flat.last_reader[source] <= j
            ):
                merged[-1].append(c)
            else:
                merged.append([c])
        for members in merged:
            first, last = runs[members[0]], runs[members[-1]]
            name = _use_name(flat, [runs[m] for m in members], taken)
            use: dict[str, Any] = {"name": name, "type": "block", "block": block}
            if names:
                use["args"] = dict(zip(names, per_copy[members[0]]))
            if len(members) > 1:
                use["repeat"] = len(members)
            uses[first[0]] = {"use": use, "source": first[2]}
            spans[first[0]] = last[1]
            exit_name[last[1]] = name
    layers: list[dict[str, Any]] = []
    previous = -1
    i = 0
    while i < len(flat.layers):
        if i in uses:
            use = uses[i]["use"]
            source = uses[i]["source"]
            if source != previous:
                use = {**use, "inputs": [_ref(flat, source, exit_name)]}
                use = {k: use[k] for k in ("name", "type", "inputs", "block", "args", "repeat")
                       if k in use}  # fmt: skip
            layers.append(use)
            previous = spans[i]
            i = spans[i] + 1
            continue
        entry = dict(flat.layers[i])
        refs = [_ref(flat, r, exit_name) for r in flat.ins[i]]
        entry.pop("inputs", None)
        out = {"name": entry.pop("name"), "type": entry.pop("type")}
        if flat.ins[i] != [previous]:
            out["inputs"] = refs
        out.update(entry)
        layers.append(out)
        previous = i
        i += 1
    document["layers"] = layers
    if "output" in document:
        document["output"] = _ref(flat, flat.output, exit_name)
    rebuilt = {}
    for key, value in document.items():
        if key == "layers":
            rebuilt["blocks"] = blocks
        rebuilt[key] = value
    document.clear()
    document.update(rebuilt)


def _ref(flat: _Flat, index: int, exit_name: dict[int, str]) -> str:
    if index < 0:
        return "input"
    return exit_name.get(index, flat.names[index])


def _use_name(flat: _Flat, runs: list[tuple[int, int, int]], taken: set[str]) -> str:
    """The copies' shared name prefix (``conv2_block2``), else the last layer's own name."""
    names = [n for i, j, _ in runs for n in flat.names[i : j + 1]]
    prefix = _common_prefix(names).rstrip("_-")
    last = flat.names[runs[-1][1]]
    name = prefix if (_valid(prefix) and prefix not in taken) or prefix == last else last
    if name != last:
        taken.add(name)
    return name
