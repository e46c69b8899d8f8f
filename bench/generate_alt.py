"""A second, independent cluster generator for the matrix benchmark: other shapes than bench/generate.py.

    python -m bench.generate_alt --pods 10000 --out var/bench/alt-10k     # cluster.json + nca/ inputs

Why a second one: an engine tuned on one generator's regularities (one service per Deployment, policies
reading only `tier`) can look fast or right for the wrong reasons. This one differs on purpose:
- namespace sizes are skewed: most namespaces are small (1–3 workloads of 1–2 replicas), a few are big
  (dozens of workloads, up to 40 replicas) — about 3 % of namespaces hold half of the pods;
- heavy named ports: every workload declares 2–4 named container ports (http, grpc, metrics, admin) at
  numbers that differ per workload; Services target them by name; policies allow them by name;
- deny-all + allow lists: every namespace has a default deny for ingress AND egress, an egress allow to
  cluster DNS, and per workload an ingress allow list (`app In [...]` of a few callers, some from other
  namespaces by `kubernetes.io/metadata.name In [...]`) on one named port;
- a few workloads per big namespace carry a `version` label no policy reads (projection must merge them).
Deterministic by seed; same live-state shape (`kubectl get -o json`) as bench/generate.py, and nca inputs.
"""
from __future__ import annotations

import argparse
import ipaddress
import json
import random
from pathlib import Path

PORT_NAMES = ("http", "grpc", "metrics", "admin")
TS = "2026-02-01T00:00:00Z"
PODS_PER_NODE = 100


def _ip(base: str, n: int) -> str:
    return str(ipaddress.IPv4Address(base) + n)


def _plan_namespaces(rng: random.Random, pods: int) -> list[list[int]]:
    """Per namespace, the replica count of each workload: skewed sizes, summing to `pods`."""
    out: list[list[int]] = []
    big_share = pods // 2
    n_big = max(1, pods // 3000)
    for _ in range(n_big):
        left, ws = big_share // n_big, []
        while left > 0:
            r = min(left, rng.randint(5, 40))
            ws.append(r)
            left -= r
        out.append(ws)
    left = pods - sum(map(sum, out))
    while left > 0:
        ws = []
        for _ in range(rng.randint(1, 3)):
            r = min(left, rng.randint(1, 2))
            if r:
                ws.append(r)
                left -= r
        out.append(ws)
    return out


def generate(pods: int = 1000, seed: int = 7) -> dict:
    rng = random.Random(seed)
    items: list[dict] = []
    layout = _plan_namespaces(rng, pods)
    nodes = max(2, -(-pods // PODS_PER_NODE))
    for n in range(nodes):
        name = f"worker-{n:04d}"
        items.append({"apiVersion": "v1", "kind": "Node",
                      "metadata": {"name": name, "creationTimestamp": TS,
                                   "labels": {"kubernetes.io/hostname": name}},
                      "spec": {"podCIDR": f"10.{64 + n // 256}.{n % 256}.0/24"},
                      "status": {"addresses": [{"type": "InternalIP", "address": _ip("192.168.0.10", n)}],
                                 "conditions": [{"type": "Ready", "status": "True"}]}})
    fill = [0] * nodes
    cursor = 0

    def place() -> tuple[int, str]:
        nonlocal cursor
        n = cursor % nodes
        cursor += 1
        fill[n] += 1
        return n, f"10.{64 + n // 256}.{n % 256}.{1 + fill[n]}"

    def pod(ns, name, labels, ports, node, ip):
        items.append({"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": name, "namespace": ns, "labels": labels, "creationTimestamp": TS},
                      "spec": {"nodeName": f"worker-{node:04d}", "containers": [{
                          "name": "app", "image": "registry.example/app:2",
                          "ports": [{"name": pn, "containerPort": pp, "protocol": "TCP"} for pn, pp in ports]}]},
                      "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                                 "hostIP": _ip("192.168.0.10", node),
                                 "conditions": [{"type": "Ready", "status": "True"}]}})

    # cluster DNS
    dns = []
    for k in range(2):
        node, ip = place()
        pod("kube-system", f"coredns-{k}", {"k8s-app": "kube-dns"}, [("dns", 53)], node, ip)
        dns.append((ip, node, f"coredns-{k}"))
    ns_names = [f"team-{i:04d}" for i in range(len(layout))]
    for name in ["kube-system", *ns_names]:
        items.append({"apiVersion": "v1", "kind": "Namespace",
                      "metadata": {"name": name, "creationTimestamp": TS,
                                   "labels": {"kubernetes.io/metadata.name": name}}})
    services = [("kube-system", "kube-dns", {"k8s-app": "kube-dns"}, [("dns", 53, 53, "UDP"),
                                                                       ("dns-tcp", 53, 53, "TCP")], dns)]
    declared: dict[tuple[str, str], dict[str, int]] = {}  # a workload's named ports (every replica alike)
    svc_ip = 0
    workloads: list[tuple[str, str]] = []  # (namespace, app)
    for ns, replicas in zip(ns_names, layout, strict=True):
        for w, r in enumerate(replicas):
            app = f"{ns[5:]}-w{w}"
            names = rng.sample(PORT_NAMES, rng.randint(2, 4))
            ports = [(pn, 8000 + 10 * w + k + rng.randint(0, 3)) for k, pn in enumerate(names)]
            declared[(ns, app)] = dict(ports)
            eps = []
            for k in range(r):
                node, ip = place()
                labels = {"app": app}
                if r > 3 and k % 2:
                    labels["version"] = f"v{k % 3}"
                pod(ns, f"{app}-{k:03d}", labels, ports, node, ip)
                eps.append((ip, node, f"{app}-{k:03d}"))
            svc_ports = [(pn, 80 + i, pn, "TCP") for i, (pn, _) in enumerate(ports)]
            services.append((ns, app, {"app": app}, svc_ports, eps))
            workloads.append((ns, app))
    for ns, name, selector, ports, eps in services:
        svc_ip += 1
        cip = "10.96.0.10" if name == "kube-dns" else _ip("10.100.0.0", svc_ip)
        items.append({"apiVersion": "v1", "kind": "Service",
                      "metadata": {"name": name, "namespace": ns, "creationTimestamp": TS},
                      "spec": {"type": "ClusterIP", "clusterIP": cip, "clusterIPs": [cip], "selector": selector,
                               "ports": [{"name": pn, "port": sp, "targetPort": tp, "protocol": proto}
                                         for pn, sp, tp, proto in ports]}})
        slice_ports = [{"name": pn, "port": tp if isinstance(tp, int) else declared[(ns, name)][tp],
                        "protocol": proto} for pn, _sp, tp, proto in ports]
        items.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                      "metadata": {"name": f"{name}-abc12", "namespace": ns, "creationTimestamp": TS,
                                   "labels": {"kubernetes.io/service-name": name}},
                      "addressType": "IPv4",
                      "endpoints": [{"addresses": [ip], "conditions": {"ready": True, "serving": True,
                                                                        "terminating": False},
                                     "nodeName": f"worker-{node:04d}",
                                     "targetRef": {"kind": "Pod", "namespace": ns, "name": pname}}
                                    for ip, node, pname in eps],
                      "ports": slice_ports})
    # policies: deny-all both ways, DNS egress, per-workload ingress allow lists on a named port
    by_ns: dict[str, list[str]] = {}
    for ns, app in workloads:
        by_ns.setdefault(ns, []).append(app)

    def netpol(ns, name, spec):
        items.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                      "metadata": {"name": name, "namespace": ns, "creationTimestamp": TS}, "spec": spec})

    def allow_list(ns, apps):
        callers = rng.sample(workloads, min(len(workloads), rng.randint(1, 4)))
        same = sorted({a for n, a in callers if n == ns} | {rng.choice(apps)})
        peers = [{"podSelector": {"matchExpressions": [{"key": "app", "operator": "In", "values": same}]}}]
        other = [(n, a) for n, a in callers if n != ns]
        if other:
            peers.append({"namespaceSelector": {"matchExpressions": [{
                "key": "kubernetes.io/metadata.name", "operator": "In", "values": sorted({n for n, _ in other})}]},
                "podSelector": {"matchExpressions": [{"key": "app", "operator": "In",
                                                      "values": sorted({a for _, a in other})}]}})
        return [{"from": peers, "ports": [{"port": rng.choice(PORT_NAMES)}]}]

    for ns, apps in by_ns.items():
        # deny-all both ways, with the egress allow list: cluster DNS and a few listed namespaces
        netpol(ns, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"], "egress": [
            {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                     "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
             "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
            {"to": [{"namespaceSelector": {"matchExpressions": [{
                "key": "kubernetes.io/metadata.name", "operator": "In",
                "values": sorted({ns, *rng.sample(ns_names, min(3, len(ns_names)))})}]}}]}]})
        if len(apps) > 3:  # big namespaces: an ingress allow list per workload, on one named port
            for app in apps:
                netpol(ns, f"allow-{app}", {"podSelector": {"matchLabels": {"app": app}},
                                            "policyTypes": ["Ingress"], "ingress": allow_list(ns, apps)})
        else:  # small ones: one allow list for the namespace
            netpol(ns, "allow-listed", {"podSelector": {}, "policyTypes": ["Ingress"], "ingress": allow_list(ns, apps)})
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}


def write(pods: int, out: Path, seed: int = 7) -> Path:
    from bench.generate import nca_inputs

    out.mkdir(parents=True, exist_ok=True)
    cluster = generate(pods, seed)
    path = out / "cluster.json"
    path.write_text(json.dumps(cluster, separators=(",", ":")))
    (out / "nca").mkdir(exist_ok=True)
    for name, doc in nca_inputs(cluster).items():
        (out / "nca" / name).write_text(json.dumps(doc, separators=(",", ":")))
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pods", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    path = write(args.pods, args.out, args.seed)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
