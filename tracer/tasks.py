"""Celery tasks: thin wrappers that take ids and call tracer.jobs (where the logic and state live).

The task names are the ones tracer.jobs.queue publishes (`RUN_JOB`, `RUN_CHUNK`): the job code sends
messages by name and never imports this module, so the dependency runs one way (tasks → jobs).

Also starts the reaper timer in every worker (see `tracer.jobs.reaper`): with several workers the
reapers race harmlessly, because every transition is a conditional UPDATE.
"""
from __future__ import annotations

import logging
import threading

from celery import shared_task
from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db import close_old_connections

from tracer.jobs import reaper, runner
from tracer.jobs.queue import RUN_CHUNK, RUN_JOB

log = logging.getLogger(__name__)


@shared_task(name=RUN_JOB, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_job(job_id: int) -> None:
    close_old_connections()
    try:
        runner.run_job(job_id)
    finally:
        close_old_connections()


@shared_task(name=RUN_CHUNK, bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_chunk(self, job_id: int, index: int) -> None:
    close_old_connections()
    try:
        runner.run_chunk(job_id, index, self.request.hostname or "")
    finally:
        close_old_connections()


_reaper_stop = threading.Event()


def reaper_interval() -> float:
    return max(2.0, settings.TRACER_JOB_STALE_SECONDS / 3)


def _reaper_loop() -> None:
    while not _reaper_stop.wait(reaper_interval()):
        try:
            close_old_connections()
            for action in reaper.reap():
                log.warning("reaper: %s", action)
        except Exception:  # the database may be briefly unavailable; try again next round
            log.exception("reaper round failed")
        finally:
            close_old_connections()


@worker_ready.connect
def _start_reaper(**_kwargs) -> None:
    _reaper_stop.clear()
    threading.Thread(target=_reaper_loop, name="tracer-job-reaper", daemon=True).start()


@worker_shutdown.connect
def _stop_reaper(**_kwargs) -> None:
    _reaper_stop.set()
