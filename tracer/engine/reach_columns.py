"""Matrix columns: one destination's cells for every source class at once, as a byte per cell.

Why: a cell used to be one `trace()` (~1 ms: hops, sentences, DNS, notes) although, for most
destinations, everything but two NetworkPolicy decisions is the same for every source. Per destination
(a column of the matrix) this module computes once what does not depend on the source — the service
port, kube-proxy's endpoint choice for an in-cluster client, each endpoint's policy class and target
port — and, per (endpoint class, target port), the two decisions trace() would ask (egress at the
source, ingress at the endpoint, after DNAT: E5/E10) for ALL source classes at once, as boolean vectors
over the plan's sources (numpy) derived from `netpol.allowed_pairs` for that port. The column is then
assembled exactly as `TraceResult.from_paths` does: delivered if every used endpoint class admits the
source, dropped if none does, partial otherwise; the reason is the first failing endpoint class's, in
endpoint order, egress before ingress (trace.py `to_pod`).

A cell stands for every member of its source class sending to every member of the destination, and a pod
is never its own peer (reach.py): class decisions are the member decisions because policy reads only what
a class holds (`netpol.PodClass`), and a class of two or more pods always has a sibling pair for every
endpoint class. Only a one-pod class that is itself an endpoint needs care: endpoint classes whose only
pod is that sender are left out of its cell; when none is left, the cell is the self trace (E11).

Cells are codes into a `CodeBook` (the standard five policy outcomes first, then any (verdict, reason) a
full trace returns). Anything the class decisions cannot answer falls back to `reach.compute_cell` — the
per-cell trace — so the answer stays that of `manage.py trace`:
- hostNetwork sources (they send from their node: E11 and ipBlocks read the node), sources that cannot send;
- hostNetwork endpoints (policy sees their node address: ipBlocks, E11);
- `internalTrafficPolicy: Local` and topology hints / trafficDistribution (the source's node or zone picks
  the endpoints: A16/A18), headless and ExternalName services, endpoints that are not pods;
- pod destinations that are hostNetwork or whose IP the model maps to another pod.

Columns with the same `signature` (same fixed outcome, or same endpoint classes, target ports and
protocol, no fallback) are equal cell for cell: they are computed once and stored once (`shared`).
tests/unit/test_matrix_members.py checks every cell against every member's traces.
"""
from __future__ import annotations

import weakref
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from . import kubeproxy as kp
from .assumptions import Assumptions
from .cluster import ClusterModel
from .model import Pod
from .podclasses import PodClass, allowed_pairs, policy_classes

__all__ = ["ColumnEvaluator", "column_evaluator", "CodeBook", "STANDARD_CODES", "Column"]

DELIVERED, DROPPED, PARTIAL = "delivered", "dropped", "partial"
EGRESS, INGRESS = "policy-egress-denied", "policy-ingress-denied"
STANDARD_CODES: tuple[tuple[str, str | None], ...] = (
    (DELIVERED, None), (PARTIAL, EGRESS), (PARTIAL, INGRESS), (DROPPED, EGRESS), (DROPPED, INGRESS))
MAX_CODES = 255


class CodeBook:
    """(verdict, reason) ↔ one byte. The first five codes are fixed; others are added as traces return them."""

    def __init__(self, entries=STANDARD_CODES):
        self.entries: list[tuple[str, str | None]] = [tuple(e) for e in entries]
        self._index = {e: i for i, e in enumerate(self.entries)}

    def code(self, verdict: str, reason: str | None) -> int:
        key = (verdict, reason or None)
        got = self._index.get(key)
        if got is None:
            if len(self.entries) >= MAX_CODES:  # only distinct error texts can get here
                key = ("error", "more distinct errors than a column can name; trace the cell")
                got = self._index.get(key)
                if got is not None:
                    return got
            got = self._index[key] = len(self.entries)
            self.entries.append(key)
        return got

    def to_list(self) -> list[list]:
        return [list(e) for e in self.entries]


@dataclass(slots=True)
class _Target:
    cls: int  # policy class of the endpoint
    port: int
    pods: frozenset  # the chosen endpoint pods of this class at this port


@dataclass(slots=True)
class _Plan:
    """What a destination does for any eligible source: a fixed outcome, or its endpoint targets."""

    fixed: tuple[str, str | None] | None = None
    targets: tuple = ()
    protocol: str = "TCP"

    def signature(self):
        if self.fixed is not None:
            return ("fixed", self.fixed)
        return (self.protocol, tuple((t.cls, t.port) for t in self.targets))


@dataclass(slots=True)
class Column:
    codes: np.ndarray  # uint8 per source class
    signature: object  # equal signatures ⇒ equal columns (None: this column is its own)
    traced: int = 0  # cells that needed a full trace


class ColumnEvaluator:
    """Columns of one plan on one model. `column(j)` → Column; `cell(i, j)` → (verdict, reason)."""

    def __init__(self, model: ClusterModel, assumptions: Assumptions | None = None, matrix=None):
        self.a = assumptions or Assumptions()
        self.m = model
        self.classes: list[PodClass] = policy_classes(model)
        self.class_of: dict[str, int] = {p.key: c.index for c in self.classes for p in c.pods}
        self.enforced = self.a.cni_enforces_policy
        self.n_classes = len(self.classes)
        self._ports: dict[tuple[int, str], tuple] = {}
        self._vectors: dict[tuple[int, int, str], tuple[np.ndarray, np.ndarray]] = {}
        self._inversions: dict[object, tuple] = {}  # egress answer → its inversion (per model)
        self._side: dict[tuple, np.ndarray] = {}  # (answer key, class) → vector over the plan's sources
        self.book = CodeBook()
        self.matrix = None
        if matrix is not None:
            self.bind(matrix)

    def bind(self, matrix) -> None:
        """Index the plan's sources: each one's policy class (-1 ⇒ not eligible: trace) and member → source."""
        self.matrix = matrix
        n = len(matrix.sources)
        src_pc = np.full(n, -1, dtype=np.int64)
        self.member_source: dict[str, int] = {}
        for i, s in enumerate(matrix.sources):
            pod = self.source_pod(s)
            if pod is not None:
                src_pc[i] = self.class_of[pod.key]
            for member in s.pods:
                self.member_source.setdefault(member, i)
        self.src_pc = src_pc
        self._shared: dict[object, np.ndarray] = {}
        self._vectors, self._side = {}, {}  # over the previous plan's sources
        self._done: dict[int, Column] = {}  # columns already computed for this plan (chunks of sources reuse them)
        self.eligible = src_pc >= 0
        self._pc_index = np.where(self.eligible, src_pc, 0)
        self.sizes = np.array([s.size or len(s.pods) for s in matrix.sources], dtype=np.int64)

    # -- sources -----------------------------------------------------------------------------------

    def source_pod(self, source) -> Pod | None:
        """The representative pod when the class decisions hold for the class as a sender, else None."""
        pod = self.m.pods.get(source.pods[0]) if source.pods else None
        if pod is None or pod.host_network or not pod.ip or pod.phase in ("Succeeded", "Failed", "Pending"):
            return None
        if pod.key not in self.class_of:
            return None
        return pod

    # -- destinations ------------------------------------------------------------------------------

    def plan_of(self, dest) -> _Plan | None:
        return self._service_plan(dest) if dest.kind == "service" else self._pod_plan(dest)

    def _service_plan(self, dest) -> _Plan | None:
        svc = self.m.services.get(f"{dest.namespace}/{dest.name}")
        if svc is None or svc.type == "ExternalName" or svc.headless:
            return None
        proto = dest.protocol
        sp = kp.find_service_port(svc, dest.port, proto)
        if sp is None:
            return _Plan(fixed=(DROPPED, "no-service-port"))
        if kp.proxy_skip_reason(svc):
            return _Plan(fixed=(DROPPED, "no-endpoints"))
        if svc.internal_traffic_policy == "Local":
            return None  # A16: the source's node picks the endpoints
        eps = kp.service_endpoints(self.m, svc, sp)
        sel = kp.categorize(svc, eps, local_node=None, zone=None, policy_field="trafficPolicy")
        if sel.reason:
            return _Plan(fixed=(DROPPED, sel.reason))
        chosen = sel.endpoints
        if any(kp._hints(svc, ep) for ep in chosen):
            return None  # A18: the source's zone may filter the endpoints
        order: list[tuple[int, int]] = []
        pods: dict[tuple[int, int], set] = {}
        for ep in chosen:
            if ep.pod is None or not isinstance(ep.port, int) or ep.pod.host_network:
                return None  # outside the pods, or a node address: trace() decides
            cls = self.class_of.get(ep.pod.key)
            if cls is None:
                return None
            k = (cls, ep.port)
            if k not in pods:
                order.append(k)
                pods[k] = set()
            pods[k].add(ep.pod.key)
        return _Plan(targets=tuple(_Target(c, p, frozenset(pods[(c, p)])) for c, p in order), protocol=proto)

    def _pod_plan(self, dest) -> _Plan | None:
        if not dest.to.startswith("ip:"):
            return None
        pod = self.m.pod_by_ip.get(dest.to[3:])
        if pod is None or pod.host_network or not dest.pods or pod.key != dest.pods[0]:
            return None
        cls = self.class_of.get(pod.key)
        if cls is None:
            return None
        return _Plan(targets=(_Target(cls, dest.port, frozenset(dest.pods)),), protocol=dest.protocol)

    # -- vectors -----------------------------------------------------------------------------------

    def _port_sets(self, port: int, proto: str):
        """(egress key, ingress key, egress bit matrix, ingress bitsets) for a port. Ports that no rule of a
        direction tells apart share that direction's key (podclasses.allowed_pairs), so the inversion and
        the vectors below are built once per distinct answer, not once per port."""
        key = (port, proto)
        got = self._ports.get(key)
        if got is None:
            r = allowed_pairs(self.m, port, proto, enforced=self.enforced)
            inv = self._inversions.get(r.egress_key)
            if inv is None or r.egress_key is None:
                inv = self._inversions[r.egress_key] = self._invert(r.egress_to)
            got = self._ports[key] = (r.egress_key, r.ingress_key, inv, r.ingress_from)
        return got

    def _invert(self, egress_to):
        """(egress-open classes, the packed bit matrix of isolated senders × receiving classes)."""
        n = self.n_classes
        nb = max(1, (n + 7) // 8)
        open_eg = np.fromiter((a is None for a in egress_to), dtype=bool, count=n)
        zero = bytes(nb)
        rows = b"".join(zero if a is None else a.to_bytes(nb, "little") for a in egress_to)
        return open_eg, np.frombuffer(rows, dtype=np.uint8).reshape(n, nb)

    def _unpack(self, bits: int) -> np.ndarray:
        nb = max(1, (self.n_classes + 7) // 8)
        raw = np.frombuffer(bits.to_bytes(nb, "little"), dtype=np.uint8)
        return np.unpackbits(raw, bitorder="little")[:self.n_classes].astype(bool)

    def vectors(self, cls: int, port: int, proto: str) -> tuple[np.ndarray, np.ndarray]:
        """(egress lets source i send to class `cls`, both directions allow it) over the plan's sources."""
        key = (cls, port, proto)
        got = self._vectors.get(key)
        if got is None:
            eg_key, ing_key, (open_eg, matrix), ingress_from = self._port_sets(port, proto)
            eg = self._side.get((eg_key, cls)) if eg_key is not None else None
            if eg is None:
                eg_pc = open_eg | ((matrix[:, cls >> 3] >> (cls & 7)) & 1).astype(bool)
                eg = eg_pc[self._pc_index]
                if eg_key is not None:
                    self._side[(eg_key, cls)] = eg
            ing = self._side.get((ing_key, cls)) if ing_key is not None else None
            if ing is None:
                g = ingress_from[cls]
                ing = (np.ones(len(self._pc_index), dtype=bool) if g is None
                       else self._unpack(g)[self._pc_index])
                if ing_key is not None:
                    self._side[(ing_key, cls)] = ing
            got = self._vectors[key] = (eg, eg & ing)
        return got

    # -- columns -----------------------------------------------------------------------------------

    def _codes(self, targets, proto: str) -> np.ndarray:
        """Standard codes (0..4) for every source from the targets' vectors, in trace()'s endpoint order."""
        n = len(self.src_pc)
        all_ok = np.ones(n, dtype=bool)
        any_ok = np.zeros(n, dtype=bool)
        first = np.zeros(n, dtype=np.uint8)  # 0: none failed yet, 1: egress, 2: ingress
        for t in targets:
            eg, ok = self.vectors(t.cls, t.port, proto)
            new = ~ok & (first == 0)
            if new.any():
                first[new] = np.where(eg[new], 2, 1)
            all_ok &= ok
            any_ok |= ok
        return np.where(all_ok, 0, np.where(any_ok, first, first + 2)).astype(np.uint8)

    def column(self, j: int) -> Column:
        """Column j: shared codes for its signature, then lone senders and fallback cells per column."""
        got = self._done.get(j)
        if got is None:
            got = self._done[j] = self._column(j)
        return got

    def _column(self, j: int) -> Column:
        from .reach import compute_cell

        dest = self.matrix.destinations[j]
        n = len(self.matrix.sources)
        plan = self.plan_of(dest)
        if plan is None:
            codes, fallback, signature = np.zeros(n, dtype=np.uint8), list(range(n)), None
        else:
            signature = plan.signature()
            base = self._shared.get(signature)
            if base is None:
                base = self._shared[signature] = (
                    np.full(n, self.book.code(*plan.fixed), dtype=np.uint8) if plan.fixed is not None
                    else self._codes(plan.targets, plan.protocol))
            codes = base
            fallback = np.flatnonzero(~self.eligible).tolist()
            lone = list(self._lone_senders(plan)) if plan.fixed is None else []
            if fallback or lone:
                codes, signature = base.copy(), None
            for i, sub in lone:
                # a one-pod class whose only peer here is itself: a pod reaching itself is always allowed (E11)
                codes[i] = self._codes(sub, plan.protocol)[i] if sub else 0
        for i in fallback:
            c = compute_cell(self.m, self.matrix.sources[i], dest, self.a, indexes=(i, j))
            codes[i] = self.book.code(c.verdict, c.reason)
        return Column(codes, signature, len(fallback))

    def _lone_senders(self, plan: _Plan) -> Iterator[tuple[int, tuple | None]]:
        """One-pod source classes that are themselves endpoints: (source, the targets with another pod),
        None when no target is left (the cell is the self trace: delivered, E11)."""
        seen: set[int] = set()
        for t in plan.targets:
            for member in t.pods:
                i = self.member_source.get(member)
                if i is None or i in seen or self.sizes[i] > 1 or not self.eligible[i]:
                    continue
                seen.add(i)
                sub = tuple(x for x in plan.targets if x.pods != frozenset((member,)))
                yield i, (sub or None)

    def columns(self, start: int = 0, end: int | None = None) -> Iterator[tuple[int, Column]]:
        """Columns [start, end) in order (columns of equal signature share one codes array)."""
        end = len(self.matrix.destinations) if end is None else end
        for j in range(start, end):
            yield j, self.column(j)

    def cell(self, i: int, j: int) -> tuple[str, str | None]:
        return self.book.entries[int(self.column(j).codes[i])]


_EVALUATORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def column_evaluator(model: ClusterModel, assumptions: Assumptions | None = None, matrix=None) -> ColumnEvaluator:
    """The evaluator of `model` under `assumptions`, kept while the model lives: a worker running many
    chunks of one matrix computes each port's policy sets and each endpoint class's vectors once."""
    a = assumptions or Assumptions()
    per_model = _EVALUATORS.setdefault(model, {})
    ev = per_model.get(a.cni_enforces_policy)
    if ev is None:
        ev = per_model[a.cni_enforces_policy] = ColumnEvaluator(model, a)
    if matrix is not None and ev.matrix is not matrix:
        ev.bind(matrix)
    return ev
