"""Matrix cells without a full trace each: what a destination does is worked out once per column.

Why: a cell used to be one `trace()` (~1 ms: hops, sentences, DNS, notes) although, for most
destinations, everything but two NetworkPolicy decisions is the same for every source. Per destination
(a column of the matrix) this module computes once what does not depend on the source — the service
port, kube-proxy's endpoint choice for an in-cluster client, each endpoint's policy class and target
port — and per (source policy class, endpoint policy class, port) it asks `PolicyEngine` for the two
decisions trace() would ask (egress at the source, ingress at the endpoint, after DNAT: E5/E10). The
cell is then assembled exactly as `TraceResult.from_paths` does: delivered if every used endpoint's
path is, dropped if none is, partial otherwise; the reason is the first dropped path's, in endpoint
order, egress before ingress (trace.py `to_pod`).

Why the decision depends only on the two classes (`netpol.PodClass`): for a non-hostNetwork source pod
that is not the endpoint itself, egress reads the source's namespace and labels (E2) and the far end's
namespace, namespace labels, labels, hostNetwork flag and — for a hostNetwork endpoint — its IP (E7), and
named ports on the endpoint (E8); ingress reads the same with the roles swapped, and E11's node bypass
never applies to a pod sender that is not hostNetwork. Those are exactly what a PodClass holds (the
endpoint IP is added to the memo key when the endpoint is hostNetwork).

Anything else falls back to the per-cell trace (`None` from `cell()`), so the answer stays by construction
that of `manage.py trace`:
- hostNetwork sources (they send from their node: E11 and ipBlocks read the node), sources that cannot send;
- the source is itself a backend / the destination pod (E11 self, hairpin SNAT);
- `internalTrafficPolicy: Local` and topology hints / trafficDistribution (the source's node or zone picks
  the endpoints: A16/A18), headless and ExternalName services, endpoints that are not pods;
- pod destinations that are hostNetwork or whose IP the model maps to another pod.
tests/unit/test_reach_columns.py checks cell for cell against `trace()` on the demo, Online Boutique with
its NetworkPolicies and generated clusters.
"""
from __future__ import annotations

from dataclasses import dataclass

from . import kubeproxy as kp
from .assumptions import Assumptions
from .cluster import ClusterModel
from .model import Pod
from .netpol import Peer, PodClass, policy_classes, policy_engine

__all__ = ["ColumnEvaluator"]

DELIVERED, DROPPED, PARTIAL = "delivered", "dropped", "partial"


@dataclass(slots=True)
class _Column:
    """What a destination does for any eligible source.

    `fixed` set ⇒ every source gets this (verdict, reason) (no-service-port, no-endpoints: decided before
    any policy). Otherwise `targets` lists the distinct (endpoint class, memo key extra, port, pod, ip)
    in the order trace() walks the endpoints, and `pods` the endpoint pod keys (a source among them
    falls back: E11 self / hairpin)."""

    fixed: tuple[str, str | None] | None = None
    targets: tuple = ()
    pods: frozenset = frozenset()


class ColumnEvaluator:
    """Cells of one plan on one model; `cell(source, dest)` → (verdict, reason) or None (use trace())."""

    def __init__(self, model: ClusterModel, assumptions: Assumptions | None = None):
        a = assumptions or Assumptions()
        self.m = model
        self.pe = policy_engine(model, enforced=a.cni_enforces_policy)
        self.classes: list[PodClass] = policy_classes(model)
        self.class_of: dict[str, int] = {p.key: c.index for c in self.classes for p in c.pods}
        self._columns: dict[str, _Column | None] = {}
        self._decisions: dict[tuple, str | None] = {}

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
        if cls is None:
            return None
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
        return _Column(targets=tuple(targets), pods=frozenset(ep.pod.key for ep in chosen))

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
        return _Column(targets=(t,), pods=frozenset((pod.key,)))

    # -- cells -------------------------------------------------------------------------------------

    def _decide(self, src: Pod, src_cls: int, target, proto: str) -> str | None:
        """None when both directions allow, else the drop reason (egress is checked first: trace.to_pod)."""
        cls, extra, port, pod, ip = target
        key = (src_cls, cls, extra, port, proto)
        if key in self._decisions:
            return self._decisions[key]
        s, d = Peer(src, src.ip, src.node_name or None), Peer(pod, ip, pod.node_name or None)
        if not self.pe.egress(s, d, port, proto).allowed:
            out = "policy-egress-denied"
        elif not self.pe.ingress(s, d, port, proto).allowed:
            out = "policy-ingress-denied"
        else:
            out = None
        self._decisions[key] = out
        return out

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
        src_cls = self.class_of[src.key]
        delivered, first_reason = False, None
        for target in col.targets:
            reason = self._decide(src, src_cls, target, dest.protocol)
            if reason is None:
                delivered = True
            elif first_reason is None:
                first_reason = reason
        if first_reason is None:
            return DELIVERED, None
        return (PARTIAL if delivered else DROPPED), first_reason
