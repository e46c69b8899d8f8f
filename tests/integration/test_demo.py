"""The demo cluster and the pieces of `make run` (setup_local, scripts/run.sh).

The demo (demo/*.yaml, imported with materialisation on 3 nodes):

    internet ─► LB ingress-nginx-controller (ETP Local) ─► [ingress-nginx ×2] ─► Ingress shop/storefront (TLS)
        shop.example.com/  ─► svc/frontend:80 ─► [frontend ×2]:8080 (named targetPort http)
        shop.example.com/catalog ─► svc/catalog:80 ─► [catalog]:3550
    [frontend] ─► svc/cart:7070 ─► [cart ×2] + [cart-canary] (not ready)
    [cart] ─► redis-0.redis / redis-1.redis (headless StatefulSet; only cart allowed in)
    payments: default-deny + allow-dns + api-from-shop (namespace team=shop) + ledger-from-api
    monitoring: LB grafana (loadBalancerSourceRanges 192.0.2.0/24), hostNetwork node-exporter (ITP Local)
"""
from __future__ import annotations

import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from topology.compile import objects_from_db
from topology.importers import import_files
from topology.models import Cluster, Snapshot

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo"


@pytest.fixture
def demo(db):
    result = import_files("demo-test", [DEMO], materialize=True, nodes=3)
    return result, objects_from_db(result.snapshot.id)


def endpoints_of(objects, ns, name):
    return [e for s in objects.endpoint_slices if s.namespace == ns and s.service_name == name for e in s.endpoints]


def test_demo_imports_with_every_kind(demo):
    result, _ = demo
    counts = result.counts
    for kind in ("Namespace", "Node", "Workload", "Pod", "Service", "EndpointSlice", "Ingress", "IngressClass",
                 "NetworkPolicy", "Secret"):
        assert counts.get(kind, 0) > 0, kind
    # The one warning: the demo's (obviously fake) TLS Secret is a manifest with values, which the importer drops
    # and says so — nothing else about the demo is doubtful.
    assert result.skipped == {}
    assert len(result.warnings) == 1 and "shop/storefront-tls" in result.warnings[0], result.warnings
    assert "values were dropped" in result.warnings[0]


def test_every_selector_service_has_a_ready_endpoint(demo):
    """svc/* with a selector ─► at least one ready endpoint (the demo has no dead service by accident)."""
    _, objects = demo
    selector_services = [s for s in objects.services if s.selector and s.type != "ExternalName"]
    assert len(selector_services) >= 10
    for svc in selector_services:
        eps = endpoints_of(objects, svc.namespace, svc.name)
        assert any(e.ready is not False for e in eps), svc.key


def test_demo_has_the_promised_shapes(demo):
    _, o = demo
    svc = {s.key: s for s in o.services}
    assert {n.name for n in o.namespaces} >= {"shop", "payments", "monitoring", "ingress-nginx", "kube-system",
                                              "default"}
    assert svc["shop/frontend-nodeport"].type == "NodePort"
    assert svc["shop/frontend-nodeport"].external_traffic_policy == "Local"
    assert svc["shop/frontend"].ports[0].target_port == "http"  # named targetPort
    lb = svc["ingress-nginx/ingress-nginx-controller"]
    assert lb.type == "LoadBalancer" and lb.lb_ingress and lb.health_check_node_port
    assert svc["monitoring/grafana"].lb_source_ranges == ("192.0.2.0/24",)
    assert svc["shop/redis"].headless
    assert svc["payments/psp"].type == "ExternalName" and svc["payments/psp"].external_name
    assert [c.name for c in o.ingress_classes if c.is_default and c.controller == "k8s.io/ingress-nginx"] == ["nginx"]
    (ing,) = o.ingresses
    assert ing.tls and ing.tls[0].secret_name == "storefront-tls" and {r.host for r in ing.rules} >= {
        "shop.example.com"}
    (secret,) = [s for s in o.secrets if s.name == "storefront-tls"]
    assert secret.type == "kubernetes.io/tls" and secret.keys == ("tls.crt", "tls.key")
    deny = [p for p in o.network_policies if p.key == "payments/default-deny"][0]
    assert deny.pod_selector.is_empty() and not deny.ingress and set(deny.policy_types) == {"Ingress", "Egress"}
    controllers = [p for p in o.pods if p.labels.get("app.kubernetes.io/name") == "ingress-nginx"]
    assert len(controllers) == 2
    assert all("--controller-class=k8s.io/ingress-nginx" in c.args for p in controllers for c in p.containers)


def test_demo_tls_secret_values_are_not_stored(demo):
    """The demo's fake key material never reaches the database, raw or base64 (only key names do)."""
    import base64

    dump = io.StringIO()
    call_command("dumpdata", "topology", stdout=dump)
    text = dump.getvalue()
    assert "storefront-tls" in text and "tls.key" in text
    for value in ("FAKE-DEMO-CERTIFICATE-NOT-A-REAL-CERT", "FAKE-DEMO-PRIVATE-KEY-NOT-A-REAL-KEY"):
        assert value not in text and base64.b64encode(value.encode()).decode() not in text


def test_not_ready_canary_is_listed_but_not_ready(demo):
    """svc/cart ─► [cart ×2] ready + [cart-canary] ready=false, serving=false."""
    _, o = demo
    eps = {e.target_name: e for e in endpoints_of(o, "shop", "cart")}
    assert len(eps) == 3
    assert (eps["cart-canary"].ready, eps["cart-canary"].serving) == (False, False)
    assert sum(1 for e in eps.values() if e.ready) == 2


def test_statefulset_endpoints_have_hostnames(demo):
    """headless svc/redis ─► redis-0, redis-1 with hostnames (DNS redis-0.redis.shop.svc.cluster.local)."""
    _, o = demo
    assert sorted(e.hostname for e in endpoints_of(o, "shop", "redis")) == ["redis-0", "redis-1"]


def test_demo_import_is_deterministic(db):
    a = objects_from_db(import_files("demo-a", [DEMO], materialize=True).snapshot.id)
    b = objects_from_db(import_files("demo-b", [DEMO], materialize=True).snapshot.id)

    def addresses(o):
        return (sorted((p.key, p.node_name, p.ips) for p in o.pods),
                sorted((s.key, s.cluster_ips, tuple(p.node_port for p in s.ports),
                        tuple(i.ip for i in s.lb_ingress)) for s in o.services))

    assert addresses(a) == addresses(b)


def _trace(**kw) -> dict:
    out = io.StringIO()
    args = ["trace", "--cluster", "demo", "--format", "json"]
    for key, value in kw.items():
        args += [f"--{key.replace('_', '-').rstrip('-')}", str(value)]
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_demo_answers_why_it_is_blocked():
    """[prometheus] (monitoring) ─► svc/payments-api:80 ─✗ payments/default-deny (only team=shop allowed)
       [checkout]   (shop)       ─► svc/payments-api:80 ─► [payments-api]:8080 (api-from-shop)"""
    call_command("setup_local", "--demo", stdout=io.StringIO())
    blocked = _trace(from_="workload:monitoring/prometheus", to="svc:payments/payments-api", port=80)
    assert (blocked["verdict"], blocked["reason"]) == ("dropped", "policy-ingress-denied")
    allowed = _trace(from_="workload:shop/checkout", to="svc:payments/payments-api", port=80)
    assert allowed["verdict"] == "delivered"
    assert {p["endpoint_port"] for p in allowed["paths"]} == {8080}


# ---- make run: setup_local and scripts/run.sh ---------------------------------------------------

@pytest.mark.django_db
def test_setup_local_is_idempotent():
    first, second = io.StringIO(), io.StringIO()
    call_command("setup_local", "--demo", stdout=first)
    call_command("setup_local", "--demo", stdout=second)
    users = get_user_model().objects.filter(username="local-admin")
    assert users.count() == 1 and not users[0].is_superuser  # local mode's user administers nothing
    password = re.search(r"password: (\S+)", first.getvalue()).group(1)
    assert users[0].check_password(password) and password not in users[0].password  # only the hash is kept
    assert "password" not in second.getvalue().split("\n")[0]  # shown once, never again
    cluster = Cluster.objects.get(name="demo")
    assert cluster.owner == users[0]
    assert Snapshot.objects.filter(cluster=cluster).count() == 1
    assert cluster.latest_snapshot().materialized


@pytest.mark.django_db
def test_setup_local_without_demo_imports_nothing():
    call_command("setup_local", stdout=io.StringIO())
    assert get_user_model().objects.filter(username="local-admin").exists()
    assert not Cluster.objects.exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in state


@pytest.mark.workers
@pytest.mark.slow
def test_run_script_serves_the_demo_and_stops_its_worker(tmp_path):
    """`make run` on a fresh checkout, minus installing: migrate, setup_local --demo, scripts/run.sh.

    The server answers on 127.0.0.1, a real Celery worker runs beside it, and Ctrl-C stops both.
    """
    env = {**os.environ, "TRACER_VAR_DIR": str(tmp_path / "var"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("CELERY_BROKER_URL", None)  # the zero-install embedded broker
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=300)
    subprocess.run([py, "manage.py", "setup_local", "--demo"], cwd=ROOT, env=env, check=True, timeout=300,
                   capture_output=True)
    port = _free_port()
    proc = subprocess.Popen(["bash", "scripts/run.sh", "127.0.0.1", str(port)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    worker_pid = None
    try:
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as resp:
                    status = resp.status
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        assert status == 200, "server did not answer"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=30) as resp:
            assert resp.status == 200  # local mode: run.sh bound loopback, no sign-in
        # …but not for a request relayed by a proxy on this host (issue 17 H3): the login page instead.
        relayed = urllib.request.Request(f"http://127.0.0.1:{port}/", headers={"X-Forwarded-For": "203.0.113.9"})
        with urllib.request.urlopen(relayed, timeout=30) as resp:
            assert "/accounts/login/" in resp.url
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does
        try:
            out, _ = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        lines = out.splitlines()
        m = re.search(r"Celery worker pid (\d+)", out)
        worker_pid = int(m.group(1)) if m else None
    assert any(f"http://127.0.0.1:{port}/" in line for line in lines), out
    assert worker_pid is not None, out
    deadline = time.monotonic() + 20
    while _alive(worker_pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _alive(worker_pid), "the Celery worker outlived the server"
