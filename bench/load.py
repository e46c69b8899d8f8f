"""Load run: concurrent trace requests against gunicorn on 127.0.0.1, for a bounded time.

    .venv/bin/python -m bench.load                          # 60 s, 8 client threads, SQLite in a temp dir
    .venv/bin/python -m bench.load --duration 30 --clients 16 --workers 2 --threads 4
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m bench.load --postgres

What happens: a fresh database (a temporary SQLite file, or with --postgres a database
`tracer_load_<pid>` created on DATABASE_URL's server and dropped afterwards) is migrated and given a
user with an API token and the example cluster (tests/fixtures/examples/cluster-b.yaml). gunicorn serves
config.wsgi on 127.0.0.1:<free port>; N client threads (one keep-alive connection each) then POST
`/api/traces/` in a loop, rotating over a fixed mix of flows (delivered, dropped, DNS, Ingress URL),
until the time is up. Every response must be 201 with a verdict; anything else counts as an error.
Output: requests, errors, throughput, p50/p90/p99/max latency (client-side wall time), as text or
`--json`. Exit status 1 when any request failed.

tests/hardening/test_load.py runs the same code for 8 s in CI; the servers' helpers here are also
used by the fault tests (tests/hardening/test_faults.py).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLUSTER_B = REPO / "tests" / "fixtures" / "examples" / "cluster-b.yaml"

FLOWS = [
    {"from": "pod:blog/wordpress-0", "to": "svc:payments/ledger", "port": 443},
    {"from": "pod:monitoring/prometheus-0", "to": "svc:payments/ledger", "port": 443},
    {"from": "pod:blog/wordpress-1", "to": "svc:blog/mysql", "port": 3306},
    {"from": "pod:blog/wordpress-0", "to": "dns:mysql.blog.svc.cluster.local", "port": 3306},
    {"from": "external:203.0.113.9", "to": "url:http://blog.example.org/", "port": None},
    {"from": "pod:payments/ledger-1", "to": "svc:blog/wordpress", "port": 80},
]

SETUP = """
import json, sys
import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.management import call_command
from tracer.tokens import issue_token
from topology.importers import import_bytes
from topology.models import Cluster
call_command("migrate", verbosity=0, interactive=False)
user = get_user_model().objects.create_user("load")
token = issue_token(user)[1]
cluster = Cluster.objects.create(name="blog", owner=user)
snap = import_bytes(cluster, [("cluster-b.yaml", open(sys.argv[1], "rb").read())], owner=user).snapshot
print(json.dumps({"token": token, "cluster": cluster.pk, "snapshot": snap.pk}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(database_url: str, var_dir: Path, extra: dict | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update({"DATABASE_URL": database_url, "TRACER_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "config.settings",
                "DEBUG": "0", "LOG_LEVEL": "WARNING", "PYTHONUNBUFFERED": "1"})
    env.update(extra or {})
    return env


def prepare(env: dict) -> dict:
    """Migrate the database in `env`, create a user + token + cluster "blog" → {token, cluster, snapshot}."""
    proc = subprocess.run([sys.executable, "-c", SETUP, str(CLUSTER_B)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise RuntimeError(f"database setup failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


@dataclass
class Gunicorn:
    """gunicorn serving config.wsgi on 127.0.0.1:<port>, in its own process group."""

    env: dict
    workers: int = 2
    threads: int = 1
    timeout: int = 30
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    log: Path | None = None

    def start(self, wait: float = 60) -> Gunicorn:
        self.log = Path(self.env["TRACER_VAR_DIR"]) / f"gunicorn-{self.port}.log"
        cmd = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{self.port}",
               "--workers", str(self.workers), "--threads", str(self.threads), "--timeout", str(self.timeout),
               "--graceful-timeout", "5", "--access-logfile", "-", "--access-logformat", '%(m)s %(U)s %(s)s %(L)s']
        with open(self.log, "wb") as fh:
            self.proc = subprocess.Popen(cmd, cwd=REPO, env=self.env, stdout=fh, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.output()[-3000:]}")
            try:
                if self.request("GET", "/healthz", timeout=2)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn not answering after {wait} s:\n{self.output()[-3000:]}")

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None,
                timeout: float = 30) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Content-Type": "application/json"}
            if token:
                headers["Authorization"] = f"Token {token}"
            conn.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log and self.log.exists() else ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)

    def __enter__(self) -> Gunicorn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@dataclass
class LoadResult:
    duration: float
    clients: int
    latencies: list[float]
    errors: list[str]

    @property
    def requests(self) -> int:
        return len(self.latencies) + len(self.errors)

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]

    def summary(self) -> dict:
        return {"duration_s": round(self.duration, 1), "clients": self.clients, "requests": self.requests,
                "errors": len(self.errors), "throughput_rps": round(len(self.latencies) / self.duration, 1),
                "p50_ms": round(self.percentile(50) * 1000, 1), "p90_ms": round(self.percentile(90) * 1000, 1),
                "p99_ms": round(self.percentile(99) * 1000, 1),
                "max_ms": round(max(self.latencies, default=float("nan")) * 1000, 1),
                "mean_ms": round(statistics.fmean(self.latencies) * 1000, 1) if self.latencies else None,
                "first_errors": self.errors[:5]}


def run_load(server: Gunicorn, token: str, cluster: int, *, duration: float, clients: int) -> LoadResult:
    """`clients` threads, each with one keep-alive connection, POST traces until `duration` is over."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + duration
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        i = n
        mine, bad = [], []
        while time.monotonic() < stop_at:
            flow = {**FLOWS[i % len(FLOWS)], "cluster": cluster}
            i += 1
            started = time.monotonic()
            try:
                conn.request("POST", "/api/traces/", body=json.dumps(flow), headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                elapsed = time.monotonic() - started
                if resp.status == 201 and json.loads(body).get("verdict") in ("delivered", "dropped", "partial"):
                    mine.append(elapsed)
                else:
                    bad.append(f"{resp.status}: {body[:200]!r}")
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            except (OSError, http.client.HTTPException) as exc:
                bad.append(f"{type(exc).__name__}: {exc}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors.extend(bad)

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + 60)
    return LoadResult(time.monotonic() - started, clients, latencies, errors)


def _postgres_database(base_url: str) -> tuple[str, callable]:
    import psycopg

    name = f"tracer_load_{os.getpid()}"
    admin = base_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return base_url.rsplit("/", 1)[0] + "/" + name, drop


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    ap.add_argument("--clients", type=int, default=8, help="client threads (default 8)")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (default 2)")
    ap.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (default 1)")
    ap.add_argument("--postgres", action="store_true", help="use a fresh database on DATABASE_URL's PostgreSQL")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tracer-load-") as tmp:
        drop = None
        if args.postgres:
            url, drop = _postgres_database(os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres")
        else:
            url = f"sqlite:///{tmp}/load.sqlite3"
        try:
            env = server_env(url, Path(tmp))
            ids = prepare(env)
            with Gunicorn(env, workers=args.workers, threads=args.threads) as server:
                for flow in FLOWS:  # warm: each worker compiles the model on its first request
                    server.request("POST", "/api/traces/", {**flow, "cluster": ids["cluster"]}, ids["token"])
                result = run_load(server, ids["token"], ids["cluster"], duration=args.duration, clients=args.clients)
        finally:
            if drop:
                drop()
    summary = {**result.summary(), "database": "postgresql" if args.postgres else "sqlite",
               "gunicorn": f"{args.workers} worker(s) × {args.threads} thread(s)", "cpus": os.cpu_count()}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key:>15}: {value}")
    return 1 if result.errors else 0


if __name__ == "__main__":
    sys.exit(main())
