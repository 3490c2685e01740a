"""The functions most users call: load a spec, check it, analyse it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from .diagnostics import Diagnostic, SpecError
from .limits import DEFAULT_LIMITS, Limits
from .loader import Document, load_file, load_text
from .report import Report
from .spec import Spec
from .validate import diagnostics_from


def parse_document(document: Document) -> tuple[Spec | None, list[Diagnostic]]:
    """Validate a loaded document; errors come back as located diagnostics."""
    from .diagnostics import locate

    try:
        spec = Spec.model_validate(document.data)
    except ValidationError as exc:
        return None, locate(diagnostics_from(exc, document.data, Spec), document)
    except RecursionError:
        from .diagnostics import Severity

        return None, [
            Diagnostic(
                Severity.ERROR, "limit-exceeded", "the spec nests too deeply", file=document.file
            )
        ]
    spec._source = document
    return spec, []


def load(path: str | os.PathLike[str], *, limits: Limits = DEFAULT_LIMITS) -> Spec:
    """Read and validate a spec file; raises SpecError holding every located diagnostic."""
    spec, found = parse_document(load_file(path, limits=limits))
    if spec is None:
        raise SpecError(found)
    return spec


def loads(text: str, file: str = "<string>", *, limits: Limits = DEFAULT_LIMITS) -> Spec:
    """Like load, from text (YAML or JSON)."""
    spec, found = parse_document(load_text(text, file, limits=limits))
    if spec is None:
        raise SpecError(found)
    return spec


def from_dict(data: Mapping[str, Any]) -> Spec:
    """A spec from a plain dict (no file positions)."""
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(diagnostics_from(exc, data, Spec)) from None


def analyze(
    spec: Spec | str | os.PathLike[str],
    sizes: Mapping[str, int] | None = None,
    *,
    strict: bool = False,
    limits: Limits = DEFAULT_LIMITS,
    **more_sizes: int,
) -> Report:
    """Shapes, parameters, receptive fields, MACs and valid input sizes of every layer.

    >>> report = analyze(from_dict({"archspec": 1, "name": "tiny", "input": {"shape": [28, 28, 1]},
    ...     "layers": [{"type": "conv2d", "filters": 20, "kernel": 5}]}))
    >>> report.layer("conv2d").output_shape, report.totals.params
    ((24, 24, 20), 520)
    """
    from .engine import analyze as run

    if not isinstance(spec, Spec):
        spec = load(spec, limits=limits)
    return run(spec, sizes, strict=strict, limits=limits, **more_sizes)


def dump(spec: Spec) -> str:
    """The spec as YAML, without defaults: load(dump(spec)) == spec."""
    from .loader import dump_yaml

    return dump_yaml(spec.model_dump(mode="json", exclude_unset=True, by_alias=True))


def json_schema() -> dict[str, Any]:
    """The JSON Schema of spec files, for editors and other validators."""
    schema = Spec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "archspec spec file"
    return schema
