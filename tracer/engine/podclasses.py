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

import numpy as np

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


def bit_indexes(bits: int) -> Iterator[int]:
    """The set bits of `bits`, ascending."""
    while bits:
        low = bits & -bits
        yield low.bit_length() - 1
        bits ^= low


def to_bits(indexes) -> int:
    """A bitset (Python int) with the given bits set."""
    idx = np.fromiter(indexes, dtype=np.int64)
    if len(idx) == 0:
        return 0
    flags = np.zeros(int(idx.max()) + 1, dtype=bool)
    flags[idx] = True
    return int.from_bytes(np.packbits(flags, bitorder="little").tobytes(), "little")


@dataclass(slots=True)
class ClassReachability:
    """Who may talk to whom on one port/protocol, by class (default assumptions of `PolicyEngine`).

    `egress_to[i]` is None when class i may send to every class (not isolated for egress, or a rule
    allows every peer), else the classes it may send to as a bitset (a Python int, bit j = class j:
    unions of thousands of classes stay a few machine words each); `ingress_from[j]` likewise
    for receiving. A pair (i, j) is allowed iff both say yes (E5). `class_of` maps "ns/name" to the
    class index. Pods of one class reaching themselves are always allowed (E11); node-sourced
    traffic is outside this relation (it is not pod-to-pod).
    """

    classes: list[PodClass]
    port: int
    protocol: str
    egress_to: list[int | None]
    ingress_from: list[int | None]
    class_of: dict[str, int]
    egress_key: object = None  # equal keys ⇒ equal egress_to (ports no egress rule tells apart)
    ingress_key: object = None  # likewise for ingress_from

    def allowed(self, i: int, j: int) -> bool:
        e, g = self.egress_to[i], self.ingress_from[j]
        return (e is None or (e >> j) & 1 == 1) and (g is None or (g >> i) & 1 == 1)

    def allowed_pods(self, src: Pod, dst: Pod) -> bool:
        if src.key == dst.key:
            return True  # E11
        return self.allowed(self.class_of[src.key], self.class_of[dst.key])

    def iter_allowed(self) -> Iterator[tuple[int, int]]:
        """Every allowed (src class, dst class) pair; only isolated sources' sets are walked."""
        n = len(self.classes)
        for i in range(n):
            e = self.egress_to[i]
            for j in (range(n) if e is None else bit_indexes(e)):
                g = self.ingress_from[j]
                if g is None or (g >> i) & 1:
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
        self._ns_by_label: dict | None = None  # (key, value) → namespaces, built on first use
        self._cls_by_label: dict[str, dict] = {}  # per namespace: (key, value) → classes

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
            if self._ns_by_label is None:
                self._ns_by_label = _label_index(
                    (n, self.model.namespace_labels(n)) for n in self.ns_names)
                self._ns_order = {n: i for i, n in enumerate(self.ns_names)}
            candidates = _candidates(sel, self._ns_by_label, self.ns_names)
            got = self._ns_sel[k] = tuple(sorted(
                (n for n in candidates if sel.matches(self.model.namespace_labels(n))),
                key=self._ns_order.__getitem__))
        return got

    def pods_in(self, ns: str, sel: LabelSelector | None) -> frozenset[int]:
        k = (ns, self._sel_key(sel))
        got = self._pod_sel.get(k)
        if got is None:
            members = self.by_ns.get(ns, ())
            if sel is not None and len(members) > 16:
                index = self._cls_by_label.get(ns)
                if index is None:
                    index = self._cls_by_label[ns] = _label_index((c.index, c.labels) for c in members)
                cands = _candidates(sel, index, [c.index for c in members])
                got = frozenset(i for i in cands if sel.matches(self.classes[i].labels))
            else:
                got = frozenset(c.index for c in members if sel is None or sel.matches(c.labels))
            self._pod_sel[k] = got
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


def _label_index(items) -> dict[tuple[str, str], set]:
    """(label key, value) → the items carrying it, from (item, labels) pairs."""
    out: dict[tuple[str, str], set] = {}
    for item, labels in items:
        for kv in labels.items():
            out.setdefault(kv, set()).add(item)
    return out


def _candidates(sel: LabelSelector, index: dict, everything):
    """Items that may match `sel`: narrowed by its matchLabels and `In` expressions through the label index
    (each selected item must carry one of those pairs); callers still check `sel.matches` on each."""
    narrowed = None
    for kv in sel.match_labels.items():
        got = index.get(kv, set())
        narrowed = set(got) if narrowed is None else narrowed & got
    for req in sel.match_expressions:
        if req.operator == "In":
            got = set().union(*(index.get((req.key, v), ()) for v in req.values)) if req.values else set()
            narrowed = got if narrowed is None else narrowed & got
    return everything if narrowed is None else narrowed


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
    peer_bits: int = 0  # `peers` as a bitset
    named_index: dict | None = None  # named rules: (port, protocol) → (classes it resolves on, as bits) (lazy)


@dataclass(slots=True)
class _Compiled:
    idx: _ClassIndex
    isolated: dict[str, list[bool]]
    rules: list[_Rule]
    class_of: dict[str, int]  # "ns/name" → class index
    port_free: list[bool]  # per rule: it lists no ports (matches every port)
    answers: dict = field(default_factory=dict)  # (direction, matching rules) → that direction's sets
    port_index: tuple | None = None  # (exact port → rules, ranged rules, named port → rules): `_matching_rules`


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
                    peers, bits = None, 0
                    if rule.peers:
                        acc: set[int] = set()
                        for peer in rule.peers:
                            acc |= idx.peer_classes(peer, pol.namespace)
                        peers = frozenset(acc)
                        bits = to_bits(peers)
                    rules.append(_Rule(direction, selected, rule, peers, _has_named(rule), not rule.ports, bits))
    got = _COMPILED[model] = _Compiled(idx, isolated, rules, {p.key: c.index for c in classes for p in c.pods},
                                       [r.port_free for r in rules])
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
    # which port-restricted rules match this port (per class for named ports): ports no rule of a
    # direction tells apart share that direction's answer, computed once per model
    matched = _matching_rules(comp, classes, port, protocol)
    passes = None
    sides = []
    for direction in ("Egress", "Ingress"):
        key = (direction, tuple(sorted((i, ok) for i, ok in matched.items() if comp.rules[i].direction == direction)))
        got = comp.answers.get(key)
        if got is None:
            if passes is None:
                passes = list(comp.port_free)
                for i, ok in matched.items():
                    passes[i] = ok
            got = comp.answers[key] = _evaluate_rules(comp, passes, n, direction)
        sides.append((key, got))
    (egress_key, egress_to), (ingress_key, ingress_from) = sides
    return ClassReachability(classes, port, protocol, list(egress_to), list(ingress_from), class_of,
                             egress_key, ingress_key)


def _matching_rules(comp: _Compiled, classes: list[PodClass], port: int, protocol: str) -> dict:
    """rule index → True (the rule's ports match `port`/`protocol` for every pod) or the classes on which a
    named port resolves to it; rules without ports are left out (they always match)."""
    if comp.port_index is None:
        exact: dict[tuple[int, str], list[int]] = {}
        ranged: list[tuple[int, object]] = []
        named: dict[tuple[int, str], list[tuple[int, frozenset]]] = {}
        for i, r in enumerate(comp.rules):
            if r.port_free:
                continue
            for pp in r.rule.ports:
                if isinstance(pp.port, str) and not pp.port.isdigit():
                    continue
                if pp.port not in (None, "") and not pp.end_port:
                    exact.setdefault((int(pp.port), (pp.protocol or "TCP").upper()), []).append(i)
                else:
                    ranged.append((i, pp))
            if r.named:
                for k, cls in _named_index(r, classes, len(classes)).items():
                    named.setdefault(k, []).append((i, cls))
        comp.port_index = (exact, ranged, named)
    exact, ranged, named = comp.port_index
    out: dict[int, object] = dict.fromkeys(exact.get((port, protocol), ()), True)
    for i, pp in ranged:
        if i not in out and _port_matches(pp, port, protocol, None):
            out[i] = True
    for i, cls in named.get((port, protocol), ()):
        if i not in out:
            out[i] = cls
    return out


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
        r.named_index = {k: (frozenset(v), to_bits(v)) for k, v in out.items()}
    return r.named_index


def _evaluate_rules(comp: _Compiled, passes: list, n: int, direction: str) -> tuple:
    """Per class, the classes it may send to (Egress) or receive from (Ingress) as a bitset; None = all
    (not isolated, or a rule allows every peer). `passes`: which rules match the port (see allowed_pairs):
    True, or for a named port (classes, bits) on which it resolves."""
    opened = [False] * n
    sets: list[int] = [0] * n
    for r, ok_port in zip(comp.rules, passes, strict=True):
        if not ok_port or r.direction != direction:
            continue
        if direction == "Ingress":
            # ports resolve on the protected pod: the selected class itself
            targets = ok_port[0] if isinstance(ok_port, tuple) else r.selected
            if r.peers is None:
                for ci in targets:
                    opened[ci] = True
                continue
            for ci in targets:
                sets[ci] |= r.peer_bits
        else:
            if r.peers is None and ok_port is True:  # every peer, on this port
                for ci in r.selected:
                    opened[ci] = True
                continue
            # ports resolve on the peer pod (a hostNetwork peer has no names: it is a node)
            ok = ok_port[1] if isinstance(ok_port, tuple) else r.peer_bits
            if ok:
                for ci in r.selected:
                    sets[ci] |= ok
    isolated = comp.isolated[direction]
    return tuple(sets[ci] if isolated[ci] and not opened[ci] else None for ci in range(n))
