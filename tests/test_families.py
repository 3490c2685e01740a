"""Families of networks: exact rational params, rounding, sweeps and variants."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tiers import examples

import archspec

SCALED = """\
archspec: 1
name: scaled
input: {shape: [32, 32, 3]}
params: {width: 1.1, depth: 1.2}
blocks:
  b:
    args: {f: int}
    layers:
      - {type: conv2d, filters: f, kernel: 3, padding: same}
layers:
  - {name: stem, type: conv2d, filters: "make_divisible(32*width, 8)", kernel: 3}
  - {name: s, type: block, block: b, args: {f: "round_to(width*20, 8)"}, repeat: "ceil(depth*2)"}
"""


def test_rational_params_are_exact() -> None:
    spec = archspec.loads(SCALED)
    report = archspec.analyze(spec)
    assert report.ok, report.errors
    assert report.layer("stem").output_shape == (30, 30, 32)
    assert [r.name for r in report.layers][-1] == "s.3.conv2d_2"  # ceil(1.2 * 2) = 3 copies
    assert report.layer("s.1.conv2d").output_shape[-1] == 24  # round_to(22, 8)
    # 0.1 + 0.2 is 3/10 exactly, where floats give 0.30000000000000004
    tenths = archspec.loads(
        SCALED.replace("width: 1.1", "width: 0.1").replace("32*width", "(width + 0.2)*80")
    )
    assert archspec.analyze(tenths).layer("stem").output_shape[-1] == 24


@pytest.mark.parametrize(
    ("change", "where", "code"),
    [
        (
            ('filters: "make_divisible(32*width, 8)"', 'filters: "width*7"'),
            "layers[0].filters",
            "not-whole",
        ),
        (('repeat: "ceil(depth*2)"', 'repeat: "depth*2"'), "layers[1].repeat", "not-whole"),
        (("[32, 32, 3]", '["32*width", 32, 3]'), "input.shape[0]", "not-whole"),
    ],
)
def test_counts_must_end_whole(change: tuple[str, str], where: str, code: str) -> None:
    spec = archspec.loads(SCALED.replace(*change), "scaled.yaml")
    report = archspec.analyze(spec)
    [error] = report.errors
    assert error.code == code
    assert error.render().startswith("scaled.yaml:") and where in error.render()


def test_params_keep_the_decimal_written() -> None:
    spec = archspec.loads(SCALED)
    assert spec.params["width"] == "1.1"
    from archspec.expr import parse_expression

    assert parse_expression(spec.params["width"]).evaluate({}) == Fraction(11, 10)


UNET = Path(__file__).parent / "data" / "unet_depth.yaml"


def test_unet_sweep_marks_the_depths_pooling_does_not_divide() -> None:
    """Depths 1..7 at 224: 224 = 32 * 7, so exactly depths 6 and 7 fail, at the add."""
    rows = archspec.sweep(
        archspec.load(UNET), {"width": [8, 16], "depth": list(range(1, 8))}, {"H": 224, "W": 224}
    )
    assert len(rows) == 14
    for row in rows:
        divides = 224 % 2 ** row.point["depth"] == 0
        assert row.valid == divides, row
        if divides:
            assert row.params > 0 and row.macs > 0 and row.training_bytes > 0
        else:
            assert (row.layer, row.rule) == ("skip", "shape-mismatch")


def test_sweep_rows_equal_one_analysis_per_point() -> None:
    spec = archspec.load(UNET)
    for row in archspec.sweep(spec, {"depth": [2, 6], "H": [64, 96]}, {"W": 64}):
        report = archspec.analyze(
            spec.model_copy(update={"params": {**spec.params, "depth": row.point["depth"]}}),
            {"H": row.point["H"], "W": 64},
        )
        assert row.valid == report.ok
        if report.ok:
            assert row.params == report.totals.params and row.macs == report.totals.macs


def test_sweep_command_never_imports_tensorflow() -> None:
    """The CLI's JSON rows are the Python form's, and no Keras or TensorFlow is loaded."""
    code = (
        "import sys, json\n"
        "from archspec.cli import main\n"
        "sys.argv = ['archspec', 'sweep', sys.argv[1], '--param', 'width=8,16', "
        "'--param', 'depth=1..7', '--input', 'H=224,W=224', '--format', 'json']\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "assert not {'tensorflow', 'keras'} & set(sys.modules), 'imported'\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(UNET)], capture_output=True, text=True, check=True
    )
    rows = json.loads(out.stdout)
    python = archspec.sweep(
        archspec.load(UNET), {"width": [8, 16], "depth": list(range(1, 8))}, {"H": 224, "W": 224}
    )
    assert rows == [r.to_dict() for r in python]
    assert [r["point"]["depth"] for r in rows if not r["valid"]] == [6, 7, 6, 7]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "depth=3..1"], "low to high"),
        (["--param", "depth=a,b"], "integers or decimals"),
        (["--param", "nope=1,2"], "neither a param"),
    ],
)
def test_sweep_misuse_exits_2(args: list[str], message: str) -> None:
    from click.testing import CliRunner

    from archspec.cli import cli

    result = CliRunner().invoke(cli, ["sweep", str(UNET), *args])
    assert result.exit_code == 2 and message in result.output, result.output
    assert "Traceback" not in result.output


def test_sweep_without_params_is_the_spec_itself() -> None:
    result = _cli("sweep", str(UNET), "--input", "H=224,W=224")
    assert result.exit_code == 0 and result.output.splitlines()[-1] == "1 of 1 point(s) valid"
    bad = _cli("sweep", str(UNET), "--input", "H=100,W=100", "--param", "depth=3,4")
    assert bad.exit_code == 1 and "unet_depth.yaml:" in bad.output  # located, on stderr


def test_sweep_formats() -> None:
    from archspec.sweeps import to_csv, to_text

    rows = archspec.sweep(archspec.load(UNET), {"depth": [5, 6]}, {"H": 224, "W": 224})
    assert to_text(rows).splitlines()[-1] == "1 of 2 point(s) valid"
    csv_lines = to_csv(rows).splitlines()
    assert csv_lines[0].startswith("depth,valid,layer,rule,params")
    assert csv_lines[2].startswith("6,False,skip,shape-mismatch")


EFFICIENTNET = Path(__file__).resolve().parent.parent / "specs" / "efficientnet.yaml"
KERAS_TOTALS = {  # keras.applications.EfficientNetB0..B7; tests/test_efficientnet_family.py
    "b0": 5_330_571,
    "b1": 7_856_239,
    "b2": 9_177_569,
    "b3": 12_320_535,
    "b4": 19_466_823,
    "b5": 30_562_527,
    "b6": 43_265_143,
    "b7": 66_658_687,
}


def _cli(*args: str):  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from archspec.cli import cli

    return CliRunner().invoke(cli, list(args))


def test_variants_command_lists_the_family() -> None:
    result = _cli("variants", str(EFFICIENTNET), "--format", "json", "--batch", "8")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {r["variant"]: r["params"] for r in rows} == KERAS_TOTALS
    assert rows[3]["input"] == "(300, 300, 3)" and rows[3]["batch"] == 8
    assert all(r["valid_input"] == f"fixed input {r['input']}" for r in rows)
    text = _cli("variants", str(EFFICIENTNET)).output
    assert "66,658,687" in text and text.splitlines()[0].startswith("variant")
    for fmt, needle in [("markdown", "| b7 |"), ("csv", "b7,True"), ("html", "<td>b7</td>")]:
        out = _cli("variants", str(EFFICIENTNET), "--format", fmt)
        assert out.exit_code == 0 and needle in out.output, (fmt, out.output)


def test_report_and_variant() -> None:
    result = _cli("report", str(EFFICIENTNET), "--variant", "b3", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["totals"]["params"] == KERAS_TOTALS["b3"]
    assert data["input"]["shape"] == [300, 300, 3]
    wrong = _cli("report", str(EFFICIENTNET), "--variant", "b9")
    assert wrong.exit_code == 2 and "no variant 'b9'" in wrong.output


def test_a_variant_may_set_only_declared_params() -> None:
    text = SCALED + "variants:\n  big: {params: {widht: 2}}\n"
    with pytest.raises(archspec.SpecError) as info:
        archspec.loads(text, "v.yaml")
    rendered = "\n".join(d.render() for d in info.value.diagnostics)
    assert "did you mean 'width'" in rendered and "v.yaml" in rendered


def test_variants_of_a_spec_without_any() -> None:
    from archspec.variants import variant_rows

    [row] = variant_rows(archspec.loads(SCALED))
    assert row.name == "scaled" and row.ok


def test_repeat_zero_passes_the_input_through() -> None:
    spec = archspec.loads(SCALED.replace('repeat: "ceil(depth*2)"', 'repeat: "ceil(depth) - 2"'))
    report = archspec.analyze(spec)
    assert report.ok and [r.name for r in report.layers] == ["stem"]


TINY = """\
archspec: 1
name: tiny
input: {shape: [H, 16, 1]}
params: {k: 3, f: 4, m: 1.0}
layers:
  - {name: c1, type: conv2d, filters: "ceil(f*m)", kernel: k}
  - {name: p1, type: max_pool2d, pool: 2}
  - {name: c2, type: conv2d, filters: f, kernel: k}
"""


@settings(max_examples=examples(25), deadline=None)
@given(
    st.lists(st.integers(1, 9), min_size=1, max_size=3, unique=True),
    st.lists(st.sampled_from(["1.0", "1.5", "0.3"]), min_size=1, max_size=2, unique=True),
    st.integers(4, 40),
)
def test_every_sweep_row_is_the_analysis_of_its_point(ks, ms, h) -> None:
    """For any grid: valid exactly when the spec with those params is, with the same totals."""
    from archspec.sweeps import parse_values

    spec = archspec.loads(TINY)
    grid = {"k": ks, "m": parse_values(",".join(ms))}
    rows = archspec.sweep(spec, grid, {"H": h})
    assert len(rows) == len(ks) * len(grid["m"])
    for row in rows:
        params = {**spec.params, "k": row.point["k"], "m": str(row.point["m"])}
        report = archspec.analyze(spec.model_copy(update={"params": params}), {"H": h})
        assert row.valid == report.ok
        if report.ok:
            assert (row.params, row.macs) == (report.totals.params, report.totals.macs)
        else:
            assert (row.layer, row.rule) == (report.errors[0].layer, report.errors[0].code)
