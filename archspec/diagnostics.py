"""Diagnostics are values, not exceptions: every stage collects them, the CLI renders them once.

A diagnostic carries where it happened (file, line, column, and the path inside the spec such as
``layers[3].kernel``), what is wrong, and when it can, what would be right.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["Diagnostic", "Severity", "SpecError", "format_path"]


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


PathPart = str | int
SpecPath = tuple[PathPart, ...]


def format_path(path: Sequence[PathPart]) -> str:
    """Render a spec path the way users write it: ``layers[3].kernel``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a spec, with enough context to act on it without reading code."""

    severity: Severity
    code: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: SpecPath = ()
    hint: str | None = None
    layer: str | None = None
    promoted_by: str | None = None
    """Set when a warning was made an error (``--strict``, ``--error CODE``, pyproject.toml)."""

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def at(self, file: str | None, line: int | None, column: int | None) -> Diagnostic:
        return replace(self, file=file, line=line, column=column)

    def location(self) -> str:
        from . import escape

        parts = [escape.path(self.file) if self.file else "<spec>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def render(self) -> str:
        """One line for people and for editors that jump to ``file:line:col``."""
        from . import escape

        where = self.location()
        what = f"{escape.text(format_path(self.path))}: " if self.path else ""
        code = self.code if self.promoted_by is None else f"{self.code}, {self.promoted_by}"
        text = f"{where}: {self.severity.value}: {what}{escape.text(self.message)} [{code}]"
        if self.hint:
            text += f"\n    hint: {escape.text(self.hint)}"
        return text

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "severity": self.severity.value,
            "code": self.code,
            "path": format_path(self.path),
            "layer": self.layer,
            "message": self.message,
            "hint": self.hint,
            "promoted_by": self.promoted_by,
        }


class SpecError(Exception):
    """Raised at API boundaries (``archspec.load``) when a spec has errors; holds all of them."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        super().__init__("\n".join(d.render() for d in self.diagnostics) or "invalid spec")


KEY_CODES = frozenset({"unknown-key"})


def locate(diagnostics: list[Diagnostic], source: Any) -> list[Diagnostic]:
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
