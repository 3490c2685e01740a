"""Every command that reads a spec, against ``archspec check`` on the same spec, in one run.

The spec is the one of the hostile-input tests: N conv layers, each with its own symbolic
``filters`` (``s0`` ... ``sN-1``), so every row, total and expression is distinct. Whole
processes are timed (interpreter start, loading and analysis included), best of N, because
that is what a CI job pays; the target is each command within about 1.3x of ``check``, and
each time growing linearly with the layers (2.5x from 2,000 to 5,000 layers).

    python benchmarks/report_speed.py [--layers 2000 5000] [--repeat 1] [--svg]

Timings on a shared machine move with its load: compare the ratios of one run, not seconds
between runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARCHSPEC = [sys.executable, "-m", "archspec"]
FORMATS = ("text", "markdown", "json", "csv", "html")


def symbolic_filters(count: int, strides_on_last: bool = False) -> str:
    """The spec of ``tests/test_hostile.py``'s ``_symbolic_filters``; ``strides_on_last``
    writes one field more on the last layer, a one-line change for ``diff``."""
    rows = [f"{{type: conv2d, filters: s{i}, kernel: 1}}" for i in range(count)]
    if strides_on_last:
        rows[-1] = f"{{type: conv2d, filters: s{count - 1}, strides: 1, kernel: 1}}"
    symbols = ", ".join(f"s{i}: {{min: 1}}" for i in range(count))
    body = "".join(f"  - {row}\n" for row in rows)
    return (
        "archspec: 1\nname: hostile\ninput: {shape: [8, 8, 1]}\n"
        f"symbols: {{{symbols}}}\nlayers:\n{body}"
    )


DRIVER = """
import gc, os, sys, time
start = time.perf_counter()
import archspec
if os.environ.get("COLLECTOR") != "python":
    from archspec.cli import COLLECTOR_THRESHOLDS
    gc.set_threshold(*COLLECTOR_THRESHOLDS)  # as the command line sets them
from archspec.limits import Limits
limits = Limits(max_nodes=10**7)
what, paths = sys.argv[1], sys.argv[2:]
specs = [archspec.load(p, limits=limits) for p in paths]
reports = [archspec.analyze(s, limits=limits) for s in specs]
assert all(r.ok for r in reports)
analysed = time.perf_counter()
report = reports[0]
if what == "check":
    pass
elif what == "diff":
    from archspec.diff import diff_reports
    diff_reports(reports[0], reports[1], specs[0], specs[1]).to_text()
elif what == "diagram":
    from archspec.diagram import to_dot
    to_dot(report)
elif what == "json":
    report.to_json()
else:
    getattr(report, "to_" + what)()
print(analysed - start, time.perf_counter() - analysed)
"""
"""One command's work in a fresh process (nothing cached from another), with the node limit
raised: the 5,000-layer spec is over the default 50,000 nodes, and only ``check`` takes
``--limit``. ``COLLECTOR=python`` leaves the cycle collector at Python's thresholds."""


def best_of(command: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def driven(
    what: str, paths: list[Path], repeat: int, collector: str = "archspec"
) -> tuple[float, float]:
    """Best of ``repeat``: seconds to load and analyse, and seconds to render."""
    best = (float("inf"), float("inf"))
    for _ in range(repeat):
        done = subprocess.run(
            [sys.executable, "-c", DRIVER, what, *map(str, paths)],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "COLLECTOR": collector},
        )
        analysed, rendered = map(float, done.stdout.split())
        best = min(best, (analysed, rendered), key=sum)
    return best


def cli_commands(folder: Path, count: int, svg: bool) -> list[tuple[str, list[str]]]:
    spec, copy, changed = spec_files(folder, count)
    out = [("check", ["check", str(spec)])]
    out += [(f"report --format {f}", ["report", "--format", f, str(spec)]) for f in FORMATS]
    out += [
        ("diff (same spec)", ["diff", str(spec), str(copy)]),
        ("diff (one layer changed)", ["diff", str(spec), str(changed)]),
        ("diff --format json", ["diff", "--format", "json", str(spec), str(changed)]),
        ("diagram -o .dot", ["diagram", str(spec), "-o", str(folder / "graph.dot")]),
    ]
    if svg:
        out.append(("diagram -o .svg", ["diagram", str(spec), "-o", str(folder / "graph.svg")]))
    return [(name, [*ARCHSPEC, *args]) for name, args in out]


def spec_files(folder: Path, count: int) -> tuple[Path, Path, Path]:
    spec = folder / f"sf{count}.yaml"
    copy = folder / f"sf{count}_copy.yaml"
    changed = folder / f"sf{count}_changed.yaml"
    spec.write_text(symbolic_filters(count))
    copy.write_text(symbolic_filters(count))
    changed.write_text(symbolic_filters(count, strides_on_last=True))
    return spec, copy, changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, nargs="+", default=[2000, 5000])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--svg", action="store_true", help="also draw an SVG (needs Graphviz)")
    args = parser.parse_args()
    rendered: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for count in args.layers:
            if 12 * count > 50_000:  # nodes: about 12 per layer (its mapping, keys, values)
                print(f"{count} layers: over the default node limit, no whole-process timings")
                continue
            print(f"{count} layers, whole processes (best of {args.repeat}):")
            check = 0.0
            for name, command in cli_commands(folder, count, args.svg):
                took = best_of(command, args.repeat)
                check = check or took
                print(f"  {name:<26} {took:7.2f} s  {took / check:5.2f}x check", flush=True)
        for count in args.layers:
            spec, _, changed = spec_files(folder, count)
            print(f"{count} layers, in a fresh process each (load + analyse, then render):")
            rendered[count] = {}
            check = 0.0
            for name, what, paths in [
                ("check", "check", [spec]),
                *((f"report --format {f}", f, [spec]) for f in FORMATS),
                ("diff (one layer changed)", "diff", [spec, changed]),
                ("diagram (.dot)", "diagram", [spec]),
            ]:
                analysed, took = driven(what, paths, args.repeat)
                whole = analysed + took
                check = check or whole
                rendered[count][name] = took
                print(
                    f"  {name:<26} {analysed:6.2f} + {took:5.2f} s  {whole / check:5.2f}x check",
                    flush=True,
                )
        count = args.layers[0]
        spec, _, changed = spec_files(folder, count)
        print(f"{count} layers, the cycle collector at Python's thresholds against archspec's:")
        for name, what, paths in [
            ("report --format json", "json", [spec]),
            ("diff", "diff", [spec, changed]),
        ]:
            ours, theirs = (
                sum(driven(what, paths, args.repeat, c)) for c in ("archspec", "python")
            )
            print(f"  {name:<26} {theirs:6.2f} s against {ours:5.2f} s  {theirs / ours:5.2f}x")
    if len(args.layers) > 1:
        small, large = args.layers[0], args.layers[-1]
        print(f"rendering, {small} -> {large} layers (linear: {large / small:.2f}x):")
        for name, took in rendered[large].items():
            if name != "check":
                print(f"  {name:<26} {took / max(rendered[small][name], 1e-3):5.2f}x")


if __name__ == "__main__":
    main()
