"""Why a pod is not running or not Ready, in one place: its own status, missing Secrets (J2), claims (I3).

The trace cites this wherever it meets such a pod: as the source (it sends nothing) and as the only endpoints
a Service could use (reason `pod-not-ready`).
"""
from __future__ import annotations

from .cluster import ClusterModel
from .model import Pod
from .secret_use import missing_secrets
from .storage import claim_problems

__all__ = ["why_not_ready", "not_ready_endpoints"]


def why_not_ready(m: ClusterModel, pod: Pod) -> list[str]:
    """Sentences, most specific first: a missing Secret/key or an unbound claim, else the kubelet's own words."""
    if m.secrets:
        secrets = missing_secrets(pod, lambda name: m.secrets.get(f"{pod.namespace}/{name}"))
    else:
        secrets = []  # a dump without any Secret object says nothing about them (Secrets not dumped)
    reasons = [*claim_problems(m, pod), *secrets]
    if not reasons and pod.status_reason:
        reasons.append(pod.status_reason)
    return reasons


def not_ready_endpoints(m: ClusterModel, pods: list[Pod]) -> str:
    """For a Service whose endpoints are all not ready: why each pod is not, or '' when none says why.

    Only when every pod has a known reason does the answer become `pod-not-ready` (J2/I3); a readiness probe that
    merely fails says nothing the snapshot can explain, and stays `no-endpoints`."""
    parts = []
    for pod in pods:
        why = why_not_ready(m, pod)
        if not why:
            return ""
        parts.append(f"pod {pod.key} is not Ready: {'; '.join(why)}")
    return "; ".join(parts)
