"""`archspec check` on broken specs: exit code 1, and each error points at the exact node."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from archspec.cli import cli

HEAD = """\
archspec: 1
name: t
input: {shape: [28, 28, 1]}
layers:
"""


def check(tmp_path: Path, body: str, *args: str, name: str = "spec.yaml") -> tuple[int, list]:
    path = tmp_path / name
    path.write_text(HEAD + textwrap.indent(textwrap.dedent(body), "  "))
    result = CliRunner().invoke(cli, ["check", "--format", "json", *args, str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)["diagnostics"]


def only(diagnostics: list, code: str) -> dict:
    found = [d for d in diagnostics if d["code"] == code]
    assert found, diagnostics
    return found[0]


def col(line: str, needle: str) -> int:
    return line.index(needle) + 1


def test_misspelt_key(tmp_path: Path) -> None:
    row = "  - {name: c1, type: conv2d, filters: 4, kernal: 3}\n"
    code, diags = check(tmp_path, row)
    assert code == 1
    d = only(diags, "unknown-key")
    assert (d["line"], d["column"]) == (5, col(row, "kernal"))
    assert d["path"] == "layers[0].kernal"
    assert d["hint"] == "did you mean 'kernel'?"
    assert d["file"].endswith("spec.yaml")


def test_unknown_layer_type(tmp_path: Path) -> None:
    body = """\
      - name: c1
        type: conv2d
        filters: 4
        kernel: 3
      - name: p1
        type: max_pol2d
    """
    code, diags = check(tmp_path, body)
    assert code == 1
    d = only(diags, "unknown-type")
    assert (d["line"], d["path"]) == (10, "layers[1].type")
    assert d["column"] == 11
    assert "max_pool2d" in d["hint"]


def test_dangling_input(tmp_path: Path) -> None:
    body = """\
      - {name: c1, type: conv2d, filters: 4, kernel: 3}
      - {name: c2, type: conv2d, filters: 4, kernel: 3}
      - {name: sum, type: add, inputs: [c1, c3]}
    """
    code, diags = check(tmp_path, body)
    assert code == 1
    d = only(diags, "unknown-input")
    line = "  - {name: sum, type: add, inputs: [c1, c3]}"
    assert (d["line"], d["column"]) == (7, col(line, "c3"))
    assert d["path"] == "layers[2].inputs[1]"
    assert "c3" in d["message"]


def test_duplicate_name(tmp_path: Path) -> None:
    body = """\
      - {name: c1, type: conv2d, filters: 4, kernel: 3}
      - {name: c1, type: conv2d, filters: 4, kernel: 3}
    """
    code, diags = check(tmp_path, body)
    assert code == 1
    d = only(diags, "duplicate-name")
    assert (d["line"], d["column"], d["path"]) == (6, 12, "layers[1].name")


def test_cycle(tmp_path: Path) -> None:
    body = """\
      - {name: a, type: conv2d, filters: 4, kernel: 3, padding: same, inputs: [c]}
      - {name: b, type: relu}
      - {name: c, type: add, inputs: [a, b]}
    """
    code, diags = check(tmp_path, body)
    assert code == 1
    d = only(diags, "cycle")
    assert d["path"] == "layers[0].inputs"
    line = "  - {name: a, type: conv2d, filters: 4, kernel: 3, padding: same, inputs: [c]}"
    assert (d["line"], d["column"]) == (5, col(line, "[c]"))
    assert "a -> c -> a" in d["message"] or "c -> a -> c" in d["message"]


def test_negative_kernel(tmp_path: Path) -> None:
    row = "  - {name: c1, type: conv2d, filters: 4, kernel: -3}\n"
    code, diags = check(tmp_path, row)
    assert code == 1
    d = only(diags, "out-of-range")
    assert (d["line"], d["column"], d["path"]) == (5, col(row, "-3"), "layers[0].kernel")
    assert "kernel=-3" in d["message"]


@pytest.mark.parametrize(
    ("activation", "message", "hint"),
    [
        ("{type: relu, alpha: 0.2}", "relu takes no alpha", None),
        ("relu7", "Input should be", "did you mean 'relu'?"),
        ("7", "an activation is a name (relu) or a mapping", None),
    ],
)
def test_activation_mistakes_get_one_error_each(
    tmp_path: Path, activation: str, message: str, hint: str | None
) -> None:
    row = f"  - {{name: c1, type: conv2d, filters: 4, kernel: 3, activation: {activation}}}\n"
    code, diags = check(tmp_path, row)
    assert code == 1
    assert len(diags) == 1, diags
    (d,) = diags
    assert message in d["message"]
    assert d["hint"] == hint
    assert d["path"] == "layers[0].activation"
    assert (d["line"], d["column"]) == (5, col(row, activation))


def test_alpha_where_it_belongs_is_accepted(tmp_path: Path) -> None:
    row = "  - {name: c1, type: conv2d, filters: 4, kernel: 3, activation: {type: elu, alpha: 2}}\n"
    assert check(tmp_path, row)[0] == 0


def test_output_too_small_names_layer_and_formula(tmp_path: Path) -> None:
    body = """\
      - {name: c1, type: conv2d, filters: 4, kernel: 5}
      - {name: p1, type: max_pool2d, pool: 2}
      - {name: c2, type: conv2d, filters: 4, kernel: 13}
    """
    code, diags = check(tmp_path, body)
    assert code == 1
    d = only(diags, "output-size")
    assert d["layer"] == "c2"
    assert d["line"] == 7
    assert "floor((12 - 13)/1) + 1 = 0" in d["message"]


def test_expression_with_code_is_rejected_and_not_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = f"__import__('os').system('touch {marker}')"
    row = f'  - {{name: c1, type: conv2d, filters: "{evil}", kernel: 3}}\n'
    code, diags = check(tmp_path, row)
    assert code == 1
    assert diags[0]["path"] == "layers[0].filters"
    assert not marker.exists()
    code, diags = check(
        tmp_path, '  - {name: c1, type: conv2d, filters: "().__class__", kernel: 3}\n'
    )
    assert code == 1 and "not allowed" in diags[0]["message"]


def test_github_annotations(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + "  - {name: c1, type: conv2d, filters: 4, kernal: 3}\n")
    result = CliRunner().invoke(cli, ["check", "--format", "github", str(path)])
    assert result.exit_code == 1
    first = result.output.splitlines()[0]
    assert first.startswith(f"::error file={path},line=5,col=")
    assert "title=archspec unknown-key::" in first


def test_valid_spec_exits_zero(tmp_path: Path) -> None:
    code, diags = check(tmp_path, "  - {name: c1, type: conv2d, filters: 4, kernel: 3}\n")
    assert code == 0
    assert diags == []


def test_warning_fails_only_under_strict(tmp_path: Path) -> None:
    body = "  - {name: p, type: max_pool2d, pool: 3}\n"  # 28 is not a multiple of 3
    code, diags = check(tmp_path, body)
    assert code == 0 and only(diags, "stride-tiling")["severity"] == "warning"
    code, diags = check(tmp_path, body, "--strict")
    assert code == 1 and only(diags, "stride-tiling")["severity"] == "error"


@pytest.mark.parametrize("content", [b"\x00\x01\x02binary\xff\xfe", b"archspec: [1\n"])
def test_real_process_exit_codes_and_no_traceback(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(content)
    proc = subprocess.run(
        [sys.executable, "-m", "archspec", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert f"{path}:" in proc.stdout + proc.stderr


def test_a_missing_path_is_a_spec_that_cannot_be_read(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert result.output.strip().endswith("nope.yaml: no such file or directory")


def test_limits_are_configurable_from_the_command_line() -> None:
    spec = str(Path(__file__).resolve().parent.parent / "specs" / "resnet50.yaml")
    runner = CliRunner()
    assert runner.invoke(cli, ["check", spec]).exit_code == 0
    result = runner.invoke(cli, ["check", "--format", "json", "--limit", "max_layers=50", spec])
    assert result.exit_code == 1
    (d,) = json.loads(result.output)["diagnostics"]
    assert d["code"] == "limit-exceeded" and "50 layers" in d["message"]
    assert "--limit max_layers=N" in d["hint"]
    assert runner.invoke(cli, ["check", "--limit", "max_layers=5000", spec]).exit_code == 0


@pytest.mark.parametrize("item", ["max_layer=50", "max_layers=0", "max_layers=-3", "max_layers"])
def test_a_bad_limit_is_a_usage_error(item: str) -> None:
    spec = str(Path(__file__).resolve().parent.parent / "specs" / "lenet5.yaml")
    result = CliRunner().invoke(cli, ["check", "--limit", item, spec])
    assert result.exit_code == 2
    assert "max_nodes" in result.output  # the valid names are listed


@pytest.mark.parametrize(
    ("row", "hint"),
    [
        ("{name: g, type: GlobalAveragePooling2D}", "did you mean 'global_avg_pool2d'?"),
        ("{name: b, type: BatchNormalization}", "did you mean 'batch_norm'?"),
        ("{name: p, type: MaxPooling2D, pool: 2}", "did you mean 'max_pool2d'?"),
        ("{name: c, type: conv2d, filters: 4, kernel_size: 3}", "did you mean 'kernel'?"),
        ("{name: r, type: reshape, target_shape: [2, 2]}", "did you mean 'shape'?"),
        ("{name: p, type: max_pool2d, pool_size: 2}", "did you mean 'pool'?"),
    ],
)
def test_keras_names_get_a_did_you_mean(tmp_path: Path, row: str, hint: str) -> None:
    code, diags = check(tmp_path, f"  - {row}\n")
    assert code == 1
    assert hint in [d["hint"] for d in diags], diags


def test_independent_schema_mistakes_come_in_one_run(tmp_path: Path) -> None:
    body = """\
      - {name: c1, type: conv2d, filters: 8, kernel_size: 3}
      - {name: g, type: GlobalAveragePooling2D}
      - {name: r, type: reshape, target_shape: [4, 2]}
      - {name: d, type: dense, units: 10, activation: relu7}
    """
    code, diags = check(tmp_path, body)
    assert code == 1
    assert [d["line"] for d in diags] == [5, 6, 7, 8]
