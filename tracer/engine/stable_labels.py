"""L2 (docs/semantics.md): the labels that keep selecting a pod's workload across rollouts and restarts.

Why: a selector a user is told to write (a fix's YAML, a drop hop's hint) must still select the pods after the
next rollout. Controllers add labels per revision or per replica (`pod-template-hash` by the Deployment
controller, `controller-revision-hash` and `pod-template-generation` by StatefulSet/DaemonSet,
`statefulset.kubernetes.io/pod-name` and `apps.kubernetes.io/pod-index` per StatefulSet replica, the Job's
`controller-uid`); a selector on them breaks or selects one replica only. Preferred: the workload's own selector
labels; else the pod's labels without those.
"""
from __future__ import annotations

from .cluster import ClusterModel
from .model import Pod

__all__ = ["UNSTABLE_LABELS", "stable_labels"]

UNSTABLE_LABELS = frozenset({
    "pod-template-hash", "controller-revision-hash", "pod-template-generation",
    "statefulset.kubernetes.io/pod-name", "apps.kubernetes.io/pod-index",
    "controller-uid", "batch.kubernetes.io/controller-uid",
})


def stable_labels(model: ClusterModel, pod: Pod) -> dict[str, str]:
    """The workload's selector labels (matchLabels, without unstable keys) when they select `pod`; else the
    pod's own labels without the unstable keys."""
    wl = model.workloads.get((pod.namespace, pod.workload_kind, pod.workload_name)) if pod.workload_kind else None
    if wl is not None and wl.selector is not None and not wl.selector.match_expressions:
        labels = {k: v for k, v in wl.selector.match_labels.items() if k not in UNSTABLE_LABELS}
        if labels and all(pod.labels.get(k) == v for k, v in labels.items()):
            return labels
    return {k: v for k, v in pod.labels.items() if k not in UNSTABLE_LABELS}
