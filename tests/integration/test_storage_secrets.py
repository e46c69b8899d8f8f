"""Storage (I1–I3) and Secrets (J2, J3) through import and `manage.py trace`, on a live dump and with --materialize.

    live dump (statuses given):  ns lab: [pod lab/reader] and [pod lab/writer] share data; reader's volumes data (PVC data → PV data-pv, nfs 10.96.20.20 =
        svc lab/nfs → [pod lab/nfs-server]), tmp (emptyDir), iso (iscsi 192.0.2.50); default-deny egress on lab/reader
    desired state (--materialize): StatefulSet db/pg (2 replicas, volumeClaimTemplate data, default StorageClass),
        Deployment db/cache with a claim whose class does not exist, Deployment db/api needing Secret key password
        that api-creds lacks (and a missing imagePullSecret), Deployment db/tool with an optional missing Secret
"""
from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db

LIVE = """
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Node
  metadata: {name: w1}
  spec: {podCIDR: 10.244.1.0/24}
  status: {addresses: [{type: InternalIP, address: 172.19.0.11}]}
- apiVersion: v1
  kind: Node
  metadata: {name: w2}
  spec: {podCIDR: 10.244.2.0/24}
  status: {addresses: [{type: InternalIP, address: 172.19.0.12}]}
- apiVersion: v1
  kind: PersistentVolume
  metadata: {name: data-pv}
  spec:
    accessModes: [ReadWriteMany]
    capacity: {storage: 5Gi}
    nfs: {server: 10.96.20.20, path: /srv}
    claimRef: {namespace: lab, name: data}
  status: {phase: Bound}
- apiVersion: v1
  kind: PersistentVolumeClaim
  metadata: {name: data, namespace: lab}
  spec: {accessModes: [ReadWriteMany], storageClassName: "", volumeName: data-pv}
  status: {phase: Bound}
- apiVersion: v1
  kind: Service
  metadata: {name: nfs, namespace: lab}
  spec: {clusterIP: 10.96.20.20, selector: {app: nfs}, ports: [{name: nfs, port: 2049}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: nfs-server, namespace: lab, labels: {app: nfs}}
  spec: {nodeName: w2, containers: [{name: nfs, image: nfs, ports: [{containerPort: 2049}]}]}
  status: {phase: Running, podIP: 10.244.2.7, conditions: [{type: Ready, status: "True"}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: reader, namespace: lab, labels: {app: reader}}
  spec:
    nodeName: w1
    containers: [{name: r, image: busybox}]
    volumes:
    - {name: data, persistentVolumeClaim: {claimName: data}}
    - {name: tmp, emptyDir: {}}
    - {name: iso, iscsi: {targetPortal: "192.0.2.50", iqn: "iqn.2020-01.org.example:disk", lun: 1}}
  status: {phase: Running, podIP: 10.244.1.9, conditions: [{type: Ready, status: "True"}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: writer, namespace: lab}
  spec:
    nodeName: w2
    containers: [{name: w, image: busybox}]
    volumes: [{name: data, persistentVolumeClaim: {claimName: data}}]
  status: {phase: Running, podIP: 10.244.2.8, conditions: [{type: Ready, status: "True"}]}
- apiVersion: v1
  kind: Pod
  metadata: {name: stuck, namespace: lab}
  spec:
    containers: [{name: s, image: busybox}]
    volumes: [{name: d, persistentVolumeClaim: {claimName: missing}}]
  status:
    phase: Pending
    conditions: [{type: PodScheduled, status: "False", reason: Unschedulable,
                  message: 'persistentvolumeclaim "missing" not found'}]
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: deny-egress, namespace: lab}
  spec: {podSelector: {matchLabels: {app: reader}}, policyTypes: [Egress]}
"""

DESIRED = """
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: standard, annotations: {storageclass.kubernetes.io/is-default-class: "true"}}
provisioner: rancher.io/local-path
---
apiVersion: v1
kind: Service
metadata: {name: pg, namespace: db}
spec: {clusterIP: None, selector: {app: pg}, ports: [{port: 5432}]}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: pg, namespace: db}
spec:
  serviceName: pg
  replicas: 2
  selector: {matchLabels: {app: pg}}
  template:
    metadata: {labels: {app: pg}}
    spec: {containers: [{name: pg, image: postgres, ports: [{containerPort: 5432}]}]}
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: cache, namespace: db}
spec: {accessModes: [ReadWriteOnce], storageClassName: premium, resources: {requests: {storage: 1Gi}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: cache, namespace: db}
spec:
  selector: {matchLabels: {app: cache}}
  template:
    metadata: {labels: {app: cache}}
    spec:
      containers: [{name: c, image: redis, ports: [{containerPort: 6379}]}]
      volumes: [{name: c, persistentVolumeClaim: {claimName: cache}}]
---
apiVersion: v1
kind: Service
metadata: {name: cache, namespace: db}
spec: {selector: {app: cache}, ports: [{port: 6379}]}
---
apiVersion: v1
kind: Secret
metadata: {name: api-creds, namespace: db}
type: Opaque
stringData: {username: s3cr3t-value}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: db}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      imagePullSecrets: [{name: regcred}]
      containers:
      - name: api
        image: api
        ports: [{containerPort: 8080}]
        env: [{name: PASSWORD, valueFrom: {secretKeyRef: {name: api-creds, key: password}}}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: db}
spec: {selector: {app: api}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: tool, namespace: db}
spec:
  selector: {matchLabels: {app: tool}}
  template:
    metadata: {labels: {app: tool}}
    spec:
      containers: [{name: t, image: tool, envFrom: [{secretRef: {name: extra, optional: true}}]}]
      volumes: [{name: tls, secret: {secretName: api-creds, items: [{key: username, path: u}]}}]
"""


def _import(tmp_path, name, text, **kw):
    from topology.importers import import_files
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return import_files(name, [str(path)], **kw)


def trace_json(*args) -> dict:
    out = io.StringIO()
    call_command("trace", *args, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


@pytest.fixture
def live(tmp_path):
    return _import(tmp_path, "live", LIVE)


@pytest.fixture
def desired(tmp_path):
    return _import(tmp_path, "desired", DESIRED, materialize=True)


def test_live_dump_keeps_storage_objects_and_pod_volumes(live):
    from topology.compile import load_model
    assert live.counts["PersistentVolumeClaim"] == 1 and live.counts["PersistentVolume"] == 1
    m = load_model(live.snapshot.pk)
    reader = m.pods["lab/reader"]
    assert [(v.name, v.kind, v.claim_name) for v in reader.volumes] == [
        ("data", "persistentVolumeClaim", "data"), ("tmp", "emptyDir", ""), ("iso", "iscsi", "")]
    assert m.volumes["data-pv"].source == {"server": "10.96.20.20", "path": "/srv"}
    assert "persistentvolumeclaim \"missing\" not found" in m.pods["lab/stuck"].status_reason


def test_i1_i2_live_nfs_claim_is_sent_by_the_node_past_the_pods_egress_policy(live):
    r = trace_json("--cluster", "live", "--from", "pod:lab/reader", "--to", "volume:data")
    (path,) = r["paths"]
    assert path["verdict"] == "delivered" and (path["endpoint"], path["endpoint_port"]) == ("pod:lab/nfs-server", 2049)
    send = next(h for h in path["hops"] if h["kind"] == "node" and h["action"] == "send")
    assert "172.19.0.11" in send["detail"]
    # the same pod cannot reach the same server itself: its egress is denied
    r = trace_json("--cluster", "live", "--from", "pod:lab/reader", "--to", "svc:lab/nfs", "--port", "2049")
    assert r["paths"][0]["reason"] == "policy-egress-denied"


def test_i1_live_local_and_iscsi(live):
    r = trace_json("--cluster", "live", "--from", "pod:lab/reader", "--to", "volume:tmp")
    assert r["paths"][0]["endpoint"] == "node:w1" and r["paths"][0]["hops"][-1]["action"] == "local"
    r = trace_json("--cluster", "live", "--from", "pod:lab/reader", "--to", "volume:iso")
    assert (r["paths"][0]["endpoint"], r["paths"][0]["endpoint_port"]) == ("external:192.0.2.50", 3260)


def test_i3_live_pending_pod_says_why_it_cannot_send(live):
    with pytest.raises(CommandError, match="Pending.*PersistentVolumeClaim lab/missing does not exist"):
        trace_json("--cluster", "live", "--from", "pod:lab/stuck", "--to", "volume:d")


def test_i3_materialized_statefulset_gets_a_bound_claim_per_replica(desired):
    from topology.compile import load_model
    from tracer.engine.storage import statefulset_claims
    m = load_model(desired.snapshot.pk)
    claims = statefulset_claims(m, m.workloads[("db", "StatefulSet", "pg")])
    assert [(c["claim"], c["phase"]) for c in claims] == [("db/data-pg-0", "Bound"), ("db/data-pg-1", "Bound")]
    pg0 = m.pods["db/pg-0"]
    assert [(v.name, v.claim_name) for v in pg0.volumes] == [("data", "data-pg-0")]
    assert pg0.ready and pg0.ip
    r = trace_json("--cluster", "desired", "--from", "pod:db/pg-1", "--to", "volume:data")
    assert "CSI driver rancher.io/local-path" in r["paths"][0]["hops"][-1]["detail"]


def test_i3_materialized_pod_with_unbound_claim_is_pending_without_ip(desired):
    from topology.compile import load_model
    m = load_model(desired.snapshot.pk)
    (cache,) = m.pods_of_workload("db", "cache", "Deployment")
    assert cache.phase == "Pending" and not cache.ip and not cache.node_name
    assert m.claims["db/cache"].phase == "Pending"
    assert any("StorageClass 'premium' does not exist" in w for w in desired.snapshot.warnings)
    r = trace_json("--cluster", "desired", "--from", "pod:db/pg-0", "--to", "svc:db/cache", "--port", "6379")
    assert r["paths"][0]["reason"] == "no-endpoints"  # a pod with no IP is no endpoint at all


def test_j2_materialized_pod_missing_a_secret_key_is_not_ready_and_traces_say_why(desired):
    from topology.compile import load_model
    m = load_model(desired.snapshot.pk)
    (api,) = m.pods_of_workload("db", "api", "Deployment")
    assert api.ip and not api.ready and api.phase == "Pending"
    r = trace_json("--cluster", "desired", "--from", "pod:db/pg-0", "--to", "svc:db/api", "--port", "80")
    (path,) = r["paths"]
    assert path["reason"] == "pod-not-ready"
    assert "Secret api-creds has no key password" in path["hops"][-1]["detail"]
    with pytest.raises(CommandError, match="Secret api-creds has no key password"):
        trace_json("--cluster", "desired", "--from", "workload:db/api", "--to", "svc:db/pg", "--port", "5432")


def test_j2_optional_and_present_references_do_not_block_j3_warns(desired):
    from topology.compile import load_model
    m = load_model(desired.snapshot.pk)
    (tool,) = m.pods_of_workload("db", "tool", "Deployment")
    assert tool.ready and tool.phase == "Running"
    assert [(r.secret_name, r.via, r.optional) for r in tool.secret_refs] == [("extra", "envFrom", True),
                                                                             ("api-creds", "volume", False)]
    assert any("imagePullSecret regcred does not exist" in w for w in desired.snapshot.warnings)


def test_secret_values_are_never_stored(desired):
    from topology.models import Pod, Secret, Workload
    rows = json.dumps([list(Secret.objects.values()), list(Pod.objects.values("secret_refs")),
                       list(Workload.objects.values("template"))], default=str)
    assert "api-creds" in rows and "s3cr3t-value" not in rows


def _api(result):
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient
    owner = get_user_model().objects.create_user("keeper", password="keep-password-1")
    cluster = result.snapshot.cluster
    cluster.owner = owner
    cluster.save()
    client = APIClient()
    client.force_authenticate(owner)
    return client, f"/api/snapshots/{result.snapshot.pk}/objects"


def test_panels_show_who_mounts_what_and_which_secrets_a_pod_needs(desired):
    client, base = _api(desired)
    wl = client.get(f"{base}/workload/db/StatefulSet/pg/").json()
    assert [(c["claim"], c["phase"]) for c in wl["claims"]] == [("db/data-pg-0", "Bound"), ("db/data-pg-1", "Bound")]
    pvc = client.get(f"{base}/pvc/db/data-pg-0/").json()
    assert pvc["mounted_by"] == ["pod:db/pg-0"] and not pvc["shared"] and pvc["volume"].startswith("pv:pvc-")
    pv = client.get(f"{base}/{pvc['volume'].replace(':', '/')}/").json()
    assert pv["claim"] == "pvc:db/data-pg-0"
    sc = client.get(f"{base}/storageclass/standard/").json()
    assert "pvc:db/data-pg-1" in sc["claims"]
    m_api = next(p for p in client.get(f"{base}/workload/db/Deployment/api/").json()["pods"])
    pod = client.get(f"{base}/pod/{m_api.split(':', 1)[1]}/").json()
    (secret,) = pod["secrets"][:1]
    assert secret["secret"] == "db/api-creds" and secret["keys"] == ["username"] and secret["key"] == "password"
    assert secret["problem"] == "Secret api-creds has no key password"
    assert any("Secret api-creds has no key password" in r for r in pod["not_ready"])
    assert any("regcred" in w for w in pod["warnings"])
    assert "s3cr3t-value" not in str(pod)
    svc = client.get(f"{base}/svc/db/api/").json()
    (row,) = svc["ports"][0]["endpoints"]
    assert not row["used"] and "Secret api-creds has no key password" in row["why"]
    assert client.get(f"{base}/pvc/db/nope/").status_code == 404


def test_panels_show_a_shared_read_write_many_claim(live):
    client, base = _api(live)
    pod = client.get(f"{base}/pod/lab/reader/").json()
    data = next(v for v in pod["volumes"] if v["name"] == "data")
    assert data["claim"] == "pvc:lab/data" and data["targets"] == ["10.96.20.20:2049"] and data["network"]
    assert data["shared_with"] == ["pod:lab/writer"]
    pvc = client.get(f"{base}/pvc/lab/data/").json()
    assert pvc["shared"] and pvc["mounted_by"] == ["pod:lab/reader", "pod:lab/writer"]
    assert "ReadWriteMany" in pvc["note"]
    tmp = next(v for v in pod["volumes"] if v["name"] == "tmp")
    assert not tmp["network"] and "no network path" in tmp["note"]


EDGE = """
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Node
  metadata: {name: e1}
  spec: {podCIDR: 10.244.5.0/24}
  status: {addresses: [{type: InternalIP, address: 172.19.5.1}]}
- apiVersion: networking.k8s.io/v1
  kind: IngressClass
  metadata: {name: ambassador}
  spec: {controller: getambassador.io/ingress-controller}
- apiVersion: v1
  kind: Pod
  metadata: {name: emissary-0, namespace: emissary, labels: {app.kubernetes.io/name: emissary-ingress}}
  spec: {nodeName: e1, containers: [{name: e, image: docker.io/emissaryingress/emissary:3.9.1,
         ports: [{name: http, containerPort: 8080}]}]}
  status: {phase: Running, podIP: 10.244.5.2, conditions: [{type: Ready, status: "True"}]}
- apiVersion: v1
  kind: Service
  metadata: {name: emissary, namespace: emissary}
  spec: {type: LoadBalancer, clusterIP: 10.96.5.5, selector: {app.kubernetes.io/name: emissary-ingress},
         ports: [{name: http, port: 80, targetPort: http, nodePort: 30880}]}
  status: {loadBalancer: {ingress: [{ip: 203.0.113.55}]}}
- apiVersion: v1
  kind: Pod
  metadata: {name: blog-0, namespace: blog, labels: {app: blog}}
  spec: {nodeName: e1, containers: [{name: b, image: blog, ports: [{containerPort: 8000}]}]}
  status: {phase: Running, podIP: 10.244.5.3, conditions: [{type: Ready, status: "True"}]}
- apiVersion: v1
  kind: Service
  metadata: {name: blog, namespace: blog}
  spec: {clusterIP: 10.96.5.6, selector: {app: blog}, ports: [{port: 80, targetPort: 8000}]}
- apiVersion: networking.k8s.io/v1
  kind: Ingress
  metadata: {name: blog, namespace: blog}
  spec:
    ingressClassName: ambassador
    rules: [{host: blog.example.org, http: {paths: [{path: /, pathType: Prefix,
             backend: {service: {name: blog, port: {number: 80}}}}]}}]
  status: {loadBalancer: {ingress: [{ip: 203.0.113.55}]}}
- apiVersion: networking.k8s.io/v1
  kind: Ingress
  metadata: {name: docs, namespace: blog, annotations: {kubernetes.io/ingress.class: gce}}
  spec:
    defaultBackend: {service: {name: blog, port: {number: 80}}}
  status: {loadBalancer: {ingress: [{ip: 34.117.0.9}]}}
"""


def test_d10_emissary_and_d9_published_addresses_on_a_live_dump(tmp_path):
    result = _import(tmp_path, "edge", EDGE)
    r = trace_json("--cluster", "edge", "--from", "external:198.51.100.20", "--to", "url:http://blog.example.org/")
    (path,) = r["paths"]
    assert path["verdict"] == "delivered" and path["endpoint"] == "pod:blog/blog-0"
    assert any(h["kind"] == "ingress-controller" and "emissary" in h["detail"] for h in path["hops"])
    # the GCE Ingress publishes 34.117.0.9: a request to it goes through that load balancer, no --via
    r = trace_json("--cluster", "edge", "--from", "external:198.51.100.20", "--to", "ip:34.117.0.9", "--port", "80")
    (path,) = r["paths"]
    assert path["http"]["backend"] == "blog/blog" and path["http"]["status"] == 200
    assert any("Ingress blog/docs publishes" in h["detail"] for h in path["hops"])
    assert result.counts["Ingress"] == 2
    client, base = _api(result)
    facts = dict(client.get(f"{base}/ingress/blog/docs/").json()["facts"])
    assert facts["published address"] == "34.117.0.9"


EDGE_DESIRED = """
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: contour}
spec: {controller: projectcontour.io/ingress-controller}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: ambassador}
spec: {controller: getambassador.io/ingress-controller}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: emissary, namespace: emissary}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: emissary-ingress}}
  template:
    metadata: {labels: {app.kubernetes.io/name: emissary-ingress}}
    spec: {containers: [{name: e, image: docker.io/emissaryingress/emissary:3.9.1, ports: [{name: http, containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: emissary, namespace: emissary}
spec: {type: LoadBalancer, selector: {app.kubernetes.io/name: emissary-ingress}, ports: [{name: http, port: 80, targetPort: http}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: contour, namespace: projectcontour}
spec:
  selector: {matchLabels: {app: contour}}
  template:
    metadata: {labels: {app: contour}}
    spec: {containers: [{name: c, image: ghcr.io/projectcontour/contour:v1.28, args: [contour, serve]}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: envoy, namespace: projectcontour}
spec:
  selector: {matchLabels: {app: envoy}}
  template:
    metadata: {labels: {app: envoy}}
    spec: {containers: [{name: envoy, image: docker.io/envoyproxy/envoy:v1.30,
           ports: [{name: http, containerPort: 8080}, {name: https, containerPort: 8443}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: envoy, namespace: projectcontour}
spec: {type: LoadBalancer, selector: {app: envoy}, ports: [{name: http, port: 80, targetPort: http},
       {name: https, port: 443, targetPort: https}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: shop, namespace: shop}
spec:
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers: [{name: s, image: shop, ports: [{containerPort: 8000}]}]
      volumes:
      - name: scratch
        ephemeral: {volumeClaimTemplate: {spec: {accessModes: [ReadWriteOnce], storageClassName: missing}}}
---
apiVersion: v1
kind: Service
metadata: {name: shop, namespace: shop}
spec: {selector: {app: shop}, ports: [{port: 80, targetPort: 8000}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: blog, namespace: shop}
spec:
  selector: {matchLabels: {app: blog}}
  template:
    metadata: {labels: {app: blog}}
    spec: {containers: [{name: b, image: blog, ports: [{containerPort: 8000}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: blog, namespace: shop}
spec: {selector: {app: blog}, ports: [{port: 80, targetPort: 8000}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: blog, namespace: shop}
spec:
  ingressClassName: ambassador
  rules: [{host: blog.example.org, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: blog, port: {number: 80}}}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: secure, namespace: shop}
spec:
  ingressClassName: contour
  tls: [{hosts: [secure.example.org], secretName: secure-tls}]
  rules: [{host: secure.example.org, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: blog, port: {number: 80}}}}]}}]
"""


def test_d10_d11_i3_with_materialize(tmp_path):
    result = _import(tmp_path, "edge-desired", EDGE_DESIRED, materialize=True)
    r = trace_json("--cluster", "edge-desired", "--from", "external:198.51.100.20", "--to", "url:http://blog.example.org/")
    assert {p["endpoint"].split("-")[0] for p in r["paths"]} == {"pod:shop/blog"}
    assert all(p["verdict"] == "delivered" for p in r["paths"])
    # Contour: the TLS Secret does not exist, so it serves no HTTPS for that host (D11); plain HTTP still routes
    r = trace_json("--cluster", "edge-desired", "--from", "external:198.51.100.20", "--to", "url:https://secure.example.org/")
    assert {p["reason"] for p in r["paths"]} == {"ingress-no-match"}
    assert "does not serve HTTPS" in r["paths"][0]["hops"][-1]["detail"]
    r = trace_json("--cluster", "edge-desired", "--from", "external:198.51.100.20", "--to", "url:http://secure.example.org/")
    assert r["verdict"] == "delivered"
    # the generic ephemeral volume's claim `<pod>-scratch` names a class that does not exist: the pod stays Pending
    from topology.compile import load_model
    m = load_model(result.snapshot.pk)
    (shop,) = m.pods_of_workload("shop", "shop", "Deployment")
    assert shop.phase == "Pending" and not shop.ip
    assert m.claims[f"shop/{shop.name}-scratch"].phase == "Pending"


@pytest.mark.parametrize("doc", [
    "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: c, namespace: a}\nspec: oops\n",
    "apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: v}\nspec: [1]\n",
    "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: s, annotations: oops}\nprovisioner: x\n",
    "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: s, namespace: a}\nspec:\n  selector: {matchLabels: {a: b}}\n"
    "  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c}], volumes: oops}}\n"
    "  volumeClaimTemplates: [{metadata: {name: d, labels: 5}}]\n",
])
def test_malformed_storage_under_materialize_is_a_clear_error_not_a_crash(tmp_path, doc):
    from topology.importers.errors import ManifestError
    with pytest.raises(ManifestError) as exc:
        _import(tmp_path, "bad", doc, materialize=True)
    assert exc.value.field


CLOUD = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: site}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: w, image: web, ports: [{containerPort: 8080}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: site}
spec: {type: NodePort, selector: {app: web}, ports: [{port: 80, targetPort: 8080}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: site, annotations: {kubernetes.io/ingress.class: gce}}
spec:
  rules: [{host: www.example.org, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata: {name: alb}
spec: {controller: ingress.k8s.aws/alb}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: api, namespace: site}
spec:
  ingressClassName: alb
  defaultBackend: {service: {name: web, port: {number: 80}}}
"""


def test_d9_materialized_cloud_ingresses_publish_an_address_and_are_entered_there(tmp_path):
    from topology.compile import load_model
    result = _import(tmp_path, "cloud", CLOUD, materialize=True)
    m = load_model(result.snapshot.pk)
    ings = {i.name: i for i in m.ingresses}
    (gce_ip,) = ings["web"].status_addresses
    (alb_host,) = ings["api"].status_addresses
    assert gce_ip.startswith("203.0.113.") and alb_host.startswith("k8s-site-api-")
    r = trace_json("--cluster", "cloud", "--from", "external:198.51.100.20", "--to", "url:http://www.example.org/")
    assert r["verdict"] == "delivered"
    assert any(gce_ip in h["detail"] and h["kind"] == "load-balancer" for h in r["paths"][0]["hops"])
    r = trace_json("--cluster", "cloud", "--from", "external:198.51.100.20", "--to", f"url:http://{alb_host}/")
    assert r["verdict"] == "delivered" and r["paths"][0]["http"]["backend"] == "site/web"
