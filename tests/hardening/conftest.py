"""Shared helpers for the hardening tests: users with tokens, row counts of every table, a sample cluster."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.apps import apps

from tests.fixtures import CLUSTER_B
from tests.integration.workers import broker, workers  # noqa: F401 (real Celery worker fixtures)

REPO = Path(__file__).resolve().parents[2]


def row_counts(*app_labels: str) -> dict[str, int]:
    """{table: rows} for every model of the given apps (default: topology and tracer)."""
    labels = app_labels or ("topology", "tracer")
    return {m._meta.db_table: m._default_manager.count()
            for label in labels for m in apps.get_app_config(label).get_models()}


@pytest.fixture
def cluster_b_bytes() -> bytes:
    return CLUSTER_B.read_bytes()
