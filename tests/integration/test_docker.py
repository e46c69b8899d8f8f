"""The docker deployment, checked as far as a machine without a Docker engine allows.

- compose.yml parses, defines postgres/redis/web/worker with health checks and volumes, and every
  file it builds from exists;
- the image's entrypoint really migrates a fresh database (the same PostgreSQL/SQLite the suite
  runs on) and `check --deploy` passes with the production settings of .env.example.
"""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"


def _compose():
    return yaml.safe_load((DOCKER / "compose.yml").read_text())


def test_compose_defines_the_production_services():
    compose = _compose()
    services = compose["services"]
    assert {"postgres", "redis", "web", "worker"} <= set(services)
    for name in ("postgres", "redis", "web", "worker"):
        assert "healthcheck" in services[name], f"{name} has no health check"
    assert services["worker"]["deploy"]["replicas"]
    assert {"pgdata", "redisdata"} <= set(compose["volumes"])
    for name in ("web", "worker"):
        env = services[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://")
        assert env["CELERY_BROKER_URL"].startswith("redis://")


def test_compose_references_files_that_exist():
    compose = _compose()
    web = compose["services"]["web"]
    context = (DOCKER / web["build"]["context"]).resolve()
    assert context == ROOT
    assert (context / web["build"]["dockerfile"]).is_file()
    assert (DOCKER / web["env_file"]).with_name(".env.example").is_file()
    dockerfile = (DOCKER / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            for src in line.split()[1:-1]:
                assert (ROOT / src).exists(), f"Dockerfile copies {src}, which does not exist"
    assert "USER tracer" in dockerfile, "the image must not run as root"
    assert os.access(DOCKER / "entrypoint.sh", os.X_OK)


def _fresh_database_url(tmp_path):
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postg"):
        import psycopg

        name = f"entrypoint_{uuid.uuid4().hex[:10]}"
        base = url.rsplit("/", 1)[0]
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"{base}/{name}", lambda: _drop_pg(url, name)
    return f"sqlite:///{tmp_path / 'entrypoint.sqlite3'}", lambda: None


def _drop_pg(url, name):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def production_env(tmp_path):
    db_url, drop = _fresh_database_url(tmp_path)
    # A clean production environment: nothing inherited from the test process's Django set-up
    # (e.g. DJANGO_ALLOW_ASYNC_UNSAFE, which the browser tests set and check --deploy rejects).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_"))}
    for line in (DOCKER / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    env.update(DATABASE_URL=db_url, PYTHON=sys.executable, TRACER_VAR_DIR=str(tmp_path / "var"),
               SECRET_KEY="a-test-secret-key-that-is-long-enough-for-check-deploy-" + uuid.uuid4().hex,
               DB_WAIT_SECONDS="10")
    yield env
    drop()


def test_entrypoint_migrates_a_fresh_database(production_env):
    run = subprocess.run([str(DOCKER / "entrypoint.sh"), "migrate"], env=production_env, cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    shown = subprocess.run([sys.executable, "manage.py", "showmigrations", "--plan"], env=production_env, cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr[-2000:]
    assert "[ ]" not in shown.stdout, "unapplied migrations after the entrypoint ran"
    assert "[X]  topology.0001_initial" in shown.stdout


def test_production_settings_pass_check_deploy(production_env):
    run = subprocess.run([str(DOCKER / "entrypoint.sh"), "check"], env=production_env, cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, (run.stdout + run.stderr)[-2000:]
