"""Pod volumes, the Secrets a pod consumes, and the storage kinds (PVC, PV, StorageClass): manifests → engine objects.

Why a module of its own: storage (docs/semantics.md I1–I3) and Secret consumption (J1–J3) read parts of a pod
spec that nothing else reads, plus three kinds of their own; `parse.py` calls these functions and stays about
the kinds it already had. As everywhere in the importer, a value the API server would refuse is refused with
its field, and a Secret's value is never read: only names, keys and where they are used.
"""
from __future__ import annotations

from tracer.engine.model import PersistentVolume, PersistentVolumeClaim, PodVolume, SecretRef, StorageClass

from .fields import Ctx

__all__ = ["pod_volumes", "secret_refs", "status_reason", "parse_pvc", "parse_pv", "parse_storage_class",
           "VOLUME_SOURCE_FIELDS", "DEFAULT_STORAGE_CLASS"]

DEFAULT_STORAGE_CLASS = "storageclass.kubernetes.io/is-default-class"
ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
# The fields of each volume source kept for the storage path (I1): where the data lives, never the data.
VOLUME_SOURCE_FIELDS: dict[str, tuple[str, ...]] = {
    "nfs": ("server", "path"),
    "iscsi": ("targetPortal", "portals", "iqn", "lun"),
    "cephfs": ("monitors", "path"),
    "rbd": ("monitors", "pool", "image"),
    "csi": ("driver", "volumeHandle"),
    "glusterfs": ("endpoints", "path"),
    "hostPath": ("path", "type"),
    "local": ("path",),
    "configMap": ("name",),
    "secret": ("secretName",),
    "emptyDir": ("medium",),
}
_REQUIRED = {"nfs": ("server", "path"), "iscsi": ("targetPortal",), "cephfs": ("monitors",), "rbd": ("monitors",),
             "csi": ("driver",), "hostPath": ("path",)}
# Keys of a volume entry that are not its source.
_NOT_SOURCE = {"name"}


def _source(ctx: Ctx, kind: str, body: dict, path: str) -> dict:
    out: dict = {}
    for key in VOLUME_SOURCE_FIELDS.get(kind, ()):
        if key not in body:
            continue
        if key in ("monitors", "portals"):
            out[key] = list(ctx.strs(body, key, f"{path}.{key}"))
        elif key == "lun":
            out[key] = ctx.int(body, key, f"{path}.{key}", lo=0)
        else:
            out[key] = ctx.str(body, key, f"{path}.{key}")
    for key in _REQUIRED.get(kind, ()):
        if not out.get(key):
            raise ctx.error(f"{path}.{key}", f"required for a {kind} volume")
    return out


def _volume_kind(ctx: Ctx, vol: dict, path: str) -> str:
    kinds = [k for k in vol if k not in _NOT_SOURCE]
    if len(kinds) != 1:
        raise ctx.error(path, "a volume needs exactly one source (emptyDir, persistentVolumeClaim, nfs, …), "
                              f"found {', '.join(sorted(kinds)) or 'none'}")
    return kinds[0]


def pod_volumes(ctx: Ctx, spec: dict, path: str, pod_name: str) -> tuple[PodVolume, ...]:
    """spec.volumes → PodVolume. A generic ephemeral volume's claim is named `<pod>-<volume>` (as Kubernetes does)."""
    out = []
    names: set[str] = set()
    for p, vol in ctx.maps(spec, "volumes", f"{path}.volumes"):
        name = ctx.str(vol, "name", f"{p}.name", required=True)
        if name in names:
            raise ctx.error(f"{p}.name", f"duplicate volume name {name!r}")
        names.add(name)
        kind = _volume_kind(ctx, vol, p)
        body = ctx.map(vol, kind, f"{p}.{kind}")
        claim, read_only = "", False
        if kind == "persistentVolumeClaim":
            claim = ctx.str(body, "claimName", f"{p}.{kind}.claimName", required=True)
            read_only = bool(ctx.bool(body, "readOnly", f"{p}.{kind}.readOnly"))
        elif kind == "ephemeral":
            claim = f"{pod_name}-{name}"
        else:
            read_only = bool(ctx.bool(body, "readOnly", f"{p}.{kind}.readOnly"))
        out.append(PodVolume(name=name, kind=kind, claim_name=claim, read_only=read_only,
                             source=_source(ctx, kind, body, f"{p}.{kind}")))
    return tuple(out)


def _items(ctx: Ctx, body: dict, path: str) -> tuple[str, ...]:
    return tuple(ctx.str(i, "key", f"{p}.key", required=True) for p, i in ctx.maps(body, "items", f"{path}.items"))


def secret_refs(ctx: Ctx, spec: dict, path: str) -> tuple[SecretRef, ...]:
    """Every Secret the pod reads (J2/J3): env, envFrom, secret volumes, projected sources, imagePullSecrets."""
    out: list[SecretRef] = []
    for key in ("initContainers", "containers"):
        for p, c in ctx.maps(spec, key, f"{path}.{key}"):
            cname = c.get("name") if isinstance(c.get("name"), str) else ""
            for ep, env in ctx.maps(c, "env", f"{p}.env"):
                value_from = ctx.map(env, "valueFrom", f"{ep}.valueFrom")
                ref = ctx.map(value_from, "secretKeyRef", f"{ep}.valueFrom.secretKeyRef")
                if ref:
                    rp = f"{ep}.valueFrom.secretKeyRef"
                    out.append(SecretRef(secret_name=ctx.str(ref, "name", f"{rp}.name", required=True), via="env",
                                         key=ctx.str(ref, "key", f"{rp}.key", required=True),
                                         optional=bool(ctx.bool(ref, "optional", f"{rp}.optional")),
                                         container=cname, target=ctx.str(env, "name", f"{ep}.name")))
            for ep, env_from in ctx.maps(c, "envFrom", f"{p}.envFrom"):
                ref = ctx.map(env_from, "secretRef", f"{ep}.secretRef")
                if ref:
                    out.append(SecretRef(secret_name=ctx.str(ref, "name", f"{ep}.secretRef.name", required=True),
                                         via="envFrom", optional=bool(ctx.bool(ref, "optional",
                                                                              f"{ep}.secretRef.optional")),
                                         container=cname))
    for p, vol in ctx.maps(spec, "volumes", f"{path}.volumes"):
        vname = vol.get("name") if isinstance(vol.get("name"), str) else ""
        secret = ctx.map(vol, "secret", f"{p}.secret")
        if secret:
            out.append(SecretRef(secret_name=ctx.str(secret, "secretName", f"{p}.secret.secretName", required=True),
                                 via="volume", optional=bool(ctx.bool(secret, "optional", f"{p}.secret.optional")),
                                 target=vname, items=_items(ctx, secret, f"{p}.secret")))
        projected = ctx.map(vol, "projected", f"{p}.projected")
        for sp, source in ctx.maps(projected, "sources", f"{p}.projected.sources"):
            ref = ctx.map(source, "secret", f"{sp}.secret")
            if ref:
                out.append(SecretRef(secret_name=ctx.str(ref, "name", f"{sp}.secret.name", required=True),
                                     via="volume", optional=bool(ctx.bool(ref, "optional", f"{sp}.secret.optional")),
                                     target=vname, items=_items(ctx, ref, f"{sp}.secret")))
    for p, ref in ctx.maps(spec, "imagePullSecrets", f"{path}.imagePullSecrets"):
        name = ctx.str(ref, "name", f"{p}.name")
        if name:
            out.append(SecretRef(secret_name=name, via="imagePullSecret"))
    return tuple(out)


def status_reason(status: dict) -> str:
    """Why a live pod is not running or not ready, in the kubelet's own words (conditions and waiting containers)."""
    if not isinstance(status, dict):
        return ""
    parts: list[str] = []

    def mapping(value) -> dict:
        return value if isinstance(value, dict) else {}

    def items(value) -> list:
        return value if isinstance(value, list) else []

    for key in ("initContainerStatuses", "containerStatuses"):
        for cs in items(status.get(key)):
            waiting = mapping(mapping(mapping(cs).get("state")).get("waiting"))
            reason, msg = waiting.get("reason"), waiting.get("message")
            if reason and reason != "PodInitializing":
                parts.append(f"container {mapping(cs).get('name')}: {reason}" + (f" ({msg})" if msg else ""))
    if not parts:
        for cond in items(status.get("conditions")):
            if isinstance(cond, dict) and cond.get("status") == "False" and cond.get("type") in (
                    "PodScheduled", "Ready") and (cond.get("message") or cond.get("reason")):
                parts.append(f"{cond['type']}: {cond.get('reason') or ''} {cond.get('message') or ''}".strip())
                break
    return "; ".join(str(p)[:300] for p in parts[:4])


def _access_modes(ctx: Ctx, spec: dict, path: str) -> tuple[str, ...]:
    modes = ctx.strs(spec, "accessModes", path)
    for i, mode in enumerate(modes):
        if mode not in ACCESS_MODES:
            raise ctx.error(f"{path}[{i}]", f"unknown access mode {mode!r} (one of {', '.join(ACCESS_MODES)})")
    return modes


def parse_pvc(ctx: Ctx, data: dict, meta_fn, owner_fn) -> PersistentVolumeClaim:
    meta, labels, _a, created = meta_fn(ctx, data)
    spec = ctx.map(data, "spec", "spec")
    status = ctx.map(data, "status", "status")
    storage_class = spec.get("storageClassName")
    if storage_class is not None:
        storage_class = ctx.str(spec, "storageClassName", "spec.storageClassName")
    owner_kind, owner_name = owner_fn(ctx, meta)
    return PersistentVolumeClaim(
        namespace=ctx.namespace, name=ctx.name, storage_class=storage_class,
        access_modes=_access_modes(ctx, spec, "spec.accessModes"),
        volume_name=ctx.str(spec, "volumeName", "spec.volumeName"),
        phase=ctx.str(status, "phase", "status.phase", "Pending", choices=("Pending", "Bound", "Lost")),
        labels=labels, owner_kind=owner_kind, owner_name=owner_name, created=created)


_PV_NOT_SOURCE = {"accessModes", "capacity", "claimRef", "mountOptions", "nodeAffinity", "persistentVolumeReclaimPolicy",
                  "storageClassName", "volumeMode", "volumeAttributesClassName"}


def parse_pv(ctx: Ctx, data: dict, meta_fn) -> PersistentVolume:
    _m, labels, _a, _c = meta_fn(ctx, data)
    spec = ctx.map(data, "spec", "spec")
    status = ctx.map(data, "status", "status")
    kinds = [k for k in spec if k not in _PV_NOT_SOURCE]
    if len(kinds) > 1:
        raise ctx.error("spec", f"a PersistentVolume has one volume source, found {', '.join(sorted(kinds))}")
    kind = kinds[0] if kinds else ""
    source = _source(ctx, kind, ctx.map(spec, kind, f"spec.{kind}"), f"spec.{kind}") if kind else {}
    claim = ctx.map(spec, "claimRef", "spec.claimRef")
    return PersistentVolume(
        name=ctx.name, storage_class=ctx.str(spec, "storageClassName", "spec.storageClassName"),
        access_modes=_access_modes(ctx, spec, "spec.accessModes"),
        claim_namespace=ctx.str(claim, "namespace", "spec.claimRef.namespace"),
        claim_name=ctx.str(claim, "name", "spec.claimRef.name"),
        phase=ctx.str(status, "phase", "status.phase", "Bound" if claim else "Available"),
        kind=kind, source=source, labels=labels)


def parse_storage_class(ctx: Ctx, data: dict, meta_fn) -> StorageClass:
    _m, _labels, annotations, _c = meta_fn(ctx, data)
    return StorageClass(
        name=ctx.name, provisioner=ctx.str(data, "provisioner", "provisioner", required=True),
        is_default=annotations.get(DEFAULT_STORAGE_CLASS, "").lower() == "true",
        volume_binding_mode=ctx.str(data, "volumeBindingMode", "volumeBindingMode", "Immediate",
                                    choices=("Immediate", "WaitForFirstConsumer")))
