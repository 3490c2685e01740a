"""KerasTuner over a spec's params, where Keras never builds an invalid point.

Searches over CNN hyperparameters crash, or waste a trial, on configurations found invalid
only when Keras builds them (keras-team/keras-tuner#908, #704). ``SpecHyperModel`` asks the
engine first: a point it refuses is a failed trial whose message is the engine's reason (the
layer and the rule), raised as ``keras_tuner.errors.FailedTrialError`` before any Keras layer
exists; a valid point is built from the spec as ``archspec build`` would.

Needs the ``tuner`` extra (``pip install -e '.[keras,tuner]'``). A third of the points being
invalid makes failed trials in a row likely: give the tuner
``max_consecutive_failed_trials`` above its default of 3.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import keras
import keras_tuner

from archspec.spec import Spec
from archspec.sweeps import SweepRow, sweep

from .model import build_model


def _compile(model: keras.Model) -> None:
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])


class SpecHyperModel(keras_tuner.HyperModel):
    """A search space over ``spec``'s params; each trial's point is checked before it is built.

    ``space`` maps a param to its values (ints, or decimals given as strings such as "1.1" or
    as Fractions). ``rejected`` lists the engine's rows for the points refused, ``builds``
    counts the Keras models built.
    """

    def __init__(
        self,
        spec: Spec,
        space: Mapping[str, Sequence[int | str | Fraction]],
        sizes: Mapping[str, int] | None = None,
        *,
        compile: Callable[[keras.Model], None] = _compile,
        name: str | None = None,
    ) -> None:
        super().__init__(name=name or spec.name)
        unknown = [p for p in space if p not in spec.params]
        if unknown:
            raise ValueError(
                f"the search space names {unknown[0]!r}, which is not a param of "
                f"{spec.name!r}. Received: params={sorted(spec.params)}"
            )
        self.spec = spec
        self.space = {
            k: [str(v) if isinstance(v, Fraction) else v for v in vs] for k, vs in space.items()
        }
        self.sizes = dict(sizes or {})
        self.compile = compile
        self.rejected: list[SweepRow] = []
        self.builds = 0
        self._discovering = False

    def declare_hyperparameters(self, hp: keras_tuner.HyperParameters) -> None:
        for name, values in self.space.items():
            hp.Choice(name, values)
        # KerasTuner builds once right after this, only to discover conditional
        # hyperparameters (the model is discarded); there is none here, so skip that build.
        self._discovering = True

    def point(self, hp: keras_tuner.HyperParameters) -> dict[str, int | Fraction]:
        return {name: _number(hp.get(name)) for name in self.space}

    def check(self, hp: keras_tuner.HyperParameters) -> SweepRow:
        """The engine's verdict on this trial's point (no Keras involved)."""
        point = self.point(hp)
        return sweep(self.spec, {k: [v] for k, v in point.items()}, self.sizes)[0]

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model | None:
        if self._discovering:
            self._discovering = False
            return None
        row = self.check(hp)
        if not row.valid:
            self.rejected.append(row)
            where = f"layer {row.layer!r}: " if row.layer else ""
            raise keras_tuner.errors.FailedTrialError(
                f"archspec: the point {_show(row.point)} is invalid, {where}{row.message} "
                f"[{row.rule}]"
            )
        params = dict(self.spec.params)
        for name, value in row.point.items():
            params[name] = (
                value if isinstance(value, int) else f"{value.numerator}/{value.denominator}"
            )
        model = build_model(self.spec.model_copy(update={"params": params}), self.sizes)
        self.builds += 1
        self.compile(model)
        return model


def _number(value: Any) -> int | Fraction:
    if isinstance(value, bool):
        raise ValueError(f"params are numbers. Received: {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return Fraction(value)
    raise ValueError(
        f"give decimal values as strings ('1.1') so they stay exact. Received: {value!r}"
    )


def _show(point: Mapping[str, int | Fraction]) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items())


__all__ = ["SpecHyperModel"]
