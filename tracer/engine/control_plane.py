"""The control plane as part of the model (docs/semantics.md H5, H6): its nodes, components and flows.

`control_plane(model)` → a JSON-able view the map draws and the UI can trace:
- `nodes`        control-plane nodes (label node-role.kubernetes.io/control-plane, legacy …/master)
- `components`   static pods with component=kube-apiserver / etcd / kube-scheduler / kube-controller-manager
                 (or that binary as command), their node and the ports they listen on (node_listeners)
- `api_server`   default/kubernetes' endpoint addresses and what each is: a node (and its kube-apiserver pod) or,
                 when no node has that address, outside the cluster (`managed`: a managed control plane)
- `flows`        the H6 flows, each with a `trace` request {from, to, port} that manage.py trace / the API run:
                 kubelet and kube-proxy (node processes), kube-scheduler, kube-controller-manager and CoreDNS →
                 API server; API server → etcd (its --etcd-servers); API server → each kubelet (logs, exec)
Bounded: at most MAX_NODE_FLOWS per-node flows are listed (`nodes_total` says how many nodes there are).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from .cluster import ClusterModel
from .node_listeners import WELL_KNOWN_ARGS, component_of, control_plane_node, pod_listen_ports

API_SERVICE = "default/kubernetes"
MAX_NODE_FLOWS = 50


def _etcd_target(pod) -> tuple[str, int] | None:
    for c in pod.containers:
        for a in c.args:
            if a.startswith("--etcd-servers="):
                first = a.split("=", 1)[1].split(",")[0].strip()
                try:
                    u = urlsplit(first)
                    return (u.hostname or "127.0.0.1"), (u.port or 2379)
                except ValueError:
                    return None
    return None


def control_plane(model: ClusterModel) -> dict:
    nodes = [n for n in model.nodes.values() if control_plane_node(n)]
    components = []
    by_component: dict[str, list] = {}
    for pod in model.objects.pods:
        if not pod.host_network and pod.labels.get("tier") != "control-plane":
            continue
        comp = component_of(pod)
        if comp not in WELL_KNOWN_ARGS:
            continue
        by_component.setdefault(comp, []).append(pod)
        components.append({"pod": pod.key, "component": comp, "node": pod.node_name,
                           "ports": sorted(p for p, proto in pod_listen_ports(pod) if proto == "TCP")})
    api = model.services.get(API_SERVICE)
    api_port = 443
    if api is not None and api.ports:
        api_port = api.ports[0].port
    addresses = []
    for sl in model.objects.endpoint_slices:
        if sl.namespace == "default" and sl.service_name == "kubernetes":
            for ep in sl.endpoints:
                for addr in ep.addresses:
                    node = model.node_by_ip.get(addr)
                    pod = next((p.key for p in by_component.get("kube-apiserver", ())
                                if node is not None and p.node_name == node.name), None)
                    addresses.append({"address": addr, "node": node.name if node else None, "pod": pod,
                                      "inside": node is not None})
    managed = bool(addresses) and not any(a["inside"] for a in addresses)
    flows = []

    def flow(frm: str, to: str, port: int, what: str) -> None:
        flows.append({"from": frm, "to": to, "port": port, "what": what,
                      "trace": {"from": frm, "to": to, "port": port}})

    all_nodes = sorted(model.nodes)
    if api is not None:
        for name in all_nodes[:MAX_NODE_FLOWS]:
            flow(f"node:{name}", f"svc:{API_SERVICE}", api_port, "kubelet and kube-proxy watch the API server (H6)")
        for comp in ("kube-scheduler", "kube-controller-manager"):
            for pod in by_component.get(comp, ()):
                flow(f"pod:{pod.key}", f"svc:{API_SERVICE}", api_port, f"{comp} watches the API server (H6)")
        for pod in model.pods_of_workload("kube-system", "coredns", "Deployment") or [
                p for p in model.pods_by_namespace.get("kube-system", ()) if p.labels.get("k8s-app") == "kube-dns"]:
            if pod.ip:
                flow(f"pod:{pod.key}", f"svc:{API_SERVICE}", api_port, "CoreDNS watches Services and EndpointSlices "
                                                                       "(H6)")
    for pod in by_component.get("kube-apiserver", ()):
        target = _etcd_target(pod)
        if target is not None:
            flow(f"pod:{pod.key}", f"ip:{target[0]}", target[1], "the API server stores state in etcd (H6)")
        for name in all_nodes[:MAX_NODE_FLOWS]:
            n = model.nodes[name]
            if n.internal_ip:
                flow(f"pod:{pod.key}", f"ip:{n.internal_ip}", n.kubelet_port,
                     f"the API server calls kubelet {name} (logs, exec, port-forward) (H6)")
    return {"nodes": [{"name": n.name, "ip": n.internal_ip} for n in sorted(nodes, key=lambda n: n.name)],
            "components": sorted(components, key=lambda c: (c["component"], c["pod"])),
            "api_server": {"service": API_SERVICE if api is not None else None, "addresses": addresses,
                           "managed": managed,
                           "note": ("the API server's addresses are no node of the snapshot: a managed control "
                                    "plane outside the cluster (H5)") if managed else ""},
            "flows": flows, "nodes_total": len(all_nodes)}
