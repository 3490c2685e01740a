"""What ``make test-fast`` runs of the tests that ``make test`` runs in full.

A test over every file in ``specs/`` costs seconds per large network: the fast tier keeps small
networks that between them use every structural feature (sequential stacks, residual merges,
skips and concatenation, depthwise blocks, 1-D inputs, free sizes) and marks the rest ``slow``.
Properties with an explicit example count take ``examples(count)``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

FAST_SPECS = frozenset(
    {"lenet5", "resnet18", "unet", "mobilenet_v2", "conv1d_sequence", "lecture_net", "spp_net"}
)


def spec_params(paths: Iterable[Path]) -> list[Any]:
    """``paths`` as parameters, each outside ``FAST_SPECS`` (and ``tests/data``) marked slow."""
    return [
        pytest.param(
            path,
            id=path.name,
            marks=() if path.stem in FAST_SPECS or path.parent.name == "data" else pytest.mark.slow,
        )
        for path in paths
    ]


FAST_EXAMPLES = 15
"""Examples per property under ``HYPOTHESIS_PROFILE=fast`` (conftest.py's profile)."""


def examples(count: int) -> int:
    """``count`` examples for a property, or a quick look at it in ``make test-fast``."""
    return min(count, FAST_EXAMPLES) if os.environ.get("HYPOTHESIS_PROFILE") == "fast" else count
