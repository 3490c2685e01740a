"""Severity that means one thing: --strict, --error, --ignore, [tool.archspec], a layer's
``ignore:``; and which files a folder walk takes as specs."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from archspec.cli import cli

WARNS = """\
archspec: 1
name: t
input: {shape: [28, 28, 1]}
layers:
  - {name: p, type: max_pool2d, pool: 3%s}
"""
"""28 is not a multiple of 3: a stride-tiling warning, and nothing else."""


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no pyproject.toml above, unless a test writes one
    path = tmp_path / "spec.yaml"
    path.write_text(WARNS % "")
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["check", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_a_warning_passes_by_default(spec: Path) -> None:
    code, out = run("--format", "json", str(spec))
    document = json.loads(out)
    assert code == 0 and document["ok"]
    assert [d["severity"] for d in document["diagnostics"]] == ["warning"]


@pytest.mark.parametrize("how", [["--strict"], ["--error", "stride-tiling"]])
def test_a_promoted_warning_is_an_error_in_every_format(spec: Path, how: list[str]) -> None:
    code, text = run(*how, str(spec))
    assert code == 1
    assert ": error: " in text and ": warning: " not in text
    assert f"[stride-tiling, {how[0]}]" in text
    code, out = run(*how, "--format", "json", str(spec))
    (d,) = json.loads(out)["diagnostics"]
    assert code == 1 and d["severity"] == "error" and d["promoted_by"] == how[0]
    code, github = run(*how, "--format", "github", str(spec))
    assert code == 1 and github.startswith("::error ") and "::warning" not in github


def test_ignore_suppresses_and_lists_the_suppression(spec: Path) -> None:
    code, out = run("--strict", "--ignore", "stride-tiling", "--format", "json", str(spec))
    document = json.loads(out)
    assert code == 0 and document["diagnostics"] == []
    (s,) = document["suppressed"]
    assert s["code"] == "stride-tiling" and s["suppressed_by"] == "--ignore"
    assert document["summary"]["suppressed"] == 1
    code, text = run("--ignore", "stride-tiling", str(spec))
    assert code == 0 and "1 diagnostic(s) suppressed" in text


def test_errors_cannot_be_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text((WARNS % "").replace("pool: 3", "pool: 30"))  # output < 1
    code, out = run("--format", "json", str(bad))
    codes = [d["code"] for d in json.loads(out)["diagnostics"]]
    assert code == 1
    code, out = run("--format", "json", *(f"--ignore={c}" for c in codes), str(bad))
    assert code == 1 and json.loads(out)["suppressed"] == []


def test_a_layer_ignores_a_code_for_itself(spec: Path) -> None:
    spec.write_text(WARNS % ", ignore: [stride-tiling]")
    code, out = run("--strict", "--format", "json", str(spec))
    document = json.loads(out)
    assert code == 0 and document["diagnostics"] == []
    assert document["suppressed"][0]["suppressed_by"] == "layers[0].ignore"
    spec.write_text(WARNS % ", ignore: [misaligned-merge]")  # another code: still reported
    assert run("--strict", str(spec))[0] == 1


def test_a_layer_ignore_inside_a_block_holds_for_every_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "blocks.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            archspec: 1
            name: t
            input: {shape: [28, 28, 1]}
            blocks:
              b:
                layers:
                  - {name: p, type: max_pool2d, pool: 3, ignore: [stride-tiling]}
            layers:
              - {type: block, block: b, name: one}
            """
        )
    )
    code, out = run("--strict", "--format", "json", str(path))
    document = json.loads(out)
    assert code == 0, document
    assert document["suppressed"] and document["diagnostics"] == []


def test_pyproject_sets_the_policy(spec: Path) -> None:
    config = spec.parent / "pyproject.toml"
    config.write_text('[tool.archspec]\nerror = ["stride-tiling"]\n')
    code, out = run("--format", "json", str(spec))
    (d,) = json.loads(out)["diagnostics"]
    assert code == 1 and d["promoted_by"] == "pyproject.toml"
    config.write_text('[tool.archspec]\nstrict = true\nignore = ["stride-tiling"]\n')
    code, out = run("--format", "json", str(spec))
    assert code == 0 and json.loads(out)["suppressed"][0]["suppressed_by"] == "pyproject.toml"
    code, _ = run("--error", "stride-tiling", str(spec))  # the command line wins
    assert code == 1


@pytest.mark.parametrize(
    "table", ["[tool.archspec]\nstirct = true\n", '[tool.archspec]\nignore = "x"\n', "[tool"]
)
def test_a_bad_config_is_a_usage_error(spec: Path, table: str) -> None:
    (spec.parent / "pyproject.toml").write_text(table)
    code, out = run(str(spec))
    assert code == 2 and "pyproject.toml" in out


# -- which files are specs -----------------------------------------------------------------------
WORKFLOW = """\
name: ci
on: [push]
jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - run: archspec check .
"""
PRE_COMMIT = """\
repos:
  - repo: local
    hooks:
      - {id: archspec-check, name: archspec, entry: archspec check, language: system}
"""
GOOD = "archspec: 1\nname: g\ninput: {shape: [8, 8, 1]}\nlayers:\n  - {type: flatten}\n"


def _repository(root: Path) -> None:
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "ci.yml").write_text(WORKFLOW)
    (root / ".pre-commit-config.yaml").write_text(PRE_COMMIT)
    (root / "specs").mkdir()
    (root / "specs" / "a.yaml").write_text(GOOD)
    (root / "specs" / "b.json").write_text(
        json.dumps(
            {
                "archspec": 1,
                "name": "b",
                "input": {"shape": [4]},
                "layers": [{"type": "dense", "units": 2}],
            },
            indent=2,
        )
    )
    (root / "node_modules" / "x").mkdir(parents=True)
    (root / "node_modules" / "x" / "bad.yaml").write_text("archspec: 1\nname: [\n")
    (root / ".venv").mkdir()
    (root / ".venv" / "bad.yaml").write_text("archspec: 1\n")
    (root / "old").mkdir()
    (root / "old" / "broken.yaml").write_text("archspec: 1\nname: x\n")


def test_check_dot_at_a_repository_root_checks_only_the_specs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _repository(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out = run("--format", "json", "--exclude", "old", ".")
    document = json.loads(out)
    assert code == 0, document
    assert sorted(Path(f["file"]).name for f in document["files"]) == ["a.yaml", "b.json"]
    assert sorted(Path(p).name for p in document["skipped"]) == [
        ".pre-commit-config.yaml",
        "ci.yml",
    ]
    assert document["summary"]["skipped"] == 2
    code, text = run(".", "--exclude", "old/*")
    assert code == 0 and "2 YAML/JSON file(s) skipped" in text
    assert run(".")[0] == 1  # old/broken.yaml declares archspec: and is broken


def test_a_file_named_explicitly_is_always_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _repository(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out = run("--format", "json", ".pre-commit-config.yaml")
    assert code == 1 and json.loads(out)["files"] == [
        {"file": ".pre-commit-config.yaml", "ok": False}
    ]


def test_exclude_from_pyproject(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _repository(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.archspec]\nexclude = ["old"]\n')
    monkeypatch.chdir(tmp_path)
    assert run(".")[0] == 0


def _readme_yaml(first_line: str) -> dict:
    import re

    import yaml

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for block in re.findall(r"```yaml\n(.*?)```", readme, flags=re.S):
        if block.startswith(first_line):
            return yaml.safe_load(block)
    raise AssertionError(f"no README block starting {first_line!r}")


def test_the_readme_ci_job_and_pre_commit_hook_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both README blocks, run as GitHub and pre-commit would, over a repository holding them."""
    import re
    import shlex
    import shutil

    _repository(tmp_path)
    shutil.rmtree(tmp_path / "old")
    monkeypatch.chdir(tmp_path)
    job = _readme_yaml("name: archspec")
    (tmp_path / ".github" / "workflows" / "archspec.yml").write_text(json.dumps(job))
    steps = [s["run"] for s in job["jobs"]["check"]["steps"] if "run" in s]
    checks = [shlex.split(r) for r in steps if r.startswith("archspec check")]
    assert checks
    for argv in checks:
        assert run(*argv[2:])[0] == 0
    (hook,) = _readme_yaml("repos:")["repos"][0]["hooks"]
    staged = [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()]
    chosen = [p for p in staged if re.search(hook["files"], p)]
    assert sorted(chosen) == ["specs/a.yaml", "specs/b.json"]
    assert run(*shlex.split(hook["entry"])[2:], *chosen)[0] == 0
