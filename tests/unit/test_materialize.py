"""`materialize()` on raw manifests: controllers, scheduler and allocators replayed deterministically.

Sketch of the input most tests use (namespace `shop`, 3 simulated nodes):

    Deployment web ×3 ─► pods web-<hash>-<suffix>        Service web (ClusterIP)
    StatefulSet db ×2  ─► pods db-0, db-1 (hostname db-i, subdomain db)   Service db (headless)
    DaemonSet agent    ─► one pod per node                Service edge (NodePort) / lb (LoadBalancer, ETP Local)
"""
from __future__ import annotations

import copy
import ipaddress
import random

import pytest

from topology.importers.errors import ManifestError
from topology.importers.load import Document
from topology.importers.materialize import materialize


def tmpl(labels, ports=(("http", 8080),), **spec):
    return {"metadata": {"labels": labels}, "spec": {
        "containers": [{"name": "main", "image": "example/app:1",
                        "ports": [{"name": n, "containerPort": p} for n, p in ports]}], **spec}}


def workload(kind, name, labels, replicas=None, ns="shop", **spec):
    s = {"selector": {"matchLabels": labels}, "template": tmpl(labels), **spec}
    if replicas is not None:
        s["replicas"] = replicas
    api = "batch/v1" if kind == "Job" else "apps/v1"
    return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": s}


def service(name, ns="shop", **spec):
    spec.setdefault("ports", [{"name": "http", "port": 80, "targetPort": "http"}])
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns}, "spec": spec}


def shop():
    return [
        workload("Deployment", "web", {"app": "web"}, 3),
        workload("StatefulSet", "db", {"app": "db"}, 2, serviceName="db"),
        workload("DaemonSet", "agent", {"app": "agent"}),
        service("web", selector={"app": "web"}),
        service("db", selector={"app": "db"}, clusterIP="None"),
        service("edge", type="NodePort", selector={"app": "web"}),
        service("lb", type="LoadBalancer", externalTrafficPolicy="Local", selector={"app": "web"}),
        service("ext", type="ExternalName", externalName="db.example.com", ports=[]),
    ]


def run(datas, **kw):
    docs = [Document("in.yaml", i, d) for i, d in enumerate(datas, start=1)]
    out, warnings = materialize(docs, **kw)
    return [d.data for d in out], warnings


def of(out, kind, ns=None):
    return [d for d in out if d["kind"] == kind and (ns is None or d["metadata"].get("namespace") == ns)]


def by_name(out, kind):
    return {d["metadata"]["name"]: d for d in of(out, kind)}


def addresses(out):
    """Everything an allocator chose: pod names→(node, IP), service→(clusterIP, nodePorts, LB IPs)."""
    pods = {(p["metadata"].get("namespace"), p["metadata"]["name"]): (p["spec"]["nodeName"], p["status"]["podIP"])
            for p in of(out, "Pod")}
    svcs = {(s["metadata"]["namespace"], s["metadata"]["name"]): (
        s["spec"].get("clusterIP"), tuple(p.get("nodePort") for p in s["spec"]["ports"]),
        s["spec"].get("healthCheckNodePort"),
        tuple(i["ip"] for i in (s.get("status") or {}).get("loadBalancer", {}).get("ingress", [])))
        for s in of(out, "Service")}
    return pods, svcs


# ---- determinism -----------------------------------------------------------------------------

def test_same_input_twice_same_addresses():
    assert addresses(run(shop())[0]) == addresses(run(shop())[0])


def test_document_order_does_not_change_addresses():
    shuffled = shop()
    random.Random(7).shuffle(shuffled)
    assert addresses(run(shuffled)[0]) == addresses(run(shop())[0])


def test_a_service_keeps_its_cluster_ip_when_another_is_added():
    before = addresses(run(shop())[0])[1][("shop", "web")]
    after = addresses(run(shop() + [service("other", selector={"app": "x"})])[0])[1][("shop", "web")]
    assert before[0] == after[0]


def test_input_dicts_are_not_mutated():
    data = shop()
    pristine = copy.deepcopy(data)
    run(data)
    assert data == pristine


# ---- nodes and pods --------------------------------------------------------------------------

def test_nodes_with_ips_cidrs_and_zones():
    out, _ = run(shop(), nodes=4)
    nodes = by_name(out, "Node")
    assert sorted(nodes) == ["node-1", "node-2", "node-3", "node-4"]
    cidrs = [ipaddress.ip_network(n["spec"]["podCIDR"]) for n in nodes.values()]
    assert all(not a.overlaps(b) for i, a in enumerate(cidrs) for b in cidrs[i + 1:])
    ips = {n["status"]["addresses"][0]["address"] for n in nodes.values()}
    assert len(ips) == 4
    assert nodes["node-1"]["metadata"]["labels"]["topology.kubernetes.io/zone"] != \
        nodes["node-2"]["metadata"]["labels"]["topology.kubernetes.io/zone"]


def test_pod_ips_unique_and_inside_their_node_cidr():
    out, _ = run(shop())
    cidr = {n["metadata"]["name"]: ipaddress.ip_network(n["spec"]["podCIDR"]) for n in of(out, "Node")}
    ips = [p["status"]["podIP"] for p in of(out, "Pod")]
    assert len(ips) == len(set(ips))
    for p in of(out, "Pod"):
        assert ipaddress.ip_address(p["status"]["podIP"]) in cidr[p["spec"]["nodeName"]]
        assert p["status"]["phase"] == "Running"
        assert {"type": "Ready", "status": "True"} in p["status"]["conditions"]


def test_deployment_pods_via_replica_set_spread_over_nodes():
    """Deployment web ×3 ─► ReplicaSet web-<hash> ─► 3 pods on 3 different nodes, template labels kept."""
    out, _ = run(shop())
    (rs,) = [r for r in of(out, "ReplicaSet") if r["metadata"]["name"].startswith("web-")]
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    pods = [p for p in of(out, "Pod") if p["metadata"]["labels"].get("app") == "web"]
    assert len(pods) == 3
    assert {p["spec"]["nodeName"] for p in pods} == {"node-1", "node-2", "node-3"}
    for p in pods:
        assert p["metadata"]["name"].startswith(rs["metadata"]["name"] + "-")
        assert p["metadata"]["ownerReferences"][0] == {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                        "name": rs["metadata"]["name"], "controller": True,
                                                        "blockOwnerDeletion": True}
        assert p["metadata"]["labels"]["pod-template-hash"] == rs["metadata"]["labels"]["pod-template-hash"]


@pytest.mark.parametrize("replicas, expected", [(None, 1), (0, 0), (5, 5)])
def test_replicas_default_to_one(replicas, expected):
    out, _ = run([workload("Deployment", "web", {"app": "web"}, replicas)])
    assert len([p for p in of(out, "Pod") if p["metadata"]["labels"].get("app") == "web"]) == expected


def test_statefulset_pod_names_and_hostnames():
    """StatefulSet db ×2 (serviceName db) ─► db-0, db-1 with hostname = pod name, subdomain = db (F1)."""
    out, _ = run(shop())
    pods = by_name(out, "Pod")
    for i in (0, 1):
        spec = pods[f"db-{i}"]["spec"]
        assert (spec["hostname"], spec["subdomain"]) == (f"db-{i}", "db")
        assert pods[f"db-{i}"]["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == f"db-{i}"
    assert "db-2" not in pods


def test_daemonset_one_pod_per_node():
    out, _ = run(shop(), nodes=5)
    agents = [p for p in of(out, "Pod") if p["metadata"]["labels"].get("app") == "agent"]
    assert sorted(p["spec"]["nodeName"] for p in agents) == [f"node-{i}" for i in range(1, 6)]


def test_host_network_pods_use_the_node_ip():
    """hostNetwork DaemonSet over 3 nodes ─► one pod per node whose IP is its node's InternalIP (A21), none
    taken from the node's pod CIDR; the pods that are not hostNetwork (CoreDNS) keep pod-CIDR addresses."""
    ds = workload("DaemonSet", "proxy", {"app": "proxy"})
    ds["spec"]["template"]["spec"]["hostNetwork"] = True
    out, _ = run([ds])
    nodes = of(out, "Node")
    node_ip = {n["metadata"]["name"]: n["status"]["addresses"][0]["address"] for n in nodes}
    assert len(node_ip) == 3
    proxies = [p for p in of(out, "Pod") if p["metadata"]["labels"].get("app") == "proxy"]
    assert sorted(p["spec"]["nodeName"] for p in proxies) == sorted(node_ip)
    for p in proxies:
        assert p["spec"]["hostNetwork"] is True
        assert p["status"]["podIP"] == node_ip[p["spec"]["nodeName"]] == p["status"]["hostIP"]
        assert p["status"]["podIPs"] == [{"ip": p["status"]["podIP"]}]
    pod_cidrs = [ipaddress.ip_network(n["spec"]["podCIDR"]) for n in nodes]
    others = [p for p in of(out, "Pod") if not p["spec"].get("hostNetwork")]
    assert others and all(any(ipaddress.ip_address(p["status"]["podIP"]) in c for c in pod_cidrs) for p in others)
    assert not any(ipaddress.ip_address(p["status"]["podIP"]) in c for p in proxies for c in pod_cidrs)


def test_job_pods_follow_parallelism():
    out, _ = run([workload("Job", "migrate", {"job": "m"}, parallelism=2)])
    pods = [p for p in of(out, "Pod") if p["metadata"]["labels"].get("job-name") == "migrate"]
    assert len(pods) == 2 and all(p["metadata"]["ownerReferences"][0]["kind"] == "Job" for p in pods)


def test_existing_pods_keep_their_addresses_and_are_not_reused():
    """A given Pod keeps node and IP; no generated pod takes its IP."""
    given = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug", "namespace": "shop"},
             "spec": {"nodeName": "node-1", "containers": [{"name": "c"}]},
             "status": {"phase": "Running", "podIP": "10.244.0.2", "conditions": [{"type": "Ready", "status": "False"}]}}
    out, _ = run(shop() + [given])
    pods = by_name(out, "Pod")
    assert pods["debug"]["status"]["podIP"] == "10.244.0.2"
    assert pods["debug"]["status"]["conditions"] == [{"type": "Ready", "status": "False"}]
    assert [p for p in of(out, "Pod") if p["status"]["podIP"] == "10.244.0.2"] == [pods["debug"]]


def test_bare_pod_without_status_is_scheduled_and_addressed():
    bare = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "toolbox", "namespace": "shop"},
            "spec": {"containers": [{"name": "c"}]}}
    out, _ = run([bare])
    pod = by_name(out, "Pod")["toolbox"]
    assert pod["spec"]["nodeName"].startswith("node-") and pod["status"]["podIP"].startswith("10.244.")


# ---- services --------------------------------------------------------------------------------

def test_cluster_ips_allocated_in_service_cidr_headless_kept_given_kept():
    data = shop() + [service("fixed", selector={"app": "web"}, clusterIP="10.96.100.100")]
    _, svcs = addresses(run(data)[0])
    cidr = ipaddress.ip_network("10.96.0.0/12")
    assert svcs[("shop", "db")][0] == "None"
    assert svcs[("shop", "fixed")][0] == "10.96.100.100"
    assert svcs[("shop", "ext")][0] is None  # ExternalName: no ClusterIP
    allocated = [v[0] for k, v in svcs.items() if k[1] in ("web", "edge", "lb")]
    assert all(ipaddress.ip_address(ip) in cidr for ip in allocated)
    all_ips = [v[0] for v in svcs.values() if v[0] not in (None, "None")]
    assert len(all_ips) == len(set(all_ips))


def test_node_ports_in_range_unique_and_given_kept():
    data = shop() + [service("given", type="NodePort", selector={"app": "web"},
                             ports=[{"name": "http", "port": 80, "nodePort": 30080}])]
    _, svcs = addresses(run(data)[0])
    assert svcs[("shop", "given")][1] == (30080,)
    assert svcs[("shop", "web")][1] == (None,)  # ClusterIP: no node port
    ports = [p for k in [("shop", "edge"), ("shop", "lb"), ("shop", "given")] for p in svcs[k][1]]
    ports.append(svcs[("shop", "lb")][2])  # healthCheckNodePort (ETP Local LB)
    assert all(30000 <= p <= 32767 for p in ports)
    assert len(ports) == len(set(ports))


def test_many_node_ports_never_collide():
    data = [service(f"s{i}", type="NodePort", selector={"app": "x"},
                    ports=[{"name": "a", "port": 80}, {"name": "b", "port": 443}]) for i in range(300)]
    ports = [p["nodePort"] for s in of(run(data)[0], "Service") for p in s["spec"]["ports"] if "nodePort" in p]
    assert len(ports) == 600 == len(set(ports))


def test_load_balancer_gets_documentation_ip_unless_disabled_node_ports():
    data = shop() + [service("nolbports", type="LoadBalancer", allocateLoadBalancerNodePorts=False,
                             selector={"app": "web"})]
    _, svcs = addresses(run(data)[0])
    ip = svcs[("shop", "lb")][3][0]
    assert ipaddress.ip_address(ip) in ipaddress.ip_network("203.0.113.0/24")
    assert svcs[("shop", "nolbports")][1] == (None,)
    assert svcs[("shop", "nolbports")][3] and svcs[("shop", "nolbports")][3] != (ip,)
    assert svcs[("shop", "edge")][2] is None  # healthCheckNodePort only for ETP Local LBs


# ---- defaults every cluster has --------------------------------------------------------------

def test_defaults_added_when_absent():
    out, _ = run(shop())
    ns = set(by_name(out, "Namespace"))
    assert {"default", "kube-system", "shop"} <= ns
    svcs = addresses(out)[1]
    assert svcs[("default", "kubernetes")][0] == "10.96.0.1"
    assert svcs[("kube-system", "kube-dns")][0] == "10.96.0.10"
    dns = [p for p in of(out, "Pod", "kube-system") if p["metadata"]["labels"].get("k8s-app") == "kube-dns"]
    assert len(dns) == 2
    slices = of(out, "EndpointSlice", "default")
    assert slices[0]["metadata"]["labels"]["kubernetes.io/service-name"] == "kubernetes"


def test_defaults_not_duplicated_when_present():
    given = [service("kube-dns", ns="kube-system", clusterIP="10.96.0.53", selector={"k8s-app": "kube-dns"}),
             workload("Deployment", "my-dns", {"k8s-app": "kube-dns"}, 1, ns="kube-system"),
             {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "kube-system", "labels": {"x": "y"}}}]
    out, _ = run(given)
    assert [s["spec"]["clusterIP"] for s in of(out, "Service", "kube-system")] == ["10.96.0.53"]
    assert [n["metadata"].get("labels") for n in of(out, "Namespace") if n["metadata"]["name"] == "kube-system"] == [
        {"x": "y"}]
    assert not [d for d in of(out, "Deployment") if d["metadata"]["name"] == "coredns"]


def test_given_nodes_are_used_instead_of_simulated_ones():
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "worker-a"},
            "spec": {"podCIDR": "10.42.7.0/24"},
            "status": {"addresses": [{"type": "InternalIP", "address": "192.168.5.10"}]}}
    out, _ = run([node, workload("Deployment", "web", {"app": "web"}, 2)])
    assert sorted(by_name(out, "Node")) == ["worker-a"]
    assert all(p["status"]["podIP"].startswith("10.42.7.") for p in of(out, "Pod"))


def test_duplicate_documents_later_wins_with_warning():
    out, warnings = run([workload("Deployment", "web", {"app": "web"}, 1),
                         workload("Deployment", "web", {"app": "web"}, 4)])
    assert len(of(out, "Deployment", "shop")) == 1
    assert len([p for p in of(out, "Pod") if p["metadata"]["labels"].get("app") == "web"]) == 4
    assert any("Deployment shop/web appears twice" in w for w in warnings)


@pytest.mark.parametrize("bad, field", [
    ({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x", "namespace": "shop"},
      "spec": {"replicas": "three", "template": tmpl({"a": "b"})}}, "spec.replicas"),
    ({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "x", "namespace": "shop"},
      "spec": {"replicas": 1}}, "spec.template"),
])
def test_bad_workloads_name_the_field(bad, field):
    with pytest.raises(ManifestError) as exc:
        run([bad])
    assert exc.value.field == field and exc.value.file == "in.yaml" and exc.value.document == 1


@pytest.mark.parametrize("nodes", [0, -1, 5001])
def test_node_count_bounds(nodes):
    with pytest.raises(ManifestError):
        run(shop(), nodes=nodes)


# ---- scheduling rules ------------------------------------------------------------------------

def _labelled_nodes():
    def node(name, cidr, ip, **labels):
        return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
                "spec": {"podCIDR": cidr}, "status": {"addresses": [{"type": "InternalIP", "address": ip}]}}
    return [node("gpu-1", "10.42.1.0/24", "192.168.5.11", accel="gpu"),
            node("cpu-1", "10.42.2.0/24", "192.168.5.12"), node("cpu-2", "10.42.3.0/24", "192.168.5.13")]


def test_node_selector_is_honoured_on_given_nodes():
    """Deployment train ×3 (nodeSelector accel=gpu) ─► all on gpu-1; DaemonSet with it ─► gpu-1 only."""
    train = workload("Deployment", "train", {"app": "train"}, 3)
    train["spec"]["template"]["spec"]["nodeSelector"] = {"accel": "gpu"}
    ds = workload("DaemonSet", "driver", {"app": "driver"})
    ds["spec"]["template"]["spec"]["nodeSelector"] = {"accel": "gpu"}
    out, _ = run(_labelled_nodes() + [train, ds])
    nodes = {p["metadata"]["name"]: p["spec"]["nodeName"] for p in of(out, "Pod")
             if p["metadata"]["labels"].get("app") in ("train", "driver")}
    assert len(nodes) == 4 and set(nodes.values()) == {"gpu-1"}


def test_unsatisfiable_node_selector_leaves_pods_pending_with_a_warning():
    web = workload("Deployment", "web", {"app": "web"}, 2)
    web["spec"]["template"]["spec"]["nodeSelector"] = {"accel": "tpu"}
    out, warnings = run(_labelled_nodes() + [web])
    pods = [p for p in of(out, "Pod") if p["metadata"]["labels"].get("app") == "web"]
    assert [p["status"]["phase"] for p in pods] == ["Pending", "Pending"]
    assert all("podIP" not in p["status"] for p in pods)
    assert any("Deployment shop/web" in w and "Pending" in w for w in warnings)


def test_node_selector_matching_no_simulated_node_is_ignored_with_a_warning():
    web = workload("Deployment", "web", {"app": "web"}, 2)
    web["spec"]["template"]["spec"]["nodeSelector"] = {"accel": "tpu"}
    out, warnings = run([web])
    assert all(p["status"]["phase"] == "Running" for p in of(out, "Pod"))
    assert any("matches none of the simulated nodes" in w for w in warnings)


def test_pod_pinned_to_a_node_not_in_the_input_is_an_error_naming_the_field():
    pinned = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
              "spec": {"nodeName": "worker-9", "containers": [{"name": "c"}]}}
    with pytest.raises(ManifestError) as exc:
        run([pinned])
    assert (exc.value.field, exc.value.kind, exc.value.name) == ("spec.nodeName", "Pod", "p")


def test_replicas_beyond_node_count_stay_balanced():
    """Deployment web ×7 over 3 nodes ─► 3/2/2, never 5/1/1."""
    out, _ = run([workload("Deployment", "web", {"app": "web"}, 7)])
    per_node = sorted(sum(1 for p in of(out, "Pod") if p["spec"]["nodeName"] == n and
                          p["metadata"]["labels"].get("app") == "web") for n in ("node-1", "node-2", "node-3"))
    assert per_node == [2, 2, 3]


def test_full_node_cidr_is_a_clear_error():
    with pytest.raises(ManifestError, match="ran out of pod addresses.*--nodes"):
        run([workload("Deployment", "big", {"app": "big"}, 300)], nodes=1)


def test_large_cluster_materialises_quickly():
    """2,000 nodes, a DaemonSet (2,000 pods) and 20 Deployments ×100: placement stays near-linear."""
    import time

    data = [workload("DaemonSet", "agent", {"app": "agent"})] + [
        workload("Deployment", f"d{i}", {"app": f"d{i}"}, 100) for i in range(20)]
    start = time.perf_counter()
    out, _ = run(data, nodes=2000)
    assert len(of(out, "Pod")) == 2000 + 2000 + 2  # + CoreDNS
    assert time.perf_counter() - start < 30


@pytest.mark.parametrize("phase", ["Pending", "Succeeded", "Failed"])
def test_pods_whose_status_says_not_running_get_no_invented_ip(phase):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
           "spec": {"containers": [{"name": "c"}]}, "status": {"phase": phase}}
    out, _ = run([pod])
    assert by_name(out, "Pod")["p"] == pod
