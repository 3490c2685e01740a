"""Spec documents written as a person writes them: one short layer per line, in flow style.

PyYAML writes either everything in block style (a ResNet becomes thousands of lines) or
everything in flow style (one unreadable line). Specs read best with the top level and the
lists of layers in block style and each layer a flow mapping on its own line, wrapped when it
passes 100 columns, the way ``specs/`` are written. Scalars still go through PyYAML, so quoting
is YAML's own; ``archspec.loads`` reads the text back to the same document (tested).
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["write_spec"]

WIDTH = 100


def scalar(value: Any) -> str:
    """One value in flow context, quoted where YAML needs it."""
    text = yaml.safe_dump([value], default_flow_style=True, width=10**6, allow_unicode=False)
    return text.strip()[1:-1]


def flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def _item(value: dict[str, Any], indent: str, comment: str | None = None) -> list[str]:
    """``- {a: 1, b: 2}`` wrapped after a comma when it passes the width."""
    parts = [f"{scalar(k)}: {flow(v)}" for k, v in value.items()]
    lead = f"{indent}- {{"
    lines: list[str] = []
    line = lead
    for i, part in enumerate(parts):
        piece = part + ("}" if i == len(parts) - 1 else ",")
        if line not in (lead,) and len(line) + 1 + len(piece) > WIDTH:
            lines.append(line)
            line = indent + "   " + piece
        else:
            line = line + ("" if line == lead else " ") + piece
    lines.append(line)
    if comment:
        lines.insert(0, f"{indent}# {comment}")
    return lines


def _layers(layers: list[dict[str, Any]], indent: str, comments: dict[str, str]) -> list[str]:
    out: list[str] = []
    for entry in layers:
        out.extend(_item(entry, indent, comments.get(str(entry.get("name")))))
    return out


def write_spec(
    document: dict[str, Any],
    *,
    header: list[str] | None = None,
    comments: dict[str, str] | None = None,
) -> str:
    """The document as YAML text; ``comments`` (layer name -> text) go above those layers."""
    comments = comments or {}
    lines = [f"# {line}" if line else "#" for line in header or []]
    for key, value in document.items():
        if key == "layers":
            lines.append("layers:")
            lines.extend(_layers(value, "  ", comments))
        elif key == "blocks":
            lines.append("blocks:")
            for block_name, block in value.items():
                lines.append(f"  {scalar(block_name)}:")
                for bkey, bvalue in block.items():
                    if bkey == "layers":
                        lines.append("    layers:")
                        lines.extend(_layers(bvalue, "      ", comments))
                    else:
                        lines.append(f"    {scalar(bkey)}: {flow(bvalue)}")
        elif isinstance(value, dict) and len(f"{key}: {flow(value)}") > WIDTH:
            lines.append(f"{key}:")
            for k, v in value.items():
                lines.append(f"  {scalar(k)}: {flow(v)}")
        else:
            lines.append(f"{scalar(key)}: {flow(value)}")
    return "\n".join(lines) + "\n"
