"""Regenerate the README's table of the example specs from the specs themselves.

Every number in the table comes from ``archspec.analyze``, so the table can never drift from the
specs or the engine: parameters, MACs at the spec's own input size (or at a stated size where the
input is symbolic), the receptive field of the output (or, where the output sees the whole
input, of the last spatial layer), and the smallest input the architecture accepts. ``--check``
only compares, and exits 1 when the README is stale (``tests/test_spec_table.py`` runs it).

    python scripts/spec_table.py          # rewrite the table in README.md
    python scripts/spec_table.py --check  # exit 1 if README.md is stale
"""

from __future__ import annotations

import argparse
import functools
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import archspec
from archspec.render import exact_text, last_spatial_field, short_count
from archspec.report import Report
from archspec.spec import Spec
from archspec.symbols import as_int

sys.path.insert(0, str(Path(__file__).resolve().parent))
from readme_section import Section

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SPECS = ROOT / "specs"
SECTION = Section("specs", "scripts/spec_table.py")
BEGIN, END = SECTION.begin, SECTION.end

STATED_SIZE = 224
"""Where a spec leaves a spatial size free, its costs are shown at 224, ImageNet's usual size."""

STATED_CHANNELS = 3
"""A free channel count is shown at 3 (RGB) unless the spec's entry below says otherwise."""

STATED: Mapping[str, Mapping[str, int]] = {
    "unet": {"C": 1},  # the paper segments grey-scale micrographs
}
"""Per-spec sizes that replace the defaults above."""

SPATIAL_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
"""Symbols put in place of a fixed input's spatial sizes to find the smallest input."""


@dataclass(frozen=True)
class Row:
    name: str
    file: str
    source: str
    input: str
    params: str
    macs: str
    receptive_field: str
    minimum: str


def source_of(spec: Spec, text: str) -> str:
    """Who published the architecture, and when: from the spec's description or header comment.

    Each spec opens with ``# Name — Authors, "Title", Venue Year.``; the table keeps the
    authors and the year. A header without that form is shown up to its first colon or
    parenthesis, which is enough for a network that has no paper (the lecture's).
    """
    if spec.description:
        return spec.description
    header = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        header.append(line.lstrip("#").strip())
    first = " ".join(header)
    match = re.match(r'[^—]*—\s*(?P<authors>[^"]+?),\s*"[^"]*",(?P<rest>.*)', first)
    if match:
        year = re.search(r"\b(1[89]\d\d|20\d\d)\b", match.group("rest"))
        authors = _short_authors(match.group("authors"))
        return f"{authors} {year.group(1)}" if year else authors
    return re.split(r"[:(]", first, maxsplit=1)[0].strip()


def _short_authors(authors: str) -> str:
    """Up to three names as written; more become "First et al."."""
    names = re.split(r",\s*|\s+&\s+|\s+and\s+", authors)
    return authors if len(names) <= 3 else f"{names[0]} et al."


def stated_sizes(spec: Spec) -> dict[str, int]:
    """Sizes for the spec's free symbols: channels last at 3, everything else at 224."""
    from archspec.expr import parse_expression

    sizes: dict[str, int] = {}
    free = set(spec.free_symbols())
    shape = spec.input.shape
    for i, entry in enumerate(shape):
        if isinstance(entry, str):
            for name in sorted(parse_expression(entry).names & free):
                last = i == len(shape) - 1
                sizes[name] = STATED_CHANNELS if last and len(shape) > 1 else STATED_SIZE
    for name in free - set(sizes):
        sizes[name] = STATED_SIZE
    sizes.update(STATED.get(spec.name, {}))
    return sizes


def input_text(spec: Spec, sizes: Mapping[str, int]) -> str:
    """The input shape as written, and the numbers used where it is symbolic."""
    written = "×".join(str(d) for d in spec.input.shape)
    if not sizes:
        return written
    bound = ", ".join(f"{k}={v}" for k, v in sizes.items())
    return f"{written} ({bound})"


def field_text(report: Report) -> str:
    """The output's receptive field; for a global output, the last spatial layer's."""
    rf = report.output_receptive_field
    where = ""
    if rf is None:
        last = last_spatial_field(report)
        if last is None or last.receptive_field is None:
            return "global"
        rf = last.receptive_field
        where = f" ({last.name})"
    sizes = [exact_text(a.size) for a in rf]
    text = sizes[0] if len(set(sizes)) == 1 else "×".join(sizes)
    return text + where


def minimum_text(spec: Spec, report: Report) -> str:
    """The smallest input, as the exact set the engine reports.

    A spec with a fixed input is asked again with its spatial sizes left free: fully
    convolutional networks then report their true minimum. Where the free sizes would change
    the weights (a Flatten before a Dense), only the written size works, and the table says so.
    """
    if report.valid_inputs:
        return _describe(report)
    rank = len(spec.input.shape) - 1
    names = SPATIAL_NAMES.get(rank)
    if names is None or any(not isinstance(d, int) for d in spec.input.shape[:-1]):
        return "fixed"
    free = spec.model_copy(
        update={"input": spec.input.model_copy(update={"shape": [*names, spec.input.shape[-1]]})}
    )
    probe = archspec.analyze(free)
    if not probe.ok or as_int(probe.totals.params) is None:
        return "fixed (" + "×".join(str(d) for d in spec.input.shape[:-1]) + ")"
    return _describe(probe)


def _describe(report: Report) -> str:
    """``H, W >= 32`` when every axis accepts the same sizes, else one clause per axis."""
    sets = {name: s for name, s in report.valid_inputs.items() if name in _spatial(report)}
    if not sets:
        return "any"
    texts = {name: s.describe(name) for name, s in sets.items()}
    shared = ", ".join(sets)
    first = next(iter(sets.values()))
    if all(s.describe("n") == first.describe("n") for s in sets.values()):
        return first.describe(shared)
    return "; ".join(texts.values())


def _spatial(report: Report) -> set[str]:
    names: set[str] = set()
    for dim in report.input_shape[:-1]:
        names |= {str(s) for s in getattr(dim, "free_symbols", ())}
    return names


def table_row(path: Path, base: Path = ROOT) -> Row:
    spec = archspec.load(path)
    sizes = stated_sizes(spec)
    symbolic = archspec.analyze(spec)
    if not symbolic.ok:
        raise RuntimeError(f"{path} does not check: {symbolic.errors[0]}")
    report = symbolic.at(**sizes) if sizes else symbolic
    totals = report.totals
    return Row(
        name=spec.name,
        file=Path(os.path.relpath(path, base)).as_posix(),
        source=source_of(spec, path.read_text()),
        input=input_text(spec, sizes),
        params=exact_text(totals.params),
        macs=short_count(totals.macs),
        receptive_field=field_text(report),
        minimum=minimum_text(spec, symbolic),
    )


@functools.lru_cache(maxsize=4)
def _rows(paths: tuple[Path, ...], base: Path, stamps: tuple[int, ...]) -> tuple[Row, ...]:
    """Analysing every spec takes seconds; the file times in the key keep the cache honest."""
    return tuple(table_row(path, base) for path in paths)


def markdown(rows: Sequence[Row]) -> str:
    header = (
        "| Spec | Source | Input | Parameters | MACs | Receptive field | Smallest input |\n"
        "|---|---|---|--:|--:|---|---|\n"
    )
    lines = [
        f"| [{r.name}]({r.file}) | {r.source} | {r.input} | {r.params} | {r.macs} "
        f"| {r.receptive_field} | {r.minimum} |"
        for r in rows
    ]
    return header + "\n".join(lines) + "\n"


def section(specs: Path = SPECS, base: Path = ROOT) -> str:
    """The README text between the markers (markers excluded); links relative to ``base``."""
    paths = sorted(specs.glob("*.yaml"))
    rows = _rows(tuple(paths), base, tuple(p.stat().st_mtime_ns for p in paths))
    note = (
        "<!-- generated by scripts/spec_table.py from specs/; do not edit by hand -->\n\n"
        "MACs are multiply-accumulates of convolution and dense weights at the input shown. "
        "The receptive field is the output's, or, where the output sees the whole input, the "
        "last spatial layer's (named). The smallest input is the exact set the checker derives, "
        "with the spatial sizes left free.\n\n"
    )
    return "\n" + note + markdown(rows)


def replace_section(text: str, body: str) -> str:
    """``text`` with the specs table replaced; ValueError without markers."""
    return SECTION.replace(text, body)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    parser.add_argument("--readme", type=Path, default=README)
    parser.add_argument("--specs", type=Path, default=SPECS)
    args = parser.parse_args(argv)
    base = args.readme.resolve().parent
    return SECTION.update(args.readme, lambda: section(args.specs, base), check=args.check)


if __name__ == "__main__":
    sys.exit(main())
