"""Everything that touches Keras: the model builder and the layers Keras lacks.

Importing this package registers the custom layers, so a saved model that uses them loads
with ``keras.saving.load_model(path, safe_mode=True)`` and no ``custom_objects``. Data and
training live in their own modules, imported only by the commands that need them.
"""

from __future__ import annotations

from .custom import Maxout, SpatialPyramidPooling
from .model import BuildError, BuiltModel, build, build_model

__all__ = ["BuildError", "BuiltModel", "Maxout", "SpatialPyramidPooling", "build", "build_model"]
