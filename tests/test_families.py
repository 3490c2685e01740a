"""Families of networks: exact rational params, rounding, sweeps and variants."""

from __future__ import annotations

from fractions import Fraction

import pytest

import archspec

SCALED = """\
archspec: 1
name: scaled
input: {shape: [32, 32, 3]}
params: {width: 1.1, depth: 1.2}
blocks:
  b:
    args: {f: int}
    layers:
      - {type: conv2d, filters: f, kernel: 3, padding: same}
layers:
  - {name: stem, type: conv2d, filters: "make_divisible(32*width, 8)", kernel: 3}
  - {name: s, type: block, block: b, args: {f: "round_to(width*20, 8)"}, repeat: "ceil(depth*2)"}
"""


def test_rational_params_are_exact() -> None:
    spec = archspec.loads(SCALED)
    report = archspec.analyze(spec)
    assert report.ok, report.errors
    assert report.layer("stem").output_shape == (30, 30, 32)
    assert [r.name for r in report.layers][-1] == "s.3.conv2d_2"  # ceil(1.2 * 2) = 3 copies
    assert report.layer("s.1.conv2d").output_shape[-1] == 24  # round_to(22, 8)
    # 0.1 + 0.2 is 3/10 exactly, where floats give 0.30000000000000004
    tenths = archspec.loads(
        SCALED.replace("width: 1.1", "width: 0.1").replace("32*width", "(width + 0.2)*80")
    )
    assert archspec.analyze(tenths).layer("stem").output_shape[-1] == 24


@pytest.mark.parametrize(
    ("change", "where", "code"),
    [
        (
            ('filters: "make_divisible(32*width, 8)"', 'filters: "width*7"'),
            "layers[0].filters",
            "not-whole",
        ),
        (('repeat: "ceil(depth*2)"', 'repeat: "depth*2"'), "layers[1].repeat", "not-whole"),
        (("[32, 32, 3]", '["32*width", 32, 3]'), "input.shape[0]", "not-whole"),
    ],
)
def test_counts_must_end_whole(change: tuple[str, str], where: str, code: str) -> None:
    spec = archspec.loads(SCALED.replace(*change), "scaled.yaml")
    report = archspec.analyze(spec)
    [error] = report.errors
    assert error.code == code
    assert error.render().startswith("scaled.yaml:") and where in error.render()


def test_params_keep_the_decimal_written() -> None:
    spec = archspec.loads(SCALED)
    assert spec.params["width"] == "1.1"
    from archspec.expr import parse_expression

    assert parse_expression(spec.params["width"]).evaluate({}) == Fraction(11, 10)
