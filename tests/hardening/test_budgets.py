"""Budgets before work (issue 17 H1): `--materialize` counts the pods it would build and refuses past the limits.

The attack: a 258-byte Deployment with `replicas: 200000` uploaded with `?materialize=true&nodes=5000` took 51 s
and stored 200,002 pods; `replicas: 1000000000` took web workers to 1.7 GB until they were killed. Each test
replays it and asserts a 400 that names the file, document, object and field — with the materializer *never
called* (a spy that fails the test if it runs) and every table unchanged.

    upload (258 bytes) ─► load ─► budget: count pods ≤ 150,000, ≤ 110 per node ─► 400 (nothing built)
                                                      └─ within budget ─► materialize ─► persist
"""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from topology.importers import ManifestError, build_objects, import_bytes, preflight
from topology.importers import materialize as materialize_module
from topology.importers.load import parse_bytes
from topology.models import Cluster

from .conftest import row_counts

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template: {{metadata: {{labels: {{app: web}}}}, spec: {{containers: [{{name: c, image: nginx}}]}}}}
"""


def deployment(replicas: int, name: str = "web") -> bytes:
    return DEPLOYMENT.format(replicas=replicas).replace("name: web,", f"name: {name},").encode()


class MaterializeCalled(AssertionError):
    pass


@pytest.fixture
def no_materialize(monkeypatch):
    """Fail the test at once if the materializer is reached: the budget must refuse before any pod is built."""
    def spy(*args, **kwargs):
        raise MaterializeCalled("the materializer ran: the budget did not refuse before building")
    monkeypatch.setattr(materialize_module, "materialize", spy)


@pytest.fixture
def api(db):
    alice = get_user_model().objects.create_user("alice")
    client = APIClient()
    client.force_authenticate(alice)
    return client, Cluster.objects.create(name="shop", owner=alice)


REFUSED = [  # (replicas, nodes, what the message says)
    (200_000, 5000, "200,000 replicas"),  # the probe's upload
    (1_000_000_000, 3, "1,000,000,000 replicas"),  # the one that killed the workers
    (149_999, 5000, "150,001 pods"),  # one over the cluster threshold with the 2 CoreDNS pods
    (400, 3, "more than 110 per node"),  # 402 pods on 3 nodes (kubelet maxPods 110)
]


@pytest.mark.parametrize("replicas,nodes,says", REFUSED, ids=[f"{r}x{n}" for r, n, _ in REFUSED])
def test_library_refuses_before_building(no_materialize, replicas, nodes, says):
    with pytest.raises(ManifestError) as err:
        build_objects(parse_bytes(deployment(replicas), "web.yaml"), materialize=True, nodes=nodes)
    e = err.value
    assert (e.file, e.document, e.kind, e.namespace, e.name, e.field) == \
        ("web.yaml", 1, "Deployment", "shop", "web", "spec.replicas")
    assert says in e.problem and "nothing was built" in e.problem.lower()


@pytest.mark.parametrize("replicas,nodes,says", REFUSED, ids=[f"{r}x{n}" for r, n, _ in REFUSED])
def test_upload_with_materialize_answers_400_and_stores_nothing(api, no_materialize, replicas, nodes, says):
    client, cluster = api
    before = row_counts()
    body = deployment(replicas)
    resp = client.post(f"/api/clusters/{cluster.pk}/upload/?materialize=true&nodes={nodes}&filename=web.yaml",
                       data=body, content_type="application/yaml")
    assert resp.status_code == 400, resp.content[:500]
    err = resp.json()["errors"][0]
    assert (err["file"], err["document"], err["kind"], err["name"], err["field"]) == \
        ("web.yaml", 1, "Deployment", "web", "spec.replicas")
    assert says in err["problem"]
    assert row_counts() == before


def test_the_probe_upload_is_258_bytes_or_less():
    """The replayed attack is as small as the probe's: the size of an upload says nothing about its cost."""
    assert len(deployment(200_000)) <= 258


def test_many_workloads_summing_past_the_threshold_name_the_biggest(no_materialize):
    docs = parse_bytes(b"---\n".join([deployment(60_000, "a"), deployment(70_000, "b"), deployment(30_000, "c")]),
                       "many.yaml")
    with pytest.raises(ManifestError) as err:
        build_objects(docs, materialize=True, nodes=5000)
    assert err.value.name == "b" and err.value.field == "spec.replicas" and err.value.document == 2
    assert "160,002 pods" in err.value.problem


def test_daemonsets_and_jobs_count_too(no_materialize):
    ds = b"""apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system}
spec:
  selector: {matchLabels: {app: agent}}
  template: {metadata: {labels: {app: agent}}, spec: {containers: [{name: c, image: a}]}}
"""
    job = b"""apiVersion: batch/v1
kind: Job
metadata: {name: crunch, namespace: shop}
spec:
  parallelism: 1000000
  template: {spec: {containers: [{name: c, image: a}], restartPolicy: Never}}
"""
    with pytest.raises(ManifestError) as err:
        build_objects(parse_bytes(job, "job.yaml"), materialize=True, nodes=3)
    assert (err.value.kind, err.value.field) == ("Job", "spec.parallelism")
    with pytest.raises(ManifestError) as err:  # 5,000 DaemonSet pods + 149,000 replicas + 2 CoreDNS
        build_objects(parse_bytes(ds + b"---\n" + deployment(149_000), "mix.yaml"), materialize=True, nodes=5000)
    assert "154,002 pods" in err.value.problem


def test_nodes_past_the_threshold_are_refused(api, no_materialize):
    client, cluster = api
    resp = client.post(f"/api/clusters/{cluster.pk}/upload/?materialize=true&nodes=5001",
                       data=deployment(3), content_type="application/yaml")
    assert resp.status_code == 400
    assert "nodes" in resp.json()["errors"]
    nodes = b"".join(b"---\napiVersion: v1\nkind: Node\nmetadata: {name: n%d}\n" % i for i in range(5001))
    with pytest.raises(ManifestError) as err:
        preflight([("nodes.yaml", nodes + b"---\n" + deployment(3))], materialize=True, nodes=3)
    assert err.value.kind == "Node" and "5001 Nodes" in err.value.problem


def test_within_budget_still_materializes():
    """The limits are the cluster's, not lower: 330 pods on 3 nodes (110 each) is imported."""
    res = build_objects(parse_bytes(deployment(328), "web.yaml"), materialize=True, nodes=3)
    assert res.counts["Pod"] == 330


def test_preflight_refuses_what_import_would_refuse(no_materialize):
    """What a background import (large upload, diff job) checks before it is queued."""
    with pytest.raises(ManifestError) as err:
        preflight([("web.yaml", deployment(200_000))], materialize=True, nodes=5000)
    assert err.value.field == "spec.replicas"
    preflight([("web.yaml", deployment(200_000))], materialize=False)  # a live dump's replicas are just a number


def test_cli_import_refuses_before_building(db, no_materialize, tmp_path):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    path = tmp_path / "web.yaml"
    path.write_bytes(deployment(1_000_000_000))
    before = row_counts()
    with pytest.raises(CommandError) as err:
        call_command("import_manifests", "--cluster", "c", "--materialize", "--nodes", "3", str(path))
    assert "web.yaml document 1 (Deployment shop/web): spec.replicas: 1,000,000,000 replicas" in str(err.value)
    assert row_counts() == before
    with pytest.raises(ManifestError):
        import_bytes("c", [("web.yaml", deployment(1_000_000_000))], materialize=True, nodes=3)
    assert row_counts() == before


def test_any_import_past_the_document_budget_is_refused_before_validation():
    """500,001 documents (a threshold-size live dump has ~200,000): refused before a single one is validated."""
    from topology.importers.budget import MAX_DOCUMENTS
    from topology.importers.load import Document

    docs = [Document("huge.json", 1, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"}}, i)
            for i in range(MAX_DOCUMENTS + 1)]
    with pytest.raises(ManifestError) as err:
        build_objects(docs)
    assert err.value.file == "huge.json" and err.value.item == MAX_DOCUMENTS
    assert "holds 500001 objects" in str(err.value)
