"""The graph the browser draws: cytoscape elements with server-computed, layered positions.

Why on the server: a 5,000-node / 150,000-pod snapshot cannot be sent to a browser and laid out there.
The server aggregates (namespace → workload → pod, and all nodes into one element when there are
many), expands only what the user asked for (`expand`), filters, positions every element in its
layer, and caps the payload — saying so when it did.

Layers, top to bottom, follow a packet from outside in:
    external → load balancers / ingresses → nodes → kube-proxy → services → pods
Edges are the engine's forwarding graph (`tracer.engine.graph.forwarding_graph`, the same one traces
are checked against) projected onto the drawn elements: client → LB address / NodePort / controller,
LB → its backend nodes, node → kube-proxy, kube-proxy → service VIP, controller → Ingress → backend
service, service → its endpoints. An edge between two aggregated vertices becomes one edge with a
`count`.

Element ids are the graph's vertex ids where one element is one vertex (`pod:NS/NAME`,
`svc:NS/NAME`, `node:NAME`, `lb:IP`, `ingress:NS/NAME`, `ingress-controller:NAME`, `kube-proxy`,
`external`) and otherwise stable aggregate ids (`workload:NS/KIND/NAME`, `ns:NS`, `services:NS`,
`nodes`); an aggregate carries the `expand` token that opens it.
"""
from __future__ import annotations

import weakref
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass, field

from tracer.engine.cluster import ClusterModel
from tracer.engine.graph import forwarding_graph
from tracer.engine.model import Pod, Service

LAYERS = ("external", "edge", "node", "kube-proxy", "service", "pod")
LAYER_GAP = 180  # vertical distance between layers
ROW_GAP = 70  # between wrapped rows inside a layer
COL_GAP = 150  # between elements in a row
ROW_WIDTH = 40  # elements per row before wrapping
NODE_AGGREGATE_ABOVE = 30  # more nodes than this draw as one "nodes" element unless expanded
DEFAULT_LIMIT = 1000
# forwarding_graph edge kinds drawn (see tracer.engine.graph); node→kube-proxy "netfilter" stands for all.
DRAWN_EDGES = {"address", "node-port", "backend", "netfilter", "vip", "capture", "endpoint", "external-ip", "cname",
               "controller", "route", "cloud-load-balancer", "listener"}
MAX_LIMIT = 5000


@dataclass
class Filters:
    namespaces: tuple[str, ...] = ()
    label: tuple[str, str | None] | None = None  # (key, value) or (key, None) for "has key"
    name: str = ""
    expand: frozenset[str] = frozenset()
    limit: int = DEFAULT_LIMIT

    @staticmethod
    def parse_label(text: str) -> tuple[str, str | None] | None:
        text = (text or "").strip()
        if not text:
            return None
        key, sep, value = text.partition("=")
        return (key.strip(), value.strip() if sep else None)


@dataclass
class _Graph:
    nodes: dict[str, dict] = field(default_factory=dict)
    edges: dict[tuple[str, str], dict] = field(default_factory=dict)

    def node(self, id_: str, layer: str, label: str, kind: str, **data) -> str:
        if id_ not in self.nodes:
            self.nodes[id_] = {"id": id_, "label": label, "kind": kind, "layer": layer, **data}
        return id_

    def edge(self, src: str, dst: str, kind: str) -> None:
        key = (src, dst)
        if key in self.edges:
            self.edges[key]["count"] += 1
        else:
            self.edges[key] = {"id": f"{src}->{dst}", "source": src, "target": dst, "kind": kind, "count": 1}


def _pod_matches(pod: Pod, f: Filters) -> bool:
    if f.namespaces and pod.namespace not in f.namespaces:
        return False
    if f.label:
        key, value = f.label
        if key not in pod.labels or (value is not None and pod.labels[key] != value):
            return False
    if f.name and f.name not in pod.name and f.name not in pod.workload_name:
        return False
    return True


def _service_matches(svc: Service, f: Filters) -> bool:
    if f.namespaces and svc.namespace not in f.namespaces:
        return False
    if f.label:
        key, value = f.label
        labels = {**(svc.selector or {}), **svc.labels}
        if key not in labels or (value is not None and labels[key] != value):
            return False
    if f.name and f.name not in svc.name:
        return False
    return True


_MEMO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MEMO_PER_MODEL = 8


def topology_elements(model: ClusterModel, filters: Filters | None = None) -> dict:
    """Cytoscape-ready elements for one snapshot; see the module docstring for the layers.

    Memoised per model and filters (a few views per model): a snapshot's model never changes, and at
    150,000 pods building the first, unfiltered view costs seconds that every visitor would otherwise
    pay again (docs/performance.md). Callers get a fresh top-level dict; nested parts are shared and
    must not be mutated.
    """
    f = filters or Filters()
    key = (f.namespaces, f.label, f.name, f.expand, f.limit)
    memo = _MEMO.get(model)
    if memo is None:
        memo = _MEMO[model] = OrderedDict()
    hit = memo.get(key)
    if hit is None:
        hit = memo[key] = _topology_elements(model, f)
        while len(memo) > _MEMO_PER_MODEL:
            memo.popitem(last=False)
    else:
        memo.move_to_end(key)
    return dict(hit)


def _topology_elements(model: ClusterModel, f: Filters) -> dict:
    expand_all = "all" in f.expand
    expanded_ns = set(f.namespaces) | {t[3:] for t in f.expand if t.startswith("ns:")}
    g = _Graph()

    def ns_open(ns: str) -> bool:
        return expand_all or ns in expanded_ns

    # --- pods: namespace → workload → pod --------------------------------------------------------
    pods = [p for p in model.objects.pods if _pod_matches(p, f)]
    pod_element: dict[str, str] = {}  # pod key → id of the element that draws it
    ns_counts = Counter(p.namespace for p in pods)
    wl_counts = Counter((p.namespace, p.workload_kind, p.workload_name) for p in pods if p.workload_kind)
    closed_ns: dict[str, str] = {}  # namespace drawn as one element → its id (most pods take this path)
    for pod in pods:
        ns_id = closed_ns.get(pod.namespace)
        if ns_id is not None:
            pod_element[pod.key] = ns_id
            continue
        if not ns_open(pod.namespace):
            pod_element[pod.key] = closed_ns[pod.namespace] = g.node(
                f"ns:{pod.namespace}", "pod", pod.namespace, "namespace", namespace=pod.namespace,
                count=ns_counts[pod.namespace], expand=f"ns:{pod.namespace}")
            continue
        if pod.workload_kind:
            wl_id = f"workload:{pod.namespace}/{pod.workload_kind}/{pod.workload_name}"
            if not (expand_all or wl_id in f.expand):
                key = (pod.namespace, pod.workload_kind, pod.workload_name)
                pod_element[pod.key] = g.node(wl_id, "pod", pod.workload_name, "workload",
                                              namespace=pod.namespace, workload_kind=pod.workload_kind,
                                              count=wl_counts[key], expand=wl_id)
                continue
        pod_element[pod.key] = g.node(f"pod:{pod.key}", "pod", pod.name, "pod", namespace=pod.namespace,
                                      ip=pod.ip or "", node=pod.node_name, phase=pod.phase, ready=pod.ready,
                                      ref=f"pod:{pod.key}")

    # --- services ----------------------------------------------------------------------------------
    services = [s for s in model.objects.services if _service_matches(s, f)]
    svc_ns_counts = Counter(s.namespace for s in services)
    svc_element: dict[str, str] = {}
    for svc in services:
        if ns_open(svc.namespace):
            svc_element[svc.key] = g.node(f"svc:{svc.key}", "service", svc.name, "service",
                                          namespace=svc.namespace, type=svc.type,
                                          cluster_ip=svc.cluster_ip or "", ref=f"svc:{svc.key}")
        else:
            svc_element[svc.key] = g.node(f"services:{svc.namespace}", "service",
                                          f"{svc.namespace} services", "service-group", namespace=svc.namespace,
                                          count=svc_ns_counts[svc.namespace], expand=f"ns:{svc.namespace}")

    # --- nodes, kube-proxy ------------------------------------------------------------------------------
    display: dict[str, str] = {f"pod:{k}": v for k, v in pod_element.items()}  # graph vertex → element
    display.update({f"svc:{k}": v for k, v in svc_element.items()})
    node_names = sorted(model.nodes)
    nodes_open = expand_all or "nodes" in f.expand or len(node_names) <= NODE_AGGREGATE_ABOVE
    for name in node_names:
        node = model.nodes[name]
        if nodes_open:
            display[f"node:{name}"] = g.node(f"node:{name}", "node", name, "node", ip=node.internal_ip or "",
                                             ready=node.ready, zone=node.zone, ref=f"node:{name}")
        else:
            display[f"node:{name}"] = g.node("nodes", "node", f"{len(node_names)} nodes", "node-group",
                                             count=len(node_names), expand="nodes")
    if node_names:
        display["kube-proxy"] = g.node("kube-proxy", "kube-proxy", "kube-proxy (every node)", "kube-proxy")

    # --- the edge layer, from the engine's forwarding graph -----------------------------------------------
    graph = forwarding_graph(model)
    ingress_by_key = {i.key: i for i in model.ingresses}
    for vertex, data in graph.nodes(data=True):
        kind, key = data.get("kind"), data.get("key", "")  # the typed vertex (graph.py), never the id parsed
        if kind == "load-balancer" and data.get("service") in svc_element:
            ns = data["service"].split("/")[0]
            display[vertex] = g.node(vertex, "edge", key, "load-balancer", namespace=ns,
                                     service=data["service"])
        elif kind == "ingress-controller":
            display[vertex] = g.node(vertex, "edge", key, "ingress-controller",
                                     controller=data.get("controller", ""))
        elif kind == "ingress":
            ns, _, name = key.partition("/")
            if f.namespaces and ns not in f.namespaces:
                continue
            ing = ingress_by_key.get(f"{ns}/{name}")
            hosts = sorted({r.host for r in ing.rules if r.host}) if ing else []
            display[vertex] = g.node(vertex, "edge", ", ".join(hosts) or name, "ingress", namespace=ns,
                                     ref=vertex)
        elif kind == "gateway":  # a Gateway API (or controller) gateway, drawn where Ingresses are (issue 14)
            ns, _, name = key.partition("/")
            if f.namespaces and ns not in f.namespaces:
                continue
            display[vertex] = g.node(vertex, "edge", name, "gateway", namespace=ns, ref=vertex,
                                     implementation=data.get("implementation", ""))

    # Edges worth drawing: the way in (external → LB/node/controller → …) and service → endpoints. Per-pod
    # plumbing (pod → node, pod → kube-proxy, the pod network, SNAT on the way out) would only add noise.
    vkind = dict(graph.nodes.data("kind"))  # vertex → its kind
    sources = [v for v in display if vkind.get(v) != "pod"] + ["external"]
    sources += [u for c, k in vkind.items() if k == "ingress-controller" for u in graph.predecessors(c)
                if vkind[u] == "pod"]
    for u in sources:
        if u not in graph:
            continue
        for v, edge_data in graph.adj[u].items():  # = out_edges(u, data="kind"), without the view overhead
            kind = edge_data.get("kind")
            if kind not in DRAWN_EDGES or (kind == "capture" and u == "kube-proxy") or \
                    (kind == "netfilter" and vkind.get(u) != "node"):
                continue
            a = display.get(u) or (g.node("external", "external", "clients outside the cluster", "external")
                                   if u == "external" else None)
            b = display.get(v) or (g.node("external", "external", "clients outside the cluster", "external")
                                   if v == "external" else None)
            if a and b and a != b:
                g.edge(a, b, kind)

    out = _layout(g, f, total_pods=len(pods), total_services=len(services))
    # Every namespace of the snapshot (not only the drawn ones), for the UI's namespace filter.
    out["namespaces"] = sorted(set(model.namespaces) | set(model.pods_by_namespace) | set(model.services_by_namespace))
    return out


def _layout(g: _Graph, f: Filters, *, total_pods: int, total_services: int) -> dict:
    """Positions per layer (wrapped rows, centred), then the element cap."""
    by_layer: dict[str, list[dict]] = defaultdict(list)
    for node in g.nodes.values():
        by_layer[node["layer"]].append(node)
    limit = max(1, min(int(f.limit or DEFAULT_LIMIT), MAX_LIMIT))
    kept: list[dict] = []
    y = 0
    layers = []
    truncated = False
    for layer in LAYERS:
        items = sorted(by_layer.get(layer, []), key=lambda n: (n.get("namespace", ""), n["kind"], n["label"]))
        room = limit - len(kept)
        if len(items) > room:
            truncated = True
            items = items[:max(room, 0)]
        rows = max(1, -(-len(items) // ROW_WIDTH))
        layers.append({"name": layer, "y": y, "count": len(items)})
        for i, node in enumerate(items):
            row, col = divmod(i, ROW_WIDTH)
            in_row = min(ROW_WIDTH, len(items) - row * ROW_WIDTH)
            node["position"] = {"x": (col - (in_row - 1) / 2) * COL_GAP, "y": y + row * ROW_GAP}
            kept.append(node)
        y += LAYER_GAP + (rows - 1) * ROW_GAP
    ids = {n["id"] for n in kept}
    edges = [e for e in g.edges.values() if e["source"] in ids and e["target"] in ids]
    return {
        "elements": {
            "nodes": [{"data": {k: v for k, v in n.items() if k != "position"}, "position": n["position"]}
                      for n in kept],
            "edges": [{"data": e} for e in edges],
        },
        "layers": layers,
        "truncated": truncated,
        "message": (f"Showing {len(kept)} of {len(g.nodes)} elements (limit {limit}): filter by namespace, "
                    "label or name, or expand less." if truncated else ""),
        "limit": limit,
        "total": {"elements": len(g.nodes), "pods": total_pods, "services": total_services},
    }
