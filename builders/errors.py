"""The error a training run raises when it cannot start or continue as asked.

Its own module, free of TensorFlow, so the command line can check a run before importing
TensorFlow and still raise (and catch) the same exception as the training loop.
"""

from __future__ import annotations

__all__ = ["TrainError"]


class TrainError(RuntimeError):
    """A run that cannot start or continue as asked; the message says what to do."""
