"""Shared test fixtures: where the shared corpora and the example article are, and hypothesis settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# Property tests run at least 2,000 examples each (the bar for CI); no deadline since CI machines vary.
settings.register_profile(
    "khabar", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("khabar")

REPO_ROOT = Path(__file__).resolve().parents[1]


def _shared_root() -> Path:
    return REPO_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared corpora (KHABAR_DATA_DIR, else ../shared/data); tests that need them skip without them."""
    path = Path(os.environ.get("KHABAR_DATA_DIR", _shared_root() / "data"))
    if not (path / "anercorp" / "train.txt").is_file():
        pytest.skip(f"shared corpora not found at {path} (set KHABAR_DATA_DIR to the shared data folder)")
    return path


@pytest.fixture(scope="session")
def example_article_path() -> Path:
    """The real news page ../shared/examples/japan-us-relations.txt (or beside KHABAR_DATA_DIR); tests that need
    it skip without it."""
    path = _shared_root() / "examples" / "japan-us-relations.txt"
    if not path.is_file() and os.environ.get("KHABAR_DATA_DIR"):
        path = Path(os.environ["KHABAR_DATA_DIR"]).parent / "examples" / "japan-us-relations.txt"
    if not path.is_file():
        pytest.skip(f"example article not found at {path}")
    return path


@pytest.fixture(scope="session")
def example_article(example_article_path: Path) -> str:
    return example_article_path.read_text(encoding="utf-8")
