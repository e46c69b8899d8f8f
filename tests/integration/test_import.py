"""Importing into the database: the command, snapshots, atomicity, secret redaction, round trip.

Real database (SQLite by default, PostgreSQL with DATABASE_URL). Corpus inputs come from
tests/fixtures (see its README.md).
"""
from __future__ import annotations

import base64
import io
import json
import sys

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from tests.fixtures import CLUSTER_B, FIXTURES
from topology.compile import load_model, objects_from_db
from topology.importers import ManifestError, import_bytes, import_files
from topology.importers.load import load_documents
from topology.importers.parse import parse_objects
from topology.models import Cluster, Endpoint, EndpointSlice, Pod, Service, Snapshot

pytestmark = pytest.mark.django_db


def topology_row_counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in apps.get_app_config("topology").get_models()}


def run_command(*args) -> str:
    out = io.StringIO()
    call_command("import_manifests", *args, stdout=out)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------
# A live dump: tests/fixtures/examples/cluster-b.yaml


@pytest.fixture
def cluster_b():
    return CLUSTER_B


def test_cluster_b_import_summary_and_rows(cluster_b):
    out = run_command("--cluster", "b", str(cluster_b))
    assert "Imported snapshot #1 of cluster 'b'" in out
    assert "8 Pod, 6 Service, 7 EndpointSlice" in out
    snap = Snapshot.objects.get(cluster__name="b")
    assert snap.counts["Pod"] == 8 and snap.counts["Node"] == 2 and not snap.materialized
    assert len(snap.content_hash) == 64
    assert Pod.objects.filter(snapshot=snap).count() == 8
    # indexed lookup columns
    assert Pod.objects.get(snapshot=snap, ip="10.42.2.30").name == "ledger-2"
    assert Service.objects.get(snapshot=snap, cluster_ip="10.43.0.30").name == "ledger"
    # endpoints are rows, in slice order, with nil conditions kept
    wp = EndpointSlice.objects.get(snapshot=snap, name="wordpress-a")
    assert list(wp.endpoint_rows.values_list("ip", "node_name")) == [("10.42.1.10", "worker-1"),
                                                                    ("10.42.2.10", "worker-2")]
    dns = Endpoint.objects.get(snapshot=snap, slice__name="kube-dns-x")
    assert (dns.ready, dns.serving, dns.terminating) == (True, None, None)


def test_cluster_b_round_trip_equals_the_parser(cluster_b):
    """DB rows → dataclasses give exactly what the parser produced (column names = field names)."""
    result = import_files("b", [cluster_b])
    parsed = parse_objects(load_documents(cluster_b)).objects
    assert objects_from_db(result.snapshot.pk) == parsed
    model = load_model(result.snapshot.pk)
    assert model.pod_by_ip["10.42.1.10"].name == "wordpress-0"
    svc = model.services["blog/wordpress"]
    assert svc.ports[0].target_port == "web"  # the named targetPort survives the database
    assert [e.addresses for s in model.slices_by_service["blog/wordpress"] for e in s.endpoints] == [
        ("10.42.1.10",), ("10.42.2.10",)]
    assert load_model(result.snapshot.pk) is model  # compiled once per snapshot


def test_each_import_is_a_new_snapshot(cluster_b):
    first = import_files("b", [cluster_b]).snapshot
    second = import_files("b", [cluster_b]).snapshot
    assert (first.number, second.number) == (1, 2) and first.cluster_id == second.cluster_id
    assert Pod.objects.filter(snapshot=first).count() == Pod.objects.filter(snapshot=second).count() == 8
    assert first.content_hash == second.content_hash


def test_owner_option_creates_a_private_cluster(cluster_b, django_user_model):
    alice = django_user_model.objects.create_user("alice")
    run_command("--cluster", "b", "--owner", "alice", str(cluster_b))
    assert Cluster.objects.get(name="b").owner == alice
    with pytest.raises(CommandError, match="no user named 'bob'"):
        run_command("--cluster", "b", "--owner", "bob", str(cluster_b))


# ---------------------------------------------------------------------------------------------
# Inputs: stdin, directories, JSON, kind: List


NS_YAML = "apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n"


def test_stdin(monkeypatch, cluster_b):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(cluster_b.read_bytes())))
    out = run_command("--cluster", "piped", "-")
    assert "8 Pod" in out
    snap = Snapshot.objects.get(cluster__name="piped")
    assert snap.source == "<stdin>" and snap.counts["EndpointSlice"] == 7


def test_directory_imports_manifests_in_name_order(tmp_path):
    """b.json redefines a.yaml's service: with --materialize the later file (by name) wins."""
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "x"},
           "spec": {"selector": {"app": "api"}, "ports": [{"port": 80}]}}
    (tmp_path / "a.yaml").write_text(json.dumps(svc))
    svc["spec"]["ports"] = [{"port": 8080}]
    (tmp_path / "b.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [svc]}))
    (tmp_path / "README.md").write_text("# not imported")
    result = import_files("dir", [tmp_path], materialize=True)
    assert Service.objects.get(snapshot=result.snapshot, namespace="x", name="api").ports[0]["port"] == 8080
    assert any("later definition wins" in w for w in result.warnings)
    with pytest.raises(ManifestError, match="Service x/api is already defined"):
        import_files("dir", [tmp_path])  # a live dump may not hold the same object twice


def test_json_kind_list(cluster_b):
    import yaml

    data = yaml.safe_load(cluster_b.read_text())
    result = import_bytes("j", [("dump.json", json.dumps(data).encode())])
    assert result.counts["Pod"] == 8 and result.counts["Ingress"] == 1


# ---------------------------------------------------------------------------------------------
# Atomicity and errors


BAD_BATCH = NS_YAML % "good" + """---
apiVersion: v1
kind: Service
metadata: {name: ok, namespace: good}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: broken, namespace: good}
spec: {ports: [{port: 80, targetPort: 99999}]}
"""


def test_bad_document_in_a_batch_leaves_the_database_unchanged(tmp_path, cluster_b):
    import_files("b", [cluster_b])
    before = topology_row_counts()
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_BATCH)
    with pytest.raises(CommandError) as exc:
        run_command("--cluster", "b", str(cluster_b), str(bad))
    assert "bad.yaml document 3 (Service good/broken): spec.ports[0].targetPort: 99999 is out of range" in str(exc.value)
    assert "Nothing was imported" in str(exc.value)
    assert topology_row_counts() == before
    assert Snapshot.objects.filter(cluster__name="b").count() == 1


def test_failure_while_writing_rolls_back(monkeypatch, cluster_b):
    """A crash after some rows are written (here: inserting endpoints) leaves no partial snapshot."""
    before = topology_row_counts()

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("topology.importers.persist._persist_endpoints", explode)
    with pytest.raises(RuntimeError):
        import_files("b", [cluster_b])
    assert topology_row_counts() == before


def test_command_exit_status_and_stderr(tmp_path, capsys, monkeypatch):
    from topology.management.commands.import_manifests import Command

    # run_from_argv closes DB connections when done; keep the test database's connection open.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_BATCH)
    with pytest.raises(SystemExit) as exit_:
        Command().run_from_argv(["manage.py", "import_manifests", "--cluster", "x", str(bad)])
    assert exit_.value.code != 0
    err = capsys.readouterr().err
    assert "document 3 (Service good/broken): spec.ports[0].targetPort" in err
    assert not Cluster.objects.filter(name="x").exists()


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no-such.yaml: no such file"):
        run_command("--cluster", "x", str(tmp_path / "no-such.yaml"))


# ---------------------------------------------------------------------------------------------
# Secrets: values never reach the database


SECRET_VALUES = ["s3cr3t-password-value", "tls-private-key-material", "api-token-0123456789"]


@pytest.mark.parametrize("materialize", [False, True], ids=["live", "materialize"])
def test_secret_values_are_nowhere_in_the_database(materialize):
    data = {f"key{i}": base64.b64encode(v.encode()).decode() for i, v in enumerate(SECRET_VALUES[:2])}
    manifest = {
        "apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
             "metadata": {"name": "web-tls", "namespace": "shop", "annotations": {
                 "kubectl.kubernetes.io/last-applied-configuration": json.dumps({"data": data})}},
             "data": data, "stringData": {"token": SECRET_VALUES[2]}},
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "shop"},
             "spec": {"ports": [{"port": 443}]}},
        ]}
    result = import_bytes("sec", [("secrets.json", json.dumps(manifest).encode())], materialize=materialize)
    assert result.counts["Secret"] == 1
    model = load_model(result.snapshot.pk)
    assert model.objects.secrets[0].keys == ("key0", "key1", "token")

    needles = SECRET_VALUES + [base64.b64encode(v.encode()).decode() for v in SECRET_VALUES]
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        assert "topology_secret" in tables and "topology_snapshot" in tables
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                text = " ".join(str(v) for v in row)
                for needle in needles:
                    assert needle not in text, f"secret value found in table {table}"
    assert not any(n in " ".join(result.warnings) for n in needles)


# ---------------------------------------------------------------------------------------------
# Desired-state manifests with --materialize


@pytest.fixture
def boutique():
    base = FIXTURES / "online-boutique"
    return [base / "release" / "kubernetes-manifests.yaml",
            *sorted((base / "kustomize" / "components" / "network-policies").glob("*.yaml")),
            *sorted((base / "github-release-cluster").glob("*.yaml"))]


BOUTIQUE_SERVICES = ["adservice", "cartservice", "checkoutservice", "currencyservice", "emailservice",
                     "frontend", "paymentservice", "productcatalogservice", "recommendationservice",
                     "redis-cart", "shippingservice"]


def test_online_boutique_materialized(boutique):
    """[pod frontend-…] → svc/cartservice:7070 → [pod cartservice-…]:7070, for every microservice."""
    out = run_command("--cluster", "boutique", "--materialize", *map(str, boutique))
    assert "(materialised)" in out
    snap = Snapshot.objects.get(cluster__name="boutique")
    assert snap.materialized
    # kinds we do not model are skipped and counted, not errors
    assert snap.skipped["ServiceAccount"] == 11
    for kind in ("Component", "BackendConfig", "FrontendConfig", "ManagedCertificate"):
        assert snap.skipped[kind] == 1, kind
    assert snap.counts["NetworkPolicy"] == 13 and snap.counts["Ingress"] == 1
    # the later github-release-cluster/frontend-service.yaml replaced the release's frontend service
    assert any("Service default/frontend" in w and "later definition wins" in w for w in snap.warnings)

    model = load_model(snap.pk)
    assert len(model.nodes) == 3
    for name in BOUTIQUE_SERVICES:
        svc = model.services[f"default/{name}"]
        assert svc.cluster_ip, name
        pods = model.pods_of_workload("default", name, "Deployment")
        assert pods and all(p.ip and p.node_name in model.nodes for p in pods), name
        endpoint_ips = {e.addresses[0] for s in model.slices_by_service[svc.key] for e in s.endpoints}
        assert endpoint_ips == {p.ip for p in pods}, name
    lb = model.services["default/frontend-external"]
    assert lb.type == "LoadBalancer" and lb.lb_ingress and lb.ports[0].node_port
    # what every cluster has
    assert "kube-system/kube-dns" in model.services and "default/kubernetes" in model.services


def test_materialize_is_deterministic(boutique):
    """Same input, same addresses: two imports give identical pods, IPs, ClusterIPs and NodePorts."""
    first = import_files("one", boutique, materialize=True).snapshot
    second = import_files("two", boutique, materialize=True).snapshot

    def addresses(snap):
        pods = sorted(Pod.objects.filter(snapshot=snap).values_list("namespace", "name", "ip", "node_name"))
        svcs = sorted(Service.objects.filter(snapshot=snap).values_list("namespace", "name", "cluster_ip", "ports"),
                      key=lambda r: r[:2])
        return pods, [(ns, n, ip, json.dumps(p, sort_keys=True)) for ns, n, ip, p in svcs]

    assert addresses(first) == addresses(second)
    assert addresses(first)[0]


def test_materialize_nodes_option(boutique):
    result = import_files("five", boutique, materialize=True, nodes=5)
    assert result.counts["Node"] == 5
    with pytest.raises(CommandError, match="--nodes only applies with --materialize"):
        run_command("--cluster", "x", "--nodes", "4", str(boutique[0]))
    with pytest.raises(CommandError, match="--nodes: must be a whole number from 1"):
        run_command("--cluster", "x", "--materialize", "--nodes", "0", str(boutique[0]))


GUESTBOOK_FILES = [
    "web/guestbook/frontend-deployment.yaml", "web/guestbook/frontend-service.yaml",
    "web/guestbook/redis-master-deployment.yaml", "web/guestbook/redis-master-service.yaml",
    "web/guestbook/redis-replica-deployment.yaml", "web/guestbook/redis-replica-service.yaml",
    "web/guestbook/all-in-one/frontend.yaml", "web/guestbook/all-in-one/redis-replica.yaml",
    "web/guestbook/all-in-one/guestbook-all-in-one.yaml",
    "web/guestbook/legacy/frontend-controller.yaml", "web/guestbook/legacy/redis-master-controller.yaml",
    "web/guestbook/legacy/redis-replica-controller.yaml",
    "web/guestbook-go/guestbook-controller.yaml", "web/guestbook-go/guestbook-service.yaml",
    "web/guestbook-go/redis-master-controller.yaml", "web/guestbook-go/redis-master-service.yaml",
    "web/guestbook-go/redis-replica-controller.yaml", "web/guestbook-go/redis-replica-service.yaml",
]


def test_every_guestbook_file_is_in_the_table():
    base = FIXTURES / "k8s-examples-guestbook"
    found = sorted(str(p.relative_to(base)) for p in base.rglob("*") if p.suffix in (".yaml", ".yml", ".json"))
    assert found == sorted(GUESTBOOK_FILES)


@pytest.mark.parametrize("relpath", GUESTBOOK_FILES)
def test_each_guestbook_file_imports_materialized(relpath):
    """Every file alone is desired state: workloads get pods, services get a ClusterIP."""
    path = FIXTURES / "k8s-examples-guestbook" / relpath
    docs = load_documents(path)
    result = import_files("gb", [path], materialize=True)
    model = load_model(result.snapshot.pk)
    for doc in docs:
        kind, name = doc.data["kind"], doc.data["metadata"]["name"]
        if kind == "Service":
            svc = model.services[f"default/{name}"]
            assert svc.cluster_ip and all(p.node_port for p in svc.ports) == (svc.type != "ClusterIP")
        else:
            replicas = doc.data["spec"].get("replicas", 1)
            assert len(model.pods_of_workload("default", name, kind)) == replicas, (kind, name)


def test_guestbook_go_named_target_port_resolves_per_pod():
    """svc/guestbook:3000 → targetPort http-server → [pod guestbook-…]:3000 on each of 3 replicas."""
    base = FIXTURES / "k8s-examples-guestbook" / "web" / "guestbook-go"
    result = import_files("gbgo", [base], materialize=True)
    model = load_model(result.snapshot.pk)
    svc = model.services["default/guestbook"]
    assert svc.ports[0].target_port == "http-server" and svc.type == "LoadBalancer"
    slices = model.slices_by_service["default/guestbook"]
    assert {p.port for s in slices for p in s.ports} == {3000}
    assert sum(len(s.endpoints) for s in slices) == 3
    pods = model.pods_of_workload("default", "guestbook", "ReplicationController")
    assert len(pods) == 3 and {p.workload_kind for p in pods} == {"ReplicationController"}


def test_guestbook_all_in_one_materialized():
    path = FIXTURES / "k8s-examples-guestbook" / "web" / "guestbook" / "all-in-one" / "guestbook-all-in-one.yaml"
    result = import_files("gb-all", [path], materialize=True)
    model = load_model(result.snapshot.pk)
    for name in ("frontend", "redis-master", "redis-replica"):
        eps = [e for s in model.slices_by_service[f"default/{name}"] for e in s.endpoints]
        assert eps and len(eps) == len(model.pods_of_workload("default", name, "Deployment")), name


def test_empty_input_is_an_error_and_imports_nothing(tmp_path, cluster_b):
    """An empty file (only a separator and a comment) is refused, both for a new cluster and for an existing one:
    no cluster is created, no snapshot is added, no row of any table is written."""
    empty = tmp_path / "empty.yaml"
    empty.write_text("---\n# nothing here\n")
    with pytest.raises(CommandError, match="holds no Kubernetes object"):
        run_command("--cluster", "x", str(empty))
    assert not Cluster.objects.filter(name="x").exists()

    run_command("--cluster", "b", str(cluster_b))
    before = {m._meta.db_table: m._default_manager.count() for m in apps.get_app_config("topology").get_models()}
    assert before["topology_snapshot"] == 1 and before["topology_pod"] == 8
    with pytest.raises(CommandError, match="holds no Kubernetes object"):
        run_command("--cluster", "b", str(empty))
    with pytest.raises(CommandError, match="holds no Kubernetes object"):
        run_command("--cluster", "b", "--materialize", str(empty))
    after = {m._meta.db_table: m._default_manager.count() for m in apps.get_app_config("topology").get_models()}
    assert after == before
    assert list(Snapshot.objects.filter(cluster__name="b").values_list("number", flat=True)) == [1]


def test_model_cache_is_an_lru_per_snapshot(cluster_b, settings):
    settings.TRACER_MODEL_CACHE_SIZE = 1
    one = import_files("b", [cluster_b]).snapshot.pk
    two = import_files("b", [cluster_b]).snapshot.pk
    first = load_model(one)
    assert load_model(one) is first
    assert load_model(two).snapshot_id == two  # evicts snapshot one
    again = load_model(one)
    assert again is not first and again.objects == first.objects
    with pytest.raises(Snapshot.DoesNotExist):
        load_model(10**9)


def test_namespace_option_places_unqualified_objects():
    """guestbook's frontend (no metadata.namespace) imported with --namespace shop lands in shop."""
    path = FIXTURES / "k8s-examples-guestbook" / "web" / "guestbook" / "all-in-one" / "frontend.yaml"
    run_command("--cluster", "ns", "--materialize", "--namespace", "shop", str(path))
    model = load_model(Snapshot.objects.get(cluster__name="ns").pk)
    assert "shop/frontend" in model.services and "default/frontend" not in model.services
    pods = model.pods_of_workload("shop", "frontend", "Deployment")
    assert len(pods) == 3 and all(p.namespace == "shop" for p in pods)
    assert model.namespaces["shop"].labels["kubernetes.io/metadata.name"] == "shop"


def test_query_count_does_not_grow_with_the_cluster():
    """Bulk writes and reads: 10× the pods must not mean 10× the queries (no per-object query)."""
    from bench.generate import Size, generate

    def queries(pods: int) -> tuple[int, int]:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        dump = json.dumps(generate(Size(nodes=10, pods=pods, services=pods // 10, policies=3))).encode()
        with CaptureQueriesContext(connection) as writes:
            snap = import_bytes(f"gen{pods}", [("gen.json", dump)]).snapshot
        with CaptureQueriesContext(connection) as reads:
            objects = objects_from_db(snap.pk)
        assert len(objects.pods) >= pods
        return len(writes), len(reads)

    small, large = queries(100), queries(1000)
    assert large[1] == small[1]  # one query per table, whatever the size
    assert large[0] <= small[0] + 4  # a few more INSERT batches at most


def test_admin_lists_imported_objects_read_only(cluster_b, admin_client):
    import_files("b", [cluster_b])
    page = admin_client.get("/admin/topology/pod/?q=ledger")
    assert page.status_code == 200 and b"ledger-2" in page.content and b"wordpress-0" not in page.content
    assert admin_client.get("/admin/topology/pod/add/").status_code == 403  # snapshots are immutable
    for model in ("namespace", "node", "workload", "service", "endpointslice", "endpoint", "ingress",
                  "ingressclass", "networkpolicy", "secret", "snapshot", "cluster"):
        assert admin_client.get(f"/admin/topology/{model}/").status_code == 200, model


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_cluster_name_is_required_and_bounded(cluster_b, name):
    with pytest.raises(CommandError, match="--cluster: a cluster name of 1-200 characters"):
        run_command("--cluster", name, str(cluster_b))
    assert not Snapshot.objects.exists()
