"""A short load run in CI: 4 client threads × 8 s of POST /api/traces/ against gunicorn on 127.0.0.1.

    [4 threads, keep-alive] ──POST /api/traces/──► gunicorn (2 workers) ──► database (this run's backend)

Zero errors, every answer a stored trace with a verdict; the rows written equal the requests answered
(nothing lost, nothing doubled). The long, documented run is `python -m bench.load` (docs/reliability.md).
"""
from __future__ import annotations

import os

from bench.load import FLOWS, Gunicorn, _postgres_database, prepare, run_load, server_env


def _database(tmp_path):
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        return _postgres_database(url)
    return f"sqlite:///{tmp_path}/load.sqlite3", None


def _count_traces(env) -> int:
    import subprocess
    import sys

    from bench.load import REPO

    code = ("import django; django.setup(); from tracer.models import Trace; "
            "print(Trace._default_manager.count())")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return int(out.stdout.strip().splitlines()[-1])


def test_eight_seconds_of_concurrent_traces_without_an_error(tmp_path):
    url, drop = _database(tmp_path)
    try:
        env = server_env(url, tmp_path)
        ids = prepare(env)
        with Gunicorn(env, workers=2) as server:
            for flow in FLOWS:
                status, body = server.request("POST", "/api/traces/", {**flow, "cluster": ids["cluster"]}, ids["token"])
                assert status == 201, body[:300]
            result = run_load(server, ids["token"], ids["cluster"], duration=8, clients=4)
            assert server.request("GET", "/healthz")[0] == 200
        summary = result.summary()
        print("load:", summary)
        assert result.errors == [], summary
        assert result.requests >= 20, summary  # it really ran (≥ 2 requests/s on a loaded 2-core CI box)
        assert summary["p99_ms"] < 5000, summary
        assert _count_traces(env) == len(result.latencies) + len(FLOWS)  # every answered trace stored, once
    finally:
        if drop:
            drop()
