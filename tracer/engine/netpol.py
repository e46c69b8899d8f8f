"""NetworkPolicy evaluation (docs/semantics.md §E, rules E1–E11), each rule in one place.

Why a compiled engine: a trace asks "may this packet leave pod A / enter pod B?" at two points per
path (E5), a matrix asks it for every pod pair, and a snapshot is immutable. So the policies of a
`ClusterModel` are compiled once (`policy_engine(model)` caches the engine on the model) into
per-namespace lists with their selectors ready, and every answer is a `PolicyDecision` that says
which policy and rule allowed the packet, or names the policy and the field to change.

The rules, where they live here:
- E1  `PolicyEngine.enforced` — a CNI that does not enforce NetworkPolicy allows everything (stated).
- E2  `_isolating` — a pod is isolated for a direction iff a policy of its namespace selects it and
      lists that direction in policyTypes.
- E3  `effective_policy_types` — the default when policyTypes is absent.
- E4/E6 `_evaluate` — union of rules; within a rule peers AND ports; empty peers/ports match all.
- E5  callers evaluate `egress` at the source and `ingress` at the destination (trace.py does both).
- E7  `_peer_matches` — podSelector / namespaceSelector / both (AND) / ipBlock with except.
- E8  `_port_matches` — protocol default TCP, numeric or named port (resolved on the destination
      pod), inclusive endPort.
- E9  idioms fall out of E3/E6 (default deny, allow-all `[{}]`, default-deny egress blocks DNS);
      the denial detail points at DNS when UDP/TCP 53 is refused.
- E10 is the caller's job: evaluate with the backend pod and targetPort after DNAT.
- E11 `_always_allowed` — the pod's own node (kubelet probes) and the pod itself.

Implementation-defined choices are listed in `ASSUMPTIONS` and copied on each decision: an ipBlock
never matches a pod IP (`ipblock_matches_pods=True` for Calico-like matching) and a hostNetwork pod
is its node (`host_network_as_node=False` for the network-config-analyzer's reading).

Whole-cluster questions (matrices, benchmarks) use podclasses.py: `policy_classes` — pods that policy
cannot tell apart — and `allowed_pairs(model, port, protocol)`, which compiles every selector once
against classes, never against pods. `PolicyEngine.connections` gives every protocol/port a pair may use.
"""
from __future__ import annotations

import ipaddress
import weakref
from collections.abc import Iterable
from dataclasses import dataclass

from .cluster import ClusterModel
from .model import IPBlock, NetworkPolicy, Pod, PolicyPeer, PolicyPort, PolicyRule
from .stable_labels import stable_labels

__all__ = [
    "Peer", "PolicyDecision", "PolicyEngine", "policy_engine", "policies_selecting",
    "effective_policy_types", "Connections", "ASSUMPTIONS", "IPBLOCK_POD_ASSUMPTION",
    "HOSTNETWORK_ASSUMPTION", "NOT_ENFORCED_ASSUMPTION", "PROTOCOLS",
]

PROTOCOLS = ("TCP", "UDP", "SCTP")
MAX_PORT = 65535

IPBLOCK_POD_ASSUMPTION = (
    "(impl) ipBlock peers are matched against cluster-external addresses only (node IPs and IPs "
    "outside the pod network); a pod's own IP is never matched by an ipBlock, as the "
    "network-config-analyzer oracle assumes; select pods with podSelector/namespaceSelector")
HOSTNETWORK_ASSUMPTION = (
    "(impl) hostNetwork pods are treated as their node: no NetworkPolicy isolates them and "
    "podSelector/namespaceSelector peers do not match their traffic, which carries the node IP")
NOT_ENFORCED_ASSUMPTION = (
    "the CNI is assumed not to enforce NetworkPolicy (cni_enforces_policy=false), so policies are "
    "not applied")
HOSTNETWORK_AS_POD_ASSUMPTION = (
    "(impl) hostNetwork pods are treated like other pods: selected by policies and matched by "
    "podSelector/namespaceSelector peers (the network-config-analyzer's reading)")
ASSUMPTIONS = (IPBLOCK_POD_ASSUMPTION, HOSTNETWORK_ASSUMPTION)


# ---------------------------------------------------------------------------------------------
# Inputs and outputs


@dataclass(frozen=True, slots=True)
class Peer:
    """One end of a packet as policy sees it.

    `pod` is None for an address outside the pod network: a node, a load balancer's SNAT address or
    an external client. `node_name` says which node such an address belongs to, when known (E11).
    """

    pod: Pod | None
    ip: str
    node_name: str | None = None

    @classmethod
    def of_pod(cls, pod: Pod) -> Peer:
        return cls(pod, pod.ip or "", pod.node_name or None)

    def describe(self) -> str:
        if self.pod is not None:
            return f"pod {self.pod.key} ({self.ip})" if self.ip else f"pod {self.pod.key}"
        if self.node_name:
            return f"node {self.node_name} ({self.ip})"
        return self.ip or "an unknown address"


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    """The verdict of one direction (egress at the source or ingress at the destination)."""

    allowed: bool
    isolated: bool
    policies: tuple[str, ...]  # ns/name of every policy isolating the pod in this direction
    allowed_by: str | None  # "ns/name rule #i" (1-based), None if nothing allowed it or not isolated
    detail: str
    assumptions: tuple[str, ...] = ()
    direction: str = ""  # "egress" | "ingress"
    # What the policies alone decide. Differs from `allowed` only when E11 (a pod reaching itself,
    # traffic from the pod's own node) lets through what the policies would refuse.
    policy_allowed: bool | None = None


def effective_policy_types(pol: NetworkPolicy) -> tuple[str, ...]:
    """E3: policyTypes as given; absent ⇒ Ingress, plus Egress when the policy has egress rules.

    The importer already defaults them; this keeps hand-built and legacy objects correct too.
    """
    if pol.policy_types:
        return tuple(pol.policy_types)
    return ("Ingress", "Egress") if pol.egress else ("Ingress",)


# ---------------------------------------------------------------------------------------------
# Connection sets (for matrices and oracle comparisons: which protocol/ports a pair may use)


def _norm(intervals: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[list[int]] = []
    for lo, hi in sorted(intervals):
        if out and lo <= out[-1][1] + 1:
            out[-1][1] = max(out[-1][1], hi)
        else:
            out.append([lo, hi])
    return tuple((a, b) for a, b in out)


def _intersect(a: tuple[tuple[int, int], ...], b: tuple[tuple[int, int], ...]):
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Connections:
    """A set of connections: every protocol (`all_protocols`) or port intervals per protocol."""

    all_protocols: bool = False
    ports: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = ()

    @classmethod
    def everything(cls) -> Connections:
        return cls(True)

    @classmethod
    def nothing(cls) -> Connections:
        return cls()

    @classmethod
    def of(cls, mapping: dict[str, Iterable[tuple[int, int]]]) -> Connections:
        items = tuple(sorted((p, _norm(iv)) for p, iv in mapping.items()))
        return cls(False, tuple((p, iv) for p, iv in items if iv))

    def as_dict(self) -> dict[str, tuple[tuple[int, int], ...]]:
        if self.all_protocols:
            return {p: ((1, MAX_PORT),) for p in PROTOCOLS}
        return dict(self.ports)

    def union(self, other: Connections) -> Connections:
        if self.all_protocols or other.all_protocols:
            return Connections.everything()
        merged: dict[str, list[tuple[int, int]]] = {}
        for src in (self.ports, other.ports):
            for p, iv in src:
                merged.setdefault(p, []).extend(iv)
        return Connections.of(merged)

    def intersect(self, other: Connections) -> Connections:
        if self.all_protocols:
            return other
        if other.all_protocols:
            return self
        b = dict(other.ports)
        return Connections.of({p: _intersect(iv, b[p]) for p, iv in self.ports if p in b})

    def __bool__(self) -> bool:
        return self.all_protocols or bool(self.ports)

    def allows(self, port: int, protocol: str = "TCP") -> bool:
        if self.all_protocols:
            return True
        for p, iv in self.ports:
            if p == protocol:
                return any(lo <= port <= hi for lo, hi in iv)
        return False

    def describe(self) -> str:
        if self.all_protocols:
            return "all connections"
        if not self.ports:
            return "no connections"
        parts = []
        for p, iv in self.ports:
            ports = ",".join(str(a) if a == b else f"{a}-{b}" for a, b in iv)
            parts.append(f"{p} {ports}")
        return "; ".join(parts)


# ---------------------------------------------------------------------------------------------
# Matching helpers (E7, E8)


def _net(cidr: str):
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


@dataclass(slots=True)
class _CompiledBlock:
    net: object
    excepts: tuple

    def contains(self, ip: str) -> bool:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return False
        if self.net is None or addr.version != self.net.version or addr not in self.net:
            return False
        return not any(e is not None and e.version == addr.version and addr in e for e in self.excepts)


def _compile_block(block: IPBlock) -> _CompiledBlock:
    return _CompiledBlock(_net(block.cidr), tuple(_net(e) for e in block.except_))


def named_port_numbers(pod: Pod, name: str, protocol: str) -> list[int]:
    """E8: a named port resolves on the destination pod's (non-init) containers, by name and protocol."""
    return [cp.container_port for cp in pod.container_ports() if cp.name == name
            and (cp.protocol or "TCP").upper() == protocol]


def _port_matches(pp: PolicyPort, port: int, protocol: str, dst_pod: Pod | None) -> bool:
    """E8 for one `ports[]` item: protocol (default TCP) and port (number, name or range)."""
    if (pp.protocol or "TCP").upper() != protocol:
        return False
    if pp.port is None or pp.port == "":
        return True
    if isinstance(pp.port, str) and not pp.port.isdigit():
        # named port: only a pod destination has names; a node or external IP never matches
        return dst_pod is not None and port in named_port_numbers(dst_pod, pp.port, protocol)
    lo = int(pp.port)
    hi = pp.end_port if pp.end_port else lo
    return lo <= port <= hi


def _port_intervals(pp: PolicyPort, dst_pod: Pod | None) -> dict[str, list[tuple[int, int]]]:
    """The connections one `ports[]` item allows toward `dst_pod` (for connection sets)."""
    proto = (pp.protocol or "TCP").upper()
    if pp.port is None or pp.port == "":
        return {proto: [(1, MAX_PORT)]}
    if isinstance(pp.port, str) and not pp.port.isdigit():
        if dst_pod is None:
            return {}
        nums = named_port_numbers(dst_pod, pp.port, proto)
        return {proto: [(n, n) for n in nums]} if nums else {}
    lo = int(pp.port)
    return {proto: [(lo, pp.end_port if pp.end_port else lo)]}


def _describe_ports(rule: PolicyRule) -> str:
    if not rule.ports:
        return "every port"
    out = []
    for pp in rule.ports:
        proto = (pp.protocol or "TCP").upper()
        if pp.port is None or pp.port == "":
            out.append(f"{proto} any port")
        elif pp.end_port:
            out.append(f"{proto} {pp.port}-{pp.end_port}")
        else:
            out.append(f"{proto} {pp.port}")
    return ", ".join(out)


def _describe_peer(peer: PolicyPeer, policy_ns: str) -> str:
    if peer.ip_block is not None:
        exc = f" except {', '.join(peer.ip_block.except_)}" if peer.ip_block.except_ else ""
        return f"ipBlock {peer.ip_block.cidr}{exc}"
    parts = []
    if peer.namespace_selector is not None:
        parts.append(f"namespaceSelector {peer.namespace_selector.describe()}")
    else:
        parts.append(f"namespace {policy_ns}")
    if peer.pod_selector is not None:
        parts.append(f"podSelector {peer.pod_selector.describe()}")
    return " and ".join(parts)


# ---------------------------------------------------------------------------------------------
# The engine


class PolicyEngine:
    """All NetworkPolicies of one snapshot, compiled for repeated questions.

    `enforced=False` (E1) answers every question with "allowed" and says why.
    `ipblock_matches_pods` selects the (impl) reading of ipBlock vs pod IPs (default: never; the
    oracle's reading); `True` models CNIs such as Calico that match pod IPs too.
    """

    def __init__(self, model: ClusterModel, *, enforced: bool = True, ipblock_matches_pods: bool = False,
                 host_network_as_node: bool = True):
        self.model = model
        self.enforced = enforced
        self.ipblock_matches_pods = ipblock_matches_pods
        self.host_network_as_node = host_network_as_node
        self._blocks: dict[int, _CompiledBlock] = {}
        self._selecting: dict[tuple, tuple[list[NetworkPolicy], list[NetworkPolicy]]] = {}
        self._ns_labels: dict[str, dict[str, str]] = {}
        self.assumptions = (
            (IPBLOCK_POD_ASSUMPTION,) if not ipblock_matches_pods else
            ("(impl) ipBlock peers also match pod IPs (as Calico and Cilium do)",)) + (
            (HOSTNETWORK_ASSUMPTION,) if host_network_as_node else (HOSTNETWORK_AS_POD_ASSUMPTION,))

    def _node_like(self, pod: Pod | None) -> bool:
        """A hostNetwork pod is policy-wise its node (HOSTNETWORK_ASSUMPTION), unless configured otherwise."""
        return pod is not None and pod.host_network and self.host_network_as_node

    # -- selection (E2, E3) --------------------------------------------------------------------

    def _ns_label_map(self, ns: str) -> dict[str, str]:
        labels = self._ns_labels.get(ns)
        if labels is None:
            labels = self._ns_labels[ns] = self.model.namespace_labels(ns)
        return labels

    def _isolating(self, pod: Pod) -> tuple[list[NetworkPolicy], list[NetworkPolicy]]:
        """E2: (policies isolating the pod for ingress, … for egress), in snapshot order."""
        # keyed by what selection reads (not the pod's name): pods built ad hoc for a question may
        # share a name with different labels, and same-labelled pods share the answer
        cache_key = (pod.namespace, frozenset(pod.labels.items()), pod.host_network)
        got = self._selecting.get(cache_key)
        if got is None:
            ing, eg = [], []
            if not self._node_like(pod):
                for pol in self.model.policies_by_namespace.get(pod.namespace, ()):
                    if pol.pod_selector.matches(pod.labels):
                        types = effective_policy_types(pol)
                        if "Ingress" in types:
                            ing.append(pol)
                        if "Egress" in types:
                            eg.append(pol)
            got = self._selecting[cache_key] = (ing, eg)
        return got

    def selecting(self, pod: Pod) -> list[NetworkPolicy]:
        """Every policy of the pod's namespace whose podSelector selects it (any direction)."""
        if self._node_like(pod):
            return []
        return [p for p in self.model.policies_by_namespace.get(pod.namespace, ())
                if p.pod_selector.matches(pod.labels)]

    # -- peers (E7) ----------------------------------------------------------------------------

    def _block(self, block: IPBlock) -> _CompiledBlock:
        cb = self._blocks.get(id(block))
        if cb is None:
            cb = self._blocks[id(block)] = _compile_block(block)
        return cb

    def _peer_matches(self, peer: PolicyPeer, policy_ns: str, other: Peer) -> bool:
        """E7: does one `from`/`to` item describe the other end of the packet?"""
        pod = other.pod
        as_pod = pod is not None and not self._node_like(pod)
        if peer.ip_block is not None:
            if as_pod and not self.ipblock_matches_pods:
                return False
            return self._block(peer.ip_block).contains(other.ip)
        if not as_pod:  # selectors only ever select pods
            return False
        if peer.pod_selector is None and peer.namespace_selector is None:
            return False  # invalid (rejected by the API server): selects nothing
        if peer.namespace_selector is None:
            if pod.namespace != policy_ns:
                return False
        elif not peer.namespace_selector.matches(self._ns_label_map(pod.namespace)):
            return False
        return peer.pod_selector is None or peer.pod_selector.matches(pod.labels)

    def _rule_peer_ok(self, rule: PolicyRule, policy_ns: str, other: Peer) -> bool:
        return not rule.peers or any(self._peer_matches(p, policy_ns, other) for p in rule.peers)

    # -- E11 -----------------------------------------------------------------------------------

    def _always_allowed(self, src: Peer, dst: Peer, direction: str) -> str | None:
        """E11: a pod reaching itself, and its own node reaching it, bypass policy."""
        if src.pod is not None and dst.pod is not None and src.pod.key == dst.pod.key:
            return f"a pod can always reach itself: {src.pod.key} is both ends, so no NetworkPolicy applies (E11)"
        if direction == "ingress" and dst.pod is not None and dst.pod.node_name:
            node = None
            if src.pod is None:
                node = src.node_name
                if not node and src.ip in self.model.node_by_ip:
                    node = self.model.node_by_ip[src.ip].name
                if not node and src.ip and src.ip == dst.pod.host_ip:  # no Node object: the pod's hostIP
                    node = dst.pod.node_name
            elif self._node_like(src.pod):
                node = src.pod.node_name
            if node and node == dst.pod.node_name:
                return (f"traffic from the pod's own node {node} (kubelet probes, hostNetwork pods) is always "
                        f"allowed into pod {dst.pod.key}, whatever the NetworkPolicies (E11)")
        return None

    # -- evaluation ------------------------------------------------------------------------------

    def egress(self, src: Peer, dst: Peer, port: int, protocol: str = "TCP") -> PolicyDecision:
        """May the packet leave `src` toward `dst`? (the source pod's egress policies)"""
        return self._evaluate("egress", src, dst, port, protocol)

    def ingress(self, src: Peer, dst: Peer, port: int, protocol: str = "TCP") -> PolicyDecision:
        """May the packet enter `dst` from `src`? (the destination pod's ingress policies)"""
        return self._evaluate("ingress", src, dst, port, protocol)

    def _evaluate(self, direction: str, src: Peer, dst: Peer, port: int, protocol: str) -> PolicyDecision:
        protocol = (protocol or "TCP").upper()
        port = int(port) if port is not None else 0
        subject, other = (src, dst) if direction == "egress" else (dst, src)
        what = f"{protocol} {port}"
        if not self.enforced:
            return PolicyDecision(True, False, (), None,
                                  f"{direction.capitalize()} not checked: {NOT_ENFORCED_ASSUMPTION} (E1).",
                                  (NOT_ENFORCED_ASSUMPTION,), direction, True)
        pod = subject.pod
        if pod is None:
            return PolicyDecision(True, False, (), None,
                                  f"{subject.describe()} is not a pod, so no NetworkPolicy governs its {direction}.",
                                  self.assumptions, direction, True)
        if self._node_like(pod):
            return PolicyDecision(True, False, (), None,
                                  f"pod {pod.key} uses hostNetwork, so no NetworkPolicy isolates it for "
                                  f"{direction}: {HOSTNETWORK_ASSUMPTION}.", self.assumptions, direction, True)
        verdict = self._policy_verdict(direction, pod, other, dst, port, protocol, what)
        bypass = self._always_allowed(src, dst, direction)
        if bypass and not verdict.allowed:
            return PolicyDecision(True, verdict.isolated, verdict.policies, None,
                                  f"{bypass[0].upper()}{bypass[1:]}; the policies alone would refuse it: "
                                  f"{verdict.detail}", self.assumptions, direction, False)
        return verdict

    def _policy_verdict(self, direction: str, pod: Pod, other: Peer, dst: Peer, port: int, protocol: str,
                        what: str) -> PolicyDecision:
        """E2–E8 for `pod` (the subject) and `other` (the far end): which rule allows it, if any."""
        ing, eg = self._isolating(pod)
        pols = ing if direction == "ingress" else eg
        keys = tuple(p.key for p in pols)
        if not pols:
            return PolicyDecision(
                True, False, (), None,
                f"No NetworkPolicy in namespace {pod.namespace} selects pod {pod.key} for {direction}, so all "
                f"{direction} is allowed (E2).", self.assumptions, direction, True)
        dst_pod = dst.pod if not self._node_like(dst.pod) else None
        peer_only: list[tuple[NetworkPolicy, int, PolicyRule]] = []  # peer matched, port did not
        for pol in pols:
            rules = pol.ingress if direction == "ingress" else pol.egress
            for i, rule in enumerate(rules):
                if not self._rule_peer_ok(rule, pol.namespace, other):
                    continue
                if not rule.ports or any(_port_matches(pp, port, protocol, dst_pod) for pp in rule.ports):
                    field_ = "from" if direction == "ingress" else "to"
                    peers = ("every peer" if not rule.peers else
                             " or ".join(_describe_peer(p, pol.namespace) for p in rule.peers))
                    return PolicyDecision(
                        True, True, keys, f"{pol.key} rule #{i + 1}",
                        f"NetworkPolicy {pol.key} spec.{direction}[{i}] allows {what} "
                        f"{'from' if direction == 'ingress' else 'to'} {other.describe()} "
                        f"({field_}: {peers}; ports: {_describe_ports(rule)}).",
                        self.assumptions, direction, True)
                peer_only.append((pol, i, rule))
        return PolicyDecision(False, True, keys, None,
                              self._denial(direction, pod, other, what, port, protocol, pols, peer_only),
                              self.assumptions, direction, False)

    def _denial(self, direction, pod, other, what, port, protocol, pols, peer_only) -> str:
        names = ", ".join(p.key for p in pols)
        verb = "from" if direction == "ingress" else "to"
        field_ = "from" if direction == "ingress" else "to"
        head = (f"NetworkPolicy {names} isolate{'s' if len(pols) == 1 else ''} pod {pod.key} for {direction} "
                f"and no {direction} rule of [{names}] allows {what} {verb} {other.describe()}")
        if port == 53 and protocol in ("UDP", "TCP") and direction == "egress":
            head += " (this blocks DNS: default-deny egress needs an explicit rule to the DNS pods on UDP/TCP 53)"
        if peer_only:
            pol, i, rule = peer_only[0]
            fix = (f"spec.{direction}[{i}] of {pol.key} matches the peer but its ports ({_describe_ports(rule)}) "
                   f"do not include {protocol} {port}; add {protocol} {port} to spec.{direction}[{i}].ports")
        else:
            pol = pols[0]
            fix = (f"add a spec.{direction} rule to NetworkPolicy {pol.key} with {field_}: "
                   f"[{self._peer_hint(other, pol.namespace)}] and ports: [{protocol} {port}]")
        return f"{head}; {fix}."

    def _peer_hint(self, other: Peer, policy_ns: str) -> str:
        """The `from`/`to` item that would select `other` (E7), as a reader would write it."""
        pod = other.pod
        if pod is None or self._node_like(pod):
            return f"ipBlock {{cidr: {other.ip}/32}}" if other.ip and ":" not in other.ip else (
                f"ipBlock {{cidr: {other.ip}/128}}" if other.ip else "an ipBlock covering the address")
        labels = ", ".join(f"{k}: {v}" for k, v in sorted(stable_labels(self.model, pod).items()))  # L2
        sel = f"podSelector {{matchLabels: {{{labels}}}}}" if labels else "podSelector {}"
        if pod.namespace == policy_ns:
            return sel
        return f"namespaceSelector {{matchLabels: {{kubernetes.io/metadata.name: {pod.namespace}}}}} + {sel}"

    # -- connection sets (all protocols/ports at once) -------------------------------------------

    def connections(self, src: Peer, dst: Peer) -> Connections:
        """Every connection policy allows from `src` to `dst` (egress ∩ ingress, E5)."""
        return self.direction_connections("egress", src, dst).intersect(
            self.direction_connections("ingress", src, dst))

    def direction_connections(self, direction: str, src: Peer, dst: Peer) -> Connections:
        if not self.enforced:
            return Connections.everything()
        subject, other = (src, dst) if direction == "egress" else (dst, src)
        pod = subject.pod
        if pod is None or self._node_like(pod) or self._always_allowed(src, dst, direction):
            return Connections.everything()
        ing, eg = self._isolating(pod)
        pols = ing if direction == "ingress" else eg
        if not pols:
            return Connections.everything()
        dst_pod = dst.pod if not self._node_like(dst.pod) else None
        acc: dict[str, list[tuple[int, int]]] = {}
        for pol in pols:
            for rule in (pol.ingress if direction == "ingress" else pol.egress):
                if not self._rule_peer_ok(rule, pol.namespace, other):
                    continue
                if not rule.ports:
                    return Connections.everything()
                for pp in rule.ports:
                    for proto, iv in _port_intervals(pp, dst_pod).items():
                        acc.setdefault(proto, []).extend(iv)
        return Connections.of(acc)

    # -- equivalence classes (matrices) ------------------------------------------------------------

    def classes(self):
        """The model's pod classes (podclasses.policy_classes)."""
        from .podclasses import policy_classes

        return policy_classes(self.model)


# ---------------------------------------------------------------------------------------------
# Caching per model (a snapshot's model is immutable)

_ENGINES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def policy_engine(model: ClusterModel, *, enforced: bool = True) -> PolicyEngine:
    """The compiled engine of `model` (built once; cached while the model lives)."""
    per_model = _ENGINES.get(model)
    if per_model is None:
        per_model = _ENGINES[model] = {}
    eng = per_model.get(enforced)
    if eng is None:
        eng = per_model[enforced] = PolicyEngine(model, enforced=enforced)
    return eng


def policies_selecting(model: ClusterModel, pod: Pod) -> list[NetworkPolicy]:
    """Policies whose podSelector selects `pod` (for the pod panel), in snapshot order."""
    return policy_engine(model).selecting(pod)


# ---------------------------------------------------------------------------------------------
# Whole-cluster evaluation lives in podclasses.py (pods policy cannot tell apart, allowed_pairs); the
# names stay importable from here for existing callers.

_MOVED = ("PodClass", "policy_classes", "ClassReachability", "allowed_pairs", "_ClassIndex")


def __getattr__(name: str):
    if name in _MOVED:
        from . import podclasses

        return getattr(podclasses, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
