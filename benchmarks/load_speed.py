"""How long ``archspec.loader.load_file`` takes through libyaml and through PyYAML's pure Python.

The loader parses YAML with libyaml when PyYAML has it, composing in Python under the limits,
and reads a file again with the pure loader only when libyaml refuses it or reads it otherwise.
Both are timed here on the same files in one run, best of N, so the ratio does not depend on
how busy the machine is:

    python benchmarks/load_speed.py [--repeat 5] [--layers 2000]

The files: a generated spec of LAYERS symbolic conv layers (``_symbolic_filters`` of the
hostile tests, about 120 kB, where loading was about half of ``archspec check``), and
specs/inception_resnet_v2.yaml, one of the largest real specs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from test_hostile import _symbolic_filters  # noqa: E402

from archspec import loader  # noqa: E402


def best_of(load: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        load()
        times.append(time.perf_counter() - start)
    return min(times)


def timed(path: Path, repeat: int) -> tuple[float, float]:
    """Seconds through the pure loader, then through libyaml, alternating so both see the same
    machine; the two Documents must be equal, positions included."""
    saved = loader._CLoader
    pure, fast = float("inf"), float("inf")
    try:
        for _ in range(repeat):
            loader._CLoader = None
            pure = min(pure, best_of(lambda: loader.load_file(path), 1))
            expected = loader.load_file(path)
            loader._CLoader = saved
            fast = min(fast, best_of(lambda: loader.load_file(path), 1))
        found = loader.load_file(path)
    finally:
        loader._CLoader = saved
    assert found == expected and found.values == expected.values and found.keys == expected.keys
    return pure, fast


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--layers", type=int, default=2000)
    args = parser.parse_args()
    if loader._CLoader is None:
        raise SystemExit("PyYAML has no libyaml here: only the pure loader can be timed")
    with tempfile.TemporaryDirectory() as tmp:
        generated = Path(tmp) / f"symbolic_{args.layers}.yaml"
        generated.write_text(_symbolic_filters(args.layers))
        files = [generated, ROOT / "specs" / "inception_resnet_v2.yaml"]
        for path in files:
            pure, fast = timed(path, args.repeat)
            size = path.stat().st_size / 1024
            print(
                f"{path.name:28s} {size:6.1f} kB   pure {pure * 1e3:8.1f} ms   "
                f"libyaml {fast * 1e3:7.1f} ms   ratio {pure / fast:5.1f}x"
            )


if __name__ == "__main__":
    main()
