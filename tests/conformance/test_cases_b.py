"""The contract examples (tests/fixtures/examples): every case of cases-b.yaml over cluster-b.yaml agrees.

Runs the command-line contract end to end, as a user would from the repository root: `manage.py migrate`,
`manage.py import_manifests` and one `manage.py trace --batch - --format json` for all cases, in a fresh
process on its own SQLite database. Each case then checks (docs/contract.md "Result"):
  - the verdict;
  - for a drop, the reason code (the result's, or one of its paths');
  - for a delivery, exactly the endpoints listed, each with the port the packet arrives on and the summed
    probability of the delivered paths that reach it.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.fixtures import CASES_B, CLUSTER_B

REPO = Path(__file__).resolve().parents[2]
CASES = yaml.safe_load(CASES_B.read_text())
REQUEST_KEYS = ("from", "to", "port", "protocol", "via")


def manage(args: list[str], env: dict, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, input=stdin,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, dict]:
    """case id → the JSON result `manage.py trace --batch` printed for it (one line per request, in order)."""
    tmp = tmp_path_factory.mktemp("cases-b")
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(DATABASE_URL=f"sqlite:///{tmp}/db.sqlite3", TRACER_VAR_DIR=str(tmp / "var"), PYTHONUNBUFFERED="1")
    for step in (["migrate", "--noinput", "-v", "0"], ["import_manifests", "--cluster", "cases", str(CLUSTER_B)]):
        proc = manage(step, env)
        assert proc.returncode == 0, f"{step[0]} failed: {proc.stdout}{proc.stderr}"
    batch = "".join(json.dumps({k: c[k] for k in REQUEST_KEYS if k in c}) + "\n" for c in CASES)
    proc = manage(["trace", "--cluster", "cases", "--batch", "-", "--format", "json"], env, stdin=batch)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    assert len(lines) == len(CASES), proc.stdout + proc.stderr
    return {case["id"]: json.loads(line) for case, line in zip(CASES, lines, strict=True)}


def delivered_endpoints(result: dict) -> dict[str, list]:
    """endpoint → [arrival port, summed probability] over the delivered paths."""
    out: dict[str, list] = {}
    for path in result.get("paths", []):
        if path.get("verdict") != "delivered":
            continue
        entry = out.setdefault(path["endpoint"], [path.get("endpoint_port"), 0.0])
        if entry[0] != path.get("endpoint_port"):
            entry[0] = "several ports"
        entry[1] += float(path.get("probability", 0))
    return out


def test_the_examples_are_all_here():
    assert len(CASES) == 17
    assert len({c["id"] for c in CASES}) == len(CASES)
    assert {c["verdict"] for c in CASES} == {"delivered", "dropped"}


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case_agrees(results, case):
    result = results[case["id"]]
    assert result["verdict"] == case["verdict"], (result.get("reason"), result.get("explanation"))
    if case["verdict"] == "dropped":
        reasons = {result.get("reason")} | {p.get("reason") for p in result.get("paths", [])}
        assert case["reason"] in reasons
        return
    got = delivered_endpoints(result)
    assert sorted(got) == sorted(case["endpoints"])
    for endpoint, (port, probability) in case["endpoints"].items():
        assert got[endpoint][0] == port, endpoint
        assert got[endpoint][1] == pytest.approx(probability, abs=1e-6), endpoint
