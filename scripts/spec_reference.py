"""Writes docs/spec.md, the spec-language reference, from the JSON Schema of spec files.

Every kind (layers, augmentation, optimizers, schedules, callbacks) and every other object of
the schema gets a section: its description, a table of its fields (type, default, meaning) and
one example. The schema is pydantic's, built from the models themselves, so a new layer kind
appears here as soon as it is registered; tests/test_spec_reference.py fails when the file is
stale and checks that every example is a valid spec.

    python scripts/spec_reference.py          # rewrite docs/spec.md
    python scripts/spec_reference.py --check  # exit 1 when docs/spec.md is stale
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "docs" / "spec.md"

GLOSSARY = {
    "type": "The kind, as written in specs.",
    "activation": "Activation applied to the output: a name (`relu`) or `{type: leaky_relu, ...}`.",
    "use_bias": "Whether the layer adds a learned bias.",
    "padding": "`valid`, `same`, an integer P, one P per axis, or `[before, after]` per axis.",
    "keepdims": "Keep the pooled axes with size 1, as Keras does.",
    "value_range": "Range of the input pixel values, `[low, high]`.",
    "doc": "Free text describing it.",
    "fill_mode": "How points outside the input are filled (Keras's `fill_mode`).",
    "interpolation": "Resampling: `bilinear` or `nearest`.",
    "description": "Free text describing it.",
    "input": "The model input: its shape, channels last, batch excluded.",
    "blocks": "Reusable groups of layers with typed arguments, used by `type: block` layers.",
    "layers": "The layers in order; each reads the previous one unless `inputs` names others.",
    "augment": "Augmentation layers, inside the model: random in training, inert at inference.",
    "train": "Training settings used by `archspec train`.",
    "epsilon": "Small constant added to the variance, for numerical stability.",
    "center": "Whether a learned offset (beta) is added after normalizing.",
    "axis": "The axis it works along; `-1` is the channels.",
    "max_value": "Upper clip of the output; none when absent.",
    "shape": "Sizes per axis, channels last, batch excluded; entries may be expressions.",
    "pooling": "Pooling inside each pyramid bin: `max` or `avg`.",
    "stddev": "Standard deviation of the added Gaussian noise.",
    "height": "Vertical amount: a fraction of the height (translation, zoom) or pixels (crop).",
    "width": "Horizontal amount: a fraction of the width (translation, zoom) or pixels (crop).",
    "mode": "Which flips: `horizontal`, `vertical` or `horizontal_and_vertical`.",
    "kernel_size": "Size of the blur kernel, in pixels.",
    "x_factor": "Largest horizontal shear, as a fraction.",
    "y_factor": "Largest vertical shear, as a fraction.",
    "default": "Value used when a block use does not give this argument.",
}
"""Meanings for fields whose models carry no description; a description in the schema wins."""

EXAMPLE_VALUES = {
    "filters": 16,
    "units": 10,
    "kernel": 3,
    "pool": 2,
    "size": 2,
    "rate": 0.5,
    "shape": [4, 4],
    "inputs": ["a", "b"],
    "activation": "relu",
    "cropping": 1,
    "padding": 1,
    "factor": 0.1,
    "height": 0.1,
    "width": 0.1,
    "stddev": 0.1,
    "learning_rate": 1.0e-3,
    "epochs": 10,
    "block": "double",
}
"""Values for required fields in the examples, where the field's type alone says too little."""


TOP_NAME = "The spec's name: letters, digits, `_`, `.` and `-`."

TOP_EXAMPLE = """archspec: 1
name: lenet5
input: {shape: [32, 32, 1]}
params: {width: 6}
layers:
  - {name: c1, type: conv2d, filters: width, kernel: 5, activation: relu}
  - {name: s2, type: max_pool2d, pool: 2}
  - {type: flatten}
  - {name: out, type: dense, units: 10, activation: softmax}
augment:
  - {type: random_translation, height: 0.08, width: 0.08}
train: {epochs: 10, batch_size: 64, optimizer: {type: adam, learning_rate: 2.0e-3}}"""
"""The whole-file example: the README's, params, augment and train included."""


def schema() -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from archspec import json_schema

    return json_schema()


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def anchor(name: str) -> str:
    return re.sub(r"[^a-z0-9-]", "", name.lower().replace(" ", "-"))


def type_text(s: dict[str, Any], titles: dict[str, str]) -> str:
    """A JSON Schema type as a reader says it: ``integer >= 1 | expression``."""
    if "$ref" in s:
        name = _ref_name(s["$ref"])
        return f"[{titles.get(name, name)}](#{anchor(titles.get(name, name))})"
    if "const" in s:
        return f"`{json.dumps(s['const'])}`"
    if "enum" in s:
        return " \\| ".join(f"`{json.dumps(v)}`" for v in s["enum"])
    for key in ("anyOf", "oneOf"):
        if key in s:
            parts = [type_text(o, titles) for o in s[key] if o.get("type") != "null"]
            if "discriminator" in s:
                return "one of the kinds below"
            return " \\| ".join(dict.fromkeys(parts))
    kind = s.get("type")
    if kind == "string" and s.get("description") == "arithmetic over params and symbols":
        return "expression"
    if kind == "array":
        items = s.get("items")
        inner = type_text(items, titles) if isinstance(items, dict) else "value"
        if "discriminator" in (items or {}):
            return "list of kinds"
        return f"list of {inner}"
    if kind == "object":
        extra = s.get("additionalProperties")
        if isinstance(extra, dict):
            return f"map of name to {type_text(extra, titles)}"
        return "mapping"
    if kind in ("integer", "number"):
        bounds = []
        for key, op in (
            ("minimum", ">="),
            ("exclusiveMinimum", ">"),
            ("maximum", "<="),
            ("exclusiveMaximum", "<"),
        ):
            if key in s:
                bounds.append(f"{op} {s[key]}")
        return " ".join([kind, *bounds])
    return str(kind or "any")


def default_text(name: str, s: dict[str, Any], required: bool) -> str:
    if required:
        return "required"
    if "default" not in s or s["default"] is None:
        return "—"
    return f"`{json.dumps(s['default'])}`"


def meanings(defs: dict[str, Any]) -> dict[str, str]:
    """A field's description from any kind that has one, for kinds whose field has none."""
    found: dict[str, str] = dict(GLOSSARY)
    for d in defs.values():
        for field, s in d.get("properties", {}).items():
            if s.get("description") and field not in GLOSSARY:
                found.setdefault(field, s["description"])
    return found


def _accepts(s: dict[str, Any], value: Any) -> bool:
    """Whether the schema's JSON types admit the value's (a float hint for an int field: no)."""
    types = {o.get("type") for o in [s, *s.get("anyOf", [])]} - {None, "null"}
    want = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}
    kind = want.get(type(value))
    return not types or kind in types or (kind == "integer" and "number" in types)


def example_value(field: str, s: dict[str, Any], defs: dict[str, Any]) -> Any:
    if field in EXAMPLE_VALUES and _accepts(s, EXAMPLE_VALUES[field]):
        return EXAMPLE_VALUES[field]
    if "const" in s:
        return s["const"]
    if "enum" in s:
        return s["enum"][0]
    if "$ref" in s:
        return minimal(defs[_ref_name(s["$ref"])], defs)
    for key in ("anyOf", "oneOf"):
        if key in s:
            return example_value(field, next(o for o in s[key] if o.get("type") != "null"), defs)
    kind = s.get("type")
    if kind == "integer":
        return max(1, s.get("minimum", 1), s.get("exclusiveMinimum", 0) + 1)
    if kind == "number":
        return 0.1
    if kind == "boolean":
        return True
    if kind == "array":
        return [example_value(field, s.get("items", {}), defs)]
    if kind == "object":
        return {}
    return "x"


def minimal(d: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """The required fields of an object, with plausible values: its example."""
    props = d.get("properties", {})
    out: dict[str, Any] = {}
    if "type" in props and "const" in props["type"]:
        out["type"] = props["type"]["const"]
    for field in d.get("required", []):
        if field != "type":
            out[field] = example_value(field, props.get(field, {}), defs)
    return out


def valid_example(group: str, d: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """The minimal example, with one optional field added where a rule across fields asks
    for it (maxout needs ``units`` or ``filters``): the first that the spec model accepts."""
    from archspec.spec import Spec

    first = minimal(d, defs)
    props = d.get("properties", {})
    tries = [first] + [
        {**first, field: EXAMPLE_VALUES[field]}
        for field in props
        if field not in first and field in EXAMPLE_VALUES and field != "inputs"
    ]
    base = {"archspec": 1, "name": "x", "input": {"shape": [8, 8, 3]}}
    for example in tries:
        if group == "layers":
            doc = {**base, "blocks": BLOCKS, "layers": [example]}
        else:
            doc = {**base, "layers": [{"type": "flatten"}], "augment": [example]}
        try:
            Spec.model_validate(doc)
        except ValueError:
            continue
        return example
    return first


BLOCKS = {"double": {"args": {}, "layers": [{"type": "flatten"}]}}
"""The block that ``type: block`` examples use."""


def flow(value: Any) -> str:
    """YAML flow style, one line, as the specs in specs/ are written."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.\-]*", value):
        return json.dumps(value)
    return str(value)


def kinds(s: dict[str, Any]) -> dict[str, str]:
    """Discriminator value -> definition name, from a list-of-kinds field or a union."""
    items = s.get("items", s)
    for option in [items, *items.get("anyOf", [])]:
        mapping = option.get("discriminator", {}).get("mapping")
        if mapping:
            return {k: _ref_name(v) for k, v in sorted(mapping.items())}
    return {}


def section(
    title: str,
    d: dict[str, Any],
    defs: dict[str, Any],
    titles: dict[str, str],
    known: dict,
    example: str | None = None,
    group: str | None = None,
) -> list[str]:
    out = [f"### {title}", ""]
    if d.get("description"):
        out += [" ".join(d["description"].split()), ""]
    props = d.get("properties", {})
    if props:
        out += ["| field | type | default | meaning |", "|---|---|---|---|"]
        required = set(d.get("required", []))
        for field, s in props.items():
            meaning = " ".join((s.get("description") or known.get(field) or "—").split())
            cells = [
                f"`{field}`",
                type_text(s, titles),
                default_text(field, s, field in required),
                meaning.replace("|", "\\|"),
            ]
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
        if example is None:
            example = flow(valid_example(group, d, defs) if group else minimal(d, defs))
        out += ["```yaml", example, "```", ""]
    return out


def render() -> str:
    s = schema()
    defs = s["$defs"]
    known = meanings(defs)
    groups = [
        ("Layers", "layers", kinds(s["properties"]["layers"])),
        ("Augmentation", "augment", kinds(s["properties"]["augment"])),
    ]
    titles: dict[str, str] = {}
    for _, _, mapping in groups:
        for kind, name in mapping.items():
            titles[name] = f"`{kind}`"
    for name, d in defs.items():
        for field, fs in d.get("properties", {}).items():
            mapping = kinds(fs)
            if mapping and name not in titles and field != "layers":
                for kind, ref in mapping.items():
                    titles.setdefault(ref, f"`{kind}` ({field})")
    for name in defs:
        titles.setdefault(name, name)

    lines = [
        "<!-- generated by scripts/spec_reference.py from the JSON Schema; do not edit by hand -->",
        "",
        "# The spec language",
        "",
        "Every key a spec file may hold, generated from the JSON Schema that `archspec schema`",
        "prints. Sizes and counts accept an *expression* wherever the type says so: an integer, a",
        "name from `params:`, a free size, or arithmetic over them (`2*width`, `H//2`,",
        "`min(a, b)`). Unknown keys are errors.",
        "",
        "## Top level",
        "",
    ]
    top = {k: v for k, v in s.items() if k != "$defs"}
    lines += section("Spec file", top, defs, titles, {**known, "name": TOP_NAME}, TOP_EXAMPLE)
    shown: set[str] = set()
    for heading, group, mapping in groups:
        lines += [f"## {heading}", ""]
        lines += [", ".join(f"[`{k}`](#{anchor(titles[n])})" for k, n in mapping.items()), ""]
        for name in mapping.values():
            lines += section(titles[name], defs[name], defs, titles, known, group=group)
            shown.add(name)
    lines += ["## Other objects", ""]
    for name in sorted(defs):
        if name not in shown:
            lines += section(titles[name], defs[name], defs, titles, known)
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if OUTPUT.exists() and OUTPUT.read_text() == text:
            return 0
        print(f"{OUTPUT} is stale; run python scripts/spec_reference.py", file=sys.stderr)
        return 1
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
