"""The contract examples: `check_cases.py cluster-b.yaml cases-b.yaml` must report every case agreeing.

Runs the shared checker exactly as a reviewer would (from the repo root, through `manage.py import_manifests`
and `manage.py trace --batch`), so it covers the CLI contract end to end.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SHARED = Path("..") / "shared"  # relative to the repo root, where the checker runs


def test_cases_b_all_agree():
    cases = yaml.safe_load((REPO / SHARED / "examples" / "cases-b.yaml").read_text())
    env = dict(os.environ, PY=sys.executable)
    env.pop("DATABASE_URL", None)  # the checker makes its own SQLite database
    proc = subprocess.run(
        [sys.executable, str(SHARED / "tools" / "check_cases.py"), str(SHARED / "examples" / "cluster-b.yaml"),
         str(SHARED / "examples" / "cases-b.yaml"), "-v"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    print(proc.stdout, proc.stderr)
    assert f"cases: {len(cases)}/{len(cases)} cases agree" in proc.stdout, proc.stdout + proc.stderr
    assert len(cases) == 17
    assert proc.returncode == 0
