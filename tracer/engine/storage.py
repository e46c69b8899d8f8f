"""Storage as the network sees it (docs/semantics.md I1–I3): which volumes have a network path, to where, sent by whom.

Why a module of its own: volumes are not pod traffic. A network filesystem is mounted by the kubelet and the
kernel on the node (I2): the packets leave from the node's IP, the node's resolver resolves the server name, and
the pod's NetworkPolicy never sees them. This module only decides (pure functions over `ClusterModel`); the
trace entry in `trace_storage.py` walks the answer through the same forwarding steps as any node traffic.

- I1 `volume_target(m, pod, volume)`: node-local kinds (no path), PVC → bound PV → its source, inline sources;
  the server/portal/monitor addresses and their ports (nfs 2049, NFSv3 also 111; iscsi 3260; ceph 6789/3300);
  CSI: the driver's target is not in the snapshot (stated).
- I2 `node_resolvable(m, host)`: a cluster DNS name in `server` fails on the node's resolver on most
  distributions; a ClusterIP works because kube-proxy also handles the node's own traffic.
- I3 `claim_problems(m, pod)`: a missing or unbound claim keeps the pod Pending; `statefulset_claims` gives the
  per-replica claims `<template>-<sts>-<ordinal>`; `claim_users` tells who mounts which claim (shared RWX).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from .cluster import ClusterModel
from .model import PersistentVolume, PersistentVolumeClaim, Pod, PodVolume, Workload

__all__ = ["LOCAL_KINDS", "NETWORK_PORTS", "Target", "VolumeAnswer", "volume_target", "claim_problems",
           "claim_users", "statefulset_claims", "node_resolvable", "split_host_port", "bound_volume"]

# I1: sources whose data never leaves the node.
LOCAL_KINDS = {
    "emptyDir": "an emptyDir lives on the node's disk (or memory)",
    "configMap": "a configMap volume is written to the node by the kubelet from the API server",
    "secret": "a secret volume is a tmpfs the kubelet fills from the API server",
    "projected": "a projected volume is written to the node by the kubelet",
    "downwardAPI": "a downwardAPI volume is written to the node by the kubelet",
    "hostPath": "a hostPath volume is a directory of the node itself",
    "local": "a local PersistentVolume is a disk of the node itself",
}
# Default ports of the network sources (TCP). NFSv3 also needs the portmapper (111), stated in the hop.
NETWORK_PORTS = {"nfs": 2049, "iscsi": 3260, "cephfs": 6789, "rbd": 6789, "glusterfs": 24007}


@dataclass(slots=True)
class Target:
    host: str  # IP or DNS name
    port: int
    what: str  # "NFS server", "iSCSI target portal", "Ceph monitor"


@dataclass(slots=True)
class VolumeAnswer:
    """What the storage path of one pod volume is."""

    volume: PodVolume
    kind: str  # the effective source kind (the PV's for a claim)
    chain: list[tuple[str, str, str, str]] = field(default_factory=list)  # (ref kind, ns, name, detail) hops
    local: str = ""  # set ⇒ no network path, and why
    unknown: str = ""  # set ⇒ a network path whose target the snapshot cannot know (CSI)
    problem: str = ""  # set ⇒ the volume cannot be mounted (missing/unbound claim): the pod stays Pending
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def split_host_port(text: str, default: int) -> tuple[str, int]:
    """'10.0.0.5:3260' / '[fd00::1]:3260' / 'ceph-mon' → (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
        return host, int(port) if port.isdigit() else default
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, int(port) if port.isdigit() else default
    return text, default


def bound_volume(m: ClusterModel, claim: PersistentVolumeClaim) -> PersistentVolume | None:
    """The PV bound to a claim: spec.volumeName, else a PV whose claimRef names it."""
    if claim.volume_name:
        return m.volumes.get(claim.volume_name)
    for pv in m.volumes.values():
        if pv.claim_name == claim.name and pv.claim_namespace == claim.namespace:
            return pv
    return None


def _claim_problem(m: ClusterModel, namespace: str, claim_name: str) -> str:
    claim = m.claims.get(f"{namespace}/{claim_name}")
    if claim is None:
        return (f"PersistentVolumeClaim {namespace}/{claim_name} does not exist: the pod stays Pending "
                f"(unschedulable) until it is created (I3)")
    if claim.phase != "Bound":
        cls = claim.storage_class
        why = (f"no StorageClass {cls!r} exists" if cls and cls not in m.storage_classes
               else "no default StorageClass and no matching PersistentVolume" if cls is None and not any(
                   c.is_default for c in m.storage_classes.values())
               else f"its phase is {claim.phase}")
        return (f"PersistentVolumeClaim {claim.key} is not bound ({why}): the pod stays Pending until it is "
                f"(I3)")
    return ""


def claim_problems(m: ClusterModel, pod: Pod) -> list[str]:
    """I3: every claim of the pod that keeps it Pending (missing or not Bound). Only when claims are known at all."""
    if not m.claims and not m.volumes:
        return []  # a dump without storage objects says nothing about them (kubectl get pods only)
    out = []
    for vol in pod.volumes:
        if vol.claim_name:
            problem = _claim_problem(m, pod.namespace, vol.claim_name)
            if problem:
                out.append(problem)
    return out


def _source_targets(kind: str, source: dict, notes: list[str]) -> tuple[list[Target], str]:
    """The addresses a node contacts for a network source, or (no targets, why unknown)."""
    if kind == "nfs":
        notes.append("NFSv4 needs only 2049/TCP; NFSv3 also needs the portmapper (111) and mountd (I1)")
        return [Target(source.get("server", ""), 2049, "NFS server")], ""
    if kind == "iscsi":
        portals = [source.get("targetPortal", ""), *source.get("portals", [])]
        targets = [Target(*split_host_port(p, 3260), "iSCSI target portal") for p in portals if p]
        if len(targets) > 1:
            notes.append("iSCSI multipath: the node logs in to every portal (one path each)")
        return targets, ""
    if kind in ("cephfs", "rbd"):
        mons = [Target(*split_host_port(mon, 6789), "Ceph monitor") for mon in source.get("monitors", [])]
        notes.append("Ceph monitors listen on 6789 (msgr1) and 3300 (msgr2); the node then talks to the OSDs the "
                     "monitors name, which the snapshot does not know (I1)")
        return mons, ""
    if kind == "csi":
        driver = source.get("driver", "?")
        handle = source.get("volumeHandle", "")
        return [], (f"CSI driver {driver}{f' (volumeHandle {handle})' if handle else ''}: the network target is "
                    f"the driver's own (its node plugin talks to its backend), which the snapshot does not "
                    f"show (I1)")
    if kind == "glusterfs":
        return [], "glusterfs: the servers are the addresses of its Endpoints object, not modelled (I1)"
    return [], f"volume source {kind!r}: the tracer does not know where it sends (I1)"


def volume_target(m: ClusterModel, pod: Pod, volume: PodVolume) -> VolumeAnswer:
    """I1: the storage path of one volume of `pod`."""
    ans = VolumeAnswer(volume=volume, kind=volume.kind)
    if volume.kind in LOCAL_KINDS:
        ans.local = f"{LOCAL_KINDS[volume.kind]}: no network path (I1)"
        return ans
    source, kind = volume.source, volume.kind
    if volume.claim_name:
        what = "generic ephemeral volume's claim" if volume.kind == "ephemeral" else "claim"
        claim = m.claims.get(f"{pod.namespace}/{volume.claim_name}")
        if claim is None:
            ans.problem = _claim_problem(m, pod.namespace, volume.claim_name)
            return ans
        pv = bound_volume(m, claim) if claim.phase == "Bound" else None
        if pv is None:
            ans.problem = _claim_problem(m, pod.namespace, volume.claim_name) or (
                f"PersistentVolumeClaim {claim.key} is Bound to {claim.volume_name or '?'}, which is not in the "
                f"snapshot")
            ans.chain.append(("persistentvolumeclaim", claim.namespace, claim.name,
                              f"volume {volume.name} is {what} {claim.key}"))
            return ans
        modes = ", ".join(claim.access_modes or pv.access_modes) or "no access mode"
        ans.chain.append(("persistentvolumeclaim", claim.namespace, claim.name,
                          f"volume {volume.name} is {what} {claim.key} ({modes}), bound to PersistentVolume "
                          f"{pv.name}"))
        ans.chain.append(("persistentvolume", "", pv.name,
                          f"PersistentVolume {pv.name}: {pv.kind or 'no source'}"
                          + (f" (StorageClass {pv.storage_class})" if pv.storage_class else "")))
        source, kind = pv.source, pv.kind
        ans.kind = kind
        if kind in LOCAL_KINDS:
            ans.local = f"{LOCAL_KINDS[kind]}: no network path (I1)"
            return ans
    ans.targets, ans.unknown = _source_targets(kind, source, ans.notes)
    return ans


def node_resolvable(m: ClusterModel, host: str) -> str:
    """I2: '' when the node can resolve `host` itself, else why not (a cluster DNS name)."""
    name = host.rstrip(".").lower()
    domain = m.cluster_domain.lower()
    labels = name.split(".")
    # a Service's short forms (`nfs`, `nfs.storage`) only resolve through a pod's cluster search path
    short = (len(labels) == 1 and any(s.name == labels[0] for ss in m.services_by_namespace.values() for s in ss)) \
        or (len(labels) == 2 and f"{labels[1]}/{labels[0]}" in m.services)
    if short or name.endswith("." + domain) or name.endswith(".svc") or ".svc." in name:
        return (f"{host} is a cluster DNS name, but the volume is mounted by the node, whose resolver "
                f"(/etc/resolv.conf of the host) does not use cluster DNS on most distributions (it works on GKE): "
                f"the mount fails; put the Service's ClusterIP in `server` (kube-proxy handles the node's "
                f"traffic too) (I2)")
    return ""


def claim_users(m: ClusterModel) -> dict[str, list[str]]:
    """'ns/claim' → the pods ('ns/name') that mount it, sorted; several users of a ReadWriteMany claim share it."""
    users: dict[str, list[str]] = defaultdict(list)
    for pod in m.objects.pods:
        for vol in pod.volumes:
            if vol.claim_name:
                users[f"{pod.namespace}/{vol.claim_name}"].append(pod.key)
    return {k: sorted(set(v)) for k, v in users.items()}


def statefulset_claims(m: ClusterModel, sts: Workload) -> list[dict]:
    """I3: the claim each replica gets, `<template>-<sts>-<ordinal>`, and whether it exists and is bound."""
    if sts.kind != "StatefulSet" or not sts.claim_templates:
        return []
    prefix = f"{sts.name}-"
    ordinals = {int(p.name[len(prefix):]) for p in m.pods_of_workload(sts.namespace, sts.name, "StatefulSet")
                if p.name.startswith(prefix) and p.name[len(prefix):].isdigit()}
    if not ordinals:  # no pods in the snapshot: the replicas it asks for, from ordinal 0
        ordinals = set(range(sts.replicas if sts.replicas is not None else 1))
    out = []
    for ordinal in sorted(ordinals):
        for template in sts.claim_templates:
            name = f"{template}-{sts.name}-{ordinal}"
            claim = m.claims.get(f"{sts.namespace}/{name}")
            out.append({"ordinal": ordinal, "pod": f"{sts.namespace}/{sts.name}-{ordinal}", "template": template,
                        "claim": f"{sts.namespace}/{name}", "exists": claim is not None,
                        "phase": claim.phase if claim else None, "volume": claim.volume_name if claim else None})
    return out
