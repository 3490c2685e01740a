"""The loader: exact positions, strict JSON, located errors, and hostile files refused cheaply."""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import test_hostile as hostile
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tiers import examples

from archspec import loader
from archspec.diagnostics import SpecError
from archspec.limits import DEFAULT_LIMITS, Limits
from archspec.loader import Document, _walk, dump_yaml, load_file, load_text


def error(text: str | bytes, file: str = "x.yaml", **limits: int) -> dict[str, Any]:
    """The single diagnostic that loading ``text`` raises, as the CLI's JSON output has it."""
    with pytest.raises(SpecError) as info:
        load_text(text, file, limits=Limits(**limits) if limits else None)
    [found] = info.value.diagnostics
    assert found.file == file
    return found.to_dict()


def where(found: dict[str, Any]) -> tuple[str, int | None, int | None]:
    return found["code"], found["line"], found["column"]


# ------------------------------------------------------------------------------- positions

YAML = """\
archspec: 1
name: net
layers:
  - name: c1
    kernel: [3, 5]
  - {name: c2, kernel: 7}
  -   type: dense
      units: 10
"""


def test_yaml_positions_of_nested_values_and_keys() -> None:
    doc = load_text(YAML, "x.yaml")
    assert doc.position(()) == (1, 1)
    assert doc.position(("name",)) == (2, 7)
    assert doc.position(("layers",)) == (4, 3)
    assert doc.position(("layers", 0)) == (4, 5)
    assert doc.position(("layers", 0, "kernel")) == (5, 13)
    assert doc.position(("layers", 0, "kernel", 1)) == (5, 17)
    assert doc.position(("layers", 1)) == (6, 5)
    assert doc.position(("layers", 1, "kernel")) == (6, 24)
    assert doc.position(("layers", 2, "units")) == (8, 14)
    assert doc.key_position(("layers",)) == (3, 1)
    assert doc.key_position(("layers", 0, "kernel")) == (5, 5)
    assert doc.key_position(("layers", 1, "kernel")) == (6, 16)
    assert doc.key_position(("layers", 2, "units")) == (8, 7)


def test_missing_paths_fall_back_to_the_nearest_ancestor() -> None:
    doc = load_text(YAML, "x.yaml")
    assert doc.position(("layers", 1, "strides")) == (6, 5)
    assert doc.position(("layers", 9, "kernel")) == (4, 3)
    assert doc.position(("nothing", "here")) == (1, 1)
    # a list index has no key of its own; a missing key falls back to where its value would be
    assert doc.key_position(("layers", 1)) == (6, 5)
    assert doc.key_position(("layers", 1, "strides")) == (6, 5)


def test_json_positions_without_spaces_and_with_tabs() -> None:
    compact = '{"a":1,"b":[1,2]}'
    doc = load_text(compact, "x.json")
    assert doc.data == {"a": 1, "b": [1, 2]}
    assert doc.position(("a",)) == (1, 6)
    assert doc.position(("b",)) == (1, 12)
    assert doc.position(("b", 1)) == (1, 15)
    assert doc.key_position(("b",)) == (1, 8)

    pretty = '{\n\t"layers": [\n\t\t{"type": "conv2d",\t"kernel": 3}\n\t]\n}\n'
    doc = load_text(pretty, "x.json")
    assert doc.position(("layers",)) == (2, 12)
    assert doc.position(("layers", 0)) == (3, 3)
    assert doc.position(("layers", 0, "kernel")) == (3, 32)
    assert doc.key_position(("layers", 0, "kernel")) == (3, 22)


def test_json_keeps_json_semantics() -> None:
    doc = load_text('{"lr": 1e-3, "on": true, "s": "\\ud83d\\ude00", "k": "' + "k" * 2000 + '"}')
    assert doc.data["lr"] == 0.001
    assert doc.data["on"] is True
    assert doc.data["s"] == "\U0001f600"
    assert doc.position(("k",)) == (1, 52)


def test_crlf_and_bom() -> None:
    doc = load_text(b"\xef\xbb\xbfa: 1\r\nb:\r\n  c: 2\r\n", "x.yaml")
    assert doc.data == {"a": 1, "b": {"c": 2}}
    assert doc.key_position(("a",)) == (1, 1)
    assert doc.position(("b", "c")) == (3, 6)
    doc = load_text('\ufeff{"a": 1}', "<string>")
    assert doc.position(("a",)) == (1, 7)


# ------------------------------------------------------------------------ what YAML means


def test_yaml_1_1_scalars_are_kept_as_pyyaml_reads_them() -> None:
    text = "a: yes\nb: off\nc: 1e-3\nd: 1.0e-3\ne: 2024-01-01\nf: 1:30\ng: 017\nh: ~\ni: =\n"
    assert load_text(text).data == {
        "a": True,
        "b": False,
        "c": "1e-3",
        "d": 0.001,
        "e": "2024-01-01",
        "f": 90,
        "g": 15,
        "h": None,
        "i": "=",
    }
    assert load_text("a: !!str 12\nb: !!float 1\n").data == {"a": "12", "b": 1.0}


@pytest.mark.parametrize(
    ("text", "line", "column", "says"),
    [
        ("a: 1\n1: 2\n", 2, 1, "'1' reads as int"),
        ("layers: 1\non: push\n", 2, 1, "'on' reads as bool"),
        ("a:\n  ? [1, 2]\n  : 3\n", 2, 5, "not lists or mappings"),
        ("base: &b {x: 1}\nc:\n  <<: *b\n", 3, 3, "merge keys"),
    ],
)
def test_keys_must_be_names(text: str, line: int, column: int, says: str) -> None:
    found = error(text)
    assert where(found) == ("bad-key", line, column)
    assert says in found["message"]


# ------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("text", "line", "column", "problem", "hint"),
    [
        ("a: 1\nb: [1, 2\nc: 3\n", 3, 2, "expected ',' or ']'", "closing ']'"),
        ("a: b: c\n", 1, 5, "mapping values are not allowed here", "quote"),
        ("a:\n\tb: 1\n", 2, 1, "found character '\\t'", "spaces"),
        ("a: 1\n---\nb: 2\n", 2, 1, "expected a single document", "one spec per file"),
        ("a: *nowhere\n", 1, 4, "found undefined alias", "anchor"),
    ],
)
def test_yaml_syntax_errors_are_located(
    text: str, line: int, column: int, problem: str, hint: str
) -> None:
    found = error(text)
    assert where(found) == ("yaml-syntax", line, column)
    assert found["message"].startswith("could not parse YAML: ")
    assert problem in found["message"]
    assert hint in found["hint"]


@pytest.mark.parametrize(
    ("text", "file", "line", "column"),
    [
        ('{"a": 1,\n "b": [1, 2,]}', "x.json", 2, 13),
        ("{'a': 1}", "x.json", 1, 2),
        ("{a: 1}", "<string>", 1, 2),  # text starting with '{' is JSON unless named .yaml
        ('{"a": 1} x', "x.json", 1, 10),
    ],
)
def test_json_is_strict_and_located(text: str, file: str, line: int, column: int) -> None:
    found = error(text, file)
    assert where(found) == ("json-syntax", line, column)
    assert found["message"].startswith("could not parse JSON: ")


def test_flow_yaml_named_yaml_is_yaml() -> None:
    assert load_text("{a: 1}", "x.yaml").data == {"a": 1}


@pytest.mark.parametrize(
    ("text", "value"), [('{"a": NaN}', "NaN"), ('{"a": [-Infinity]}', "-Infinity")]
)
def test_json_without_nan_or_infinity(text: str, value: str) -> None:
    found = error(text, "x.json")
    assert found["code"] == "json-syntax" and found["message"] == f"{value} is not JSON"
    assert found["column"] == text.index(value) + 1


@pytest.mark.parametrize(
    ("text", "file", "line", "column"),
    [
        ("a: 1\nb: 2\na: 3\n", "x.yaml", 3, 1),
        ("layers:\n  - {type: dense, units: 3, type: conv2d}\n", "x.yaml", 2, 29),
        ('{"a": {"b": 1,\n       "b": 2}}', "x.json", 2, 8),
    ],
)
def test_duplicate_keys_point_at_the_second(text: str, file: str, line: int, column: int) -> None:
    found = error(text, file)
    assert where(found) == ("duplicate-key", line, column)
    assert "silently keep the last" in found["hint"]


def test_python_tags_are_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    for text in (
        f"a: !!python/object/apply:os.system ['touch {marker}']\n",
        f"a: !!python/object/apply:os.system\n  args: ['touch {marker}']\n",
        "a: !!python/name:os.system ''\n",
        "a: !!python/object/new:os.system\n",
    ):
        found = error(text)
        assert where(found) == ("bad-tag", 1, 4)
        assert "python/" in found["message"]
    assert not marker.exists()


@pytest.mark.parametrize(
    "text", ["a: !!binary aGk=\n", "a: !!set {x}\n", "a: !local 1\n", "a: !!omap []\n"]
)
def test_other_tags_are_refused(text: str) -> None:
    assert where(error(text)) == ("bad-tag", 1, 4)


@pytest.mark.parametrize(
    ("text", "code", "line", "column"),
    [
        ("a: !!bool maybe\n", "bad-value", 1, 4),
        ("a: !!int ''\n", "bad-value", 1, 4),
        ("a: !!int x\n", "bad-value", 1, 4),
        ("b: [1, .nan]\n", "bad-value", 1, 8),
        ("- 1\n- 2\n", "not-a-mapping", 1, 1),
        ("just text\n", "not-a-mapping", 1, 1),
        ("", "not-a-mapping", None, None),
        ("# only a comment\n", "not-a-mapping", None, None),
    ],
)
def test_bad_values_are_located(text: str, code: str, line: int, column: int) -> None:
    assert where(error(text)) == (code, line, column)


@pytest.mark.parametrize(
    ("raw", "code", "line", "column"),
    [
        (b"a: 1\nb: \x00\x01\x02", "binary-file", 2, 4),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary-file", 3, 1),
        (b"a: 1\nname: caf\xe9\n", "encoding", 2, 10),
        ("a: 1\nname: é\xff".encode()[:-2] + b"\xff", "encoding", 2, 8),
        ("a: 1".encode("utf-16"), "encoding", 1, 1),
        ("a: 1\nb: x\x01\n", "encoding", 2, 5),
        ("a: 1\nb: \x00", "binary-file", 2, 4),
    ],
)
def test_binary_and_badly_encoded_files(
    raw: str | bytes, code: str, line: int, column: int
) -> None:
    assert where(error(raw)) == (code, line, column)


def test_files(tmp_path: Path) -> None:
    good = tmp_path / "net.yaml"
    good.write_text(YAML)
    doc = load_file(good)
    assert doc.file == str(good) and doc.data["layers"][1]["kernel"] == 7
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": 1,\n"a": 2}')
    with pytest.raises(SpecError) as info:
        load_file(bad)
    assert info.value.diagnostics[0].render().startswith(f"{bad}:2:1: error: ")
    for path, code in ((tmp_path / "missing.yaml", "file-not-found"), (tmp_path, "file-not-found")):
        with pytest.raises(SpecError) as info:
            load_file(path)
        assert info.value.diagnostics[0].code == code
        assert info.value.diagnostics[0].file == str(path)


# ------------------------------------------------------------------------------- limits


def test_default_limits_are_documented_and_generous_for_real_specs() -> None:
    assert Limits() == DEFAULT_LIMITS
    assert DEFAULT_LIMITS.max_bytes >= 1024 * 1024
    assert DEFAULT_LIMITS.max_depth >= 16 and DEFAULT_LIMITS.max_nodes >= 10_000
    spec = Path(__file__).resolve().parent.parent / "specs" / "resnet50.yaml"
    if spec.exists():
        doc = load_file(spec)
        assert len(doc.values) + len(doc.keys) < DEFAULT_LIMITS.max_nodes // 10


@pytest.mark.parametrize("file", ["x.yaml", "x.json"])
def test_node_limit_counts_keys_and_is_exact(file: str) -> None:
    text = '{"a": [1, 2, 3]}'  # mapping, key, list, three ints: 6 nodes
    assert load_text(text, file, limits=Limits(max_nodes=6)).data == {"a": [1, 2, 3]}
    found = error(text, file, max_nodes=5)
    assert found["code"] == "limit-exceeded" and "the limit is 5" in found["message"]


@pytest.mark.parametrize("file", ["x.yaml", "x.json"])
def test_depth_limit_is_exact(file: str) -> None:
    def nested(levels: int) -> str:
        return '{"a": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"

    assert load_text(nested(5), file, limits=Limits(max_depth=5))
    found = error(nested(6), file, max_depth=5)
    assert where(found) == ("limit-exceeded", 1, 11)
    assert "deeper than 5 levels" in found["message"]


def test_size_limit_is_checked_before_parsing() -> None:
    text = "a: [" * 20  # unparseable: only the size is looked at
    assert where(error(text, max_bytes=79)) == ("limit-exceeded", None, None)
    assert "is 80 bytes; the limit is 79" in error(text.encode(), max_bytes=79)["message"]
    assert error(text, max_bytes=80)["code"] == "yaml-syntax"


def test_load_file_reads_no_more_than_the_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n" + b"#" * 5000)
    with pytest.raises(SpecError) as info:
        load_file(big, limits=Limits(max_bytes=1000))
    assert "is 1001 bytes; the limit is 1000" in info.value.diagnostics[0].message
    if Path("/dev/zero").exists():
        with pytest.raises(SpecError) as info:
            load_file("/dev/zero")
        assert info.value.diagnostics[0].code == "limit-exceeded"


@pytest.mark.parametrize(
    ("text", "file", "column"),
    [
        ("a: " + "1" * 100 + "\n", "x.yaml", 4),
        ("a: 1\nb: 0x" + "f" * 40 + "\n", "x.yaml", 4),
        ("a: 1\nb: -" + "9" * 31 + "\n", "x.yaml", 4),
        ('{"a": 1,\n"b": ' + "1" * 10_000 + "}", "x.json", 6),
    ],
)
def test_huge_integers(text: str, file: str, column: int) -> None:
    found = error(text, file)
    assert where(found)[0] == "limit-exceeded" and found["column"] == column
    assert "30" in found["message"]


def test_the_largest_integer_allowed() -> None:
    assert load_text("a: " + "9" * 30).data["a"] == 10**30 - 1
    assert load_text('{"a": -' + "9" * 30 + "}").data["a"] == 1 - 10**30


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "x" * 10_001,
        "a: '" + "x" * 10_001 + "'",
        "a: |\n" + "  xxxxxxxxx\n" * 1001,
        "? " + "x" * 10_001 + "\n: 1",
        '{"a": "' + "x" * 10_001 + '"}',
        '{"' + "x" * 10_001 + '": 1}',
        '{"a": 1.' + "0" * 10_001 + "}",
    ],
)
def test_huge_strings(text: str) -> None:
    found = error(text, "<string>")
    assert found["code"] == "limit-exceeded" and "the limit is 10000" in found["message"]
    assert found["line"] == 1


def test_long_escaped_json_strings_are_cheap() -> None:
    found = bounded('{"a": "' + "\\n" * 400_000 + '"}', "x.json")
    assert found["code"] == "limit-exceeded"


def bounded(text: str, file: str = "x.yaml", **limits: int) -> dict[str, Any]:
    """The error for a hostile file, which must come within 2 s and 300 MB even on a slow CI."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        found = error(text, file, **limits)
    finally:
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < 2.0, f"{elapsed:.2f} s"
    assert peak < 300 * 2**20, f"{peak / 2**20:.0f} MiB"
    return found


def billion_laughs(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]")
    return "\n".join(lines) + "\n"


def test_billion_laughs() -> None:
    found = bounded(billion_laughs())
    assert where(found)[0] == "limit-exceeded"
    assert f"the limit is {DEFAULT_LIMITS.max_nodes}" in found["message"]
    assert "aliases" in found["hint"]


def test_aliases_count_each_use() -> None:
    text = billion_laughs(2)  # 1 + 3 keys + 10 + (1 + 9*10) + (1 + 9*91) = 925 nodes, 34 written
    assert load_text(text, limits=Limits(max_nodes=925)).data["a2"][8][8] == ["lol"] * 9
    assert "925 nodes" in error(text, max_nodes=924)["message"]


def test_recursive_alias() -> None:
    assert bounded("a: &a [1, *a]\n")["code"] == "limit-exceeded"


def test_aliases_cannot_nest_past_the_depth_limit() -> None:
    lines = ["a0: &a0 [[[[[[[[1]]]]]]]]"]
    lines += [f"a{i}: &a{i} [[[[[[[[*a{i - 1}]]]]]]]]" for i in range(1, 20)]
    found = bounded("\n".join(lines))
    assert "deeper than 64" in found["message"]


@pytest.mark.parametrize(
    ("text", "file"),
    [
        ("a: " + "[" * 20_000 + "]" * 20_000 + "\n", "x.yaml"),
        ("a: " + "{b: " * 20_000 + "1" + "}" * 20_000 + "\n", "x.yaml"),
        ("a:\n" + "- " * 20_000 + "1\n", "x.yaml"),
        ("".join(" " * i + f"k{i}:\n" for i in range(1400)) + " " * 1400 + "x: 1\n", "x.yaml"),
        ('{"a": ' + "[" * 20_000 + "]" * 20_000 + "}", "x.json"),
        ('{"a": ' + "[" * 20_000, "x.json"),
        ('{"a": ' + '{"b": ' * 20_000 + "1" + "}" * 20_000 + "}", "x.json"),
    ],
    ids=["flow-lists", "flow-maps", "block-lists", "block-maps", "json", "json-open", "json-maps"],
)
def test_deep_nesting(text: str, file: str) -> None:
    found = bounded(text, file)
    assert found["code"] == "limit-exceeded" and "deeper than 64 levels" in found["message"]
    assert found["line"] is not None


def test_deep_nesting_beyond_the_size_limit() -> None:
    # 20,000 levels of indented mappings need 200 MB of indentation: the size limit sees it first.
    text = "".join(" " * i + "k:\n" for i in range(20_000))
    assert bounded(text)["message"].endswith(f"the limit is {DEFAULT_LIMITS.max_bytes}")


def test_a_depth_limit_above_the_stack_still_gives_a_spec_error() -> None:
    found = bounded("a: " + "[" * 5_000 + "]" * 5_000, max_depth=100_000)
    assert found["code"] == "limit-exceeded"


def test_many_nodes_stop_at_the_limit() -> None:
    # the mapping, its key and the list are 3 nodes: item 1998, on line 1999, is node 2001
    found = bounded("a:\n" + "- 1\n" * 200_000, max_bytes=10**6, max_nodes=2_000)
    assert where(found) == ("limit-exceeded", 1_999, 3)


# ----------------------------------------------------------------------------- properties

names = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**18), 10**18),
    st.floats(-1e29, 1e29),  # beyond 10**max_int_digits a float is refused, as an int is
    names,
)
trees = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(names, children, max_size=4)
    ),
    max_leaves=25,
)
documents = st.dictionaries(names, trees, max_size=5)


def offset_of(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    return sum(len(s) + 1 for s in lines[: line - 1]) + column - 1


@given(documents)
def test_yaml_round_trip_with_a_position_for_every_node(tree: dict[str, Any]) -> None:
    text = dump_yaml(tree)
    doc = load_text(text, "t.yaml")
    assert doc.data == tree
    seen: list[tuple[int, int]] = []
    for path in _walk(tree):
        found = doc.values.get(path)
        assert found is not None, path
        assert not seen or found >= seen[-1], (path, found)  # YAML is written in order
        seen.append(found)
        if path and isinstance(path[-1], str):
            key = doc.keys[path]
            assert key < found
            assert text[offset_of(text, *key) :].startswith(("'", '"', path[-1][:1] or "'"))


@given(documents, st.sampled_from([None, 1, "\t"]))
def test_json_round_trip_and_each_position_decodes_to_its_node(
    tree: dict[str, Any], indent: int | str | None
) -> None:
    text = json.dumps(tree, indent=indent)
    doc = load_text(text, "t.json")
    assert doc.data == tree
    decoder = json.JSONDecoder()
    for path in _walk(tree):
        node: Any = tree
        for part in path:
            node = node[part]
        at = offset_of(text, *doc.values[path])
        assert decoder.raw_decode(text, at)[0] == node, path
        if path and isinstance(path[-1], str):
            assert decoder.raw_decode(text, offset_of(text, *doc.keys[path]))[0] == path[-1]


def test_dump_yaml_is_block_style_in_key_order() -> None:
    tree = {"name": "n", "layers": [{"type": "dense", "units": 3}], "archspec": 1}
    assert dump_yaml(tree) == "name: n\nlayers:\n- type: dense\n  units: 3\narchspec: 1\n"


@given(st.text(alphabet=st.sampled_from(list("ab:- \n\t[]{},&*!|>'\"#%@`?~1.e\\")), max_size=60))
def test_any_text_loads_or_raises_a_located_spec_error(text: str) -> None:
    for file in ("t.yaml", "t.json"):
        try:
            doc = load_text(text, file)
        except SpecError as exc:
            assert exc.diagnostics and all(d.code and d.file == file for d in exc.diagnostics)
        else:
            assert isinstance(doc, Document) and isinstance(doc.data, dict)


@given(st.binary(max_size=80))
def test_any_bytes_load_or_raise_a_spec_error(raw: bytes) -> None:
    try:
        load_text(raw, "t.yaml")
    except SpecError as exc:
        assert exc.diagnostics[0].code


# ---------------------------------------------------------------- libyaml and the pure loader

needs_libyaml = pytest.mark.skipif(loader._CLoader is None, reason="PyYAML built without libyaml")


def pure(text: str | bytes, file: str = "x.yaml", limits: Limits | None = None) -> Any:
    """What the pure-Python loader makes of ``text``: a Document, or the diagnostics it raises."""
    saved = loader._CLoader
    loader._CLoader = None
    try:
        return outcome(text, file, limits)
    finally:
        loader._CLoader = saved


def outcome(text: str | bytes, file: str = "x.yaml", limits: Limits | None = None) -> Any:
    """A loaded file as comparable values: the tree with its types, and both position maps."""
    try:
        doc = load_text(text, file, limits=limits)
    except SpecError as exc:
        return ("refused", [d.to_dict() for d in exc.diagnostics])
    return ("loaded", typed(doc.data), doc.values, doc.keys)


def libyaml_only(text: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """libyaml's reading with no pure loader behind it, or None where it refuses."""
    assert loader._CLoader is not None
    try:
        doc = loader._compose(loader._CLoader(text, "x.yaml", limits), "x.yaml", limits)
    except Exception:
        return None
    return ("loaded", typed(doc.data), doc.values, doc.keys)


def typed(data: Any) -> Any:
    """The tree with every scalar's type, so 1, 1.0 and True differ."""
    if isinstance(data, dict):
        return {key: typed(value) for key, value in data.items()}
    if isinstance(data, list):
        return [typed(value) for value in data]
    return (type(data).__name__, repr(data))


@needs_libyaml
def test_libyaml_is_used_when_present(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any) -> Document:
        raise AssertionError("the pure loader was used")

    monkeypatch.setattr(loader, "_load_yaml_pure", refuse)
    assert load_text(YAML, "x.yaml").data["layers"][2] == {"type": "dense", "units": 10}


def test_the_pure_loader_stands_in_without_libyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loader, "_CLoader", None)
    test_yaml_positions_of_nested_values_and_keys()
    assert where(error("a: 1\nb: [1, 2\nc: 3\n")) == ("yaml-syntax", 3, 2)
    assert bounded("a: " + "[" * 20_000 + "]" * 20_000 + "\n")["code"] == "limit-exceeded"


NON_ASCII = """\
名前: ネット
clé: [é, ü, "ö"]
'ключ': {значение: 😀😀, 日本: 1}
emoji😀: |
  ligne é
  ligne ü
after: 'ça' # commentaire é
list:
  - ä: 1
    ö: [2, 3]
"""


@needs_libyaml
def test_libyaml_positions_count_characters_not_bytes() -> None:
    found = outcome(NON_ASCII)
    assert found == pure(NON_ASCII)
    _, _, values, keys = found
    assert values[("clé", 2)] == (2, 13)
    assert values[("ключ", "日本")] == (3, 28)
    assert keys[("ключ", "日本")] == (3, 24)
    assert values[("emoji😀",)] == (4, 9)
    assert values[("after",)] == (7, 8)
    assert values[("list", 0, "ö", 1)] == (10, 12)


SPEC_ERRORS = [
    "a: 1\nb: [1, 2\nc: 3\n",
    "a: b: c\n",
    "a: 1\n---\nb: 2\n",
    "a: *nowhere\n",
    "a: &x 1\nb: &x 2\n",
    "a: 1\nb: x\x01\n",
    "a: 1\nb: x\x85\x7f\n",
    "a: 'open\n",
    'a: "\\ud800"\n',
    'a: "\\q"\n',
    "a: !!python/object/apply:os.system ['true']\n",
    "a: 1\na: 2\n",
    "1: x\n",
    "- 1\n",
    "",
    "%YAML 1.3\n---\na: 1\n",
    "%YAML 2.0\n---\na: 1\n",
    "a: " + "[" * 100 + "]" * 100,
    "a: " + "1" * 40,
    "a: " + "x" * 10_001,
]


@needs_libyaml
@pytest.mark.parametrize("text", SPEC_ERRORS)
def test_libyaml_path_gives_the_pure_loaders_result(text: str) -> None:
    assert outcome(text) == pure(text)


@needs_libyaml
@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 100_000 + "]" * 100_000 + "\n",
        "a: " + "[" * 100_000,
        "a: " + "{b: " * 100_000 + "1" + "}" * 100_000 + "\n",
        "a:\n" + "- " * 100_000 + "1\n",
        "a: &x " + "[" * 100_000 + "*x" + "]" * 100_000 + "\n",
    ],
    ids=["flow-lists", "unclosed", "flow-maps", "block-lists", "anchored"],
)
def test_libyaml_refuses_deep_nesting_as_it_reads(text: str) -> None:
    assert libyaml_only(text) is None  # refused, not crashed, in the C path alone
    found = bounded(text)
    assert found["code"] == "limit-exceeded" and "deeper than 64 levels" in found["message"]
    assert found["line"] is not None
    assert found == pure(text)[1][0]


# Spec-like YAML in every style both parsers read: block and flow collections, plain and quoted
# scalars with escapes, block scalars, anchors and aliases, tags, comments, non-ASCII text,
# other line breaks, directives and document markers.
WORDS = [
    "conv2d", "relu", "same", "H", "W//2", "ключ", "naïve", "日本", "😀", "a b", "x:y", "-1",
    "0x1F", "1e-3", "1.0e-3", "yes", "~", "null", "", "017", "1:30", "=", "<<", "#c", "a#b",
    "[x]", "{y}", "'q'", '"d"', "\\", "\x85", "\u2028", "é\u2029", "\r", "\x7f", "\ufeff",
    " lead", "trail ", "%p", "@at", "`bt", "!bang", "&amp", "*star", "?q", "- d", ": c", "|p",
]  # fmt: skip
PRINTABLE = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn"))
words = st.one_of(st.sampled_from(WORDS), st.text(PRINTABLE, max_size=8))
PLAIN_BREAKERS = set(":#[]{},&*!|>'\"%@`\n\r\x85\u2028\u2029")


@st.composite
def yaml_scalars(draw: st.DrawFn) -> str:
    word = draw(words)
    style = draw(st.sampled_from(["plain", "plain", "single", "double", "as-is"]))
    plain = word and word.strip() == word and not PLAIN_BREAKERS & set(word)
    if style == "as-is" or (style == "plain" and plain):
        return word
    if style == "double":
        out = []
        for ch in word:
            if ch in '"\\':
                out.append("\\" + ch)
            elif ch.isprintable() and (ch.isascii() or draw(st.booleans())):
                out.append(ch)
            else:
                out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
        return '"' + "".join(out) + '"'
    return "'" + word.replace("'", "''") + "'"


@st.composite
def spec_like_yaml(draw: st.DrawFn) -> str:
    newline = draw(st.sampled_from(["\n"] * 8 + ["\r\n", "\r", "\x85", "\u2028"]))
    anchors: list[str] = []

    def properties() -> str:
        out = ""
        if draw(st.integers(0, 9)) == 0:
            anchors.append(
                draw(st.sampled_from(["a", "x1", "n-2", "é", "a_b"])) + str(len(anchors))
            )
            out += f"&{anchors[-1]} "
        if draw(st.integers(0, 14)) == 0:
            out += draw(st.sampled_from(["!!str ", "!!int ", "! ", "!x ", "!!map ", "!!seq "]))
        return out

    def comment() -> str:
        return draw(st.sampled_from(["", "", "", " # c", " #é ü", "  #"]))

    def flow(depth: int) -> str:
        if anchors and draw(st.integers(0, 7)) == 0:
            return "*" + draw(st.sampled_from(anchors))
        kind = draw(st.sampled_from("sssLM")) if depth < 4 else "s"
        head = properties()
        if kind == "s":
            return head + draw(yaml_scalars())
        comma = draw(st.sampled_from([", ", ",", " , ", "," + newline + "  "]))
        count = draw(st.integers(0, 3))
        if kind == "L":
            items = [flow(depth + 1) for _ in range(count)]
            return head + "[" + comma.join(items) + draw(st.sampled_from(["", ",", " "])) + "]"
        colon = draw(st.sampled_from([": ", ":", " : ", ":" + newline + " "]))
        items = [draw(yaml_scalars()) + colon + flow(depth + 1) for _ in range(count)]
        return head + "{" + comma.join(items) + "}"

    def block(depth: int, indent: int) -> list[str]:
        """The rest of the line the node starts on, then its further lines."""
        kind = draw(st.sampled_from("MMLFB")) if depth < 4 else "F"
        pad, step = " " * indent, draw(st.integers(1, 3))
        if kind == "F":
            return [" " + flow(depth) + comment()]
        if kind == "B":
            indicator = draw(st.sampled_from(["|", ">", "|-", ">+", "|2", ">-"]))
            body = [pad + " " * step + draw(words) for _ in range(draw(st.integers(1, 3)))]
            return [" " + indicator + comment(), *body]
        lines: list[str] = []
        for _ in range(draw(st.integers(1, 3))):
            if draw(st.integers(0, 12)) == 0:
                lines.append(pad + draw(st.sampled_from(["# note", "", "#日本"])))
            inner = block(depth + 1, indent + step)
            lead = draw(yaml_scalars()) + ":" if kind == "M" else "-"
            lines += [pad + lead + inner[0], *inner[1:]]
        return [(" " + properties()).rstrip() + comment(), *lines]

    first, *rest = block(0, 0)
    head = draw(st.sampled_from(["", "", "---", "%YAML 1.1" + newline + "---", "--- # top"]))
    tail = draw(st.sampled_from(["", "", newline + "...", newline + "---" + newline + "b: 1"]))
    return (head + first).strip() + newline + newline.join(rest) + tail


@st.composite
def mutated_yaml(draw: st.DrawFn) -> str:
    """Spec-like YAML with a few characters inserted or deleted: near misses of valid files."""
    text = draw(spec_like_yaml())
    pieces = [*":-?[]{},#&*!|>'\"%@` \n\t\\", "  ", "\r\n", "\u2028", "é", "---", "...", "\ufeff"]
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(pieces)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 4)) :]
    return text


ANY_TEXT = st.one_of(
    spec_like_yaml(),
    mutated_yaml(),
    hostile.raw_inputs,
    hostile.mutated_texts().map(lambda case: case[0]),
    st.text(
        alphabet=st.sampled_from(list("ab:- \n\t[]{},&*!|>'\"#%@`?~1.eé\r\u2028\ufeff")),
        max_size=60,
    ),
)


DIVERGENT = [
    "a: [1,\t2]\n",  # libyaml takes a tab between tokens, PyYAML refuses it
    "a:\t1\n",
    "a: {b: 1,\tc: 2}\n",
    "a: [\ufeff, 1]\nb: 2\n",  # PyYAML's columns leave U+FEFF out, libyaml's count it
    "a: ['\ufeff' , x]\n",
    "a: {b: , c: 1}\n",  # an empty flow value: after the ':' (PyYAML), at the ',' (libyaml)
    "a: {b:  }\n",
    "a: [b: , c]\n",
    "a: [? b : ]\n",
    "a: |#\n  x\n",  # a comment right after a block scalar's header: libyaml takes it
    "a: >-#c\n  x\n",
    "a: |2#\n   x\n",
    "a: [x ?q]\n",  # PyYAML ends a plain scalar at a '?' in flow; libyaml reads on
    "a: [x?q]\n",
    "a: {b: x ?}\n",
    "a: {x ?q: 1}\n",
    "a: {b:\r11 '?q'}\n",
    "? a",  # a key without a value, and no final line break: at the end (PyYAML) or below
    "x:\n  ? a\n#c",
]


@needs_libyaml
@pytest.mark.parametrize("text", DIVERGENT)
def test_where_the_parsers_differ_the_pure_loader_decides(text: str) -> None:
    """Each class of text found where libyaml alone would accept what the pure loader refuses, or
    place a node elsewhere; the loader must send each to the pure loader."""
    expected = pure(text)
    assert libyaml_only(text) != expected
    assert outcome(text) == expected


@needs_libyaml
@settings(max_examples=examples(300), suppress_health_check=[HealthCheck.too_slow])
@given(ANY_TEXT)
@example('%YAML 1.1\n---\n{k: ,\n  l:"v"}  #\n\n...\n')
def test_libyaml_and_the_pure_loader_agree(text: str | bytes) -> None:
    """The same Document (tree, types, every position) or the same diagnostics; and libyaml alone
    never accepts what the pure loader refuses, nor reads it otherwise, on text it is given."""
    expected = pure(text)
    assert outcome(text) == expected
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return
    text = text.removeprefix("\ufeff")
    if "\x00" in text or loader._pure_only(text):
        return
    alone = libyaml_only(text)
    assert alone is None or alone == expected
