"""How a packet reaches an address (docs/semantics.md A1, A8-A10, A15, A21): the trace walk's steps for IP
destinations, outside entries (NodePort, load-balancer address, externalIP, `--via`) and leaving the cluster.

A mixin of the trace walk (`trace._Tracer`): the steps take their next vertices from the forwarding graph
(graph.adjacency) — an LB address is an external → lb (or kube-proxy → lb) edge, its Services the lb → svc edges,
its backend nodes the lb → node edges; an externalIP's Services the external → svc edges; a node's hostPort /
hostNetwork pods the node → pod edges; the default NodePort entry node an external → node edge — and call the decision modules (loadbalancer: source ranges and spreading;
traffic_policy through the graph; kubeproxy: ports) to filter them.
"""
from __future__ import annotations

import ipaddress

from . import kubeproxy as kp
from . import loadbalancer as lbmod
from .errors import BadRequest
from .model import Service, ServicePort
from .netpol import Peer
from .result import DROPPED, Hop, Path, Ref
from .trace_local import to_node_listener
from .trace_state import Source


class EntryWalk:
    """Addresses and the ways in from outside."""

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
            # the first ready node (by name) with an address that the graph's external → node (node-port) edge reaches
            first = next((n for n in self.ex.ready_nodes
                          if n.internal_ip and self.graph.reaches("external", "", "node", n.name)), None)
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
        # service rule wins when it exposes the port, the node (NodePort, hostPort) otherwise. The way in is an
        # edge of the graph: external → lb:IP (address) from outside, kube-proxy → lb:IP (capture) inside.
        at = "external" if src.kind == "external" else "kube-proxy"
        if self.graph.reaches(at, "", "load-balancer", ip) and (
                node is None or self._match_port(self.lb_services(ip), port, "", ip)[0]):
            return self.via_load_balancer(src, hops, prob, ip, port)
        eip = self.external_ip_services(ip)
        if eip and (node is None or self._match_port(eip, port, "", ip)[0]):
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
        on_node = self.delivered_on(node.name)
        for pod in on_node:
            for cp in pod.container_ports():
                if cp.host_port == port and (cp.protocol or "TCP") == self.proto and (
                        cp.host_ip in ("", "0.0.0.0", ip)) and not pod.host_network:
                    hop = Hop("node", Ref("node", "", node.name), "dnat",
                              f"hostPort {port}/{self.proto} on node {node.name} ({ip}) is mapped by the CNI portmap "
                              f"plugin to pod {pod.key} port {cp.container_port} (A21, only on this node)")
                    seen = src.peer
                    return self.to_pod(src, [*hops, hop], prob, pod, pod.ip, cp.container_port, seen)
        for pod in on_node:
            if pod.host_network and any(cp.container_port == port and (cp.protocol or "TCP") == self.proto
                                        for cp in pod.container_ports()):
                hop = Hop("node", Ref("node", "", node.name), "receive",
                          f"node {node.name} ({ip}) port {port}/{self.proto} is served by hostNetwork pod {pod.key} "
                          f"(A21)")
                return self.to_pod(src, [*hops, hop], prob, pod, ip, port, src.peer)
        return to_node_listener(self, src, hops, prob, node, ip, port)  # kubelet, kube-proxy, probes, args (H4)

    def delivered_on(self, node_name: str) -> list:
        """The pods a node hands packets to: the graph's node → pod (deliver) edges."""
        pods = self.m.pods
        return [pods[key] for key in self.graph.next("node", node_name, "deliver")]

    def lb_services(self, ip: str) -> list[Service]:
        """The Services behind a load-balancer address: the graph's lb:IP → svc (capture) edges."""
        services = self.m.services
        return [services[key] for key in self.graph.next("load-balancer", ip, "capture")]

    def external_ip_services(self, ip: str) -> list[Service]:
        """The Services an externalIP leads to: those of the address with a graph edge external → svc
        (external-ip) — kube-proxy's rules for spec.externalIPs (A8; not ExternalName Services)."""
        return [svc for svc in self.m.services_by_external_ip.get(ip, ())
                if self.graph.reaches("external", "", "service", svc.key)]

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
        svc, sp, why = self._match_port(self.external_ip_services(ip), port, "externalIP", ip)
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
        svc, sp, why = self._match_port(self.lb_services(ip), port, "load-balancer address", ip)
        if svc is None:
            return self.drop(src, hops, prob, "no-service-port", Hop("load-balancer", Ref("load-balancer", "", ip), "no-port", why))
        lb_id = Ref("load-balancer", "", ip)
        if svc.lb_source_ranges:
            if not lbmod.source_allowed(src.ip, svc.lb_source_ranges):
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
        if src.kind != "external" and not proxy_mode:
            hop = Hop("load-balancer", lb_id, "capture",
                      f"{ip}:{sp.port} is the load-balancer address of Service {svc.key}; kube-proxy on node "
                      f"{src.node_name} captures it before it leaves the node (A9){ranges_ok}")
            return self.proxy(src, [*hops, hop, self.lb_service_hop(svc, sp, ip)], prob, svc, sp, entry="lb",
                              vip=f"{ip}:{sp.port}", node=src.node_name)
        pm = ("; ipMode Proxy: the LB proxies the connection, kube-proxy does not capture the address (A9)"
              if proxy_mode else "")
        # the LB's backend nodes are the graph's lb → node edges (traffic_policy.lb_backend_nodes: with
        # externalTrafficPolicy Local, only nodes whose health check passes)
        backends = self.graph.next("load-balancer", ip, "backend")
        if svc.external_traffic_policy == "Local":
            eps = self.endpoints(svc, sp)
            sel_any = kp.categorize(svc, eps, local_node=None, zone=None, policy_field="externalTrafficPolicy")
            if sel_any.reason:
                return self.drop(src, hops, prob, sel_any.reason,
                                 Hop("load-balancer", lb_id, "reject", sel_any.detail))
            nodes = backends
            hc = svc.health_check_node_port
            hop = Hop("load-balancer", lb_id, "balance",
                      f"load balancer {ip}:{sp.port} of Service {svc.key} with externalTrafficPolicy: Local: its "
                      f"health check (healthCheckNodePort {hc or '?'}) passes only on nodes with a local endpoint, "
                      f"so it spreads connections over {len(nodes)} node(s) ({', '.join(nodes)}), 1/{len(nodes)} "
                      f"each (A15; impl: equal weight per healthy node){ranges_ok}{pm}")
            self.notes.append(lbmod.equal_note())
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
        ready_eps = [ep for ep in self.endpoints(svc, sp) if ep.ready]
        nodes = self.ex.backend_nodes.get(ip)
        if nodes is None:  # Node objects of the graph's lb → node edges, once per model (5,000 at the threshold)
            nodes = self.ex.backend_nodes[ip] = [self.m.nodes[n] for n in backends]
        groups, note = lbmod.spread(svc, nodes, ready_eps)
        if note:
            self.notes.append(note)
        out = []
        for node, share, why in groups:
            nhops = [*hops, hop]
            if node:
                nip = kp.node_ip(self.m, node)
                nhops.append(Hop("node", Ref("node", "", node), "receive",
                                 f"node {node} ({nip}) receives the load-balancer traffic"
                                 + (f" on NodePort {sp.node_port}" if sp.node_port else "") + why))
            nhops.append(self.lb_service_hop(svc, sp, ip))
            out.extend(self.proxy(src, nhops, prob * share, svc, sp, entry="lb", vip=f"{ip}:{sp.port}", node=node))
        return out

    def lb_service_hop(self, svc: Service, sp: ServicePort, ip: str) -> Hop:
        return Hop("service", Ref.key("service", svc.key), "match",
                   f"{ip}:{sp.port}/{sp.protocol} is the load-balancer address of Service {svc.key} port "
                   f"{sp.name or sp.port} (targetPort {sp.effective_target}); kube-proxy's KUBE-EXT rules take it")
