"""The Celery app. Broker: Redis from CELERY_BROKER_URL, else an embedded filesystem broker.

Why the filesystem transport: a person on a fresh laptop runs a real worker process with nothing
to install; the queue is a folder under var/broker shared by the web process and the worker.
"""
from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("tracer")
app.config_from_object("django.conf:settings", namespace="CELERY")


def _configure_broker() -> None:
    from django.conf import settings

    if settings.CELERY_BROKER_URL:
        app.conf.broker_url = settings.CELERY_BROKER_URL
        return
    base = settings.CELERY_EMBEDDED_BROKER_DIR
    for sub in ("out", "processed", "control"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    app.conf.broker_url = "filesystem://"
    app.conf.broker_transport_options = {
        "data_folder_in": str(base / "out"),
        "data_folder_out": str(base / "out"),
        "processed_folder": str(base / "processed"),
        "store_processed": False,
        "control_folder": str(base / "control"),
    }


_configure_broker()
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
)
app.autodiscover_tasks()
