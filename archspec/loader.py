"""Spec files to plain trees, remembering where every node was written.

Spec files come from strangers' pull requests, so loading is defensive: size is checked before
parsing, nesting depth on PyYAML's iterative event stream before anything recursive runs, and
nodes are counted while converting, each use of an alias counted again (the "billion laughs"
bomb). Only PyYAML's safe machinery is used: no tag can construct a Python object.

YAML 1.1 resolves a few plain words as booleans (``yes``, ``no``, ``on``, ``off``); they keep
that meaning here, as in every YAML tool built on PyYAML. JSON files are parsed strictly by
``json`` first (its errors carry line and column), then composed again for positions.
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .diagnostics import Diagnostic, Severity, SpecError, SpecPath
from .limits import DEFAULT_LIMITS, Limits

__all__ = ["Document", "dump_yaml", "load_file", "load_text"]

Position = tuple[int, int]


@dataclass(frozen=True)
class Document:
    """A loaded spec file: its plain tree and the 1-based position of every node and key."""

    file: str
    data: Any
    values: dict[SpecPath, Position] = field(default_factory=dict, repr=False, compare=False)
    keys: dict[SpecPath, Position] = field(default_factory=dict, repr=False, compare=False)

    def position(self, path: SpecPath) -> Position | None:
        """Where the value at ``path`` starts; for a missing path, its nearest ancestor."""
        for end in range(len(path), -1, -1):
            found = self.values.get(tuple(path[:end]))
            if found is not None:
                return found
        return None

    def key_position(self, path: SpecPath) -> Position | None:
        """Where the key of the value at ``path`` starts (for misspelt keys)."""
        found = self.keys.get(tuple(path))
        return found if found is not None else self.position(path)


def _error(
    file: str, code: str, message: str, mark: Any = None, hint: str | None = None
) -> SpecError:
    line = mark.line + 1 if mark is not None else None
    column = mark.column + 1 if mark is not None else None
    return SpecError([Diagnostic(Severity.ERROR, code, message, file, line, column, hint=hint)])


def load_file(path: str | os.PathLike[str], *, limits: Limits | None = None) -> Document:
    """Read and load a spec file; every failure is a located SpecError."""
    limits = limits or DEFAULT_LIMITS
    name = str(path)
    try:
        size = os.path.getsize(path)
        if size > limits.max_bytes:
            raise _error(
                name, "limit-exceeded", f"file is {size} bytes; the limit is {limits.max_bytes}"
            )
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise _error(name, "file-not-found", "no such file") from None
    except IsADirectoryError:
        raise _error(name, "file-not-found", "is a directory, not a spec file") from None
    except OSError as exc:
        raise _error(name, "unreadable", f"cannot read: {exc.strerror}") from None
    return load_text(raw, name, limits=limits)


def load_text(
    text: str | bytes, file: str = "<string>", *, limits: Limits | None = None
) -> Document:
    """Load YAML or JSON text (JSON when the name ends in .json or the text starts with '{')."""
    limits = limits or DEFAULT_LIMITS
    if isinstance(text, bytes):
        if len(text) > limits.max_bytes:
            raise _error(
                file,
                "limit-exceeded",
                f"file is {len(text)} bytes; the limit is {limits.max_bytes}",
            )
        if b"\x00" in text:
            raise _error(file, "binary-file", "this is a binary file, not a YAML or JSON spec")
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _error(
                file, "encoding", f"not valid UTF-8 (byte {exc.start}): spec files are UTF-8 text"
            ) from None
    elif len(text) > limits.max_bytes:
        raise _error(
            file,
            "limit-exceeded",
            f"text is {len(text)} characters; the limit is {limits.max_bytes}",
        )
    if "\x00" in text:
        raise _error(file, "binary-file", "this is a binary file, not a YAML or JSON spec")
    is_json = file.endswith(".json") or (
        not file.endswith((".yaml", ".yml")) and text.lstrip().startswith("{")
    )
    parsed_json = _check_json(text, file, limits) if is_json else None
    _check_depth(text, file, limits)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise _syntax(exc, file) from None
    except yaml.YAMLError as exc:
        raise _error(file, "yaml-syntax", f"could not parse YAML: {exc}") from None
    except RecursionError:
        raise _error(file, "limit-exceeded", "the file nests too deeply") from None
    if node is None:
        raise _error(
            file,
            "not-a-mapping",
            "the file is empty; a spec is a mapping with archspec, name, input and layers",
        )
    expanded = _expanded_size(node, {})
    if expanded > limits.max_nodes:
        raise _error(
            file,
            "limit-exceeded",
            f"{expanded} nodes once aliases are expanded; the limit is {limits.max_nodes}",
            node.start_mark,
            "aliases (*name) that repeat large structures add up",
        )
    converter = _Converter(file, limits)
    data = converter.convert(node, ())
    if parsed_json is not None:
        # json is the authority on JSON's own escapes (surrogate pairs); YAML gave positions.
        data = parsed_json
    if not isinstance(data, dict):
        raise _error(
            file,
            "not-a-mapping",
            f"a spec is a mapping (archspec:, name:, input:, layers:), not a {type(data).__name__}",
            node.start_mark,
        )
    return Document(file, data, converter.values, converter.keys)


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Nodes after alias expansion, counted on the shared graph: linear in the file's size."""
    known = memo.get(id(node))
    if known is not None:
        return known
    memo[id(node)] = 0  # a recursive alias counts once rather than forever
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(item, memo) for item in node.value)
    else:
        size = 1
    memo[id(node)] = size
    return size


def _check_json(text: str, file: str, limits: Limits) -> Any:
    depth = 0
    deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limits.max_depth:
                raise _error(
                    file, "limit-exceeded", f"nesting deeper than {limits.max_depth} levels"
                )
        elif ch in "]}":
            depth -= 1
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            [
                Diagnostic(
                    Severity.ERROR,
                    "json-syntax",
                    f"could not parse JSON: {exc.msg}",
                    file,
                    exc.lineno,
                    exc.colno,
                )
            ]
        ) from None
    except (RecursionError, ValueError) as exc:
        raise _error(file, "json-syntax", f"could not parse JSON: {exc}") from None


def _check_depth(text: str, file: str, limits: Limits) -> None:
    """PyYAML's parser is iterative; its composer is not. Measure depth before composing."""
    depth = 0
    events = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            events += 1
            if events > 2 * limits.max_nodes:
                raise _error(
                    file, "limit-exceeded", f"more than {limits.max_nodes} nodes", event.start_mark
                )
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > limits.max_depth:
                    raise _error(
                        file,
                        "limit-exceeded",
                        f"nesting deeper than {limits.max_depth} levels",
                        event.start_mark,
                        "real specs nest a few levels deep",
                    )
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        raise _syntax(exc, file) from None
    except yaml.YAMLError as exc:
        raise _error(file, "yaml-syntax", f"could not parse YAML: {exc}") from None


def _syntax(exc: yaml.MarkedYAMLError, file: str) -> SpecError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid syntax"
    hint = None
    if "\t" in problem or "tab" in problem:
        hint = "indent with spaces; YAML does not allow tabs"
    elif "mapping values are not allowed" in problem:
        hint = "a ': ' inside a value needs quotes, or a missing newline/indent"
    return _error(file, "yaml-syntax", f"could not parse YAML: {problem}", mark, hint)


_SCALARS = yaml.SafeLoader.yaml_constructors
_SAFE_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:seq",
    "tag:yaml.org,2002:map",
}


class _Converter:
    def __init__(self, file: str, limits: Limits):
        self.file = file
        self.limits = limits
        self.count = 0
        self.values: dict[SpecPath, Position] = {}
        self.keys: dict[SpecPath, Position] = {}
        self.constructor = yaml.SafeLoader("")

    def convert(self, node: yaml.Node, path: SpecPath) -> Any:
        self.count += 1
        if self.count > self.limits.max_nodes:
            raise _error(
                self.file,
                "limit-exceeded",
                f"more than {self.limits.max_nodes} nodes once aliases are expanded",
                node.start_mark,
                "aliases (*name) that repeat large structures add up",
            )
        if len(path) > self.limits.max_depth:
            raise _error(
                self.file,
                "limit-exceeded",
                f"nesting deeper than {self.limits.max_depth} levels",
                node.start_mark,
            )
        if len(self.values) < self.limits.max_nodes:
            self.values.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _SAFE_TAGS:
            raise _error(
                self.file,
                "bad-tag",
                f"tag {node.tag!r} is not allowed in spec files",
                node.start_mark,
                "use plain values: numbers, strings, lists and mappings",
            )
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def mapping(self, node: yaml.MappingNode, path: SpecPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise _error(
                    self.file,
                    "bad-key",
                    f"keys must be names, got {key_node.value!r}"
                    if isinstance(key_node, yaml.ScalarNode)
                    else "keys must be names, not lists or mappings",
                    key_node.start_mark,
                    "quote it if it is meant as text",
                )
            if key in out:
                raise _error(
                    self.file,
                    "duplicate-key",
                    f"key {key!r} appears twice in the same mapping",
                    key_node.start_mark,
                    "remove one; the later would silently win",
                )
            self.keys.setdefault(
                (*path, key), (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            )
            out[key] = self.convert(value_node, (*path, key))
        return out

    def scalar(self, node: yaml.Node) -> Any:
        tag = node.tag
        if tag not in _SAFE_TAGS:
            raise _error(
                self.file,
                "bad-tag",
                f"tag {tag!r} is not allowed in spec files",
                node.start_mark,
                "use plain values: numbers, strings, lists and mappings",
            )
        text = node.value
        if tag == "tag:yaml.org,2002:int":
            digits = sum(ch.isdigit() for ch in text)
            if digits > self.limits.max_int_digits:
                raise _error(
                    self.file,
                    "limit-exceeded",
                    f"integer with {digits} digits; the limit is {self.limits.max_int_digits}",
                    node.start_mark,
                )
        if len(text) > self.limits.max_string:
            raise _error(
                self.file,
                "limit-exceeded",
                f"value of {len(text)} characters; the limit is {self.limits.max_string}",
                node.start_mark,
            )
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:
            raise _error(
                self.file, "bad-value", f"cannot read value {text!r}: {exc}", node.start_mark
            ) from None
        if isinstance(value, (datetime.date, datetime.datetime)):
            return text
        if isinstance(value, float) and value != value:  # NaN is never a meaningful setting
            raise _error(self.file, "bad-value", "NaN is not a valid value", node.start_mark)
        return value


def dump_yaml(data: Any) -> str:
    """A plain tree as block-style YAML, keys in their order.

    Non-ASCII text is escaped: PyYAML writes characters such as U+0085 raw, which YAML then
    reads back as line breaks.
    """
    return yaml.safe_dump(
        data, sort_keys=False, default_flow_style=False, allow_unicode=False, width=100
    )


def _walk(data: Any, path: SpecPath = ()) -> Iterator[SpecPath]:
    """Every node path of a plain tree (used by tests and by the fuzzers)."""
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _walk(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _walk(value, (*path, i))
