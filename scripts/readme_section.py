"""A generated section of README.md, between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->``.

The README's example report and its table of specs are both regenerated from the tool, so that
neither can drift from it; this holds the one way of finding, replacing and checking them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Section:
    name: str
    script: str
    """The script that regenerates it, named in the message of a stale README."""

    @property
    def begin(self) -> str:
        return f"<!-- {self.name}:begin -->"

    @property
    def end(self) -> str:
        return f"<!-- {self.name}:end -->"

    def replace(self, text: str, body: str) -> str:
        """``text`` with the part between the markers replaced; ValueError without markers."""
        start = text.find(self.begin)
        end = text.find(self.end, start + len(self.begin)) if start >= 0 else -1
        if start < 0 or end < 0:
            raise ValueError(f"no {self.begin} ... {self.end} section")
        return text[: start + len(self.begin)] + body + text[end:]

    def update(self, readme: Path, body: Callable[[], str], *, check: bool) -> int:
        """Rewrite (or with ``check`` only compare) the section: 0 current, 1 stale, 2 unusable."""
        text = readme.read_text()
        try:
            self.replace(text, "")
        except ValueError as exc:
            print(f"{readme}: {exc}", file=sys.stderr)
            return 2
        updated = self.replace(text, body())
        if updated == text:
            return 0
        if check:
            print(
                f"{readme}: the {self.name} section is stale; run python {self.script}",
                file=sys.stderr,
            )
            return 1
        readme.write_text(updated)
        print(f"updated {readme}")
        return 0
