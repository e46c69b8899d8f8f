"""Side-panel facts for storage and Secret use (docs/semantics.md I1–I3, J1–J3): pods, claims, volumes, classes.

Why a module beside `panels.py`: these panels answer "who mounts what, who shares a ReadWriteMany claim, which
claims a StatefulSet's replicas get, which Secrets (names and keys only) a pod needs and whether it can start" —
each conclusion is the engine's (`storage`, `secret_use`, `pod_readiness`); this only lays the facts out.
Secret values do not exist in the model, so none can be shown.
"""
from __future__ import annotations

from tracer.engine import storage
from tracer.engine.cluster import ClusterModel
from tracer.engine.pod_readiness import why_not_ready
from tracer.engine.secret_use import describe_ref, pull_secret_warnings, unmet

__all__ = ["pod_panel", "claim_panel", "volume_panel", "storage_class_panel", "statefulset_claims"]


def _volume_row(model: ClusterModel, pod, vol, users: dict[str, list[str]]) -> dict:
    ans = storage.volume_target(model, pod, vol)
    claim = model.claims.get(f"{pod.namespace}/{vol.claim_name}") if vol.claim_name else None
    sharers = [u for u in users.get(f"{pod.namespace}/{vol.claim_name}", []) if u != pod.key] if vol.claim_name else []
    return {
        "name": vol.name, "kind": vol.kind, "read_only": vol.read_only,
        "claim": f"pvc:{pod.namespace}/{vol.claim_name}" if vol.claim_name else None,
        "claim_phase": claim.phase if claim else (None if not vol.claim_name else "missing"),
        "volume": f"pv:{claim.volume_name}" if claim and claim.volume_name else None,
        "source": ans.kind, "targets": [f"{t.host}:{t.port}" for t in ans.targets],
        "network": not ans.local and not ans.problem,
        "shared_with": [f"pod:{u}" for u in sharers],
        "note": ans.problem or ans.local or ans.unknown or "",
    }


def pod_panel(model: ClusterModel, key: str) -> dict | None:
    """A pod: its volumes (where each one's data lives), the Secrets it reads, and why it is not ready (if so)."""
    pod = model.pods.get(key)
    if pod is None:
        return None
    users = storage.claim_users(model)
    secrets = []
    for ref in pod.secret_refs:
        secret = model.secrets.get(f"{pod.namespace}/{ref.secret_name}")
        secrets.append({"secret": f"{pod.namespace}/{ref.secret_name}", "via": ref.via, "where": describe_ref(ref),
                        "key": ref.key, "items": list(ref.items), "optional": ref.optional,
                        "exists": secret is not None, "type": secret.type if secret else None,
                        "keys": list(secret.keys) if secret else [],
                        "problem": unmet(ref, secret) if model.secrets else ""})
    warnings = pull_secret_warnings(pod, lambda n: model.secrets.get(f"{pod.namespace}/{n}")) if model.secrets else []
    return {
        "kind": "Pod", "ref": f"pod:{pod.key}", "namespace": pod.namespace, "name": pod.name,
        "facts": [["IP", ", ".join(pod.ips) or "none"], ["node", pod.node_name or "not scheduled"],
                  ["phase", pod.phase], ["ready", "yes" if pod.ready else "no"],
                  ["workload", f"{pod.workload_kind} {pod.workload_name}" if pod.workload_kind else ""]],
        "not_ready": why_not_ready(model, pod) if not pod.ready or pod.phase != "Running" else [],
        "volumes": [_volume_row(model, pod, v, users) for v in pod.volumes],
        "secrets": secrets,
        "warnings": warnings,
    }


def claim_panel(model: ClusterModel, key: str) -> dict | None:
    """A PersistentVolumeClaim: bound volume, access modes, and every pod that mounts it (shared when several)."""
    claim = model.claims.get(key)
    if claim is None:
        return None
    pv = storage.bound_volume(model, claim) if claim.phase == "Bound" else None
    mounted_by = storage.claim_users(model).get(key, [])
    rwx = "ReadWriteMany" in claim.access_modes or "ReadOnlyMany" in claim.access_modes
    return {
        "kind": "PersistentVolumeClaim", "ref": f"pvc:{key}", "namespace": claim.namespace, "name": claim.name,
        "facts": [["phase", claim.phase], ["access modes", ", ".join(claim.access_modes)],
                  ["storage class", "(default)" if claim.storage_class is None else claim.storage_class or '"" (none)'],
                  ["volume", pv.name if pv else claim.volume_name or "none"],
                  ["owner", f"{claim.owner_kind} {claim.owner_name}" if claim.owner_kind else ""]],
        "volume": f"pv:{pv.name}" if pv else None,
        "mounted_by": [f"pod:{p}" for p in mounted_by],
        "shared": len(mounted_by) > 1,
        "note": (f"shared by {len(mounted_by)} pods ({'ReadWriteMany/ReadOnlyMany' if rwx else 'ReadWriteOnce: only pods on one node can mount it'})"
                 if len(mounted_by) > 1 else ""),
    }


def volume_panel(model: ClusterModel, name: str) -> dict | None:
    pv = model.volumes.get(name)
    if pv is None:
        return None
    return {
        "kind": "PersistentVolume", "ref": f"pv:{name}", "name": name,
        "facts": [["phase", pv.phase], ["source", pv.kind or "none"], ["storage class", pv.storage_class],
                  ["access modes", ", ".join(pv.access_modes)],
                  *[[k, ", ".join(map(str, v)) if isinstance(v, list) else str(v)] for k, v in sorted(pv.source.items())]],
        "claim": f"pvc:{pv.claim_namespace}/{pv.claim_name}" if pv.claim_name else None,
    }


def storage_class_panel(model: ClusterModel, name: str) -> dict | None:
    cls = model.storage_classes.get(name)
    if cls is None:
        return None
    claims = [f"pvc:{c.key}" for c in model.claims.values()
              if c.storage_class == name or (c.storage_class is None and cls.is_default)]
    return {
        "kind": "StorageClass", "ref": f"storageclass:{name}", "name": name,
        "facts": [["provisioner", cls.provisioner], ["default", "yes" if cls.is_default else "no"],
                  ["volume binding", cls.volume_binding_mode]],
        "claims": claims,
    }


def statefulset_claims(model: ClusterModel, namespace: str, kind: str, name: str) -> list[dict]:
    """The per-replica claims of a StatefulSet (I3), for its workload panel; [] for other kinds."""
    workload = model.workloads.get((namespace, kind, name))
    return storage.statefulset_claims(model, workload) if workload is not None else []
