"""Where `archspec check` spends its time after reading the file, phase by phase, in one run.

    python benchmarks/engine_speed.py [--repeat 5] [--baseline REV]

Prints the start-up of a fresh process (``--version``, and ``check`` of LeNet-5, which needs
no sympy), then load, validate and analyse of a 2,000-layer spec whose every convolution has
its own symbolic ``filters`` (the hostile-input test's worst case) and of Inception-ResNet-v2
with a free H x W input. Each phase figure is the best of ``--repeat`` fresh processes, since
a first analysis is what a command pays: a warm process would hide the caches it fills.

With ``--baseline REV`` the same figures are measured for the ``archspec/`` package of that git
revision (extracted to a temporary folder, run with the same interpreter and dependencies),
the two trees taking turns so that a machine shared with other jobs slows both alike; the
last column is baseline / current. Timings on a busy machine vary by tens of percent from
run to run: compare the ratios of one run, not figures of different runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INCEPTION = ROOT / "specs" / "inception_resnet_v2.yaml"
LENET = ROOT / "specs" / "lenet5.yaml"
PHASES = ("load", "validate", "analyse")


def symbolic_filters(count: int) -> str:
    """``count`` 1x1 convolutions, each with its own free ``filters``: the same text as
    ``tests/test_hostile.py``'s ``_symbolic_filters``."""
    rows = "".join(f"  - {{type: conv2d, filters: s{i}, kernel: 1}}\n" for i in range(count))
    symbols = ", ".join(f"s{i}: {{min: 1}}" for i in range(count))
    return (
        "archspec: 1\nname: hostile\ninput: {shape: [8, 8, 1]}\n"
        f"symbols: {{{symbols}}}\nlayers:\n{rows}"
    )


WORKER = """
import json, sys, time
from archspec.api import parse_document
from archspec.engine import analyze
from archspec.loader import load_file
import sympy  # imported before the clock: start-up is measured on its own
out = {}
for path in sys.argv[1:]:
    t0 = time.perf_counter()
    document = load_file(path)
    t1 = time.perf_counter()
    spec, found = parse_document(document)
    t2 = time.perf_counter()
    report = analyze(spec)
    t3 = time.perf_counter()
    out[path] = {"load": t1 - t0, "validate": t2 - t1, "analyse": t3 - t2,
                 "layers": len(report.layers), "diagnostics": len(report.diagnostics)}
print(json.dumps(out))
"""


def extract(rev: str, into: Path) -> Path:
    """The ``archspec`` package as it was at ``rev``, importable from the folder returned."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", rev, "archspec"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def environment(tree: Path) -> dict[str, str]:
    """Imports ``archspec`` from ``tree``: the processes run in a scratch folder, so that the
    current directory does not take precedence, and with no pyproject.toml above them."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)
    return env


def seconds(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=False, env=env, cwd=cwd, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def phases(files: list[Path], env: dict[str, str], cwd: Path) -> dict[str, dict[str, float]]:
    done = subprocess.run(
        [sys.executable, "-c", WORKER, *map(str, files)],
        check=True,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    found: dict[str, dict[str, float]] = json.loads(done.stdout)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--baseline", metavar="REV", help="also time archspec/ at this revision")
    parser.add_argument("--layers", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hostile = Path(tmp) / f"symbolic_filters_{args.layers}.yaml"
        hostile.write_text(symbolic_filters(args.layers))
        trees = {"current": ROOT}
        if args.baseline:
            trees["baseline"] = extract(args.baseline, Path(tmp) / "baseline")
        envs = {name: environment(tree) for name, tree in trees.items()}
        files = [hostile, INCEPTION]
        commands = {
            "start-up: --version": [sys.executable, "-m", "archspec", "--version"],
            "start-up: check lenet5": [sys.executable, "-m", "archspec", "check", "-q", str(LENET)],
            f"check of the {args.layers}-layer spec": [
                sys.executable,
                "-m",
                "archspec",
                "check",
                "-q",
                str(hostile),
            ],
        }
        best: dict[tuple[str, str], float] = {}
        for _ in range(args.repeat):
            for name, env in envs.items():  # the trees take turns
                for label, cmd in commands.items():
                    t = seconds(cmd, env, Path(tmp))
                    best[name, label] = min(best.get((name, label), t), t)
                for path, times in phases(files, env, Path(tmp)).items():
                    stem = Path(path).stem
                    for phase in PHASES:
                        key = (name, f"{stem}: {phase}")
                        best[key] = min(best.get(key, times[phase]), times[phase])
                    for what in ("layers", "diagnostics"):
                        best[name, f"{stem}: {what}"] = times[what]
        labels = list(commands) + [
            f"{Path(f).stem}: {phase}" for f in files for phase in (*PHASES, "layers")
        ]
        width = max(map(len, labels))
        header = f"{'':{width}}  {'current':>9}"
        if args.baseline:
            header += f"  {'baseline':>9}  {'ratio':>6}"
        print(header)
        for label in labels:
            now = best["current", label]
            counted = label.endswith(": layers")
            row = f"{label:{width}}  " + (f"{now:>9.0f}" if counted else f"{now:>8.3f}s")
            if args.baseline:
                then = best["baseline", label]
                if counted:
                    row += f"  {then:>9.0f}"
                else:
                    row += f"  {then:>8.3f}s  {then / now:>5.2f}x"
            print(row)
        for name in trees:
            a = best[name, f"{hostile.stem}: diagnostics"]
            b = best[name, f"{INCEPTION.stem}: diagnostics"]
            print(f"diagnostics ({name}): {a:.0f} and {b:.0f}")


if __name__ == "__main__":
    main()
