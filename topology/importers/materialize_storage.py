"""What storage and Secrets do to the pods `--materialize` creates (docs/semantics.md I3, J2, J3).

Why a module of its own: `materialize.py` replays controllers, scheduler and allocators; this replays the three
things between a pod and Running that depend on other objects:
- the StatefulSet controller gives each replica its claims from volumeClaimTemplates, `<template>-<sts>-<ordinal>`,
  and mounts them (I3); the ephemeral-volume controller makes `<pod>-<volume>` claims;
- the PV controller binds a claim: spec.volumeName, a PV whose claimRef names it, an Available PV of the same
  class (storageClassName "" included) and access modes, or dynamic provisioning through its StorageClass (or the
  default class when none is named) — a PV `pvc-<hash>` with the provisioner as CSI driver. Otherwise the claim
  stays Pending, and so does every pod that mounts it: unschedulable, no node, no IP, never an endpoint;
- the kubelet refuses to start a container whose env/envFrom/secret volume needs a missing Secret or key
  (without optional: true): the pod gets its IP but stays Pending and not Ready, so it is no ready endpoint and
  sends nothing (J2). A missing imagePullSecret only warns (J3).
The decisions about Secrets are the engine's (`tracer.engine.secret_use`), applied to the parsed references.
"""
from __future__ import annotations

import copy
import hashlib
from typing import Any

from tracer.engine.model import Pod, Secret
from tracer.engine.secret_use import missing_secrets, pull_secret_warnings

from .errors import ManifestError
from .fields import Ctx
from .load import Document
from .volumes import DEFAULT_STORAGE_CLASS, secret_refs

__all__ = ["StorageGate", "stateful_claims"]


def _meta(data: dict) -> dict:
    m = data.get("metadata")
    return m if isinstance(m, dict) else {}


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _claim_keys(mat) -> set[tuple[str, str]]:
    """(namespace, name) of every claim in the input or added so far; computed once per materialisation (a scan of
    every object per replica would be quadratic at 150,000 pods)."""
    keys = getattr(mat, "_claim_keys", None)
    if keys is None:
        keys = {(o.namespace, o.name) for o in mat._all_objs() if o.kind == "PersistentVolumeClaim"}
        mat._claim_keys = keys
    return keys


def stateful_claims(mat, sts, pod_spec: dict, pod_name: str, ordinal: int, selector_labels: dict) -> None:
    """I3: mount `<template>-<sts>-<ordinal>` in the replica's spec and create the claim when it does not exist."""
    templates = sts.spec().get("volumeClaimTemplates")
    if not isinstance(templates, list) or not isinstance(pod_spec.setdefault("volumes", []), list):
        return  # malformed: the parser reports it with its field
    volumes = pod_spec["volumes"]
    have = {v.get("name") for v in volumes if isinstance(v, dict)}
    existing = _claim_keys(mat)
    for t in templates:
        if not isinstance(t, dict) or not isinstance(_meta(t).get("name"), str):
            continue
        tname = _meta(t)["name"]
        claim = f"{tname}-{sts.name}-{ordinal}"
        if tname not in have:
            volumes.append({"name": tname, "persistentVolumeClaim": {"claimName": claim}})
        if (sts.namespace, claim) not in existing:
            existing.add((sts.namespace, claim))
            labels = _meta(t).get("labels")
            meta: dict[str, Any] = {"name": claim, "namespace": sts.namespace,
                                    "labels": {**(labels if isinstance(labels, dict) else {}), **selector_labels}}
            mat.add({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta,
                     "spec": copy.deepcopy(t.get("spec") if isinstance(t.get("spec"), dict) else {})})


class StorageGate:
    """Claims bound once for the whole input, then per pod: may it be scheduled (I3), may it start (J2)."""

    def __init__(self, mat, pods: list[tuple[str, str, dict]]):
        self.mat = mat
        objs = mat._all_objs()
        self.secrets: dict[tuple[str, str], Secret] = {}
        for o in objs:
            if o.kind == "Secret":
                keys = set(o.data.get("data") or {}) | set(o.data.get("stringData") or {})
                self.secrets[(o.namespace, o.name)] = Secret(o.namespace, o.name, keys=tuple(sorted(map(str, keys))))
        self.classes = {o.name: o for o in objs if o.kind == "StorageClass"}
        self.default_class = next((name for name, o in sorted(self.classes.items())
                                   if isinstance(_meta(o.data).get("annotations"), dict)
                                   and str(_meta(o.data)["annotations"].get(DEFAULT_STORAGE_CLASS, "")).lower()
                                   == "true"), None)
        self.pvs = {o.name: o for o in objs if o.kind == "PersistentVolume"}
        self.pv_by_claim: dict[tuple[str, str], str] = {}  # claimRef (namespace, name) → PV, once (not per claim)
        for name, pv in sorted(self.pvs.items()):
            ref = pv.spec().get("claimRef") if isinstance(pv.spec().get("claimRef"), dict) else {}
            if isinstance(ref.get("name"), str):
                self.pv_by_claim.setdefault((str(ref.get("namespace") or ""), ref["name"]), name)
        for ns, name, spec in pods:
            self._ephemeral_claims(ns, name, spec)
        self.claims = {(o.namespace, o.name): o for o in mat._all_objs() if o.kind == "PersistentVolumeClaim"}
        self.problems: dict[tuple[str, str], str] = {}
        for key in sorted(self.claims):
            self._bind(self.claims[key])

    # -- claims ------------------------------------------------------------------------------------

    def _ephemeral_claims(self, ns: str, pod: str, spec: dict) -> None:
        existing = _claim_keys(self.mat)
        for vol in spec.get("volumes") if isinstance(spec.get("volumes"), list) else []:
            eph = vol.get("ephemeral") if isinstance(vol, dict) else None
            if not isinstance(eph, dict):
                continue
            name = f"{pod}-{vol.get('name')}"
            template = eph.get("volumeClaimTemplate") if isinstance(eph.get("volumeClaimTemplate"), dict) else {}
            if (ns, name) not in existing:
                existing.add((ns, name))
                self.mat.add({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                              "metadata": {"name": name, "namespace": ns},
                              "spec": copy.deepcopy(template.get("spec") if isinstance(template.get("spec"), dict)
                                                    else {})})

    def _bind(self, claim) -> None:
        status = claim.data.get("status") if isinstance(claim.data.get("status"), dict) else {}
        if status.get("phase"):
            return  # live state: as given
        spec = claim.spec()
        ident = f"{claim.namespace}/{claim.name}"
        pv_name = spec.get("volumeName") if isinstance(spec.get("volumeName"), str) else ""
        if not pv_name:
            pv_name = (self.pv_by_claim.get((claim.namespace, claim.name))
                       or self.pv_by_claim.get(("", claim.name), ""))
        cls = spec.get("storageClassName")
        if not pv_name:
            pv_name = self._static_match(spec, cls)
        if pv_name and pv_name in self.pvs:
            self._set(claim, "Bound", pv_name)
            pv = self.pvs[pv_name].writable()
            if isinstance(pv.setdefault("spec", {}), dict):
                pv["spec"].setdefault("claimRef", {"namespace": claim.namespace, "name": claim.name})
            pv["status"] = {"phase": "Bound"}
            return
        if pv_name:
            self._pending(claim, f"PersistentVolumeClaim {ident} names volumeName {pv_name}, which does not exist")
            return
        cls_name = cls if isinstance(cls, str) and cls else (self.default_class if cls is None else None)
        if cls_name and cls_name in self.classes:
            provisioner = str(self.classes[cls_name].data.get("provisioner") or "")
            name = f"pvc-{_hash(ident)}"
            self.mat.add({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
                          "spec": {"storageClassName": cls_name, "accessModes": spec.get("accessModes") or [],
                                   "claimRef": {"namespace": claim.namespace, "name": claim.name},
                                   "csi": {"driver": provisioner or "unknown", "volumeHandle": name}},
                          "status": {"phase": "Bound"}})
            self._set(claim, "Bound", name)
            return
        why = (f"StorageClass {cls_name!r} does not exist" if cls_name
               else "no StorageClass is named and none is the default" if cls is None
               else "storageClassName is \"\" (static binding only) and no Available PersistentVolume matches")
        self._pending(claim, f"PersistentVolumeClaim {ident} stays Pending: {why}")

    def _static_match(self, spec: dict, cls) -> str:
        if cls is None:
            return ""
        modes = set(m for m in spec.get("accessModes") or [] if isinstance(m, str)) if isinstance(
            spec.get("accessModes"), list) else set()
        for name, pv in sorted(self.pvs.items()):
            pspec = pv.spec()
            if pspec.get("claimRef") or (pspec.get("storageClassName") or "") != cls:
                continue
            if isinstance(pspec.get("accessModes"), list) and modes <= {
                    m for m in pspec["accessModes"] if isinstance(m, str)}:
                return name
        return ""

    def _set(self, claim, phase: str, volume: str) -> None:
        data = claim.writable()
        if volume and isinstance(data.setdefault("spec", {}), dict):
            data["spec"]["volumeName"] = volume
        data["status"] = {"phase": phase}

    def _pending(self, claim, why: str) -> None:
        self._set(claim, "Pending", "")
        self.problems[(claim.namespace, claim.name)] = why
        self.mat.warnings.append(why + " (I3)")

    # -- pods --------------------------------------------------------------------------------------

    def unschedulable(self, ns: str, pod: str, spec: dict) -> str:
        """I3: why the pod cannot be scheduled (a claim it mounts is missing or not bound), or ''."""
        for vol in spec.get("volumes") if isinstance(spec.get("volumes"), list) else []:
            if not isinstance(vol, dict):
                continue
            pvc = vol.get("persistentVolumeClaim")
            claim = pvc.get("claimName") if isinstance(pvc, dict) else (
                f"{pod}-{vol.get('name')}" if isinstance(vol.get("ephemeral"), dict) else None)
            if not isinstance(claim, str):
                continue
            obj = self.claims.get((ns, claim))
            if obj is None:
                return f"persistentvolumeclaim \"{claim}\" not found"
            if (obj.data.get("status") or {}).get("phase") != "Bound":
                return self.problems.get((ns, claim), f"pod has unbound immediate PersistentVolumeClaims ({claim})")
        return ""

    def start_problems(self, ns: str, pod: str, spec: dict) -> list[str]:
        """J2: why the kubelet does not start the pod's containers (missing Secret or key); J3 goes to warnings."""
        ctx = Ctx(Document("<materialize>", 0, {}), "Pod", ns, pod)
        try:
            refs = secret_refs(ctx, spec, "spec")
        except ManifestError:  # reported by the parser afterwards, with its field
            return []
        p = Pod(namespace=ns, name=pod, secret_refs=refs)

        def lookup(name: str) -> Secret | None:
            return self.secrets.get((ns, name))

        for warning in pull_secret_warnings(p, lookup):
            self.mat.warnings.append(f"Pod {ns}/{pod}: {warning}")
        return missing_secrets(p, lookup)

    @staticmethod
    def not_started_status(status: dict, problems: list[str], containers: list) -> None:
        """J2: IP kept, phase Pending, Ready False, each container waiting with the kubelet's reason."""
        message = "; ".join(problems)
        status["phase"] = "Pending"
        status["conditions"] = [{"type": "PodScheduled", "status": "True"},
                                {"type": "Initialized", "status": "True"},
                                {"type": "ContainersReady", "status": "False", "reason": "ContainersNotReady"},
                                {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                                 "message": message[:1000]}]
        reason = "CreateContainerConfigError" if "CreateContainerConfigError" in message else "ContainerCreating"
        status["containerStatuses"] = [{"name": c.get("name"), "ready": False,
                                        "state": {"waiting": {"reason": reason, "message": message[:1000]}}}
                                       for c in containers if isinstance(c, dict)]
