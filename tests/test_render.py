"""Reports: golden text and Markdown, the JSON contract, symbolic reports, folding, the CLI.

Golden files live in tests/golden/; after an intended change of the output, regenerate them with
``ARCHSPEC_UPDATE_GOLDEN=1 pytest tests/test_render.py`` and review the diff.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from tiers import spec_params

import archspec
from archspec import render
from archspec.report_commands import report as report_command

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
GOLDEN = Path(__file__).parent / "golden"
SCHEMA = json.loads((ROOT / "docs" / "report-schema.json").read_text())
SPEC_FILES = sorted((ROOT / "specs").glob("*.yaml"))
REPORT_DATA = sorted(DATA.glob("report_*.yaml"))
SYMBOLIC = DATA / "report_symbolic.yaml"
BLOCKS = DATA / "report_blocks.yaml"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("ARCHSPEC_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        return
    assert path.exists(), f"{path} is missing; run with ARCHSPEC_UPDATE_GOLDEN=1 to create it"
    assert text == path.read_text(), (
        f"{name} differs from the golden file; if the change is intended, rerun with "
        "ARCHSPEC_UPDATE_GOLDEN=1 and review the diff"
    )


@pytest.fixture(scope="module")
def lecture() -> archspec.Report:
    return archspec.analyze(archspec.load(ROOT / "specs" / "lecture_net.yaml"))


@pytest.fixture(scope="module")
def symbolic() -> archspec.Report:
    return archspec.analyze(archspec.load(SYMBOLIC))


# -- golden files --------------------------------------------------------------------------------
def test_lecture_net_text_golden(lecture: archspec.Report) -> None:
    check_golden("lecture_net.txt", lecture.to_text())


def test_lecture_net_markdown_golden(lecture: archspec.Report) -> None:
    check_golden("lecture_net.md", lecture.to_markdown())


def test_lecture_net_numbers_are_the_lectures(lecture: archspec.Report) -> None:
    """worked-examples section 4: 24x24x20, 12x12x20, 8x8x20, 4x4x20, 320, 1024, 10."""
    text = lecture.to_text()
    for shape in ("(24, 24, 20)", "(12, 12, 20)", "(8, 8, 20)", "(4, 4, 20)", "(320,)"):
        assert shape in text
    assert "349,494" in text  # 520 + 10,020 + 328,704 + 10,250


# -- units ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (999, "999"),
        (1000, "1.00K"),
        (1234, "1.23K"),
        (416_520, "417K"),
        (999_999, "1.00M"),
        (1_265_920, "1.27M"),
        (15_500_000_000, "15.5G"),
    ],
)
def test_short_counts(value: int, text: str) -> None:
    assert render.short_count(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (40, "40 B"),
        (1023, "1023 B"),
        (1024, "1.00 KB"),
        (69_416, "67.8 KB"),
        (1_397_976, "1.33 MB"),
        (3 * 1024**3, "3.00 GB"),
    ],
)
def test_short_bytes(value: int, text: str) -> None:
    assert render.short_bytes(value) == text


def test_thousands_separators() -> None:
    assert render.exact_text(138_357_544) == "138,357,544"


# -- every spec ----------------------------------------------------------------------------------
@pytest.mark.parametrize("path", spec_params(SPEC_FILES + REPORT_DATA))
def test_json_validates_against_the_documented_schema(path: Path) -> None:
    report = archspec.analyze(archspec.load(path))
    document = json.loads(report.to_json())
    jsonschema.validate(document, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert document["schema_version"] == 1
    assert document["totals"]["flops"] == (
        2 * document["totals"]["macs"]
        if isinstance(document["totals"]["macs"], int)
        else document["totals"]["flops"]
    )


@pytest.mark.parametrize("path", spec_params(SPEC_FILES + REPORT_DATA))
def test_text_fits_80_columns(path: Path) -> None:
    report = archspec.analyze(archspec.load(path))
    for text in (report.to_text(), report.to_text(formulas=True), report.to_text(depth=0)):
        assert max(len(line) for line in text.splitlines()) <= 80
        assert "\u2026" not in text  # rich's ellipsis: nothing was cut
    table = report.to_text(depth=0).split("\n\n")[0]
    for row in render.display_rows(report, depth=0):
        if render.concrete(row.params) is not None:
            assert f" {render.exact_text(row.params)} " in table


def test_schema_is_a_valid_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_json_keys_required_by_the_contract(lecture: archspec.Report) -> None:
    document = lecture.to_dict()
    assert {
        "schema_version",
        "spec",
        "input",
        "layers",
        "totals",
        "valid_inputs",
        "diagnostics",
    } <= document.keys()
    for layer in document["layers"]:
        assert {
            "name",
            "type",
            "inputs",
            "output_shape",
            "params",
            "trainable_params",
            "non_trainable_params",
            "receptive_field",
            "jump",
            "start",
            "macs",
            "activation_elements",
        } <= layer.keys()
    assert {"params", "trainable_params", "non_trainable_params", "macs"} <= (
        document["totals"].keys()
    )


# -- symbolic reports ----------------------------------------------------------------------------
def test_symbolic_report_shows_expressions(symbolic: archspec.Report) -> None:
    text = symbolic.to_text()
    assert "(H - 2, W - 2, 8)" in text
    assert "floor(H/2) - 1" in text
    assert "MACs 216*(H - 2)*(W - 2)" in text
    document = symbolic.to_dict()
    assert document["layers"][0]["output_shape"] == ["H - 2", "W - 2", 8]
    assert document["valid_inputs"]["H"]["minimum"] >= 4
    markdown = symbolic.to_markdown()
    assert "`(H - 2, W - 2, 8)`" in markdown


def test_nested_floors_print_flat() -> None:
    """Four 2x2 poolings print as floor(H/16), not four nested floors (same value)."""
    report = archspec.analyze(archspec.load(DATA / "unet4.yaml"))
    assert "floor(H/16)" in report.to_text()
    shapes = json.dumps([layer["output_shape"] for layer in report.to_dict()["layers"]])
    assert "floor(floor(" not in shapes and "floor(H/16)" in shapes


@pytest.mark.slow
@given(st.integers(1, 10_000), st.integers(1, 9), st.integers(1, 9), st.integers(1, 9))
def test_flattened_floors_keep_their_value(h: int, a: int, b: int, c: int) -> None:
    import sympy

    from archspec.symbols import symbol

    H = symbol("H")
    nested = sympy.floor(sympy.floor(sympy.floor(H / a) / b) / c) + sympy.ceiling(
        sympy.ceiling(H / b) / c
    )
    flat = sympy.sympify(render.expression_text(nested), locals={"H": H})
    assert nested.xreplace({H: h}) == flat.xreplace({H: h})


def _numbers(report: archspec.Report) -> dict:
    """The report without what legitimately differs: diagnostics and the formulas' text."""
    document = report.to_dict()
    document.pop("diagnostics")
    for layer in document["layers"]:
        layer.pop("formulas")
    return document


def _without_diagnostics(report: archspec.Report) -> archspec.Report:
    from dataclasses import replace

    return replace(report, diagnostics=[])


@given(data=st.data())
def test_sizes_put_in_equal_the_concrete_report(symbolic: archspec.Report, data) -> None:
    """analyze(spec).at(H=h, W=w) renders exactly as analyze(spec, H=h, W=w), for valid h, w."""
    sizes = {
        name: data.draw(
            st.integers(valid.minimum, 300).filter(lambda n, v=valid: n in v), label=name
        )
        for name, valid in symbolic.valid_inputs.items()
    }
    put_in = symbolic.at(**sizes)
    concrete = archspec.analyze(archspec.load(SYMBOLIC), **sizes)
    assert _numbers(put_in) == _numbers(concrete)
    assert _without_diagnostics(put_in).to_text() == _without_diagnostics(concrete).to_text()
    assert (
        _without_diagnostics(put_in).to_markdown() == _without_diagnostics(concrete).to_markdown()
    )


def test_putting_in_an_invalid_size_is_refused(symbolic: archspec.Report) -> None:
    with pytest.raises(ValueError, match="not a valid input size"):
        symbolic.at(H=3, W=32)


# -- folding by depth ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def blocks() -> archspec.Report:
    return archspec.analyze(archspec.load(BLOCKS))


def test_depth_zero_folds_every_block_use(blocks: archspec.Report) -> None:
    rows = render.display_rows(blocks, depth=0)
    assert [r.name for r in rows] == ["stem", "s1", "s2.1", "s2.2", "gap", "out"]
    s1 = rows[1]
    assert s1.layers == 7
    assert s1.output_shape == blocks.layer("s1.pool").output_shape
    assert s1.receptive_field == blocks.layer("s1.pool").receptive_field


def test_depth_one_keeps_a_level(blocks: archspec.Report) -> None:
    names = [r.name for r in render.display_rows(blocks, depth=1)]
    assert names[:4] == ["stem", "s1.u.1", "s1.u.2", "s1.pool"]


@pytest.mark.parametrize("depth", [None, 0, 1, 2, 3])
def test_folded_rows_sum_to_the_totals(blocks: archspec.Report, depth: int | None) -> None:
    rows = render.display_rows(blocks, depth)
    totals = blocks.totals
    assert sum(r.trainable_params for r in rows) == totals.trainable_params
    assert sum(r.non_trainable_params for r in rows) == totals.non_trainable_params
    assert sum(r.macs for r in rows) == totals.macs
    assert sum(r.activation_elements for r in rows) == totals.activation_elements
    assert sum(r.layers for r in rows) == len(blocks.layers)


def test_non_trainable_column_only_when_something_is_frozen(
    blocks: archspec.Report, lecture: archspec.Report
) -> None:
    wide = blocks.to_text(width=200)
    assert "non-trainable" in wide and "frozen" not in wide
    assert "non-trainable" in blocks.to_markdown() and "non-trainable" in blocks.to_html()
    assert "non-" not in _table_lines(lecture.to_text())[1]


def _table_lines(text: str) -> list[str]:
    return text.split("\n\n", 1)[0].splitlines()


def kernels_wide(name: str) -> bool:
    """Networks whose table with every optional column is wider than 80 even at its narrowest
    (long dotted names, non-trainable weights): there lines grow rather than words break."""
    return name in ("resnet18", "mobilenet_v2", "unet")


@pytest.mark.parametrize("width", [40, 60, 80, 100, 140])
@pytest.mark.parametrize("name", ["lenet5", "resnet18", "unet", "mobilenet_v2"])
def test_text_fits_the_width_and_never_breaks_a_word(width: int, name: str) -> None:
    report = archspec.analyze(archspec.load(ROOT / "specs" / f"{name}.yaml"))
    for depth in (None, 0):
        text = report.to_text(width=width, depth=depth, kernels=True)
        table = _table_lines(text)
        if width >= 100 or (width >= 80 and not kernels_wide(name)):  # else lines grow
            assert all(len(line) <= width for line in table), (width, name)
        # a cell breaks at spaces, or after a dot of a dotted name: never inside a piece
        pieces = {p for line in table for w in line.split() for p in re.split(r"(?<=\.)", w)}
        for r in render.display_rows(report, depth):
            for whole in (render.layer_label(r), render.shape_text(r.output_shape)):
                for word in whole.split():
                    for piece in re.split(r"(?<=\.)", word):
                        assert piece in pieces, (piece, width, name)


def test_columns_env_is_honoured_when_piped(monkeypatch: pytest.MonkeyPatch) -> None:
    from archspec.report_commands import _width

    monkeypatch.setenv("COLUMNS", "132")
    assert _width() == 132
    monkeypatch.setenv("COLUMNS", "banana")
    assert _width() == 80  # CliRunner's output is not a terminal
    monkeypatch.delenv("COLUMNS")
    assert _width() == 80


def test_graphs_get_a_connected_to_column_and_chains_do_not(lecture: archspec.Report) -> None:
    unet = archspec.analyze(archspec.load(ROOT / "specs" / "unet.yaml"))
    text = unet.to_text(width=160)
    assert "connected to" in text
    row = next(line for line in text.splitlines() if line.split()[1:2] == ["skip4"])
    assert "enc4.conv2, up4" in row or "enc4, up4" in row, row
    assert "| connected to |" in unet.to_markdown() and "<th>connected to</th>" in unet.to_html()
    assert "connected to" not in lecture.to_text()


def test_kernel_stride_column_reads_the_resolved_arguments(lecture: archspec.Report) -> None:
    lenet = archspec.analyze(archspec.load(ROOT / "specs" / "lenet5.yaml"))
    text = lenet.to_text(kernels=True, width=120)
    assert "kernel/stride" in text
    rows = {line.split()[1]: line for line in _table_lines(text)[3:]}
    assert " 5/1 " in rows["c1"] and " 2/2 " in rows["s2"] and " - " in rows["f5"]
    assert "kernel/stride" not in lecture.to_text()


def test_one_axis_shapes_keep_their_comma(lecture: archspec.Report) -> None:
    assert "(64,)" in render.shape_text((64,))
    assert any("(10,)" in line for line in lecture.to_text().splitlines())


def test_input_on_a_symbolic_spec_still_states_the_valid_set() -> None:
    result = CliRunner().invoke(report_command, [str(SYMBOLIC), "--input", "H=32,W=40"])
    assert result.exit_code == 0, result.output
    line = next(x for x in result.output.splitlines() if x.startswith("Valid input"))
    assert "H >= " in line and "given H=32" in line and "given W=40" in line, line


def test_report_shows_itself_as_html_in_a_notebook(blocks: archspec.Report) -> None:
    html = blocks._repr_html_()
    assert html.count("<table>") == 1 and "<html" not in html
    assert "<th>non-trainable</th>" in html and "s2.2.pool" in html


# -- other formats -------------------------------------------------------------------------------
def test_markdown_table_is_well_formed(blocks: archspec.Report) -> None:
    for depth in (None, 0):
        table = [
            line
            for line in blocks.to_markdown(depth=depth, formulas=True).splitlines()
            if line.startswith("|")
        ]
        widths = {line.replace("\\|", "").count("|") for line in table}
        assert len(widths) == 1


def test_csv_has_one_row_per_layer(symbolic: archspec.Report) -> None:
    rows = list(csv.DictReader(io.StringIO(symbolic.to_csv())))
    assert [r["name"] for r in rows] == [r.name for r in symbolic.layers]
    assert rows[0]["macs"] == "216*(H - 2)*(W - 2)"
    assert rows[1]["non_trainable_params"] == "16"


def test_html_is_escaped_and_balanced(blocks: archspec.Report) -> None:
    class Counter(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.open: list[str] = []
            self.rows = 0

        def handle_starttag(self, tag: str, attrs: list) -> None:
            if tag in ("table", "tr", "td", "th", "dl"):
                self.open.append(tag)
            self.rows += tag == "tr"

        def handle_endtag(self, tag: str) -> None:
            if tag in ("table", "tr", "td", "th", "dl"):
                assert self.open.pop() == tag

    parser = Counter()
    parser.feed(blocks.to_html(formulas=True))
    assert parser.open == []
    assert parser.rows == len(blocks.layers) + 1


def test_formulas_are_shown_on_request(lecture: archspec.Report) -> None:
    assert "axis 0: floor((28 - 5)/1) + 1 = 24" in lecture.to_text(formulas=True)
    assert "floor((28 - 5)/1)" not in lecture.to_text()


def test_training_estimate_follows_the_batch(lecture: archspec.Report) -> None:
    totals = lecture.totals
    weights = totals.params * 4
    assert lecture.to_dict(batch_size=8)["totals"]["training"]["bytes"] == (
        4 * weights + 8 * totals.activation_elements * 4
    )
    assert "Training, batch 8" in lecture.to_text(batch_size=8)


def test_a_global_output_names_the_last_spatial_field(lecture: archspec.Report) -> None:
    text = render.output_field_text(lecture)
    assert text.startswith("global") and "pool2: 16x16, jump 4x4" in text


# -- the command ---------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["text", "markdown", "json", "csv", "html"])
def test_command_formats(fmt: str) -> None:
    result = CliRunner().invoke(
        report_command, [str(SYMBOLIC), "--format", fmt, "--input", "H=32,W=32", "--depth", "0"]
    )
    assert result.exit_code == 0, result.output
    if fmt == "json":
        document = json.loads(result.stdout)
        jsonschema.validate(document, SCHEMA, cls=jsonschema.Draft202012Validator)
        assert document["input"]["shape"] == [32, 32, 3]


def test_command_json_equals_the_api() -> None:
    result = CliRunner().invoke(
        report_command, [str(SYMBOLIC), "--format", "json", "--batch", "64"]
    )
    assert json.loads(result.stdout) == archspec.analyze(archspec.load(SYMBOLIC)).to_dict(64)


def test_command_text_equals_the_api(lecture: archspec.Report) -> None:
    result = CliRunner().invoke(report_command, [str(ROOT / "specs" / "lecture_net.yaml")])
    assert result.exit_code == 0
    assert result.stdout == lecture.to_text()


def test_invalid_spec_prints_diagnostics_not_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "archspec: 1\nname: bad\ninput: {shape: [4, 4, 1]}\n"
        "layers:\n  - {name: c, type: conv2d, filters: 2, kernel: 5}\n"
    )
    result = CliRunner().invoke(report_command, [str(bad)])
    assert result.exit_code == 1
    assert "bad.yaml" in result.stderr and "error" in result.stderr
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)


def test_missing_file_exits_1_without_a_traceback(tmp_path: Path) -> None:
    """A spec that cannot be read fails as an invalid one does (1), in every command; 2 is for
    a misused command line (README, exit codes)."""
    result = CliRunner().invoke(report_command, [str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)


def test_bad_input_is_a_usage_error() -> None:
    result = CliRunner().invoke(report_command, [str(SYMBOLIC), "--input", "H=abc"])
    assert result.exit_code == 2


def test_importing_the_renderers_stays_light() -> None:
    code = (
        "import sys, archspec.render, archspec.diff, archspec.diagram, "
        "archspec.report_commands; "
        "bad = [m for m in ('rich', 'sympy', 'tensorflow', 'keras') if m in sys.modules]; "
        "sys.exit(str(bad) if bad else 0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_fractions_are_exact_text() -> None:
    from fractions import Fraction

    from archspec.report import to_jsonable

    assert to_jsonable([Fraction(5, 2), Fraction(4, 2), 3]) == ["5/2", 2, 3]
    assert render.exact_text(Fraction(1, 2)) == "1/2"


def test_expressions_keep_their_commas() -> None:
    import sympy

    from archspec.symbols import symbol

    H = symbol("H")
    assert render.shape_text((sympy.Max(H - 4, 1), 1024, 3)) == "(max(1, H - 4), 1024, 3)"
    assert render.axes_text([sympy.Min(H, 7), 3]) == "(min(7, H))x3"


def test_renderers_do_not_import_the_report_module() -> None:
    """The report imports its views; the views read a Report only as a type (no cycle)."""
    import ast

    for path in sorted((ROOT / "archspec" / "render").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:  # top-level statements; `if TYPE_CHECKING:` blocks are skipped
            if isinstance(node, ast.ImportFrom):
                assert node.module not in ("report", "archspec.report"), path.name
