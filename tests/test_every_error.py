"""Every independent mistake of a spec in one run, each where it stands, in file order."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from archspec.cli import cli

FIVE = """\
archspec: 1
name: five
input: {shape: [32, 32, 3]}
params: {width: 8, wide: "2*widht"}
blocks:
  double:
    args: {filters: int}
    layers:
      - {name: a, type: conv2d, filters: filters, kernel: 3, padding: same}
layers:
  - {name: c1, type: conv2d, filters: k, kernel: 3}
  - {name: s1, type: block, block: double, args: {filters: "2*q"}}
  - {name: c1, type: conv2d, filters: 8, kernel: 3}
  - {name: m, type: add, inputs: [c1, nope]}
  - {type: flatten}
  - {name: out, type: dense, units: classes}
"""


def check(tmp_path: Path, text: str) -> tuple[int, list[dict]]:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    result = CliRunner().invoke(cli, ["check", "--format", "json", str(path)])
    return result.exit_code, json.loads(result.output)["diagnostics"]


def test_independent_mistakes_come_out_together_in_file_order(tmp_path: Path) -> None:
    code, found = check(tmp_path, FIVE)
    assert code == 1
    where = [(d["path"], d["code"]) for d in found if d["severity"] == "error"]
    assert where == [
        ("params.wide", "bad-expression"),  # widht
        ("layers[0].filters", "bad-expression"),  # k
        ("layers[1].args.filters", "bad-expression"),  # q
        ("layers[2].name", "duplicate-name"),
        ("layers[3].inputs[1]", "unknown-input"),
        ("layers[5].units", "bad-expression"),  # classes, after the layers that failed
    ], found
    lines = [d["line"] for d in found]
    assert lines == sorted(lines)


def test_the_same_mistakes_with_the_params_right(tmp_path: Path) -> None:
    """With every name bound, the analysis itself walks past the broken layers."""
    _, found = check(tmp_path, FIVE.replace('"2*widht"', "16"))
    paths = [d["path"] for d in found if d["severity"] == "error"]
    assert paths == [
        "layers[0].filters",
        "layers[1].args.filters",
        "layers[2].name",
        "layers[3].inputs[1]",
        "layers[5].units",
    ], found


def test_every_bad_param_at_once(tmp_path: Path) -> None:
    text = FIVE.replace('wide: "2*widht"', 'wide: "2*widht", deep: "depht + 1", ok: "wide"')
    _, found = check(tmp_path, text)
    params = [d["path"] for d in found if d["path"].startswith("params")]
    assert params == ["params.wide", "params.deep"]  # 'ok' uses a broken param: said once


def test_a_block_argument_of_the_wrong_type_is_reported_at_the_argument(tmp_path: Path) -> None:
    text = FIVE.replace('"2*widht"', "16").replace('{filters: "2*q"}', "{filters: [1, 2]}")
    _, found = check(tmp_path, text)
    assert [d["path"] for d in found] == ["layers[1].args.filters"], found


UNSATISFIABLE = """\
archspec: 1
name: grids
input: {shape: [H, 32, 3]}
layers:
  - {name: pa, type: max_pool2d, pool: 2, inputs: [input]}
  - {name: sc, type: conv2d, filters: 3, kernel: 3, strides: 2, padding: same, inputs: [input]}
  - {name: even, type: concatenate, inputs: [pa, sc]}
  - {name: crop, type: cropping2d, cropping: [[1, 0], [0, 0]], inputs: [input]}
  - {name: pc, type: max_pool2d, pool: 2, inputs: [crop]}
  - {name: odd, type: concatenate, inputs: [pa, pc]}
  - {name: out, type: concatenate, inputs: [even, odd]}
"""


def test_no_valid_size_names_the_layers_whose_conditions_conflict(tmp_path: Path) -> None:
    """'even' needs H even, 'odd' needs H odd: those two are named, at the later one."""
    _, found = check(tmp_path, UNSATISFIABLE)
    error = next(d for d in found if d["code"] == "no-valid-size")
    assert "'even', 'odd'" in error["message"], error
    assert "floor(H/2) == ceil(H/2)" in error["message"]
    assert error["path"].startswith("layers[5]"), error
    assert "shrink the input the most" not in (error.get("hint") or "")
