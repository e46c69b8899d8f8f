"""Fixtures for the integration tests. `broker` and `workers` start real Celery workers (see workers.py)."""
from .workers import broker, workers  # noqa: F401
