"""`trace(model, flow, assumptions) -> TraceResult`: every path a packet can take, hop by hop.

This module only assembles: each Kubernetes rule lives in its own module (kubeproxy: §A, dns: §B,
netpol: §E, ingress: §D). The walk is a small recursive descent over "where is the packet now":
  source → [DNS query + answer] → address → (pod | ClusterIP | NodePort | LB | externalIP | internet)
  → kube-proxy endpoint choice (probability 1/n each) → NetworkPolicy egress at the source, ingress at the
  destination, both AFTER DNAT (E10) → endpoint.
Each branch carries its probability; a drop ends the branch with a reason code and a hop naming the
object and field to change. Lookups go through `ClusterModel` indexes only (no scans of all pods/services).
"""
from __future__ import annotations

import ipaddress
import weakref
from dataclasses import dataclass

from . import dns as dnsmod
from . import ingress, ingress_nginx
from . import kubeproxy as kp
from .assumptions import Assumptions
from .cluster import ClusterModel
from .errors import BadRequest
from .flow import Flow, parse_gateway_via
from .gateway_trace import gateway_for_url, gateway_paths
from .model import Pod, Service, ServicePort
from .netpol import Peer, policy_engine
from .result import DELIVERED, DROPPED, Hop, Path, Ref, TraceResult

__all__ = ["trace", "Flow", "Assumptions"]


@dataclass(slots=True)
class Source:
    ref: Ref  # pod | external (IP) | node
    kind: str  # pod | external | node
    pod: Pod | None
    ip: str
    node_name: str | None
    weight: float

    @property
    def label(self) -> str:
        return self.ref.id

    @property
    def peer(self) -> Peer:
        return Peer(self.pod, self.ip, self.node_name)


# ---------------------------------------------------------------------------------------------------
# Per-model derived indexes (built once per model, cached while the model lives)

@dataclass(slots=True)
class _Extra:
    node_ports: dict[tuple[int, str], Service]
    service_nets: list
    pod_nets: list
    ready_nodes: list  # sorted by name: the default NodePort entry is the first
    workload_kinds: dict  # (namespace, name) → kinds of workloads with pods, for workload:NS/NAME


_EXTRA: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

# A load balancer (externalTrafficPolicy Cluster) is shown reaching every ready node while nodes × endpoints
# stays under this; beyond it one node (per zone, under topology hints) stands for all, as the assumptions say.
LB_SPREAD_LIMIT = 64


def _net16(ip: str):
    addr = ipaddress.ip_address(ip)
    return ipaddress.ip_network(f"{ip}/{16 if addr.version == 4 else 64}", strict=False)


def extra_indexes(model: ClusterModel) -> _Extra:
    ex = _EXTRA.get(model)
    if ex is None:
        node_ports = {}
        for svc in model.services_with_node_ports:
            for p in svc.ports:
                if p.node_port:
                    node_ports.setdefault((p.node_port, p.protocol or "TCP"), svc)
        svc_nets = set()
        for ip in model.service_by_cluster_ip:
            try:
                svc_nets.add(_net16(ip))
            except ValueError:
                pass
        nets = set()
        for net, _node in model.pod_cidrs:
            nets.add(net if net.prefixlen <= 16 or net.version != 4 else net.supernet(new_prefix=16))
        for ip in model.pod_by_ip:
            try:
                nets.add(_net16(ip))
            except ValueError:
                pass
        pod_nets = sorted(nets, key=str)
        kinds: dict[tuple[str, str], list[str]] = {}
        for ns, kind, name in model.pods_by_workload:
            kinds.setdefault((ns, name), []).append(kind)
        ex = _EXTRA[model] = _Extra(node_ports, sorted(svc_nets, key=str), pod_nets, model.ready_nodes(), kinds)
    return ex


# ---------------------------------------------------------------------------------------------------

def trace(model: ClusterModel, flow: Flow, assumptions: Assumptions | None = None) -> TraceResult:
    """Trace `flow` through `model`. Raises BadRequest for an unknown pod/service/workload/node."""
    return _Tracer(model, flow, assumptions or Assumptions()).run()


class _Tracer:
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
        self._decisions: dict = {}

    # -- entry -------------------------------------------------------------------------------------

    def run(self) -> TraceResult:
        dest = self.flow.dst
        sources = self.sources()
        self.validate_destination(dest)
        paths: list[Path] = []
        for src in sources:
            paths.extend(self.trace_from(src, dest))
        return TraceResult.from_paths(paths, self.notes, request=self.flow.to_dict())

    def sources(self) -> list[Source]:
        ep = self.flow.src
        m = self.m
        if ep.kind == "pod":
            pod = m.pods.get(f"{ep.parts[0]}/{ep.parts[1]}")
            if pod is None:
                raise BadRequest(f"unknown pod {ep.parts[0]}/{ep.parts[1]} in this snapshot")
            if not pod.ip or pod.phase in ("Succeeded", "Failed", "Pending"):
                raise BadRequest(f"pod {pod.key} cannot send: it is {pod.phase or 'not running'}"
                                 f"{' and has no IP' if not pod.ip else ''}")
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
                raise BadRequest(f"workload {ns}/{name} has no running pod with an IP ({len(pods)} pod(s), none "
                                 f"scheduled and running)")
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
        return Source(Ref.key("pod", pod.key), "pod", pod, ip, pod.node_name or None, weight)

    def validate_destination(self, dest) -> None:
        if dest.kind == "svc" and f"{dest.parts[0]}/{dest.parts[1]}" not in self.m.services:
            raise BadRequest(f"unknown service {dest.parts[0]}/{dest.parts[1]} in this snapshot")

    def trace_from(self, src: Source, dest) -> list[Path]:
        hops = [self.source_hop(src)]
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

    def enter_from_outside(self, src, hops, prob, svc: Service, sp: ServicePort) -> list[Path]:
        """docs/contract.md: an outside client uses the LB address, else an externalIP, else the NodePort on the first
        ready node by name (`--via` overrides)."""
        if self.via:
            return self.via_entry(src, hops, prob, None, svc, sp)
        lb_ips = [i.ip for i in svc.lb_ingress if i.ip]
        if svc.type == "LoadBalancer" and lb_ips:
            self.notes.append(f"the outside client enters Service {svc.key} through its load-balancer address "
                              f"{lb_ips[0]} (use --via to pick another entry)")
            return self.to_ip(src, hops, prob, lb_ips[0], sp.port)
        if svc.external_ips:
            self.notes.append(f"the outside client enters Service {svc.key} through externalIP "
                              f"{svc.external_ips[0]} (use --via to pick another entry)")
            return self.to_ip(src, hops, prob, svc.external_ips[0], sp.port)
        if sp.node_port and svc.type in ("NodePort", "LoadBalancer"):
            first = next((n for n in self.ex.ready_nodes if n.internal_ip), None)
            if first is not None:
                self.notes.append(f"the outside client enters Service {svc.key} through NodePort {sp.node_port} "
                                  f"on the first ready node by name, {first.name} (use --via to pick another)")
                return self.to_ip(src, hops, prob, first.internal_ip, sp.node_port)
            return self.drop(src, hops, prob, "no-service-port",
                             Hop("service", Ref.key("service", svc.key), "no-node",
                                 f"Service {svc.key} has NodePort {sp.node_port}, but the snapshot has no ready node "
                                 f"with an address to receive it; import the Nodes (or use --materialize)"))
        return self.drop(src, hops, prob, "no-service-port",
                         Hop("service", Ref.key("service", svc.key), "not-exposed",
                             f"Service {svc.key} is type {svc.type} with no load-balancer address, externalIP or "
                             f"NodePort for port {sp.port}/{sp.protocol}: it is reachable only inside the cluster; "
                             f"set spec.type: NodePort or LoadBalancer (or add spec.externalIPs)"))

    def via_entry(self, src, hops, prob, ip: str | None, svc: Service | None = None,
                  sp: ServicePort | None = None) -> list[Path]:
        addr, vport = self.via
        if vport is None:
            if sp is not None:
                vport = sp.node_port if addr in self.m.node_by_ip and sp.node_port else sp.port
            else:
                vport = self.port if isinstance(self.port, int) else None
        if vport is None:
            raise BadRequest(f"--via {addr} needs a port (ADDR:PORT)")
        self.notes.append(f"the client sends to {addr}:{vport} first (--via)")
        return self.to_ip(src, hops, prob, addr, vport)

    def to_headless(self, src, hops, prob, svc: Service) -> list[Path]:
        """A2/B2: no virtual IP: the client connects straight to each ready endpoint's IP."""
        eps = dnsmod.ready_dns_endpoints(self.m, svc)
        port = self.port
        sp = kp.find_service_port(svc, port, self.proto) if port is not None or len(svc.ports) == 1 else None
        if port is None:
            if sp is None:
                raise BadRequest(f"give --port: headless Service {svc.key} has ports {kp.describe_ports(svc)}")
            port = sp.port
        if isinstance(port, str):
            if sp is None:
                return self.drop(src, hops, prob, "no-service-port",
                                 Hop("service", Ref.key("service", svc.key), "no-port",
                                     kp.missing_port_detail(svc, port, self.proto, "port named")))
            by_ip = {e.ip: e.port for e in kp.service_endpoints(self.m, svc, sp)}
            eps = [e for e in eps if e.ip in by_ip]
            ports = {e.ip: by_ip[e.ip] for e in eps}
        else:
            ports = {e.ip: port for e in eps}
        if src.kind == "external":
            return self.drop(src, hops, prob, "unknown-destination",
                             Hop("service", Ref.key("service", svc.key), "unreachable",
                                 f"headless Service {svc.key} has no virtual IP and no NodePort: it is only "
                                 f"resolvable inside the cluster"))
        if not eps:
            return self.drop(src, hops, prob, "no-endpoints",
                             Hop("service", Ref.key("service", svc.key), "no-endpoints",
                                 f"headless Service {svc.key} has no ready endpoint, so its name has no A "
                                 f"record (B2); make a pod matching its selector ready"))
        hop = Hop("service", Ref.key("service", svc.key), "resolve",
                  f"headless Service {svc.key} (clusterIP: None): no kube-proxy rules; the client connects "
                  f"directly to one of its {len(eps)} ready endpoint IP(s) (A2/B2)")
        self.notes.append("a client of a headless service picks each A record with equal share (impl: "
                          "resolvers rotate the answer order)")
        out = []
        for ep in eps:
            out.extend(self.to_endpoint(src, [*hops, hop], prob / len(eps), ep, ports[ep.ip], src.peer))
        return out

    # -- ip: -----------------------------------------------------------------------------------------------

    def to_ip(self, src: Source, hops: list[Hop], prob: float, ip: str, port) -> list[Path]:
        m = self.m
        pod = m.pod_by_ip.get(ip)
        if pod is not None:
            if src.kind == "external":
                return self.drop(src, hops, prob, "unknown-destination",
                                 Hop("external", Ref("external", "", src.ip), "unroutable",
                                     f"{ip} is the IP of pod {pod.key}; pod IPs are not routable from outside the "
                                     f"cluster (impl: overlay pod network) — expose it with a NodePort/LoadBalancer "
                                     f"Service or an Ingress"))
            if port is None:
                raise BadRequest(f"give --port for ip:{ip} (pod {pod.key})")
            return self.to_pod(src, hops, prob, pod, ip, port, src.peer, direct=True)
        svc = m.service_by_cluster_ip.get(ip)
        if svc is not None:
            if src.kind == "external":
                return self.drop(src, hops, prob, "unknown-destination",
                                 Hop("external", Ref("external", "", src.ip), "unroutable",
                                     f"{ip} is the ClusterIP of Service {svc.key}; ClusterIPs exist only inside the "
                                     f"cluster — use its NodePort / LoadBalancer address, or set spec.type"))
            sp = kp.find_service_port(svc, port, self.proto)
            if sp is None:
                return self.drop(src, hops, prob, "no-service-port",
                                 Hop("service", Ref.key("service", svc.key), "no-port", kp.missing_port_detail(svc, port, self.proto)))
            return self.via_cluster_ip(src, hops, prob, svc, sp)
        node = m.node_by_ip.get(ip)
        # an LB address or externalIP may also be a node address (k3s ServiceLB, externalIPs = node IPs): the
        # service rule wins when it exposes the port, the node (NodePort, hostPort) otherwise
        if ip in m.services_by_lb_ip and (node is None or self._match_port(m.services_by_lb_ip[ip], port, "", ip)[0]):
            return self.via_load_balancer(src, hops, prob, ip, port)
        if ip in m.services_by_external_ip and (
                node is None or self._match_port(m.services_by_external_ip[ip], port, "", ip)[0]):
            return self.via_external_ip(src, hops, prob, ip, port)
        if node is not None:
            return self.to_node(src, hops, prob, node, ip, port)
        if self.in_cluster_ranges(ip):
            return self.drop(src, hops, prob, "unknown-destination",
                             Hop("external", Ref("ip", "", ip), "unknown",
                                 f"{ip} lies in the cluster's {self.in_cluster_ranges(ip)} but no pod, Service or "
                                 f"node in this snapshot has it (a deleted pod or a stale address?)"))
        if port is None or isinstance(port, str):
            raise BadRequest(f"give a numeric --port for ip:{ip}")
        return self.to_external(src, hops, prob, ip, port)

    def in_cluster_ranges(self, ip: str) -> str | None:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        for net in self.ex.pod_nets:
            if addr.version == net.version and addr in net:
                self.notes.append("the cluster's pod network is taken as the /16s around the nodes' pod CIDRs and "
                                  "pod IPs (impl: the snapshot does not record --cluster-cidr)")
                return f"pod network {net}"
        for net in self.ex.service_nets:
            if addr.version == net.version and addr in net:
                self.notes.append("the service CIDR is taken as the /16 around the known ClusterIPs (impl: the "
                                  "snapshot does not record --service-cluster-ip-range)")
                return f"service network {net}"
        return None

    def to_external(self, src: Source, hops, prob, host: str, port: int) -> list[Path]:
        """A packet leaving the cluster: only the source's egress policy applies."""
        out_hops = list(hops)
        if src.kind == "pod" and not src.pod.host_network:
            try:
                ipaddress.ip_address(host)
                dst_ip = host
            except ValueError:
                dst_ip = "0.0.0.0"
                self.notes.append(f"{host}'s address is not known to the snapshot: egress policy was evaluated as "
                                  f"for an internet address (only ipBlock rules covering it, e.g. 0.0.0.0/0, allow it)")
            d = self.pe.egress(src.peer, Peer(None, dst_ip, None), port, self.proto)
            self.notes.extend(d.assumptions)
            hop = self.policy_hop(d, src.pod)
            out_hops.append(hop)
            if not d.allowed:
                return [Path(src.ref, DROPPED, "policy-egress-denied", prob, None, None, out_hops)]
        snat = ""
        if src.kind == "pod" and not src.pod.host_network:
            snat = f"; the CNI masquerades the pod IP {src.ip} to node {src.node_name}'s IP on the way out (impl)"
        return self.deliver(src, out_hops, prob, Ref("external", "", host), port,
                            Hop("endpoint", Ref("external", "", host), "leave-cluster",
                                f"the packet leaves the cluster for {host}:{port}/{self.proto}{snat}; what "
                                f"happens beyond is outside the snapshot"))

    def to_node(self, src, hops, prob, node, ip: str, port) -> list[Path]:
        """A21: a node address: NodePort (every node address), hostPort (CNI portmap, this node only),
        or a hostNetwork pod listening there."""
        if port is None or isinstance(port, str):
            raise BadRequest(f"give a numeric --port for ip:{ip} (node {node.name})")
        svc = self.ex.node_ports.get((port, self.proto))
        if svc is not None:
            sp = kp.find_node_port(svc, port, self.proto)
            return self.via_node_port(src, hops, prob, svc, sp, node, ip)
        for pod in self.m.pods_by_node.get(node.name, ()):
            for cp in pod.container_ports():
                if cp.host_port == port and (cp.protocol or "TCP") == self.proto and (
                        cp.host_ip in ("", "0.0.0.0", ip)) and not pod.host_network:
                    hop = Hop("node", Ref("node", "", node.name), "dnat",
                              f"hostPort {port}/{self.proto} on node {node.name} ({ip}) is mapped by the CNI portmap "
                              f"plugin to pod {pod.key} port {cp.container_port} (A21, only on this node)")
                    seen = src.peer
                    return self.to_pod(src, [*hops, hop], prob, pod, pod.ip, cp.container_port, seen)
        for pod in self.m.pods_by_node.get(node.name, ()):
            if pod.host_network and any(cp.container_port == port and (cp.protocol or "TCP") == self.proto
                                        for cp in pod.container_ports()):
                hop = Hop("node", Ref("node", "", node.name), "receive",
                          f"node {node.name} ({ip}) port {port}/{self.proto} is served by hostNetwork pod {pod.key} "
                          f"(A21)")
                return self.to_pod(src, [*hops, hop], prob, pod, ip, port, src.peer)
        return self.drop(src, hops, prob, "no-service-port",
                         Hop("node", Ref("node", "", node.name), "no-port",
                             f"node {node.name} ({ip}) exposes nothing on {port}/{self.proto}: no Service has "
                             f"nodePort {port}, no pod on it has hostPort {port}, and no hostNetwork pod on it "
                             f"declares that port; use a Service's nodePort"))

    # -- kube-proxy entries --------------------------------------------------------------------------------

    def via_cluster_ip(self, src, hops, prob, svc: Service, sp: ServicePort) -> list[Path]:
        hop = Hop("service", Ref.key("service", svc.key), "match",
                  f"ClusterIP {svc.cluster_ip}:{sp.port}/{sp.protocol} is Service {svc.key} port "
                  f"{sp.name or sp.port} (targetPort {sp.effective_target})")
        return self.proxy(src, [*hops, hop], prob, svc, sp, entry="cluster-ip",
                          vip=f"{svc.cluster_ip}:{sp.port}", node=src.node_name)

    def via_node_port(self, src, hops, prob, svc, sp, node, ip) -> list[Path]:
        hop = Hop("node", Ref("node", "", node.name), "receive",
                  f"node {node.name} ({ip}) receives {self.proto} port {sp.node_port}")
        shop = Hop("service", Ref.key("service", svc.key), "match",
                   f"port {sp.node_port}/{sp.protocol} is the NodePort of Service {svc.key} port {sp.name or sp.port} "
                   f"(targetPort {sp.effective_target}), open on every node address (A1/A21)")
        return self.proxy(src, [*hops, hop, shop], prob, svc, sp, entry="node-port", vip=f"{ip}:{sp.node_port}",
                          node=node.name)

    def _match_port(self, services: list[Service], port, what: str, ip: str):
        candidates = []
        for svc in services:
            sp = kp.find_service_port(svc, port, self.proto)
            if sp is not None:
                return svc, sp, None
            candidates.append(f"Service {svc.key} ({kp.describe_ports(svc)})")
        return None, None, (f"{what} {ip} does not expose {port}/{self.proto}: it belongs to "
                            + "; ".join(candidates) + "; use one of those ports or add the port to spec.ports")

    def via_external_ip(self, src, hops, prob, ip: str, port) -> list[Path]:
        """A8: externalIPs — port = service port ⇒ external traffic like NodePort/LB."""
        svc, sp, why = self._match_port(self.m.services_by_external_ip[ip], port, "externalIP", ip)
        if svc is None:
            return self.drop(src, hops, prob, "no-service-port", Hop("service", Ref("ip", "", ip), "no-port", why))
        owner = self.m.node_by_ip.get(ip)
        if src.kind != "external":
            node = src.node_name
        elif owner is not None:
            node = owner.name
        else:
            nodes = self.ex.ready_nodes
            node = nodes[0].name if nodes else None
            self.notes.append(f"externalIP {ip} is routed by the network to a node; assumed the first ready node "
                              f"by name, {node} (impl: Kubernetes does not route externalIPs)")
        hop = Hop("service", Ref.key("service", svc.key), "match",
                  f"{ip}:{sp.port}/{sp.protocol} is an externalIP of Service {svc.key} (spec.externalIPs): "
                  f"kube-proxy on node {node} treats it as external traffic (A8)")
        return self.proxy(src, [*hops, hop], prob, svc, sp, entry="external-ip", vip=f"{ip}:{sp.port}", node=node)

    def via_load_balancer(self, src, hops, prob, ip: str, port) -> list[Path]:
        """A9/A10/A15: the LB address; source ranges; LB spreading over nodes (healthCheckNodePort)."""
        svc, sp, why = self._match_port(self.m.services_by_lb_ip[ip], port, "load-balancer address", ip)
        if svc is None:
            return self.drop(src, hops, prob, "no-service-port", Hop("load-balancer", Ref("load-balancer", "", ip), "no-port", why))
        lb_id = Ref("load-balancer", "", ip)
        if svc.lb_source_ranges:
            if not _in_ranges(src.ip, svc.lb_source_ranges):
                return self.drop(src, hops, prob, "source-range-denied",
                                 Hop("load-balancer", lb_id, "deny",
                                     f"Service {svc.key} spec.loadBalancerSourceRanges "
                                     f"[{', '.join(svc.lb_source_ranges)}] does not include the client {src.ip}: "
                                     f"traffic to the LB address {ip} is dropped (A10); add the client's CIDR to "
                                     f"spec.loadBalancerSourceRanges"))
            ranges_ok = f"; client {src.ip} is inside spec.loadBalancerSourceRanges"
        else:
            ranges_ok = ""
        ing = next(i for i in svc.lb_ingress if i.ip == ip)
        proxy_mode = ing.ip_mode == "Proxy"
        local = svc.external_traffic_policy == "Local" and src.kind == "external"
        if src.kind != "external" and not proxy_mode:
            hop = Hop("load-balancer", lb_id, "capture",
                      f"{ip}:{sp.port} is the load-balancer address of Service {svc.key}; kube-proxy on node "
                      f"{src.node_name} captures it before it leaves the node (A9){ranges_ok}")
            return self.proxy(src, [*hops, hop, self.lb_service_hop(svc, sp, ip)], prob, svc, sp, entry="lb",
                              vip=f"{ip}:{sp.port}", node=src.node_name)
        pm = ("; ipMode Proxy: the LB proxies the connection, kube-proxy does not capture the address (A9)"
              if proxy_mode else "")
        if local:
            eps = kp.service_endpoints(self.m, svc, sp)
            sel_any = kp.categorize(svc, eps, local_node=None, zone=None, policy_field="externalTrafficPolicy")
            if sel_any.reason:
                return self.drop(src, hops, prob, sel_any.reason,
                                 Hop("load-balancer", lb_id, "reject", sel_any.detail))
            nodes = sorted({ep.node_name for ep in eps
                            if ep.node_name and (ep.ready or (ep.serving and ep.terminating))})
            hc = svc.health_check_node_port
            hop = Hop("load-balancer", lb_id, "balance",
                      f"load balancer {ip}:{sp.port} of Service {svc.key} with externalTrafficPolicy: Local: its "
                      f"health check (healthCheckNodePort {hc or '?'}) passes only on nodes with a local endpoint, "
                      f"so it spreads connections over {len(nodes)} node(s) ({', '.join(nodes)}), 1/{len(nodes)} "
                      f"each (A15; impl: equal weight per healthy node){ranges_ok}{pm}")
            self.notes.append("a cloud load balancer spreads new connections equally over the nodes whose health "
                              "check passes (impl)")
            out = []
            for n in nodes:
                node = self.m.nodes.get(n)
                nip = node.internal_ip if node else "?"
                out.extend(self.proxy(src, [*hops, hop, Hop("node", Ref("node", "", n), "receive",
                                                          f"node {n} ({nip}) receives the LB traffic on NodePort "
                                                          f"{sp.node_port or '(none)'}"),
                                            self.lb_service_hop(svc, sp, ip)],
                                      prob / len(nodes), svc, sp, entry="lb", vip=f"{ip}:{sp.port}", node=n))
            return out
        hop = Hop("load-balancer", lb_id, "forward",
                  f"load balancer {ip}:{sp.port} of Service {svc.key} forwards to the nodes "
                  f"(externalTrafficPolicy: Cluster: every node is healthy){ranges_ok}{pm}")
        out = []
        for node, share, why in self.lb_node_groups(svc, sp):
            nhops = [*hops, hop]
            if node:
                nip = kp.node_ip(self.m, node)
                nhops.append(Hop("node", Ref("node", "", node), "receive",
                                 f"node {node} ({nip}) receives the load-balancer traffic"
                                 + (f" on NodePort {sp.node_port}" if sp.node_port else "") + why))
            nhops.append(self.lb_service_hop(svc, sp, ip))
            out.extend(self.proxy(src, nhops, prob * share, svc, sp, entry="lb", vip=f"{ip}:{sp.port}", node=node))
        return out

    def lb_node_groups(self, svc: Service, sp: ServicePort) -> list[tuple[str | None, float, str]]:
        """With externalTrafficPolicy Cluster the LB spreads over every ready node. Endpoint choice is the same on
        every node, except under topology-aware routing (A18), where each zone's nodes prefer their zone's
        endpoints: then one node per zone stands for the zone, weighted by its share of the nodes."""
        nodes = self.ex.ready_nodes
        if not nodes:
            return [(None, 1.0, "")]
        eps = [ep for ep in kp.service_endpoints(self.m, svc, sp) if ep.ready]
        if len(nodes) * max(1, len(eps)) <= LB_SPREAD_LIMIT:
            # small enough to show every node: the SNAT address (and so NetworkPolicy and E11) depends on it
            self.notes.append("the load balancer spreads new connections equally over the ready nodes (impl: "
                              "equal weights; externalTrafficPolicy: Cluster makes every node healthy)")
            return [(n.name, 1.0 / len(nodes), f" (1/{len(nodes)} of the LB's connections)") for n in nodes]
        zoned = bool(eps) and all(kp._hints(svc, ep) for ep in eps)
        zones: dict[str, list] = {}
        for n in nodes:
            zones.setdefault(n.zone, []).append(n)
        if not zoned or len(zones) < 2:
            self.notes.append(f"with externalTrafficPolicy: Cluster the load balancer may use any node; node "
                              f"{nodes[0].name} (first ready by name) stands for them all: endpoint choice does not "
                              f"depend on it, only the SNAT address does (impl)")
            return [(nodes[0].name, 1.0, "")]
        self.notes.append("the load balancer spreads connections equally over the ready nodes (impl); with topology "
                          "hints each zone's nodes prefer that zone's endpoints, so one node per zone stands for it")
        return [(members[0].name, len(members) / len(nodes),
                 f" (stands for the {len(members)} ready node(s) of zone {zone or '(none)'}: "
                 f"{len(members)}/{len(nodes)} of the LB's connections)")
                for zone, members in sorted(zones.items())]

    def lb_service_hop(self, svc: Service, sp: ServicePort, ip: str) -> Hop:
        return Hop("service", Ref.key("service", svc.key), "match",
                   f"{ip}:{sp.port}/{sp.protocol} is the load-balancer address of Service {svc.key} port "
                   f"{sp.name or sp.port} (targetPort {sp.effective_target}); kube-proxy's KUBE-EXT rules take it")

    def proxy(self, src: Source, hops, prob, svc: Service, sp: ServicePort, *, entry: str, vip: str,
              node: str | None) -> list[Path]:
        """kube-proxy on `node` picks an endpoint (A12–A18, A20), DNATs, maybe SNATs (A13)."""
        kp_id = Ref("kube-proxy", "", node or "")
        skip = kp.proxy_skip_reason(svc)
        if skip:
            return self.drop(src, hops, prob, "no-endpoints", Hop("kube-proxy", kp_id, "no-rules", skip))
        external_entry = entry != "cluster-ip"
        # A15: Local applies to traffic from outside; pods and nodes ON the receiving node get Cluster behaviour
        # (kube-proxy short-circuits traffic it recognises as local to that node).
        external_client = external_entry and (src.kind == "external" or src.node_name != node)
        if entry == "cluster-ip" and svc.internal_traffic_policy == "Local":
            local_node, field_ = node, "internalTrafficPolicy"
        elif external_client and svc.external_traffic_policy == "Local":
            local_node, field_ = node, "externalTrafficPolicy"
        else:
            local_node, field_ = None, ""
        zone = self.m.nodes[node].zone if node in self.m.nodes else None
        eps = kp.service_endpoints(self.m, svc, sp)
        sel = kp.categorize(svc, eps, local_node=local_node, zone=zone, policy_field=field_ or "trafficPolicy")
        if sel.reason:
            action = "reject" if sel.reason == "no-endpoints" else "drop"
            return self.drop(src, hops, prob, sel.reason, Hop("kube-proxy", kp_id, action, sel.detail))
        chosen = sel.endpoints
        n = len(chosen)
        prefix = "KUBE-SVL-" if local_node else "KUBE-SVC-"
        if external_entry and not local_node and svc.external_traffic_policy == "Local" and src.kind != "external":
            sel.notes.append(f"externalTrafficPolicy: Local does not apply to traffic from {src.label}: pods and "
                             f"nodes get Cluster behaviour (A15)")
        snat_ip = None
        if external_entry and not local_node and (src.kind == "external" or svc.external_traffic_policy != "Local"):
            snat_ip = kp.node_ip(self.m, node)
        out = []
        for i, ep in enumerate(chosen):
            detail = kp.balance_detail(svc, sp, chosen, i, self.a.proxy_mode, vip, prefix)
            seen = src.peer
            snat_text = ""
            hairpin = src.pod is not None and ep.pod is not None and ep.pod.key == src.pod.key
            if snat_ip and src.kind != "node":
                seen = Peer(None, snat_ip, node)
                entry_word = {"node-port": "NodePort", "lb": "load-balancer address",
                              "external-ip": "externalIP"}.get(entry, entry)
                snat_text = (f"; SNAT: traffic entering through the {entry_word} with externalTrafficPolicy: "
                             f"{svc.external_traffic_policy} is masqueraded to node {node}'s IP {snat_ip}, so the "
                             f"backend (and its NetworkPolicy) sees {snat_ip}, not {src.ip} (A13)")
            elif hairpin:
                nip = kp.node_ip(self.m, node) or src.ip
                seen = Peer(None, nip, node)
                snat_text = f"; hairpin: the pod reaches itself through its service, so it is masqueraded to {nip} (A13)"
            elif local_node and external_client:
                snat_text = f"; externalTrafficPolicy: Local keeps the client IP {src.ip} (A15)"
            elif entry == "cluster-ip":
                snat_text = f"; no SNAT: the backend sees the client IP {src.ip} (A13)"
            notes = ("; " + "; ".join(sel.notes)) if sel.notes else ""
            hop = Hop("kube-proxy", kp_id, "dnat",
                      f"{vip}/{sp.protocol} → {ep.addr} ({ep.label}, {kp.condition_text(ep)}): {detail}{snat_text}{notes}")
            out.extend(self.to_endpoint(src, [*hops, hop], prob / n, ep, ep.port, seen, at_node=node))
        return out

    # -- endpoints -----------------------------------------------------------------------------------------

    def to_endpoint(self, src, hops, prob, ep: kp.ProxyEndpoint, port: int, seen: Peer,
                    at_node: str | None = None) -> list[Path]:
        if ep.pod is not None:
            return self.to_pod(src, hops, prob, ep.pod, ep.ip, port, seen, at_node=at_node)
        return self.to_external(src, hops, prob, ep.ip, port)

    def to_pod(self, src: Source, hops, prob, pod: Pod, ip: str, port, seen: Peer, direct: bool = False,
               at_node: str | None = None) -> list[Path]:
        """NetworkPolicy egress at the source and ingress at the destination, after DNAT (E5, E10), then deliver."""
        hops = list(hops)
        if isinstance(port, str):
            found = [cp for cp in pod.container_ports() if cp.name == port and (cp.protocol or "TCP") == self.proto]
            if not found:
                return self.drop(src, hops, prob, "no-service-port",
                                 Hop("pod", Ref.key("pod", pod.key), "no-port",
                                     f"pod {pod.key} has no container port named {port!r} ({self.proto}); "
                                     f"use a port number or name one of its containers' ports {port}"))
            port = found[0].container_port
        here = at_node or src.node_name
        if here and pod.node_name and here != pod.node_name:
            hops.append(Hop("node", Ref("node", "", pod.node_name), "forward",
                            f"the CNI routes the packet from node {here} to node {pod.node_name}"))
        dst_peer = Peer(pod, ip, pod.node_name or None)
        if src.kind == "pod":
            d = self.decide("egress", src.peer, dst_peer, port)
            self.notes.extend(d.assumptions)
            hops.append(self.policy_hop(d, src.pod))
            if not d.allowed:
                return [Path(src.ref, DROPPED, "policy-egress-denied", prob, None, None, hops)]
        d = self.decide("ingress", seen, dst_peer, port)
        self.notes.extend(d.assumptions)
        hops.append(self.policy_hop(d, pod))
        if not d.allowed:
            return [Path(src.ref, DROPPED, "policy-ingress-denied", prob, None, None, hops)]
        declared = any(cp.container_port == port and (cp.protocol or "TCP") == self.proto
                       for cp in pod.container_ports())
        notes = []
        if not declared:
            notes.append(f"no container of {pod.key} declares {port}/{self.proto} (ports need not be declared; "
                         f"whether a process listens is not in the snapshot)")
        if direct and not pod.ready:
            notes.append("the pod is not Ready: direct connections still arrive, but it may not answer")
        extra = ("; " + "; ".join(notes)) if notes else ""
        return self.deliver(src, hops, prob, Ref.key("pod", pod.key), port,
                            Hop("endpoint", Ref.key("pod", pod.key), "deliver",
                                f"delivered to pod {pod.key} ({ip}) port {port}/{self.proto} on node "
                                f"{pod.node_name or '?'}{extra}"))

    def decide(self, direction: str, src: Peer, dst: Peer, port: int):
        """PolicyEngine.egress/ingress, memoised within this trace for endpoints that policy cannot tell apart.

        Backends of one service usually share namespace, labels, node and ports, so the decision for the
        first one holds for the others (E2/E7/E8 read only those, plus E11's node and self checks); the
        sentence is re-addressed to the pod at hand. This keeps a 250-endpoint service cheap.
        """
        dp = dst.pod
        src_node = src.node_name
        if src_node is None and src.pod is None and src.ip in self.m.node_by_ip:
            src_node = self.m.node_by_ip[src.ip].name
        if (dp is None or (src.pod is not None and src.pod.key == dp.key) or dp.node_name == src_node
                or getattr(self.pe, "ipblock_matches_pods", False)):
            fn = self.pe.egress if direction == "egress" else self.pe.ingress
            return fn(src, dst, port, self.proto)  # self / same node (E11): never shared
        key = (direction, src.pod.key if src.pod else src.ip, src_node, dp.namespace,
               tuple(sorted(dp.labels.items())), dp.host_network,
               tuple((cp.name, cp.container_port, cp.protocol) for cp in dp.container_ports() if cp.name), port)
        hit = self._decisions.get(key)
        if hit is None:
            fn = self.pe.egress if direction == "egress" else self.pe.ingress
            d = fn(src, dst, port, self.proto)
            self._decisions[key] = (d, dp.key, dst.ip)
            return d
        d, old_key, old_ip = hit
        if old_key == dp.key:
            return d
        detail = d.detail.replace(old_key, dp.key)
        if old_ip and dst.ip:
            detail = detail.replace(old_ip, dst.ip)
        return type(d)(d.allowed, d.isolated, d.policies, d.allowed_by, detail, d.assumptions, d.direction)

    def policy_hop(self, d, pod: Pod) -> Hop:
        if d.allowed_by:
            ident = Ref.key("network-policy", d.allowed_by.split(" rule")[0])
        elif d.policies:
            ident = Ref.key("network-policy", d.policies[0])
        else:
            ident = Ref.key("pod", pod.key)
        action = "allow" if d.allowed else "deny"
        return Hop("network-policy", ident, f"{d.direction or 'policy'}-{action}", d.detail)

    # -- dns: ------------------------------------------------------------------------------------------------

    def dns_query(self, src: Source, hops, prob) -> tuple[list[Hop], list[Path] | None]:
        """The query is traffic: source pod → kube-dns Service UDP 53 → a CoreDNS pod, under NetworkPolicy."""
        svc = self.m.services.get(dnsmod.DNS_SERVICE)
        if svc is None or not svc.cluster_ip:
            self.notes.append("the snapshot has no kube-system/kube-dns Service: the cluster DNS is assumed to "
                              "answer and NetworkPolicy on the query is not checked")
            return hops, None
        sp = kp.find_service_port(svc, 53, "UDP") or kp.find_service_port(svc, 53, "TCP")
        if sp is None:
            return hops, None
        eps = kp.service_endpoints(self.m, svc, sp)
        sel = kp.categorize(svc, eps, local_node=src.node_name if svc.internal_traffic_policy == "Local" else None,
                            zone=None, policy_field="internalTrafficPolicy")
        dns_id = Ref.key("service", svc.key)
        if sel.reason:
            return hops, self.drop(src, hops, prob, sel.reason,
                                   Hop("dns", dns_id, "no-answer",
                                       f"the DNS query to {svc.cluster_ip}:53/{sp.protocol} gets no answer: "
                                       + sel.detail))
        denied = None
        for ep in sel.endpoints:
            if ep.pod is None:
                return [*hops, Hop("dns", dns_id, "query",
                                   f"query to cluster DNS {svc.cluster_ip}:53/{sp.protocol} → {ep.addr}")], None
            dst = Peer(ep.pod, ep.ip, ep.pod.node_name or None)
            e = self.pe.egress(src.peer, dst, ep.port, sp.protocol)
            i = self.pe.ingress(src.peer, dst, ep.port, sp.protocol) if e.allowed else None
            self.notes.extend(e.assumptions)
            if e.allowed and i.allowed:
                why = e.detail if e.isolated else ""
                return [*hops, Hop("dns", dns_id, "query",
                                   f"DNS query {src.ip} → kube-dns {svc.cluster_ip}:53/{sp.protocol} → CoreDNS "
                                   f"{ep.label} {ep.addr}, allowed by NetworkPolicy{': ' + why if why else ''}")], None
            if denied is None:
                denied = ("policy-egress-denied", e) if not e.allowed else ("policy-ingress-denied", i)
        reason, d = denied
        side = "the source's egress" if reason == "policy-egress-denied" else "the CoreDNS pods' ingress"
        return hops, self.drop(src, hops, prob, reason,
                               Hop("dns", dns_id, "denied",
                                   f"the DNS query to kube-dns {svc.cluster_ip}:53/{sp.protocol} is blocked by "
                                   f"{side} NetworkPolicy, so no name resolves: {d.detail}"))

    def to_name(self, src: Source, hops, prob, name: str, port, *, http: bool = False) -> list[Path]:
        ans = dnsmod.resolve(self.m, src.pod, name, external=src.kind == "external")
        if ans.resolver is not None and ans.resolver.kind == "cluster" and src.kind == "pod":
            hops, dropped = self.dns_query(src, hops, prob)
            if dropped:
                return dropped
        elif ans.resolver is not None and ans.resolver.note:
            self.notes.append(ans.resolver.note)
        tried = f" (tried {', '.join(ans.tried)})" if len(ans.tried) > 1 else ""
        dns_id = Ref("dns", "", ans.fqdn or name)
        if ans.kind == "NXDOMAIN":
            return self.drop(src, hops, prob, "dns-nxdomain", Hop("dns", dns_id, "nxdomain", ans.detail + tried))
        chased = 0
        while ans.kind == "CNAME" and ans.target.endswith("." + self.m.cluster_domain) and chased < 8:
            # an ExternalName pointing at a cluster name: CoreDNS follows the CNAME inside the zone
            hops = [*hops, Hop("dns", dns_id, "cname", ans.detail.replace("; the packet leaves the cluster", "")
                               + "; the target is a cluster name, so the resolver follows it")]
            nxt = dnsmod.lookup(self.m, ans.target)
            chased += 1
            if nxt is None:
                return self.drop(src, hops, prob, "dns-nxdomain",
                                 Hop("dns", Ref("dns", "", ans.target), "nxdomain",
                                     f"the CNAME target {ans.target} of Service {ans.service.key} has no record; "
                                     f"fix spec.externalName"))
            ans = nxt
            dns_id = Ref("dns", "", ans.fqdn)
            tried = ""
        if ans.kind in ("CNAME", "EXTERNAL"):
            hop = Hop("dns", dns_id, "answer", ans.detail + tried)
            if port is None or isinstance(port, str):
                if ans.service is not None and len(ans.service.ports) == 1 and port is None:
                    port = ans.service.ports[0].port
                else:
                    raise BadRequest(f"give a numeric --port for {name} (it resolves outside the cluster)")
            return self.to_external(src, [*hops, hop], prob, ans.target, port)
        hop = Hop("dns", dns_id, "answer", ans.detail + tried)
        hops = [*hops, hop]
        svc = ans.service
        if ans.srv_port is not None:
            port = ans.srv_port
        if ans.endpoints:  # headless / hostname answers: straight to pods
            eps = ans.endpoints
            if isinstance(port, str) or port is None:
                sp = kp.find_service_port(svc, port, self.proto)
                if sp is None:
                    return self.drop(src, hops, prob, "no-service-port",
                                     Hop("service", Ref.key("service", svc.key), "no-port",
                                         kp.missing_port_detail(svc, port, self.proto)))
                by_ip = {e.ip: e.port for e in kp.service_endpoints(self.m, svc, sp)}
                ports = {e.ip: by_ip.get(e.ip, sp.port) for e in eps}
            else:
                ports = {e.ip: port for e in eps}
            if len(eps) > 1:
                self.notes.append("a client picks each A record with equal share (impl: resolvers rotate the "
                                  "answer order)")
            out = []
            for ep in eps:
                out.extend(self.to_endpoint(src, hops, prob / len(eps), ep, ports[ep.ip], src.peer))
            return out
        if port is None and svc is not None and len(svc.ports) == 1:
            port = svc.ports[0].port
        if port is None:
            raise BadRequest(f"give --port for {name}")
        out = []
        for ip in ans.ips:
            out.extend(self.to_ip(src, hops, prob / len(ans.ips), ip, port))
        return out

    # -- url: ------------------------------------------------------------------------------------------------

    def to_url(self, src: Source, hops, prob, dest) -> list[Path]:
        # -- Gateway API entry hook (gateway_trace.py, K7): kept separate until the graph walk offers entry kinds
        gw_via = parse_gateway_via(self.flow.via)
        if gw_via:
            return gateway_paths(self, src, hops, prob, dest, gw_via[0], gw_via[1])
        if src.kind != "pod" and not self.via and (dest.parts[0] in ("grpc", "tls") or not self.is_ingress_host(
                dest.parts[1], dest.parts[3], dest.parts[0])):
            found = gateway_for_url(self.m, dest.parts, self.flow)  # no Ingress takes it: a Gateway's routes may
            if found:
                self.notes.append(f"no Ingress takes {dest.parts[1]}, but the routes of Gateway {found[0]} do: the "
                                  f"client is assumed to reach that Gateway (pass --via gateway:NS/NAME to choose)")
                return gateway_paths(self, src, hops, prob, dest, found[0], found[1])
        if dest.parts[0] in ("grpc", "tls"):
            raise BadRequest(f"{dest.parts[0]}:// destinations are routed by a Gateway: add --via gateway:NS/NAME[:PORT]")
        # -- end of the Gateway API hook
        scheme, host, port_s, path = dest.parts
        port = int(port_s)
        if src.kind == "pod":
            self.notes.append(f"from a pod, the URL host {host} is resolved like dns:{host} and the request goes "
                              f"to port {port}")
            try:
                ipaddress.ip_address(host)
                return self.to_ip(src, hops, prob, host, port)
            except ValueError:
                pass
            ans = dnsmod.resolve(self.m, src.pod, host)
            if ans.kind == "EXTERNAL" and self.is_ingress_host(host, path, scheme):
                # a public name served by this cluster's Ingress: public DNS points it at the controller's entry
                if ans.resolver is not None and ans.resolver.kind == "cluster":
                    hops, dropped = self.dns_query(src, hops, prob)
                    if dropped:
                        return dropped
                self.notes.append(f"{host} is outside the cluster domain but matches an Ingress rule: assumed its "
                                  f"public DNS record points at the Ingress controller's entry (impl)")
                hops = [*hops, Hop("dns", Ref("dns", "", host), "answer",
                                   f"{host} is answered by the upstream resolver; it is an Ingress host of this "
                                   f"cluster, so it leads back in through the controller's entry")]
                return self.via_ingress(src, hops, prob, scheme, host, port, path)
            return self.to_name(src, hops, prob, host, port, http=True)
        return self.via_ingress(src, hops, prob, scheme, host, port, path)

    def is_ingress_host(self, host: str, path: str, scheme: str) -> bool:
        d = ingress.route_request(self.m, host, path, scheme)
        return bool(d.matched and d.rule_host) or d.reason == "no-ingress-controller"

    def via_ingress(self, src: Source, hops, prob, scheme: str, host: str, port: int, path: str) -> list[Path]:
        """From outside (or a node): the Host picks the Ingress (D3–D5); the client enters through that Ingress's
        controller's exposure (LB address by default, `--via` overrides), the controller pod then proxies to the
        backend Service's endpoints itself (D9, impl) — as the source NetworkPolicy sees."""
        via_addr, via_port = self.via if self.via else (None, None)
        entry = ingress.find_entry(self.m, host, path, scheme, via=via_addr, port=via_port if via_addr else port,
                                   headers=dict(self.flow.headers))
        d = entry.decision
        self.notes.extend(d.assumptions)
        ctrl = entry.controller
        url = f"{scheme}://{host}{':' + str(port) if port not in (80, 443) else ''}{path}"
        if ctrl is None:
            reason = entry.reason or d.reason or "ingress-no-match"
            return self.drop(src, hops, prob, reason,
                             Hop("ingress-rule", Ref.key("ingress", d.ingress.key) if d.ingress else Ref("url", "", url),
                                 "no-route", entry.detail or d.why))
        self.notes.extend(ctrl.assumptions)
        ctrl_hop_id = Ref.key("ingress-controller", ctrl.name)
        if entry.exposure is None:
            return self.drop(src, hops, prob, "no-service-port",
                             Hop("ingress-controller", ctrl_hop_id, "not-exposed", entry.detail))
        exp = entry.exposure
        if ctrl.cloud_managed:
            lb_hop = Hop("load-balancer", ctrl_hop_id, "route",
                         f"{entry.detail}; the cloud load balancer itself applies the Ingress rules")
            return self.after_controller(src, [*hops, lb_hop], prob, None, d, ctrl, url)
        # reach a controller pod through its exposure, with kube-proxy/NetworkPolicy as for any packet
        self.notes.append(f"the client enters {ctrl.describe()} through {exp.detail or exp.kind}")
        reached = self.to_ip(src, hops, prob, exp.address, exp.port)
        out: list[Path] = []
        ctrl_pods = {p.key for p in ctrl.pods}
        for p in reached:
            ep = p.endpoint
            if p.verdict != DELIVERED or ep is None or ep.kind != "pod" or f"{ep.namespace}/{ep.name}" not in ctrl_pods:
                out.append(p)
                continue
            cpod = self.m.pods[f"{ep.namespace}/{ep.name}"]
            phops = p.hops[:-1] + [Hop("ingress-controller", ctrl_hop_id, "accept",
                                       f"{ctrl.describe()}: pod {cpod.key} accepts {scheme.upper()} on port "
                                       f"{p.endpoint_port} for Host {host} (evidence: {ctrl.evidence or 'discovery'})")]
            out.extend(self.after_controller(src, phops, p.probability, cpod, d, ctrl, url))
        return out

    def after_controller(self, src: Source, hops, prob, cpod: Pod | None, d, ctrl, url: str) -> list[Path]:
        split = ingress_nginx.canary_split(d)  # an ingress-nginx canary takes its share of the requests (D12)
        if len(split) > 1 or split[0][1] is not d:
            return [p for share, part in split for p in self.after_controller(src, hops, prob * share, cpod, part,
                                                                               ctrl, url)]
        paths = self._after_controller(src, hops, prob, cpod, d, ctrl, url)
        answer = ingress.http_answer(d)  # the HTTP status the client gets from the controller (contract `http`)
        for p in paths:
            if p.http is None:
                p.http = dict(answer)
                if p.verdict == DROPPED and answer["status"] == 200:
                    p.http["status"] = 502  # the controller cannot reach that endpoint (e.g. NetworkPolicy)
        return paths

    def _after_controller(self, src: Source, hops, prob, cpod: Pod | None, d, ctrl, url: str) -> list[Path]:
        ing_id = Ref.key("ingress", d.ingress.key) if d.ingress else Ref.key("ingress-controller", ctrl.name)
        if not d.matched:
            return self.drop(src, hops, prob, d.reason or "ingress-no-match",
                             Hop("ingress-rule", ing_id, "no-match", d.why))
        tls = ""
        if d.tls is not None:
            tls = "; " + d.tls.detail
        warn = ("; " + "; ".join(d.warnings)) if d.warnings else ""
        if d.backend_problem:
            return self.drop(src, hops, prob, d.backend_problem,
                             Hop("ingress-rule", ing_id, "bad-backend", f"{d.why} {d.backend_detail}{tls}"))
        svc, sp = d.service, d.service_port
        rule_hop = Hop("ingress-rule", ing_id, "route",
                       f"{d.why} {d.backend_detail}{tls}{warn}. {d.backend_mode_detail}".strip())
        hops = [*hops, rule_hop]
        mode = d.backend_mode or "endpoints"
        if cpod is not None:
            csrc = Source(src.ref, "pod", cpod, self.pod_source(cpod, 1).ip, cpod.node_name or None, src.weight)
        else:
            csrc = src
        if mode == "external-name":
            return self.to_external(csrc, hops, prob, svc.external_name.rstrip("."), sp.port)
        if mode == "cluster-ip":
            return self.via_cluster_ip(csrc, hops, prob, svc, sp)
        if mode == "node-port":
            nodes = [n for n in self.ex.ready_nodes if n.internal_ip]
            if not nodes or not sp.node_port:
                return self.drop(src, hops, prob, "no-service-port",
                                 Hop("service", Ref.key("service", svc.key), "no-port",
                                     f"Service {svc.key} port {sp.port} has no NodePort on a ready node"))
            self.notes.append(f"the cloud load balancer's traffic is shown entering node {nodes[0].name} (first "
                              f"ready by name); every node behaves the same with externalTrafficPolicy: Cluster")
            return self.to_ip(src, hops, prob, nodes[0].internal_ip, sp.node_port)
        # endpoints: the controller balances over the ready endpoints itself (no kube-proxy)
        eps = [ep for ep in kp.service_endpoints(self.m, svc, sp) if ep.ready]
        if not eps:
            return self.drop(src, hops, prob, "no-endpoints",
                             Hop("service", Ref.key("service", svc.key), "no-endpoints",
                                 f"Service {svc.key} port {sp.name or sp.port} has no ready endpoint, so "
                                 f"{ctrl.kind} answers 503; make a pod matching its selector ready"))
        self.notes.append("an ingress controller spreads requests evenly over the backend's ready endpoints "
                          "(impl: round-robin)")
        out = []
        for ep in eps:
            h = Hop("service", Ref.key("service", svc.key), "proxy",
                    f"{ctrl.kind} proxies to endpoint {ep.addr} ({ep.label}) of Service {svc.key}, 1/{len(eps)} "
                    f"of requests, source = the controller's address {csrc.ip or '(cloud)'}")
            out.extend(self.to_endpoint(csrc, [*hops, h], prob / len(eps), ep, ep.port, csrc.peer,
                                        at_node=cpod.node_name if cpod else None))
        return out


def _in_ranges(ip: str, ranges) -> bool:
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return False
    for r in ranges:
        try:
            net = ipaddress.ip_network(r.strip(), strict=False)
        except ValueError:
            continue
        if addr.version == net.version and addr in net:
            return True
    return False
