"""Shared fixtures: the committed sample, a small freshly generated organisation, and the sample configs."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
SAMPLE = ROOT / "data" / "sample"


@pytest.fixture(scope="session")
def config():
    from cx_framework.config import load_config

    return load_config(CONFIGS)


@pytest.fixture(scope="session")
def sample_org():
    """The committed 12k-customer sample (validated on load)."""
    from cx_framework.synthetic import load_sample

    return load_sample()


@pytest.fixture(scope="session")
def small_org():
    """A small organisation generated in the test run (seed 1, 4,000 customers, siloed scheme)."""
    from cx_framework.synthetic import generate_organisation

    return generate_organisation(seed=1, customers=4_000, employees=200, months=18)


@pytest.fixture(autouse=True, scope="session")
def _analysis_cache_dir(tmp_path_factory):
    """Analysis disk caches of the test run live in a temporary directory, never in the user's cache."""
    import os

    previous = os.environ.get("CX_CACHE_DIR")
    os.environ["CX_CACHE_DIR"] = str(tmp_path_factory.mktemp("cx_cache"))
    yield
    if previous is None:
        os.environ.pop("CX_CACHE_DIR", None)
    else:
        os.environ["CX_CACHE_DIR"] = previous
