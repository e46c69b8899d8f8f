"""Budgets checked before an import builds anything: how many objects the input stands for.

Why: a 258-byte Deployment with `replicas: 200000` and `--materialize --nodes 5000` made the importer build
200,002 pods (51 s, then 200,002 rows); `replicas: 1000000000` took a web worker to 1.7 GB until it was
killed. The size of the upload says nothing about the size of the cluster it describes, so the importer
first *counts* what materialising would create — a few dict lookups per document — and refuses, naming the
file, document, object and field, anything past the limits Kubernetes itself is validated at:

- `MAX_PODS` (150,000) pods and `MAX_NODES` (5,000) nodes: the Kubernetes scalability thresholds this tracer
  is designed for (docs/performance.md);
- `MAX_PODS_PER_NODE` (110) pods per node: the kubelet's default `maxPods` — past it the real scheduler
  leaves the extra pods Pending, so a simulation that places them would answer for a cluster that cannot be;
- `MAX_DOCUMENTS` (500,000) documents in any import (a threshold-size live dump has ~200,000).

The count is an upper bound of what `materialize` creates (a controller's pods already in the input are not
counted twice); the exact work happens afterwards, in `materialize.py`.
"""
from __future__ import annotations

from .errors import ManifestError
from .load import Document
from .materialize import MAX_NODES

__all__ = ["MAX_PODS", "MAX_NODES", "MAX_PODS_PER_NODE", "MAX_DOCUMENTS", "check_documents", "check_materialize"]

MAX_PODS = 150_000
MAX_PODS_PER_NODE = 110
MAX_DOCUMENTS = 500_000

_REPLICATED = ("Deployment", "ReplicaSet", "ReplicationController", "StatefulSet")
_SYSTEM_PODS = 2  # the CoreDNS replicas materialize adds when the input has no cluster DNS


def check_documents(docs: list[Document]) -> None:
    """Any import: refuse more documents than a threshold-size cluster holds, before validating them."""
    if len(docs) > MAX_DOCUMENTS:
        last = docs[MAX_DOCUMENTS]
        raise last.error(f"the input holds {len(docs)} objects; an import takes at most {MAX_DOCUMENTS:,} "
                         f"(a {MAX_NODES:,}-node, {MAX_PODS:,}-pod cluster has about 200,000): split it")


def _count(value) -> int | None:
    """A replica-like count as written, or None when it is not a whole number (the parser reports that)."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _kind_name(doc: Document) -> tuple[str, str, str]:
    data = doc.data
    meta = data.get("metadata") if isinstance(data.get("metadata"), dict) else {}
    ns = meta.get("namespace") if isinstance(meta.get("namespace"), str) else ""
    name = meta.get("name") if isinstance(meta.get("name"), str) else ""
    return str(data.get("kind") or ""), ns, name


def _controller(doc: Document) -> tuple[str, str] | None:
    meta = doc.data.get("metadata") if isinstance(doc.data.get("metadata"), dict) else {}
    for ref in meta.get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            return str(ref.get("kind")), str(ref.get("name"))
    return None


def check_materialize(docs: list[Document], nodes: int) -> None:
    """`--materialize` on `nodes` simulated nodes: refuse, before building anything, an input that would
    create more than MAX_PODS pods, more than MAX_PODS_PER_NODE pods per node, or more than MAX_NODES nodes.

    The error names the workload (and its field) that contributes most, so the user knows what to change.
    """
    node_docs = [d for d in docs if isinstance(d.data, dict) and d.data.get("kind") == "Node"]
    if len(node_docs) > MAX_NODES:
        raise node_docs[MAX_NODES].error(f"the input holds {len(node_docs)} Nodes; at most {MAX_NODES:,} (the "
                                         "Kubernetes scalability threshold)", kind="Node")
    n_nodes = len(node_docs) or nodes
    controllers = {(kind, name) for d in docs if isinstance(d.data, dict)
                   for kind, _ns, name in [_kind_name(d)] if kind in (*_REPLICATED, "DaemonSet", "Job")}
    rs_of_deployment = {ref[1] for d in docs if isinstance(d.data, dict) and d.data.get("kind") == "ReplicaSet"
                        for ref in [_controller(d)] if ref and ref[0] == "Deployment"}
    total = _SYSTEM_PODS
    biggest: tuple[int, Document | None, str, tuple[str, str, str]] = (0, None, "", ("", "", ""))
    for doc in docs:
        if not isinstance(doc.data, dict):
            continue
        kind, ns, name = _kind_name(doc)
        spec = doc.data.get("spec") if isinstance(doc.data.get("spec"), dict) else {}
        field, pods = "", 0
        if kind in _REPLICATED:
            if kind == "Deployment" and name in rs_of_deployment:
                continue  # its ReplicaSet is in the input and counts the pods
            field, pods = "spec.replicas", _count(spec.get("replicas", 1))
            if pods is None:
                continue
            if pods > MAX_PODS:
                raise doc.error(f"{pods:,} replicas: --materialize simulates at most {MAX_PODS:,} pods in a "
                                f"cluster (the Kubernetes scalability threshold); nothing was built",
                                field=field, kind=kind, namespace=ns, name=name)
        elif kind == "DaemonSet":
            field, pods = "spec.template", n_nodes  # one pod per node
        elif kind == "Job":
            parallelism = _count(spec.get("parallelism", 1))
            completions = _count(spec.get("completions"))
            field, pods = "spec.parallelism", min(p for p in (parallelism, completions, MAX_PODS + 1)
                                                  if p is not None)
            if pods > MAX_PODS:
                raise doc.error(f"{pods:,} parallel pods: --materialize simulates at most {MAX_PODS:,} pods in "
                                "a cluster (the Kubernetes scalability threshold); nothing was built",
                                field=field, kind=kind, namespace=ns, name=name)
        elif kind == "Pod":
            owner = _controller(doc)
            if owner is not None and owner in controllers:
                continue  # counted in its controller's replicas
            pods = 1
        else:
            continue
        total += pods
        if pods > biggest[0]:
            biggest = (pods, doc, field, (kind, ns, name))
    per_node_cap = n_nodes * MAX_PODS_PER_NODE
    if total <= min(MAX_PODS, per_node_cap):
        return
    pods, doc, field, (kind, ns, name) = biggest
    if total > MAX_PODS:
        why = (f"materialising would create {total:,} pods; a cluster holds at most {MAX_PODS:,} (the Kubernetes "
               "scalability threshold)")
    else:
        why = (f"materialising would create {total:,} pods on {n_nodes:,} node(s): more than {MAX_PODS_PER_NODE} "
               f"per node (the kubelet's default maxPods); give more nodes (`nodes`, at most {MAX_NODES:,}) or "
               "fewer replicas")
    why += f"; this object asks for {pods:,} of them. Nothing was built"
    if doc is None:  # only the system pods: cannot happen with n_nodes ≥ 1
        raise ManifestError(why, field="nodes")
    raise doc.error(why, field=field, kind=kind, namespace=ns, name=name)
