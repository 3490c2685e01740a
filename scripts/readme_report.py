"""Regenerate the README's example report from a real ``archspec report`` run.

The README shows the output between two marker lines; this script replaces what lies between
them with the current output, so the example can never drift from the tool. ``--check`` only
compares, and exits 1 when the README is stale (tests/test_readme.py runs the same check).

    python scripts/readme_report.py          # rewrite README.md
    python scripts/readme_report.py --check  # exit 1 if README.md is stale
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme_section import Section

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SECTION = Section("report", "scripts/readme_report.py")
BEGIN, END = SECTION.begin, SECTION.end
COMMAND = ("report", "specs/lenet5.yaml")


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def report_output(root: Path = ROOT) -> str:
    """What ``archspec report specs/lenet5.yaml`` prints, run from the repository root."""
    from click.testing import CliRunner

    from archspec.cli import cli

    with _cwd(root):
        result = CliRunner().invoke(cli, list(COMMAND))
    if result.exit_code != 0:
        raise RuntimeError(f"archspec {' '.join(COMMAND)} failed:\n{result.output}")
    return result.stdout


def section(root: Path = ROOT) -> str:
    """The README text between the markers (markers excluded)."""
    return f"\n```text\n$ archspec {' '.join(COMMAND)}\n{report_output(root)}```\n"


def replace_section(text: str, body: str) -> str:
    """``text`` with the report section replaced; ValueError without markers."""
    return SECTION.replace(text, body)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    parser.add_argument("--readme", type=Path, default=README)
    args = parser.parse_args(argv)
    return SECTION.update(args.readme, section, check=args.check)


if __name__ == "__main__":
    sys.exit(main())
