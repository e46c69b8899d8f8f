"""Pod-local and node traffic (docs/semantics.md H1, H2, H4, H5): the trace walk's steps for loopback,
/etc/hosts names, and addresses that are a node's.

- `local_entry`             the registered entry: `ip:127.0.0.1` / `ip:::1` from a pod or a node (H1), and `dns:`
                            names the pod's /etc/hosts answers (H2: no DNS query, so no kube-dns hop)
- `to_loopback`             the pod's own container that serves the port (a hostNetwork pod / node: the node's
                            listeners); nothing leaves the pod: no kube-proxy, no NetworkPolicy
- `to_node_listener`        a node address + port: a hostNetwork pod (to_pod), the kubelet or kube-proxy
                            (endpoint `node:NAME`), else `no-listener` (H4)
- `to_node_endpoint`        a Service endpoint whose address is a node's InternalIP (default/kubernetes: the API
                            server's advertise address) ends at that node, not outside the cluster (H5)
Decisions: pod_local (is_loopback, hosts_entry), node_listeners (pod_listener, node_listener).
"""
from __future__ import annotations

from .errors import BadRequest
from .model import Node
from .netpol import Peer
from .node_listeners import Listener, node_listener, pod_listener
from .pod_local import hosts_entry, is_loopback
from .result import DROPPED, Hop, Path, Ref


def local_entry(t, src, hops, prob, dest) -> list[Path] | None:
    """H1/H2 entry: None when the flow is not pod-local."""
    if dest.kind == "ip" and is_loopback(dest.parts[0]) and src.kind in ("pod", "node") and not t.via:
        return to_loopback(t, src, hops, prob, dest.parts[0], _numeric(t, dest.parts[0]))
    if dest.kind == "dns" and src.kind == "pod":
        name = dest.parts[0]
        entry = hosts_entry(t.m, src.pod, name)
        if entry is None:
            return None
        ip, why = entry
        hop = Hop("dns", Ref("dns", "", name.lower().rstrip(".")), "hosts",
                  f"{name} → {ip}: {why}; no DNS query is sent, so NetworkPolicy on DNS does not matter")
        if is_loopback(ip):
            return to_loopback(t, src, [*hops, hop], prob, ip, _numeric(t, name))
        return t.to_ip(src, [*hops, hop], prob, ip, _numeric(t, name))
    if dest.kind == "url" and src.kind in ("pod", "node"):  # url:http://localhost:PORT/… — the pod's own loopback
        host, port = dest.parts[1], int(dest.parts[2])
        if is_loopback(host):
            return to_loopback(t, src, hops, prob, host, port)
        entry = hosts_entry(t.m, src.pod, host) if src.kind == "pod" else None
        if entry is not None and is_loopback(entry[0]):
            hop = Hop("dns", Ref("dns", "", host), "hosts", f"{host} → {entry[0]}: {entry[1]}; no DNS query is sent")
            return to_loopback(t, src, [*hops, hop], prob, entry[0], port)
    return None


def _numeric(t, what: str) -> int:
    if not isinstance(t.port, int):
        raise BadRequest(f"give a numeric --port for {what}")
    return t.port


def to_loopback(t, src, hops, prob, ip: str, port: int) -> list[Path]:
    """H1: the loopback of the pod's network namespace (the node's for a hostNetwork pod or a node process)."""
    if src.kind == "pod" and not src.pod.host_network:
        pod = src.pod
        hit = pod_listener(pod, port, t.proto)
        if hit is None:
            ports = sorted({f"{cp.container_port}/{cp.protocol or 'TCP'}" for cp in pod.container_ports()})
            return t.drop(src, hops, prob, "no-listener",
                          Hop("pod", src.ref, "no-listener",
                              f"{ip}:{port}/{t.proto} is pod {pod.key}'s own loopback, but no container of it "
                              f"declares, probes or is known to open {port} (declared: {', '.join(ports) or 'none'}; "
                              f"impl: a process on an undeclared port is not in the snapshot) (H1)"))
        lo = Hop("loopback", src.ref, "local",
                 f"{ip}:{port}/{t.proto} stays inside pod {pod.key}: all its containers share one network "
                 f"namespace; nothing leaves the pod: no kube-proxy, no NetworkPolicy (H1)")
        return t.deliver(src, [*hops, lo], prob, src.ref, port,
                         Hop("endpoint", src.ref, "loopback",
                             f"{hit.why}, so container {hit.container} answers on {ip}:{port}/{t.proto} (H1)"))
    node = t.m.nodes.get(src.node_name or "")
    who = f"hostNetwork pod {src.pod.key}" if src.kind == "pod" else "the node process"
    if node is None:
        return t.drop(src, hops, prob, "no-listener",
                      Hop("node", Ref("node", "", src.node_name or ""), "no-listener",
                          f"{who} shares its node's loopback, but its node {src.node_name or '?'} is not in the "
                          f"snapshot: what listens on {ip}:{port} is unknown (H1)"))
    hit = node_listener(t.m, node, port, t.proto, loopback=True)
    lead = f"{who} shares node {node.name}'s network namespace: {ip}:{port}/{t.proto} is the node's loopback"
    if hit is None:
        return _no_listener(t, src, hops, prob, node, ip, port, lead)
    return _deliver_listener(t, src, hops, prob, node, ip, port, hit, lead, policy=False)


def to_node_listener(t, src, hops, prob, node: Node, ip: str, port: int) -> list[Path]:
    """H4: after NodePort and hostPort (A21) found nothing: a hostNetwork pod, the kubelet or kube-proxy."""
    hit = node_listener(t.m, node, port, t.proto)
    lead = f"node {node.name} ({ip}) port {port}/{t.proto}"
    if hit is None:
        return _no_listener(t, src, hops, prob, node, ip, port, lead)
    return _deliver_listener(t, src, hops, prob, node, ip, port, hit, lead, policy=True)


def to_node_endpoint(t, src, hops, prob, node: Node, ip: str, port: int, slice_name: str) -> list[Path]:
    """H5: a Service endpoint at a node's address (the API server's advertise address for default/kubernetes)."""
    hit = node_listener(t.m, node, port, t.proto)
    lead = (f"endpoint {ip}:{port} (EndpointSlice {slice_name}) is node {node.name}'s address: the traffic "
            f"stays in the cluster and ends at that node (H5)")
    if hit is None:
        hit = Listener("node", port, f"a process of node {node.name} serves {port} (it advertises this endpoint; "
                                     f"its static pod is not in the snapshot)")
    return _deliver_listener(t, src, hops, prob, node, ip, port, hit, lead, policy=True)


def _no_listener(t, src, hops, prob, node: Node, ip: str, port: int, lead: str) -> list[Path]:
    return t.drop(src, hops, prob, "no-listener",
                  Hop("node", Ref("node", "", node.name), "no-listener",
                      f"{lead}: nothing listens there — no Service nodePort, no hostPort, no hostNetwork pod "
                      f"of the node declares, probes or is known to open it, and it is neither the kubelet "
                      f"({node.kubelet_port}) nor kube-proxy's health port (10256) (H4; impl: a host process "
                      f"outside Kubernetes is not in the snapshot)"))


def _deliver_listener(t, src, hops, prob, node: Node, ip: str, port: int, hit: Listener, lead: str, *,
                      policy: bool) -> list[Path]:
    if hit.kind == "pod":
        hop = Hop("node", Ref("node", "", node.name), "receive",
                  f"{lead} is served by hostNetwork pod {hit.pod.key}: {hit.why} (H4)")
        if not policy:
            hop = Hop("loopback", Ref("node", "", node.name), "local", hop.detail)
            return t.deliver(src, [*hops, hop], prob, Ref.key("pod", hit.pod.key), port,
                             Hop("endpoint", Ref.key("pod", hit.pod.key), "loopback",
                                 f"container {hit.container} of pod {hit.pod.key} answers on the node's loopback; "
                                 f"nothing leaves the node (H1)"))
        return t.to_pod(src, [*hops, hop], prob, hit.pod, ip, port, src.peer)
    out = list(hops)
    if policy and src.kind == "pod" and not src.pod.host_network:
        d = t.pe.egress(src.peer, Peer(None, ip, node.name), port, t.proto)
        t.notes.extend(d.assumptions)
        out.append(t.policy_hop(d, src.pod))
        if not d.allowed:
            return [Path(src.ref, DROPPED, "policy-egress-denied", prob, None, None, out)]
    if policy and src.node_name and src.node_name != node.name:
        out.append(Hop("node", Ref("node", "", node.name), "forward",
                       f"the network routes the packet from node {src.node_name} to node {node.name}"))
    node_ref = Ref("node", "", node.name)
    if hit.kind in ("kubelet", "kube-proxy"):
        out.append(Hop("kubelet" if hit.kind == "kubelet" else "node", node_ref, "listen", hit.why))
    return t.deliver(src, out, prob, node_ref, port,
                     Hop("endpoint", node_ref, "deliver", f"{lead}: {hit.why}; the endpoint is node:{node.name} "
                                                         f"({hit.kind}) (H4)"))
