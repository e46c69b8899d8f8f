"""Proven fixes through the commands a user runs (docs/contract.md `fix`): `manage.py trace` and
`manage.py check_intents` print the fix of a dropped path; the fix's YAML, imported together with the cluster's
own manifests (what `kubectl apply -f fix.yaml` adds), makes the same trace deliver.

    Online Boutique (--materialize, its 13 NetworkPolicies; pods carry pod-template-hash):
        [frontend] → redis-cart:6379 ✗ (only cartservice may) — the fix: a NetworkPolicy admitting frontend
"""
from __future__ import annotations

import io
import json

import pytest
import yaml
from django.core.management import call_command

from tests.fixtures import FIXTURES
from tracer.engine.stable_labels import UNSTABLE_LABELS

pytestmark = pytest.mark.django_db
OB = FIXTURES / "online-boutique"
MANIFESTS = [str(OB / "release" / "kubernetes-manifests.yaml"), str(OB / "kustomize" / "components" / "network-policies")]
FLOW = ["--from", "workload:default/frontend", "--to", "svc:default/redis-cart", "--port", "6379"]


@pytest.fixture
def boutique(db):
    from topology.importers import import_files
    return import_files("boutique", MANIFESTS, materialize=True).snapshot


def run(cmd, *args) -> str:
    out = io.StringIO()
    try:
        call_command(cmd, *args, stdout=out)
    except SystemExit:  # check_intents exits 1 on a violation, after printing
        pass
    return out.getvalue()


def test_trace_json_carries_a_verified_fix_that_kubectl_apply_would_make_deliver(boutique, tmp_path):
    r = json.loads(run("trace", "--cluster", "boutique", *FLOW, "--format", "json"))
    assert r["verdict"] == "dropped" and r["reason"] == "policy-ingress-denied"
    fix = r["paths"][0]["fix"]
    assert fix["verified"] is True and "redis-cart" in fix["summary"]
    assert not any(label in fix["yaml"] for label in UNSTABLE_LABELS)
    pol = yaml.safe_load(fix["yaml"])
    assert pol["spec"]["podSelector"] == {"matchLabels": {"app": "redis-cart"}}
    assert pol["spec"]["ingress"] == [{"from": [{"podSelector": {"matchLabels": {"app": "frontend"}}}],
                                       "ports": [{"protocol": "TCP", "port": 6379}]}]
    # the same fix on every replica's path, and it opens nothing else on 6379
    assert all(p["fix"]["yaml"] == fix["yaml"] for p in r["paths"])
    assert fix["opens"] == [] and fix["opens_count"] == 0

    from topology.importers import import_files
    (tmp_path / "fix.yaml").write_text(fix["yaml"])
    import_files("boutique-fixed", [*MANIFESTS, str(tmp_path / "fix.yaml")], materialize=True)
    after = json.loads(run("trace", "--cluster", "boutique-fixed", *FLOW, "--format", "json"))
    assert after["verdict"] == "delivered"


def test_trace_text_and_check_intents_print_the_fix(boutique, tmp_path):
    text = run("trace", "--cluster", "boutique", *FLOW)
    assert "✓ fix (verified by re-tracing): Add NetworkPolicy default/" in text
    assert "kubectl apply -f -" in text and "app: frontend" in text and "pod-template-hash" not in text
    intents = tmp_path / "intents.yaml"
    intents.write_text("- {from: 'workload:default/frontend', to: 'svc:default/redis-cart', port: 6379, "
                       "expect: delivered}\n")
    out = run("check_intents", str(intents), "--cluster", "boutique")
    assert "VIOLATION #1" in out and "✓ fix (verified by re-tracing)" in out and "app: redis-cart" in out
