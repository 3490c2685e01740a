"""Spec files to plain trees, remembering where every node was written.

Spec files come from strangers' pull requests, so loading is defensive. The size is checked
before parsing. Nesting is cut off while PyYAML reads, because its composer recurses once per
level and its scanner looks up to 1024 characters ahead for every open ``[``: a line of 20,000
brackets would otherwise cost seconds, or the stack. Nodes are counted twice: as written, while
composing (memory), and with every use of an alias counted again, before converting (the
"billion laughs" bomb). Only PyYAML's safe machinery is used, and any tag other than the plain
YAML types is refused, so no tag can construct a Python object.

Where PyYAML has libyaml, libyaml parses and the composing stays in Python, under the same
limits: several times faster on large specs. A file it refuses, and the few kinds of text it
reads otherwise than PyYAML's Python (``_pure_only``; in flow collections, empty values and
plain scalars with a '?'), are read by the pure loader, so the result and every diagnostic are
the pure loader's whether libyaml is there or not.

YAML 1.1 semantics are kept, as every PyYAML-based tool has them, with their surprises for spec
authors: ``yes``/``no``/``on``/``off`` are booleans, ``1e-3`` is a string (``1.0e-3`` is a
float), ``017`` is octal (``0o17`` a string), ``1:30`` is the sexagesimal int 90. Dates such as
``2024-01-01`` stay strings. Keys must be strings: ``1:`` or ``on:`` as a key is an error
(``bad-key``) rather than silently becoming ``"1"`` or ``True``. Merge keys (``<<: *base``) are
refused: specs reuse structure with blocks.

JSON (a ``.json`` name, or text starting with ``{`` under any name that is not ``.yaml`` or
``.yml``) is parsed strictly by ``json``, whose errors carry line and column; positions come from
a scan of its tokens, since PyYAML cannot read all JSON (tabs between tokens, keys longer than
1024 characters) and would read ``1e-3`` as a string.

Lines and columns are 1-based and count characters, not bytes; a leading BOM is skipped.
"""

from __future__ import annotations

import bisect
import json
import math
import os
import re
import stat
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn

import yaml
from yaml.composer import Composer, ComposerError
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from .diagnostics import Diagnostic, Severity, SpecError, SpecPath
from .limits import DEFAULT_LIMITS, Limits

__all__ = ["Document", "dump_yaml", "load_file", "load_text"]

Position = tuple[int, int]


@dataclass(frozen=True)
class Document:
    """A loaded spec file: its plain tree and the 1-based position of every node and key.

    A node reached through an alias (``*conv``) has the position where its anchor wrote it.
    """

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
        """Where the key of the value at ``path`` starts, so misspelt keys are shown as written."""
        found = self.keys.get(tuple(path))
        return found if found is not None else self.position(path)


def _fail(
    file: str,
    code: str,
    message: str,
    where: Position | None = None,
    hint: str | None = None,
) -> NoReturn:
    line, column = where if where is not None else (None, None)
    raise SpecError([Diagnostic(Severity.ERROR, code, message, file, line, column, hint=hint)])


def _at(mark: Any) -> Position:
    return (mark.line + 1, mark.column + 1)


def load_file(path: str | os.PathLike[str], *, limits: Limits | None = None) -> Document:
    """Read and load a spec file; every failure is a located SpecError."""
    limits = limits or DEFAULT_LIMITS
    name = str(path)
    try:
        raw = _read_bounded(path, limits.max_bytes + 1)
    except TimeoutError:
        _fail(
            name,
            "unreadable",
            f"nothing more was written to this pipe within {PIPE_SECONDS:g} s",
            hint="write the spec to a file, or feed the pipe",
        )
    except FileNotFoundError:
        _fail(name, "file-not-found", "no such file", hint="check the path")
    except IsADirectoryError:
        _fail(name, "file-not-found", "this is a directory, not a spec file")
    except OSError as exc:
        _fail(name, "unreadable", f"cannot read the file: {exc.strerror or exc}")
    return load_text(raw, name, limits=limits)


PIPE_SECONDS = 1.0
"""How long a named pipe may keep the loader waiting for its next bytes: a writer that feeds
it (``archspec check <(generate)``) is faster, and a pipe without one never ends otherwise."""


def _read_bounded(path: str | os.PathLike[str], size: int) -> bytes:
    """At most ``size`` bytes, whatever the file claims (/dev/zero), and never a wait without end.

    A named pipe is opened without blocking, since ``open`` would wait forever for a writer that
    never comes (with none it reads as empty), and each read waits at most PIPE_SECONDS for bytes.
    """
    nonblocking = getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, os.O_RDONLY | nonblocking | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb", buffering=0) as handle:
        if not nonblocking or not stat.S_ISFIFO(os.fstat(fd).st_mode):
            if nonblocking:
                os.set_blocking(fd, True)
            return _read_all(handle, size)
        import select

        chunks: list[bytes] = []
        left = size
        while left > 0:
            ready, _, _ = select.select([fd], [], [], PIPE_SECONDS)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, min(left, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


def _read_all(handle: Any, size: int) -> bytes:
    chunks: list[bytes] = []
    while size > 0:
        chunk = handle.read(size)
        if not chunk:
            break
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def load_text(
    text: str | bytes, file: str = "<string>", *, limits: Limits | None = None
) -> Document:
    """Load YAML or JSON text; bytes must be UTF-8. Every failure is a located SpecError."""
    limits = limits or DEFAULT_LIMITS
    try:
        text = _decode(text, file, limits)
        name = file.lower()
        if name.endswith(".json") or (
            not name.endswith((".yaml", ".yml")) and text.lstrip().startswith("{")
        ):
            return _load_json(text, file, limits)
        return _load_yaml(text, file, limits)
    except RecursionError:
        _fail(
            file,
            "limit-exceeded",
            "the file nests too deeply to be read with the stack left to this call",
        )
    except MemoryError:
        _fail(file, "limit-exceeded", "the file needs more memory than is available")


def _decode(text: str | bytes, file: str, limits: Limits) -> str:
    size = len(text)
    if size > limits.max_bytes:
        unit = "bytes" if isinstance(text, bytes) else "characters"
        _fail(
            file,
            "limit-exceeded",
            f"the file is {size} {unit}; the limit is {limits.max_bytes}",
            hint="spec files are a few kilobytes; if this is meant, raise it: --limit max_bytes=N",
        )
    if isinstance(text, bytes):
        if text.startswith((b"\xff\xfe", b"\xfe\xff")):
            _fail(file, "encoding", "the file is UTF-16; spec files are UTF-8", (1, 1))
        if b"\x00" in text:
            _fail(
                file,
                "binary-file",
                "this is a binary file (it contains NUL bytes), not a YAML or JSON spec",
                _byte_position(text, text.index(b"\x00")),
            )
        raw = text
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            _fail(
                file,
                "encoding",
                f"byte 0x{raw[exc.start]:02x} is not valid UTF-8; spec files are UTF-8 text",
                _byte_position(raw, exc.start),
            )
    if "\x00" in text:
        _fail(
            file,
            "binary-file",
            "this is a binary file (it contains NUL characters), not a YAML or JSON spec",
            _LineIndex(text).position(text.index("\x00")),
        )
    return text.removeprefix("\ufeff")


def _byte_position(raw: bytes, offset: int) -> Position:
    start = raw.rfind(b"\n", 0, offset) + 1
    column = len(raw[start:offset].decode("utf-8", "replace")) + 1
    return (raw.count(b"\n", 0, offset) + 1, column)


class _LineIndex:
    """Character offsets to 1-based (line, column), by bisecting the line starts."""

    def __init__(self, text: str):
        self.starts = [0, *(m.end() for m in re.finditer("\n", text))]

    def position(self, offset: int) -> Position:
        line = bisect.bisect_right(self.starts, offset)
        return (line, offset - self.starts[line - 1] + 1)


def _depth_limit(limits: Limits) -> int:
    """Limits.max_depth, or less where Python's stack could not take it: composing and
    converting recurse about three frames per level."""
    return min(limits.max_depth, sys.getrecursionlimit() // 4)


def _too_deep(file: str, limits: Limits, where: Position | None) -> NoReturn:
    depth = _depth_limit(limits)
    _fail(
        file,
        "limit-exceeded",
        f"nesting deeper than {depth} levels",
        where,
        "real specs nest a few levels deep; if this is meant, raise it: --limit max_depth=N"
        if depth == limits.max_depth
        else f"Python's recursion limit allows {depth} levels, less than Limits.max_depth",
    )


def _too_many(
    file: str, limits: Limits, where: Position | None, expanded: int | None = None
) -> NoReturn:
    if expanded is None:
        message, hint = f"more than {limits.max_nodes} nodes", None
    else:
        message = f"{expanded} nodes once aliases are expanded"
        hint = "aliases (*name) that repeat large structures add up"
    _fail(
        file,
        "limit-exceeded",
        f"{message}; the limit is {limits.max_nodes} (--limit max_nodes=N)",
        where,
        hint,
    )


# --------------------------------------------------------------------------------------- YAML


class _Bounded(Composer):
    """PyYAML's composer, refusing deep nesting and too many nodes as collections open.

    The pure loader composes with it; the libyaml loader replaces ``compose_node`` with a faster
    one that checks the same limits at the same events, and shares the rest.
    """

    check_event: Callable[..., bool]  # from the parser that shares the class
    peek_event: Callable[[], Any]

    def bound(self, file: str, limits: Limits) -> None:
        self.file = file
        self.limits = limits
        self.max_depth = _depth_limit(limits)
        self.depth = 0
        self.nodes = 0
        self.aliases = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            _too_many(self.file, self.limits, _at(self.peek_event().start_mark))
        if self.check_event(AliasEvent):
            self.aliases += 1
        return super().compose_node(parent, index)

    def compose_sequence_node(self, anchor: Any) -> Any:
        self.enter()
        try:
            return super().compose_sequence_node(anchor)
        finally:
            self.depth -= 1

    def compose_mapping_node(self, anchor: Any) -> Any:
        self.enter()
        try:
            return super().compose_mapping_node(anchor)
        finally:
            self.depth -= 1

    def enter(self) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            _too_deep(self.file, self.limits, _at(self.peek_event().start_mark))


class _Loader(_Bounded, yaml.SafeLoader):
    """The pure-Python loader: its scanner also stops flow nesting, before looking ahead."""

    def __init__(self, text: str, file: str, limits: Limits):
        super().__init__(text)
        self.bound(file, limits)

    def fetch_flow_collection_start(self, TokenClass: Any) -> None:
        if self.flow_level >= self.max_depth:
            _too_deep(self.file, self.limits, _at(self.get_mark()))
        super().fetch_flow_collection_start(TokenClass)


class _PureOnly(Exception):
    """Text that libyaml reads otherwise than PyYAML's Python does: the pure loader reads it."""


_CLoader: Callable[[str, str, Limits], _Bounded] | None = None
try:
    from yaml._yaml import CParser
except ImportError:  # PyYAML built without libyaml
    pass
else:

    class _CLoaderImpl(_Bounded, CParser, SafeConstructor, Resolver):
        """Events from libyaml, composed by the Python composer above it in the MRO.

        libyaml scans and parses some twenty times faster than PyYAML's Python, and its marks
        count characters from 0 as PyYAML's do; composing stays in Python so that the limits
        are checked as collections open (libyaml's own composer recurses in C, without them).
        """

        def __init__(self, text: str, file: str, limits: Limits):
            CParser.__init__(self, text)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self.bound(file, limits)
            # Specs repeat their scalars (types, small sizes, padding): each resolves once.
            self.scalar_tags: dict[tuple[str, Any], str] = {}

        def compose_node(self, parent: Any, index: Any) -> Any:
            """Composer.compose_node and its three helpers in one frame, with the limits.

            Once parsing is in C, PyYAML's composer is most of the time left: its four calls
            and five event checks per node. This gives the same nodes (the divergence tests
            compare them); where it refuses, the pure loader reads the file again.
            """
            event: Any = self.get_event()
            self.nodes += 1
            if self.nodes > self.limits.max_nodes:
                _too_many(self.file, self.limits, _at(event.start_mark))
            kind = type(event)
            anchor = event.anchor
            if kind is AliasEvent:
                self.aliases += 1
                if anchor not in self.anchors:
                    raise ComposerError(None, None, f"undefined alias {anchor!r}", None)
                return self.anchors[anchor]
            if anchor is not None and anchor in self.anchors:
                raise ComposerError(None, None, f"duplicate anchor {anchor!r}", None)
            tag = event.tag
            node: Any
            if kind is ScalarEvent:
                if "?" in event.value and not event.style and parent and parent.flow_style:
                    # In a flow collection PyYAML ends a plain scalar at any '?' (``[x ?q]``,
                    # ``[x?q]`` are refused); libyaml reads the '?' as part of the scalar.
                    raise _PureOnly
                if tag is None or tag == "!":
                    implicit = event.implicit
                    tag = self.scalar_tags.get((event.value, implicit))
                    if tag is None:
                        tag = self.resolve(ScalarNode, event.value, implicit)
                        self.scalar_tags[(event.value, implicit)] = tag
                node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
                if anchor is not None:
                    self.anchors[anchor] = node
                return node
            self.depth += 1
            if self.depth > self.max_depth:
                _too_deep(self.file, self.limits, _at(event.start_mark))
            if kind is SequenceStartEvent:
                if tag is None or tag == "!":
                    tag = self.resolve(SequenceNode, None, event.implicit)
                node = SequenceNode(tag, [], event.start_mark, None, event.flow_style)
                if anchor is not None:
                    self.anchors[anchor] = node
                items = node.value
                while not self.check_event(SequenceEndEvent):
                    items.append(self.compose_node(node, None))
            else:
                if tag is None or tag == "!":
                    tag = self.resolve(MappingNode, None, event.implicit)
                node = MappingNode(tag, [], event.start_mark, None, event.flow_style)
                if anchor is not None:
                    self.anchors[anchor] = node
                pairs = node.value
                while not self.check_event(MappingEndEvent):
                    key = self.compose_node(node, None)
                    value = self.compose_node(node, key)
                    if node.flow_style and value.value == "" and not value.style:
                        # ``{a: , b: 1}``: PyYAML puts the empty value just after the ':',
                        # libyaml at the next token; only the pure loader knows where.
                        raise _PureOnly
                    pairs.append((key, value))
            end: Any = self.get_event()
            node.end_mark = end.end_mark
            self.depth -= 1
            return node

    _CLoader = _CLoaderImpl


_PURE_ONLY = re.compile("[\t\ufeff]|[|>][-+0-9]*#")
r"""Text that the two parsers read differently goes straight to the pure loader: a tab, which
libyaml accepts between tokens (``[1,\t2]``, ``a:\t1``) where PyYAML's scanner refuses it;
U+FEFF past the leading BOM, which PyYAML's reader leaves out of its column count and libyaml
does not; and a block scalar's header with a comment right after it (``|#``, ``>-#``), which
libyaml accepts and PyYAML refuses. All are rare in spec files (a tab is mostly an error
there); text that only looks like them (``a|#b``) is merely read more slowly."""


def _pure_only(text: str) -> bool:
    """``_PURE_ONLY``, or an explicit key (``? a``) in text with no final line break: a missing
    value is placed at the end of the text by PyYAML, a line below it by libyaml."""
    if _PURE_ONLY.search(text):
        return True
    return "?" in text and not text.endswith(("\n", "\r", "\x85", "\u2028", "\u2029"))


def _load_yaml(text: str, file: str, limits: Limits) -> Document:
    """Through libyaml when it can be used, else (or on any failure) through the pure loader.

    A file libyaml refuses, or that breaks a limit, is read again by the pure loader, so every
    diagnostic (message, hint, position) is the pure loader's: errors are rare, and paying twice
    for them keeps one behaviour to document and test.
    """
    if _CLoader is not None and not _pure_only(text):
        try:
            return _compose(_CLoader(text, file, limits), file, limits)
        except Exception:  # the pure loader below gives the one diagnostic
            pass
    return _load_yaml_pure(text, file, limits)


def _load_yaml_pure(text: str, file: str, limits: Limits) -> Document:
    try:
        loader = _Loader(text, file, limits)
    except yaml.reader.ReaderError as exc:
        _fail(
            file,
            "encoding",
            f"character U+{exc.character:04X} is not allowed in YAML"
            if isinstance(exc.character, int)
            else f"the text cannot be read: {exc.reason}",
            _LineIndex(text).position(exc.position),
            "write it as an escape inside double quotes, or remove it",
        )
    return _compose(loader, file, limits)


def _compose(loader: Any, file: str, limits: Limits) -> Document:
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        _syntax(exc, file)
    except yaml.YAMLError as exc:
        _fail(file, "yaml-syntax", f"could not parse YAML: {exc}")
    finally:
        loader.dispose()
    if node is None:
        _fail(
            file,
            "not-a-mapping",
            "the file is empty; a spec is a mapping with archspec, name, input and layers",
        )
    if loader.aliases:  # else every node was counted as it was composed
        expanded = _expanded_size(node, {})
        if expanded > limits.max_nodes:
            _too_many(file, limits, _at(node.start_mark), expanded)
    converter = _Converter(file, limits, loader)
    data = converter.convert(node, ())
    _require_mapping(data, file, _at(node.start_mark))
    return Document(file, data, converter.values, converter.keys)


def _require_mapping(data: Any, file: str, where: Position) -> None:
    if not isinstance(data, dict):
        what = "list" if isinstance(data, list) else f"single {type(data).__name__} value"
        _fail(
            file,
            "not-a-mapping",
            f"a spec is a mapping (archspec:, name:, input:, layers:), not a {what}",
            where,
        )


_HINTS = {
    "found character '\\t'": "indent with spaces; YAML does not allow tabs",
    "mapping values are not allowed": "quote a value that contains ': ', or check the indent",
    "could not find expected ':'": "a key needs ': ' after it; a string may need quotes",
    "expected a single document": "one spec per file: remove the second '---' document",
    "found undefined alias": "define the anchor (&name) before using *name",
    "found unexpected end of stream": "a quote or bracket is not closed",
    "expected ',' or ']'": "a [list] needs commas between items and a closing ']'",
    "expected ',' or '}'": "a {mapping} needs commas between entries and a closing '}'",
}


def _syntax(exc: yaml.MarkedYAMLError, file: str) -> NoReturn:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "invalid syntax"
    if exc.context and not exc.context.startswith("while"):
        problem = f"{exc.context}, {problem}"  # "expected a single document ..., but found ..."
    hint = next((h for key, h in _HINTS.items() if key in problem), None)
    _fail(
        file,
        "yaml-syntax",
        f"could not parse YAML: {problem}",
        _at(mark) if mark is not None else None,
        hint,
    )


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """Nodes after alias expansion, counted on the shared graph: linear in the file's size.

    Anchors come before their aliases, so an alias meets a finished count (or, for an alias
    inside its own anchor, the 0 set below): the recursion is no deeper than the text's nesting.
    """
    known = memo.get(id(node))
    if known is not None:
        return known
    memo[id(node)] = 0
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(item, memo) for item in node.value)
    else:
        size = 1
    memo[id(node)] = size
    return size


_TAG = "tag:yaml.org,2002:"
_COLLECTION_TAGS = {_TAG + "seq", _TAG + "map"}
# "value" is the tag PyYAML's resolver gives a plain "="; timestamps stay the text written.
_TEXT_TAGS = {_TAG + "str", _TAG + "timestamp", _TAG + "value"}
_CONSTRUCTED_TAGS = {_TAG + "int", _TAG + "float", _TAG + "bool", _TAG + "null"}


class _Converter:
    """Composed nodes to a plain tree, recording positions and enforcing per-value limits."""

    def __init__(self, file: str, limits: Limits, loader: SafeConstructor):
        self.file = file
        self.limits = limits
        self.loader = loader
        self.max_depth = _depth_limit(limits)
        self.count = 0
        self.values: dict[SpecPath, Position] = {}
        self.keys: dict[SpecPath, Position] = {}

    def convert(self, node: yaml.Node, path: SpecPath) -> Any:
        self.count += 1
        if self.count > self.limits.max_nodes:  # only an alias inside its own anchor gets here
            _too_many(self.file, self.limits, _at(node.start_mark))
        if len(path) > self.max_depth:  # aliases nest structures inside each other
            _too_deep(self.file, self.limits, _at(node.start_mark))
        self.values[path] = _at(node.start_mark)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if node.tag not in _COLLECTION_TAGS:
            self.bad_tag(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.key(key_node)
            if key in out:
                _fail(
                    self.file,
                    "duplicate-key",
                    f"key {key!r} appears twice in the same mapping",
                    _at(key_node.start_mark),
                    f"remove one; YAML tools would silently keep the last (first at line "
                    f"{self.keys[(*path, key)][0]})",
                )
            self.keys[(*path, key)] = _at(key_node.start_mark)
            out[key] = self.convert(value_node, (*path, key))
        return out

    def key(self, node: yaml.Node) -> str:
        if node.tag == _TAG + "merge":
            _fail(
                self.file,
                "bad-key",
                "merge keys (<<: *anchor) are not supported",
                _at(node.start_mark),
                "write the keys out, or reuse layers with blocks; quote '<<' if it is a name",
            )
        if not isinstance(node, yaml.ScalarNode):
            _fail(
                self.file,
                "bad-key",
                "keys must be names, not lists or mappings",
                _at(node.start_mark),
            )
        key = self.scalar(node)
        if not isinstance(key, str):
            _fail(
                self.file,
                "bad-key",
                f"keys must be names; {node.value!r} reads as {type(key).__name__} {key!r} in YAML",
                _at(node.start_mark),
                f"quote it if it is meant as a name: '{node.value}':",
            )
        return key

    def scalar(self, node: yaml.ScalarNode) -> Any:
        text = node.value
        if len(text) > self.limits.max_string:
            _fail(
                self.file,
                "limit-exceeded",
                f"a value of {len(text)} characters; the limit is {self.limits.max_string}",
                _at(node.start_mark),
            )
        if node.tag in _TEXT_TAGS:
            return text
        if node.tag not in _CONSTRUCTED_TAGS:
            self.bad_tag(node)
        if (
            node.tag == _TAG + "int"
            and sum(ch.isdigit() for ch in text) > self.limits.max_int_digits
        ):
            self.too_long_int(node)
        try:
            value = self.loader.construct_object(node)
        except Exception:  # on `!!bool maybe` or `!!int ''` PyYAML raises KeyError, IndexError...
            _fail(
                self.file,
                "bad-value",
                f"{text!r} is not a valid {node.tag.removeprefix(_TAG)}",
                _at(node.start_mark),
                "remove the !! tag, or write a value of that type",
            )
        if isinstance(value, float):
            _check_float(value, text, self.file, self.limits, _at(node.start_mark))
        if type(value) is int and abs(value) >= 10**self.limits.max_int_digits:
            self.too_long_int(node)  # hexadecimal, octal, sexagesimal
        if isinstance(value, str):
            _check_text(value, self.file, _at(node.start_mark))
        return value

    def too_long_int(self, node: yaml.Node) -> NoReturn:
        _fail(
            self.file,
            "limit-exceeded",
            f"an integer of more than {self.limits.max_int_digits} digits; "
            f"that is the limit (--limit max_int_digits=N)",
            _at(node.start_mark),
            "no size, count or hyperparameter needs so many",
        )

    def bad_tag(self, node: yaml.Node) -> NoReturn:
        _fail(
            self.file,
            "bad-tag",
            f"tag {node.tag!r} is not allowed in spec files",
            _at(node.start_mark),
            "use plain values: numbers, strings, booleans, null, lists and mappings",
        )


def _check_float(value: float, text: str, file: str, limits: Limits, where: Position) -> None:
    """Floats obey the integers' bound, so ``1.0e+200`` cannot pass where ``10**200`` cannot.

    A whole-number float becomes an integer size or count downstream, and no value in a spec
    (sizes, rates, fractions) means anything beyond 10**max_int_digits or at infinity.
    """
    if math.isnan(value):
        _fail(file, "bad-value", "NaN is not a valid value", where, "write a finite number")
    if math.isinf(value):
        _fail(
            file,
            "bad-value",
            f"{text} is infinite (or too large for a float); values must be finite numbers",
            where,
            "write a finite number",
        )
    if abs(value) >= 10**limits.max_int_digits:
        _fail(
            file,
            "limit-exceeded",
            f"the number {text} has more than {limits.max_int_digits} digits before the point; "
            f"that is the limit (--limit max_int_digits=N)",
            where,
            "no size, count or hyperparameter needs so many",
        )


_SURROGATE = re.compile("[\ud800-\udfff]")


def _check_text(value: str, file: str, where: Position) -> None:
    """A lone surrogate (``"\\ud800"``) is no character: it cannot be printed or encoded, so the
    diagnostics that quote it would fail; it is refused where it is written."""
    match = _SURROGATE.search(value)
    if match:
        _fail(
            file,
            "bad-value",
            f"the text holds a lone surrogate (U+{ord(match.group()):04X}), which is not a "
            "character",
            where,
            "write the character itself, or a surrogate pair",
        )


# --------------------------------------------------------------------------------------- JSON

# Strings as "unrolled loops": one regex step per escape rather than per character.
_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[][{},:]|[^\s\][{},:"]+')
_JSON_INT = re.compile(r"-?[0-9]+")
_JSON_FLOAT = re.compile(r"-?[0-9]+(?:\.[0-9]+(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)")


@dataclass
class _Open:
    """A JSON array or object being scanned."""

    path: SpecPath
    is_object: bool
    index: int = 0
    key: str = ""
    seen: set[str] = field(default_factory=set)


def _load_json(text: str, file: str, limits: Limits) -> Document:
    def placeholder_int(digits: str) -> int:
        # The scan below refuses long ints with their position; int() would be slow on them.
        return int(digits) if len(digits) <= limits.max_int_digits + 1 else 0

    try:
        data = json.loads(text, parse_int=placeholder_int, parse_constant=lambda _: None)
    except json.JSONDecodeError as exc:
        _fail(file, "json-syntax", f"could not parse JSON: {exc.msg}", (exc.lineno, exc.colno))
    except RecursionError:
        _scan_json(text, file, limits)  # finds where nesting passes the limit
        raise
    values, keys = _scan_json(text, file, limits)
    _require_mapping(data, file, values[()])
    return Document(file, data, values, keys)


def _scan_json(
    text: str, file: str, limits: Limits
) -> tuple[dict[SpecPath, Position], dict[SpecPath, Position]]:
    """Positions of every value and key of JSON that ``json`` accepted, and its limits checked.

    It also runs on nesting too deep for ``json``, so it never assumes brackets match.
    """
    lines = _LineIndex(text)
    max_depth = _depth_limit(limits)
    values: dict[SpecPath, Position] = {}
    keys: dict[SpecPath, Position] = {}
    stack: list[_Open] = []
    expect_key = False
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token in (",", ":"):
            expect_key = token == "," and bool(stack) and stack[-1].is_object
            continue
        if token in ("]", "}"):
            if stack:
                stack.pop()
            expect_key = False
            continue
        where = lines.position(match.start())
        if token.startswith('"') and len(token) - 2 > limits.max_string:
            length = len(json.loads(token))  # escapes are longer than what they stand for
            if length > limits.max_string:
                _fail(
                    file,
                    "limit-exceeded",
                    f"a string of {length} characters; the limit is {limits.max_string}",
                    where,
                )
        if token.startswith('"') and "\\u" in token:
            _check_text(json.loads(token), file, where)
        if expect_key and stack:
            top = stack[-1]
            top.key = json.loads(token) if token.startswith('"') else token
            if top.key in top.seen:
                _fail(
                    file,
                    "duplicate-key",
                    f"key {top.key!r} appears twice in the same object",
                    where,
                    f"remove one; JSON tools would silently keep the last (first at line "
                    f"{keys[(*top.path, top.key)][0]})",
                )
            top.seen.add(top.key)
            keys[(*top.path, top.key)] = where
            expect_key = False
            continue
        path: SpecPath = ()
        if stack:
            top = stack[-1]
            if top.is_object:
                path = (*top.path, top.key)
            else:
                path = (*top.path, top.index)
                top.index += 1
        values[path] = where
        if len(values) + len(keys) > limits.max_nodes:  # keys count as nodes, as in YAML
            _too_many(file, limits, where)
        if token in ("[", "{"):
            if len(stack) >= max_depth:
                _too_deep(file, limits, where)
            stack.append(_Open(path, token == "{"))
            expect_key = token == "{"
        elif token in ("NaN", "Infinity", "-Infinity"):
            _fail(
                file,
                "json-syntax",
                f"{token} is not JSON",
                where,
                "write a number, or null; strict JSON has no NaN or Infinity",
            )
        elif _JSON_INT.fullmatch(token) and len(token.lstrip("-")) > limits.max_int_digits:
            _fail(
                file,
                "limit-exceeded",
                f"an integer of {len(token.lstrip('-'))} digits; the limit is "
                f"{limits.max_int_digits} (--limit max_int_digits=N)",
                where,
                "no size, count or hyperparameter needs so many",
            )
        elif not token.startswith('"') and len(token) > limits.max_string:
            _fail(
                file,
                "limit-exceeded",
                f"a number of {len(token)} characters; the limit is {limits.max_string}",
                where,
            )
        elif _JSON_FLOAT.fullmatch(token):
            _check_float(float(token), token, file, limits, where)
    return values, keys


# ------------------------------------------------------------------------------------ writing


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
