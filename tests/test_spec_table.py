"""The README's table of specs is generated; it must be regenerated whenever a spec changes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "spec_table.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("spec_table", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("spec_table", module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_readme_table_is_current() -> None:
    script = _script()
    assert script.main(["--check"]) == 0, "run: python scripts/spec_table.py"


@pytest.mark.slow
def test_check_reports_a_stale_table(tmp_path: Path) -> None:
    script = _script()
    readme = tmp_path / "README.md"
    readme.write_text(f"# t\n\n{script.BEGIN}\n| stale |\n{script.END}\n")
    assert script.main(["--check", "--readme", str(readme)]) == 1
    assert script.main(["--readme", str(readme)]) == 0
    assert script.main(["--check", "--readme", str(readme)]) == 0
    table = readme.read_text()
    assert "| [vgg16](" in table and "138,357,544" in table
    assert "H, W = 16k, k >= 1" in table


def test_missing_markers_are_an_error(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# no table here\n")
    assert _script().main(["--check", "--readme", str(readme)]) == 2


def test_source_comes_from_the_header() -> None:
    script = _script()
    import archspec

    path = ROOT / "specs" / "lenet5.yaml"
    assert script.source_of(archspec.load(path), path.read_text()) == "LeCun et al. 1998"
