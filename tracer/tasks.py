"""Celery tasks: thin wrappers that take ids and call tracer.jobs (where the logic and state live).

The task names are the ones tracer.jobs.queue publishes (`RUN_JOB`, `RUN_CHUNK`): the job code sends
messages by name and never imports this module, so the dependency runs one way (tasks → jobs).

Also starts the reaper timer in every worker (see `tracer.jobs.reaper`): with several workers the
reapers race harmlessly, because every transition is a conditional UPDATE.
"""
from __future__ import annotations

import logging
import resource
import threading

from celery import shared_task
from celery.signals import worker_init, worker_ready, worker_shutdown
from django.conf import settings
from django.db import close_old_connections

from tracer.jobs import heartbeat, reaper, runner
from tracer.jobs.queue import RUN_CHUNK, RUN_JOB

log = logging.getLogger(__name__)


DB_RETRIES = 6  # with exponential backoff 2, 4, 8 … 60 s: about 3 minutes for the database to come back


@shared_task(name=RUN_JOB, bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_job(self, job_id: int, resume: bool = False) -> None:
    """Run a job; when the database is lost meanwhile, retry the same job (resumed, not a new attempt) with
    exponential backoff — an import that was rolled back by the loss is imported again, exactly once."""
    close_old_connections()
    try:
        with heartbeat.beating(job_id):  # a killed worker stops beating: the reaper requeues within seconds
            runner.run_job(job_id, resume=resume)
    except runner.DatabaseLost as exc:
        close_old_connections()  # drop the broken connection; the retry opens a fresh one
        delay = min(60, 2 ** (self.request.retries + 1))
        log.warning("%s (retry %d in %d s)", exc, self.request.retries + 1, delay)
        raise self.retry(args=(job_id,), kwargs={"resume": True}, countdown=delay, max_retries=DB_RETRIES,
                         exc=exc) from exc
    finally:
        close_old_connections()


@shared_task(name=RUN_CHUNK, bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_chunk(self, job_id: int, index: int) -> None:
    close_old_connections()
    try:
        with heartbeat.beating(job_id):
            runner.run_chunk(job_id, index, self.request.hostname or "")
    finally:
        close_old_connections()


def apply_memory_budget(megabytes: int | None = None) -> int:
    """Cap this process's address space (RLIMIT_AS) at TRACER_WORKER_MEMORY_MB; pool children inherit it.
    Returns the limit in bytes (0: none). Never raises the limit above what the process already has."""
    mb = settings.TRACER_WORKER_MEMORY_MB if megabytes is None else megabytes
    if mb <= 0:
        return 0
    limit = mb * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    return limit


@worker_init.connect
def _memory_budget(**_kwargs) -> None:
    limit = apply_memory_budget()
    if limit:
        log.info("worker memory budget: %d MiB of address space (TRACER_WORKER_MEMORY_MB)", limit // 2**20)


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
