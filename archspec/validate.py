"""Turn pydantic's validation errors into diagnostics that point into the spec file.

pydantic reports locations as tuples that include the union tag of a discriminated union
(``('layers', 3, 'conv2d', 'kernel')``); the file has no such level, so tags are dropped while
walking the data, and each error is reported at the node that holds the bad value, or at the
key itself for a misspelt key.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from .diagnostics import Diagnostic, Severity, SpecPath
from .expr import did_you_mean


def _child(node: Any, part: str | int) -> Any:
    """``node[part]`` in a tree of dicts and lists; None where there is no such child kind."""
    if isinstance(node, dict):
        return node[part]
    if isinstance(node, list) and isinstance(part, int):
        return node[part]
    return None


def spec_path(data: Any, loc: tuple[Any, ...]) -> SpecPath:
    """Map a pydantic ``loc`` onto the data tree, skipping union tags and member names."""
    path: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        after = loc[i + 1] if i + 1 < len(loc) else None
        if (
            isinstance(node, dict)
            and part == node.get("type")
            and isinstance(after, str)
            and after in node
            and not (isinstance(node.get(part), dict) and after in node[part])
        ):
            # the tag of a kind that also has a field of its name (``type: block`` and its
            # ``block:``): ('layers', 1, 'block', 'args', 'filters') is layers[1].args.filters
            continue
        if (isinstance(node, dict) and isinstance(part, str) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            path.append(part)
            node = _child(node, part)
        elif isinstance(node, dict) and isinstance(part, str):
            # a union tag, a member name (int/str/...), or a missing key
            if part == node.get("type") or part in _MEMBER_NAMES or "[" in part:
                continue
            path.append(part)
            node = None
        else:
            continue
    return tuple(path)


_MEMBER_NAMES = frozenset(
    {
        "int",
        "str",
        "float",
        "bool",
        "list",
        "dict",
        "function-plain",
        "function-after",
        "function-before",
        "literal",
        "none",
        "ParametricActivation",
        "activation-name",
        "activation-mapping",
    }
)


def _fields_of(model: type[BaseModel], data: Any, path: SpecPath) -> list[str]:
    """Field names valid at ``path`` (for did-you-mean on a misspelt key)."""
    from .layers import LAYER_KINDS
    from .layers.augment import Augmentation  # noqa: F401
    from .spec import BlockUse

    node = data
    for part in path[:-1]:
        try:
            node = _child(node, part)
        except (KeyError, IndexError, TypeError):
            node = None
    if isinstance(node, dict):
        kind = node.get("type")
        if isinstance(kind, str) and kind in LAYER_KINDS:  # any value may stand there
            return list(LAYER_KINDS[kind].model_fields)
        if kind == "block":
            return list(BlockUse.model_fields)
    if len(path) == 1:
        return list(model.model_fields)
    return []


KERAS_ARGUMENTS = {
    "kernel_size": "kernel",
    "pool_size": "pool",
    "target_shape": "shape",
    "dilation_rate": "dilation",
}
"""Keras argument names that archspec spells differently; string similarity misses most."""

KERAS_CLASSES = {
    "BatchNormalization": "batch_norm",
    "LayerNormalization": "layer_norm",
    "LeakyReLU": "leaky_relu",
    "ReLU": "relu",
    "PReLU": "prelu",
    "ELU": "elu",
    "InputLayer": None,
}


def keras_kind(name: str) -> str | None:
    """The kind a Keras class name means: ``GlobalAveragePooling2D`` -> ``global_avg_pool2d``."""
    from .layers import LAYER_KINDS

    if name in KERAS_CLASSES:
        return KERAS_CLASSES[name]
    text = name.replace("Average", "Avg").replace("Pooling", "Pool").replace("UpSampling", "Up")
    text = re.sub(r"(\d)D", r"\1d", text).replace("Up", "Upsampling")
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text).lower()
    return snake if snake in LAYER_KINDS else None


def diagnostics_from(exc: ValidationError, data: Any, model: type[BaseModel]) -> list[Diagnostic]:
    out = []
    seen: set[tuple[SpecPath, str]] = set()
    for err in exc.errors(include_url=False):
        path = spec_path(data, tuple(err["loc"]))
        if err["type"] == "union_tag_invalid":
            path = (*path, "type")
        message, hint, code = _describe(err, path, data, model)
        if (path, message) in seen:
            continue
        seen.add((path, message))
        out.append(Diagnostic(Severity.ERROR, code, message, path=path, hint=hint))
    return _merge_misspellings(out)


def _merge_misspellings(found: list[Diagnostic]) -> list[Diagnostic]:
    """``kernal: 3`` is one mistake, not two: drop "missing 'kernel'" when a key nearby
    is already reported as a misspelling of it."""
    meant = {
        (d.path[:-1], d.hint.split("'")[1])
        for d in found
        if d.code == "unknown-key" and d.hint and d.hint.startswith("did you mean")
    }
    return [
        d
        for d in found
        if not (d.code == "missing-key" and d.path and (d.path[:-1], d.path[-1]) in meant)
    ]


def _describe(
    err: ErrorDetails, path: SpecPath, data: Any, model: type[BaseModel]
) -> tuple[str, str | None, str]:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "extra_forbidden":
        key = str(path[-1]) if path else "?"
        known = _fields_of(model, data, path)
        guess = KERAS_ARGUMENTS.get(key) if KERAS_ARGUMENTS.get(key) in known else None
        guess = guess or did_you_mean(key, known)
        return (
            f"unknown key {key!r}",
            f"did you mean {guess!r}?"
            if guess
            else "remove it, or see `archspec schema` for the keys this object takes",
            "unknown-key",
        )
    if kind == "union_tag_invalid":
        from .layers import LAYER_KINDS

        tag = ctx.get("tag", value)
        expected = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",")]
        guess = keras_kind(str(tag)) or did_you_mean(str(tag), expected or list(LAYER_KINDS))
        return (
            f"unknown type {tag!r}",
            f"did you mean {guess!r}?" if guess else f"known types: {', '.join(expected)}",
            "unknown-type",
        )
    if kind == "union_tag_not_found":
        return ("missing 'type'", "every layer needs a type, e.g. type: conv2d", "missing-key")
    if kind == "missing":
        return (
            f"missing required key {path[-1]!r}" if path else "missing required key",
            None,
            "missing-key",
        )
    msg = err["msg"].removeprefix("Value error, ")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        field = path[-1] if path and isinstance(path[-1], str) else "value"
        return (f"{msg}. Received: {field}={value!r}", None, "out-of-range")
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        guess = did_you_mean(value, expected) if isinstance(value, str) else None
        return (f"{msg}, got {value!r}", f"did you mean {guess!r}?" if guess else None, "bad-value")
    if kind == "string_pattern_mismatch":
        return (
            f"{value!r} is not a valid name: use letters, digits, '_' and '-', "
            "starting with a letter",
            None,
            "bad-name",
        )
    return (msg, None, "bad-value" if kind != "value_error" else "invalid")
