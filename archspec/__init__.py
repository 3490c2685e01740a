"""archspec: declarative CNN specs, checked exactly before anything is built.

This package is pure Python (pydantic + sympy) and never imports TensorFlow or Keras; the
``builders`` package holds everything that does. sympy itself is imported only when a spec
has free sizes, so checking concrete specs stays fast.

The public names below are loaded on first use (module ``__getattr__``, as jaxtyping
does): ``import archspec`` costs almost nothing, so a command that fails on its arguments,
or ``archspec train --help``, answers before pydantic and the spec models are imported.
``archspec.load(...)`` and ``from archspec import Spec`` work exactly as eager imports would.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_WHERE = {
    "Diagnostic": "archspec.diagnostics",
    "Severity": "archspec.diagnostics",
    "SpecError": "archspec.diagnostics",
    "LayerRow": "archspec.report",
    "Report": "archspec.report",
    "Totals": "archspec.report",
    "Spec": "archspec.spec",
    "analyze": "archspec.api",
    "dump": "archspec.api",
    "from_dict": "archspec.api",
    "json_schema": "archspec.api",
    "load": "archspec.api",
    "loads": "archspec.api",
    "parse_document": "archspec.api",
    "SweepRow": "archspec.sweeps",
    "sweep": "archspec.sweeps",
}

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

if TYPE_CHECKING:
    from .api import analyze, dump, from_dict, json_schema, load, loads, parse_document
    from .diagnostics import Diagnostic, Severity, SpecError
    from .report import LayerRow, Report, Totals
    from .spec import Spec
    from .sweeps import SweepRow, sweep


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'archspec' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
