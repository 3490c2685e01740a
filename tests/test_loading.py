"""The loader: positions of every node, strict JSON, and hostile YAML refused within bounds."""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archspec.diagnostics import SpecError
from archspec.limits import Limits
from archspec.loader import _walk, dump_yaml, load_text

YAML = """\
archspec: 1
name: net
layers:
  - name: c1
    kernel: [3, 5]
  - {name: c2, kernel: 7}
"""


def error(text: str | bytes, file: str = "x.yaml", **limits: int) -> dict:
    with pytest.raises(SpecError) as info:
        load_text(text, file, limits=Limits(**limits) if limits else None)
    [d] = info.value.diagnostics
    return d.to_dict()


def test_positions_of_values_and_keys() -> None:
    doc = load_text(YAML, "x.yaml")
    lines = YAML.splitlines()
    assert doc.position(("layers", 0, "kernel", 1)) == (5, lines[4].index("5") + 1)
    assert doc.position(("layers", 1, "kernel")) == (6, lines[5].index("7") + 1)
    assert doc.key_position(("layers", 1, "kernel")) == (6, lines[5].index("kernel") + 1)
    assert doc.key_position(("layers", 0, "name")) == (4, lines[3].index("name") + 1)
    # a path that does not exist falls back to its nearest ancestor
    assert doc.position(("layers", 1, "strides")) == (6, 5)


def test_json_positions_and_strict_errors() -> None:
    text = '{"archspec":1,"name":"n",\n "layers":[{"type":"conv2d","kernel":3}]}'
    doc = load_text(text, "x.json")
    assert doc.data["layers"][0]["kernel"] == 3
    assert doc.position(("layers", 0, "kernel")) == (2, text.splitlines()[1].index("3") + 1)
    d = error('{"a": 1,\n "b": [1, 2,]}', "x.json")
    assert (d["code"], d["line"], d["column"]) == ("json-syntax", 2, 13)


def test_syntax_error_location() -> None:
    d = error("a: 1\nb: [1, 2\nc: 3\n")
    assert d["code"] == "yaml-syntax" and d["line"] == 3


def test_duplicate_key_points_at_the_second() -> None:
    d = error("a: 1\nb: 2\na: 3\n")
    assert (d["code"], d["line"], d["column"]) == ("duplicate-key", 3, 1)


def test_python_tags_are_refused_and_not_run(tmp_path) -> None:
    marker = tmp_path / "ran"
    d = error(f"a: !!python/object/apply:os.system ['touch {marker}']\n")
    assert d["code"] == "bad-tag"
    assert not marker.exists()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (b"\x00\x01binary", "binary-file"),
        (b"a: \xff\xfe\n", "encoding"),
        ("kernel: " + "9" * 101 + "\n", "limit-exceeded"),
        ("- 1\n- 2\n", "not-a-mapping"),
        ("", "not-a-mapping"),
        ("1: a\n", "bad-key"),
    ],
)
def test_bad_files(text: str | bytes, code: str) -> None:
    assert error(text)["code"] == code


def bounded(text: str) -> dict:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        d = error(text)
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert time.perf_counter() - start < 2.0
    assert peak < 300 * 2**20
    return d


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 9):
        prev, name = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]")
    assert bounded("\n".join(lines) + "\n")["code"] == "limit-exceeded"


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 20_000 + "]" * 20_000 + "\n",
        "".join(" " * i + f"k{i}:\n" for i in range(20_000)) + " " * 20_000 + "x: 1\n",
    ],
    ids=["flow", "block"],
)
def test_deep_nesting_is_refused_quickly(text: str) -> None:
    assert bounded(text)["code"] == "limit-exceeded"


def test_size_limit_before_parsing() -> None:
    assert error("a: 1\n" * 100, max_bytes=100)["code"] == "limit-exceeded"


trees = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**9), 10**9),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True), children, max_size=4
        ),
    ),
    max_leaves=20,
)


@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), trees, min_size=1, max_size=4
    )
)
def test_round_trip_and_every_node_has_a_position(tree: dict) -> None:
    for text, name in ((dump_yaml(tree), "t.yaml"), (json.dumps(tree), "t.json")):
        doc = load_text(text, name)
        assert doc.data == tree
        for path in _walk(tree):
            assert doc.values.get(path) is not None, path
