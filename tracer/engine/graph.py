"""The forwarding graph of one snapshot: where a packet may go next. The one place that says what can follow what.

Vertices (kind, key) with string ids (`vertex_id`), the same vocabulary as the hops' references:
  external · kube-proxy · pod-network · node:NAME · pod:NS/NAME · svc:NS/NAME · lb:IP ·
  ingress-controller:NAME · ingress:NS/NAME · gateway:NS/NAME
Each vertex kind has ONE successor function in `SUCCESSORS` (kind → fn(model, key) → [(kind, key, edge kind)]):
  external → lb:IP (address), node:N (node-port), svc:S (external-ip), ingress-controller:C (cloud-load-balancer)
  node:N → kube-proxy (netfilter), pod-network (route), external (masquerade), pod:P on it (deliver)
  pod:P → node:N (send), kube-proxy (netfilter), pod-network (send), ingress-controller:C (its data-plane pods)
  pod-network → node:N (route), svc:S (headless: the name resolves to endpoint IPs)
  kube-proxy → svc:S (vip: every proxied service), lb:IP (capture of the LB address inside the cluster)
  svc:S → pod:Q / external (endpoint), node:M (dnat-route: the endpoint's node), external (cname: ExternalName),
          ingress-controller:C (the controller's own Service)
  lb:IP → svc:S (capture), node:N (backend: traffic_policy.lb_backend_nodes — externalTrafficPolicy lives there)
  ingress-controller:C → ingress:I (route), node:N (backend, cloud load balancers)
  ingress:I → svc:S (backend)
  external → gateway:G (listener: entered directly, K7); pod:P → gateway:G (data-plane pods); gateway:G → svc:S
          (backend: every Service its attached routes name — Gateway API, Istio, controllers' own routes)
Decisions stay in their modules (traffic_policy, kubeproxy, loadbalancer, ingress, netpol, dns_query): this module
only calls them to know which edges exist.

Two views of the same edges:
- `adjacency(model)`: successors computed per vertex on first use and cached — what a trace walks (the per-flow
  part of the graph: a trace touches a handful of vertices, never the whole cluster);
- `forwarding_graph(model)`: every vertex's successors as one networkx DiGraph (cached) — what the map draws
  (topology/elements.py) and what tests check trace paths against (`path_of`, `is_path`). Each vertex's
  attributes hold its `kind` and `key` (the typed vertex), so no reader parses an id.
Size is linear in pods + endpoints + nodes·LBs: no pod×service edges (kube-proxy is one shared vertex, because
every node programs every service identically).

Adding a vertex kind: write its successor function, add it to `SUCCESSORS` (and its vertices to `_vertices`),
and give the hop reference kind that stands on it a line in `REF_VERTEX`.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable

import networkx as nx

from .cluster import ClusterModel
from .gateway import gateway_view
from .gateway_trace import data_plane
from .ingress import all_controllers, ingresses_for_controller
from .kubeproxy import endpoint_pod, proxy_skip_reason
from .result import Ref
from .traffic_policy import lb_backend_nodes

SINGLETONS = ("external", "kube-proxy", "pod-network")
_PREFIX = {"node": "node", "pod": "pod", "service": "svc", "load-balancer": "lb",
           "ingress-controller": "ingress-controller", "ingress": "ingress", "gateway": "gateway"}
# hop reference kind → the vertex kind it stands on (None: decisions taken at the current vertex)
REF_VERTEX = {"pod": "pod", "node": "node", "service": "service", "load-balancer": "load-balancer",
              "ingress-controller": "ingress-controller", "ingress": "ingress", "external": "external",
              "ip": "external", "url": "external", "gateway": "gateway"}

Edge = tuple[str, str, str]  # (vertex kind, key, edge kind)


def vertex_id(kind: str, key: str = "") -> str:
    return kind if kind in SINGLETONS else f"{_PREFIX[kind]}:{key}"


def ref_vertex(ref: Ref) -> str | None:
    """The vertex a hop reference stands on; None for references that are decisions, not places."""
    kind = REF_VERTEX.get(ref.kind)
    if kind is None:
        return None
    if kind in SINGLETONS:
        return kind
    return vertex_id(kind, f"{ref.namespace}/{ref.name}" if ref.namespace else ref.name)


# -- per-model indexes the successor functions share ----------------------------------------------------------

class _Index:
    def __init__(self, model: ClusterModel):
        self.controllers = {c.name: c for c in all_controllers(model)}
        self.pod_controllers: dict[str, list[str]] = {}
        self.svc_controllers: dict[str, list[str]] = {}
        for c in self.controllers.values():
            for pod in c.pods:
                self.pod_controllers.setdefault(pod.key, []).append(c.name)
            for svc in c.services:
                self.svc_controllers.setdefault(svc.key, []).append(c.name)
        self.ready_nodes = [n.name for n in model.ready_nodes()]
        self.lb_services: dict[str, list] = {}  # LB address → its services (several may share one address)
        for svc in model.objects.services:
            for ing in svc.lb_ingress:
                if ing.ip:
                    self.lb_services.setdefault(ing.ip, []).append(svc)
        self.ingresses = {ing.key: ing for ing in model.ingresses}
        # Gateways (Gateway API, Istio, controllers' own routes) and the pods of their data planes (K7)
        self.gateways = gateway_view(model).gateways
        self.pod_gateways: dict[str, list[str]] = {}
        for key, gw in self.gateways.items():
            for pod in data_plane(model, gw)[1]:
                self.pod_gateways.setdefault(pod.key, []).append(key)


_INDEX: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _index(model: ClusterModel) -> _Index:
    ix = _INDEX.get(model)
    if ix is None:
        ix = _INDEX[model] = _Index(model)
    return ix


# -- successor functions: one per vertex kind --------------------------------------------------------------------

def _external(m: ClusterModel, _key: str) -> Iterable[Edge]:
    ix = _index(m)
    for ip in ix.lb_services:
        yield "load-balancer", ip, "address"
    for name in m.nodes:
        yield "node", name, "node-port"  # NodePort / hostPort on every node address
    for svc in m.objects.services:
        if svc.external_ips and svc.type != "ExternalName":
            yield "service", svc.key, "external-ip"
    for c in ix.controllers.values():
        if c.cloud_managed:  # the cloud LB routes itself and sends to node ports (or pod IPs: NEG)
            yield "ingress-controller", c.name, "cloud-load-balancer"
    for key in ix.gateways:  # a Gateway's listener entered directly when its data plane is not in the snapshot
        yield "gateway", key, "listener"


def _node(m: ClusterModel, name: str) -> Iterable[Edge]:
    yield "kube-proxy", "", "netfilter"
    yield "pod-network", "", "route"
    yield "external", "", "masquerade"
    for pod in m.pods_by_node.get(name, ()):
        yield "pod", pod.key, "deliver"


def _pod(m: ClusterModel, key: str) -> Iterable[Edge]:
    pod = m.pods.get(key)
    if pod is not None and pod.node_name:
        yield "node", pod.node_name, "send"
    yield "kube-proxy", "", "netfilter"
    yield "pod-network", "", "send"
    controllers = _index(m).pod_controllers
    if key in controllers:
        for c in controllers[key]:
            yield "ingress-controller", c, "controller"
    for gw in _index(m).pod_gateways.get(key, ()):
        yield "gateway", gw, "data-plane"


def _pod_network(m: ClusterModel, _key: str) -> Iterable[Edge]:
    for name in m.nodes:
        yield "node", name, "route"
    for svc in m.objects.services:
        if svc.type != "ExternalName" and svc.headless and proxy_skip_reason(svc) is not None:
            yield "service", svc.key, "headless"


def _kube_proxy(m: ClusterModel, _key: str) -> Iterable[Edge]:
    for svc in m.objects.services:
        if svc.type != "ExternalName" and proxy_skip_reason(svc) is None:
            yield "service", svc.key, "vip"
    for ip in _index(m).lb_services:
        yield "load-balancer", ip, "capture"


def _service(m: ClusterModel, key: str) -> Iterable[Edge]:
    svc = m.services.get(key)
    if svc is None:
        return
    if svc.type == "ExternalName":
        yield "external", "", "cname"
        return
    for sl in m.slices_by_service.get(key, ()):
        for ep in sl.endpoints:
            if not ep.addresses:
                continue
            pod = endpoint_pod(m, ep, ep.addresses[0])  # the pod kube-proxy sends to (A7)
            yield ("pod", pod.key, "endpoint") if pod else ("external", "", "endpoint")
            node_name = ep.node_name or (pod.node_name if pod else "")
            if node_name:
                yield "node", node_name, "dnat-route"
    for c in _index(m).svc_controllers.get(key, ()):
        yield "ingress-controller", c, "controller"


def _load_balancer(m: ClusterModel, ip: str) -> Iterable[Edge]:
    for svc in _index(m).lb_services.get(ip, ()):
        yield "service", svc.key, "capture"
        for n in lb_backend_nodes(m, svc):
            yield "node", n, "backend"


def _ingress_controller(m: ClusterModel, name: str) -> Iterable[Edge]:
    ctrl = _index(m).controllers.get(name)
    if ctrl is None:
        return
    if ctrl.cloud_managed:
        for n in _index(m).ready_nodes:
            yield "node", n, "backend"
    for ing in ingresses_for_controller(m, ctrl):
        yield "ingress", ing.key, "route"


def _ingress(m: ClusterModel, key: str) -> Iterable[Edge]:
    ing = _index(m).ingresses.get(key)
    if ing is None:
        return
    backends = [p.backend for r in ing.rules for p in r.paths]
    if ing.default_backend:
        backends.append(ing.default_backend)
    for b in backends:
        if b.service_name:
            yield "service", f"{ing.namespace}/{b.service_name}", "backend"


def _gateway(m: ClusterModel, key: str) -> Iterable[Edge]:
    """A Gateway proxies to the Services its attached routes name (K4), whichever rule a request picks."""
    view = gateway_view(m)
    gw = view.gateways.get(key)
    if gw is None:
        return
    for lst in gw.listeners:
        for att in view.attached(lst):
            for rule in att.route.spec.get("rules", []):
                for ref in rule.get("backendRefs", []):
                    if ref.get("kind", "Service") == "Service":
                        yield "service", f"{ref.get('namespace') or att.route.namespace}/{ref['name']}", "backend"


SUCCESSORS: dict[str, Callable[[ClusterModel, str], Iterable[Edge]]] = {
    "external": _external, "node": _node, "pod": _pod, "pod-network": _pod_network, "kube-proxy": _kube_proxy,
    "service": _service, "load-balancer": _load_balancer, "ingress-controller": _ingress_controller,
    "ingress": _ingress, "gateway": _gateway,
}


def _vertices(m: ClusterModel) -> Iterable[tuple[str, str, dict]]:
    """Every vertex of the full graph, with the attributes the map reads."""
    for kind in SINGLETONS:
        yield kind, "", {"kind": kind}
    for name, node in m.nodes.items():
        yield "node", name, {"kind": "node", "ips": node.ips, "zone": node.zone, "ready": node.ready}
    for p in m.objects.pods:
        yield "pod", p.key, {"kind": "pod", "namespace": p.namespace, "ip": p.ip, "node": p.node_name}
    for svc in m.objects.services:
        yield "service", svc.key, {"kind": "service", "type": svc.type, "namespace": svc.namespace}
    for ip, services in _index(m).lb_services.items():
        yield "load-balancer", ip, {"kind": "load-balancer", "service": services[-1].key}
    for c in _index(m).controllers.values():
        yield "ingress-controller", c.name, {"kind": "ingress-controller", "controller": c.kind,
                                             "cloud": c.cloud_managed}
        for ing in ingresses_for_controller(m, c):
            yield "ingress", ing.key, {"kind": "ingress"}
    for key, gw in _index(m).gateways.items():
        yield "gateway", key, {"kind": "gateway", "implementation": gw.implementation, "object": gw.obj.kind}


# -- the trace's view: successors on demand ----------------------------------------------------------------------

class Adjacency:
    """Successors of a vertex, computed by its SUCCESSORS function on first use, then kept (per model)."""

    def __init__(self, model: ClusterModel):
        self.model = model
        self._succ: dict[tuple[str, str], dict[str, tuple[str, str, str]]] = {}
        self._next: dict[tuple[str, str, str], list[str]] = {}

    def successors(self, kind: str, key: str = "") -> dict[str, tuple[str, str, str]]:
        """vertex id → (kind, key, edge kind) of every vertex one edge away (first edge kind wins)."""
        got = self._succ.get((kind, key))
        if got is None:
            got = {}
            for k2, key2, edge in SUCCESSORS[kind](self.model, key):
                got.setdefault(vertex_id(k2, key2), (k2, key2, edge))
            self._succ[(kind, key)] = got
        return got

    def reaches(self, kind: str, key: str, to_kind: str, to_key: str = "") -> bool:
        """Whether one edge leads from vertex (kind, key) to vertex (to_kind, to_key)."""
        return vertex_id(to_kind, to_key) in self.successors(kind, key)

    def next(self, kind: str, key: str, edge: str) -> list[str]:
        """Keys of the successors reached over edges of kind `edge`, in the successor function's order."""
        got = self._next.get((kind, key, edge))
        if got is None:
            got = self._next[(kind, key, edge)] = [k2 for (_k, k2, e) in self.successors(kind, key).values()
                                                  if e == edge]
        return got


_ADJ: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_GRAPHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def adjacency(model: ClusterModel) -> Adjacency:
    adj = _ADJ.get(model)
    if adj is None:
        adj = _ADJ[model] = Adjacency(model)
    return adj


def forwarding_graph(model: ClusterModel) -> nx.DiGraph:
    """The model's whole forwarding graph (built on first use, then cached while the model lives)."""
    g = _GRAPHS.get(model)
    if g is None:
        g = _GRAPHS[model] = build_graph(model)
    return g


def build_graph(model: ClusterModel) -> nx.DiGraph:
    """Every vertex's successors (the same SUCCESSORS the walk reads), as one networkx graph."""
    g = nx.DiGraph()
    vertices = list(_vertices(model))
    # every vertex carries its typed identity (kind, key): readers never parse the id string
    g.add_nodes_from((vertex_id(kind, key), {**attrs, "key": key}) for kind, key, attrs in vertices)
    edges: dict[tuple[str, str], str] = {}
    add = edges.setdefault  # first edge kind wins, as in Adjacency.successors
    prefix, singletons = _PREFIX, SINGLETONS
    for kind, key, _attrs in vertices:
        u = kind if kind in singletons else f"{prefix[kind]}:{key}"
        for k2, key2, e in SUCCESSORS[kind](model, key):
            add((u, k2 if k2 in singletons else f"{prefix[k2]}:{key2}"), e)
    g.add_edges_from((u, v, {"kind": e}) for (u, v), e in edges.items())  # bulk: ~3x faster than one by one
    return g


# -- trace paths on the graph ------------------------------------------------------------------------------------

# hops that record a decision taken at the current vertex (the policy, the DNS answer, kube-proxy's rule, the
# Ingress rule chosen): they name the object that decided, not a place the packet goes to
DECISION_HOPS = frozenset({"network-policy", "dns", "kube-proxy", "ingress-rule", "route"})


def path_of(hops) -> list[str]:
    """The vertices a path's hops stand on, in order (consecutive repeats merged)."""
    walk: list[str] = []
    for h in hops:
        v = None if h.kind in DECISION_HOPS else ref_vertex(h.ref)
        if v and (not walk or walk[-1] != v):
            walk.append(v)
    return walk


def is_path(g: nx.DiGraph, walk: list[str]) -> tuple[bool, str]:
    """Every consecutive pair is an edge of `g`, or two edges through one relay vertex (e.g. pod → kube-proxy →
    svc when the hops name only the pod and the service: kube-proxy's decision is a hop on no vertex)."""
    for u, v in zip(walk, walk[1:], strict=False):
        if u not in g or v not in g:
            return False, f"{u if u not in g else v} is not in the graph"
        if g.has_edge(u, v):
            continue
        if any(g.has_edge(w, v) for w in g.successors(u)):
            continue
        return False, f"no edge (or relay) {u} → {v}"
    return True, ""
