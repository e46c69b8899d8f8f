"""Matrix cells without a full trace each: what a destination does is worked out once per column.

Why: a cell used to be one `trace()` (~1 ms: hops, sentences, DNS, notes) although, for most
destinations, everything but two NetworkPolicy decisions is the same for every source. Per destination
(a column of the matrix) this module computes once what does not depend on the source — the service
port, kube-proxy's endpoint choice for an in-cluster client, each endpoint's policy class and target
port — and, per endpoint class and target port, the two decisions trace() would ask (egress at the
source, ingress at the endpoint, after DNAT: E5/E10) for ALL source classes at once, as bitsets (Python
ints over policy class indexes) derived from `netpol.allowed_pairs` for that port. A cell is then a few
bit tests, assembled exactly as `TraceResult.from_paths` does: delivered if every used endpoint's path
is, dropped if none is, partial otherwise; the reason is the first dropped path's, in endpoint order,
egress before ingress (trace.py `to_pod`).

Why the decision depends only on the two classes (`netpol.PodClass`): for a non-hostNetwork source pod
that is not the endpoint itself, egress reads the source's namespace and labels (E2) and the far end's
namespace, namespace labels, labels, hostNetwork flag and — for a hostNetwork endpoint — its IP (E7), and
named ports on the endpoint (E8); ingress reads the same with the roles swapped, and E11's node bypass
never applies to a pod sender that is not hostNetwork. Those are exactly what a PodClass holds.

Anything else falls back to the per-cell trace (`None` from `cell()`), so the answer stays by construction
that of `manage.py trace`:
- hostNetwork sources (they send from their node: E11 and ipBlocks read the node), sources that cannot send;
- the source is itself a backend / the destination pod (E11 self, hairpin SNAT);
- hostNetwork endpoints (policy sees their node address: ipBlocks, E11);
- `internalTrafficPolicy: Local` and topology hints / trafficDistribution (the source's node or zone picks
  the endpoints: A16/A18), headless and ExternalName services, endpoints that are not pods;
- pod destinations that are hostNetwork or whose IP the model maps to another pod.
tests/unit/test_reach_columns.py checks cell for cell against `trace()` on the demo, Online Boutique with
its NetworkPolicies and generated clusters.
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

from . import kubeproxy as kp
from .assumptions import Assumptions
from .cluster import ClusterModel
from .model import Pod
from .netpol import PodClass, allowed_pairs, policy_classes

__all__ = ["ColumnEvaluator", "column_evaluator"]

DELIVERED, DROPPED, PARTIAL = "delivered", "dropped", "partial"


@dataclass(slots=True)
class _Column:
    """What a destination does for any eligible source.

    `fixed` set ⇒ every source gets this (verdict, reason) (no-service-port, no-endpoints: decided before
    any policy). Otherwise `masks` holds, per distinct (endpoint class, target port) in the order trace()
    walks the endpoints, the bitsets of source classes that egress lets out and ingress lets in; `pods`
    are the endpoint pod keys (a source among them falls back: E11 self / hairpin)."""

    fixed: tuple[str, str | None] | None = None
    masks: tuple = ()  # per distinct target: (egress-allowed sources, ingress-admitted sources) bitsets
    pods: frozenset = frozenset()


class ColumnEvaluator:
    """Cells of one plan on one model; `cell(source, dest)` → (verdict, reason) or None (use trace())."""

    def __init__(self, model: ClusterModel, assumptions: Assumptions | None = None):
        a = assumptions or Assumptions()
        self.m = model
        self.classes: list[PodClass] = policy_classes(model)
        self.class_of: dict[str, int] = {p.key: c.index for c in self.classes for p in c.pods}
        self._columns: dict[str, _Column | None] = {}
        self.enforced = a.cni_enforces_policy
        self._all = (1 << len(self.classes)) - 1
        self._ports: dict[tuple[int, str], tuple] = {}

    # -- sources -----------------------------------------------------------------------------------

    def source_pod(self, source) -> Pod | None:
        """The representative pod when the fast path holds for it as a sender, else None."""
        pod = self.m.pods.get(source.pods[0]) if source.pods else None
        if pod is None or pod.host_network or not pod.ip or pod.phase in ("Succeeded", "Failed", "Pending"):
            return None
        if pod.key not in self.class_of:
            return None
        return pod

    # -- destinations ------------------------------------------------------------------------------

    def column(self, dest) -> _Column | None:
        if dest.key not in self._columns:
            self._columns[dest.key] = (self._service_column(dest) if dest.kind == "service"
                                       else self._pod_column(dest))
        return self._columns[dest.key]

    def _target(self, pod: Pod, ip: str, port: int):
        cls = self.class_of.get(pod.key)
        if cls is None or pod.host_network:
            return None  # a hostNetwork endpoint is its node: ipBlocks and E11 read its address
        return (cls, ip if pod.host_network else None, port, pod, ip)

    def _service_column(self, dest) -> _Column | None:
        svc = self.m.services.get(f"{dest.namespace}/{dest.name}")
        if svc is None or svc.type == "ExternalName" or svc.headless:
            return None
        proto = dest.protocol
        sp = kp.find_service_port(svc, dest.port, proto)
        if sp is None:
            return _Column(fixed=(DROPPED, "no-service-port"))
        if kp.proxy_skip_reason(svc):
            return _Column(fixed=(DROPPED, "no-endpoints"))
        if svc.internal_traffic_policy == "Local":
            return None  # A16: the source's node picks the endpoints
        eps = kp.service_endpoints(self.m, svc, sp)
        sel = kp.categorize(svc, eps, local_node=None, zone=None, policy_field="trafficPolicy")
        if sel.reason:
            return _Column(fixed=(DROPPED, sel.reason))
        chosen = sel.endpoints
        if any(kp._hints(svc, ep) for ep in chosen):
            return None  # A18: the source's zone may filter the endpoints
        targets, seen = [], set()
        for ep in chosen:
            if ep.pod is None or not isinstance(ep.port, int):
                return None  # an endpoint outside the pods: trace() leaves the cluster (egress only)
            t = self._target(ep.pod, ep.ip, ep.port)
            if t is None:
                return None
            k = t[:3]
            if k not in seen:
                seen.add(k)
                targets.append(t)
        return _Column(masks=tuple(self._masks(t, proto) for t in targets),
                       pods=frozenset(ep.pod.key for ep in chosen))

    def _pod_column(self, dest) -> _Column | None:
        if not dest.to.startswith("ip:"):
            return None
        ip = dest.to[3:]
        pod = self.m.pod_by_ip.get(ip)
        if pod is None or pod.host_network or not dest.pods or pod.key != dest.pods[0]:
            return None
        t = self._target(pod, ip, dest.port)
        if t is None:
            return None
        return _Column(masks=(self._masks(t, dest.protocol),), pods=frozenset((pod.key,)))

    # -- cells -------------------------------------------------------------------------------------

    def _port_masks(self, port: int, proto: str):
        """(sources open for egress, per class the isolated sources that may send to it, ingress sets) as
        bitsets over policy classes, from `netpol.allowed_pairs` (computed once per port/protocol)."""
        key = (port, proto)
        got = self._ports.get(key)
        if got is None:
            r = allowed_pairs(self.m, port, proto, enforced=self.enforced)
            open_eg, inv = 0, {}
            for i, allowed in enumerate(r.egress_to):
                if allowed is None:
                    open_eg |= 1 << i
                else:
                    for j in allowed:
                        inv[j] = inv.get(j, 0) | (1 << i)
            got = self._ports[key] = (open_eg, inv, r.ingress_from)
        return got

    def _masks(self, target, proto: str) -> tuple[int, int]:
        """(sources whose egress lets them send to the target, sources the target's ingress admits)."""
        cls, _extra, port, _pod, _ip = target
        open_eg, inv, ingress_from = self._port_masks(port, proto)
        g = ingress_from[cls]
        if g is None:
            ing = self._all
        else:
            ing = 0
            for i in g:
                ing |= 1 << i
        return open_eg | inv.get(cls, 0), ing

    def cell(self, source, dest) -> tuple[str, str | None] | None:
        src = self.source_pod(source)
        if src is None:
            return None
        col = self.column(dest)
        if col is None:
            return None
        if col.fixed is not None:
            return col.fixed
        if src.key in col.pods:
            return None  # E11: a pod reaching itself (hairpin through its own service)
        bit = 1 << self.class_of[src.key]
        delivered, first_reason = False, None
        for eg, ing in col.masks:
            if not eg & bit:
                first_reason = first_reason or "policy-egress-denied"
            elif not ing & bit:
                first_reason = first_reason or "policy-ingress-denied"
            else:
                delivered = True
        if first_reason is None:
            return DELIVERED, None
        return (PARTIAL if delivered else DROPPED), first_reason


_EVALUATORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def column_evaluator(model: ClusterModel, assumptions: Assumptions | None = None) -> ColumnEvaluator:
    """The evaluator of `model` under `assumptions`, kept while the model lives: a worker running many
    chunks of one matrix computes each column once, not once per chunk (a snapshot's model is immutable)."""
    a = assumptions or Assumptions()
    per_model = _EVALUATORS.setdefault(model, {})
    ev = per_model.get(a.cni_enforces_policy)
    if ev is None:
        ev = per_model[a.cni_enforces_policy] = ColumnEvaluator(model, a)
    return ev
