"""Which diagnostics fail a check: ``--strict``, ``--error CODE``, ``--ignore CODE``, the
``[tool.archspec]`` table of ``pyproject.toml``, and a layer's own ``ignore: [code, ...]``.

The policy is applied once, at the edge, to the diagnostics the engine found: a promoted
warning *is* an error afterwards, so the text, JSON and GitHub formats, and the exit code, all
say the same thing. Suppressed diagnostics are kept, with the reason, so ``--format json`` can
list them (as ruff shows its ``noqa``-suppressed findings): a suppression is never silent.

Errors cannot be ignored: a spec the engine cannot size is not a spec a build can use.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .diagnostics import Diagnostic, Severity, format_path

CONFIG_KEYS = ("strict", "error", "ignore", "exclude")
"""What ``[tool.archspec]`` may hold; anything else is refused, so a typo is not a no-op."""


@dataclass(frozen=True)
class Suppression:
    """A diagnostic that was found and deliberately not reported, with who asked for that."""

    diagnostic: Diagnostic
    by: str
    """``--ignore``, ``pyproject.toml``, or the spec path of the layer, ``layers[3].ignore``."""

    def to_dict(self) -> dict[str, object]:
        return {**self.diagnostic.to_dict(), "suppressed_by": self.by}


@dataclass(frozen=True)
class SeverityPolicy:
    """How found diagnostics become reported ones; the default changes nothing."""

    strict: bool = False
    error: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()
    sources: Mapping[str, str] = field(default_factory=dict)
    """Code -> where its ``error``/``ignore`` entry came from (``--ignore``, ``pyproject.toml``)."""

    def merged(
        self, *, strict: bool = False, error: Iterable[str] = (), ignore: Iterable[str] = ()
    ) -> SeverityPolicy:
        """This policy with command-line choices on top: they win over the configuration."""
        error, ignore = frozenset(error), frozenset(ignore)
        sources = {**self.sources}
        sources.update({code: "--error" for code in error})
        sources.update({code: "--ignore" for code in ignore})
        return SeverityPolicy(
            strict=self.strict or strict,
            error=(self.error - ignore) | error,
            ignore=(self.ignore - error) | ignore,
            sources=sources,
        )

    def apply(
        self, found: Sequence[Diagnostic], spec: Any = None
    ) -> tuple[list[Diagnostic], list[Suppression]]:
        """(reported, suppressed); ``spec`` supplies the layers' own ``ignore`` lists."""
        reported: list[Diagnostic] = []
        suppressed: list[Suppression] = []
        for d in found:
            if not d.is_error:
                by = self._suppressed_by(d, spec)
                if by is not None:
                    suppressed.append(Suppression(d, by))
                    continue
                if d.code in self.error or (self.strict and d.severity is Severity.WARNING):
                    why = self.sources.get(d.code, "--error") if d.code in self.error else ""
                    d = replace(d, severity=Severity.ERROR, promoted_by=why or "--strict")
            reported.append(d)
        return reported, suppressed

    def _suppressed_by(self, d: Diagnostic, spec: Any) -> str | None:
        if d.code in self.ignore:
            return self.sources.get(d.code, "--ignore")
        own = layer_ignore(spec, d) if spec is not None else None
        if own is not None and d.code in own[1]:
            return own[0]
        return None


def layer_ignore(spec: Any, d: Diagnostic) -> tuple[str, frozenset[str]] | None:
    """(``layers[3].ignore``, codes) of the layer a diagnostic points into, if it has any.

    The diagnostic's path leads to the layer; for a layer inside a block it leads into the
    block's definition, so an ``ignore`` written there holds for every copy of the block.
    """
    node: Any = spec
    found: tuple[str, frozenset[str]] | None = None
    for depth, part in enumerate(d.path):
        try:
            indexable = isinstance(node, Mapping) or (
                isinstance(node, (list, tuple)) and isinstance(part, int)
            )
            node = node[part] if indexable else getattr(node, str(part))
        except (IndexError, KeyError, AttributeError, TypeError):
            break
        codes = getattr(node, "ignore", None) if isinstance(node, BaseModel) else None
        if codes:
            found = (format_path((*d.path[: depth + 1], "ignore")), frozenset(codes))
    return found


class ConfigError(Exception):
    """A ``[tool.archspec]`` table archspec cannot use; the message names the file and key."""


def find_pyproject(start: Path) -> Path | None:
    """The nearest ``pyproject.toml`` in ``start`` or above it, as ruff and pytest look."""
    start = start.resolve()
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_config(path: Path | None) -> tuple[SeverityPolicy, tuple[str, ...]]:
    """(policy, exclude globs) from ``[tool.archspec]``; defaults when there is none."""
    if path is None:
        return SeverityPolicy(), ()
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it as TOML: {exc}") from None
    table = document.get("tool", {}).get("archspec", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.archspec] must be a table")
    unknown = sorted(set(table) - set(CONFIG_KEYS))
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {unknown[0]!r} in [tool.archspec]; "
            f"known keys: {', '.join(CONFIG_KEYS)}"
        )
    strict = table.get("strict", False)
    if not isinstance(strict, bool):
        raise ConfigError(f"{path}: [tool.archspec] strict must be true or false")
    lists = {}
    for key in ("error", "ignore", "exclude"):
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{path}: [tool.archspec] {key} must be a list of strings")
        lists[key] = value
    where = "pyproject.toml"
    sources = {code: where for code in (*lists["error"], *lists["ignore"])}
    policy = SeverityPolicy(
        strict=strict,
        error=frozenset(lists["error"]),
        ignore=frozenset(lists["ignore"]),
        sources=sources,
    )
    return policy, tuple(lists["exclude"])
