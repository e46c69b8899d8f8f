"""Synthetic live-state cluster dumps at any size, deterministic by seed.

    python -m bench.generate --nodes 5000 --pods 150000 --services 10000 --policies 2000 \
        --out var/bench/threshold          # writes cluster.json (+ nca/ inputs)

Why live state (Pods with IPs, Nodes, EndpointSlices) rather than manifests: it is what
`kubectl get -o json` prints for a real cluster of that size, so the importer and engine are
measured on the input they will meet. The shape follows the Kubernetes scalability thresholds
(docs/semantics.md §G): ≤110 pods per node, ≤250 endpoints per service, many namespaces.

The same cluster is also written in network-config-analyzer's input form (a pod list, a
namespace list and the policies) so both tools can be compared on identical data.
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import random
import zlib
from dataclasses import dataclass
from pathlib import Path

TIERS = ("web", "api", "db", "cache", "worker")
TEAMS = ("red", "blue", "green", "gold")
TS = "2026-01-01T00:00:00Z"
MAX_PODS_PER_NODE = 110  # kubelet default max-pods, a Kubernetes scalability threshold


@dataclass
class Size:
    nodes: int = 3
    pods: int = 30
    services: int = 10
    namespaces: int = 0  # 0 ⇒ services // 10 (at least 1)
    policies: int = 5
    ingresses: int = 0  # 0 ⇒ services // 50
    seed: int = 1

    def resolved_namespaces(self) -> int:
        return self.namespaces or max(1, self.services // 10)


def _meta(name, namespace=None, labels=None, uid=None, **extra):
    meta = {"name": name, "creationTimestamp": TS}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = labels
    if uid:
        meta["uid"] = uid
    meta.update(extra)
    return meta


def _pod_cidr(i: int) -> ipaddress.IPv4Network:
    """Node i's /24 inside 10.0.0.0/11 (8,192 nodes' worth)."""
    return ipaddress.IPv4Network((int(ipaddress.IPv4Address("10.0.0.0")) + (i << 8), 24))


def _node_ip(i: int) -> str:
    return str(ipaddress.IPv4Address("172.20.0.0") + 10 + i)


def _cluster_ip(i: int) -> str:
    return str(ipaddress.IPv4Address("10.96.0.0") + 100 + i)


def generate(size: Size) -> dict:
    """Return the whole cluster as one `kind: List` dict (and nca inputs via `nca_inputs`)."""
    rng = random.Random(size.seed)
    items: list[dict] = []
    n_ns = size.resolved_namespaces()
    namespaces = [f"ns-{i:05d}" for i in range(n_ns)]
    zones = [f"zone-{z}" for z in "abc"]

    for i in range(size.nodes):
        name = f"node-{i:05d}"
        items.append({"apiVersion": "v1", "kind": "Node",
                      "metadata": _meta(name, labels={"kubernetes.io/hostname": name,
                                                      "topology.kubernetes.io/zone": zones[i % 3]}),
                      "spec": {"podCIDR": str(_pod_cidr(i)), "podCIDRs": [str(_pod_cidr(i))]},
                      "status": {"addresses": [{"type": "InternalIP", "address": _node_ip(i)},
                                               {"type": "Hostname", "address": name}],
                                 "conditions": [{"type": "Ready", "status": "True"}]}})
    for name in ["kube-system", "ingress-nginx", *namespaces]:
        team = TEAMS[zlib.crc32(name.encode()) % len(TEAMS)] if name.startswith("ns-") else "platform"
        items.append({"apiVersion": "v1", "kind": "Namespace",
                      "metadata": _meta(name, labels={"kubernetes.io/metadata.name": name, "team": team})})

    # Services: one Deployment each; pods spread over services, nodes round-robin.
    per_service = [size.pods // max(1, size.services)] * size.services
    for i in range(size.pods - sum(per_service)):
        per_service[i % size.services] += 1
    node_fill = [0] * size.nodes
    pod_counter = 0
    node_cursor = 0

    def place() -> int:
        nonlocal node_cursor
        for _ in range(size.nodes):
            n = node_cursor
            node_cursor = (node_cursor + 1) % size.nodes
            if node_fill[n] < MAX_PODS_PER_NODE:
                node_fill[n] += 1
                return n
        raise ValueError(f"too many pods for the nodes ({MAX_PODS_PER_NODE} per node)")

    def add_pod(ns, name, labels, node, ports, args=None, ready=True, owner=None):
        nonlocal pod_counter
        ip = str(_pod_cidr(node)[2 + node_fill[node]])
        pod_counter += 1
        container = {"name": "main", "image": f"example.com/{labels.get('app', 'x')}:1",
                     "ports": [{"name": pn, "containerPort": pp, "protocol": "TCP"} for pn, pp in ports]}
        if args:
            container["args"] = args
        extra = {"ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": owner,
                                      "uid": f"uid-{owner}", "controller": True}]} if owner else {}
        items.append({"apiVersion": "v1", "kind": "Pod",
                      "metadata": _meta(name, ns, labels, **extra),
                      "spec": {"nodeName": f"node-{node:05d}", "containers": [container]},
                      "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                                 "hostIP": _node_ip(node),
                                 "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}})
        return ip

    def add_service(ns, name, selector, ports, index, svc_type="ClusterIP", lb_ip=None):
        spec = {"type": svc_type, "clusterIP": _cluster_ip(index), "clusterIPs": [_cluster_ip(index)],
                "selector": selector,
                "ports": [{"name": pn, "port": sp, "targetPort": tp, "protocol": "TCP",
                           **({"nodePort": 30000 + (index * 2 + k) % 2768} if svc_type != "ClusterIP" else {})}
                          for k, (pn, sp, tp) in enumerate(ports)]}
        status = {"loadBalancer": {"ingress": [{"ip": lb_ip}]}} if lb_ip else {"loadBalancer": {}}
        items.append({"apiVersion": "v1", "kind": "Service", "metadata": _meta(name, ns), "spec": spec,
                      "status": status})

    def add_slice(ns, svc, endpoints, ports):
        for part in range(0, max(1, len(endpoints)), 100):
            chunk = endpoints[part:part + 100]
            items.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                          "metadata": _meta(f"{svc}-{part // 100:03d}", ns,
                                            {"kubernetes.io/service-name": svc,
                                             "endpointslice.kubernetes.io/managed-by":
                                                 "endpointslice-controller.k8s.io"}),
                          "addressType": "IPv4",
                          "endpoints": [{"addresses": [ip], "conditions": {"ready": True, "serving": True,
                                                                            "terminating": False},
                                         "nodeName": f"node-{node:05d}", "zone": zones[node % 3],
                                         "targetRef": {"kind": "Pod", "namespace": ns, "name": pod}}
                                        for ip, node, pod in chunk],
                          "ports": [{"name": pn, "port": tp, "protocol": "TCP"} for pn, tp in ports]})

    # Cluster DNS.
    dns_eps = []
    for k in range(2):
        node = place()
        ip = add_pod("kube-system", f"coredns-{k}", {"k8s-app": "kube-dns"}, node, [("dns-tcp", 53)])
        dns_eps.append((ip, node, f"coredns-{k}"))
    items.append({"apiVersion": "v1", "kind": "Service", "metadata": _meta("kube-dns", "kube-system"),
                  "spec": {"clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                           "selector": {"k8s-app": "kube-dns"},
                           "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                                     {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}})
    items.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                  "metadata": _meta("kube-dns-000", "kube-system", {"kubernetes.io/service-name": "kube-dns"}),
                  "addressType": "IPv4",
                  "endpoints": [{"addresses": [ip], "conditions": {"ready": True}, "nodeName": f"node-{n:05d}",
                                 "targetRef": {"kind": "Pod", "namespace": "kube-system", "name": p}}
                                for ip, n, p in dns_eps],
                  "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                            {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]})

    # Ingress controller (ingress-nginx), exposed by a LoadBalancer.
    ctrl_eps = []
    for k in range(2):
        node = place()
        # one Deployment's replicas (owned by its ReplicaSet, as in a live dump): one controller, two pods
        pod_name = f"ingress-nginx-controller-5d88495688-{'abcde'[k]}{k}x7q"
        ip = add_pod("ingress-nginx", pod_name,
                     {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
                     node, [("http", 80), ("https", 443)], args=["/nginx-ingress-controller",
                                                                 "--controller-class=k8s.io/ingress-nginx"],
                     owner="ingress-nginx-controller-5d88495688")
        ctrl_eps.append((ip, node, pod_name))
    add_service("ingress-nginx", "ingress-nginx-controller",
                {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
                [("http", 80, "http"), ("https", 443, "https")], 1, "LoadBalancer", lb_ip="198.51.100.10")
    add_slice("ingress-nginx", "ingress-nginx-controller", ctrl_eps, [("http", 80), ("https", 443)])
    items.append({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
                  "metadata": _meta("nginx", annotations={"ingressclass.kubernetes.io/is-default-class": "true"}),
                  "spec": {"controller": "k8s.io/ingress-nginx"}})

    services = []
    for s in range(size.services):
        ns = namespaces[s % n_ns]
        tier = TIERS[s % len(TIERS)]
        svc = f"svc-{s:05d}"
        labels = {"app": svc, "tier": tier}
        eps = []
        for r in range(per_service[s]):
            node = place()
            pod = f"{svc}-{r:04d}"
            ip = add_pod(ns, pod, labels, node, [("http", 8080)])
            eps.append((ip, node, pod))
        add_service(ns, svc, {"app": svc}, [("http", 80, "http")], 100 + s)
        add_slice(ns, svc, eps, [("http", 8080)])
        services.append((ns, svc, tier))

    # Ingresses: host rules over groups of services, each in its own namespace.
    n_ing = size.ingresses or max(0, size.services // 50)
    for g in range(n_ing):
        ns, svc, _ = services[(g * 7) % len(services)]
        same_ns = [s for s in services if s[0] == ns][:4]
        items.append({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                      "metadata": _meta(f"ing-{g:05d}", ns),
                      "spec": {"ingressClassName": "nginx",
                               "rules": [{"host": f"app-{g}.example.com", "http": {"paths": [
                                   {"path": f"/{s[1]}" if k else "/", "pathType": "Prefix",
                                    "backend": {"service": {"name": s[1], "port": {"name": "http"}}}}
                                   for k, s in enumerate(same_ns)]}}]}})

    # NetworkPolicies: default-deny + tier allows + cross-namespace allows by team.
    for p in range(size.policies):
        ns = namespaces[p % n_ns]
        kind = p % 4
        if kind == 0:
            spec = {"podSelector": {}, "policyTypes": ["Ingress"]}
        elif kind == 1:
            spec = {"podSelector": {"matchLabels": {"tier": "db"}},
                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"tier": "api"}}}],
                                 "ports": [{"port": "http"}]}]}
        elif kind == 2:
            spec = {"podSelector": {"matchExpressions": [{"key": "tier", "operator": "In",
                                                          "values": ["web", "api"]}]},
                    "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"team": rng.choice(TEAMS)}}},
                                          {"namespaceSelector": {"matchLabels": {
                                              "kubernetes.io/metadata.name": "ingress-nginx"}}}],
                                 "ports": [{"port": 8080, "protocol": "TCP"}]}]}
        else:
            spec = {"podSelector": {"matchLabels": {"tier": rng.choice(TIERS)}}, "policyTypes": ["Egress"],
                    "egress": [{"to": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"tier": "api"}}}]},
                               {"to": [{"namespaceSelector": {"matchLabels": {
                                   "kubernetes.io/metadata.name": "kube-system"}}}],
                                "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
                               {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}]}
        items.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                      "metadata": _meta(f"pol-{p:05d}", ns), "spec": spec})

    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}


def nca_inputs(cluster: dict) -> dict[str, dict]:
    """Split a cluster into network-config-analyzer's inputs: pods, namespaces, policies."""
    by_kind: dict[str, list] = {"Pod": [], "Namespace": [], "NetworkPolicy": []}
    for item in cluster["items"]:
        if item["kind"] in by_kind:
            by_kind[item["kind"]].append(item)
    wrap = lambda kind: {"apiVersion": "v1", "kind": f"{kind}List", "items": by_kind[kind]}  # noqa: E731
    return {"pods.json": wrap("Pod"), "namespaces.json": wrap("Namespace"),
            "policies.json": {"apiVersion": "v1", "kind": "List", "items": by_kind["NetworkPolicy"]}}


def write(size: Size, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    cluster = generate(size)
    path = out / "cluster.json"
    path.write_text(json.dumps(cluster, separators=(",", ":")))
    nca_dir = out / "nca"
    nca_dir.mkdir(exist_ok=True)
    for name, doc in nca_inputs(cluster).items():
        (nca_dir / name).write_text(json.dumps(doc, separators=(",", ":")))
    return path


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for f in ("nodes", "pods", "services", "namespaces", "policies", "ingresses", "seed"):
        ap.add_argument(f"--{f}", type=int, default=getattr(Size, f))
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    size = Size(**{f: getattr(args, f) for f in ("nodes", "pods", "services", "namespaces", "policies",
                                                  "ingresses", "seed")})
    path = write(size, args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
