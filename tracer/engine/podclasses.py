"""Pod classes: pods NetworkPolicy cannot tell apart, and whole-cluster reachability between classes.

Why a module of its own: a trace asks netpol.py about one pod pair; a matrix, a traffic map or a
benchmark asks about every pair at once. Grouping pods into `PodClass`es (same namespace, namespace
labels, pod labels, named ports, hostNetwork) makes that cost grow with classes, not pods², and
`allowed_pairs(model, port, protocol)` answers "which class may send to which" for a port using the
same rules (E2–E8, imported from netpol.py, where each rule lives) evaluated on classes.

What is compiled once per model (`_compiled`): the selector index (every selector evaluated once
against classes and namespaces), which classes each policy isolates (E2, port-independent), and every
rule's selected classes and peer classes. A port then only decides which rules' `ports` match (E8) —
so a matrix over a few hundred destination ports does not re-evaluate a selector per port.
"""
from __future__ import annotations

import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field

from .cluster import ClusterModel
from .model import LabelSelector, Pod, PolicyPeer, PolicyRule
from .netpol import _compile_block, _port_matches, effective_policy_types, named_port_numbers

__all__ = ["PodClass", "policy_classes", "ClassReachability", "allowed_pairs", "class_index"]



@dataclass(slots=True, eq=False)
class PodClass:
    """Pods policy cannot tell apart: same namespace, namespace labels, pod labels, named ports and
    hostNetwork flag (plus, for hostNetwork pods when some policy has an ipBlock, the node IP they
    send from). Every policy outcome between two pods is the outcome between their classes, except
    the E11 exemptions (a pod reaching itself; traffic from the destination's own node)."""

    index: int
    namespace: str
    labels: dict[str, str]
    ns_labels: dict[str, str]
    named_ports: frozenset  # {(name, protocol, number)}
    host_network: bool
    pods: list[Pod] = field(default_factory=list)

    @property
    def representative(self) -> Pod:
        return self.pods[0]


_CLASSES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _has_ip_blocks(model: ClusterModel) -> bool:
    return any(peer.ip_block is not None for pol in model.objects.network_policies
               for rule in pol.ingress + pol.egress for peer in rule.peers)


def policy_classes(model: ClusterModel) -> list[PodClass]:
    """Group the model's running pods into `PodClass`es (cached per model). O(pods)."""
    got = _CLASSES.get(model)
    if got is not None:
        return got
    by_key: dict[tuple, PodClass] = {}
    out: list[PodClass] = []
    ns_cache: dict[str, tuple[dict, frozenset]] = {}
    split_host_ips = _has_ip_blocks(model)  # a hostNetwork pod is matched by ipBlock through its node IP
    for pod in model.objects.pods:
        if pod.phase in ("Succeeded", "Failed"):
            continue
        ns = ns_cache.get(pod.namespace)
        if ns is None:
            labels = model.namespace_labels(pod.namespace)
            ns = ns_cache[pod.namespace] = (labels, frozenset(labels.items()))
        named = frozenset((cp.name, (cp.protocol or "TCP").upper(), cp.container_port)
                          for cp in pod.container_ports() if cp.name)
        key = (pod.namespace, ns[1], frozenset(pod.labels.items()), named, pod.host_network,
               pod.ips if pod.host_network and split_host_ips else None)
        cls = by_key.get(key)
        if cls is None:
            cls = by_key[key] = PodClass(len(out), pod.namespace, dict(pod.labels), ns[0], named, pod.host_network)
            out.append(cls)
        cls.pods.append(pod)
    _CLASSES[model] = out
    return out


@dataclass(slots=True)
class ClassReachability:
    """Who may talk to whom on one port/protocol, by class (default assumptions of `PolicyEngine`).

    `egress_to[i]` is None when class i may send to every class (not isolated for egress, or a rule
    allows every peer), else the set of class indexes it may send to; `ingress_from[j]` likewise
    for receiving. A pair (i, j) is allowed iff both say yes (E5). `class_of` maps "ns/name" to the
    class index. Pods of one class reaching themselves are always allowed (E11); node-sourced
    traffic is outside this relation (it is not pod-to-pod).
    """

    classes: list[PodClass]
    port: int
    protocol: str
    egress_to: list[set[int] | None]
    ingress_from: list[set[int] | None]
    class_of: dict[str, int]

    def allowed(self, i: int, j: int) -> bool:
        e, g = self.egress_to[i], self.ingress_from[j]
        return (e is None or j in e) and (g is None or i in g)

    def allowed_pods(self, src: Pod, dst: Pod) -> bool:
        if src.key == dst.key:
            return True  # E11
        return self.allowed(self.class_of[src.key], self.class_of[dst.key])

    def iter_allowed(self) -> Iterator[tuple[int, int]]:
        """Every allowed (src class, dst class) pair; only isolated sources' sets are walked."""
        n = len(self.classes)
        for i in range(n):
            e = self.egress_to[i]
            for j in (range(n) if e is None else sorted(e)):
                g = self.ingress_from[j]
                if g is None or i in g:
                    yield i, j

    def count_pod_pairs(self) -> int:
        """Allowed ordered pairs of distinct pods."""
        total = 0
        for i, j in self.iter_allowed():
            a, b = len(self.classes[i].pods), len(self.classes[j].pods)
            total += a * b - (a if i == j else 0)
        return total


class _ClassIndex:
    """Selectors evaluated once against classes and namespaces, memoised by selector content."""

    def __init__(self, model: ClusterModel, classes: list[PodClass]):
        self.model = model
        self.classes = classes
        self.by_ns: dict[str, list[PodClass]] = {}
        for c in classes:
            if not c.host_network:  # selectors never select hostNetwork pods (HOSTNETWORK_ASSUMPTION)
                self.by_ns.setdefault(c.namespace, []).append(c)
        self.ns_names = sorted(set(self.by_ns) | set(model.namespaces))
        self._ns_sel: dict[str, tuple[str, ...]] = {}
        self._pod_sel: dict[tuple[str, str], frozenset[int]] = {}
        self._peer: dict[tuple, frozenset[int]] = {}

    @staticmethod
    def _sel_key(sel: LabelSelector | None) -> str:
        if sel is None:
            return "<all>"
        return repr((sorted(sel.match_labels.items()),
                     [(r.key, r.operator, tuple(r.values)) for r in sel.match_expressions]))

    def namespaces(self, sel: LabelSelector) -> tuple[str, ...]:
        k = self._sel_key(sel)
        got = self._ns_sel.get(k)
        if got is None:
            got = self._ns_sel[k] = tuple(n for n in self.ns_names if sel.matches(self.model.namespace_labels(n)))
        return got

    def pods_in(self, ns: str, sel: LabelSelector | None) -> frozenset[int]:
        k = (ns, self._sel_key(sel))
        got = self._pod_sel.get(k)
        if got is None:
            got = self._pod_sel[k] = frozenset(
                c.index for c in self.by_ns.get(ns, ()) if sel is None or sel.matches(c.labels))
        return got

    def peer_classes(self, peer: PolicyPeer, policy_ns: str) -> frozenset[int]:
        """Classes one `from`/`to` item selects (memoised: the same peer recurs across policies)."""
        key = (policy_ns if peer.namespace_selector is None else "", self._sel_key(peer.pod_selector),
               None if peer.namespace_selector is None else self._sel_key(peer.namespace_selector),
               None if peer.ip_block is None else (peer.ip_block.cidr, tuple(peer.ip_block.except_)))
        got = self._peer.get(key)
        if got is None:
            got = self._peer[key] = frozenset(self._peer_classes(peer, policy_ns))
        return got

    def _peer_classes(self, peer: PolicyPeer, policy_ns: str) -> set[int] | frozenset[int]:
        if peer.ip_block is not None:
            # only hostNetwork pods (sending from their node's IP) are matched by an ipBlock
            block = _compile_block(peer.ip_block)
            return {c.index for c in self.classes if c.host_network
                    and any(block.contains(ip) for ip in c.representative.ips[:1])}
        if peer.pod_selector is None and peer.namespace_selector is None:
            return set()
        if peer.namespace_selector is None:
            return self.pods_in(policy_ns, peer.pod_selector)
        out: set[int] = set()
        for ns in self.namespaces(peer.namespace_selector):
            out |= self.pods_in(ns, peer.pod_selector)
        return out


def _rule_port_ok(rule: PolicyRule, port: int, protocol: str, dst_pod: Pod | None) -> bool:
    return not rule.ports or any(_port_matches(pp, port, protocol, dst_pod) for pp in rule.ports)


def _has_named(rule: PolicyRule) -> bool:
    return any(isinstance(pp.port, str) and not pp.port.isdigit() for pp in rule.ports)


def class_index(model: ClusterModel) -> _ClassIndex:
    """The model's selector index over its classes (cached: selectors are evaluated once per model)."""
    return _compiled(model).idx


@dataclass(slots=True)
class _Rule:
    direction: str  # "Ingress" | "Egress"
    selected: frozenset[int]  # classes the policy selects
    rule: PolicyRule
    peers: frozenset[int] | None  # classes the rule's peers select; None: no peers (every peer)
    named: bool  # the rule names a port (resolved per pod: E8)
    port_free: bool  # the rule lists no ports (matches every port)
    named_index: dict | None = None  # named rules: (port, protocol) → classes it resolves on (lazy)


@dataclass(slots=True)
class _Compiled:
    idx: _ClassIndex
    isolated: dict[str, list[bool]]
    rules: list[_Rule]
    class_of: dict[str, int]  # "ns/name" → class index
    answers: dict = field(default_factory=dict)  # rule-match signature → (egress_to, ingress_from)


_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _compiled(model: ClusterModel) -> _Compiled:
    got = _COMPILED.get(model)
    if got is not None:
        return got
    classes = policy_classes(model)
    n = len(classes)
    idx = _ClassIndex(model, classes)
    isolated = {"Ingress": [False] * n, "Egress": [False] * n}
    rules: list[_Rule] = []
    for policies in model.policies_by_namespace.values():
        for pol in policies:
            selected = idx.pods_in(pol.namespace, pol.pod_selector)
            if not selected:
                continue
            for direction in effective_policy_types(pol):
                if direction not in isolated:
                    continue
                for ci in selected:
                    isolated[direction][ci] = True
                for rule in (pol.ingress if direction == "Ingress" else pol.egress):
                    peers = None
                    if rule.peers:
                        acc: set[int] = set()
                        for peer in rule.peers:
                            acc |= idx.peer_classes(peer, pol.namespace)
                        peers = frozenset(acc)
                    rules.append(_Rule(direction, selected, rule, peers, _has_named(rule), not rule.ports))
    got = _COMPILED[model] = _Compiled(idx, isolated, rules, {p.key: c.index for c in classes for p in c.pods})
    return got


def allowed_pairs(model: ClusterModel, port: int, protocol: str = "TCP", *,
                  enforced: bool = True) -> ClassReachability:
    """Pod-class reachability on `port`/`protocol` for the whole cluster (matrices, benchmarks).

    Cost per port: one pass over the compiled rules (selectors and peers are evaluated once per model,
    `_compiled`), a port check per rule (per class only for named ports), then set unions per selected
    class. A rule allowing every peer marks the class open (None) instead of materialising all classes,
    so "allow from anywhere" stays O(selected classes).
    """
    protocol = (protocol or "TCP").upper()
    classes = policy_classes(model)
    n = len(classes)
    if not enforced or n == 0:
        return ClassReachability(classes, port, protocol, [None] * n, [None] * n,
                                 {p.key: c.index for c in classes for p in c.pods})
    comp = _compiled(model)
    class_of = comp.class_of
    # which port-restricted rules match this port (per class for named ports): ports no rule tells
    # apart share one answer, computed once per model
    passes = []
    for r in comp.rules:
        if r.port_free:
            passes.append(True)
        elif r.named:
            unnamed = any(_port_matches(pp, port, protocol, None) for pp in r.rule.ports)
            passes.append(True if unnamed else _named_index(r, classes, n).get((port, protocol), frozenset()))
        else:
            passes.append(_rule_port_ok(r.rule, port, protocol, None))
    signature = tuple(passes)
    got = comp.answers.get(signature)
    if got is None:
        got = comp.answers[signature] = _evaluate_rules(comp, passes, n)
    egress_to, ingress_from = got
    return ClassReachability(classes, port, protocol, list(egress_to), list(ingress_from), class_of)


def _named_index(r: _Rule, classes: list[PodClass], n: int) -> dict[tuple[int, str], frozenset[int]]:
    """(port, protocol) → classes on which one of the rule's named ports resolves to it (E8: on the protected
    pod for ingress, on the peer for egress; a hostNetwork peer is a node and has no names). Once per rule."""
    if r.named_index is None:
        out: dict[tuple[int, str], set[int]] = {}
        candidates = r.selected if r.direction == "Ingress" else (r.peers if r.peers is not None else range(n))
        names = [(pp.port, (pp.protocol or "TCP").upper()) for pp in r.rule.ports
                 if isinstance(pp.port, str) and not pp.port.isdigit()]
        for ci in candidates:
            c = classes[ci]
            if r.direction == "Egress" and c.host_network:
                continue
            for name, proto in names:
                for number in named_port_numbers(c.representative, name, proto):
                    out.setdefault((number, proto), set()).add(ci)
        r.named_index = {k: frozenset(v) for k, v in out.items()}
    return r.named_index


def _evaluate_rules(comp: _Compiled, passes: list, n: int):
    """(egress_to, ingress_from) given which rules match the port (`passes`, see allowed_pairs)."""
    egress_to: list[set[int] | None] = [None] * n
    ingress_from: list[set[int] | None] = [None] * n
    opened = {"Ingress": [False] * n, "Egress": [False] * n}
    sets: dict[str, list[set[int]]] = {"Ingress": [set() for _ in range(n)], "Egress": [set() for _ in range(n)]}
    for r, ok_port in zip(comp.rules, passes, strict=True):
        if not ok_port:
            continue
        selected = r.selected
        if r.direction == "Ingress":
            # ports resolve on the protected pod: the selected class itself
            targets = ok_port if isinstance(ok_port, frozenset) else selected
            if r.peers is None:
                for ci in targets:
                    opened["Ingress"][ci] = True
                continue
            for ci in targets:
                sets["Ingress"][ci] |= r.peers
        else:
            if r.peers is None and ok_port is True:  # every peer, on this port
                for ci in selected:
                    opened["Egress"][ci] = True
                continue
            # ports resolve on the peer pod (a hostNetwork peer has no names: it is a node)
            ok = ok_port if isinstance(ok_port, frozenset) else r.peers
            if ok:
                for ci in selected:
                    sets["Egress"][ci] |= ok
    for ci in range(n):
        if comp.isolated["Egress"][ci] and not opened["Egress"][ci]:
            egress_to[ci] = sets["Egress"][ci]
        if comp.isolated["Ingress"][ci] and not opened["Ingress"][ci]:
            ingress_from[ci] = sets["Ingress"][ci]
    return egress_to, ingress_from
