"""Shared fixtures (keep small: each suite's own fixtures live beside it)."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _fresh_model_cache():
    """Compiled models are cached per snapshot id; test databases reuse ids after a rollback."""
    from topology.compile import clear_model_cache

    clear_model_cache()
    yield
    clear_model_cache()


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    """Throttle and password-brake counters live in the (per-process) cache; user ids repeat between tests."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def import_yaml(db):
    """import_yaml(text, cluster="test", **kw) → ImportResult: import one in-memory YAML/JSON file."""
    from topology.importers import import_bytes

    def run(text: str | bytes, cluster: str = "test", name: str = "input.yaml", **kw):
        data = text.encode() if isinstance(text, str) else text
        return import_bytes(cluster, [(name, data)], **kw)

    return run
