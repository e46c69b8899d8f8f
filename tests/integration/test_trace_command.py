"""`manage.py trace` per docs/contract.md, on imported snapshots (cluster-b and Online Boutique).

    cluster-b:  [pod blog/wordpress-0] → svc/payments/ledger:443 → [ledger-1]:9000
    boutique (--materialize, 13 NetworkPolicies):
        [frontend] → cartservice:7070 ✓   [frontend] → redis-cart:6379 ✗ (only cartservice may)
        [external] → frontend-external LB :80 → [frontend]:8080
"""
from __future__ import annotations

import io
import json
import sys

import pytest
from django.core.management import CommandError, call_command

from tests.fixtures import CLUSTER_B, FIXTURES

pytestmark = pytest.mark.django_db


@pytest.fixture
def cluster_b(db):
    from topology.importers import import_files
    return import_files("b", [str(CLUSTER_B)]).snapshot


@pytest.fixture
def boutique(db):
    from topology.importers import import_files
    ob = FIXTURES / "online-boutique"
    return import_files("boutique", [str(ob / "release" / "kubernetes-manifests.yaml"),
                                     str(ob / "kustomize" / "components" / "network-policies")],
                        materialize=True).snapshot


def trace_cmd(*args) -> str:
    out = io.StringIO()
    call_command("trace", *args, stdout=out)
    return out.getvalue()


def trace_json(*args) -> dict:
    return json.loads(trace_cmd(*args, "--format", "json"))


def test_json_result(cluster_b):
    r = trace_json("--cluster", "b", "--from", "pod:blog/wordpress-0", "--to", "svc:payments/ledger", "--port", "443")
    assert r["verdict"] == "delivered" and r["schema_version"] == 2
    assert [(p["endpoint"], p["endpoint_port"]) for p in r["paths"]] == [("pod:payments/ledger-1", 9000)]
    assert r["paths"][0]["endpoint_ref"] == {"kind": "pod", "namespace": "payments", "name": "ledger-1"}


def test_text_result(cluster_b):
    text = trace_cmd("--cluster", "b", "--from", "pod:monitoring/prometheus-0", "--to", "svc:blog/wordpress",
                     "--port", "80")
    assert text.startswith("DROPPED (no-service-port)")
    assert "Service blog/wordpress has no port 80/TCP (ports: http 8080/TCP" in text


def test_snapshot_option(cluster_b):
    r = trace_json("--cluster", "b", "--snapshot", str(cluster_b.id), "--from", "node:worker-1",
                   "--to", "ip:10.43.0.40", "--port", "9090")
    assert r["verdict"] == "delivered"


@pytest.mark.parametrize("args,message", [
    (["--cluster", "nope", "--from", "pod:a/b", "--to", "svc:a/b"], "unknown cluster"),
    (["--cluster", "b", "--from", "pod:blog", "--to", "svc:a/b"], "unparsable SOURCE"),
    (["--cluster", "b", "--from", "pod:blog/x", "--to", "svc:blog/wordpress"], "unknown pod"),
    (["--cluster", "b", "--from", "pod:blog/wordpress-0", "--to", "nowhere"], "unparsable DESTINATION"),
    (["--cluster", "b", "--snapshot", "999", "--from", "pod:blog/wordpress-0", "--to", "dns:x"], "no snapshot"),
])
def test_bad_requests_exit_2(cluster_b, args, message):
    with pytest.raises(CommandError) as exc:
        trace_cmd(*args)
    assert exc.value.returncode == 2
    assert message in str(exc.value)


def test_batch_keeps_order_and_survives_bad_lines(cluster_b, tmp_path, monkeypatch):
    lines = [
        {"from": "pod:blog/wordpress-1", "to": "dns:mysql-0.mysql", "port": 3306},
        {"from": "pod:blog/nope", "to": "svc:blog/wordpress"},
        "this is not json",
        {"from": "external:192.0.2.1", "to": "ip:198.51.100.30", "port": 443},
    ]
    text = "\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n"
    batch = tmp_path / "batch.jsonl"
    batch.write_text(text)
    out = [json.loads(x) for x in trace_cmd("--cluster", "b", "--batch", str(batch), "--format", "json").splitlines()]
    assert len(out) == 4
    assert out[0]["verdict"] == "delivered"
    assert "unknown pod" in out[1]["error"] and out[1]["line"] == 2
    assert "not JSON" in out[2]["error"]
    assert out[3]["reason"] == "source-range-denied"
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    again = [json.loads(x) for x in trace_cmd("--cluster", "b", "--batch", "-", "--format", "json").splitlines()]
    assert again == out


def test_online_boutique_materialized(boutique):
    """frontend reaches its callees; redis-cart only admits cartservice; the LB serves frontend."""
    r = trace_json("--cluster", "boutique", "--from", "workload:default/frontend", "--to", "dns:cartservice",
                   "--port", "7070")
    assert r["verdict"] == "delivered"
    assert all(p["endpoint"].startswith("pod:default/cartservice-") and p["endpoint_port"] == 7070
               for p in r["paths"])
    assert sum(p["probability"] for p in r["paths"]) == pytest.approx(1.0)
    r = trace_json("--cluster", "boutique", "--from", "workload:default/frontend", "--to", "svc:default/redis-cart",
                   "--port", "6379")
    assert r["reason"] == "policy-ingress-denied"
    assert "default/redis-cart" in r["paths"][0]["hops"][-1]["detail"]
    r = trace_json("--cluster", "boutique", "--from", "workload:default/cartservice", "--to", "dns:redis-cart",
                   "--port", "6379")
    assert r["verdict"] == "delivered"
    r = trace_json("--cluster", "boutique", "--from", "external:203.0.113.9", "--to", "svc:default/frontend-external",
                   "--port", "80")
    assert r["verdict"] == "delivered"
    assert {p["endpoint_port"] for p in r["paths"]} == {8080}
    assert r["paths"][0]["hops"][1]["kind"] == "load-balancer"
