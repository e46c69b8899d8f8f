"""H1 loopback, H2 /etc/hosts, H4 node listeners, H5 the API server's endpoint — on a small hand-written cluster.

Topology:
    node cp1 192.168.1.10 (node-role.kubernetes.io/control-plane), kubelet 10250
        hostNetwork static pods kube-system/kube-apiserver-cp1 (kube-apiserver --secure-port=6443, no ports declared)
                                kube-system/etcd-cp1 (etcd --listen-client-urls=https://127.0.0.1:2379,https://192.168.1.10:2379)
    node w1 192.168.1.11, kubelet on 10251 (status.daemonEndpoints)
        pod web/app 10.244.1.5: containers main (8080) + proxy (readinessProbe → 15021, nothing declared);
            spec.hostAliases 10.1.2.3 db.corp; subdomain none
        pod web/db-0 10.244.1.6: hostname db-0, subdomain db
    svc default/kubernetes 10.96.0.1:443 → 6443, selector-less EndpointSlice 192.168.1.10
"""
from __future__ import annotations

import pytest

from tests.unit.conftest import build, endpoints_of, eps, node, pod, policy, svc
from tracer.engine.model import Container, ContainerPort, HostAlias, IPBlock, Pod, PolicyPeer, PolicyRule


def static(name, component, args, n="cp1", ip="192.168.1.10"):
    return Pod(namespace="kube-system", name=name, labels={"component": component, "tier": "control-plane"},
               ips=(ip,), node_name=n, host_ip=ip, host_network=True, owner_kind="Node", owner_name=n,
               containers=(Container(name=component, image=f"registry.k8s.io/{component}:v1.31.0",
                                     args=tuple(args)),))


def cluster(*extra, apiserver=True, kubernetes_ep="192.168.1.10"):
    cp = node("cp1", "192.168.1.10", "z1", "10.244.0.0/24")
    cp.labels["node-role.kubernetes.io/control-plane"] = ""
    w1 = node("w1", "192.168.1.11", "z1", "10.244.1.0/24")
    w1.kubelet_port = 10251
    app = pod("web", "app", "10.244.1.5", "w1", {"app": "web"})
    app.containers = (Container(name="main", ports=(ContainerPort(container_port=8080),)),
                      Container(name="proxy", probe_ports=(15021,)))
    app.host_aliases = (HostAlias(ip="10.1.2.3", hostnames=("db.corp", "db")),)
    objs = [cp, w1, app,
            pod("web", "db-0", "10.244.1.6", "w1", {"app": "db"}, ports=[(5432, "TCP", "pg")], hostname="db-0",
                subdomain="db"),
            static("etcd-cp1", "etcd", ["etcd", "--listen-client-urls=https://127.0.0.1:2379,https://192.168.1.10:2379"]),
            svc("default", "kubernetes", "10.96.0.1", [(443, 6443, "TCP", "https")]),
            eps("default", "kubernetes", [(kubernetes_ep, "", "")], [("https", 6443, "TCP")], name="kubernetes"),
            *extra]
    if apiserver:
        objs.append(static("kube-apiserver-cp1", "kube-apiserver", ["kube-apiserver", "--secure-port=6443"]))
    return build(*objs)


DENY_ALL_EGRESS = policy("web", "deny-egress", {}, types=("Egress",))
ONLY_TO_DB_CORP = policy("web", "only-db-corp", {}, types=("Egress",),
                         egress=[PolicyRule(peers=(PolicyPeer(ip_block=IPBlock(cidr="10.1.2.3/32")),))])


def kinds(path):
    return [(h["kind"], h["action"]) for h in path["hops"]]


# -- H1 loopback ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dest,port,container", [("ip:127.0.0.1", 8080, "main"), ("ip:::1", 15021, "proxy"),
                                                 ("dns:localhost", 8080, "main"), ("ip:127.0.0.53", 8080, "main")])
def test_loopback_reaches_the_container_of_the_same_pod(trace_dict, dest, port, container):
    r = trace_dict(cluster(DENY_ALL_EGRESS), "pod:web/app", dest, port=port)
    (p,) = r["paths"]
    assert p["verdict"] == "delivered" and p["endpoint"] == "pod:web/app" and p["endpoint_port"] == port
    assert f"container {container} answers" in p["hops"][-1]["detail"]
    # nothing leaves the pod: no kube-proxy, no NetworkPolicy (a deny-all egress policy is in force), no DNS query
    assert kinds(p) == [("pod", "send"), *([("dns", "hosts")] if dest.startswith("dns:") else []),
                        ("loopback", "local"), ("endpoint", "loopback")]
    assert ("dns", "query") not in kinds(p) and not any(h["ref"]["kind"] == "service" for h in p["hops"])


def test_loopback_port_nothing_listens_on_is_no_listener(trace_dict):
    (p,) = trace_dict(cluster(), "pod:web/app", "ip:127.0.0.1", port=9999)["paths"]
    assert p["reason"] == "no-listener" and "8080/TCP" in p["hops"][-1]["detail"]


def test_a_hostnetwork_pods_loopback_is_its_nodes(trace_dict):
    (p,) = trace_dict(cluster(), "pod:kube-system/kube-apiserver-cp1", "ip:127.0.0.1", port=2379)["paths"]
    assert p["endpoint"] == "pod:kube-system/etcd-cp1" and "--listen-client-urls" in p["hops"][-2]["detail"]
    (p,) = trace_dict(cluster(), "node:cp1", "ip:127.0.0.1", port=10248)["paths"]
    assert p["endpoint"] == "node:cp1" and "healthz" in p["hops"][-1]["detail"]


# -- H2 /etc/hosts ------------------------------------------------------------------------------------------

def test_host_aliases_resolve_without_dns_even_when_dns_egress_is_denied(trace_dict):
    r = trace_dict(cluster(ONLY_TO_DB_CORP), "pod:web/app", "dns:db.corp", port=5432)
    (p,) = r["paths"]
    assert p["verdict"] == "delivered" and p["endpoint"] == "external:10.1.2.3"
    assert ("dns", "hosts") in kinds(p) and ("dns", "query") not in kinds(p)
    # the same name without the alias needs DNS, which the policy blocks
    r = trace_dict(cluster(ONLY_TO_DB_CORP), "pod:web/db-0", "dns:db.corp", port=5432)
    assert {p["reason"] for p in r["paths"]} == {"policy-egress-denied"}


@pytest.mark.parametrize("name", ["db-0", "db-0.db.web.svc.cluster.local"])
def test_the_pods_own_hostname_and_fqdn_are_in_its_hosts_file(trace_dict, name):
    (p,) = trace_dict(cluster(DENY_ALL_EGRESS), "pod:web/db-0", f"dns:{name}", port=5432)["paths"]
    assert p["verdict"] == "delivered" and p["endpoint"] == "pod:web/db-0"
    assert ("dns", "hosts") in kinds(p)


def test_another_pods_hostname_is_not_in_the_hosts_file(trace_dict):
    r = trace_dict(cluster(), "pod:web/app", "dns:db-0", port=5432)
    assert {p["reason"] for p in r["paths"]} == {"dns-nxdomain"}


# -- H4 node listeners ------------------------------------------------------------------------------------

@pytest.mark.parametrize("ip,port,endpoint", [
    ("192.168.1.11", 10251, "node:w1"),                        # kubelet at status.daemonEndpoints port
    ("192.168.1.10", 10250, "node:cp1"),                       # default kubelet port
    ("192.168.1.11", 10256, "node:w1"),                        # kube-proxy health
    ("192.168.1.10", 6443, "pod:kube-system/kube-apiserver-cp1"),  # --secure-port of a hostNetwork pod
    ("192.168.1.10", 2379, "pod:kube-system/etcd-cp1"),        # etcd --listen-client-urls
])
def test_node_listeners(trace_dict, ip, port, endpoint):
    r = trace_dict(cluster(), "pod:web/app", f"ip:{ip}", port=port)
    assert endpoints_of(r) == {endpoint: (port, 1.0)}
    if endpoint.startswith("node:") and port != 10256:
        assert ("kubelet", "listen") in kinds(r["paths"][0])


@pytest.mark.parametrize("ip,port", [("192.168.1.11", 10250), ("192.168.1.10", 7777)])
def test_a_node_port_nothing_listens_on_is_no_listener(trace_dict, ip, port):
    (p,) = trace_dict(cluster(), "pod:web/app", f"ip:{ip}", port=port)["paths"]
    assert p["reason"] == "no-listener"


def test_egress_policy_applies_to_a_node_address(trace_dict):
    (p,) = trace_dict(cluster(DENY_ALL_EGRESS), "pod:web/app", "ip:192.168.1.11", port=10251)["paths"]
    assert p["reason"] == "policy-egress-denied" and ("node", "forward") not in kinds(p)


# -- H5 the API server -------------------------------------------------------------------------------------

def test_default_kubernetes_ends_at_the_apiserver_static_pod(trace_dict):
    r = trace_dict(cluster(), "pod:web/app", "svc:default/kubernetes", port=443)
    assert endpoints_of(r) == {"pod:kube-system/kube-apiserver-cp1": (6443, 1.0)}
    assert not any(h["action"] == "leave-cluster" for p in r["paths"] for h in p["hops"])


def test_default_kubernetes_without_the_static_pod_ends_at_the_node(trace_dict):
    r = trace_dict(cluster(apiserver=False), "pod:web/app", "svc:default/kubernetes", port=443)
    assert endpoints_of(r) == {"node:cp1": (6443, 1.0)}


def test_a_managed_control_plane_stays_external(trace_dict):
    r = trace_dict(cluster(apiserver=False, kubernetes_ep="203.0.113.7"), "pod:web/app", "svc:default/kubernetes",
                   port=443)
    assert endpoints_of(r) == {"external:203.0.113.7": (6443, 1.0)}


# -- H6 the control plane as part of the model -------------------------------------------------------------

def test_control_plane_view_names_nodes_components_and_traceable_flows(trace_dict):
    from tracer.engine.control_plane import control_plane
    sched = static("kube-scheduler-cp1", "kube-scheduler", ["kube-scheduler", "--kubeconfig=/etc/kubernetes/s.conf"])
    api = static("kube-apiserver-cp1", "kube-apiserver",
                 ["kube-apiserver", "--secure-port=6443", "--etcd-servers=https://127.0.0.1:2379"])
    m = cluster(sched, api, apiserver=False)
    view = control_plane(m)
    assert view["nodes"] == [{"name": "cp1", "ip": "192.168.1.10"}]
    comps = {c["component"]: c for c in view["components"]}
    assert set(comps) == {"etcd", "kube-apiserver", "kube-scheduler"}
    assert comps["kube-apiserver"]["ports"] == [6443] and 2379 in comps["etcd"]["ports"]
    assert view["api_server"]["addresses"] == [{"address": "192.168.1.10", "node": "cp1",
                                                "pod": "kube-system/kube-apiserver-cp1", "inside": True}]
    assert not view["api_server"]["managed"]
    whats = {(f["from"], f["to"], f["port"]) for f in view["flows"]}
    assert ("pod:kube-system/kube-apiserver-cp1", "ip:127.0.0.1", 2379) in whats
    assert ("pod:kube-system/kube-apiserver-cp1", "ip:192.168.1.11", 10251) in whats
    assert ("node:w1", "svc:default/kubernetes", 443) in whats
    assert ("pod:kube-system/kube-scheduler-cp1", "svc:default/kubernetes", 443) in whats
    assert any(f["from"] == "pod:kube-system/coredns-0" for f in view["flows"])
    for f in view["flows"]:  # every flow the map draws traces to delivered
        t = f["trace"]
        r = trace_dict(m, t["from"], t["to"], port=t["port"])
        assert r["verdict"] == "delivered", (f, r["reason"])


def test_a_managed_control_plane_is_stated():
    from tracer.engine.control_plane import control_plane
    view = control_plane(cluster(apiserver=False, kubernetes_ep="203.0.113.7"))
    assert view["api_server"]["managed"] and "managed control plane" in view["api_server"]["note"]


@pytest.mark.parametrize("dest", ["url:http://localhost:8080/health", "url:http://127.0.0.1:8080/"])
def test_a_url_on_localhost_is_the_pods_own_container(trace_dict, dest):
    (p,) = trace_dict(cluster(DENY_ALL_EGRESS), "pod:web/app", dest)["paths"]
    assert p["endpoint"] == "pod:web/app" and p["endpoint_port"] == 8080
