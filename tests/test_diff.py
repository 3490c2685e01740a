"""Spec diffs: added and removed layers, a changed kernel rippling downstream, the command."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import archspec
from archspec.diff import delta, diff_reports
from archspec.report_commands import diff as diff_command

ROOT = Path(__file__).resolve().parent.parent
LECTURE = ROOT / "specs" / "lecture_net.yaml"


def lecture_dict() -> dict[str, Any]:
    return yaml.safe_load(LECTURE.read_text())


def analysed(data: dict[str, Any]) -> archspec.Report:
    return archspec.analyze(archspec.from_dict(data))


def with_layer(data: dict[str, Any], index: int, layer: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    out["layers"].insert(index, layer)
    return out


def test_identical_specs_have_no_differences() -> None:
    report = analysed(lecture_dict())
    d = diff_reports(report, report)
    assert d.is_empty
    assert "no differences" in d.to_text()
    assert "No differences" in d.to_markdown()


def test_added_layer() -> None:
    old = lecture_dict()
    new = with_layer(old, 3, {"name": "bn", "type": "batch_norm"})
    d = diff_reports(analysed(old), analysed(new))
    assert [r.name for r in d.added] == ["bn"]
    assert d.removed == []
    # batch norm keeps shapes: only pool2's input changes downstream
    assert [c.name for c in d.changed] == ["pool2"]
    assert [(c.what, c.old, c.new) for c in d.changed[0].changes] == [("inputs", "conv2", "bn")]
    totals = {c.what: c for c in d.totals}
    assert totals["params"].old == "349,494" and totals["params"].new == "349,574"
    assert totals["non-trainable"].delta == "+40"
    text = d.to_text()
    assert "+ bn (batch_norm) (8, 8, 20), 80 params" in text
    assert "1 layer(s) added, 0 removed, 1 changed" in text


def test_removed_layer() -> None:
    new = lecture_dict()
    old = with_layer(new, 5, {"name": "drop", "type": "dropout", "rate": 0.5})
    d = diff_reports(analysed(old), analysed(new))
    assert [r.name for r in d.removed] == ["drop"]
    assert "- drop (dropout)" in d.to_text()


def test_changed_kernel_ripples_downstream() -> None:
    old = lecture_dict()
    new = copy.deepcopy(old)
    new["layers"][0]["kernel"] = 3
    d = diff_reports(analysed(old), analysed(new))
    assert d.added == [] and d.removed == []
    conv1 = d.changed[0]
    assert conv1.name == "conv1"
    changes = {c.what: c for c in conv1.changes}
    assert (changes["output"].old, changes["output"].new) == ("(24, 24, 20)", "(26, 26, 20)")
    assert (changes["params"].old, changes["params"].new) == ("520", "200")
    assert changes["params"].delta == "-320, -61.5%"
    assert (changes["RF"].old, changes["RF"].new) == ("5x5", "3x3")
    assert "MACs" in changes
    changed = [c.name for c in d.changed]
    assert changed[:4] == ["conv1", "pool1", "conv2", "pool2"]
    # 26 -> 13 -> 9 -> 4: flatten still sees 320 values, so the dense layers do not change
    assert "fc" not in changed
    totals = {c.what for c in d.totals}
    assert {"params", "MACs", "output receptive field"} <= totals


def test_markdown_tables_are_well_formed() -> None:
    old = lecture_dict()
    new = with_layer(old, 3, {"name": "bn", "type": "batch_norm"})
    new["layers"][0]["kernel"] = 3
    markdown = diff_reports(analysed(old), analysed(new)).to_markdown()
    assert markdown.startswith("### archspec diff:")
    tables: list[list[str]] = [[]]
    for line in markdown.splitlines():
        if line.startswith("|"):
            tables[-1].append(line)
        elif tables[-1]:
            tables.append([])
    tables = [t for t in tables if t]
    assert len(tables) == 3  # totals, added/removed, changed
    for table in tables:
        assert len({line.replace("\\|", "").count("|") for line in table}) == 1


@pytest.mark.parametrize(
    ("old", "new", "text"),
    [(100, 150, "+50, +50.0%"), (150, 100, "-50, -33.3%"), (0, 7, "+7"), (5, 5, "")],
)
def test_delta(old: int, new: int, text: str) -> None:
    assert delta(old, new) == text


def test_symbolic_values_have_no_numeric_delta() -> None:
    import sympy

    from archspec.symbols import symbol

    H = symbol("H")
    assert delta(2 * H, 3 * H) == ""
    assert delta(sympy.Integer(4), 6) == "+2, +50.0%"


# -- the command ---------------------------------------------------------------------------------
def write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_command(tmp_path: Path, fmt: str) -> None:
    old = lecture_dict()
    new = copy.deepcopy(old)
    new["layers"][2]["filters"] = 40
    result = CliRunner().invoke(
        diff_command,
        [
            str(write(tmp_path / "old.yaml", old)),
            str(write(tmp_path / "new.yaml", new)),
            "--format",
            fmt,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "conv2" in result.stdout
    assert "20,040" in result.stdout  # conv2's params: 5*5*20*40 + 40


def test_command_with_sizes(tmp_path: Path) -> None:
    spec = ROOT / "tests" / "data" / "report_symbolic.yaml"
    result = CliRunner().invoke(diff_command, [str(spec), str(spec), "--input", "H=32,W=32"])
    assert result.exit_code == 0
    assert "no differences" in result.stdout


def test_command_invalid_spec_exits_1(tmp_path: Path) -> None:
    bad = lecture_dict()
    bad["layers"][0]["kernel"] = 40
    result = CliRunner().invoke(
        diff_command, [str(LECTURE), str(write(tmp_path / "bad.yaml", bad))]
    )
    assert result.exit_code == 1
    assert "bad.yaml" in result.stderr
    assert isinstance(result.exception, SystemExit)


def test_receptive_field_total_is_short() -> None:
    old = lecture_dict()
    new = copy.deepcopy(old)
    new["layers"][0]["kernel"] = 3
    totals = {c.what: c for c in diff_reports(analysed(old), analysed(new)).totals}
    field = totals["output receptive field"]
    assert (field.old, field.new) == (
        "global (pool2: 16x16, jump 4x4)",
        "global (pool2: 14x14, jump 4x4)",
    )
