"""The spec language as a data format: import hygiene, schema, and load/dump round trips."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from tiers import spec_params

import archspec
from archspec.cli import cli
from archspec.layers import LAYER_KINDS

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted((ROOT / "specs").glob("*.yaml"))


def test_import_leaves_tensorflow_and_keras_out() -> None:
    code = (
        "import sys, archspec, archspec.cli, archspec.engine, archspec.api\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'torch', 'jax') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""


def test_import_archspec_is_lazy_and_its_api_unchanged() -> None:
    """``import archspec`` loads no pydantic or yaml (module __getattr__); every public name is
    still there on first use, and ``from archspec import *`` brings them all."""
    code = (
        "import sys, archspec\n"
        "print(sorted({'pydantic', 'yaml', 'sympy', 'click'} & set(sys.modules)))\n"
        "from archspec import *\n"
        "missing = [n for n in archspec.__all__ if n not in globals()]\n"
        f"spec = archspec.load({str(ROOT / 'specs/lenet5.yaml')!r})\n"
        "print(missing, isinstance(spec, archspec.Spec), archspec.analyze(spec).totals.params)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split("\n")[:2] == ["[]", "[] True 61706"], out.stdout
    assert set(archspec.__all__) <= set(dir(archspec))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        archspec.nope  # noqa: B018


def test_checking_a_concrete_spec_does_not_import_sympy() -> None:
    code = (
        "import sys, archspec\n"
        f"archspec.analyze(archspec.load({str(ROOT / 'specs/lecture_net.yaml')!r}))\n"
        "print('sympy' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


@pytest.fixture(scope="module")
def schema() -> dict:
    result = CliRunner().invoke(cli, ["schema"])
    assert result.exit_code == 0
    return json.loads(result.output)


@pytest.fixture(scope="module")
def validator(schema: dict) -> jsonschema.protocols.Validator:
    """Checked against its meta-schema once, not once per spec."""
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


@pytest.mark.parametrize("path", spec_params(SPECS))
def test_every_spec_validates_against_the_schema(
    validator: jsonschema.protocols.Validator, path: Path
) -> None:
    validator.validate(archspec.load(path).source.data)


def test_schema_rejects_what_the_loader_rejects(schema: dict) -> None:
    bad = {
        "archspec": 1,
        "name": "x",
        "input": {"shape": [8, 8, 1]},
        "layers": [{"type": "conv2d", "filters": 4, "kernal": 3}],
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_schema_covers_every_layer_kind(schema: dict) -> None:
    text = json.dumps(schema)
    for kind in LAYER_KINDS:
        assert f'"{kind}"' in text


# -- round trips -----------------------------------------------------------------------------
sizes = st.integers(1, 7)
expr = st.one_of(sizes, st.sampled_from(["w", "2*w", "w//2 + 1", "max(w, 3)"]))
layers = st.one_of(
    st.fixed_dictionaries(
        {
            "type": st.just("conv2d"),
            "filters": expr,
            "kernel": st.one_of(sizes, st.lists(sizes, min_size=2, max_size=2)),
        },
        optional={
            "strides": sizes,
            "padding": st.one_of(
                st.sampled_from(["valid", "same"]),
                st.integers(0, 3),
                st.lists(
                    st.lists(st.integers(0, 2), min_size=2, max_size=2), min_size=2, max_size=2
                ),
            ),
            "dilation": sizes,
            "use_bias": st.booleans(),
            "activation": st.sampled_from(["relu", "tanh", "gelu"])
            | st.builds(lambda a: {"type": "leaky_relu", "alpha": a}, st.floats(0, 1)),
        },
    ),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["max_pool2d", "avg_pool2d"])},
        optional={"pool": sizes, "strides": sizes, "padding": st.sampled_from(["valid", "same"])},
    ),
    st.fixed_dictionaries({"type": st.just("dense"), "units": expr}),
    st.fixed_dictionaries({"type": st.just("dropout")}, optional={"rate": st.floats(0, 0.9)}),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["batch_norm", "flatten", "relu", "global_avg_pool2d"])}
    ),
    st.fixed_dictionaries(
        {"type": st.just("spp")},
        optional={"levels": st.lists(sizes, min_size=1, max_size=3, unique=True)},
    ),
)
specs = st.fixed_dictionaries(
    {
        "archspec": st.just(1),
        "name": st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
        "input": st.fixed_dictionaries(
            {"shape": st.lists(st.one_of(sizes, st.just("H")), min_size=3, max_size=3)}
        ),
        "params": st.fixed_dictionaries({"w": sizes}),
        "layers": st.lists(layers, min_size=1, max_size=6),
    },
    optional={
        "augment": st.lists(
            st.sampled_from([{"type": "random_flip"}, {"type": "random_rotation", "factor": 0.2}]),
            max_size=2,
        ),
        "train": st.fixed_dictionaries({"epochs": st.integers(1, 9)}),
    },
)


@given(specs)
def test_load_dump_load_is_identity(data: dict) -> None:
    spec = archspec.from_dict(data)
    text = archspec.dump(spec)
    again = archspec.loads(text, "roundtrip.yaml")
    assert again == spec
    assert archspec.loads(json.dumps(json.loads(json.dumps(data))), "x.json") == spec


def test_equal_specs_from_different_files(tmp_path: Path) -> None:
    text = (ROOT / "specs/lecture_net.yaml").read_text()
    (tmp_path / "copy.yaml").write_text(text)
    assert archspec.load(tmp_path / "copy.yaml") == archspec.load(ROOT / "specs/lecture_net.yaml")
