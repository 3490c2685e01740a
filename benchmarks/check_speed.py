"""How long a whole `archspec check` process takes, against the Keras route, in one run.

The Keras route is what people do without archspec: import TensorFlow, build the model,
call ``summary()``. Both are timed as whole processes (interpreter start and imports
included), best of N, because that is what a CI job or an editor pays.

    python benchmarks/check_speed.py [--repeat 5]

Prints each timing and the ratios the targets are stated in: ResNet-50 checked in under
0.5 s and at least 8x faster than Keras; time linear in layer count; symbolic (H, W) input
within 2x of concrete. A whole process is mostly interpreter start and imports, which hides
how the engine grows with layers, so linearity is also measured in-process: load + analyse
of chains of 500 to 8,000 layers, time per layer at each length.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

KERAS_ROUTE = """
import os
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import io, contextlib, keras
model = keras.applications.{app}(weights=None)
with contextlib.redirect_stdout(io.StringIO()):
    model.summary()
"""


def best_of(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return min(times)


def symbolic_copy(spec: Path, tmp: Path) -> Path:
    """The same spec with a free H x W input."""
    text = spec.read_text()
    text, n = re.subn(r"shape: \[\d+, \d+, 3\]", "shape: [H, W, 3]", text, count=1)
    if n != 1:
        raise SystemExit(f"{spec}: could not find a concrete [h, w, 3] input shape to replace")
    out = tmp / f"{spec.stem}_symbolic.yaml"
    out.write_text(text)
    return out


CHAIN_LAYER = """\
  - {{name: c{i}, type: conv2d, filters: 8, kernel: 3, padding: same, activation: relu}}
  - {{name: b{i}, type: batch_norm}}
"""


def chain_per_layer(layers: int, repeat: int) -> float:
    """Seconds per layer to load and analyse a chain of ``layers`` conv / batch-norm layers."""
    import archspec
    from archspec.limits import Limits

    limits = Limits(max_nodes=1_000_000)  # 8,000 written-out layers pass the default 50,000
    text = "archspec: 1\nname: chain\ninput: {shape: [32, 32, 8]}\nlayers:\n" + "".join(
        CHAIN_LAYER.format(i=i) for i in range(layers // 2)
    )
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        report = archspec.analyze(archspec.loads(text, limits=limits), limits=limits)
        best = min(best, time.perf_counter() - start)
    assert report.ok and len(report.layers) == layers, report.diagnostics[:3]
    return best / layers


def layer_count(spec: Path) -> int:
    import archspec

    return len(archspec.analyze(archspec.load(spec)).layers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-keras", action="store_true", help="only time archspec")
    args = parser.parse_args()
    check = [sys.executable, "-m", "archspec", "check", "-q"]
    r50, r152 = SPECS / "resnet50.yaml", SPECS / "resnet152.yaml"
    for spec in (r50, r152):
        if not spec.exists():
            raise SystemExit(f"missing {spec}")
    n50, n152 = layer_count(r50), layer_count(r152)
    with tempfile.TemporaryDirectory() as tmp:
        sym50 = symbolic_copy(r50, Path(tmp))
        t50 = best_of([*check, str(r50)], args.repeat)
        t152 = best_of([*check, str(r152)], args.repeat)
        t50_sym = best_of([*check, str(sym50)], args.repeat)
    baseline = best_of([sys.executable, "-c", "pass"], args.repeat)
    print(f"python startup (reference):        {baseline:7.3f} s")
    print(f"archspec check resnet50  ({n50:3d} layers): {t50:7.3f} s   target < 0.5 s")
    print(f"archspec check resnet152 ({n152:3d} layers): {t152:7.3f} s")
    print(f"archspec check resnet50, H x W symbolic: {t50_sym:7.3f} s")
    per50 = (t50 - baseline) / n50
    per152 = (t152 - baseline) / n152
    print(
        f"per-layer time ratio 152/50 (linear ~1; fixed import cost makes it < 1): "
        f"{per152 / per50:5.2f}"
    )
    print(
        f"incremental ratio (t152 - t50) / (t50 - startup) vs layers "
        f"{(n152 - n50) / n50:4.2f}: {(t152 - t50) / (t50 - baseline):5.2f}"
    )
    print(f"symbolic / concrete: {t50_sym / t50:5.2f}   target <= 2")
    lengths = (500, 1000, 2000, 4000, 8000)
    per_layer = {n: chain_per_layer(n, max(1, args.repeat // 2)) for n in lengths}
    for n, seconds in per_layer.items():
        print(f"in-process load + analyse, {n:5d}-layer chain: {seconds * 1e6:6.1f} us/layer")
    print(
        f"per-layer time, {lengths[-1]} / {lengths[0]} layers (linear ~1): "
        f"{per_layer[lengths[-1]] / per_layer[lengths[0]]:5.2f}"
    )
    if not args.skip_keras:
        keras50 = best_of(
            [sys.executable, "-c", KERAS_ROUTE.format(app="ResNet50")], max(1, args.repeat // 2)
        )
        keras152 = best_of(
            [sys.executable, "-c", KERAS_ROUTE.format(app="ResNet152")], max(1, args.repeat // 2)
        )
        print(f"keras build + summary ResNet50:  {keras50:7.3f} s")
        print(f"keras build + summary ResNet152: {keras152:7.3f} s")
        print(f"speed-up vs keras, resnet50:  {keras50 / t50:6.1f}x   target >= 8x")
        print(f"speed-up vs keras, resnet152: {keras152 / t152:6.1f}x")


if __name__ == "__main__":
    main()
