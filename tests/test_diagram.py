"""Diagrams: DOT text always, SVG/PNG through Graphviz when installed, a clear message when not."""

from __future__ import annotations

import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

import archspec
from archspec import diagram
from archspec.report_commands import diagram as diagram_command

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
LECTURE = ROOT / "specs" / "lecture_net.yaml"
HAS_DOT = diagram.graphviz_program("svg") is not None
"""In CI the dev extra installs graphviz-pure, so these tests run there; skipped only elsewhere."""
EDGE = re.compile(r"^\s*(\w+) -> (\w+) \[label=\"([^\"]*)\"\];$", re.M)


def report(path: Path) -> archspec.Report:
    return archspec.analyze(archspec.load(path))


def test_edges_carry_the_shapes() -> None:
    dot = diagram.to_dot(report(LECTURE))
    edges = EDGE.findall(dot)
    assert ("input", "n0", "(28, 28, 1)") in edges
    assert ("n0", "n1", "(24, 24, 20)") in edges
    assert ("n4", "n5", "(320,)") in edges
    assert ("n6", "output_", "(10,)") in edges
    assert len(edges) == 8  # input -> 7 layers -> output


def test_every_input_of_a_merge_is_an_edge() -> None:
    unet = report(DATA / "unet4.yaml")
    edges = EDGE.findall(diagram.to_dot(unet))
    ids = {row.name: f"n{row.index}" for row in unet.layers}
    m4 = unet.layer("m4")
    into_m4 = {source for source, target, _ in edges if target == ids["m4"]}
    assert into_m4 == {ids[name] for name in m4.inputs}


def test_block_copies_become_nested_clusters() -> None:
    dot = diagram.to_dot(report(DATA / "report_blocks.yaml"))
    labels = re.findall(r'label="([^"]+)"; style="rounded,dashed"', dot)
    assert labels == [
        "s1",
        "s1.u.1",
        "s1.u.2",
        "s2.1",
        "s2.1.u.1",
        "s2.1.u.2",
        "s2.2",
        "s2.2.u.1",
        "s2.2.u.2",
    ]
    assert dot.count("{") == dot.count("}")


def test_symbolic_shapes_on_edges() -> None:
    dot = diagram.to_dot(report(DATA / "report_symbolic.yaml"))
    assert 'label="(H - 2, W - 2, 8)"' in dot


def test_quoting() -> None:
    assert diagram._quote('a "b" \\ c\nd') == '"a \\"b\\" \\\\ c\\nd"'


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("g.dot", "dot"), ("g.gv", "dot"), ("g.SVG", "svg"), ("g.png", "png"), ("g.pdf", "pdf")],
)
def test_format_from_the_suffix(name: str, fmt: str) -> None:
    assert diagram.output_format(name) == fmt


def test_unknown_suffix_is_refused() -> None:
    with pytest.raises(diagram.DiagramError, match=r"\.dot"):
        diagram.output_format("graph.jpeg")


# -- the command ---------------------------------------------------------------------------------
def test_command_writes_dot(tmp_path: Path) -> None:
    out = tmp_path / "graph.dot"
    result = CliRunner().invoke(diagram_command, [str(LECTURE), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == diagram.to_dot(report(LECTURE))


def test_command_with_sizes(tmp_path: Path) -> None:
    out = tmp_path / "graph.dot"
    result = CliRunner().invoke(
        diagram_command,
        [str(DATA / "report_symbolic.yaml"), "-o", str(out), "--input", "H=32,W=32"],
    )
    assert result.exit_code == 0
    assert 'label="(30, 30, 8)"' in out.read_text()


def test_command_without_graphviz_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(diagram.shutil, "which", lambda name: None)
    monkeypatch.setattr(diagram.sys, "executable", str(tmp_path / "python"))
    out = tmp_path / "graph.svg"
    result = CliRunner().invoke(diagram_command, [str(LECTURE), "-o", str(out)])
    assert result.exit_code == 1
    assert "archspec[diagram]" in result.stderr
    assert "apt-get install graphviz" in result.stderr
    assert "brew install graphviz" in result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


def test_command_bad_suffix_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(diagram_command, [str(LECTURE), "-o", str(tmp_path / "g.jpg")])
    assert result.exit_code == 2


def test_command_invalid_spec_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "archspec: 1\nname: bad\ninput: {shape: [4, 4, 1]}\n"
        "layers:\n  - {name: c, type: conv2d, filters: 2, kernel: 5}\n"
    )
    result = CliRunner().invoke(diagram_command, [str(bad), "-o", str(tmp_path / "g.dot")])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)


@pytest.mark.skipif(not HAS_DOT, reason="no Graphviz program (pip install 'archspec[diagram]')")
@pytest.mark.parametrize(
    "spec", [LECTURE, DATA / "unet4.yaml", DATA / "report_blocks.yaml"], ids=lambda p: p.name
)
def test_graphviz_accepts_the_dot(spec: Path, tmp_path: Path) -> None:
    out = tmp_path / "graph.svg"
    result = CliRunner().invoke(diagram_command, [str(spec), "-o", str(out)])
    assert result.exit_code == 0, result.output
    root = ET.parse(out).getroot()
    assert root.tag.endswith("svg")


@pytest.mark.skipif(not HAS_DOT, reason="no Graphviz program (pip install 'archspec[diagram]')")
def test_png(tmp_path: Path) -> None:
    out = tmp_path / "graph.png"
    result = CliRunner().invoke(diagram_command, [str(LECTURE), "-o", str(out)])
    assert result.exit_code == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_dot_failure_is_reported(tmp_path: Path) -> None:
    fake = tmp_path / "dot"
    fake.write_text("#!/bin/sh\necho 'syntax error in line 1' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(diagram.DiagramError, match="syntax error"):
        diagram.write_diagram(report(LECTURE), tmp_path / "g.svg", dot_program=str(fake))


def test_subprocess_is_given_a_list_not_a_shell(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen = {}

    def fake_run(args, **kwargs):  # type: ignore[no-untyped-def]
        seen["args"], seen["shell"] = args, kwargs.get("shell", False)
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(diagram.subprocess, "run", fake_run)
    diagram.write_diagram(report(LECTURE), tmp_path / "a b.svg", dot_program="/usr/bin/dot")
    assert seen["args"] == ["/usr/bin/dot", "-Tsvg", "-o", str(tmp_path / "a b.svg")]
    assert seen["shell"] is False


def test_the_pure_program_is_found_beside_python(tmp_path: Path, monkeypatch) -> None:
    """An unactivated virtual environment still finds its own graphviz-pure."""
    monkeypatch.setattr(diagram.shutil, "which", lambda name: None)
    (tmp_path / "graphviz-pure").write_text("")
    monkeypatch.setattr(diagram.sys, "executable", str(tmp_path / "python"))
    assert diagram.graphviz_program("svg") == str(tmp_path / "graphviz-pure")
    assert diagram.graphviz_program("pdf") is None  # graphviz-pure draws no PDF


NODE = re.compile(r"^\s*(n\d+) \[label=", re.M)


@pytest.mark.parametrize("depth", [None, 0, 1, 2])
def test_folding_keeps_every_connection(depth: int | None) -> None:
    """A folded drawing has one box per displayed row and an edge wherever rows connect."""
    from archspec.render import display_rows

    blocks = report(DATA / "report_blocks.yaml")
    dot = diagram.to_dot(blocks, depth=depth)
    rows = display_rows(blocks, depth)
    assert len(NODE.findall(dot)) == len(rows)
    edges = {(a, b) for a, b, _ in EDGE.findall(dot)}
    ids = {r.name: f"n{r.index.split('-')[0]}" for r in rows}
    for r in rows:
        for source in r.inputs:
            assert (ids.get(source, "input"), ids[r.name]) in edges


def test_resnet152_at_the_top_level_is_a_page() -> None:
    """516 layers; folded to the top level (depth 0), one box per bottleneck copy."""
    resnet = report(ROOT / "specs" / "resnet152.yaml")
    assert len(resnet.layers) > 500
    dot = diagram.to_dot(resnet, depth=0, rankdir="LR")
    assert len(NODE.findall(dot)) <= 60
    assert "rankdir=LR" in dot
    assert re.search(r'label="conv3\.2\\n10 layers', dot)


@pytest.mark.skipif(not HAS_DOT, reason="no Graphviz program (pip install 'archspec[diagram]')")
def test_resnet152_folded_draws_unscaled(tmp_path: Path) -> None:
    out = tmp_path / "resnet152.svg"
    spec = str(ROOT / "specs" / "resnet152.yaml")
    result = CliRunner().invoke(diagram_command, [spec, "-o", str(out), "--depth", "0"])
    assert result.exit_code == 0, result.output
    root = ET.parse(out).getroot()
    assert "scale(1 1)" in root.find("{http://www.w3.org/2000/svg}g").get("transform", "")


def test_bad_rankdir_is_refused() -> None:
    with pytest.raises(ValueError, match="rankdir"):
        diagram.to_dot(report(LECTURE), rankdir="BT")
