"""kube-proxy: which endpoints a packet to a service address can reach, with what probability (docs/semantics.md §A).

Each rule lives in one function here:
- `find_service_port` / `find_node_port`  A3 (port by number or name, protocol), `no-service-port`
- `service_endpoints`  A7 (slice ports joined to service ports by name AND protocol, slice port = DNAT port,
                       first address only), A5/A6 (nil conditions), A19
- `categorize`         A17 (Cluster / Local, serving+terminating fallback), A18 (topology hints, PreferClose via
                       `hint_zones`), applying the Local scope that traffic_policy.endpoint_scope (A15/A16) chose
- `balance_detail`     A12 / A20 (uniform 1/n; the iptables 1/(n-i) chain, IPVS rr, nftables numgen), A11
- `source_nat`         A13 (external + Cluster ⇒ masquerade to the node IP; hairpin; Local keeps the client IP)
- `proxy_skip_reason`  A2 (headless), A22 (service-proxy-name): services kube-proxy programs no rules for
Nothing here scans all pods or services: it reads one service's slices through `ClusterModel` indexes.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from .cluster import ClusterModel
from .model import Pod, Service, ServicePort

PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name"


@dataclass(slots=True)
class ProxyEndpoint:
    """One endpoint of one service port, as kube-proxy sees it."""

    ip: str
    port: int
    ready: bool
    serving: bool
    terminating: bool
    node_name: str
    zone: str
    hint_zones: tuple[str, ...]
    hostname: str
    pod: Pod | None
    slice_name: str

    @property
    def addr(self) -> str:
        return f"[{self.ip}]:{self.port}" if ":" in self.ip else f"{self.ip}:{self.port}"

    @property
    def label(self) -> str:
        return f"pod:{self.pod.key}" if self.pod else f"external:{self.ip}"


def describe_ports(svc: Service) -> str:
    parts = []
    for p in svc.ports:
        name = f"{p.name} " if p.name else ""
        node = f", nodePort {p.node_port}" if p.node_port else ""
        parts.append(f"{name}{p.port}/{p.protocol}{node}")
    return ", ".join(parts) or "none"


# -- A3 ----------------------------------------------------------------------------------------------------

def find_service_port(svc: Service, port: int | str | None, protocol: str) -> ServicePort | None:
    """The service port addressed by number or name (and protocol). None if the service has no such port.

    With no port given, a single-port service's only port is meant.
    """
    same_proto = [p for p in svc.ports if (p.protocol or "TCP") == protocol]
    if port is None:
        return same_proto[0] if len(same_proto) == 1 else None
    for p in same_proto:
        if (isinstance(port, int) and p.port == port) or (isinstance(port, str) and p.name == port):
            return p
    return None


def find_node_port(svc: Service, node_port: int, protocol: str) -> ServicePort | None:
    for p in svc.ports:
        if p.node_port == node_port and (p.protocol or "TCP") == protocol:
            return p
    return None


def missing_port_detail(svc: Service, port, protocol: str, what: str = "port") -> str:
    shown = port if port is not None else "(none given)"
    hint = ""
    targets = [p for p in svc.ports if p.effective_target == port]
    if targets:
        t = targets[0]
        hint = (f"; {port} is the targetPort of port {t.port} — clients address the service port, "
                f"use --port {t.name or t.port}")
    elif svc.ports:
        hint = f"; use --port {svc.ports[0].name or svc.ports[0].port} or add a port to spec.ports"
    if port is None and len(svc.ports) > 1:
        return (f"Service {svc.key} has several ports ({describe_ports(svc)}); give --port to pick one")
    return (f"Service {svc.key} has no {what} {shown}/{protocol} (ports: {describe_ports(svc)}){hint}")


# -- A2 / A22 / A9 -----------------------------------------------------------------------------------------

def proxy_skip_reason(svc: Service) -> str | None:
    """Why kube-proxy programs no rules for this service, or None."""
    if svc.type == "ExternalName":
        return "an ExternalName service has no ClusterIP and no proxy rules; it exists only in DNS (A1)"
    if svc.headless:
        return "a headless service (clusterIP: None) has no virtual IP; kube-proxy ignores it (A2)"
    if PROXY_NAME_LABEL in svc.labels:
        return (f"Service {svc.key} is labelled {PROXY_NAME_LABEL}={svc.labels[PROXY_NAME_LABEL]}: kube-proxy "
                f"skips it (A22) and another proxy, not in the snapshot, would handle it; remove the label to "
                f"let kube-proxy serve it")
    return None


# -- A5 / A6 / A7 -------------------------------------------------------------------------------------------

def _pod_for(model: ClusterModel, ep, ip: str) -> Pod | None:
    if ep.target_kind in ("Pod", "") and ep.target_name:
        pod = model.pods.get(f"{ep.target_namespace or ''}/{ep.target_name}")
        if pod is not None:
            return pod
    return model.pod_by_ip.get(ip)


endpoint_pod = _pod_for  # the pod an EndpointSlice endpoint stands for (targetRef, else its address)


def service_endpoints(model: ClusterModel, svc: Service, sp: ServicePort | None) -> list[ProxyEndpoint]:
    """Endpoints of service port `sp` (all ports when sp is None: DNS view), deduplicated by ip:port.

    A7: a slice port joins a service port when name AND protocol agree; its number is the DNAT port; only
    the first address of each endpoint is used. A6: nil ready/serving ⇒ true, nil terminating ⇒ false.
    """
    out: list[ProxyEndpoint] = []
    seen: set[tuple[str, int]] = set()
    proto = (sp.protocol or "TCP") if sp else None
    for sl in sorted(model.slices_by_service.get(svc.key, ()), key=lambda s: s.name):
        if sp is not None:
            ports = [p.port for p in sl.ports if (p.name or "") == (sp.name or "")
                     and (p.protocol or "TCP") == proto and p.port]
            if not ports:
                continue
            port = ports[0]
        else:
            port = 0
        for ep in sl.endpoints:
            if not ep.addresses:
                continue
            ip = ep.addresses[0]
            if (ip, port) in seen:
                continue
            seen.add((ip, port))
            ready = True if ep.ready is None else bool(ep.ready)
            serving = True if ep.serving is None else bool(ep.serving)
            terminating = False if ep.terminating is None else bool(ep.terminating)
            if ep.serving is None and ep.ready is not None:
                serving = ready  # older slices: serving mirrors ready
            pod = _pod_for(model, ep, ip)
            ep_target = ep.target_namespace
            if pod is not None and not ep_target:
                pass
            hostname = ep.hostname
            if not hostname and pod is not None and pod.hostname and pod.subdomain == svc.name:
                hostname = pod.hostname  # A5: the controller sets it from spec.hostname + subdomain
            node_name = ep.node_name or (pod.node_name if pod else "")
            zone = ep.zone
            if not zone and node_name in model.nodes:
                zone = model.nodes[node_name].zone
            out.append(ProxyEndpoint(ip=ip, port=port, ready=ready, serving=serving, terminating=terminating,
                                     node_name=node_name, zone=zone, hint_zones=tuple(ep.hint_zones),
                                     hostname=hostname, pod=pod, slice_name=sl.name))
    # endpointslicecache.go sorts a service port's endpoints by their "ip:port" string; the iptables/nftables
    # rules follow that order, so rule i of the probability chain is the i-th endpoint in this order.
    out.sort(key=lambda e: e.addr)
    return out


def condition_text(ep: ProxyEndpoint) -> str:
    if ep.ready:
        return "ready"
    if ep.serving and ep.terminating:
        return "serving but terminating"
    if ep.serving:
        return "serving, not ready"
    return "not serving"


# -- A17 / A18 / A15 / A16 ------------------------------------------------------------------------------------

@dataclass(slots=True)
class Selection:
    endpoints: list[ProxyEndpoint]
    notes: list[str]
    reason: str | None = None  # drop reason when endpoints is empty
    detail: str = ""


def _hints(svc: Service, ep: ProxyEndpoint) -> tuple[str, ...]:
    if ep.hint_zones:
        return ep.hint_zones
    if svc.traffic_distribution == "PreferClose" and ep.zone:
        return (ep.zone,)  # trafficdist.go: PreferClose hints each endpoint for its own zone
    return ()


hint_zones = _hints  # the zones an endpoint is hinted for (EndpointSlice hints or PreferClose)


def topology_filter(svc: Service, ready: list[ProxyEndpoint], zone: str | None) -> tuple[list[ProxyEndpoint], str]:
    """A18: keep endpoints hinted for `zone` only if every ready endpoint has a hint and one names the zone."""
    if not ready or not zone:
        return ready, ""
    hints = [_hints(svc, ep) for ep in ready]
    if not all(hints):
        if any(hints):
            return ready, ("topology hints ignored: not every ready endpoint has a zone hint, so all "
                           "endpoints are used (A18)")
        return ready, ""
    local = [ep for ep, h in zip(ready, hints, strict=False) if zone in h]
    if not local:
        return ready, f"topology hints ignored: no endpoint is hinted for zone {zone}, so all endpoints are used"
    src = "trafficDistribution: PreferClose" if svc.traffic_distribution == "PreferClose" else "EndpointSlice hints"
    return local, (f"topology-aware routing ({src}): only the {len(local)} endpoint(s) hinted for zone {zone} "
                   f"are used (A18)")


def categorize(svc: Service, eps: list[ProxyEndpoint], *, local_node: str | None, zone: str | None,
               policy_field: str) -> Selection:
    """A17 CategorizeEndpoints. `local_node` set ⇒ a Local policy applies on that node."""
    usable_anywhere = [ep for ep in eps if ep.ready or (ep.serving and ep.terminating)]
    if not usable_anywhere:
        if not eps:
            why = (f"Service {svc.key} has no endpoints for this port: "
                   + ("its spec.selector " + ", ".join(f"{k}={v}" for k, v in sorted(svc.selector.items()))
                      + " matches no running pod that has the targetPort; fix spec.selector (or the pods' labels), "
                        "or the targetPort name" if svc.selector
                      else "it has no selector and no EndpointSlice labelled kubernetes.io/service-name="
                      + svc.name + " with a matching port name and protocol"))
        else:
            why = (f"Service {svc.key} has {len(eps)} endpoint(s) but none is ready or serving-terminating ("
                   + ", ".join(f"{ep.label} {condition_text(ep)}" for ep in eps[:5])
                   + "); fix the pods' readiness")
        return Selection([], [], "no-endpoints", why + "; kube-proxy REJECTs the connection (A14)")
    if local_node is not None:
        local = [ep for ep in eps if ep.node_name == local_node]
        ready = [ep for ep in local if ep.ready]
        if ready:
            return Selection(ready, [f"{policy_field}: Local: only endpoints on node {local_node} are used"])
        fallback = [ep for ep in local if ep.serving and ep.terminating]
        if fallback:
            return Selection(fallback, [f"{policy_field}: Local: no ready endpoint on node {local_node}; "
                                        f"falling back to its serving-terminating endpoints (A17)"])
        return Selection([], [], "no-local-endpoints",
                         f"Service {svc.key} has {policy_field}: Local and no usable endpoint on node "
                         f"{local_node} (endpoints are on: "
                         + ", ".join(sorted({ep.node_name or '?' for ep in usable_anywhere})) +
                         f"); the packet is dropped there. Set spec.{policy_field}: Cluster or run a backend "
                         f"on {local_node}")
    ready = [ep for ep in eps if ep.ready]
    notes = []
    if ready:
        chosen, note = topology_filter(svc, ready, zone)
        if note:
            notes.append(note)
        return Selection(chosen, notes)
    fallback = [ep for ep in eps if ep.serving and ep.terminating]
    notes.append("no endpoint is ready anywhere, so kube-proxy falls back to serving-terminating endpoints (A17)")
    return Selection(fallback, notes)


# -- A12 / A20 / A11 ---------------------------------------------------------------------------------------------

def _hash16(text: str) -> str:
    """base32(sha256(text))[:16]; 10 bytes encode to exactly 16 base32 characters."""
    return base64.b32encode(hashlib.sha256(text.encode()).digest()[:10]).decode()


def svc_chain(svc: Service, sp: ServicePort, prefix: str = "KUBE-SVC-") -> str:
    """kube-proxy's chain name: prefix + base32(sha256("ns/name:port" + protocol))[:16]."""
    return prefix + _hash16(f"{svc.namespace}/{svc.name}:{sp.name}{(sp.protocol or 'TCP').lower()}")


_CHAINS: dict[tuple[str, str, str, str], str] = {}


def _chain_cache(svc: Service, sp: ServicePort, prefix: str) -> str:
    key = (svc.key, sp.name, sp.protocol, prefix)
    name = _CHAINS.get(key)
    if name is None:
        if len(_CHAINS) > 100_000:
            _CHAINS.clear()
        name = _CHAINS[key] = svc_chain(svc, sp, prefix)
    return name


def sep_chain(svc: Service, sp: ServicePort, ep: ProxyEndpoint) -> str:
    return "KUBE-SEP-" + _hash16(f"{svc.namespace}/{svc.name}:{sp.name}{(sp.protocol or 'TCP').lower()}{ep.addr}")


def balance_detail(svc: Service, sp: ServicePort, eps: list[ProxyEndpoint], i: int, mode: str,
                   vip: str, chain_prefix: str = "KUBE-SVC-") -> str:
    """How endpoint i of n is chosen, in the words of the proxy mode (A12 / A20)."""
    n = len(eps)
    ep = eps[i]
    if mode == "ipvs":
        text = (f"IPVS virtual server {vip} (scheduler rr) → real server {ep.addr}: round-robin gives it "
                f"1 of every {n} new connection(s)")
    elif mode == "nftables":
        text = (f"nftables service-{svc.namespace}/{svc.name}/{(sp.protocol or 'TCP').lower()}/{sp.name} "
                f"vmap numgen random mod {n} → element {i} → DNAT to {ep.addr} (probability 1/{n})")
    else:
        chain = _chain_cache(svc, sp, chain_prefix)
        if n == 1:
            rule = "its only rule"
        elif i == n - 1:
            rule = f"rule {n}/{n} (no probability match: it takes every connection the earlier rules skipped)"
        else:
            rule = f"rule {i + 1}/{n} -m statistic --mode random --probability 1/{n - i}"
        text = f"{chain} {rule} → {sep_chain(svc, sp, ep)}: DNAT to {ep.addr}; overall 1/{n} of new connections"
    if svc.session_affinity == "ClientIP":
        text += (f"; sessionAffinity ClientIP: a given client IP sticks to the endpoint its first connection "
                 f"picked for {svc.session_affinity_timeout}s (the share shown is over clients) (A11)")
    return text


# -- A13 -----------------------------------------------------------------------------------------------------------

_ENTRY_WORDS = {"node-port": "NodePort", "lb": "load-balancer address", "external-ip": "externalIP"}


def source_nat(svc: Service, entry: str, *, src_kind: str, src_ip: str, node: str | None, node_addr: str | None,
               hairpin: bool, local_scope: bool, external_client: bool) -> tuple[str | None, str]:
    """A13: (the source address the backend sees when kube-proxy masquerades, else None; the sentence saying so).

    Traffic entering through an external address (NodePort, LB, externalIP) is masqueraded to the node's IP
    unless externalTrafficPolicy Local keeps the client IP; a pod reaching itself through its service (hairpin)
    is masqueraded too; ClusterIP traffic keeps the client IP. A node's own processes already use its IP.
    """
    masquerade = entry != "cluster-ip" and not local_scope and (
        src_kind == "external" or svc.external_traffic_policy != "Local")
    if masquerade and node_addr and src_kind != "node":
        return node_addr, (f"; SNAT: traffic entering through the {_ENTRY_WORDS.get(entry, entry)} with "
                           f"externalTrafficPolicy: {svc.external_traffic_policy} is masqueraded to node {node}'s IP "
                           f"{node_addr}, so the backend (and its NetworkPolicy) sees {node_addr}, not {src_ip} (A13)")
    if hairpin:
        addr = node_addr or src_ip
        return addr, f"; hairpin: the pod reaches itself through its service, so it is masqueraded to {addr} (A13)"
    if local_scope and external_client:
        return None, f"; externalTrafficPolicy: Local keeps the client IP {src_ip} (A15)"
    if entry == "cluster-ip":
        return None, f"; no SNAT: the backend sees the client IP {src_ip} (A13)"
    return None, ""


def node_ip(model: ClusterModel, node_name: str | None) -> str | None:
    node = model.nodes.get(node_name or "")
    return node.internal_ip if node else None
