"""Storage paths (docs/semantics.md I1–I3) and Secrets as pods consume them (J2, J3), on small hand-written clusters.

    n1 172.20.0.1 (pods 10.244.1.0/24)          n2 172.20.0.2 (pods 10.244.2.0/24)
    ns media: [app-0 @n1] volumes: scratch (emptyDir), conf (configMap), host (hostPath), files (PVC files → PV
              files-pv nfs 10.96.7.7 = svc storage/filer), old (nfs by cluster DNS name), disk (iscsi two portals),
              ceph (cephfs two monitors), blob (PVC blob → PV csi), lost (PVC that does not exist),
              waiting (PVC Pending)
    ns storage: [filer-0 @n2]:2049 ← svc filer 10.96.7.7:2049
"""
from __future__ import annotations

import pytest

from tests.unit.conftest import build, eps, pod, policy, rule, svc
from tracer.engine import storage
from tracer.engine.cluster import ClusterModel
from tracer.engine.errors import BadRequest
from tracer.engine.flow import make_flow
from tracer.engine.model import (
    Node,
    PersistentVolume,
    PersistentVolumeClaim,
    PodVolume,
    Secret,
    SecretRef,
    StorageClass,
    Workload,
)
from tracer.engine.pod_readiness import why_not_ready
from tracer.engine.secret_use import missing_secrets, pull_secret_warnings, unmet
from tracer.engine.trace import trace

VOLUMES = (
    PodVolume("scratch", "emptyDir"), PodVolume("conf", "configMap", source={"name": "app-conf"}),
    PodVolume("host", "hostPath", source={"path": "/var/log"}),
    PodVolume("files", "persistentVolumeClaim", claim_name="files"),
    PodVolume("old", "nfs", source={"server": "filer.storage.svc.cluster.local", "path": "/old"}),
    PodVolume("disk", "iscsi", source={"targetPortal": "192.0.2.20", "portals": ["192.0.2.21:3261"]}),
    PodVolume("ceph", "cephfs", source={"monitors": ["192.0.2.30:6789", "192.0.2.31:3300"]}),
    PodVolume("blob", "persistentVolumeClaim", claim_name="blob"),
    PodVolume("lost", "persistentVolumeClaim", claim_name="nowhere"),
    PodVolume("waiting", "persistentVolumeClaim", claim_name="waiting"),
)


def nodes():
    return (Node("n1", addresses=(("InternalIP", "172.20.0.1"),), pod_cidrs=("10.244.1.0/24",)),
            Node("n2", addresses=(("InternalIP", "172.20.0.2"),), pod_cidrs=("10.244.2.0/24",)))


def model(*extra, claims=None, volumes=None, classes=()):
    app = pod("media", "app-0", "10.244.1.5", "n1", {"app": "app"})
    app.volumes = VOLUMES
    m = build(*nodes(), app,
              pod("storage", "filer-0", "10.244.2.9", "n2", {"app": "filer"}, ports=[(2049, "TCP", "nfs")]),
              svc("storage", "filer", "10.96.7.7", [(2049, 2049, "TCP", "nfs")], selector={"app": "filer"}),
              eps("storage", "filer", [("10.244.2.9", "n2", "filer-0")], [("nfs", 2049, "TCP")]), *extra)
    o = m.objects
    o.persistent_volume_claims.extend(claims if claims is not None else (
        PersistentVolumeClaim("media", "files", storage_class="", access_modes=("ReadWriteMany",),
                              volume_name="files-pv", phase="Bound"),
        PersistentVolumeClaim("media", "blob", storage_class="ebs", access_modes=("ReadWriteOnce",),
                              volume_name="pvc-123", phase="Bound"),
        PersistentVolumeClaim("media", "waiting", storage_class="missing", phase="Pending")))
    o.persistent_volumes.extend(volumes if volumes is not None else (
        PersistentVolume("files-pv", access_modes=("ReadWriteMany",), claim_namespace="media", claim_name="files",
                         phase="Bound", kind="nfs", source={"server": "10.96.7.7", "path": "/exports"}),
        PersistentVolume("pvc-123", storage_class="ebs", kind="csi",
                         source={"driver": "ebs.csi.aws.com", "volumeHandle": "vol-0abc"})))
    o.storage_classes.extend(classes)
    return ClusterModel(o)


def run(m, dest, source="pod:media/app-0", port=None):
    return trace(m, make_flow(source, dest, port)).to_dict()


# -- I1: volume kinds --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("volume", ["scratch", "conf", "host"])
def test_i1_node_local_volumes_have_no_network_path(volume):
    r = run(model(), f"volume:{volume}")
    (path,) = r["paths"]
    assert path["verdict"] == "delivered" and path["endpoint"] == "node:n1" and path["endpoint_port"] is None
    assert path["hops"][-1]["action"] == "local" and "no network path (I1)" in path["hops"][-1]["detail"]
    assert path["hops"][-1]["id"] == path["endpoint"]  # the last hop stands where the path ends (contract)
    assert not any(h["kind"] == "network-policy" for h in path["hops"])


def test_i1_claim_to_bound_volume_to_nfs_server_on_2049():
    r = run(model(), "volume:files")
    (path,) = r["paths"]
    refs = [h["ref"] for h in path["hops"] if h["action"] == "resolve"]
    assert refs == [{"kind": "persistentvolumeclaim", "namespace": "media", "name": "files"},
                    {"kind": "persistentvolume", "namespace": "", "name": "files-pv"}]
    assert path["verdict"] == "delivered"
    assert (path["endpoint"], path["endpoint_port"]) == ("pod:storage/filer-0", 2049)
    assert any("NFSv3 also needs the portmapper (111)" in a for a in r["assumptions"])


def test_i1_iscsi_every_portal_with_its_port():
    r = run(model(), "volume:disk")
    assert sorted((p["endpoint"], p["endpoint_port"]) for p in r["paths"]) == [
        ("external:192.0.2.20", 3260), ("external:192.0.2.21", 3261)]
    assert sum(p["probability"] for p in r["paths"]) == pytest.approx(1.0)


def test_i1_ceph_monitors_msgr1_and_msgr2():
    r = run(model(), "volume:ceph")
    assert sorted((p["endpoint"], p["endpoint_port"]) for p in r["paths"]) == [
        ("external:192.0.2.30", 6789), ("external:192.0.2.31", 3300)]


def test_i1_csi_target_unknown_is_stated():
    r = run(model(), "volume:blob")
    (path,) = r["paths"]
    assert path["endpoint"] == "node:n1"
    assert "CSI driver ebs.csi.aws.com (volumeHandle vol-0abc)" in path["hops"][-1]["detail"]
    assert any("does not show" in a for a in r["assumptions"])


def test_i1_unknown_volume_and_non_pod_source_are_bad_requests():
    with pytest.raises(BadRequest, match="has no volume 'nope'.*scratch"):
        run(model(), "volume:nope")
    with pytest.raises(BadRequest, match="pod:NAMESPACE/NAME"):
        run(model(), "volume:scratch", source="node:n1")
    with pytest.raises(BadRequest, match="volume:NAME"):
        make_flow("pod:media/app-0", "volume:a/b")


# -- I2: the node sends ------------------------------------------------------------------------------------------


def test_i2_node_sends_so_the_pods_own_egress_policy_does_not_apply():
    deny_all = policy("media", "deny-all", {}, types=("Ingress", "Egress"))
    r = run(model(deny_all), "volume:files")
    (path,) = r["paths"]
    assert path["verdict"] == "delivered"
    send = next(h for h in path["hops"] if h["kind"] == "node" and h["action"] == "send")
    assert "node n1 (172.20.0.1)" in send["detail"] and "NetworkPolicy does not apply (I2)" in send["detail"]
    dnat = next(h for h in path["hops"] if h["kind"] == "kube-proxy")
    assert "172.20.0.1" in dnat["detail"]  # kube-proxy handles the node's traffic to the ClusterIP
    # the only policy hop is the server's ingress side, not the client's egress
    assert [h["ref"]["name"] for h in path["hops"] if h["kind"] == "network-policy"] == ["filer-0"]


def test_i2_the_servers_ingress_policy_sees_the_node_not_the_pod():
    only_media_pods = policy("storage", "filer-from-media", {"app": "filer"},
                             ingress=[rule(namespaces={"kubernetes.io/metadata.name": "media"})])
    r = run(model(only_media_pods), "volume:files")
    assert r["verdict"] == "dropped" and r["paths"][0]["reason"] == "policy-ingress-denied"


@pytest.mark.parametrize("host", ["filer", "filer.storage", "filer.storage.svc", "filer.storage.svc.cluster.local"])
def test_i2_every_form_of_a_service_name_is_a_cluster_name(host):
    assert "cluster DNS name" in storage.node_resolvable(model(), host)


def test_i2_other_names_go_to_the_nodes_own_resolver():
    assert storage.node_resolvable(model(), "nas.example.com") == ""
    assert storage.node_resolvable(model(), "nas") == ""  # not a Service: the node's resolver decides


def test_i2_cluster_dns_name_in_server_fails_on_the_node_resolver():
    r = run(model(), "volume:old")
    (path,) = r["paths"]
    assert path["reason"] == "dns-nxdomain"
    assert "cluster DNS name" in path["hops"][-1]["detail"] and "ClusterIP" in path["hops"][-1]["detail"]
    assert path["source"] == "pod:media/app-0"


# -- I3: claims --------------------------------------------------------------------------------------------------


def test_i3_missing_or_unbound_claim_is_said():
    m = model()
    r = run(m, "volume:lost")
    assert r["paths"][0]["reason"] == "pod-not-ready"
    assert "PersistentVolumeClaim media/nowhere does not exist" in r["paths"][0]["hops"][-1]["detail"]
    r = run(m, "volume:waiting")
    assert "no StorageClass 'missing' exists" in r["paths"][0]["hops"][-1]["detail"]
    assert len(storage.claim_problems(m, m.pods["media/app-0"])) == 2


def test_i3_statefulset_claims_per_replica_and_shared_claims():
    sts = Workload("StatefulSet", "db", "pg", replicas=2, claim_templates=("data",))
    pods = []
    for i in range(2):
        p = pod("db", f"pg-{i}", f"10.244.1.{20 + i}", "n1", {"app": "pg"}, workload=("StatefulSet", "pg"))
        p.volumes = (PodVolume("data", "persistentVolumeClaim", claim_name=f"data-pg-{i}"),
                     PodVolume("shared", "persistentVolumeClaim", claim_name="media"))
        pods.append(p)
    m = model(sts, *pods, claims=(PersistentVolumeClaim("db", "data-pg-0", phase="Bound", volume_name="v0"),
                                  PersistentVolumeClaim("db", "media", access_modes=("ReadWriteMany",),
                                                        phase="Bound")))
    got = storage.statefulset_claims(m, m.workloads[("db", "StatefulSet", "pg")])
    assert [(c["claim"], c["exists"], c["phase"]) for c in got] == [("db/data-pg-0", True, "Bound"),
                                                                   ("db/data-pg-1", False, None)]
    users = storage.claim_users(m)
    assert users["db/media"] == ["db/pg-0", "db/pg-1"]
    assert users["db/data-pg-1"] == ["db/pg-1"]
    assert "PersistentVolumeClaim db/data-pg-1 does not exist" in why_not_ready(m, m.pods["db/pg-1"])[0]


# -- J2 / J3: Secrets --------------------------------------------------------------------------------------------

CREDS = Secret("billing", "creds", keys=("user",))


@pytest.mark.parametrize(("ref", "expected"), [
    (SecretRef("creds", "env", key="user"), ""),
    (SecretRef("creds", "env", key="password"), "Secret creds has no key password"),
    (SecretRef("creds", "env", key="password", optional=True), ""),
    (SecretRef("gone", "envFrom"), "Secret gone does not exist"),
    (SecretRef("gone", "envFrom", optional=True), ""),
    (SecretRef("creds", "volume", items=("user", "token")), "Secret creds has no key token"),
    (SecretRef("gone", "imagePullSecret"), ""),
])
def test_j2_which_references_keep_a_pod_from_starting(ref, expected):
    assert unmet(ref, CREDS if ref.secret_name == "creds" else None) == expected


def test_j2_a_service_whose_only_pod_misses_a_secret_says_why():
    api = pod("billing", "api-0", "10.244.1.40", "n1", {"app": "api"}, ready=False, phase="Pending",
              ports=[(8080, "TCP")])
    api.secret_refs = (SecretRef("creds", "env", key="password", container="api", target="API_PASS"),)
    client = pod("billing", "client-0", "10.244.2.41", "n2", {"app": "client"})
    m = build(*nodes(), CREDS, api, client, svc("billing", "api", "10.96.8.8", [(80, 8080, "TCP", "http")],
                                                 selector={"app": "api"}),
              eps("billing", "api", [("10.244.1.40", "n1", "api-0", {"ready": False, "serving": False})], [("http", 8080, "TCP")]))
    r = trace(m, make_flow("pod:billing/client-0", "svc:billing/api", 80)).to_dict()
    (path,) = r["paths"]
    assert path["reason"] == "pod-not-ready"
    assert "Secret creds has no key password, needed by env API_PASS of container api" in path["hops"][-1]["detail"]
    with pytest.raises(BadRequest, match="cannot send.*Secret creds has no key password"):
        trace(m, make_flow("pod:billing/api-0", "svc:billing/api", 80))


def test_j2_not_ready_without_a_known_reason_stays_no_endpoints():
    api = pod("billing", "api-0", "10.244.1.40", "n1", {"app": "api"}, ready=False, ports=[(8080, "TCP")])
    m = build(*nodes(), CREDS, api, pod("billing", "client-0", "10.244.2.41", "n2"),
              svc("billing", "api", "10.96.8.8", [(80, 8080, "TCP", "http")], selector={"app": "api"}),
              eps("billing", "api", [("10.244.1.40", "n1", "api-0", {"ready": False, "serving": False})], [("http", 8080, "TCP")]))
    r = trace(m, make_flow("pod:billing/client-0", "svc:billing/api", 80)).to_dict()
    assert r["paths"][0]["reason"] == "no-endpoints"


def test_j3_missing_image_pull_secret_is_a_warning_only():
    p = pod("billing", "api-0", "10.244.1.40", "n1")
    p.secret_refs = (SecretRef("registry", "imagePullSecret"),)
    lookup = {"creds": CREDS}.get
    assert missing_secrets(p, lookup) == []
    (warning,) = pull_secret_warnings(p, lookup)
    assert "imagePullSecret registry does not exist" in warning and "(J3)" in warning


def test_storage_classes_are_indexed():
    m = model(classes=(StorageClass("fast", "ebs.csi.aws.com", is_default=True),))
    assert m.storage_classes["fast"].is_default and m.claims["media/files"].volume_name == "files-pv"
