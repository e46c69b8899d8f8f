"""Real Celery worker processes for the worker tests, on the configured broker and the test database.

Why real processes: acks_late, reject_on_worker_lost, `kill -9`, time limits and the filesystem
transport's behaviour only exist in a real worker; an eager/in-process Celery would test none of it.

- Broker: Redis when CELERY_BROKER_URL is set — on a dedicated database number
  (TRACER_TEST_REDIS_DB, default 14) — else the embedded filesystem broker in a temporary folder.
  Each test gets its own queue name, so a developer's running worker (or another test run sharing
  the Redis server) never takes a test's job.
- Database: the worker must see what the test writes and vice versa, so tests using it are
  `transaction=True` tests (data is committed), and the worker gets the *test* database through
  DATABASE_URL (for SQLite settings.py makes the test database a file for exactly this reason).

Usage (fixtures `broker` and `workers`, registered by tests/integration/conftest.py):

    def test_x(workers):
        w = workers.start(pause=0.5)   # a worker; each chunk held 0.5 s (tests/integration/paused_worker.py)
        ...
        w.kill9()                      # SIGKILL the worker and its pool children
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
STALE_SECONDS = 10  # the smallest TRACER_JOB_STALE_SECONDS settings accept: keeps reaper tests short


def redis_test_url(url: str) -> str:
    """The configured Redis URL with the tests' dedicated database number."""
    db = os.environ.get("TRACER_TEST_REDIS_DB", "14")
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


def database_url() -> str:
    """DATABASE_URL for the worker: the database this test process is using (the test database)."""
    from django.db import connection

    sd = connection.settings_dict
    if sd["ENGINE"].endswith("sqlite3"):
        name = str(sd["NAME"])
        if "memory" in name or not name:
            raise RuntimeError("the SQLite test database is in memory: a worker process cannot share it")
        return f"sqlite:///{name}"
    user = quote(sd.get("USER") or "", safe="")
    password = quote(sd.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = sd.get("HOST") or "127.0.0.1"
    port = f":{sd['PORT']}" if sd.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{sd['NAME']}"


@dataclass
class Broker:
    url: str  # "" ⇒ filesystem
    folder: Path
    queue: str

    @property
    def kind(self) -> str:
        return "redis" if self.url else "filesystem"


@dataclass
class Worker:
    proc: subprocess.Popen
    log: Path
    name: str

    def kill9(self) -> None:
        """SIGKILL the whole process group: the main process and its pool children, no cleanup."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)  # warm shutdown; a hanging test chunk gets killed below
            self.proc.wait(timeout=2)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)

    def children(self) -> list[int]:
        """Pids of the pool processes (the main process's children)."""
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.output():
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"worker {self.name} exited with {self.proc.returncode}:\n{self.output()[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"worker {self.name} not ready after {timeout} s:\n{self.output()[-3000:]}")


@dataclass
class Workers:
    broker: Broker
    var_dir: Path
    started: list[Worker] = field(default_factory=list)

    def start(self, *, pause: float = 0.0, concurrency: int = 1, wait: bool = True,
              extra_env: dict | None = None) -> Worker:
        name = f"w{len(self.started) + 1}-{uuid.uuid4().hex[:6]}"
        env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "DATABASE_URL")}
        env.update({
            "DATABASE_URL": database_url(),
            "TRACER_VAR_DIR": str(self.var_dir),  # the filesystem broker lives in <var>/broker
            "TRACER_CELERY_QUEUE": self.broker.queue,
            "TRACER_JOB_STALE_SECONDS": str(STALE_SECONDS),
            "TRACER_TEST_CHUNK_PAUSE": str(pause),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "WARNING",
        })
        if self.broker.url:
            env["CELERY_BROKER_URL"] = self.broker.url
        env.update(extra_env or {})
        log = self.var_dir / f"{name}.log"
        # tests.integration.paused_worker: `celery` with each chunk held `pause` seconds (a test-side wrap)
        cmd = [sys.executable, "-m", "tests.integration.paused_worker", "-A", "config", "worker", "-l", "INFO", "-P", "prefork",
               "-c", str(concurrency), "-Q", self.broker.queue, "-n", f"{name}@%h",
               "--without-gossip", "--without-mingle", "--without-heartbeat"]
        with open(log, "wb") as fh:
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        worker = Worker(proc, log, name)
        self.started.append(worker)
        if wait:
            worker.wait_ready()
        return worker

    def stop_all(self) -> None:
        for w in self.started:
            w.stop()


@pytest.fixture
def broker(tmp_path, settings):
    """Point this process's Celery app at a private queue on the test broker; restore afterwards."""
    from django.conf import settings as dj

    from config.celery import app, use_broker

    url = dj.CELERY_BROKER_URL
    b = Broker(url=redis_test_url(url) if url else "", folder=tmp_path / "var" / "broker",
               queue=f"tracer-test-{uuid.uuid4().hex[:10]}")
    b.folder.mkdir(parents=True, exist_ok=True)
    old_queue = app.conf.task_default_queue
    settings.TRACER_JOB_STALE_SECONDS = STALE_SECONDS
    use_broker(b.url, b.folder)
    app.conf.task_default_queue = b.queue
    try:
        yield b
    finally:
        if b.url:
            try:
                with app.connection_for_write() as conn:
                    conn.default_channel.queue_purge(b.queue)
            except Exception:
                pass
        app.conf.task_default_queue = old_queue
        use_broker(url)


@pytest.fixture
def workers(broker, transactional_db, tmp_path):
    """Start real worker processes (see `Workers.start`); all are stopped after the test."""
    pool = Workers(broker, tmp_path / "var")
    try:
        yield pool
    finally:
        pool.stop_all()
