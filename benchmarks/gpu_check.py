"""ResNet-50 from ``specs/resnet50.yaml`` against Keras's own ResNet-50, on one GPU.

Both networks train on the same synthetic ImageNet-sized batches (224x224x3, 1000 classes,
generated on the device, so the input pipeline is not what is measured), under
``mixed_float16`` with XLA (``jit_compile``), with the spec's optimizer. After warm-up
steps (tracing, XLA compilation, autotuning) each model is timed over the same number of
steps; the peak GPU memory of each timed run is compared with the report's estimate of
training memory for that batch (weights, gradients, optimizer slots, activations).

    benchmarks/gpu_check.sh            # on a machine with an NVIDIA GPU
    benchmarks/gpu_check.sh --dry-run  # everything but the GPU timing, on CPU

``--dry-run`` runs the same code on the CPU at 64x64 with tiny batches and no XLA (XLA's
CPU compile of ResNet-50 alone takes minutes), and prints its figures marked as such.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def hand_written(shape: tuple[int, int, int], classes: int) -> Any:
    """Keras's ResNet-50, its softmax in float32 as mixed precision requires."""
    import keras

    base = keras.applications.ResNet50(
        weights=None, input_shape=shape, classes=classes, classifier_activation=None
    )
    out = keras.layers.Activation("softmax", dtype="float32", name="probabilities")(base.output)
    return keras.Model(base.input, out, name="resnet50_keras")


def synthetic(shape: tuple[int, int, int], classes: int, batch: int) -> Any:
    """One random batch repeated forever, made on the device: the pipeline costs nothing."""
    import tensorflow as tf

    x = tf.random.uniform((batch, *shape), seed=0)
    y = tf.random.uniform((batch,), maxval=classes, dtype=tf.int32, seed=1)
    return tf.data.Dataset.from_tensors((x, y)).repeat().prefetch(tf.data.AUTOTUNE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="On CPU, small; no timing claim.")
    parser.add_argument("--batch", type=int, default=None, help="Default 128 (dry run: 2).")
    parser.add_argument("--steps", type=int, default=None, help="Timed steps (default 100).")
    parser.add_argument("--warmup", type=int, default=None, help="Warm-up steps (default 20).")
    args = parser.parse_args(argv)
    dry = args.dry_run
    batch = args.batch or (2 if dry else 128)
    steps = args.steps or (2 if dry else 100)
    warmup = args.warmup or (1 if dry else 20)
    size = 64 if dry else 224

    from builders.quiet import quiet_tensorflow

    quiet_tensorflow()
    import keras
    import tensorflow as tf

    import archspec
    from archspec.conventions import OPTIMIZER_SLOTS
    from archspec.training_config import TrainConfig
    from builders.callbacks import EpochTimer
    from builders.model import build
    from builders.optimizers import make_loss, make_optimizer

    gpus = tf.config.list_logical_devices("GPU")
    if not gpus and not dry:
        print("no GPU visible to TensorFlow; run with --dry-run on CPU", file=sys.stderr)
        return 2
    spec = archspec.load(ROOT / "specs" / "resnet50.yaml")
    config = spec.train or TrainConfig()
    keras.mixed_precision.set_global_policy("mixed_float16")
    keras.utils.set_random_seed(0)
    if size != 224:  # the dry run's smaller images; the spec itself is fixed at 224x224
        spec = spec.model_copy(update={"input": type(spec.input)(shape=[size, size, 3])})
    built = build(spec, {}, mixed_precision=True)
    shape = tuple(int(d) for d in built.model.input_shape[1:])
    classes = int(built.model.output_shape[-1])
    models = {"spec": built.model, "keras": hand_written(shape, classes)}
    params = {name: m.count_params() for name, m in models.items()}
    estimate = built.report.totals.training_bytes(batch, OPTIMIZER_SLOTS)
    data = synthetic(shape, classes, batch)
    device = gpus[0].name if gpus else "CPU"
    print(f"resnet50 {shape} batch {batch}, {warmup} warm-up + {steps} timed steps on {device}")
    print(f"  parameters: spec {params['spec']:,}, keras {params['keras']:,}")
    if params["spec"] != params["keras"]:
        print("  the two networks differ; the comparison is not like for like", file=sys.stderr)
        return 1
    rates: dict[str, float] = {}
    peaks: dict[str, int | None] = {}
    for name, model in models.items():
        model.compile(
            optimizer=make_optimizer(config, steps),
            loss=make_loss(config),
            jit_compile=not dry,
        )
        model.fit(data, steps_per_epoch=warmup, epochs=1, verbose=0, shuffle=False)
        if gpus:
            tf.config.experimental.reset_memory_stats(gpus[0].name)
        timer = EpochTimer()
        started = time.perf_counter()
        model.fit(
            data, steps_per_epoch=steps, epochs=1, verbose=0, shuffle=False, callbacks=[timer]
        )
        seconds = timer.train_seconds[-1] or time.perf_counter() - started
        rates[name] = batch * steps / seconds
        peaks[name] = tf.config.experimental.get_memory_info(gpus[0].name)["peak"] if gpus else None
    label = " (dry run on CPU: not a measurement)" if dry else ""
    for name in models:
        peak = peaks[name]
        memory = f", peak GPU memory {peak / 2**30:.2f} GiB" if peak is not None else ""
        print(f"  {name:<6} {rates[name]:>9,.1f} images/s{memory}{label}")
    print(f"  ratio spec/keras {rates['spec'] / rates['keras']:.3f}{label}")
    print(f"  report's training-memory estimate at batch {batch}: {estimate / 2**30:.2f} GiB")
    if peaks["spec"] is not None:
        print(f"  peak / estimate (spec): {peaks['spec'] / estimate:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
