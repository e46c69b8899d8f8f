"""The forwarding graph of one snapshot (networkx), built once per model and cached.

Vertices (string ids, the same vocabulary as trace hop ids):
  external · lb:IP · node:NAME · kube-proxy · pod-network · svc:NS/NAME · pod:NS/NAME ·
  ingress-controller:NAME · ingress:NS/NAME
Edges say where a packet may go next, with a `kind`:
  external→lb:IP (load balancer address), external→node:N (NodePort/hostPort on every node address),
  external→svc:S (externalIPs), lb:IP→node:N (the LB's backend nodes; with externalTrafficPolicy Local only
  nodes with a local endpoint: healthCheckNodePort), kube-proxy→lb:IP→svc:S (in-cluster capture of the LB address),
  pod:P→node:N and node:N→pod:P (a pod sits on its node), pod:P→kube-proxy and node:N→kube-proxy (netfilter
  on the sending node), pod:P→pod-network and node:N↔pod-network (the CNI routes between nodes),
  node:N→external (leaving the cluster), kube-proxy→svc:S (every proxied service; headless services hang off
  pod-network), svc:S→pod:Q (endpoints) and svc:S→node:M (the endpoint's node), svc:S→external (endpoints
  outside the pod network, ExternalName), svc:S→ingress-controller:C (the controller's own Service),
  pod:Q→ingress-controller:C (its data-plane pods), ingress-controller:C→ingress:I→svc:S (routing).
Size is linear in pods + endpoints + nodes·LBs: no pod×service edges (kube-proxy is one shared vertex,
because every node programs every service identically).

`hop_walk(hops)` maps a trace path's hops onto vertices; `walk_is_valid(G, walk)` checks that consecutive
vertices are joined by an edge or by one implicit relay (e.g. pod→kube-proxy→svc when the hops name only
the pod and the service).
"""
from __future__ import annotations

import weakref

import networkx as nx

from .cluster import ClusterModel
from .kubeproxy import proxy_skip_reason

_GRAPHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def forwarding_graph(model: ClusterModel) -> nx.DiGraph:
    """The model's forwarding graph (built on first use, then cached while the model lives)."""
    g = _GRAPHS.get(model)
    if g is None:
        g = _GRAPHS[model] = build_graph(model)
    return g


def build_graph(model: ClusterModel) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_node("external", kind="external")
    g.add_node("kube-proxy", kind="kube-proxy")
    g.add_node("pod-network", kind="pod-network")
    edges = []
    ready_nodes = [n.name for n in model.ready_nodes()]
    for name, node in model.nodes.items():
        nid = f"node:{name}"
        g.add_node(nid, kind="node", ips=node.ips, zone=node.zone, ready=node.ready)
        edges += [("external", nid, "node-port"), (nid, "kube-proxy", "netfilter"),
                  (nid, "pod-network", "route"), ("pod-network", nid, "route"), (nid, "external", "masquerade")]
    g.add_nodes_from((f"pod:{p.namespace}/{p.name}", {"kind": "pod", "namespace": p.namespace, "ip": p.ip,
                                                       "node": p.node_name}) for p in model.objects.pods)
    for pod in model.objects.pods:
        pid = f"pod:{pod.namespace}/{pod.name}"
        if pod.node_name:
            nid = f"node:{pod.node_name}"
            edges += [(pid, nid, "send"), (nid, pid, "deliver")]
        edges += [(pid, "kube-proxy", "netfilter"), (pid, "pod-network", "send")]
    for svc in model.objects.services:
        sid = f"svc:{svc.key}"
        g.add_node(sid, kind="service", type=svc.type, namespace=svc.namespace)
        if svc.type == "ExternalName":
            edges.append((sid, "external", "cname"))
            continue
        if proxy_skip_reason(svc) is None:
            edges.append(("kube-proxy", sid, "vip"))
        elif svc.headless:
            edges.append(("pod-network", sid, "headless"))  # no VIP: the name resolves to endpoint IPs
        for _ip in svc.external_ips:
            edges.append(("external", sid, "external-ip"))
        local_nodes = None
        if svc.external_traffic_policy == "Local":
            local_nodes = set()
        for sl in model.slices_by_service.get(svc.key, ()):
            for ep in sl.endpoints:
                if not ep.addresses:
                    continue
                pod = None
                if ep.target_name:
                    pod = model.pods.get(f"{ep.target_namespace or svc.namespace}/{ep.target_name}")
                pod = pod or model.pod_by_ip.get(ep.addresses[0])
                edges.append((sid, f"pod:{pod.key}" if pod else "external", "endpoint"))
                node_name = ep.node_name or (pod.node_name if pod else "")
                if node_name:
                    edges.append((sid, f"node:{node_name}", "dnat-route"))
                if local_nodes is not None and ep.node_name and ep.ready is not False:
                    local_nodes.add(ep.node_name)
        for ing in svc.lb_ingress:
            if not ing.ip:
                continue
            lid = f"lb:{ing.ip}"
            g.add_node(lid, kind="load-balancer", service=svc.key)
            edges += [("external", lid, "address"), ("kube-proxy", lid, "capture"), (lid, sid, "capture")]
            targets = sorted(local_nodes) if local_nodes is not None else ready_nodes
            edges += [(lid, f"node:{n}", "backend") for n in targets]
    _add_ingress(model, g, edges, ready_nodes)
    unique: dict[tuple[str, str], str] = {}
    for u, v, kind in edges:
        unique.setdefault((u, v), kind)
    g.add_edges_from((u, v, {"kind": kind}) for (u, v), kind in unique.items())  # bulk: ~3x faster
    return g


def _add_ingress(model: ClusterModel, g: nx.DiGraph, edges: list, ready_nodes: list[str]) -> None:
    try:
        from .ingress import all_controllers, ingresses_for_controller
    except ImportError:  # the ingress engine is optional for the graph
        return
    for ctrl in all_controllers(model):
        cid = f"ingress-controller:{ctrl.name}"
        g.add_node(cid, kind="ingress-controller", controller=ctrl.kind, cloud=ctrl.cloud_managed)
        for pod in ctrl.pods:
            edges.append((f"pod:{pod.key}", cid, "controller"))
        for svc in ctrl.services:
            edges.append((f"svc:{svc.key}", cid, "controller"))
        if ctrl.cloud_managed:  # the cloud LB routes itself and sends to node ports (or pod IPs: NEG)
            edges.append(("external", cid, "cloud-load-balancer"))
            edges += [(cid, f"node:{n}", "backend") for n in ready_nodes]
        for ing in ingresses_for_controller(model, ctrl):
            iid = f"ingress:{ing.key}"
            g.add_node(iid, kind="ingress")
            edges.append((cid, iid, "route"))
            backends = [p.backend for r in ing.rules for p in r.paths]
            if ing.default_backend:
                backends.append(ing.default_backend)
            for b in backends:
                if b.service_name:
                    edges.append((iid, f"svc:{ing.namespace}/{b.service_name}", "backend"))


# -- trace paths on the graph -------------------------------------------------------------------------------

def hop_vertex(kind: str, ident: str) -> str | None:
    """The graph vertex a hop stands on (None for hops that are decisions, not places)."""
    if kind in ("network-policy", "dns", "kube-proxy", "ingress-rule"):
        return None  # decisions taken at the current vertex (kube-proxy's rules belong to the service)
    if ident.startswith("external:") or ident.startswith("ip:") or ident.startswith("url:"):
        return "external"
    for prefix in ("pod:", "node:", "svc:", "lb:", "ingress-controller:", "ingress:"):
        if ident.startswith(prefix):
            return ident
    return None


def hop_walk(hops) -> list[str]:
    walk: list[str] = []
    for h in hops:
        kind, ident = (h.kind, h.id) if hasattr(h, "kind") else (h["kind"], h["id"])
        v = hop_vertex(kind, ident)
        if v and (not walk or walk[-1] != v):
            walk.append(v)
    return walk


def walk_is_valid(g: nx.DiGraph, walk: list[str]) -> tuple[bool, str]:
    """Every consecutive pair is an edge, or two edges through one relay vertex."""
    for u, v in zip(walk, walk[1:], strict=False):
        if u not in g or v not in g:
            return False, f"{u if u not in g else v} is not in the graph"
        if g.has_edge(u, v):
            continue
        if any(g.has_edge(w, v) for w in g.successors(u)):
            continue
        return False, f"no edge (or relay) {u} → {v}"
    return True, ""
