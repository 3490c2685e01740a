"""Training throughput of a spec-built model against the same network written by hand in Keras.

Both models see the same tf.data pipeline, the same batch size and the same number of
steps. After one warm-up epoch each (tracing, cache fill), epochs alternate between the
two models, so drifting machine load affects both alike; images per second is the
training-step time of the timed epochs only (validation excluded).

    python benchmarks/train_throughput.py --spec specs/lenet5.yaml --epochs 10

Exit status: 0 measured (and, with --tolerance, within it), 1 outside --tolerance,
2 the benchmark cannot run (builder not importable, no hand-written counterpart).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def lenet5(spec_model: Any) -> Any:
    """LeNet-5 as ``specs/lenet5.yaml`` describes it, augmentation included."""
    import keras

    return keras.Sequential(
        [
            keras.Input((32, 32, 1)),
            keras.layers.RandomTranslation(0.08, 0.08, fill_mode="constant"),
            keras.layers.RandomRotation(0.03, fill_mode="constant"),
            keras.layers.Conv2D(6, 5, activation="relu", name="c1"),
            keras.layers.MaxPooling2D(2, name="s2"),
            keras.layers.Conv2D(16, 5, activation="relu", name="c3"),
            keras.layers.MaxPooling2D(2, name="s4"),
            keras.layers.Flatten(),
            keras.layers.Dense(120, activation="relu", name="f5"),
            keras.layers.Dense(84, activation="relu", name="f6"),
            keras.layers.Dense(10, activation="softmax", name="output"),
        ],
        name="lenet5_by_hand",
    )


HAND_WRITTEN: dict[str, Callable[[Any], Any]] = {"lenet5": lenet5}
"""Spec name -> a function returning the hand-written equivalent (given the built model)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, default=ROOT / "specs" / "lenet5.yaml")
    parser.add_argument(
        "--epochs",
        type=int,
        default=10,
        help="Timed epochs per model, after one warm-up epoch (default 10).",
    )
    parser.add_argument(
        "--batch-size", type=int, default=None, help="Default: the spec's train.batch_size."
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=None,
        help="Fail (exit 1) when the ratio is off 1 by more, e.g. 0.05.",
    )
    args = parser.parse_args(argv)

    try:
        from builders.model import build_model
    except ImportError as exc:
        print(
            f"builders.model.build_model is not importable yet ({exc}); nothing to compare",
            file=sys.stderr,
        )
        return 2
    import archspec

    spec = archspec.load(args.spec)
    if spec.name not in HAND_WRITTEN:
        print(
            f"{args.spec}: no hand-written counterpart for spec '{spec.name}'; known: "
            f"{', '.join(sorted(HAND_WRITTEN))}",
            file=sys.stderr,
        )
        return 2

    import keras

    from archspec.training_config import TrainConfig
    from builders.callbacks import EpochTimer
    from builders.data import load_data, model_io
    from builders.optimizers import make_loss, make_optimizer

    config = spec.train or TrainConfig()
    batch_size = args.batch_size or config.batch_size
    keras.utils.set_random_seed(config.seed)
    models = {"spec": build_model(spec)}
    models["hand"] = HAND_WRITTEN[spec.name](models["spec"])
    params = {name: m.count_params() for name, m in models.items()}
    if params["spec"] != params["hand"]:
        print(f"warning: parameter counts differ: {params}", file=sys.stderr)
    image_shape, units = model_io(models["spec"])
    data = load_data(None, image_shape, num_classes=units, batch_size=batch_size, seed=config.seed)
    steps = -(-data.num_train // batch_size)
    timers = {name: EpochTimer() for name in models}
    for model in models.values():
        model.compile(
            optimizer=make_optimizer(config, steps),
            loss=make_loss(config),
            metrics=list(config.metrics),
        )
        model.fit(data.train, epochs=1, verbose=0, shuffle=False)  # warm-up: trace, cache
    started = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        for name, model in models.items():
            model.fit(
                data.train,
                initial_epoch=epoch,
                epochs=epoch + 1,
                verbose=0,
                shuffle=False,
                callbacks=[timers[name]],
            )
    rates = {
        name: data.num_train * len(t.train_seconds) / sum(t.train_seconds)
        for name, t in timers.items()
    }
    ratio = rates["spec"] / rates["hand"]
    print(
        f"{spec.name}: {data.num_train} images x {args.epochs} timed epochs, batch "
        f"{batch_size}, {steps} steps/epoch ({time.perf_counter() - started:.1f} s)"
    )
    for name, label in (("spec", "spec-built"), ("hand", "hand-written")):
        print(f"  {label:<13} {rates[name]:>10,.0f} images/s   {params[name]:>9,} params")
    print(f"  ratio spec/hand {ratio:.3f}")
    if args.tolerance is not None and abs(ratio - 1) > args.tolerance:
        print(f"ratio outside 1 +/- {args.tolerance}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
