"""docs/spec.md is generated from the schema (scripts/spec_reference.py): current, complete, and
every example in it a valid spec."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest
import yaml

import archspec
from archspec.spec import Spec

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "spec.md"


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "spec_reference", ROOT / "scripts" / "spec_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sections() -> dict[str, tuple[str, str]]:
    """Heading -> (table, example) for every ``###`` section of the reference."""
    out = {}
    for part in DOC.read_text().split("\n### ")[1:]:
        heading, _, body = part.partition("\n")
        example = re.search(r"```yaml\n(.*?)```", body, re.S)
        out[heading] = (body, example.group(1) if example else "")
    return out


def test_reference_is_current() -> None:
    assert script().render() == DOC.read_text(), (
        "docs/spec.md is stale: run python scripts/spec_reference.py"
    )


def test_every_kind_and_field_is_documented() -> None:
    schema = archspec.json_schema()
    found = sections()
    for group in ("layers", "augment"):
        mapping = schema["properties"][group]["items"]["discriminator"]["mapping"]
        for kind, ref in mapping.items():
            table, example = found[f"`{kind}`"]
            fields = schema["$defs"][ref.rsplit("/", 1)[-1]]["properties"]
            for field in fields:
                row = next(line for line in table.splitlines() if line.startswith(f"| `{field}`"))
                assert not row.endswith("| — |"), f"{kind}.{field} has no meaning"
            assert example.strip(), kind


BLOCKS = {"double": {"args": {}, "layers": [{"type": "flatten"}]}}
BASE = {"archspec": 1, "name": "x", "input": {"shape": [8, 8, 3]}}


def kinds(group: str) -> list[str]:
    return sorted(archspec.json_schema()["properties"][group]["items"]["discriminator"]["mapping"])


@pytest.mark.parametrize("kind", kinds("layers"))
def test_every_layer_example_is_valid(kind: str) -> None:
    value = yaml.safe_load(sections()[f"`{kind}`"][1])
    assert value["type"] == kind
    Spec.model_validate({**BASE, "blocks": BLOCKS, "layers": [value]})


@pytest.mark.parametrize("kind", kinds("augment"))
def test_every_augment_example_is_valid(kind: str) -> None:
    value = yaml.safe_load(sections()[f"`{kind}`"][1])
    assert value["type"] == kind
    Spec.model_validate({**BASE, "layers": [{"type": "flatten"}], "augment": [value]})


def test_the_whole_file_example_is_valid() -> None:
    archspec.analyze(archspec.loads(sections()["Spec file"][1]))


def test_readme_links_the_reference_and_its_example_has_params_train_augment() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "docs/spec.md" in readme
    example = readme.split("## The spec language", 1)[1].split("```yaml", 1)[1].split("```")[0]
    for key in ("params:", "train:", "augment:"):
        assert f"\n{key}" in "\n" + example, key
