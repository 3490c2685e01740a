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


# -- what was written: every field, alone ------------------------------------------------------
from archspec.diff import _layer_keys, diff_specs  # noqa: E402

SPECS = sorted((ROOT / "specs").glob("*.yaml"))


def _changed(value: Any) -> Any:
    """A different value of the same kind, or None where there is no obvious one."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value / 2 if value else 0.5
    if isinstance(value, str):
        swaps = {"same": "valid", "valid": "same", "relu": "tanh", "softmax": "sigmoid"}
        return swaps.get(value)
    return None


def _single_field_cases() -> list[tuple[str, list[Any], Any]]:
    """(spec file, path into the data, new value) for every scalar field of every layer,
    of train and augment, of params and of input, in the example specs."""
    cases = []
    for path in SPECS:
        data = yaml.safe_load(path.read_text())
        for i, layer in enumerate(data["layers"]):
            for key, value in layer.items():
                if key not in ("name", "type", "block") and _changed(value) is not None:
                    cases.append((path.name, ["layers", i, key], _changed(value)))
        for section in ("train", "params"):
            for key, value in (data.get(section) or {}).items():
                if _changed(value) is not None:
                    cases.append((path.name, [section, key], _changed(value)))
        for i, entry in enumerate(data.get("augment") or []):
            for key, value in entry.items():
                if key != "type" and _changed(value) is not None:
                    cases.append((path.name, ["augment", i, key], _changed(value)))
        for i, size in enumerate(data["input"]["shape"]):
            if isinstance(size, int):
                cases.append((path.name, ["input", "shape", i], size + 1))
    return cases


CASES = _single_field_cases()


def _text_path(data: dict[str, Any], where: list[Any]) -> str:
    if where[0] == "layers":
        key = _layer_keys(data["layers"])[where[1]]
        return f"layers[{key}]." + ".".join(str(p) for p in where[2:])
    out = where[0]
    for part in where[1:]:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def test_the_case_table_covers_layers_train_augment_params_and_input() -> None:
    sections = {where[0] for _, where, _ in CASES}
    assert {"layers", "train", "augment", "params", "input"} <= sections
    specs = {f: yaml.safe_load((ROOT / "specs" / f).read_text()) for f in {c[0] for c in CASES}}
    kinds = {specs[f]["layers"][w[1]].get("type") for f, w, _ in CASES if w[0] == "layers"}
    assert len(kinds) >= 10


@pytest.mark.parametrize(("file", "where", "value"), CASES, ids=lambda x: str(x))
def test_one_written_change_is_reported_alone(file: str, where: list[Any], value: Any) -> None:
    data = yaml.safe_load((ROOT / "specs" / file).read_text())
    changed = copy.deepcopy(data)
    node = changed
    for part in where[:-1]:
        node = node[part]
    node[where[-1]] = value
    try:
        new = archspec.from_dict(changed)
    except archspec.SpecError:
        pytest.skip("the changed value is not a valid spec")
    old = archspec.from_dict(data)
    assert diff_specs(old, old) == []
    changes = diff_specs(old, new)
    assert [c.path for c in changes] == [_text_path(data, where)], changes
    assert changes[0].new != changes[0].old


def test_fields_that_move_no_shape_are_differences() -> None:
    """The issue's example: dropout rate, padding same -> 1, train and augment."""
    old = lecture_dict()
    new = copy.deepcopy(old)
    new["layers"].insert(5, {"name": "drop", "type": "dropout", "rate": 0.5})
    mid = copy.deepcopy(new)
    new["layers"][5]["rate"] = 0.3
    d = diff_reports(analysed(mid), analysed(new), archspec.from_dict(mid), archspec.from_dict(new))
    assert not d.is_empty and not d.changed and not d.totals
    assert [(c.group, c.path, c.old, c.new) for c in d.spec] == [
        ("layers", "layers[drop].rate", "0.5", "0.3")
    ]
    text = d.to_text()
    assert "layers[drop].rate: 0.5 -> 0.3" in text and "no differences" not in text


def test_writing_a_default_is_no_difference() -> None:
    old = lecture_dict()
    new = copy.deepcopy(old)
    new["layers"][0]["padding"] = "valid"
    new["layers"][0]["strides"] = 1
    a, b = archspec.from_dict(old), archspec.from_dict(new)
    d = diff_reports(analysed(old), analysed(new), a, b)
    assert d.is_empty, d.to_text()


def test_command_json_and_exit_code(tmp_path: Path) -> None:
    import json

    old = lecture_dict()
    new = copy.deepcopy(old)
    new["name"] = "lecture_net_b"
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(yaml.safe_dump(old))
    b.write_text(yaml.safe_dump(new))
    same = CliRunner().invoke(diff_command, [str(a), str(a), "--exit-code"])
    assert same.exit_code == 0 and "no differences" in same.output
    result = CliRunner().invoke(diff_command, [str(a), str(b), "--format", "json", "--exit-code"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["identical"] is False
    assert document["spec"] == [
        {"group": "name", "path": "name", "old": "lecture_net", "new": "lecture_net_b"}
    ]
