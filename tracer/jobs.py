"""Background jobs: enqueue, run, cancel, reap — the coordination the Celery tasks call.

Tasks are thin (tracer/tasks.py: take an id, call a function here). Everything a user sees lives in
our own `Job` row: state (queued → running → done | failed | cancelled), progress, result, error.

Why it is shaped like this:
- **Chunked jobs without a result backend.** A matrix or diff is planned once (`JobOutput` "plan"),
  split into `JobChunk` rows, and each chunk is its own task (a plain group). A chunk writes its
  cells and flips its row to done in one conditional UPDATE; the chunk that finds no other chunk left
  finalises the job with a conditional UPDATE (`state='running'` → done), so exactly one wins. That
  works the same on Redis and on the filesystem broker, which has no result backend for chords.
- **Idempotent.** Cells are unique per (job, source, destination) and inserted with
  `ignore_conflicts`; a chunk that is already done is skipped. A redelivered or duplicated message
  therefore costs time, never duplicate rows or double-counted progress.
- **Never stuck in running.** Workers beat the job's `heartbeat` while they work. `reap()` (run by
  a timer in every worker, by `manage.py reap_jobs`, and lazily when the API reads a job) requeues a
  job whose heartbeat is older than TRACER_JOB_STALE_SECONDS once, and fails it with a reason the
  second time. Soft time limits end runaway jobs with a reason; the hard limit kills the child and
  the reaper finishes the story.
- **Broker down ⇒ 503.** Publishing fails fast (no retries); the job is marked failed with the
  broker's message and `BrokerUnavailable` (http_status 503) tells the API client what is wrong.
  Synchronous traces never touch the broker, so they keep working.
"""
from __future__ import annotations

import contextvars
import logging
import os
import time
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from tracer.engine.errors import BadRequest, TracerError
from tracer.models import Job, JobChunk, JobOutput, JobUpload, MatrixCell

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 2  # a job runs at most twice: the first time, and once more after its worker was lost
MAX_CHUNK_ATTEMPTS = 3
BEAT_SECONDS = 2.0  # how often a busy worker refreshes the heartbeat (and notices a cancel)
DEFAULT_CELLS_PER_CHUNK = 250  # small enough that several workers share even a small matrix, and progress moves
CELL_BATCH = 500
MAX_BATCH_REQUESTS = 100_000
MAX_INTENTS = 10_000


class BrokerUnavailable(TracerError):
    """The job queue cannot be reached: async features are down, synchronous traces still work."""

    http_status = 503


class JobNotActive(TracerError):
    """Cancel of a job that already finished (→ 409)."""

    http_status = 409


class _Stop(Exception):
    """Raised inside a worker when its job is no longer running (cancelled, failed, reaped)."""


# ---------------------------------------------------------------------------------------------
# Publishing


def queue_name() -> str:
    from config.celery import app

    return app.conf.task_default_queue


def _time_limits(job: Job) -> dict:
    limit = min(int(job.params.get("time_limit") or settings.TRACER_JOB_TIME_LIMIT), settings.TRACER_JOB_TIME_LIMIT)
    return {"soft_time_limit": limit, "time_limit": limit + 30}


def broker_check() -> None:
    """Raise BrokerUnavailable now if the broker cannot be reached (one quick round trip).

    Why a separate check: kombu retries a refused Redis connection with back-off for several seconds
    even with retry=False; a user waiting on the API should hear "503, the queue is down" at once.
    """
    from config.celery import app

    if app.conf.task_always_eager:  # CELERY_TASK_ALWAYS_EAGER: tasks run in this process, no broker
        return
    url = app.conf.broker_write_url or app.conf.broker_url or ""
    try:
        if url.startswith(("redis://", "rediss://", "unix://")):
            import redis

            client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
            try:
                client.ping()
            finally:
                client.close()
        elif url.startswith("filesystem:"):
            folder = (app.conf.broker_transport_options or {}).get("data_folder_out", "")
            if not folder or not os.path.isdir(folder) or not os.access(folder, os.W_OK):
                raise OSError(f"the broker folder {folder!r} is missing or not writable")
    except Exception as exc:
        raise BrokerUnavailable(
            f"the job queue is unavailable ({type(exc).__name__}: {exc}); background jobs (matrix, diff, batch, "
            "intent checks, large imports) cannot start until the broker is back — single traces still work"
        ) from None


def _publish(task, args: tuple, job: Job) -> str:
    """Send one task message; BrokerUnavailable when the broker cannot take it (fast, no retries)."""
    try:
        res = task.apply_async(args, queue=queue_name(), retry=False, **_time_limits(job))
    except Exception as exc:  # kombu/redis/OS errors differ per transport; all mean "cannot queue"
        raise BrokerUnavailable(
            f"the job queue is unavailable ({type(exc).__name__}: {exc}); background jobs (matrix, diff, batch, "
            "intent checks, large imports) cannot start until the broker is back — single traces still work"
        ) from None
    return res.id


def submit(kind: str, *, owner=None, cluster=None, snapshot=None, params: dict | None = None,
           uploads: list[tuple[str, bytes]] | None = None, total: int = 0, inline: bool = False) -> Job:
    """Create a queued job (and its uploads) and publish it. BrokerUnavailable ⇒ the job is failed.

    `inline=True` runs it to the end in this process instead (no broker needed)."""
    from tracer import tasks

    if not inline:
        broker_check()  # before creating anything: nothing to clean up, and the answer is immediate
    job = create(kind, owner=owner, cluster=cluster, snapshot=snapshot, params=params, uploads=uploads, total=total)
    if inline:
        return run_inline(job)
    try:
        task_id = _publish(tasks.run_job, (job.pk,), job)
    except BrokerUnavailable as exc:
        Job.objects.filter(pk=job.pk).update(state="failed", error=str(exc), finished=timezone.now(),
                                             progress_message="could not be queued")
        JobUpload.objects.filter(job=job).delete()
        raise
    Job.objects.filter(pk=job.pk).update(celery_task_id=task_id)
    job.celery_task_id = task_id
    return job


def _bounded_int(params: dict, key: str, default: int, lo: int, hi: int) -> int:
    value = params.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{key} must be an integer between {lo} and {hi}")
    if not lo <= value <= hi:
        raise BadRequest(f"{key} must be between {lo} and {hi}, not {value}")
    return value


def _common_params(options: dict) -> dict:
    params = {}
    if options.get("time_limit") is not None:
        params["time_limit"] = _bounded_int(options, "time_limit", settings.TRACER_JOB_TIME_LIMIT, 1,
                                            settings.TRACER_JOB_TIME_LIMIT)
    return params


def enqueue_matrix(snapshot, owner=None, *, services: bool = True, pods: bool = True,
                   cells_per_chunk: int | None = None, time_limit: int | None = None, inline: bool = False) -> Job:
    """Reachability matrix of `snapshot` (source classes × service ports and pod classes)."""
    if not (services or pods):
        raise BadRequest("a matrix needs destinations: services, pods or both")
    params = {"services": bool(services), "pods": bool(pods),
              "cells_per_chunk": _bounded_int({"c": cells_per_chunk}, "c", DEFAULT_CELLS_PER_CHUNK, 1, 1_000_000),
              **_common_params({"time_limit": time_limit})}
    return submit("matrix", owner=owner, snapshot=snapshot, params=params, inline=inline)


def enqueue_diff(base, candidate=None, owner=None, *, uploads: list[tuple[str, bytes]] | None = None,
                 materialize: bool = False, nodes: int = 3, namespace: str = "default",
                 cells_per_chunk: int | None = None, time_limit: int | None = None, inline: bool = False) -> Job:
    """Matrix cells that change from snapshot `base` to `candidate` (or to uploaded manifests, which
    the worker first imports as a new candidate snapshot of base's cluster)."""
    if candidate is None and not uploads:
        raise BadRequest("a diff needs a candidate: a snapshot or uploaded manifests")
    if candidate is not None and candidate.cluster_id != base.cluster_id:
        raise BadRequest("base and candidate snapshots must belong to the same cluster")
    if candidate is not None and candidate.pk == base.pk:
        raise BadRequest("base and candidate are the same snapshot: nothing can change")
    params = {"base": base.pk, "services": True, "pods": True,
              "cells_per_chunk": _bounded_int({"c": cells_per_chunk}, "c", DEFAULT_CELLS_PER_CHUNK, 1, 1_000_000),
              "import": {"materialize": bool(materialize), "nodes": int(nodes), "namespace": namespace},
              **_common_params({"time_limit": time_limit})}
    return submit("diff", owner=owner, cluster=base.cluster, snapshot=candidate, params=params, uploads=uploads, inline=inline)


def enqueue_batch(snapshot, requests: list[dict], owner=None, *, time_limit: int | None = None, inline: bool = False) -> Job:
    """Trace every request (the contract's --batch lines) on `snapshot`, results in order."""
    if not isinstance(requests, list) or not requests:
        raise BadRequest("a batch needs a non-empty list of trace requests ({from, to, port, protocol, via})")
    if len(requests) > MAX_BATCH_REQUESTS:
        raise BadRequest(f"a batch holds at most {MAX_BATCH_REQUESTS} requests, not {len(requests)}")
    return submit("batch", owner=owner, snapshot=snapshot, total=len(requests),
                  params={"requests": requests, **_common_params({"time_limit": time_limit})}, inline=inline)


def enqueue_intents(snapshot, intents, owner=None, *, time_limit: int | None = None, inline: bool = False) -> Job:
    """Check intents (tracer.intents.Intent list, already validated) on `snapshot`."""
    if not intents:
        raise BadRequest("no intents to check")
    if len(intents) > MAX_INTENTS:
        raise BadRequest(f"at most {MAX_INTENTS} intents per check, not {len(intents)}")
    return submit("intents", owner=owner, snapshot=snapshot, total=len(intents),
                  params={"intents": [i.to_dict() for i in intents], **_common_params({"time_limit": time_limit})}, inline=inline)


def enqueue_import(cluster, payloads: list[tuple[str, bytes]], *, owner=None, materialize: bool = False,
                   nodes: int = 3, namespace: str = "default") -> Job:
    """Import a large upload in the background; the job's result names the new snapshot."""
    if not payloads:
        raise BadRequest("nothing to import: no files")
    return submit("import", owner=owner, cluster=cluster, total=1, uploads=payloads,
                  params={"materialize": bool(materialize), "nodes": int(nodes), "namespace": namespace,
                          "files": [name for name, _ in payloads]})


# ---------------------------------------------------------------------------------------------
# Life cycle


def _now():
    return timezone.now()


def _claim(job_id: int) -> Job | None:
    """queued/running → running, counting the attempt. None when there is nothing (more) to do."""
    job = None
    for _ in range(10):  # the web process may not have committed the row yet
        job = Job.objects.filter(pk=job_id).first()
        if job is not None:
            break
        time.sleep(0.3)
    if job is None or job.state not in Job.ACTIVE_STATES:
        return None
    if job.state == "running" and job.heartbeat and job.heartbeat > _now() - timedelta(
            seconds=settings.TRACER_JOB_STALE_SECONDS / 2):
        return None  # a duplicate message while another worker is busy with it: that one carries on
    if job.attempts >= MAX_ATTEMPTS:
        fail(job.pk, f"gave up after {job.attempts} attempts: the worker running this job was lost each time "
                     "(killed, out of memory or over the hard time limit)")
        return None
    now = _now()
    n = Job.objects.filter(pk=job_id, state=job.state, attempts=job.attempts).update(
        state="running", attempts=F("attempts") + 1, started=job.started or now, heartbeat=now,
        progress_message="running")
    if not n:
        return None  # someone else claimed or cancelled it meanwhile
    job.refresh_from_db()
    return job


def beat(job_id: int, message: str | None = None, current: int | None = None) -> None:
    """Refresh the heartbeat (and progress); raise _Stop when the job is no longer running."""
    fields = {"heartbeat": _now()}
    if message is not None:
        fields["progress_message"] = message[:512]
    if current is not None:
        fields["progress_current"] = current
    if not Job.objects.filter(pk=job_id, state="running").update(**fields):
        raise _Stop()


def finish(job_id: int, result: dict, message: str = "done", **extra) -> bool:
    now = _now()
    return bool(Job.objects.filter(pk=job_id, state="running").update(
        state="done", result=result, finished=now, heartbeat=now, progress_message=message[:512], **extra))


def fail(job_id: int, error: str) -> bool:
    now = _now()
    n = Job.objects.filter(pk=job_id, state__in=Job.ACTIVE_STATES).update(
        state="failed", error=error, finished=now, progress_message="failed")
    if n:
        log.warning("job %s failed: %s", job_id, error)
        JobUpload.objects.filter(job_id=job_id).delete()  # nothing will read them any more
    return bool(n)


def cancel(job: Job) -> Job:
    """Stop a queued or running job. Workers notice at their next heartbeat and stop writing."""
    n = Job.objects.filter(pk=job.pk, state__in=Job.ACTIVE_STATES).update(
        state="cancelled", finished=_now(), progress_message="cancelled")
    job.refresh_from_db()
    if not n:
        raise JobNotActive(f"job {job.pk} is already {job.state}; only queued or running jobs can be cancelled")
    JobUpload.objects.filter(job=job).delete()
    return job


def reap(stale_seconds: int | None = None, *, job_ids=None) -> list[dict]:
    """Requeue (once) or fail running jobs whose heartbeat stopped. Returns what was done."""
    stale = stale_seconds or settings.TRACER_JOB_STALE_SECONDS
    cutoff = _now() - timedelta(seconds=stale)
    qs = Job.objects.filter(state="running").filter(
        Q(heartbeat__lt=cutoff) | Q(heartbeat__isnull=True, started__lt=cutoff))
    if job_ids is not None:
        qs = qs.filter(pk__in=list(job_ids))
    actions = [r for r in (_reap_one(job, stale) for job in qs) if r]
    if job_ids is None:
        actions += _republish_lost(cutoff)
    return actions


def _filesystem_queued_jobs() -> set[int] | None:
    """Ids of jobs with a run_job message waiting in the filesystem broker; None for other brokers."""
    import ast
    import json

    from config.celery import app

    url = app.conf.broker_write_url or app.conf.broker_url or ""
    if not url.startswith("filesystem:"):
        return None
    folder = (app.conf.broker_transport_options or {}).get("data_folder_in", "")
    suffix = f".{queue_name()}.msg"
    found: set[int] = set()
    try:
        names = [n for n in os.listdir(folder) if n.endswith(suffix)]
    except OSError:
        return None
    for name in names:
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                headers = json.load(fh).get("headers") or {}
            if headers.get("task") == "tracer.run_job":
                found.add(int(ast.literal_eval(headers.get("argsrepr") or "()")[0]))
        except (OSError, ValueError, SyntaxError, IndexError, TypeError, AttributeError):
            continue  # read by a worker meanwhile, or not one of ours
    return found


def _republish_lost(cutoff) -> list[dict]:
    """Queued jobs whose message is gone: the filesystem broker deletes a message when a worker reads
    it, so a worker killed between reading and claiming loses it. Such a job would wait forever;
    publish it again. (Redis keeps unacknowledged messages and gives them back by itself.)"""
    from tracer import tasks

    old = list(Job.objects.filter(state="queued").filter(
        Q(heartbeat__lt=cutoff) | Q(heartbeat__isnull=True, created__lt=cutoff)).order_by("pk")[:1000])
    if not old:
        return []
    waiting = _filesystem_queued_jobs()
    if waiting is None:
        return []
    out = []
    for job in old:
        if job.pk in waiting:
            continue  # still waiting for a free worker: nothing is lost
        if not Job.objects.filter(pk=job.pk, state="queued", heartbeat=job.heartbeat).update(heartbeat=_now()):
            continue  # claimed meanwhile
        try:
            _publish(tasks.run_job, (job.pk,), job)
        except BrokerUnavailable as exc:
            fail(job.pk, f"its queue message was lost and it could not be queued again: {exc}")
            out.append({"job": job.pk, "action": "failed", "reason": str(exc)})
            continue
        out.append({"job": job.pk, "action": "republished"})
    return out


def reap_if_stale(job: Job) -> Job:
    """Lazy reaping on read: a poller never sees a dead job as running forever, even with no worker."""
    if job.state == "running":
        stale = settings.TRACER_JOB_STALE_SECONDS
        beat_at = job.heartbeat or job.started
        if beat_at and beat_at < _now() - timedelta(seconds=stale):
            if reap(stale, job_ids=[job.pk]):
                job.refresh_from_db()
    return job


def _reap_one(job: Job, stale: int) -> dict | None:
    from tracer import tasks

    guard = Job.objects.filter(pk=job.pk, state="running", heartbeat=job.heartbeat, attempts=job.attempts)
    if job.heartbeat is None:
        guard = Job.objects.filter(pk=job.pk, state="running", heartbeat__isnull=True, attempts=job.attempts)
    if job.attempts < MAX_ATTEMPTS:
        n = guard.update(state="queued", heartbeat=_now(),
                         progress_message=f"no heartbeat for {stale} s (worker lost); requeued, "
                                          f"attempt {job.attempts + 1} of {MAX_ATTEMPTS}")
        if not n:
            return None
        JobChunk.objects.filter(job_id=job.pk, state="running").update(state="pending")
        try:
            _publish(tasks.run_job, (job.pk,), job)
        except BrokerUnavailable as exc:
            fail(job.pk, f"worker lost and the job could not be requeued: {exc}")
            return {"job": job.pk, "action": "failed", "reason": str(exc)}
        log.warning("job %s: no heartbeat for %s s; requeued", job.pk, stale)
        return {"job": job.pk, "action": "requeued"}
    reason = (f"worker lost: no heartbeat for more than {stale} s on attempt {job.attempts} of {MAX_ATTEMPTS} "
              "(the worker was killed, ran out of memory or hit the hard time limit); run the job again")
    n = guard.update(state="failed", error=reason, finished=_now(), progress_message="failed")
    return {"job": job.pk, "action": "failed", "reason": reason} if n else None


# ---------------------------------------------------------------------------------------------
# Running (called by tracer.tasks inside a worker)


def run_job(job_id: int) -> None:
    from celery.exceptions import SoftTimeLimitExceeded

    job = _claim(job_id)
    if job is None:
        return
    try:
        RUNNERS[job.kind](job)
    except _Stop:
        pass
    except SoftTimeLimitExceeded:
        fail(job.pk, f"time limit: the job ran longer than {_time_limits(job)['soft_time_limit']} s and was stopped")
    except BrokerUnavailable as exc:
        fail(job.pk, str(exc))
    except TracerError as exc:  # bad input discovered by the worker (e.g. an invalid manifest)
        fail(job.pk, str(exc))
    except Exception as exc:
        log.exception("job %s crashed", job_id)
        fail(job.pk, f"internal error: {type(exc).__name__}: {exc}")


_INLINE: contextvars.ContextVar[bool] = contextvars.ContextVar("tracer_job_inline", default=False)


def run_inline(job: Job) -> Job:
    """Run a queued job to the end in this process, chunks included — no broker, no worker.

    For the command line (`manage.py matrix --no-worker`, `check_intents`) and for tests of the job
    logic; it goes through exactly the same claim/chunk/finalise steps as a worker.
    """
    token = _INLINE.set(True)
    try:
        run_job(job.pk)
    finally:
        _INLINE.reset(token)
    job.refresh_from_db()
    return job


def create(kind: str, *, owner=None, cluster=None, snapshot=None, params: dict | None = None,
           uploads: list[tuple[str, bytes]] | None = None, total: int = 0) -> Job:
    """A queued job row (and its uploads), not published: `submit` publishes, `run_inline` runs it here."""
    if cluster is None and snapshot is not None:
        cluster = snapshot.cluster
    with transaction.atomic():
        job = Job.objects.create(kind=kind, owner=owner, cluster=cluster, snapshot=snapshot, params=params or {},
                                 progress_total=total, progress_message="queued: waiting for a worker")
        if uploads:
            JobUpload.objects.bulk_create(
                [JobUpload(job=job, position=i, name=name[:512], data=data) for i, (name, data) in enumerate(uploads)])
    return job


def _load_model(snapshot_id: int):
    from topology.compile import load_model

    return load_model(snapshot_id)


_PLANS: dict[tuple, object] = {}


def _stored_plan(job: Job, name: str):
    """The stored plan, parsed once per process. Keyed by the job's id *and* creation time: a
    database that reuses ids (a restored backup, a test rolled back) must never get another job's plan."""
    from tracer.engine.reach import MatrixPlan

    key = (job.pk, job.created.isoformat() if job.created else "", name)
    plan = _PLANS.get(key)
    if plan is None:
        plan = MatrixPlan.from_dict(JobOutput.objects.get(job_id=job.pk, name=name).data)
        if len(_PLANS) > 8:
            _PLANS.clear()
        _PLANS[key] = plan
    return plan


def _save_output(job: Job, name: str, data) -> None:
    JobOutput.objects.update_or_create(job=job, name=name, defaults={"data": data})


def _plan_chunks(job: Job, n_sources: int, n_dests: int) -> None:
    from tracer import tasks
    from tracer.engine.reach import chunk_ranges

    if not JobChunk.objects.filter(job=job).exists():
        ranges = chunk_ranges(n_sources, n_dests, job.params.get("cells_per_chunk", DEFAULT_CELLS_PER_CHUNK))
        JobChunk.objects.bulk_create([JobChunk(job=job, index=i, start=a, end=b) for i, (a, b) in enumerate(ranges)],
                                     ignore_conflicts=True)
    total = JobChunk.objects.filter(job=job).count()
    done = JobChunk.objects.filter(job=job, state="done").count()
    Job.objects.filter(pk=job.pk, state="running").update(
        progress_total=total, progress_current=done, heartbeat=_now(),
        progress_message=f"{n_sources} source classes × {n_dests} destinations in {total} chunks")
    pending = list(JobChunk.objects.filter(job=job).exclude(state="done").values_list("index", flat=True))
    if not pending:
        _maybe_finalize(job.pk)
        return
    if _INLINE.get():
        for index in pending:  # `run_inline`: this process is the only worker
            run_chunk(job.pk, index, "inline")
        return
    for index in pending:
        _publish(tasks.run_chunk, (job.pk, index), job)


def _run_matrix(job: Job) -> None:
    from tracer.engine.reach import plan

    if job.snapshot_id is None:
        raise BadRequest("a matrix job needs a snapshot")
    if not JobOutput.objects.filter(job=job, name="plan").exists():
        beat(job.pk, "planning: grouping pods into classes")
        model = _load_model(job.snapshot_id)
        # a large matrix merges senders and receiving pods on what policy can read (reach.plan, project=None)
        p = plan(model, services=job.params.get("services", True), pods=job.params.get("pods", True),
                 project=None)
        _save_output(job, "plan", p.to_dict())
    p = _stored_plan(job, "plan")
    _plan_chunks(job, len(p.sources), len(p.destinations))


def _import_candidate(job: Job):
    from topology.importers import import_bytes

    payloads = [(u.name, bytes(u.data)) for u in JobUpload.objects.filter(job=job).order_by("position")]
    opts = job.params.get("import", {})
    beat(job.pk, f"importing the candidate manifests ({len(payloads)} file(s))")
    result = import_bytes(job.cluster, payloads, owner=job.owner, materialize=opts.get("materialize", False),
                          nodes=opts.get("nodes", 3), namespace=opts.get("namespace", "default"))
    Job.objects.filter(pk=job.pk).update(snapshot=result.snapshot)
    JobUpload.objects.filter(job=job).delete()
    job.snapshot = result.snapshot
    job.snapshot_id = result.snapshot.pk
    return result.snapshot


def _run_diff(job: Job) -> None:
    from tracer.engine.reach import merge_plans, plan

    if job.snapshot_id is None:
        _import_candidate(job)
    if not JobOutput.objects.filter(job=job, name="plan").exists():
        beat(job.pk, "planning: classes of both snapshots")
        services, pods = job.params.get("services", True), job.params.get("pods", True)
        base = plan(_load_model(job.params["base"]), services=services, pods=pods)
        cand = plan(_load_model(job.snapshot_id), services=services, pods=pods)
        _save_output(job, "base", base.to_dict())
        _save_output(job, "candidate", cand.to_dict())
        _save_output(job, "plan", merge_plans(base, cand).to_dict())
    p = _stored_plan(job, "plan")
    _plan_chunks(job, len(p.sources), len(p.destinations))


def _chunk_pause() -> None:
    """Fault-injection for the worker tests only: hold each chunk this long (env, never an API input)."""
    pause = float(os.environ.get("TRACER_TEST_CHUNK_PAUSE", "0") or 0)
    if pause > 0:
        time.sleep(pause)


def run_chunk(job_id: int, index: int, worker: str = "") -> None:
    """Compute one chunk of a matrix/diff job; the last chunk to finish finalises the job."""
    from celery.exceptions import SoftTimeLimitExceeded

    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.state != "running":
        return  # cancelled, failed, finished, or requeued (the new run dispatches chunks again)
    with transaction.atomic():
        chunk = JobChunk.objects.select_for_update().filter(job_id=job_id, index=index).first()
        if chunk is None or chunk.state == "done":
            return
        if chunk.attempts >= MAX_CHUNK_ATTEMPTS:
            fail(job_id, f"chunk {index} was started {chunk.attempts} times and never finished "
                         "(its worker was lost each time)")
            return
        chunk.state, chunk.attempts, chunk.started = "running", chunk.attempts + 1, _now()
        chunk.save(update_fields=["state", "attempts", "started"])
    try:
        beat(job_id)
        _chunk_pause()
        count = (_diff_chunk if job.kind == "diff" else _matrix_chunk)(job, chunk)
    except _Stop:
        return
    except SoftTimeLimitExceeded:
        fail(job_id, f"time limit: chunk {index} ran longer than {_time_limits(job)['soft_time_limit']} s")
        return
    except Exception as exc:
        log.exception("job %s chunk %s crashed", job_id, index)
        fail(job_id, f"internal error in chunk {index}: {type(exc).__name__}: {exc}")
        return
    with transaction.atomic():
        flipped = JobChunk.objects.filter(pk=chunk.pk).exclude(state="done").update(
            state="done", finished=_now(), cells=count, worker=(worker or "")[:255])
        if flipped:
            Job.objects.filter(pk=job_id, state="running").update(
                progress_current=F("progress_current") + 1, heartbeat=_now(),
                progress_message=f"chunk {index + 1} of {job.progress_total or '?'} done ({count} cells)")
    _maybe_finalize(job_id)


class _Beater:
    """Call `tick()` often; it beats (and checks for a cancel) every BEAT_SECONDS."""

    def __init__(self, job_id: int):
        self.job_id, self.last = job_id, time.monotonic()

    def tick(self) -> None:
        if time.monotonic() - self.last >= BEAT_SECONDS:
            beat(self.job_id)
            self.last = time.monotonic()


def _write_cells(rows: list[MatrixCell]) -> None:
    if rows:
        MatrixCell.objects.bulk_create(rows, ignore_conflicts=True, batch_size=CELL_BATCH)
        rows.clear()


def _matrix_chunk(job: Job, chunk: JobChunk) -> int:
    from tracer.engine.reach import compute_cells

    model = _load_model(job.snapshot_id)
    p = _stored_plan(job, "plan")
    beater, rows, count = _Beater(job.pk), [], 0
    for cell in compute_cells(model, p, (chunk.start, chunk.end)):
        rows.append(MatrixCell(job_id=job.pk, source=cell.source, destination=cell.destination,
                               verdict=cell.verdict, reason=(cell.reason or "")[:200], request=cell.request))
        count += 1
        if len(rows) >= CELL_BATCH:
            _write_cells(rows)
        beater.tick()
    _write_cells(rows)
    return count


def _diff_chunk(job: Job, chunk: JobChunk) -> int:
    from tracer.engine.reach import classify_change, compute_cell

    merged = _stored_plan(job, "plan")
    base_plan, cand_plan = _stored_plan(job, "base"), _stored_plan(job, "candidate")
    base_model, cand_model = _load_model(job.params["base"]), _load_model(job.snapshot_id)
    base_src = {s.key: s for s in base_plan.sources}
    cand_src = {s.key: s for s in cand_plan.sources}
    base_dst = {d.key: d for d in base_plan.destinations}
    cand_dst = {d.key: d for d in cand_plan.destinations}
    beater, rows, compared = _Beater(job.pk), [], 0
    for i in range(chunk.start, min(chunk.end, len(merged.sources))):
        skey = merged.sources[i].key
        for j, dst in enumerate(merged.destinations):
            b = c = None
            if skey in base_src and dst.key in base_dst:
                b = compute_cell(base_model, base_src[skey], base_dst[dst.key], keep_result=True)
            if skey in cand_src and dst.key in cand_dst:
                c = compute_cell(cand_model, cand_src[skey], cand_dst[dst.key], keep_result=True)
            change = classify_change(b and (b.verdict, b.reason), c and (c.verdict, c.reason))
            compared += 1
            if change:
                rows.append(MatrixCell(
                    job_id=job.pk, source=i, destination=j, change=change,
                    verdict=c.verdict if c else "", reason=((c.reason if c else "") or "")[:200],
                    request=c.request if c else None, trace=c.result if c else None,
                    base_verdict=b.verdict if b else "", base_reason=((b.reason if b else "") or "")[:200],
                    base_request=b.request if b else None, base_trace=b.result if b else None))
                if len(rows) >= 100:
                    _write_cells(rows)
            beater.tick()
    _write_cells(rows)
    return compared


def _maybe_finalize(job_id: int) -> None:
    if JobChunk.objects.filter(job_id=job_id).exclude(state="done").exists():
        return
    job = Job.objects.filter(pk=job_id, state="running").first()
    if job is None:
        return
    p = _stored_plan(job, "plan")
    cells = MatrixCell.objects.filter(job_id=job_id)
    total = JobChunk.objects.filter(job_id=job_id).count()
    if job.kind == "diff":
        changes = dict(cells.values_list("change").annotate(n=Count("id")).order_by())
        result = {"base_snapshot": job.params["base"], "candidate_snapshot": job.snapshot_id,
                  "sources": len(p.sources), "destinations": len(p.destinations),
                  "compared": len(p.sources) * len(p.destinations), "changed": sum(changes.values()),
                  "changes": changes}
        message = f"done: {result['changed']} of {result['compared']} cells change"
    else:
        verdicts = dict(cells.values_list("verdict").annotate(n=Count("id")).order_by())
        reasons = dict(cells.exclude(reason="").values_list("reason").annotate(n=Count("id")).order_by())
        result = {"snapshot": job.snapshot_id, "sources": len(p.sources), "destinations": len(p.destinations),
                  "cells": sum(verdicts.values()), "verdicts": verdicts, "reasons": reasons,
                  "assumptions": list(p.assumptions)}
        message = f"done: {result['cells']} cells ({len(p.sources)} source classes × {len(p.destinations)} destinations)"
    finish(job_id, result, message, progress_current=total, progress_total=total)


def _run_batch(job: Job) -> None:
    from tracer.engine.flow import parse_flow_request
    from tracer.engine.trace import trace
    from tracer.services import normalize_request

    requests = job.params.get("requests", [])
    model = _load_model(job.snapshot_id)
    results, verdicts = [], Counter()
    last = time.monotonic()
    for n, req in enumerate(requests, start=1):
        try:
            flow, assumptions = parse_flow_request(normalize_request(req))
            out = trace(model, flow, assumptions).to_dict()
            verdicts[out["verdict"]] += 1
        except TracerError as exc:
            out = {"error": str(exc), "line": n}
            verdicts["error"] += 1
        results.append(out)
        if time.monotonic() - last >= BEAT_SECONDS:
            beat(job.pk, f"traced {n} of {len(requests)}", current=n)
            last = time.monotonic()
    _save_output(job, "results", results)
    finish(job.pk, {"count": len(results), "verdicts": dict(verdicts)}, f"done: {len(results)} traces",
           progress_current=len(requests))


def _run_intents(job: Job) -> None:
    from tracer.intents import check, parse_intent

    intents = [parse_intent({k: v for k, v in d.items() if k != "index" and v is not None}, d.get("index", i + 1))
               for i, d in enumerate(job.params.get("intents", []))]
    model = _load_model(job.snapshot_id)
    state = {"last": time.monotonic()}

    def progress(n, total):
        if time.monotonic() - state["last"] >= BEAT_SECONDS or n == total:
            beat(job.pk, f"checked {n} of {total}", current=n)
            state["last"] = time.monotonic()

    report = check(model, intents, progress)
    finish(job.pk, report, f"done: {len(report['violations'])} violation(s) in {report['checked']} intents")


def _run_import(job: Job) -> None:
    from topology.importers import import_bytes

    if job.snapshot_id:  # imported on an earlier attempt whose worker was lost before finishing
        snap = job.snapshot
        finish(job.pk, {"snapshot": snap.pk, "number": snap.number, "cluster": job.cluster_id,
                        "counts": snap.counts, "skipped": snap.skipped, "warnings": snap.warnings},
               f"done: snapshot #{snap.number}", progress_current=1)
        return
    payloads = [(u.name, bytes(u.data)) for u in JobUpload.objects.filter(job=job).order_by("position")]
    if not payloads:
        raise BadRequest("the uploaded files are gone (the job was cancelled or already imported)")
    beat(job.pk, f"importing {len(payloads)} file(s), {sum(len(d) for _, d in payloads)} bytes")
    # One transaction: the snapshot exists iff the job points at it, so a worker killed right after the import
    # cannot leave a snapshot that the retry (seeing no job.snapshot) would import a second time.
    with transaction.atomic():
        result = import_bytes(job.cluster, payloads, owner=job.owner,
                              materialize=job.params.get("materialize", False), nodes=job.params.get("nodes", 3),
                              namespace=job.params.get("namespace", "default"))
        snap = result.snapshot
        Job.objects.filter(pk=job.pk).update(snapshot=snap)
        JobUpload.objects.filter(job=job).delete()
    finish(job.pk, {"snapshot": snap.pk, "number": snap.number, "cluster": job.cluster_id,
                    "counts": result.counts, "skipped": result.skipped, "warnings": result.warnings},
           f"done: snapshot #{snap.number}", progress_current=1)


RUNNERS = {"matrix": _run_matrix, "diff": _run_diff, "batch": _run_batch, "intents": _run_intents,
           "import": _run_import}
