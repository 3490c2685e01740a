"""Hostile spec files: only located diagnostics come out, resources stay bounded, nothing runs.

Spec files reach ``archspec check`` from strangers' pull requests, so these are the promises of
SECURITY.md, each held to a test: fuzzed input never raises anything but ``SpecError`` from the
loader (the validator and the engine return diagnostics), the CLI answers 0, 1 or 2 without a
traceback, the classic resource attacks end in well under 2 s and 300 MB, and neither YAML tags
nor expressions can run code. The strategies here also drive ``scripts/fuzz.py``.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tiers import examples

from archspec import SpecError
from archspec.api import parse_document
from archspec.cli import main
from archspec.engine import analyze
from archspec.layers import LAYER_KINDS
from archspec.limits import DEFAULT_LIMITS
from archspec.loader import _walk, dump_yaml, load_file, load_text
from archspec.report_commands import REPORT_FORMATS

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

SECONDS = 2.0
"""Wall time for one hostile file through a fresh ``python -m archspec check``, startup included,
on a machine that checks ``specs/lenet5.yaml`` in a fresh process in ``REFERENCE_SECONDS``.
Every time limit here is multiplied by ``pace()``, so a slower or busier machine gets
proportionally more, and a faster one no less."""

REFERENCE_SECONDS = 0.4
"""A fresh ``python -m archspec check specs/lenet5.yaml`` on the idle 2-core machine whose
first table SECURITY.md gives: its start-up (~0.3 s) and a small spec, an estimate."""

MEGABYTES = 300
"""Peak resident memory of that process."""

# --- the pipeline under test ----------------------------------------------------------------


def pipeline(text: str | bytes, file: str = "<fuzz>") -> str:
    """Load, validate and analyse as ``archspec check`` does; any other exception escapes.

    Returns how far the input got, so that fuzzers can report what they reached.
    """
    try:
        document = load_text(text, file)
    except SpecError as exc:
        assert exc.diagnostics and all(d.is_error for d in exc.diagnostics)
        for d in exc.diagnostics:
            d.render()
        return "refused by the loader"
    spec, found = parse_document(document)
    if spec is None:
        assert any(d.is_error for d in found), found
        for d in found:
            d.render()
        return "refused by the schema"
    report = analyze(spec)
    for d in report.diagnostics:
        d.render()
    return "valid" if report.ok else "refused by the engine"


def run_main(args: list[str]) -> tuple[int, str]:
    """``archspec.cli.main`` in click's isolation: its exit code and everything it printed."""
    runner = CliRunner()
    code: Any = 0
    with runner.isolation() as (_, _, output):
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code
        sys.stdout.flush()  # what was written without click.echo is still buffered
        sys.stderr.flush()
    if code is None:
        code = 0
    return int(code) if isinstance(code, int) else 1, output.getvalue().decode(errors="replace")


# --- strategies ------------------------------------------------------------------------------

EXPRESSIONS = [
    "10**100",
    "10**9",
    "1000*1000*1000",
    "9" * 40,
    "2*width",
    "H//2",
    "H/2",
    "H/3",
    "H % 7",
    "min(H, W)",
    "max(H, 1, 2)",
    "-H",
    "0",
    "-1",
    "H - 1000000",
    "H*H*H*H*H*H*H*H",
    "H//0",
    "1/0",
    "min()",
    "max(H)",
    "input",
    "(" * 60 + "1" + ")" * 60,
    "-" * 150 + "1",
    "1" + "+1" * 99,
    "H" + "*2" * 99,
    "__import__('os').system('false')",
    "().__class__.__bases__[0].__subclasses__()",
    "open('/etc/passwd').read()",
    "lambda: 0",
    "eval('1')",
    "[1, 2]",
    "'text'",
    "1.5",
    "1e300",
    "H if H else W",
    "H < W",
    "H.real",
    "x[0]",
    "f(H)",
    "min(H, key=1)",
    "0x10",
    "1_000",
    "",
    " ",
    "\t",
    "é",
    "\u202e",
]

NAMES = [
    "archspec",
    "name",
    "input",
    "shape",
    "symbols",
    "params",
    "blocks",
    "layers",
    "output",
    "augment",
    "train",
    "type",
    "filters",
    "kernel",
    "strides",
    "padding",
    "dilation",
    "groups",
    "pool",
    "size",
    "units",
    "activation",
    "inputs",
    "block",
    "repeat",
    "args",
    "axis",
    "rate",
    "min",
    "max",
    "default",
    "doc",
    "epochs",
    "batch_size",
    "optimizer",
    "H",
    "W",
    "C",
    "width",
]

SIZES = [0, 1, 2, 3, -1, -(2**31), 2**31, 2**63, 10**12, 10**12 + 1, 10**29, 10**30 - 1]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(SIZES),
    st.integers(),
    st.floats(allow_nan=False),
    st.sampled_from([1e300, -1e300, 0.5, 2.0, 1e-300]),
    st.sampled_from(EXPRESSIONS),
    st.text(max_size=20),
)
"""Plain values, hostile in every field: wrong types, huge and negative numbers, expressions."""

plausible = st.one_of(
    st.integers(1, 8),
    st.sampled_from(["same", "valid", "causal", "relu", "H", "W", "C", "H//2", "2*H", "H - 3"]),
    st.sampled_from(["min(H, 7)", "max(W, 2)", "H % 5", "width", "filters", "stride", "input"]),
    st.sampled_from([[1, 2], [2, 2], [[1, 0], [0, 1]], [3, 1], ["H", 3], [0, 0]]),
    st.sampled_from(sorted(LAYER_KINDS)),
)
"""Values a spec could well hold, so that mutations reach the engine and not only the schema."""

SHAPES = st.lists(
    st.one_of(st.integers(1, 300), st.sampled_from(["H", "W", "D", "C", "H*2", "2*H+1", "H//3"])),
    min_size=1,
    max_size=4,
)

keys = st.one_of(st.sampled_from(NAMES), st.sampled_from(sorted(LAYER_KINDS)), st.text(max_size=10))

trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(keys, children, max_size=5),
    ),
    max_leaves=25,
)


@cache
def spec_trees() -> tuple[tuple[str, Any], ...]:
    """Every spec of specs/ as a plain tree: realistic starting points for mutation."""
    return tuple((p.name, load_file(p).data) for p in sorted(SPECS.glob("*.y*ml")))


@cache
def spec_texts() -> tuple[tuple[str, str], ...]:
    return tuple((p.name, p.read_text()) for p in sorted(SPECS.glob("*.y*ml")))


def _parent(tree: Any, path: tuple) -> Any:
    node = tree
    for part in path[:-1]:
        node = node[part]
    return node


MUTATIONS = [
    *("plausible", "plausible", "replace", "tree", "delete", "duplicate", "rename"),
    *("rewire", "use", "shape"),
]


GENTLE = ["plausible", "shape", "rewire", "use", "duplicate"]
"""Mutations that often leave a spec valid, to exercise the engine rather than the schema."""


@st.composite
def mutated_specs(draw: st.DrawFn, actions: list[str] = MUTATIONS) -> Any:
    """A spec of specs/ with a few paths replaced, deleted, duplicated or rewired."""
    _, original = draw(st.sampled_from(spec_trees()))
    tree = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _walk(tree) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = _parent(tree, path), path[-1]
        action = draw(st.sampled_from(actions))
        if action == "plausible":
            parent[last] = copy.deepcopy(draw(plausible))  # sampled lists are shared
        elif action == "shape" and isinstance(tree.get("input"), dict):
            tree["input"]["shape"] = copy.deepcopy(draw(SHAPES))
        elif action == "replace":
            parent[last] = draw(scalars)
        elif action == "tree":
            parent[last] = draw(trees)
        elif action == "delete":
            del parent[last]
        elif action == "duplicate":
            if isinstance(parent, list):
                parent.insert(last, copy.deepcopy(parent[last]))
            else:
                parent[draw(keys)] = copy.deepcopy(parent[last])
        elif action == "rename" and isinstance(parent, dict):
            parent[draw(keys)] = parent.pop(last)
        elif action == "rewire" and isinstance(parent, dict):
            parent["inputs"] = draw(
                st.lists(st.one_of(st.sampled_from(["input", "x", "out"]), keys), max_size=3)
            )
        elif action == "use" and isinstance(parent, list):
            blocks = tree.get("blocks") if isinstance(tree, dict) else None
            names = list(blocks) if isinstance(blocks, dict) else []
            parent.insert(
                last,
                {
                    "type": "block",
                    "block": draw(st.sampled_from([*names, "missing", "b"])),
                    "repeat": draw(st.one_of(st.sampled_from(SIZES), st.sampled_from(EXPRESSIONS))),
                },
            )
    return tree


def serialize(tree: Any, as_json: bool) -> tuple[str, str]:
    """The tree as a file's text and name; JSON keeps what YAML cannot say plainly."""
    if as_json:
        return json.dumps(tree), "spec.json"
    return dump_yaml(tree), "spec.yaml"


TEXT_ATTACKS = [
    "a: !!python/object/apply:os.system ['false']\n",
    "&a [*a]\n",
    "a: &x 1\nb: *x\n",
    "<<: {a: 1}\n",
    "? [a, b]\n: 1\n",
    "a: 1\na: 2\n",
    "%YAML 1.1\n---\na: 1\n...\n---\nb: 2\n",
    "!custom {a: 1}\n",
    "a: !!binary aGVsbG8=\n",
    "a: !!set {x, y}\n",
    "a: 0x_ff\n",
    "a: 1:30:00\n",
    "a: .inf\n",
    '\ufeff{"a": 1}',
    '{"a": NaN}',
    '{"a": 1e999}',
    "\t- x\n",
]


@st.composite
def mutated_texts(draw: st.DrawFn) -> tuple[str, str]:
    """A spec file's text with characters inserted, deleted, lines duplicated (duplicate keys)."""
    name, text = draw(st.sampled_from(spec_texts()))
    for _ in range(draw(st.integers(1, 5))):
        lines = text.splitlines(keepends=True) or [""]
        at = draw(st.integers(0, max(len(text) - 1, 0)))
        action = draw(st.sampled_from(["insert", "delete", "line", "attack"]))
        if action == "insert":
            text = text[:at] + draw(st.text(min_size=1, max_size=5)) + text[at:]
        elif action == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)) :]
        elif action == "line":
            i = draw(st.integers(0, len(lines) - 1))
            lines.insert(i, lines[i])
            text = "".join(lines)
        else:
            i = draw(st.integers(0, len(lines)))
            lines.insert(i, draw(st.sampled_from(TEXT_ATTACKS)))
            text = "".join(lines)
    return text, draw(st.sampled_from([name, "spec.json", "<fuzz>"]))


raw_inputs = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300),
    st.sampled_from(TEXT_ATTACKS),
    trees.map(lambda t: dump_yaml(t)),
    trees.map(lambda t: json.dumps(t)),
)


def fuzz(count: int) -> settings:
    """The loaded profile (derandomized in CI) with this many examples."""
    return settings(
        max_examples=examples(count),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# --- 1. fuzzing --------------------------------------------------------------------------------


@fuzz(300)
@given(raw_inputs, st.sampled_from(["<fuzz>", "x.yaml", "x.json"]))
def test_random_text_and_bytes_give_diagnostics(text: str | bytes, file: str) -> None:
    pipeline(text, file)


@fuzz(200)
@given(trees, st.booleans())
def test_random_trees_give_diagnostics(tree: Any, as_json: bool) -> None:
    pipeline(*serialize(tree, as_json))


@fuzz(150)
@given(mutated_specs(), st.booleans())
def test_mutated_specs_give_diagnostics(tree: Any, as_json: bool) -> None:
    pipeline(*serialize(tree, as_json))


@fuzz(100)
@given(mutated_specs(GENTLE))
def test_gently_mutated_specs_reach_the_engine(tree: Any) -> None:
    pipeline(*serialize(tree, False))


@fuzz(150)
@given(mutated_texts())
def test_mutated_spec_text_gives_diagnostics(case: tuple[str, str]) -> None:
    pipeline(*case)


ONCE_ESCAPED = [
    "type: []\nmaxout: []\n",  # an unhashable type beside a misspelt key (validate.py)
    '{"type": "input"}',  # a misspelling hint at the top level, whose path is empty
]
"""Inputs the fuzzers once got an exception out of: each stays fixed."""


@pytest.mark.parametrize("text", ONCE_ESCAPED)
def test_inputs_that_once_escaped(text: str) -> None:
    pipeline(text)


COMMANDS = [
    ["check"],
    ["check", "--format", "json"],
    ["check", "--format", "github", "--strict"],
    ["check", "-q", "--input", "H=64,W=64"],
    ["sizes"],
    ["report"],
    ["report", "--format", "json"],
    ["diagram"],
]


@fuzz(40)
@given(
    st.one_of(
        mutated_specs().map(lambda t: serialize(t, False)[0].encode()),
        mutated_texts().map(lambda c: c[0].encode()),
        raw_inputs.map(lambda x: x if isinstance(x, bytes) else x.encode("utf-8", "replace")),
    ),
    st.sampled_from(COMMANDS),
    st.sampled_from([".yaml", ".json"]),
)
def test_cli_exit_codes_and_no_traceback(content: bytes, command: list[str], suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"spec{suffix}"
        path.write_bytes(content)
        code, output = run_main([*command, str(path)])
    assert code in (0, 1, 2), output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    "args",
    [
        ["check", "specs/lenet5.yaml"],
        ["check", "--format", "json", "tests/test_hostile.py"],
        ["check", "--input", "H=notanumber", "specs/unet.yaml"],
        ["check", "no/such/file.yaml"],
        ["check"],
        ["sizes", "specs/unet.yaml", "--input", "H=99999999999"],
        ["frobnicate"],
    ],
)
def test_real_process_exit_codes(args: list[str]) -> None:
    run = run_check(*args)
    assert run.code in (0, 1, 2)
    assert "Traceback" not in run.output


# --- 2. limits: time and memory of a fresh process -------------------------------------------


@dataclass
class Run:
    code: int
    output: str
    seconds: float
    megabytes: float


_MEASURE = """
import os, subprocess, sys, threading, time
report, timeout, command = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
start = time.perf_counter()
proc = subprocess.Popen(command)
killer = threading.Timer(timeout, proc.kill)
killer.start()
_, status, usage = os.wait4(proc.pid, 0)
killer.cancel()
proc.returncode = os.waitstatus_to_exitcode(status)
with open(report, "w") as out:
    out.write(f"{proc.returncode} {time.perf_counter() - start} {usage.ru_maxrss}")
"""
"""Runs a command and records its exit code, wall time and peak RSS.

Linux carries a process's peak RSS across fork and exec, so a checker started straight from
pytest would report pytest's own memory (TensorFlow's, once a Keras test has run). Started from
this small ``python -S`` instead, it reports its own.
"""


def run_check(*args: str, timeout: float = 60) -> Run:
    """``python -m archspec ARGS`` in a fresh process: exit code, output, wall time, peak RSS."""
    if not hasattr(os, "wait4"):
        pytest.skip("measuring a process's peak memory needs os.wait4 (POSIX)")
    with tempfile.TemporaryDirectory() as folder:
        report, log = Path(folder) / "report", Path(folder) / "log"
        with log.open("wb") as out:
            subprocess.run(
                [
                    sys.executable,
                    "-S",
                    "-c",
                    _MEASURE,
                    str(report),
                    str(timeout),
                    sys.executable,
                    "-m",
                    "archspec",
                    *args,
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                timeout=timeout + 30,
                check=False,
            )
        code, seconds, rss = report.read_text().split()
        output = log.read_text(errors="replace")
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes vs KiB
    run = Run(int(code), output, float(seconds), int(rss) / scale)
    print(f"{' '.join(args)[-60:]}: exit {run.code}, {run.seconds:.2f} s, {run.megabytes:.0f} MB")
    return run


@cache
def pace() -> float:
    """How many times slower than the reference machine this one runs now, never below 1.

    A time limit is a ratio against a reference measured in the same run: the median of three
    fresh checks of a small spec, which pay the same start-up and the same kind of work.
    """
    runs = sorted(run_check("check", str(SPECS / "lenet5.yaml")).seconds for _ in range(3))
    factor = max(1.0, runs[1] / REFERENCE_SECONDS)
    print(f"pace: lenet5 checks in {runs[1]:.2f} s, time limits x{factor:.1f}")
    return factor


def budget(seconds: float = SECONDS) -> float:
    return seconds * pace()


def assert_refused(
    run: Run, *needles: str, codes: tuple[int, ...] = (1,), seconds: float = SECONDS
) -> None:
    assert run.code in codes, run.output
    assert "Traceback" not in run.output, run.output
    assert run.seconds < budget(seconds), f"{run.seconds:.2f} s, limit {budget(seconds):.2f} s"
    assert run.megabytes < MEGABYTES, f"{run.megabytes:.0f} MB"
    for needle in needles:
        assert needle in run.output, run.output


def write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return str(path)


def spec(layers: list[str], shape: str = "[32, 32, 3]", more: str = "") -> str:
    rows = "".join(f"  - {row}\n" for row in layers)
    return f"archspec: 1\nname: hostile\ninput: {{shape: {shape}}}\n{more}layers:\n{rows}"


def laughs(levels: int = 9, fanout: int = 9) -> str:
    """The billion laughs: 9 aliases of 9 aliases ... of 9 strings, 4e9 nodes once expanded."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * fanout) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.slow  # a fresh process, timed and measured: make test runs it
def test_billion_laughs(tmp_path: Path) -> None:
    assert_refused(run_check("check", write(tmp_path, "bomb.yaml", laughs())), "limit-exceeded")


@pytest.mark.slow  # a fresh process, timed and measured: make test runs it
def test_billion_laughs_inside_a_spec(tmp_path: Path) -> None:
    bomb = laughs().replace("\n", "\n  ").rstrip()
    text = f"archspec: 1\nname: b\ninput: {{shape: [8, 8, 1]}}\nsymbols:\n  {bomb}\nlayers: []\n"
    assert_refused(run_check("check", write(tmp_path, "bomb.yaml", text)), "limit-exceeded")


DEPTH = 20_000

NESTED = {
    "flow_lists.yaml": "[" * DEPTH + "]" * DEPTH + "\n",
    "unclosed.yaml": "[" * DEPTH + "\n",
    "flow_maps.yaml": "{a: " * DEPTH + "1" + "}" * DEPTH + "\n",
    "block_lists.yaml": "- " * DEPTH + "1\n",
    "mixed.yaml": "a: " + "[{b: " * (DEPTH // 2) + "1" + "}]" * (DEPTH // 2) + "\n",
    "lists.json": "[" * DEPTH + "]" * DEPTH,
    "objects.json": '{"a": ' * DEPTH + "1" + "}" * DEPTH,
}


@pytest.mark.slow  # a fresh process, timed and measured: make test runs it
@pytest.mark.parametrize("name", sorted(NESTED))
def test_twenty_thousand_levels(tmp_path: Path, name: str) -> None:
    assert_refused(run_check("check", write(tmp_path, name, NESTED[name])), "limit-exceeded")


@pytest.mark.slow  # a fresh process, timed and measured: make test runs it
def test_deeply_indented_block_mappings(tmp_path: Path) -> None:
    """Indentation grows with depth: the deepest such file within max_bytes, and past it."""
    lines, size, level = [], 0, 0
    while size < DEFAULT_LIMITS.max_bytes - 200:
        lines.append(" " * level + "a:\n")
        size += level + 3
        level += 1
    within = "".join(lines) + " " * level + "1\n"
    assert_refused(run_check("check", write(tmp_path, "deep.yaml", within)), "limit-exceeded")
    beyond = within + "".join(" " * (level + i) + "b:\n" for i in range(200))
    assert_refused(run_check("check", write(tmp_path, "deeper.yaml", beyond)), "limit-exceeded")


LONG = {
    "comment.yaml": "#" * (DEFAULT_LIMITS.max_bytes - 1) + "\n",
    "one_line.yaml": "a: " + "x" * (DEFAULT_LIMITS.max_bytes - 10) + "\n",
    "over.yaml": "a: 1\n" * (DEFAULT_LIMITS.max_bytes // 5 + 1),
    "many_items.json": "[" + "1," * (DEFAULT_LIMITS.max_bytes // 2 - 2) + "1]",
}


@pytest.mark.slow  # a fresh process, timed and measured: make test runs it
@pytest.mark.parametrize("name", sorted(LONG))
def test_very_long_files(tmp_path: Path, name: str) -> None:
    assert_refused(run_check("check", write(tmp_path, name, LONG[name])), codes=(0, 1))


AT_THE_NODE_LIMIT = {
    "many_keys.yaml": "".join(f"k{i}: {i}\n" for i in range(DEFAULT_LIMITS.max_nodes)),
    "many_layers.yaml": spec(["{type: dropout, rate: 0.1}"] * (DEFAULT_LIMITS.max_nodes // 5 - 50)),
    "long_names.yaml": spec(
        [
            f"{{name: {'n' * 90}{i:05d}, type: dropout, rate: 0.1}}"
            for i in range(DEFAULT_LIMITS.max_nodes // 8)
        ]
    ),
}

LOAD_SECONDS = 6.0
"""A file that reaches max_nodes: pure-Python PyYAML composes ~25,000 nodes a second."""


@pytest.mark.slow  # a fresh process, timed and measured: make test runs it
@pytest.mark.parametrize("name", sorted(AT_THE_NODE_LIMIT))
def test_files_at_the_node_limit(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, AT_THE_NODE_LIMIT[name])
    assert_refused(run_check("check", path), codes=(0, 1), seconds=LOAD_SECONDS)


KERNELS = {
    "literal": "kernel: " + "1" + "0" * 100,
    "expression": 'kernel: "10**100"',
    "product": 'kernel: "' + "*".join(["10"] * 40) + '"',
    "float": "kernel: 1.0e+100",
    "json": None,
}


@pytest.mark.slow  # a fresh process, timed and measured: make test runs it
@pytest.mark.parametrize("form", sorted(KERNELS))
def test_kernel_of_ten_to_the_hundred(tmp_path: Path, form: str) -> None:
    if form == "json":
        text = json.dumps(
            {
                "archspec": 1,
                "name": "k",
                "input": {"shape": [32, 32, 3]},
                "layers": [{"type": "conv2d", "filters": 4, "kernel": 10**100}],
            }
        )
        path = write(tmp_path, "k.json", text)
    else:
        path = write(tmp_path, "k.yaml", spec([f"{{type: conv2d, filters: 4, {KERNELS[form]}}}"]))
    assert_refused(run_check("check", path), codes=(1, 2))


BINARIES = {
    "nul.yaml": b"\x00\x01\x02binary\xff\xfe",
    "png.yaml": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
    "latin1.yaml": "archspec: 1\nname: café\n".encode("latin-1"),
    "utf16.yaml": "archspec: 1\n".encode("utf-16"),
    "random.json": bytes((i * 97 + 13) % 256 for i in range(4096)),
    "elf.yml": b"\x7fELF\x02\x01\x01" + b"\x00" * 64,
}


@pytest.mark.slow  # a fresh process, timed and measured: make test runs it
@pytest.mark.parametrize("name", sorted(BINARIES))
def test_binary_files(tmp_path: Path, name: str) -> None:
    assert_refused(run_check("check", write(tmp_path, name, BINARIES[name])), codes=(1, 2))


@pytest.mark.slow  # a fresh process, timed and measured: make test runs it
@pytest.mark.parametrize("repeat", ["1000000000", '"1000*1000*1000"', '"10**9"', "1.0e+9"])
def test_repeat_of_a_billion_is_refused_quickly(tmp_path: Path, repeat: str) -> None:
    text = spec(
        [f"{{type: block, block: b, repeat: {repeat}}}"],
        more="blocks:\n  b: {layers: [{type: dense, units: 4}]}\n",
    )
    run = run_check("check", write(tmp_path, "r.yaml", text))
    assert_refused(run, "repeat")
    assert re.search(r"repeat must be between \d and \d+|not allowed|\*\*", run.output), run.output


BLOCKS = {
    "itself": "  a: {layers: [{type: block, block: a}]}\n",
    "mutual": (
        "  a: {layers: [{type: block, block: b}]}\n  b: {layers: [{type: block, block: a}]}\n"
    ),
    "cycle_of_three": (
        "  a: {layers: [{type: block, block: b}]}\n  b: {layers: [{type: block, block: c}]}\n"
        "  c: {layers: [{type: dense, units: 2}, {type: block, block: a}]}\n"
    ),
}


@pytest.mark.slow  # a fresh process, timed and measured: make test runs it
@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_recursive_blocks(tmp_path: Path, name: str) -> None:
    text = spec(["{type: block, block: a}"], more="blocks:\n" + BLOCKS[name])
    assert_refused(run_check("check", write(tmp_path, "rec.yaml", text)), "block-recursion")


def _nested_repeats(innermost: str, levels: int = 4) -> str:
    """Blocks a -> b -> c -> ... each used 1000 times by the one above: 1000**levels copies."""
    names = "abcdefgh"[:levels]
    rows = [
        f"  {n}: {{layers: [{{type: block, block: {names[i + 1]}, repeat: 1000}}]}}\n"
        for i, n in enumerate(names[:-1])
    ]
    rows.append(f"  {names[-1]}: {{layers: [{innermost}]}}\n")
    return spec(["{type: block, block: a, repeat: 1000}"], more="blocks:\n" + "".join(rows))


@pytest.mark.slow  # a fresh process, timed and measured: make test runs it
@pytest.mark.parametrize(
    "innermost",
    [
        "{type: flatten}",
        "{type: block, block: missing}",
        "{type: block, block: b, repeat: 0}",
        "{type: dense, units: 2, inputs: [nowhere]}",
    ],
)
def test_nested_repeats_are_bounded(tmp_path: Path, innermost: str) -> None:
    """A quadrillion copies, whether they yield layers or only errors."""
    path = write(tmp_path, "n.yaml", _nested_repeats(innermost))
    assert_refused(run_check("check", path), "limit-exceeded")


@pytest.mark.slow  # a fresh process, timed and measured: make test runs it
def test_more_layers_than_max_layers(tmp_path: Path) -> None:
    outer = DEFAULT_LIMITS.max_layers // 1000 + 1
    text = spec(
        [f"{{type: block, block: c, repeat: {outer}}}"],
        more="blocks:\n  b: {layers: [{type: dense, units: 2}]}\n"
        "  c: {layers: [{type: block, block: b, repeat: 1000}]}\n",
    )
    run = run_check("check", write(tmp_path, "many.yaml", text))
    assert_refused(run, f"more than {DEFAULT_LIMITS.max_layers} layers")


@pytest.mark.slow  # a fresh process, timed and measured: make test runs it
def test_many_dangling_inputs(tmp_path: Path) -> None:
    """Every unknown name could look for its closest match among every layer name."""
    count = DEFAULT_LIMITS.max_nodes // 20
    rows = [f"{{name: l{i}, type: flatten, inputs: [x{i}]}}" for i in range(count)]
    assert_refused(run_check("check", write(tmp_path, "d.yaml", spec(rows))), "unknown-input")


SYMBOLIC = {
    # one floor per stride: sympy's recursion gives out near 150 levels
    "strided_chain": spec(["{type: max_pool2d, pool: 2}"] * 300, "[H, W, 3]"),
    # each level doubles the expression: 2**300 terms
    "doubling": spec(
        [
            row
            for i, before in enumerate(["input", *(f"c{i}" for i in range(299))])
            for row in (
                f"{{name: p{i}, type: max_pool1d, pool: 1, strides: 2, inputs: [{before}]}}",
                f"{{name: c{i}, type: concatenate, axis: 1, inputs: [{before}, p{i}]}}",
            )
        ],
        "[H, 3]",
    ),
    # upsample by 3, pool by 2: the solver's period doubles at each pair
    "period_growth": spec(
        ["{type: upsampling2d, size: 3}", "{type: max_pool2d, pool: 2}"] * 150, "[H, W, 3]"
    ),
}


@pytest.mark.slow  # a fresh process, timed and measured: make test runs it
@pytest.mark.parametrize("name", sorted(SYMBOLIC))
def test_symbolic_sizes_nested_too_deep(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, f"{name}.yaml", SYMBOLIC[name])
    assert_refused(run_check("check", path), "limit-exceeded")


ENGINE_LIMITS = {
    # name: (a spec within the default, the value that refuses it, the words of the refusal)
    "max_nesting": (spec(["{type: max_pool2d, pool: 2}"] * 3, "[H, W, 3]"), 2, "2 levels"),
    "max_terms": (spec(["{type: max_pool2d, pool: 2}"] * 3, "[H, W, 3]"), 1, "1 terms"),
    "max_errors": (
        spec([f"{{name: d{i}, type: dense, units: x, inputs: [input]}}" for i in range(5)]),
        2,
        "more than 2 errors",
    ),
    "max_expand_errors": (
        spec([f"{{type: block, block: missing{i}}}" for i in range(5)]),
        1,
        "more than 1 errors",
    ),
}
"""The engine's and the expander's bounds, each reachable from ``--limit`` like the loader's."""


@pytest.mark.parametrize("name", sorted(ENGINE_LIMITS))
def test_engine_bounds_are_limits(tmp_path: Path, name: str) -> None:
    text, value, words = ENGINE_LIMITS[name]
    path = write(tmp_path, "s.yaml", text)
    _, default_output = run_main(["check", path])
    code, output = run_main(["check", "--limit", f"{name}={value}", path])
    assert words not in default_output
    assert code == 1 and words in output and f"--limit {name}=N" in output, output


@pytest.mark.slow  # a fresh process, timed and measured: make test runs it
def test_strides_beyond_the_exact_solver_warn_instead_of_failing(tmp_path: Path) -> None:
    """14 halvings need H >= 16384: past the solver's budget, sizes are tried one by one."""
    path = write(tmp_path, "p.yaml", spec(["{type: max_pool2d, pool: 2}"] * 14, "[H, W, 3]"))
    run = run_check("check", path)
    assert_refused(run, "larger sizes were not checked", codes=(0,))


def test_recursion_in_sympy_is_a_diagnostic(monkeypatch: pytest.MonkeyPatch) -> None:
    """The nesting limit stops the walk first; this is the backstop behind it."""
    from archspec import loads
    from archspec.engine import analysis

    def overflow(*args: object) -> None:
        raise RecursionError

    monkeypatch.setattr(analysis._Analysis, "walk", overflow)
    report = analyze(loads(spec(["{type: max_pool2d, pool: 2}"], "[H, W, 3]")))
    assert [d.code for d in report.diagnostics] == ["limit-exceeded"]


# --- 3. nothing from a spec is executed --------------------------------------------------------

TAGS = [
    "!!python/object/apply:os.system ['touch {marker}']",
    "!!python/object/apply:subprocess.call [['touch', '{marker}']]",
    "!!python/object/new:os.system ['touch {marker}']",
    "!!python/object:builtins.exec {{}}",
    "!!python/name:os.system",
    "!!python/module:os",
    "!!python/apply:os.system ['touch {marker}']",
    "!<tag:yaml.org,2002:python/object/apply:os.system> ['touch {marker}']",
    "!python/object/apply:os.system ['touch {marker}']",
]


@pytest.mark.slow  # a fresh process, timed and measured: make test runs it
@pytest.mark.parametrize("tag", TAGS)
@pytest.mark.parametrize("where", ["name", "filters", "top"])
def test_yaml_tags_never_construct_objects(tmp_path: Path, tag: str, where: str) -> None:
    marker = tmp_path / "pwned"
    payload = tag.format(marker=marker)
    if where == "top":
        text = f"archspec: 1\nevil: {payload}\n"
    elif where == "name":
        text = spec(["{type: flatten}"]).replace("name: hostile", f"name: {payload}")
    else:
        text = spec(["{type: conv2d, kernel: 3, filters: " + payload + "}"])
    run = run_check("check", write(tmp_path, "tag.yaml", text))
    assert_refused(run)
    assert not marker.exists()


PAYLOADS = [
    "__import__('os').system('touch {marker}')",
    "().__class__.__bases__[0].__subclasses__()",
    "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'Popen'][0]"
    "('touch {marker}')",
    "open('{marker}', 'w')",
    "(lambda: __import__('os').system('touch {marker}'))()",
    "exec('import os; os.system(\"touch {marker}\")')",
    "eval('1')",
    "globals()",
    "H.__class__",
    "H.func",
    "H.subs",
    "sympify('1')",
    "Symbol('x')",
]

FIELDS = ["filters", "kernel", "param", "shape", "repeat", "arg"]


def _with_payload(field: str, expression: str) -> str:
    quoted = json.dumps(expression)
    if field == "param":
        return spec(["{type: dense, units: w}"], "[8]", f"params: {{w: {quoted}}}\n")
    if field == "shape":
        return spec(["{type: flatten}"], f"[{quoted}, 8, 1]")
    if field in ("repeat", "arg"):
        use = (
            f"{{type: block, block: b, repeat: {quoted}}}"
            if field == "repeat"
            else f"{{type: block, block: b, args: {{n: {quoted}}}}}"
        )
        block = "blocks:\n  b: {args: {n: 2}, layers: [{type: dense, units: n}]}\n"
        return spec([use], "[8]", block)
    other = "kernel: 3" if field == "filters" else "filters: 3"
    return spec([f"{{type: conv2d, {other}, {field}: {quoted}}}"])


@pytest.mark.parametrize("payload", PAYLOADS)
@pytest.mark.parametrize("field", FIELDS)
def test_expressions_never_run_code(tmp_path: Path, payload: str, field: str) -> None:
    marker = tmp_path / "pwned"
    text = _with_payload(field, payload.format(marker=marker))
    code, output = run_main(["check", write(tmp_path, "x.yaml", text)])
    assert code == 1, output
    assert "Traceback" not in output
    assert not marker.exists()


@pytest.mark.slow  # a fresh process, timed and measured: make test runs it
def test_expressions_never_run_code_in_a_real_process(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = _with_payload("filters", PAYLOADS[0].format(marker=marker))
    assert_refused(run_check("check", write(tmp_path, "x.yaml", text)), "expressions")
    assert not marker.exists()


def test_no_lambda_layer_in_the_spec_language() -> None:
    assert not [kind for kind in LAYER_KINDS if "lambda" in kind.lower()]


# --- 4. the slowest specs within the default limits ------------------------------------------


def _block_spec(rows: list[str], repeat: int, shape: str) -> str:
    body = "".join(f"      - {row}\n" for row in rows)
    return spec(
        [f"{{type: block, block: b, repeat: {repeat}}}"],
        shape,
        f"blocks:\n  b:\n    layers:\n{body}",
    )


WORST = {
    # max_layers layers, each a new symbolic size: H - 2, H - 4, ..., H - 40000
    "symbolic_conv_chain": _block_spec(
        ["{type: conv3d, filters: 1, kernel: 3}"] * 20, 999, "[H, W, D, 3]"
    ),
    # strides up to the nesting limit over a period of 2**12 and thousands of conditions
    "deep_period": spec(
        ["{type: max_pool2d, pool: 3, strides: 2}"] * 12
        + ["{type: conv2d, filters: 1, kernel: 1}"] * 4000,
        "[H, W, 3]",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(WORST))
def test_worst_specs_within_the_limits_check_in_bounded_time(tmp_path: Path, name: str) -> None:
    run = run_check("check", write(tmp_path, f"{name}.yaml", WORST[name]))
    assert run.code in (0, 1), run.output
    assert "Traceback" not in run.output
    assert run.seconds < 60
    assert run.megabytes < MEGABYTES


# --- no code-executing calls in the source tree -------------------------------------------------

DANGEROUS = re.compile(
    r"(?<![\w.])(?<!def )(eval|exec|compile|__import__)\s*\("
    r"|\bsympify\b|\bparse_expr\b|\bpickle\b|\bmarshal\b|\bshelve\b|\bdill\b"
    r"|\byaml\.(load|load_all|unsafe_load|full_load)\s*\(|\b(Unsafe|Full)?Loader\s*=\s*yaml\.(Unsafe|Full)?Loader\b"
    r"|\bunsafe\b|safe_mode\s*=\s*False|allow_pickle\s*=\s*True|\bLambda\b|\bshell\s*=\s*True"
)

ALLOWED: set[tuple[str, str]] = {
    # The importer's reason for refusing a Keras Lambda layer: a message, not a Lambda.
    ("builders/importer/converters.py", '"Lambda": "a Lambda runs Python code'),
    # The importer names the classes it refuses before Keras reads the file, and says so.
    ("builders/importer/sources.py", 'UNSAFE_CLASSES = {"Lambda": "a Lambda runs Python code'),
    ("builders/importer/sources.py", "Keras then refuses a ``Lambda`` with a"),
}
"""(file, text on the line) pairs reviewed and found harmless; each says why above it."""


def _dangerous_lines() -> list[tuple[str, int, str]]:
    found = []
    for folder in ("archspec", "builders", "scripts", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            for number, line in enumerate(path.read_text().splitlines(), 1):
                code = line.split("#", 1)[0]
                if not DANGEROUS.search(code):
                    continue
                if any(rel == file and text in line for file, text in ALLOWED):
                    continue
                found.append((rel, number, line.strip()))
    return found


def test_no_code_executing_calls_in_the_source() -> None:
    """eval/exec/sympify/pickle/unsafe YAML/Lambda layers have no place near spec content."""
    assert _dangerous_lines() == []


def test_saved_models_load_in_safe_mode_explicitly() -> None:
    """Keras 3 defaults to safe_mode=True; saying so keeps a future default from opening it."""
    calls = [
        (path.relative_to(ROOT).as_posix(), line.strip())
        for folder in ("archspec", "builders", "scripts", "benchmarks")
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line in path.read_text().splitlines()
        if re.search(r"(?<!\w)load_model\(", line)
    ]
    assert calls, "the scan no longer finds the loading code"
    assert [c for c in calls if "safe_mode=True" not in c[1]] == []


def test_the_scanner_catches_what_it_looks_for() -> None:
    for line in [
        "x = eval(text)",
        "sympy.sympify(s)",
        "yaml.load(f)",
        "keras.saving.load_model(p, safe_mode=False)",
        "layers.Lambda(fn)",
        "pickle.loads(b)",
        "subprocess.run(cmd, shell=True)",
    ]:
        assert DANGEROUS.search(line), line
    for line in [
        "ev.eval(expr)",
        "def eval(self, expr):",
        "net.compile(optimizer)",
        "parse_expression(text)",
        "yaml.safe_load(f)",
        "keras.saving.load_model(p, safe_mode=True)",
    ]:
        assert not DANGEROUS.search(line), line


# --- 5. round two: every command that takes a spec -------------------------------------------

SPEC_COMMANDS: list[list[str]] = [
    ["check", "{spec}"],
    ["check", "--format", "json", "{spec}"],
    ["check", "--format", "github", "--strict", "{spec}"],
    ["sizes", "{spec}"],
    *(["report", "--format", fmt, "{spec}"] for fmt in REPORT_FORMATS),
    ["report", "--formulas", "--batch", "7", "--depth", "0", "{spec}"],
    ["diff", "{spec}", "{spec}"],
    ["diff", "--format", "markdown", str(SPECS / "lenet5.yaml"), "{spec}"],
    ["diagram", "{spec}", "-o", "{out}/graph.dot"],
]
"""Every command that reads a spec, in every output format; ``{spec}`` is the spec file and
``{out}`` a scratch folder. A new command is one more row (``sweep`` joins when it exists)."""

OPTIONAL_COMMANDS: dict[str, list[list[str]]] = {
    "sweep": [["sweep", "{spec}"]],
    "variants": [["variants", "{spec}"]],
}
"""Commands that join SPEC_COMMANDS once the CLI has them."""


def spec_commands() -> list[list[str]]:
    from archspec.cli import cli

    names = set(cli.list_commands(None))  # type: ignore[arg-type]
    extra = [row for name, rows in OPTIONAL_COMMANDS.items() if name in names for row in rows]
    return [*SPEC_COMMANDS, *extra]


def command_line(template: list[str], spec_path: str, out: str) -> list[str]:
    return [part.replace("{spec}", spec_path).replace("{out}", out) for part in template]


def _squares(count: int) -> str:
    rows = "".join(f'  p{i}: "{"H*H" if i == 0 else f"p{i - 1}*p{i - 1}"}"\n' for i in range(count))
    return f"symbols: {{H: {{min: 1}}}}\nparams:\n{rows}"


CONV = ["{type: conv2d, filters: 2, kernel: 3}", "{type: flatten}", "{type: dense, units: 2}"]

FOUND = {
    # 2: a param squared 16 times is H**65536
    "squares.yaml": spec(CONV, "[p15, 8, 1]", _squares(16)),
    # 3 and 4: symbolic zero divisors and moduli; a divisor that is a free size
    "zero_mod.yaml": spec(CONV, '["H%(W-W)", W, 1]'),
    "zero_div.yaml": spec(CONV, '["H//(W-W)", W, 1]'),
    "zero_true_div.yaml": spec(CONV, '["H/(H-H)", W, 1]'),
    "size_divisor.yaml": spec(CONV, '["H//W", W, 1]'),
    # 4: sizes the solver cannot take
    "product.yaml": spec(CONV, '["H*W", W, 1]'),
    "power.yaml": spec(CONV, '["' + "*".join(["H"] * 60) + '", W, 1]'),
    "product_kernel.yaml": spec(["{type: conv2d, filters: 2, kernel: 'H*H'}"], "[H, 8, 1]"),
    # 3 and 4: whole-number and non-finite floats
    "huge_float_shape.yaml": spec(CONV, "[1.0e+200, 1.0e+200, 1]"),
    "huge_units.yaml": spec(["{type: flatten}", "{type: dense, units: 1.0e+20}"]),
    "huge_int_units.yaml": spec(["{type: flatten}", "{type: dense, units: 100000000000000}"]),
    "huge_param.yaml": spec(["{type: dense, units: p}"], more="params: {p: 1.0e+300}\n"),
    "huge_float.json": json.dumps(
        {
            "archspec": 1,
            "name": "x",
            "input": {"shape": [1e300, 8, 1]},
            "layers": [{"type": "flatten"}],
        }
    ).replace("1e+300", "1e300"),
    "inf_rate.yaml": spec(CONV, more="train: {optimizer: {type: adam, learning_rate: .inf}}\n"),
    "nan_rate.yaml": spec(CONV, more="train: {optimizer: {type: adam, learning_rate: .nan}}\n"),
    "inf_rate.json": '{"archspec": 1, "name": "x", "input": {"shape": [8, 8, 1]}, '
    '"layers": [{"type": "flatten"}], '
    '"train": {"optimizer": {"type": "adam", "learning_rate": 1e999}}}',
    # 6: a key that is no character
    "surrogate.json": '{"archspec": 1, "name": "x", "input": {"shape": [8, 8, 1]}, '
    '"layers": [{"type": "flatten"}], "\\ud800": 1}',
    "surrogate_value.json": '{"archspec": 1, "name": "x\\udfff", "input": {"shape": [8, 8, 1]}, '
    '"layers": [{"type": "flatten"}]}',
}
"""The inputs of round two that once hung, raised or were called valid; each is refused now."""


@pytest.mark.parametrize("name", sorted(FOUND))
def test_found_inputs_are_located_errors_in_every_command(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, FOUND[name])
    file = re.escape(name)
    located = re.compile(  # as text, JSON or a GitHub annotation
        rf'{file}:\d+:\d+: error: |{file}",\s+"line": \d+,\s+"column": \d+|{file},line=\d+,col='
    )
    for template in spec_commands():
        args = command_line(template, path, str(tmp_path))
        start = time.perf_counter()
        code, output = run_main(args)
        seconds = time.perf_counter() - start
        assert code == 1, (args, output)
        assert "Traceback" not in output and located.search(output), (args, output)
        assert seconds < budget(), (args, seconds)


@pytest.mark.slow  # a fresh process, timed and measured: make test runs it
@pytest.mark.parametrize("name", ["squares.yaml", "huge_float_shape.yaml", "product.yaml"])
def test_found_inputs_in_a_real_process(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, name, FOUND[name])
    assert_refused(run_check("report", "--format", "html", path), name)


# --- 6. output injection: spec text never writes a line or a control character ---------------

RAW_CONTROL = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]"
)
"""Control characters other than the newline that ends each line of output."""

ANNOTATION = re.compile(r"::(error|warning|notice) [^:\n]*::[^\n]*")
"""The only line allowed to start with ``::``: archspec's own annotation, its properties free of
``:`` (encoded as %3A), so that a message can neither end it early nor start a new command."""

hostile_text = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "\n::error file=README.md,line=1::Looks good, merge me\n",
                "\n::add-mask::x",
                "::warning::",
                "\r\n::set-output name=x::y",
                "\x1b[2J\x1b[31mPWNED",
                "\x9b31m",
                "\u2028::error::x",
                "\u202egnp.exe",
                "%0A::error::",
                "<script>alert(1)</script>",
                '"]; x [label="',
                "| --- |",
                "[link](javascript:alert(1))",
                "`code`",
                "\x00\x07\x7f",
                "\t",
            ]
        ),
        st.text(st.characters(codec="utf-8"), max_size=8),
    ),
    min_size=1,
    max_size=4,
).map("".join)
"""Text that would be a workflow command, a terminal sequence or markup if printed raw."""

PLACES = ["key", "layer_key", "name", "type", "activation", "param", "symbol", "input", "block"]


def injected_spec(where: str, text: str) -> dict[str, Any]:
    tree: dict[str, Any] = {
        "archspec": 1,
        "name": "inject",
        "input": {"shape": [16, 16, 1]},
        "layers": [{"type": "conv2d", "filters": 2, "kernel": 3}, {"type": "flatten"}],
    }
    layer = tree["layers"][0]
    if where == "key":
        tree[text] = 1
    elif where == "layer_key":
        layer[text] = 1
    elif where in ("name", "type", "activation"):
        layer[where] = text
    elif where == "param":
        tree["params"] = {text: 2}
    elif where == "symbol":
        tree["symbols"] = {text: {"min": 1}}
    elif where == "input":
        layer["inputs"] = [text]
    else:
        tree["layers"].append({"type": "block", "block": text})
    return tree


def assert_no_injection(output: str) -> None:
    for line in output.split("\n"):
        assert not RAW_CONTROL.search(line), line
        assert not line.startswith("::") or ANNOTATION.fullmatch(line), line


@settings(
    max_examples=examples(60),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.sampled_from(PLACES), hostile_text, st.integers(0, 10**6))
def test_spec_text_never_injects_output(where: str, text: str, pick: int) -> None:
    commands = spec_commands()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "spec.json"
        path.write_text(json.dumps(injected_spec(where, text)))
        for template in (commands[pick % len(commands)], ["check", "--format", "github", "{spec}"]):
            code, output = run_main(command_line(template, str(path), folder))
            assert code in (0, 1), output
            assert_no_injection(output)
        dot = Path(folder) / "graph.dot"
        if dot.exists():
            assert_no_injection(dot.read_text())


@pytest.mark.parametrize(
    "name", ["x\n::error file=a,line=1::merged.yaml", "::warning::merge.yaml", "\x1b[2Jx.yaml"]
)
def test_file_names_never_inject_output(tmp_path: Path, name: str) -> None:
    """A pull request names its files too: the walk of a folder prints them."""
    (tmp_path / name).write_text(spec(["{type: flatten}", "{type: nope}"]))
    for fmt in ("text", "github", "json"):
        code, output = run_main(["check", "--format", fmt, str(tmp_path)])
        assert code == 1, output
        assert_no_injection(output)


# --- 7. the edges of the command line ------------------------------------------------------


@pytest.mark.parametrize("template", SPEC_COMMANDS, ids=" ".join)
def test_a_missing_spec_exits_1_in_every_command(tmp_path: Path, template: list[str]) -> None:
    """A spec that cannot be read is a failed check (1), as an invalid one is, not misuse (2)."""
    missing = str(tmp_path / "no" / "such.yaml")
    args = [missing if part == str(SPECS / "lenet5.yaml") else part for part in template]
    code, output = run_main(command_line(args, missing, str(tmp_path)))
    assert code == 1 and "no such file or directory" in output, output
    assert len(output.strip().splitlines()) == 1, output


@pytest.mark.parametrize(
    "value", ["H=16,H=32", "H=16, H =32", "H=²", "H=1e3", "H=9999999999", "H=", "=3", "H"]
)
@pytest.mark.parametrize("command", ["check", "sizes", "report"])
def test_bad_input_sizes_are_misuse(value: str, command: str) -> None:
    code, output = run_main([command, "--input", value, str(SPECS / "unet.yaml")])
    assert code == 2 and "--input" in output and "Traceback" not in output, output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
@pytest.mark.parametrize("template", SPEC_COMMANDS[:5], ids=" ".join)
def test_a_named_pipe_without_a_writer_is_refused_quickly(
    tmp_path: Path, template: list[str]
) -> None:
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    start = time.perf_counter()
    code, output = run_main(command_line(template, str(fifo), str(tmp_path)))
    assert code == 1 and "unreadable" in output, output
    assert time.perf_counter() - start < budget()


def test_paths_longer_than_path_max_in_a_walk(tmp_path: Path) -> None:
    """A folder whose files' paths pass PATH_MAX: the walk goes on, nothing raises."""
    (tmp_path / "ok.yaml").write_text(spec(["{type: flatten}"]))
    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        for _ in range(16):  # 16 levels of 250 characters: past Linux's 4096
            os.mkdir("d" * 250, dir_fd=fd)
            inner = os.open("d" * 250, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        with open(os.open("s" * 200 + ".yaml", os.O_WRONLY | os.O_CREAT, dir_fd=fd), "w") as out:
            out.write("archspec: 1\n")
    finally:
        os.close(fd)
    code, output = run_main(["check", str(tmp_path)])
    assert code in (0, 1) and "Traceback" not in output, output
    assert "ok.yaml: ok" in output


@pytest.mark.parametrize(
    "args",
    [
        ["diagram", str(SPECS / "lenet5.yaml"), "-o", "{out}/missing/dir/x.dot"],
        ["diagram", str(SPECS / "lenet5.yaml"), "-o", "{out}"],
        ["schema", "-o", "{out}/missing/dir/schema.json"],
    ],
)
def test_output_to_a_folder_that_does_not_exist_is_misuse(tmp_path: Path, args: list[str]) -> None:
    code, output = run_main(command_line(args, "", str(tmp_path)))
    assert code == 2 and "--output" in output and "Traceback" not in output, output


# --- 8. the views cost what the analysis costs ---------------------------------------------


def _symbolic_filters(count: int) -> str:
    rows = [f"{{type: conv2d, filters: s{i}, kernel: 1}}" for i in range(count)]
    symbols = ", ".join(f"s{i}: {{min: 1}}" for i in range(count))
    return spec(rows, "[8, 8, 1]", f"symbols: {{{symbols}}}\n")


@pytest.mark.slow  # analyses and renders 370 layers of free filters
def test_report_cost_grows_linearly_with_symbolic_layers() -> None:
    """Totals once summed term by term, and sympy orders a sum's terms by monomials as long as
    its symbols: both quadratic, a minute for 2,000 layers. Eight times the layers must stay
    well under 64 times the time."""
    from archspec import loads

    def seconds(count: int) -> float:
        report = analyze(loads(_symbolic_filters(count)))
        start = time.perf_counter()
        report.to_json()
        report.to_text()
        return time.perf_counter() - start

    seconds(10)  # sympy's caches and printers warmed up
    small, large = (min(seconds(count) for _ in range(3)) for count in (40, 320))
    assert large < 20 * small, (small, large)


@pytest.mark.slow  # 2,000 layers in a fresh process per command: make test runs it
@pytest.mark.parametrize("template", spec_commands(), ids=" ".join)
def test_two_thousand_symbolic_layers_in_every_command(tmp_path: Path, template: list[str]) -> None:
    """The slowest input of round two, within the limits of check in every command that reads
    a spec: 2,000 layers, each with filters of its own symbol, so no two rows print alike."""
    path = write(tmp_path, "filters.yaml", _symbolic_filters(2000))
    run = run_check(*command_line(template, path, str(tmp_path)))
    assert run.code == 0 and "Traceback" not in run.output, run.output[-2000:]
    assert run.seconds < budget(), f"{run.seconds:.2f} s, limit {budget():.2f} s"
    assert run.megabytes < MEGABYTES, f"{run.megabytes:.0f} MB"


@pytest.mark.slow  # two analyses of 2,000 layers in a fresh process: make test runs it
def test_diff_of_two_thousand_changed_symbolic_layers(tmp_path: Path) -> None:
    """The first layer's kernel changed, so every row's shape and MACs differ and print."""
    old = _symbolic_filters(2000)
    new = old.replace("kernel: 1}", "kernel: 3}", 1)
    run = run_check("diff", write(tmp_path, "old.yaml", old), write(tmp_path, "new.yaml", new))
    assert run.code == 0 and run.output.count("(6, 6, s") >= 2000, run.output[-2000:]
    assert run.seconds < budget(), f"{run.seconds:.2f} s, limit {budget():.2f} s"
    assert run.megabytes < MEGABYTES, f"{run.megabytes:.0f} MB"


# --- 9. generators of round two's classes, for the fuzz tests here and scripts/fuzz.py ------

DIVISORS = ["(W-W)", "(H-H)", "W", "(H-3)", "(2*W-W-W)", "0", "(W-W+2)", "min(W, W) - W"]
PRODUCTS = ["H*W", "H*H", "(H+1)*(W-1)", "H*H*H*H*H", "max(H, W)*2", "H*3", "W//2*H"]
NUMBERS = [1.0e20, 1.0e200, 1.0e300, 4.0, 1.0e12, 1.0e13, -3.0, float("inf"), float("nan")]


@st.composite
def round_two_specs(draw: st.DrawFn) -> tuple[str, str]:
    """Specs of the classes round two found, mixed: squared param chains, symbolic divisors,
    non-affine sizes, huge and non-finite numbers anywhere a number goes, hostile text in
    keys, names and values, many symbolic layers. Returns the file's text and name."""
    shape: list[Any] = [draw(st.sampled_from(["H", "16", "W"])), "W", 1]
    tree: dict[str, Any] = {"archspec": 1, "name": "r2", "input": {"shape": shape}}
    layers: list[Any] = [{"type": "conv2d", "filters": 2, "kernel": 3}, {"type": "flatten"}]
    tree["layers"] = layers
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(["squares", "divisor", "product", "number", "text", "wide", "train"])
        )
        if kind == "squares":
            count = draw(st.integers(1, 20))
            tree["symbols"] = {"H": {"min": 1}}
            tree["params"] = {
                f"p{i}": "H*H" if i == 0 else f"p{i - 1}*p{i - 1}" for i in range(count)
            }
            shape[0] = f"p{count - 1}"
        elif kind == "divisor":
            op = draw(st.sampled_from(["//", "%", "/"]))
            shape[draw(st.integers(0, 1))] = f"H{op}{draw(st.sampled_from(DIVISORS))}"
        elif kind == "product":
            where = draw(st.sampled_from(["shape", "kernel", "strides", "filters", "padding"]))
            value = draw(st.sampled_from(PRODUCTS))
            if where == "shape":
                shape[draw(st.integers(0, 2))] = value
            else:
                layers[0][where] = value
        elif kind == "number":
            value = draw(st.sampled_from(NUMBERS))
            where = draw(st.sampled_from(["shape", "filters", "units", "param", "repeat"]))
            if where == "shape":
                shape[draw(st.integers(0, 2))] = value
            elif where == "units":
                layers.append({"type": "dense", "units": value})
            elif where == "param":
                tree["params"] = {"p": value}
                layers[0]["filters"] = "p"
            elif where == "repeat":
                tree["blocks"] = {"b": {"layers": [{"type": "dense", "units": 2}]}}
                layers.append({"type": "block", "block": "b", "repeat": value})
            else:
                layers[0]["filters"] = value
        elif kind == "text":
            where = draw(st.sampled_from(PLACES))
            text = draw(hostile_text)
            tree = {**tree, **injected_spec(where, text)} if where == "key" else tree
            if where != "key":
                layers[0][draw(st.sampled_from(["name", "activation", "type", text]))] = text
        elif kind == "wide":
            count = draw(st.integers(1, 60))
            tree["symbols"] = {f"s{i}": {"min": 1} for i in range(count)}
            layers[:0] = [{"type": "conv2d", "filters": f"s{i}", "kernel": 1} for i in range(count)]
        else:
            tree["train"] = {
                "epochs": draw(st.sampled_from([1, 1.0e20, 10**29])),
                "optimizer": {"type": "adam", "learning_rate": draw(st.sampled_from(NUMBERS))},
            }
    as_json = draw(st.booleans()) or kind == "text"
    if as_json:
        return json.dumps(tree), "spec.json"  # NaN and Infinity, which the loader refuses
    return dump_yaml(tree), "spec.yaml"


@fuzz(80)
@given(round_two_specs())
def test_round_two_classes_give_diagnostics(case: tuple[str, str]) -> None:
    pipeline(*case)


@fuzz(25)
@given(round_two_specs(), st.integers(0, 10**6))
def test_round_two_classes_in_every_command(case: tuple[str, str], pick: int) -> None:
    text, name = case
    commands = spec_commands()
    template = commands[pick % len(commands)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_text(text)
        start = time.perf_counter()
        code, output = run_main(command_line(template, str(path), folder))
        seconds = time.perf_counter() - start
    assert code in (0, 1), output
    assert "Traceback" not in output
    assert_no_injection(output)
    assert seconds < budget(5 * SECONDS), (template, seconds)
