"""The README's example report is real output of the current tool (scripts/readme_report.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "readme_report", ROOT / "scripts" / "readme_report.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_report_is_current() -> None:
    readme_report = script()
    text = (ROOT / "README.md").read_text()
    assert readme_report.replace_section(text, readme_report.section()) == text, (
        "the README's report example is stale: run python scripts/readme_report.py"
    )


def test_replace_section_keeps_the_rest() -> None:
    readme_report = script()
    text = f"intro\n{readme_report.BEGIN}\nold\n{readme_report.END}\noutro\n"
    out = readme_report.replace_section(text, "\nnew\n")
    assert out == f"intro\n{readme_report.BEGIN}\nnew\n{readme_report.END}\noutro\n"
    with pytest.raises(ValueError):
        readme_report.replace_section("no markers", "x")


def test_check_mode_reports_a_stale_readme(tmp_path: Path) -> None:
    readme_report = script()
    readme = tmp_path / "README.md"
    readme.write_text(f"{readme_report.BEGIN}\nstale\n{readme_report.END}\n")
    assert readme_report.main(["--check", "--readme", str(readme)]) == 1
    assert readme_report.main(["--readme", str(readme)]) == 0
    assert readme_report.main(["--check", "--readme", str(readme)]) == 0
    assert "$ archspec report specs/lenet5.yaml" in readme.read_text()
