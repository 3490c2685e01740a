"""archspec: declarative CNN specs, checked exactly before anything is built.

This package is pure Python (pydantic + sympy) and never imports TensorFlow or Keras; the
``builders`` package holds everything that does. sympy itself is imported only when a spec
has free sizes, so checking concrete specs stays fast.
"""

from __future__ import annotations

from .api import analyze, dump, from_dict, json_schema, load, loads, parse_document
from .diagnostics import Diagnostic, Severity, SpecError
from .report import LayerRow, Report, Totals
from .spec import Spec
from .sweeps import SweepRow, sweep

__version__ = "0.1.0"

__all__ = [
    "Diagnostic",
    "LayerRow",
    "Report",
    "Severity",
    "Spec",
    "SpecError",
    "SweepRow",
    "Totals",
    "analyze",
    "dump",
    "from_dict",
    "json_schema",
    "load",
    "loads",
    "parse_document",
    "sweep",
]
