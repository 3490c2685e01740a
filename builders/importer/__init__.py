"""Keras models to specs: ``import_model(model) -> Spec`` and ``archspec import``.

The inverse of ``builders.keras_layers``: one converter per Keras layer class
(``converters.CONVERTERS``), a walk of the model's graph with nested models inlined
(``graph``), repeated sub-graphs found and written once (``blocks``), and a writer that
lays the spec out the way ``specs/`` are written (``writer``).
"""

from __future__ import annotations

from .core import Imported, ImportRefused, convert_model, import_model
from .graph import Problem
from .writer import write_spec

__all__ = ["ImportRefused", "Imported", "Problem", "convert_model", "import_model", "write_spec"]
