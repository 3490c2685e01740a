"""The errors a training run raises when it cannot start or continue as asked.

Their own module, free of TensorFlow, so the command line can check a run and its data
before importing TensorFlow and still raise (and catch) the same exceptions as the
training loop.
"""

from __future__ import annotations

__all__ = ["DataError", "TrainError"]


class TrainError(RuntimeError):
    """A run that cannot start or continue as asked; the message says what to do."""


class DataError(ValueError):
    """A data source that cannot be used as given; the message names the path and the fix."""
