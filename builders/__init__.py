"""Everything that touches Keras: the model builder and the layers Keras lacks.

The names below are loaded on first use (module ``__getattr__``), so that importing a
submodule that needs no TensorFlow (``builders.commands``, ``builders.rundir``,
``builders.atomic``) does not pay for it: ``archspec train --help`` and the checks made
before training start stay fast. Importing ``builders.custom`` (which any of these names
does) registers the custom layers, so a saved model that uses them loads with
``keras.saving.load_model(path, safe_mode=True)`` and no ``custom_objects``. When Keras
is already loaded, ``import builders`` registers them at once, as it always has: it then
costs nothing, and ``import keras, builders`` before loading a model keeps working.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

__all__ = [
    "BuildError",
    "BuiltModel",
    "ImportRefused",
    "LayerScale",
    "Maxout",
    "SamePadding",
    "SpatialPyramidPooling",
    "StochasticDepth",
    "build",
    "build_model",
    "import_model",
]

_WHERE = {
    "LayerScale": "builders.custom",
    "Maxout": "builders.custom",
    "SamePadding": "builders.custom",
    "SpatialPyramidPooling": "builders.custom",
    "StochasticDepth": "builders.custom",
    "BuildError": "builders.model",
    "BuiltModel": "builders.model",
    "build": "builders.model",
    "build_model": "builders.model",
    "import_model": "builders.importer",
    "ImportRefused": "builders.importer",
}


if "keras" in sys.modules:
    from . import custom as _custom  # noqa: F401  (registers the custom layers)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'builders' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
