"""The traffic map's optional layers: storage (which workloads mount which claims, shared claims) and the
control plane (its nodes, components and flows), asked for with MapQuery.layers."""
from __future__ import annotations

from tests.unit.conftest import build, eps, node, pod, svc
from tests.unit.test_pod_local_and_nodes import static
from topology.trafficmap import MapQuery, traffic_map
from tracer.engine.cluster import ClusterModel
from tracer.engine.model import PersistentVolume, PersistentVolumeClaim, PodVolume


def _nodes(data):
    return {n["data"]["id"]: n["data"] for n in data["elements"]["nodes"]}


def _edges(data, kind):
    return {(e["data"]["source"], e["data"]["target"]): e["data"] for e in data["elements"]["edges"]
            if e["data"]["kind"] == kind}


def storage_model():
    web = [pod("media", f"web-{i}", f"10.244.1.{i + 1}", "n1", {"app": "web"}, workload=("Deployment", "web"))
           for i in range(2)]
    worker = pod("media", "worker-0", "10.244.1.9", "n1", {"app": "worker"}, workload=("StatefulSet", "worker"))
    for p in web:
        p.volumes = (PodVolume("files", "persistentVolumeClaim", claim_name="files", read_only=True),)
    worker.volumes = (PodVolume("files", "persistentVolumeClaim", claim_name="files"),
                      PodVolume("data", "persistentVolumeClaim", claim_name="data-worker-0"),
                      PodVolume("tmp", "emptyDir"))
    m = build(node("n1", "172.20.0.1"), *web, worker)
    o = m.objects
    o.persistent_volume_claims.extend((
        PersistentVolumeClaim("media", "files", access_modes=("ReadWriteOnce",), volume_name="files-pv",
                              phase="Bound"),
        PersistentVolumeClaim("media", "data-worker-0", access_modes=("ReadWriteOnce",), phase="Pending")))
    o.persistent_volumes.append(PersistentVolume("files-pv", claim_namespace="media", claim_name="files",
                                                 phase="Bound", kind="nfs"))
    return ClusterModel(o)


def test_storage_layer_draws_who_mounts_which_claim_and_which_are_shared():
    m = storage_model()
    plain = traffic_map(m, MapQuery())
    assert not any(n["kind"] in ("claim", "volume") for n in _nodes(plain).values()), "a layer is off by default"

    data = traffic_map(m, MapQuery(layers=frozenset({"storage"})))
    nodes = _nodes(data)
    files, data_claim = nodes["pvc:media/files"], nodes["pvc:media/data-worker-0"]
    assert files["parent"] == "ns:media" and files["layer"] == "storage" and files["ref"] == "pvc:media/files"
    assert files.get("shared") is True, "mounted by two workloads"
    assert "shared" not in data_claim and data_claim["phase"] == "Pending"
    mounts = _edges(data, "mount")
    web, worker = "workload:media/Deployment/web", "workload:media/StatefulSet/worker"
    assert set(mounts) == {(web, "pvc:media/files"), (worker, "pvc:media/files"), (worker, "pvc:media/data-worker-0")}
    assert mounts[(web, "pvc:media/files")]["label"] == "ro" and mounts[(worker, "pvc:media/files")]["label"] == "rw"
    assert set(_edges(data, "bound")) == {("pvc:media/files", "pv:files-pv")}
    assert data["layers"] == ["storage"]


def test_a_read_write_many_claim_of_one_workload_is_shared():
    m = storage_model()
    m.objects.persistent_volume_claims[1] = PersistentVolumeClaim(
        "media", "data-worker-0", access_modes=("ReadWriteMany",), phase="Bound")
    nodes = _nodes(traffic_map(ClusterModel(m.objects), MapQuery(layers=frozenset({"storage"}))))
    assert nodes["pvc:media/data-worker-0"].get("shared") is True


def control_plane_model():
    cp = node("cp1", "192.168.1.10")
    cp.labels["node-role.kubernetes.io/control-plane"] = ""
    return build(cp, node("w1", "192.168.1.11"), node("w2", "192.168.1.12"),
                 pod("web", "app", "10.244.1.5", "w1", {"app": "web"}),
                 static("etcd-cp1", "etcd", ["etcd", "--listen-client-urls=https://127.0.0.1:2379"]),
                 static("kube-apiserver-cp1", "kube-apiserver",
                        ["kube-apiserver", "--secure-port=6443", "--etcd-servers=https://127.0.0.1:2379"]),
                 svc("default", "kubernetes", "10.96.0.1", [(443, 6443, "TCP", "https")]),
                 eps("default", "kubernetes", [("192.168.1.10", "", "")], [("https", 6443, "TCP")], name="kubernetes"))


def test_control_plane_layer_draws_its_nodes_components_and_flows():
    data = traffic_map(control_plane_model(), MapQuery(layers=frozenset({"control-plane"})))
    nodes = _nodes(data)
    api, etcd = "cp:pod:kube-system/kube-apiserver-cp1", "cp:pod:kube-system/etcd-cp1"
    assert nodes["cp:node:cp1"]["kind"] == "cp-node" and nodes["cp:node:cp1"]["ref"] == "node:cp1"
    assert nodes[api]["parent"] == "cp:node:cp1" and nodes[api]["label"] == "kube-apiserver"
    assert nodes[etcd]["parent"] == "cp:node:cp1"
    assert nodes["cp:nodes"]["label"] == "2 other nodes (kubelet, kube-proxy)"
    flows = _edges(data, "cp-flow")
    assert (api, etcd) in flows and flows[(api, etcd)]["label"] == "2379"
    assert ("cp:nodes", api) in flows, "kubelets and kube-proxies reach the API server"
    assert (api, "cp:nodes") in flows, "the API server reaches every kubelet"
    for e in flows.values():  # every drawn flow carries the trace request that checks it
        assert e["trace"]["from"] and e["trace"]["to"] and e["trace"]["port"]
    assert not any(n.get("layer") == "control-plane" and n["kind"] == "cp-node"
                   for n in _nodes(traffic_map(control_plane_model(), MapQuery())).values())


def test_a_managed_api_server_is_drawn_outside_the_cluster():
    m = build(node("w1", "192.168.1.11"), pod("web", "app", "10.244.1.5", "w1", {"app": "web"}),
              svc("default", "kubernetes", "10.96.0.1", [(443, 443, "TCP", "https")]),
              eps("default", "kubernetes", [("203.0.113.7", "", "")], [("https", 443, "TCP")], name="kubernetes"))
    nodes = _nodes(traffic_map(m, MapQuery(layers=frozenset({"control-plane"}))))
    assert nodes["cp:apiserver"]["label"] == "API server (managed, outside the cluster)"
