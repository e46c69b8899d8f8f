"""`trace(model, flow, assumptions) -> TraceResult`: every path a packet can take, hop by hop.

The walk follows the forwarding graph (graph.py: the one place that says what can follow what) from the source
to every endpoint a packet can reach:
  source → [DNS query + answer] → address → (pod | ClusterIP | NodePort | LB | externalIP | Ingress | internet)
  → kube-proxy endpoint choice (probability 1/n each) → NetworkPolicy egress at the source, ingress at the
  destination, both AFTER DNAT (E10) → endpoint.
At each vertex a decision module says which edges this flow takes — kubeproxy (A), traffic_policy (A15/A16, also
the graph's lb → node edges), loadbalancer (A10, spreading), dns / dns_query (B), ingress (D), netpol (E) — and the
walk records the decision as a hop. No rule is encoded here or in the walk's mixins: they only call.
The candidates come from the graph's edges (`self.graph`, graph.adjacency): a Service's endpoints (svc → pod /
external, `endpoints`), the services kube-proxy serves (kube-proxy → svc), a node's pods (node → pod,
`delivered_on`), an LB address (external / kube-proxy → lb, lb → svc, lb → node), an externalIP (external → svc),
a pod source's node (pod → node), the default NodePort entry node (external → node), the Ingresses a controller
serves and the Services they reach (ingress-controller → ingress → svc, passed to ingress.find_entry /
route_request as `Candidates`) and a Gateway's backend Services (gateway → svc, passed to gateway_routing.decide);
the decisions then filter and rank them (port, readiness, traffic policy, topology, spreading, Host/path rules).
Each branch carries its probability; a drop ends the branch with a reason code and a hop naming the object and
field to change. Lookups go through `ClusterModel` indexes only (no scans of all pods/services).

The walk is split by concern into mixins of `_Tracer`: trace_entry (addresses, outside entries), trace_proxy
(kube-proxy → endpoint under NetworkPolicy), trace_names (DNS names, headless services), trace_ingress (url:).

Extending it (vertex kinds: see graph.py's docstring):
- a new entry kind (e.g. a Gateway): a function (tracer, src, hops, prob, dest) -> list[Path] | None registered
  with `add_entry`; it is tried before the built-in destinations and returns None when the flow is not its own.
  It may call the walk's steps (tracer.to_ip, tracer.to_endpoint, tracer.drop, tracer.deliver, ...).
- a new decision: a pure function in its own module, called from the step that reaches its vertex.
"""
from __future__ import annotations

from collections.abc import Callable

from . import kubeproxy as kp
from .assumptions import Assumptions
from .cluster import ClusterModel
from .errors import BadRequest
from .flow import Flow
from .gateway_trace import gateway_entry
from .graph import adjacency
from .model import Pod, Service
from .netpol import policy_engine
from .pod_readiness import why_not_ready
from .result import DELIVERED, DROPPED, Hop, Path, Ref, TraceResult
from .trace_entry import EntryWalk
from .trace_ingress import IngressWalk
from .trace_local import local_entry
from .trace_names import NameWalk
from .trace_proxy import ProxyWalk
from .trace_published import published_address_entry
from .trace_state import Source, extra_indexes
from .trace_storage import volume_entry

__all__ = ["trace", "Flow", "Assumptions", "add_entry", "ENTRIES"]

Entry = Callable[..., "list[Path] | None"]
ENTRIES: list[Entry] = []


def add_entry(fn: Entry) -> Entry:
    """Register an entry kind: fn(tracer, src, hops, prob, dest) → paths, or None when the flow is not its own."""
    if fn not in ENTRIES:
        ENTRIES.append(fn)
    return fn


add_entry(local_entry)  # loopback and /etc/hosts names from a pod, loopback of a node (H1, H2)
add_entry(volume_entry)  # volume:NAME — the storage path of a volume of the source pod (I1, I2)
add_entry(published_address_entry)  # ip: an address an Ingress publishes in its status (D9)


add_entry(gateway_entry)  # Gateway API, Istio and the controllers' own routes (gateway_trace.py, K7)


def trace(model: ClusterModel, flow: Flow, assumptions: Assumptions | None = None) -> TraceResult:
    """Trace `flow` through `model`. Raises BadRequest for an unknown pod/service/workload/node."""
    return _Tracer(model, flow, assumptions or Assumptions()).run()


class _Tracer(EntryWalk, ProxyWalk, NameWalk, IngressWalk):
    def __init__(self, model: ClusterModel, flow: Flow, assumptions: Assumptions):
        self.m = model
        self.flow = flow
        self.a = assumptions
        self.proto = flow.protocol or "TCP"
        self.port = flow.port
        self.via = flow.via_addr
        self.notes: list[str] = list(assumptions.describe())
        self.pe = policy_engine(model, enforced=assumptions.cni_enforces_policy)
        self.ex = extra_indexes(model)
        self.graph = adjacency(model)  # the forwarding graph's successors, computed as the walk reaches vertices
        self._decisions: dict = {}
        self.excluded: dict[tuple, dict] = {}  # (service, endpoint) → why kube-proxy left it out

    # -- entry -------------------------------------------------------------------------------------

    def run(self) -> TraceResult:
        dest = self.flow.dst
        sources = self.sources()
        self.validate_destination(dest)
        paths: list[Path] = []
        for src in sources:
            paths.extend(self.trace_from(src, dest))
        result = TraceResult.from_paths(paths, self.notes, request=self.flow.to_dict())
        result.excluded_endpoints = list(self.excluded.values())
        return result

    def sources(self) -> list[Source]:
        ep = self.flow.src
        m = self.m
        if ep.kind == "pod":
            pod = m.pods.get(f"{ep.parts[0]}/{ep.parts[1]}")
            if pod is None:
                raise BadRequest(f"unknown pod {ep.parts[0]}/{ep.parts[1]} in this snapshot")
            if not pod.ip or pod.phase in ("Succeeded", "Failed", "Pending"):
                why = why_not_ready(m, pod)  # J2 / I3 / the kubelet's words: its own traffic does not exist
                raise BadRequest(f"pod {pod.key} cannot send: it is {pod.phase or 'not running'}"
                                 f"{' and has no IP' if not pod.ip else ''}{': ' + '; '.join(why) if why else ''}")
            return [self.pod_source(pod, 1.0)]
        if ep.kind == "workload":
            if len(ep.parts) == 3:
                ns, kind, name = ep.parts
                pods = m.pods_of_workload(ns, name, kind)
            else:
                ns, name = ep.parts
                kind = None
                kinds = self.ex.workload_kinds.get((ns, name), [])
                if len(kinds) > 1:
                    raise BadRequest(f"workload:{ns}/{name} is ambiguous ({', '.join(sorted(kinds))}); use "
                                     f"workload:{ns}/KIND/{name}")
                pods = m.pods_of_workload(ns, name, kinds[0]) if kinds else []
            if not pods:
                known = any(k[0] == ns and k[2] == name and (kind is None or k[1] == kind) for k in m.workloads)
                if known:
                    raise BadRequest(f"workload {ns}/{name} has no pods in this snapshot (import with "
                                     f"--materialize to simulate its pods)")
                raise BadRequest(f"unknown workload {ns}/{(kind + '/') if kind else ''}{name} in this snapshot")
            running = [p for p in pods if p.ip and p.phase not in ("Succeeded", "Failed", "Pending")]
            if not running:
                why = why_not_ready(m, pods[0])
                raise BadRequest(f"workload {ns}/{name} has no running pod with an IP ({len(pods)} pod(s), none "
                                 f"scheduled and running){'; pod ' + pods[0].key + ': ' + '; '.join(why) if why else ''}")
            if len(running) < len(pods):
                self.notes.append(f"{len(pods) - len(running)} pod(s) of workload {ns}/{name} are not running and "
                                  f"send nothing; the {len(running)} running pod(s) share the traffic equally")
            return [self.pod_source(p, 1.0 / len(running)) for p in running]
        if ep.kind == "node":
            node = m.nodes.get(ep.parts[0])
            if node is None:
                raise BadRequest(f"unknown node {ep.parts[0]} in this snapshot")
            return [Source(Ref("node", "", node.name), "node", None, node.internal_ip or "", node.name, 1.0)]
        return [Source(Ref("external", "", ep.parts[0]), "external", None, ep.parts[0], None, 1.0)]

    def pod_source(self, pod: Pod, weight: float) -> Source:
        ip = pod.ip or ""
        if pod.host_network:
            ip = pod.host_ip or kp.node_ip(self.m, pod.node_name) or ip
        return Source(Ref.key("pod", pod.key), "pod", pod, ip, self.pod_node(pod), weight)

    def pod_node(self, pod: Pod) -> str | None:
        """The node a pod sends through and is reached on: the graph's pod → node (send) edge."""
        node = self.graph.next("pod", pod.key, "send")
        return node[0] if node else None

    def validate_destination(self, dest) -> None:
        if dest.kind == "svc" and f"{dest.parts[0]}/{dest.parts[1]}" not in self.m.services:
            raise BadRequest(f"unknown service {dest.parts[0]}/{dest.parts[1]} in this snapshot")

    def trace_from(self, src: Source, dest) -> list[Path]:
        hops = [self.source_hop(src)]
        for entry in ENTRIES:
            paths = entry(self, src, hops, src.weight, dest)
            if paths is not None:
                return paths
        if dest.kind == "svc":
            svc = self.m.services[f"{dest.parts[0]}/{dest.parts[1]}"]
            return self.to_service(src, hops, src.weight, svc)
        if dest.kind == "dns":
            return self.to_name(src, hops, src.weight, dest.parts[0], self.port)
        if dest.kind == "ip":
            if self.via and src.kind == "external":
                return self.via_entry(src, hops, src.weight, dest.parts[0])
            return self.to_ip(src, hops, src.weight, dest.parts[0], self.port)
        return self.to_url(src, hops, src.weight, dest)

    def source_hop(self, src: Source) -> Hop:
        if src.kind == "pod":
            pod = src.pod
            hn = " (hostNetwork: it uses its node's IP)" if pod.host_network else ""
            ready = "" if pod.ready else "; note: the pod is not Ready"
            return Hop("pod", src.ref, "send",
                       f"pod {pod.key} ({src.ip}{hn}) on node {pod.node_name or '?'} sends "
                       f"{self.proto}{ready}")
        if src.kind == "node":
            return Hop("node", src.ref, "send", f"a process in node {src.node_name}'s host network "
                                                  f"({src.ip}) sends {self.proto}")
        return Hop("external", src.ref, "send", f"client {src.ip} outside the cluster sends {self.proto}")

    # -- path endings ------------------------------------------------------------------------------------

    def drop(self, src: Source, hops: list[Hop], prob: float, reason: str, hop: Hop) -> list[Path]:
        return [Path(src.ref, DROPPED, reason, prob, None, None, [*hops, hop])]

    def deliver(self, src, hops, prob, endpoint: Ref, port: int | None, hop: Hop) -> list[Path]:
        return [Path(src.ref, DELIVERED, None, prob, endpoint, port, [*hops, hop])]

    # -- svc: --------------------------------------------------------------------------------------------

    def to_service(self, src: Source, hops: list[Hop], prob: float, svc: Service) -> list[Path]:
        if svc.type == "ExternalName":
            host = svc.external_name.rstrip(".").lower()
            hop = Hop("service", Ref.key("service", svc.key), "cname",
                      f"Service {svc.key} is type ExternalName: DNS answers CNAME {host} and the client connects "
                      f"to {host} outside the cluster; kube-proxy is not involved (A1/B4)")
            if src.kind == "external":
                return self.drop(src, hops, prob, "unknown-destination",
                                 Hop("service", Ref.key("service", svc.key), "unreachable",
                                     f"ExternalName Service {svc.key} is only a DNS alias inside the cluster; "
                                     f"an outside client would reach {host} directly"))
            port = self.port if isinstance(self.port, int) else (svc.ports[0].port if svc.ports else None)
            if port is None:
                raise BadRequest(f"give --port: ExternalName Service {svc.key} declares no port")
            if src.kind == "pod":  # the client resolves the service name: query, CNAME (followed if in-cluster)
                return self.to_name(src, hops, prob, f"{svc.name}.{svc.namespace}.svc.{self.m.cluster_domain}.", port)
            return self.to_external(src, [*hops, hop], prob, host, port)
        if svc.headless:
            return self.to_headless(src, hops, prob, svc)
        sp = kp.find_service_port(svc, self.port, self.proto)
        if sp is None:
            return self.drop(src, hops, prob, "no-service-port",
                             Hop("service", Ref.key("service", svc.key), "no-port", kp.missing_port_detail(svc, self.port, self.proto)))
        if src.kind == "external" or self.via:
            return self.enter_from_outside(src, hops, prob, svc, sp)
        return self.via_cluster_ip(src, hops, prob, svc, sp)

