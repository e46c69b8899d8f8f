"""Importing storage kinds, pod volumes and Secret references: what is kept, and errors that name the field.

Secrets stay value-free: only names, keys and where a pod reads them are kept (J1).
"""
from __future__ import annotations

import pytest

from topology.importers.errors import ManifestError
from topology.importers.load import parse_bytes
from topology.importers.parse import parse_objects

POD = "apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: a}}\nspec: {spec}\n"
C = "containers: [{name: c}]"

CASES = [
    ("two-sources", POD.format(spec="{" + C + ", volumes: [{name: v, emptyDir: {}, hostPath: {path: /x}}]}"),
     "Pod a/p", "spec.volumes[0]", "exactly one source"),
    ("nfs-without-server", POD.format(spec="{" + C + ", volumes: [{name: v, nfs: {path: /x}}]}"),
     "Pod a/p", "spec.volumes[0].nfs.server", "required for a nfs volume"),
    ("claim-without-name", POD.format(spec="{" + C + ", volumes: [{name: v, persistentVolumeClaim: {}}]}"),
     "Pod a/p", "spec.volumes[0].persistentVolumeClaim.claimName", "required"),
    ("duplicate-volume", POD.format(spec="{" + C + ", volumes: [{name: v, emptyDir: {}}, {name: v, emptyDir: {}}]}"),
     "Pod a/p", "spec.volumes[1].name", "duplicate volume name"),
    ("secret-key-missing", POD.format(
        spec="{containers: [{name: c, env: [{name: X, valueFrom: {secretKeyRef: {name: s}}}]}]}"),
     "Pod a/p", "spec.containers[0].env[0].valueFrom.secretKeyRef.key", "required"),
    ("bad-access-mode", "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c, namespace: a}\n"
                        "spec: {accessModes: [ReadWriteSometimes]}\n",
     "PersistentVolumeClaim a/c", "spec.accessModes[0]", "unknown access mode"),
    ("pv-two-sources", "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: v}\n"
                       "spec: {nfs: {server: 10.0.0.1, path: /}, hostPath: {path: /x}}\n",
     "PersistentVolume v", "spec", "one volume source"),
    ("class-without-provisioner", "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: s}\n",
     "StorageClass s", "provisioner", "required"),
]


@pytest.mark.parametrize("text, obj, field, problem", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_errors_name_the_object_and_field(text, obj, field, problem):
    with pytest.raises(ManifestError) as exc:
        parse_objects(parse_bytes(text.encode(), "t.yaml"))
    err = exc.value
    assert (err.object, err.field) == (obj, field), str(err)
    assert problem in err.problem, str(err)


def test_storage_kinds_volumes_and_secret_refs_are_kept():
    text = """
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast, annotations: {storageclass.kubernetes.io/is-default-class: "true"}}
provisioner: pd.csi.storage.gke.io
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: ceph}
spec: {accessModes: [ReadWriteMany], rbd: {monitors: ["10.0.0.1:6789"], pool: kube, image: img}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: a}
spec: {accessModes: [ReadWriteOnce]}
status: {phase: Bound}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: a}
spec:
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      imagePullSecrets: [{name: reg}]
      containers:
      - name: c
        env: [{name: PW, value: hunter2}, {name: K, valueFrom: {secretKeyRef: {name: s, key: k, optional: true}}}]
        envFrom: [{secretRef: {name: all}}]
      volumes:
      - {name: cert, secret: {secretName: tls, items: [{key: tls.crt, path: c}]}}
      - {name: mix, projected: {sources: [{secret: {name: proj}}, {configMap: {name: cm}}]}}
  volumeClaimTemplates: [{metadata: {name: data}, spec: {accessModes: [ReadWriteOnce]}}]
"""
    o = parse_objects(parse_bytes(text.encode(), "t.yaml")).objects
    (cls,) = o.storage_classes
    assert cls.is_default and cls.volume_binding_mode == "WaitForFirstConsumer"
    (pv,) = o.persistent_volumes
    assert (pv.kind, pv.source) == ("rbd", {"monitors": ["10.0.0.1:6789"], "pool": "kube", "image": "img"})
    (pvc,) = o.persistent_volume_claims
    assert pvc.storage_class is None and pvc.phase == "Bound"
    (sts,) = o.workloads
    assert sts.claim_templates == ("data",)
    assert "hunter2" not in str(sts.template)  # literal env values are never stored


def test_pod_secret_refs_in_order():
    text = POD.format(spec="""{imagePullSecrets: [{name: reg}],
      containers: [{name: c, env: [{name: K, valueFrom: {secretKeyRef: {name: s, key: k, optional: true}}}],
                    envFrom: [{secretRef: {name: all}}]}],
      volumes: [{name: cert, secret: {secretName: tls, items: [{key: tls.crt, path: c}]}},
                {name: mix, projected: {sources: [{secret: {name: proj}}, {configMap: {name: cm}}]}}]}""")
    (pod,) = parse_objects(parse_bytes(text.encode(), "t.yaml")).objects.pods
    assert [(r.secret_name, r.via, r.key, r.items, r.optional, r.target) for r in pod.secret_refs] == [
        ("s", "env", "k", (), True, "K"), ("all", "envFrom", "", (), False, ""),
        ("tls", "volume", "", ("tls.crt",), False, "cert"), ("proj", "volume", "", (), False, "mix"),
        ("reg", "imagePullSecret", "", (), False, "")]
    assert [(v.name, v.kind, v.source) for v in pod.volumes] == [("cert", "secret", {"secretName": "tls"}),
                                                                 ("mix", "projected", {})]


@pytest.mark.parametrize("status", [
    {"phase": "Pending", "containerStatuses": "oops"},
    {"phase": "Pending", "containerStatuses": [{"name": "c", "state": ["waiting"]}]},
    {"phase": "Pending", "containerStatuses": [{"name": "c", "state": {"waiting": "CrashLoop"}}]},
])
def test_odd_statuses_are_read_without_failing(status):
    import json
    text = json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a"},
                       "spec": {"containers": [{"name": "c"}]}, "status": status})
    (pod,) = parse_objects(parse_bytes(text.encode(), "t.json")).objects.pods
    assert pod.phase == "Pending" and pod.status_reason == ""


def test_the_kubelets_waiting_reason_is_kept():
    import json
    status = {"phase": "Pending", "podIP": "10.1.0.5", "containerStatuses": [
        {"name": "api", "state": {"waiting": {"reason": "CreateContainerConfigError",
                                              "message": 'secret "db" not found'}}}]}
    text = json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a"},
                       "spec": {"containers": [{"name": "api"}]}, "status": status})
    (pod,) = parse_objects(parse_bytes(text.encode(), "t.json")).objects.pods
    assert pod.status_reason == 'container api: CreateContainerConfigError (secret "db" not found)'
