"""Where and how the steps run: tf.distribute strategies, and mixed precision.

Distribution, as tested on TensorFlow 2.21 / Keras 3.15 (CPU, two logical devices or two
worker processes on one host): ``MirroredStrategy`` works unchanged. Keras 3's fit under
``MultiWorkerMirroredStrategy`` fails before the first step (keras-team/keras#20585:
Keras calls ``strategy.reduce`` on a whole ``(x, y)`` batch structure, and with
``axis=0`` on scalar per-replica losses; the collective strategy accepts neither).
``multiworker`` therefore uses a subclass whose ``reduce`` applies the strategy's own
reduction leaf by leaf, with ``axis=None`` for scalars; with it, workers train in lock
step with identical weights. The JAX ``keras.distribution`` path was not needed.
"""

from __future__ import annotations

import os
from typing import Any, Literal

import keras
import tensorflow as tf

from builders.errors import TrainError

__all__ = [
    "StrategyName",
    "finish_together",
    "make_strategy",
    "output_layer_dtype",
    "worker_role",
]

StrategyName = Literal["auto", "mirrored", "multiworker"]


def output_layer_dtype() -> str | None:
    """The dtype a model builder must give its last layer under the current policy.

    Under ``mixed_float16`` the softmax and the loss must run in float32 to stay
    numerically safe, so builders pass ``dtype=output_layer_dtype()`` to the output
    layer; None means "the default policy", i.e. nothing to override.
    """
    policy = keras.mixed_precision.global_policy()
    return "float32" if policy.compute_dtype != "float32" else None


class _MultiWorkerStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """MultiWorkerMirroredStrategy whose ``reduce`` accepts what Keras 3's ``fit`` passes.

    See the module docstring (keras-team/keras#20585): the reduction itself is the
    strategy's own collective all-reduce, applied per tensor.
    """

    def reduce(self, reduce_op: Any, value: Any, axis: int | None) -> Any:
        def one(v: Any) -> Any:
            local = self.experimental_local_results(v)[0]
            keep_axis = axis if axis is None or local.shape.rank else None
            return super(_MultiWorkerStrategy, self).reduce(reduce_op, v, keep_axis)

        return tf.nest.map_structure(one, value)


def make_strategy(name: StrategyName = "auto") -> tf.distribute.Strategy:
    """The tf.distribute strategy for ``name``.

    ``auto``: MirroredStrategy over the GPUs when there are several, else the default
    (one device, GPU if visible). ``mirrored``: MirroredStrategy over the GPUs, or over
    the logical CPU devices when there is no GPU (how it is tested on CPU).
    ``multiworker``: MultiWorkerMirroredStrategy configured from ``TF_CONFIG``.
    """
    if name == "multiworker":
        # Must come before anything that initialises TensorFlow's runtime (listing
        # devices included): collective ops are configured at start-up only.
        if "TF_CONFIG" not in os.environ:
            raise TrainError(
                "The multiworker strategy reads the cluster from the TF_CONFIG environment "
                "variable, which is not set; see tf.distribute.MultiWorkerMirroredStrategy"
            )
        return _MultiWorkerStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if name == "mirrored":
        devices = gpus or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    raise TrainError(f"Unknown strategy. Expected auto, mirrored or multiworker. Received: {name}")


def worker_role(strategy: tf.distribute.Strategy) -> tuple[bool, str]:
    """Whether this process is the one that writes outputs, and a name for it."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True, "chief"
    task_type, task_id = resolver.task_type, resolver.task_id
    jobs = resolver.cluster_spec().as_dict()
    chief = task_type == "chief" or (task_type == "worker" and task_id == 0 and "chief" not in jobs)
    return chief, f"{task_type}-{task_id}"


def finish_together(strategy: tf.distribute.Strategy) -> None:
    """Hold every worker of a multi-worker run here until all of them have arrived.

    The chief alone writes the run's files after the final evaluation (``metrics.json``,
    ``curves.png``): seconds on a loaded machine, while the other workers have nothing left
    to do. A worker that leaves then shuts its TensorFlow runtime down while the chief, which
    hosts the cluster's coordination service, still works: the service sees that worker's
    heartbeats stop, and the chief's own shutdown waits on a task that is gone. One
    collective sum (which every worker must join) after the chief's writes makes all of
    them leave together (measured on two workers at load 10: they exit 6 ms apart). Other
    strategies have nothing to wait for.
    """
    if not isinstance(strategy, _MultiWorkerStrategy):
        return
    arrived = strategy.run(lambda: tf.constant(1.0))
    total = strategy.reduce(tf.distribute.ReduceOp.SUM, arrived, axis=None)
    if int(total) != strategy.num_replicas_in_sync:  # pragma: no cover - a broken cluster
        raise TrainError(f"Only {int(total)} of {strategy.num_replicas_in_sync} workers finished")
