"""How long a 1,000-point sweep takes, against building one point's model in Keras.

A hyperparameter search without archspec finds an invalid point when Keras builds it; with
it, every point is checked by the engine first. The figure that matters is how many points
the engine checks in the time Keras builds one model, so both are timed in this run, on
this machine:

    python benchmarks/sweep_speed.py [--points 1000] [--spec specs/resnet18.yaml]

Prints the sweep's total and per-point time, one Keras build of the same spec (TensorFlow
import excluded; best of 3), and their ratio. Measured (2-core machine, shared): ResNet-18,
1,000 points over ``classes`` in 7-10 s (~10 ms a point) against 1.2 s for one Keras build:
the sweep costs 6-8 Keras builds, 130-160 points checked per model built.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--spec", default=str(ROOT / "specs" / "resnet18.yaml"))
    parser.add_argument("--param", default="classes")
    args = parser.parse_args()

    import archspec

    spec = archspec.load(args.spec)
    grid = {args.param: list(range(1, args.points + 1))}
    archspec.sweep(spec, {args.param: [1]})  # imports and first-use caches, as a warm process
    start = time.perf_counter()
    rows = archspec.sweep(spec, grid)
    sweep_s = time.perf_counter() - start
    valid = sum(r.valid for r in rows)
    print(
        f"sweep: {len(rows)} points of {spec.name} ({valid} valid) in {sweep_s:.2f} s, "
        f"{1000 * sweep_s / len(rows):.1f} ms a point"
    )

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import keras

        from builders.model import build_model
    except ImportError:
        print("keras build: skipped (no keras installed); the ratio needs the keras extra")
        return
    builds = []
    for _ in range(3):
        keras.backend.clear_session()
        start = time.perf_counter()
        build_model(spec)
        builds.append(time.perf_counter() - start)
    build_s = min(builds)
    print(f"keras build: one {spec.name} model in {build_s:.2f} s (best of 3)")
    print(
        f"ratio: the sweep of {len(rows)} points takes {sweep_s / build_s:.1f} Keras builds; "
        f"{build_s / (sweep_s / len(rows)):.0f} points checked per model built"
    )


if __name__ == "__main__":
    main()
