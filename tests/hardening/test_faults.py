"""Services failing under a running system: the broker restarts mid-job, PostgreSQL drops connections.

    test ──POST /api/jobs/matrix──► web ──► Redis (this test's OWN redis-server, 127.0.0.1:<free port>)
                                              ▲ `shutdown nosave` + start again, mid-job
                                    worker ◄──┘ (real celery process, test database)

    client threads ──POST /api/traces/──► gunicorn ──► PostgreSQL (a database of this test)
                                                         ▲ pg_terminate_backend(every backend), repeatedly

Each story ends with the job done (or failed with a reason), no duplicated cells or traces, and the web
server answering. kill -9 mid-batch is here; kill -9 mid-matrix is in tests/integration/test_workers.py (both brokers).
The shared Redis on :6379 is never restarted (the batch test queues on it, as the worker tests do); PostgreSQL is the one on 127.0.0.1:5432 (CI starts it for the
SQLite run as well), reached through TRACER_TEST_POSTGRES_URL if set.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from bench.load import FLOWS, Gunicorn, _postgres_database, free_port, prepare, server_env
from tests.integration.workers import STALE_SECONDS, Broker, Workers
from topology.importers import import_bytes
from topology.models import Cluster
from tracer.jobs import batch as batch_job
from tracer.models import BatchResultChunk, Job, MatrixBlock
from tracer.tokens import issue_token

from .conftest import CLUSTER_B

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


class OwnRedis:
    """A private, non-persistent redis-server for this test only (the shared one on :6379 stays untouched)."""

    def __init__(self, folder: Path):
        self.port = free_port()
        self.folder = folder
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.folder)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.ping():
                return
            time.sleep(0.05)
        raise AssertionError(f"redis-server on port {self.port} did not start")

    def ping(self) -> bool:
        out = subprocess.run([REDIS_CLI, "-p", str(self.port), "ping"], capture_output=True, text=True)
        return out.stdout.strip() == "PONG"

    def shutdown(self) -> None:
        """`redis-cli -p PORT shutdown nosave`: this server's queued messages are gone."""
        subprocess.run([REDIS_CLI, "-p", str(self.port), "shutdown", "nosave"], capture_output=True)
        if self.proc is not None:
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path):
    server = OwnRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_workers(own_redis, transactional_db, tmp_path, settings):
    """Workers and this process on `own_redis`, a private queue; everything restored afterwards."""
    from django.conf import settings as dj

    from config.celery import app, use_broker

    private = Broker(url=own_redis.url, folder=tmp_path / "var" / "broker", queue=f"hardening-{uuid.uuid4().hex[:8]}")
    private.folder.mkdir(parents=True, exist_ok=True)
    old_queue = app.conf.task_default_queue
    settings.TRACER_JOB_STALE_SECONDS = STALE_SECONDS
    use_broker(private.url, private.folder)
    app.conf.task_default_queue = private.queue
    pool = Workers(private, tmp_path / "var")
    try:
        yield pool
    finally:
        pool.stop_all()
        app.conf.task_default_queue = old_queue
        use_broker(dj.CELERY_BROKER_URL)


@pytest.fixture
def alice(transactional_db):
    user = get_user_model().objects.create(username="alice")
    cluster = Cluster.objects.create(name="blog", owner=user)
    snapshot = import_bytes(cluster, [("cluster-b.yaml", CLUSTER_B.read_bytes())], owner=user).snapshot
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user)[1]}")
    api.cluster, api.snapshot = cluster, snapshot
    return api


def _poll(api, job_id: int, until, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(f"/api/jobs/{job_id}/").json()
        if until(body):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} stuck: {body}")
        time.sleep(0.2)


def _ended(body) -> bool:
    return body["state"] not in ("queued", "running")


@pytest.mark.workers
@pytest.mark.django_db(transaction=True)
def test_redis_restart_mid_matrix_job_ends_done_without_duplicate_cells(redis_workers, own_redis, alice):
    """96-cell matrix in 6 chunks; Redis is shut down (nosave: queued chunk messages lost) and restarted while
    the worker is on chunk 1 → the worker reconnects, the reaper requeues the job, the job ends done with each
    of the 96 cells exactly once; the web answers throughout and a new job afterwards runs normally."""
    redis_workers.start(pause=0.6)
    resp = alice.post("/api/jobs/matrix", {"cluster": "blog", "cells_per_chunk": 16}, format="json")
    assert resp.status_code == 202, resp.content
    job_id = resp.json()["job"]["id"]
    _poll(alice, job_id, lambda b: b["state"] == "running" and b["progress"]["current"] >= 1, timeout=45)

    own_redis.shutdown()
    # broker down: the web still traces (201), and a new job is refused with 503, not 500
    trace = alice.post("/api/traces/", {"cluster": "blog", **FLOWS[0]}, format="json")
    assert trace.status_code == 201
    refused = alice.post("/api/jobs/matrix", {"cluster": "blog"}, format="json")
    assert refused.status_code == 503, refused.content
    assert "job queue is unavailable" in refused.json()["detail"]
    own_redis.start()

    body = _poll(alice, job_id, _ended, timeout=120)
    assert body["state"] == "done", body
    blocks = list(MatrixBlock.objects.filter(job_id=job_id).values_list("start", "end", "sources"))
    columns = [j for start, end, _ in blocks for j in range(start, end)]
    assert len(columns) == len(set(columns)) == 16  # every destination column stored exactly once
    assert sum((end - start) * n for start, end, n in blocks) == body["result"]["cells"] == 96
    assert body["progress"]["current"] == body["progress"]["total"]
    after = alice.post("/api/jobs/matrix", {"cluster": "blog", "cells_per_chunk": 48}, format="json")
    assert after.status_code == 202
    again = _poll(alice, after.json()["job"]["id"], _ended, timeout=90)
    assert again["state"] == "done", again
    assert Job.objects.filter(state__in=("queued", "running")).count() == 0


@pytest.mark.workers
@pytest.mark.django_db(transaction=True)
def test_kill_9_mid_batch_then_a_new_worker_gives_each_result_once(workers, alice):
    """A 6,000-trace batch (one task, no chunks): the worker is SIGKILLed as soon as it has claimed the job; a new
    worker picks the job up after the reaper requeues it → done on attempt 2, exactly 6,000 results in request
    order (stored chunks cover 0…n-1 once, nothing appended twice), and the web answers throughout."""
    n = 6000
    requests = [dict(FLOWS[i % len(FLOWS)]) for i in range(n)]
    first = workers.start()
    resp = alice.post("/api/jobs/batch", {"cluster": "blog", "requests": requests}, format="json")
    assert resp.status_code == 202, resp.content[:300]
    job_id = resp.json()["job"]["id"]
    _poll(alice, job_id, lambda b: b["state"] != "queued", timeout=60)
    first.kill9()
    assert Job.objects.get(pk=job_id).state == "running", "the batch finished before the kill: make it longer"
    assert alice.post("/api/traces/", {"cluster": "blog", **FLOWS[0]}, format="json").status_code == 201
    workers.start()
    body = _poll(alice, job_id, _ended, timeout=150)
    assert body["state"] == "done", body
    assert body["attempts"] == 2
    chunks = list(BatchResultChunk.objects.filter(job_id=job_id).order_by("index").values_list(
        "index", "first_line", "count"))
    assert [c[0] for c in chunks] == list(range(len(chunks)))
    assert [c[1] for c in chunks] == [sum(c[2] for c in chunks[:i]) for i in range(len(chunks))]
    results = [json.loads(line) for line in "".join(batch_job.iter_lines(Job.objects.get(pk=job_id))).splitlines()]
    assert len(results) == n
    for i in (0, 1, n - 1):
        assert results[i]["request"]["from"] == requests[i]["from"], i
    assert body["result"]["count"] == n


@pytest.mark.workers
@pytest.mark.django_db(transaction=True)
def test_hostile_upload_imported_in_the_background_fails_with_the_reason(workers, alice, settings):
    """Uploads over TRACER_ASYNC_IMPORT_THRESHOLD become import jobs (202): an alias bomb there fails on the
    worker with the importer's message naming the file — no snapshot, uploads deleted — and a good upload
    right after it gives exactly one new snapshot."""
    from tests.hardening.test_bad_input import billion_laughs
    from topology.models import Snapshot
    from tracer.models import JobUpload

    settings.TRACER_ASYNC_IMPORT_THRESHOLD = 100
    workers.start()
    before = Snapshot.objects.count()
    url = f"/api/clusters/{alice.cluster.pk}/upload/?filename=lol.yaml"
    resp = alice.post(url, data=billion_laughs(), content_type="application/yaml")
    assert resp.status_code == 202, resp.content[:300]
    body = _poll(alice, resp.json()["job"]["id"], _ended, timeout=60)
    assert body["state"] == "failed", body
    assert "lol.yaml document 1" in body["error"] and "alias" in body["error"]
    assert Snapshot.objects.count() == before
    assert not JobUpload.objects.exists()
    good = alice.post(f"/api/clusters/{alice.cluster.pk}/upload/?filename=b.yaml", data=CLUSTER_B.read_bytes(),
                      content_type="application/yaml")
    assert good.status_code == 202
    done = _poll(alice, good.json()["job"]["id"], _ended, timeout=60)
    assert done["state"] == "done", done
    assert Snapshot.objects.count() == before + 1


# -- PostgreSQL connection loss --------------------------------------------------------------------------


def _postgres_admin_url() -> str:
    """The `postgres` maintenance database on the server of TRACER_TEST_POSTGRES_URL / DATABASE_URL."""
    url = os.environ.get("TRACER_TEST_POSTGRES_URL") or os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        url = "postgres://postgres@127.0.0.1:5432/postgres"
    return url.rsplit("/", 1)[0] + "/postgres"


@pytest.fixture(scope="module")
def pg_server(tmp_path_factory):
    """gunicorn (1 worker × 4 threads, persistent connections) on a fresh PostgreSQL database of its own."""
    url, drop = _postgres_database(_postgres_admin_url())
    tmp = tmp_path_factory.mktemp("pgfault")
    try:
        env = server_env(url, tmp)
        ids = prepare(env)
        with Gunicorn(env, workers=1, threads=4) as server:
            yield server, ids, url.rsplit("/", 1)[1]
    finally:
        drop()


def _terminate_backends(dbname: str) -> int:
    import psycopg

    with psycopg.connect(_postgres_admin_url(), autocommit=True) as conn:
        return conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,)).fetchone()[0]


def _trace_rows(dbname: str) -> int:
    import psycopg

    with psycopg.connect(_postgres_admin_url().rsplit("/", 1)[0] + "/" + dbname, autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM tracer_trace").fetchone()[0]


def test_postgres_restart_between_requests_is_invisible(pg_server):
    """Every pooled connection is terminated (a database restart/failover); the very next request is 201:
    the reused connection is health-checked and replaced, not used dead (which answered 500 before)."""
    server, ids, dbname = pg_server
    body = {**FLOWS[0], "cluster": ids["cluster"]}
    for _ in range(4):  # warm every thread's connection
        assert server.request("POST", "/api/traces/", body, ids["token"])[0] == 201
    for _ in range(3):
        assert _terminate_backends(dbname) >= 1
        status, text = server.request("POST", "/api/traces/", body, ids["token"], timeout=20)
        assert status == 201, text[:300]
        assert server.request("GET", f"/api/clusters/{ids['cluster']}/", token=ids["token"])[0] == 200


def test_postgres_backends_killed_during_requests_answer_503_or_succeed(pg_server):
    """4 client threads trace for 6 s while every backend is terminated every 0.3 s: each answer is 201 or 503
    (with Retry-After), none hangs (30 s timeout), none is a 500; afterwards the next request is 201. Rows:
    every 201 is stored once; a 503 stored nothing or one row (never more)."""
    server, ids, dbname = pg_server
    before = _trace_rows(dbname)
    statuses: list[int] = []
    lock = threading.Lock()
    stop = time.monotonic() + 6

    def client(n: int) -> None:
        while time.monotonic() < stop:
            status, _ = server.request("POST", "/api/traces/", {**FLOWS[n % len(FLOWS)], "cluster": ids["cluster"]},
                                       ids["token"], timeout=30)
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    killed = 0
    while time.monotonic() < stop:
        killed += _terminate_backends(dbname)
        time.sleep(0.3)
    for t in threads:
        t.join(60)
        assert not t.is_alive(), "a request hung"
    assert killed >= 5
    assert statuses and set(statuses) <= {201, 503}, sorted(set(statuses))
    assert statuses.count(201) >= 1
    final = server.request("POST", "/api/traces/", {**FLOWS[0], "cluster": ids["cluster"]}, ids["token"])
    assert final[0] == 201
    stored = _trace_rows(dbname) - before - 1
    assert statuses.count(201) <= stored <= statuses.count(201) + statuses.count(503)
    access = [line for line in server.output().splitlines() if line.startswith(("POST ", "GET "))]
    assert not [line for line in access if line.split()[2].startswith("5") and line.split()[2] != "503"]
    print(f"terminated {killed} backends; answers: 201×{statuses.count(201)}, 503×{statuses.count(503)}")
