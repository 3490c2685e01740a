"""Shared test settings: hypothesis runs derandomized and bounded in CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from tiers import FAST_EXAMPLES

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=100)
settings.register_profile(
    "fast",  # make test-fast: each property a quick look; make test runs the full count
    derandomize=True,
    deadline=None,
    max_examples=FAST_EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("long", deadline=None, max_examples=20_000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
_KERAS_MODULE = "pytestmark = pytest.mark.keras"


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """With ``-m "not keras ..."``, modules marked keras as a whole are not even imported:
    importing TensorFlow to collect tests that are then deselected costs 15 s."""
    if not collection_path.name.startswith("test_") or "not keras" not in (
        config.option.markexpr or ""
    ):
        return None
    try:
        return _KERAS_MODULE in collection_path.read_text() or None
    except OSError:
        return None


@pytest.fixture
def root() -> Path:
    return ROOT
