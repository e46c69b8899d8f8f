"""The benchmark: one command, one table, the machine it ran on.

    .venv/bin/python -m bench.run --size threshold --out docs/performance.md
    .venv/bin/python -m bench.run --size small                    # a quick look (~1 min)
    .venv/bin/python -m bench.run --size tiny --skip matrix,api   # parts can be skipped

What it measures, on a synthetic live-state dump (bench/generate.py, deterministic by seed), against a
PostgreSQL database it creates and drops (DATABASE_URL's server, database `tracer_bench_<size>_<pid>`):

1. import — `manage.py import_manifests` in a child process: wall time and the child's peak RSS
   (ru_maxrss from wait4, i.e. the whole import including YAML/JSON loading and the DB writes);
2. compile — `topology.compile.objects_from_db` + `ClusterModel.build`, cold (no cache) in this process;
3. trace in process — `tracer.engine.trace.trace` over a sample of flows (pod→svc, pod→dns,
   pod→pod IP, node→svc, external→LB, external→url through ingress-nginx), warm: every flow runs once
   first (lazy engine tables are built then), the timed rounds follow;
4. trace via the API — gunicorn (1 sync worker) on 127.0.0.1:<random port> against the same database,
   `POST /api/traces/` with a token (the trace is stored, as for a user), warm, client-side wall time;
5. first UI view — `GET /api/snapshots/<id>/topology/` (what frontend/src/topology.js asks first):
   payload size and time, cold (the web worker compiles the model on that request) and warm;
6. reachability matrix — `tracer.jobs.enqueue_matrix` (what `manage.py matrix` and the UI start) on
   real Celery workers (Redis broker redis://127.0.0.1:6379/14, a private queue), 1 and then 2 worker
   processes (concurrency 1 each), from enqueue to the job's `done`; each worker compiles the model
   cold, as a freshly started worker would.

Targets (docs/performance.md) apply at threshold size; a missed target shows by how much.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable

SIZES = {
    "tiny": dict(nodes=3, pods=60, services=10, policies=8),
    "small": dict(nodes=50, pods=3_000, services=200, policies=40),
    "medium": dict(nodes=500, pods=15_000, services=1_000, policies=200),
    "threshold": dict(nodes=5_000, pods=150_000, services=10_000, policies=2_000),
}
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
GiB = 1024 ** 3


@dataclass
class Metric:
    name: str
    value: float | None
    unit: str  # "s", "ms", "MiB", "MB", "cells"
    target: float | None = None  # upper bound, same unit
    note: str = ""

    def show_value(self) -> str:
        if self.value is None:
            return "—"
        if self.unit == "ms":
            return f"{self.value:.1f} ms"
        if self.unit == "s":
            if self.value >= 3600:
                return f"~{self.value / 3600:,.1f} h (extrapolated)"
            return f"{self.value:.1f} s" if self.value >= 1 else f"{self.value * 1000:.0f} ms"
        if self.unit in ("MiB", "MB"):
            return f"{self.value:,.0f} {self.unit}" if self.value >= 10 else f"{self.value:.2f} {self.unit}"
        return f"{self.value:,.0f} {self.unit}"

    def show_target(self) -> str:
        if self.target is None:
            return ""
        if self.unit == "s" and self.target < 1:
            return f"≤ {self.target * 1000:.0f} ms"
        return f"≤ {self.target:g} {self.unit}"

    def verdict(self) -> str:
        if self.target is None or self.value is None:
            return "" if self.value is not None else "not measured"
        if self.value <= self.target:
            return "met"
        over = self.value - self.target
        unit_over = Metric("", over, self.unit).show_value()
        return f"MISSED by {unit_over} ({self.value / self.target:.1f}× the target)"


@dataclass
class Bench:
    size_name: str
    size: dict
    pg_url: str
    redis_url: str
    workdir: Path
    keep: bool = False
    skip: set[str] = field(default_factory=set)
    metrics: list[Metric] = field(default_factory=list)
    facts: dict = field(default_factory=dict)
    procs: list[subprocess.Popen] = field(default_factory=list)
    workers: tuple[int, ...] = (1, 2)  # matrix step: worker counts

    @property
    def db_name(self) -> str:
        return f"tracer_bench_{self.size_name}_{os.getpid()}"  # two runs at once must not drop each other's

    @property
    def database_url(self) -> str:
        return f"{self.pg_url.rstrip('/')}/{self.db_name}"

    def log(self, msg: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)

    def add(self, *args, **kw) -> Metric:
        m = Metric(*args, **kw)
        self.metrics.append(m)
        self.log(f"  {m.name}: {m.show_value()} {m.verdict()}")
        return m

    # -- environment -------------------------------------------------------------------------

    def child_env(self, **extra) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
        env.update({"DATABASE_URL": self.database_url, "CELERY_BROKER_URL": self.redis_url,
                    "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "WARNING",
                    "TRACER_CELERY_QUEUE": self.queue, "PYTHONUNBUFFERED": "1"})
        env.update(extra)
        return env

    queue: str = ""

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(f"{self.pg_url.rstrip('/')}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
            self.facts["db"] = conn.execute("SHOW server_version").fetchone()[0]

    def drop_database(self) -> None:
        import psycopg
        from django.db import connections

        connections.close_all()
        with psycopg.connect(f"{self.pg_url.rstrip('/')}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    def manage(self, *args, timeout=None) -> subprocess.CompletedProcess:
        return subprocess.run([PY, "manage.py", *args], cwd=REPO, env=self.child_env(), capture_output=True,
                              text=True, timeout=timeout, check=True)

    # -- steps -------------------------------------------------------------------------------

    def generate(self) -> Path:
        from bench.generate import Size, write

        t0 = time.perf_counter()
        path = write(Size(**self.size), self.workdir / self.size_name)
        self.facts["dump_mb"] = path.stat().st_size / 1e6
        self.log(f"generated {path.relative_to(REPO)} ({self.facts['dump_mb']:.0f} MB) in {time.perf_counter() - t0:.0f} s")
        return path

    def import_dump(self, path: Path, retry: bool = True) -> None:
        cmd = [PY, "manage.py", "import_manifests", "--cluster", "bench", "--owner", "bench", str(path)]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=REPO, env=self.child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        took = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out, err = proc.stdout.read().decode(), proc.stderr.read().decode()
        if proc.returncode != 0 and retry and "administrator command" in err:
            self.log("  the server terminated the import's connection; importing again")
            return self.import_dump(path, retry=False)
        if proc.returncode != 0:
            raise RuntimeError(f"import failed ({proc.returncode}):\n{out[-2000:]}\n{err[-3000:]}")
        self.facts["import_output"] = out.strip().splitlines()[:3]
        cpu = usage.ru_utime + usage.ru_stime
        self.add("import (manage.py import_manifests)", took, "s", 60,
                 note=f"CPU time of the import process {cpu:.0f} s (wall − CPU ≈ waiting for a core or for PostgreSQL)")
        self.add("import peak memory (child max RSS)", usage.ru_maxrss / 1024, "MiB", 4096)

    def compile(self):
        from topology.compile import objects_from_db
        from topology.models import Snapshot
        from tracer.engine.cluster import ClusterModel

        snap = Snapshot.objects.filter(cluster__name="bench").order_by("-number").first()
        self.snapshot_id = snap.pk
        c0 = time.process_time()
        t0 = time.perf_counter()
        objects = objects_from_db(snap.pk)
        t1 = time.perf_counter()
        model = ClusterModel.build(objects, snapshot_id=snap.pk)
        t2 = time.perf_counter()
        cpu = time.process_time() - c0
        self.facts["counts"] = {k: len(getattr(objects, k)) for k in ("nodes", "pods", "services", "endpoint_slices",
                                                                    "network_policies", "ingresses")
                                if hasattr(objects, k)}
        self.add("compile (objects_from_db + ClusterModel.build, cold)", t2 - t0, "s", 15,
                 note=f"DB read {t1 - t0:.1f} s + build {t2 - t1:.1f} s; CPU time of this process {cpu:.1f} s")
        return model

    def flows(self, model) -> list[dict]:
        """A fixed sample of flows across the cluster (deterministic: chosen by position)."""
        objs = model.objects
        pods = [p for p in objs.pods if p.namespace.startswith("ns-")]
        svcs = [s for s in objs.services if s.namespace.startswith("ns-")]
        ings = [i for i in objs.ingresses]
        out = []
        for k in range(3):
            src = pods[(k * 7919) % len(pods)]
            same_ns = [s for s in svcs if s.namespace == src.namespace]
            dst = same_ns[(k * 31) % len(same_ns)]
            other = svcs[(k * 104729) % len(svcs)]
            dst_pod = pods[(k * 15485863) % len(pods)]
            out += [
                {"from": f"pod:{src.namespace}/{src.name}", "to": f"svc:{dst.namespace}/{dst.name}", "port": 80},
                {"from": f"pod:{src.namespace}/{src.name}", "to": f"dns:{other.name}.{other.namespace}", "port": 80},
                {"from": f"pod:{src.namespace}/{src.name}", "to": f"ip:{dst_pod.ip}", "port": 8080},
            ]
        node = objs.nodes[len(objs.nodes) // 2].name
        out.append({"from": f"node:{node}", "to": f"svc:{svcs[0].namespace}/{svcs[0].name}", "port": 80})
        out.append({"from": "external:198.51.100.7", "to": "svc:ingress-nginx/ingress-nginx-controller", "port": 80})
        for ing in ings[:3]:
            host = ing.rules[0].host
            out.append({"from": "external:198.51.100.7", "to": f"url:http://{host}/"})
        return out

    def trace_in_process(self, model, flows, rounds: int) -> None:
        from tracer.engine.flow import parse_flow_request
        from tracer.engine.trace import trace

        reqs = [parse_flow_request(f) for f in flows]
        t0 = time.perf_counter()
        verdicts = {}
        for f, (flow, a) in zip(flows, reqs, strict=True):
            verdicts[f"{f['from']} → {f['to']}"] = trace(model, flow, a).verdict
        first = time.perf_counter() - t0
        self.facts["flows"] = verdicts
        samples, cpu = [], []
        for _ in range(rounds):
            for flow, a in reqs:
                c, t = time.thread_time(), time.perf_counter()
                trace(model, flow, a)
                samples.append((time.perf_counter() - t) * 1000)
                cpu.append((time.thread_time() - c) * 1000)
        self.facts["trace_samples"] = len(samples)
        self.add("trace p50, in process (warm)", statistics.median(samples), "ms", 10,
                 note=f"{len(samples)} traces; CPU time p50 {statistics.median(cpu):.1f} ms, p99 {_p99(cpu):.1f} ms")
        self.add("trace p99, in process (warm)", _p99(samples), "ms",
                 note=f"first pass over {len(flows)} flows (lazy tables built): {first:.1f} s")

    # -- web server ----------------------------------------------------------------------------

    def start_web(self) -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = open(self.workdir / f"gunicorn-{self.size_name}.log", "wb")
        proc = subprocess.Popen([PY, "-m", "gunicorn", "config.wsgi:application", "-b", f"127.0.0.1:{port}",
                                 "-w", "1", "--timeout", "900"], cwd=REPO, env=self.child_env(DEBUG="0"),
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                status, _ = _http("GET", port, "/healthz")
                if status == 200:
                    return port
            except OSError:
                pass
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {proc.returncode}")
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /healthz within 60 s")

    def api(self, flows, rounds: int) -> None:
        from django.contrib.auth import get_user_model

        from tracer.tokens import issue_token

        user = get_user_model().objects.get(username="bench")
        token = issue_token(user)[1]
        headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
        port = self.start_web()
        topo = f"/api/snapshots/{self.snapshot_id}/topology/?expand="
        if "topology" not in self.skip:
            t0 = time.perf_counter()
            status, body = _http("GET", port, topo, headers=headers)
            cold = time.perf_counter() - t0
            if status != 200:
                raise RuntimeError(f"topology: HTTP {status}: {body[:500]!r}")
            warm = []
            for _ in range(5):
                t0 = time.perf_counter()
                _http("GET", port, topo, headers=headers)
                warm.append(time.perf_counter() - t0)
            data = json.loads(body)
            els = data.get("elements", {})
            self.facts["topology_elements"] = {k: len(v) for k, v in els.items()} if isinstance(els, dict) else len(els)
            self.add("first UI view: topology payload", len(body) / 1e6, "MB", 2)
            self.add("first UI view: server time (warm model)", statistics.median(warm), "s", 1)
            self.add("first UI view: server time (cold: compiles the model)", cold, "s",
                     note="the first request to a fresh web worker")
            self.add("web worker memory with the model loaded (RSS)", _tree_rss(self.procs[-1].pid) / 1024 ** 2, "MiB",
                     note="gunicorn master + 1 worker; size WEB_CONCURRENCY × this")
        if "search" not in self.skip:
            self.search(port, headers)
        if "api" in self.skip:
            return
        bodies = [json.dumps({"cluster": "bench", **f}).encode() for f in flows]
        for b in bodies:  # warm: the model (if not yet), lazy engine tables
            status, resp = _http("POST", port, "/api/traces/", b, headers)
            if status != 201:
                raise RuntimeError(f"POST /api/traces/: HTTP {status}: {resp[:500]!r}")
        samples = []
        for _ in range(rounds):
            for b in bodies:
                t0 = time.perf_counter()
                _http("POST", port, "/api/traces/", b, headers)
                samples.append((time.perf_counter() - t0) * 1000)
        self.add("trace p50, POST /api/traces/ (warm)", statistics.median(samples), "ms", 50)
        self.add("trace p99, POST /api/traces/ (warm)", _p99(samples), "ms")

    def search(self, port: int, headers: dict) -> None:
        """The source/destination autocomplete (GET /api/snapshots/<id>/search/?q=): by IP prefix, by
        name substring, by namespace/name prefix — the DB queries of topology.services.search."""
        for label, q in (("IP prefix", "10.0.100."), ("name substring", "svc-0999"), ("ns/name prefix", "ns-00042/sv")):
            path = f"/api/snapshots/{self.snapshot_id}/search/?q={q}"
            times = []
            for _ in range(5):
                t0 = time.perf_counter()
                status, body = _http("GET", port, path, headers=headers)
                times.append(time.perf_counter() - t0)
                if status != 200:
                    raise RuntimeError(f"search: HTTP {status}: {body[:300]!r}")
            self.add(f"autocomplete ({label}, q={q})", statistics.median(times), "s",
                     note=f"{len(json.loads(body))} results")

    def stop_procs(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                    p.wait(timeout=10)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(p.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    p.wait(timeout=10)
        self.procs.clear()

    # -- matrix on workers -----------------------------------------------------------------------

    def start_worker(self, name: str) -> subprocess.Popen:
        log_path = self.workdir / f"worker-{self.size_name}-{name}.log"
        log = open(log_path, "wb")
        proc = subprocess.Popen([PY, "-m", "celery", "-A", "config", "worker", "-l", "INFO", "-P", "prefork", "-c", "1",
                                 "-Q", self.queue, "-n", f"{name}@%h", "--without-gossip", "--without-mingle",
                                 "--without-heartbeat"], cwd=REPO, env=self.child_env(), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if "ready." in log_path.read_text(errors="replace"):
                return proc
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited: {log_path.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        raise RuntimeError("worker not ready within 60 s")

    def matrix(self, workers: int, timeout: float) -> None:
        from config.celery import app
        from topology.models import Snapshot
        from tracer import jobs
        from tracer.jobs.chunks import stored_plan
        from tracer.models import Job

        # a fresh queue per run: a cancelled job's undelivered chunk messages must not sit in front of the next job's
        self.queue = f"tracer-bench-{uuid.uuid4().hex[:8]}"
        app.conf.task_default_queue = self.queue
        for i in range(workers):
            self.start_worker(f"bench{i + 1}-{uuid.uuid4().hex[:4]}")
        snap = _retry_db(lambda: Snapshot.objects.get(pk=self.snapshot_id))
        t0 = time.perf_counter()
        job = jobs.enqueue_matrix(snap, services=True, pods=True)
        planned = None
        while True:
            job = _retry_db(lambda pk=job.pk: Job.objects.get(pk=pk))
            if planned is None and job.progress_total:
                planned = time.perf_counter() - t0
            if job.state not in Job.ACTIVE_STATES or time.perf_counter() - t0 > timeout:
                break
            time.sleep(0.5)
        took = time.perf_counter() - t0
        self.facts.setdefault("matrix_planning_s", []).append(round(planned or took))
        rss = max(_tree_rss(p.pid) for p in self.procs) / 1024 ** 2
        self.facts.setdefault("worker_rss_mib", []).append(round(rss))
        self.stop_procs()
        self._purge_queue()
        name = f"matrix, {workers} worker{'s' if workers > 1 else ''}"
        target = 60 if workers == 2 else None
        if job.state != "done":
            from tracer.models import JobChunk, MatrixCell

            if job.state in Job.ACTIVE_STATES:
                jobs.cancel(job)
            cells = MatrixCell.objects.filter(job=job).count()
            res = job.result or {}
            plan_total = None
            try:
                p = stored_plan(job, "plan")
                plan_total = len(p.sources) * len(p.destinations)
                shape = f"{len(p.sources):,} source classes × {len(p.destinations):,} destinations = {plan_total:,} cells"
            except Exception:
                shape = f"{job.progress_total} chunks ({job.progress_message})"
            first = JobChunk.objects.filter(job=job).exclude(started=None).order_by("started").values_list(
                "started", flat=True).first()
            estimate = None
            if first is not None and (cells or job.progress_current):
                from django.utils import timezone

                computing = (timezone.now() - first).total_seconds()
                if cells and plan_total:
                    estimate = (took - computing) + plan_total / (cells / max(computing, 1e-3))
                elif job.progress_current and job.progress_total:  # by chunks done (the plan's storage is internal)
                    estimate = (took - computing) + computing * job.progress_total / job.progress_current
            note = (f"worker RSS up to {rss:,.0f} MiB; stopped after {took:.0f} s ({job.state}), of which "
                    f"{(planned or took):.0f} s compiling, planning and queueing chunks: {shape}; {cells:,} cells computed"
                    + (f" → at that rate the whole matrix takes ~{estimate / 3600:,.1f} h" if estimate else "")
                    + (f"; {job.error}" if job.error else ""))
            self.add(name, estimate, "s", target, note=note)
            return
        res = job.result or {}
        self.facts["matrix"] = {k: res.get(k) for k in ("sources", "destinations", "cells", "verdicts")}
        self.add(name, took, "s", target, note=f"worker RSS up to {rss:,.0f} MiB; {res.get('sources')} source classes × {res.get('destinations')} "
                 f"destinations = {res.get('cells'):,} cells in {job.progress_total} chunks")

    # -- the whole run -----------------------------------------------------------------------------

    def run(self) -> None:
        self.queue = f"tracer-bench-{uuid.uuid4().hex[:8]}"
        self.facts["started"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        self.facts["load_start"] = os.getloadavg()
        path = self.generate()
        self.create_database()
        os.environ.update(self.child_env())
        import django

        django.setup()
        from django.db import connections

        try:
            self.log("migrating the bench database")
            self.manage("migrate", "--noinput")
            from django.contrib.auth import get_user_model

            get_user_model().objects.create_user("bench", password=uuid.uuid4().hex)
            self.log("import")
            self.import_dump(path)
            self.log("compile")
            connections.close_all()  # idle during the import: the shared server may have dropped it
            model = _retry_db(self.compile)
            flows = self.flows(model)
            rounds = max(5, 300 // len(flows))
            if "trace" not in self.skip:
                self.log(f"trace in process: {len(flows)} flows × {rounds} rounds")
                self.trace_in_process(model, flows, rounds)
            del model
            if not {"api", "topology"} <= self.skip:
                self.log("API (gunicorn)")
                connections.close_all()
                self.api(flows, max(3, rounds // 3))
                self.stop_procs()
            if "matrix" not in self.skip:
                for n in self.workers:
                    connections.close_all()
                    self.log(f"matrix with {n} worker(s)")
                    self.matrix(n, timeout=float(os.environ.get("BENCH_MATRIX_TIMEOUT", 240)))
        finally:
            self.stop_procs()
            self._purge_queue()
            self.facts["load_end"] = os.getloadavg()
            self.facts["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            if not self.keep:
                self.drop_database()

    def _purge_queue(self) -> None:
        try:
            from config.celery import app

            with app.connection_for_write() as conn:
                conn.default_channel.queue_delete(self.queue)
        except Exception:
            pass


def _tree_rss(pid: int) -> int:
    """Resident memory (bytes) of a process and its descendants, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()
            children.setdefault(int(fields[1]), []).append(int(d.name))
            rss[int(d.name)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, ValueError, IndexError):
            continue
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total


def _retry_db(fn, attempts: int = 3):
    """Run a query again on a fresh connection if the server dropped ours (the PostgreSQL server is
    shared: another process may terminate backends); the benchmark should not die of that."""
    from django.db import OperationalError, connections

    for i in range(attempts):
        try:
            return fn()
        except OperationalError:
            if i == attempts - 1:
                raise
            connections.close_all()
            time.sleep(1)


def _p99(samples: list[float]) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(0.99 * (len(s) - 1))))]


def _http(method: str, port: int, path: str, body: bytes | None = None, headers: dict | None = None):
    """One request; a 503 (database briefly unavailable: the shared server drops connections) is retried."""
    for _ in range(3):
        status, data = _http_once(method, port, path, body, headers)
        if status != 503:
            break
        time.sleep(1)
    return status, data


def _http_once(method: str, port: int, path: str, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------------
# Reporting


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gib": ram, "python": platform.python_version(),
            "os": f"{platform.system()} {platform.release()}"}


def table_lines(metrics: list[Metric]) -> list[str]:
    lines = ["| measurement | value | target | verdict | note |", "|---|---:|---:|---|---|"]
    for m in metrics:
        lines.append(f"| {m.name} | {m.show_value()} | {m.show_target()} | {m.verdict()} | {m.note} |")
    return lines


def report(b: Bench, nca_rows=None, nca_meta=None) -> str:
    mc = machine()
    f = b.facts
    out = [f"## Benchmark: size `{b.size_name}`", "",
           f"Produced by `.venv/bin/python -m bench.run {' '.join(sys.argv[1:]) or '--size ' + b.size_name}` "
           f"({f.get('started')} → {f.get('finished')}).", "",
           f"- Machine: {mc['cpu']}, {mc['cores']} cores, {mc['ram_gib']:.0f} GiB RAM, {mc['os']}",
           f"- Python {mc['python']}, PostgreSQL {f.get('db', '?')}, Redis broker (Celery), gunicorn 1 sync worker",
           f"- Load average (1/5/15 min) at start {_load(f.get('load_start'))}, at end {_load(f.get('load_end'))} — "
           "the machine is shared with other work, so wall times include waiting for a CPU.",
           f"- Cluster: generator size {b.size} → {f.get('dump_mb', 0):.0f} MB JSON; "
           f"imported {f.get('counts')}", ""]
    out += table_lines(b.metrics)
    if f.get("flows"):
        out += ["", "Trace sample (each flow's verdict):", ""]
        out += [f"- `{k}`: {v}" for k, v in f["flows"].items()]
    if nca_rows:
        out += ["", "## Side by side with network-config-analyzer 2.1.0", ""]
        if nca_meta:
            out.append(f"Run {nca_meta.get('when')} (load average {nca_meta.get('load', 0):.1f}) by "
                       "`.venv/bin/python -m bench.nca_compare`.")
            out.append("")
        from bench.nca_compare import table

        out += table(nca_rows)
    return "\n".join(out) + "\n"


def _load(v) -> str:
    return " / ".join(f"{x:.1f}" for x in v) if v else "?"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--out", type=Path, help="write the report (markdown) here, between the BENCH markers")
    ap.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG), help="PostgreSQL server URL (no database)")
    ap.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    ap.add_argument("--skip", default="", help="comma-separated: trace, api, topology, search, matrix")
    ap.add_argument("--nca", choices=("run", "saved", "no"), default="saved",
                    help="nca comparison: run it now, include the last saved run (default), or leave it out")
    ap.add_argument("--keep", action="store_true", help="keep the bench database")
    ap.add_argument("--workers", default="1,2", help="matrix step: worker counts to run, comma-separated")
    ap.add_argument("--matrix-only", action="store_true",
                    help="only the in-process matrix on both generators with nca beside it (bench/matrix_bench.py), "
                         "written between the MATRIX markers of --out")
    ap.add_argument("--matrix-pods", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--nca-limit", type=float, default=900.0, help="--matrix-only: stop nca after this many seconds")
    args = ap.parse_args(argv)
    if args.matrix_only:
        from bench import matrix_bench

        started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        rows = matrix_bench.run(args.matrix_pods, ["project", "alt"], "run" if args.nca == "run" else "skip",
                                args.nca_limit, log=lambda m: print(m, file=sys.stderr))
        pods = " ".join(str(n) for n in args.matrix_pods)
        text = matrix_bench.section(rows, started, f".venv/bin/python -m bench.run --matrix-only --matrix-pods {pods} "
                                                   f"--nca {args.nca} --out docs/performance.md")
        print(text)
        if args.out:
            write_report(args.out, text + "\n", MATRIX_BEGIN, MATRIX_END)
        return 0
    b = Bench(args.size, SIZES[args.size], args.pg, args.redis, REPO / "var" / "bench", keep=args.keep,
              skip={s.strip() for s in args.skip.split(",") if s.strip()})
    b.workers = tuple(int(n) for n in args.workers.split(","))
    b.workdir.mkdir(parents=True, exist_ok=True)
    b.run()
    nca_rows = nca_meta = None
    if args.nca != "no":
        from bench import nca_compare

        if args.nca == "run":
            nca_rows = nca_compare.run(log=b.log)
            nca_compare.save(nca_rows)
        saved = nca_compare.load_saved()
        if saved:
            nca_meta, nca_rows = saved
    text = report(b, nca_rows, nca_meta)
    print(text)
    if args.out:
        write_report(args.out, text)
    return 0


BEGIN, END = "<!-- BENCH:BEGIN (bench/run.py writes between these markers) -->", "<!-- BENCH:END -->"
MATRIX_BEGIN = "<!-- MATRIX:BEGIN (bench/run.py --matrix-only writes between these markers) -->"
MATRIX_END = "<!-- MATRIX:END -->"


def write_report(path: Path, text: str, begin: str = BEGIN, end: str = END) -> None:
    """Replace the generated part of the document, keep the hand-written analysis around it."""
    old = path.read_text() if path.exists() else f"# Performance\n\n{begin}\n{end}\n"
    if begin in old and end in old:
        head, rest = old.split(begin, 1)
        _, tail = rest.split(end, 1)
        new = f"{head}{begin}\n{text}{end}{tail}"
    else:
        new = f"{old.rstrip()}\n\n{begin}\n{text}{end}\n"
    path.write_text(new)


if __name__ == "__main__":
    sys.exit(main())
