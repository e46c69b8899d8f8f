"""kube-proxy and the endpoint (docs/semantics.md A11-A20, E5, E10, E11): the trace walk's steps from a
service address to a delivered (or dropped) packet.

A mixin of the trace walk (`trace._Tracer`). The decisions are calls: traffic_policy.endpoint_scope (whose
endpoints), kubeproxy.categorize (which endpoints, A17/A18), kubeproxy.balance_detail (1/n, A12/A20),
kubeproxy.source_nat (A13), and the NetworkPolicy engine (netpol) for egress at the source and ingress at the
destination, after DNAT.
"""
from __future__ import annotations

from . import kubeproxy as kp
from .excluded_endpoints import excluded
from .model import Pod, Service, ServicePort
from .netpol import Peer
from .pod_readiness import not_ready_endpoints
from .result import DROPPED, Hop, Path, Ref
from .trace_local import to_node_endpoint
from .trace_state import Source
from .traffic_policy import endpoint_scope


class ProxyWalk:
    """Service address → kube-proxy → endpoint, under NetworkPolicy."""

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

    def proxy(self, src: Source, hops, prob, svc: Service, sp: ServicePort, *, entry: str, vip: str,
              node: str | None) -> list[Path]:
        """kube-proxy on `node` picks an endpoint (A12–A18, A20), DNATs, maybe SNATs (A13)."""
        kp_id = Ref("kube-proxy", "", node or "")
        # the graph's kube-proxy → svc (vip) edges are the services kube-proxy programs; the reason it skips one
        # is kubeproxy.proxy_skip_reason's
        skip = None if self.graph.reaches("kube-proxy", "", "service", svc.key) else kp.proxy_skip_reason(svc)
        if skip:
            return self.drop(src, hops, prob, "no-endpoints", Hop("kube-proxy", kp_id, "no-rules", skip))
        scope = endpoint_scope(svc, entry, src_external=src.kind == "external", src_node=src.node_name, node=node)
        local_node = scope.local_node
        zone = self.m.nodes[node].zone if node in self.m.nodes else None
        eps = self.endpoints(svc, sp)
        sel = kp.categorize(svc, eps, local_node=local_node, zone=zone, policy_field=scope.field or "trafficPolicy")
        for e in excluded(self.m, svc, sp, eps, sel.endpoints, local_node=local_node, zone=zone,
                          policy_field=scope.field or "trafficPolicy"):
            self.excluded.setdefault((e["service"], e["endpoint"], e["reason"]), e)
        if sel.reason:
            action = "reject" if sel.reason == "no-endpoints" else "drop"
            why = not_ready_endpoints(self.m, [ep.pod for ep in eps if ep.pod is not None]) if (
                sel.reason == "no-endpoints" and eps and all(ep.pod is not None for ep in eps)) else ""
            if why:  # J2 / I3: the only pods that could serve never became Ready, and the snapshot says why
                return self.drop(src, hops, prob, "pod-not-ready", Hop("kube-proxy", kp_id, action,
                                                                       f"{sel.detail}; {why}"))
            return self.drop(src, hops, prob, sel.reason, Hop("kube-proxy", kp_id, action, sel.detail))
        chosen = sel.endpoints
        n = len(chosen)
        prefix = "KUBE-SVL-" if local_node else "KUBE-SVC-"
        if scope.note:
            sel.notes.append(scope.note.format(source=src.label))
        node_addr = kp.node_ip(self.m, node)
        out = []
        for i, ep in enumerate(chosen):
            detail = kp.balance_detail(svc, sp, chosen, i, self.a.proxy_mode, vip, prefix)
            hairpin = src.pod is not None and ep.pod is not None and ep.pod.key == src.pod.key
            masq, snat_text = kp.source_nat(svc, entry, src_kind=src.kind, src_ip=src.ip, node=node,
                                            node_addr=node_addr, hairpin=hairpin, local_scope=local_node is not None,
                                            external_client=scope.external_client)
            seen = Peer(None, masq, node) if masq else src.peer
            notes = ("; " + "; ".join(sel.notes)) if sel.notes else ""
            hop = Hop("kube-proxy", kp_id, "dnat",
                      f"{vip}/{sp.protocol} → {ep.addr} ({ep.label}, {kp.condition_text(ep)}): {detail}{snat_text}{notes}")
            out.extend(self.to_endpoint(src, [*hops, hop], prob / n, ep, ep.port, seen, at_node=node))
        return out

    def endpoints(self, svc: Service, sp: ServicePort) -> list[kp.ProxyEndpoint]:
        """The endpoints a packet to `svc` port `sp` may go to: the graph's svc → pod / external (endpoint) edges,
        each with its port and conditions from its EndpointSlice (kubeproxy.service_endpoints: A6/A7), in
        kube-proxy's rule order. Readiness, traffic policy and topology then filter them (kubeproxy.categorize)."""
        succ = self.graph.successors("service", svc.key)  # vertex id → edge (graph.vertex_id: "pod:NS/NAME")
        return [ep for ep in kp.service_endpoints(self.m, svc, sp)
                if (f"pod:{ep.pod.namespace}/{ep.pod.name}" if ep.pod is not None else "external") in succ]

    def to_endpoint(self, src, hops, prob, ep: kp.ProxyEndpoint, port: int, seen: Peer,
                    at_node: str | None = None) -> list[Path]:
        if ep.pod is not None:
            return self.to_pod(src, hops, prob, ep.pod, ep.ip, port, seen, at_node=at_node)
        node = self.m.node_by_ip.get(ep.ip)
        if node is not None and isinstance(port, int):  # e.g. default/kubernetes → the API server's node (H5)
            return to_node_endpoint(self, src, hops, prob, node, ep.ip, port, ep.slice_name)
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
        dst_peer = Peer(pod, ip, pod.node_name or None)
        if src.kind == "pod":  # egress is enforced at the source, before the packet leaves its node (E10)
            d = self.decide("egress", src.peer, dst_peer, port)
            self.notes.extend(d.assumptions)
            hops.append(self.policy_hop(d, src.pod))
            if not d.allowed:
                return [Path(src.ref, DROPPED, "policy-egress-denied", prob, None, None, hops)]
        there = self.pod_node(pod)  # the destination pod's node: the graph's pod → node edge
        if here and there and here != there:
            hops.append(Hop("node", Ref("node", "", there), "forward",
                            f"the CNI routes the packet from node {here} to node {there}"))
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
