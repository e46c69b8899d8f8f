"""Parsing manifests into engine objects: loading formats, Kubernetes defaults, owners, endpoints.

No database: `parse_objects` is pure. Validation errors have their own table in
test_parse_validation.py.
"""
from __future__ import annotations

import json
import textwrap

import pytest

from tests.fixtures import CLUSTER_B
from topology.importers.errors import ManifestError
from topology.importers.load import load_documents, parse_bytes
from topology.importers.parse import dedupe_documents, parse_objects, parse_pod


def parse(text: str, name: str = "t.yaml", **kw):
    return parse_objects(parse_bytes(textwrap.dedent(text).encode(), name), **kw)


def one(items, **attrs):
    found = [i for i in items if all(getattr(i, k) == v for k, v in attrs.items())]
    assert len(found) == 1, f"expected one of {attrs}, found {found}"
    return found[0]


# ---------------------------------------------------------------------------------------------
# The contract example: a live dump (kind: List)


@pytest.fixture(scope="module")
def cluster_b():
    return parse_objects(load_documents(CLUSTER_B))


def test_cluster_b_counts(cluster_b):
    assert cluster_b.counts == {"Namespace": 5, "Node": 2, "Workload": 0, "Pod": 8, "Service": 6,
                                "EndpointSlice": 7, "Ingress": 1, "IngressClass": 1, "NetworkPolicy": 3,
                                "Secret": 0}
    assert cluster_b.skipped == {}


def test_cluster_b_slices_are_taken_as_they_are(cluster_b):
    """svc/wordpress:8080 → targetPort web → slice wordpress-a port "http" 80 on 10.42.1.10 and 10.42.2.10."""
    o = cluster_b.objects
    svc = one(o.services, namespace="blog", name="wordpress")
    assert svc.type == "NodePort"
    assert svc.ports[0].target_port == "web" and svc.ports[0].node_port == 30808
    sl = one(o.endpoint_slices, namespace="blog", name="wordpress-a")
    assert not sl.derived and sl.service_name == "wordpress"
    assert [e.addresses for e in sl.endpoints] == [("10.42.1.10",), ("10.42.2.10",)]
    assert [(p.name, p.port, p.protocol) for p in sl.ports] == [("http", 80, "TCP")]
    assert sl.endpoints[0].target_name == "wordpress-0" and sl.endpoints[0].zone == "zone-1"


def test_cluster_b_conditions_nil_stay_nil(cluster_b):
    """kube-dns-x says only `ready: true`: serving/terminating are nil (A6 decides what nil means)."""
    ep = one(cluster_b.objects.endpoint_slices, name="kube-dns-x").endpoints[0]
    assert (ep.ready, ep.serving, ep.terminating) == (True, None, None)


def test_cluster_b_pods(cluster_b):
    o = cluster_b.objects
    ledger2 = one(o.pods, name="ledger-2")
    assert ledger2.ready is False and ledger2.ips == ("10.42.2.30",) and ledger2.node_name == "worker-2"
    mysql = one(o.pods, name="mysql-0")
    assert (mysql.hostname, mysql.subdomain) == ("mysql-0", "mysql")
    traefik = one(o.pods, name="traefik-5f7c-q2")
    assert "--providers.kubernetesingress" in traefik.containers[0].args
    assert [(p.name, p.container_port) for p in traefik.containers[0].ports] == [("web", 8000), ("websecure", 8443)]


def test_cluster_b_nodes_and_namespaces(cluster_b):
    o = cluster_b.objects
    w1 = one(o.nodes, name="worker-1")
    assert w1.internal_ip == "172.20.0.11" and w1.pod_cidrs == ("10.42.1.0/24",) and w1.zone == "zone-1"
    assert one(o.namespaces, name="payments").labels["pci"] == "true"
    ledger = one(o.services, name="ledger")
    assert ledger.lb_ingress[0].ip == "198.51.100.30" and ledger.lb_source_ranges == ("203.0.113.0/24",)


# ---------------------------------------------------------------------------------------------
# Formats


POD_YAML = """
apiVersion: v1
kind: Pod
metadata: {name: p1, namespace: ns1}
spec:
  containers: [{name: c, image: nginx}]
"""


def test_multi_document_yaml_numbers_documents_counting_empty_ones():
    docs = parse_bytes(b"---\n" + POD_YAML.encode() + b"---\n---\nkind: Foo\napiVersion: x/v1\n", "m.yaml")
    # a leading `---` only starts document 1; the empty document between two `---` still counts
    assert [(d.index, d.data["kind"]) for d in docs] == [(1, "Pod"), (3, "Foo")]


def test_json_and_kind_list_and_typed_list():
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "a"},
           "spec": {"containers": [{"name": "c"}]}}
    as_list = json.dumps({"apiVersion": "v1", "kind": "List", "items": [pod]}).encode()
    typed = json.dumps({"apiVersion": "v1", "kind": "PodList",
                        "items": [{**pod, "kind": None, "metadata": {"name": "q", "namespace": "a"}}]}).encode()
    docs = parse_bytes(as_list, "l.json") + parse_bytes(typed.replace(b'"kind": null, ', b""), "t.json")
    assert [(d.data["kind"], d.item) for d in docs] == [("Pod", 0), ("Pod", 0)]
    res = parse_objects(docs)
    assert sorted(p.name for p in res.objects.pods) == ["p", "q"]


def test_unquoted_yaml_timestamp_stays_a_string():
    res = parse("""
        apiVersion: v1
        kind: Namespace
        metadata: {name: a, creationTimestamp: 2026-11-01T10:00:00Z}
    """)
    assert res.objects.namespaces[0].name == "a"
    docs = parse_bytes(b"apiVersion: v1\nkind: Service\nmetadata: {name: s, creationTimestamp: 2026-11-01T10:00:00Z}\n"
                       b"spec: {ports: [{port: 80}]}\n", "s.yaml")
    assert parse_objects(docs).objects.services[0].created == "2026-11-01T10:00:00Z"


def test_directory_reads_manifest_files_sorted(tmp_path):
    (tmp_path / "b.json").write_text(json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b"}}))
    (tmp_path / "a.yml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    (tmp_path / "c.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: {name: c}\n")
    (tmp_path / "notes.txt").write_text("not a manifest")
    docs = load_documents(tmp_path)
    assert [d.data["metadata"]["name"] for d in docs] == ["a", "b", "c"]


def test_unknown_kinds_are_skipped_and_counted():
    res = parse("""
        apiVersion: kustomize.config.k8s.io/v1beta1
        kind: Kustomization
        resources: [a.yaml]
        ---
        apiVersion: cloud.google.com/v1
        kind: BackendConfig
        metadata: {name: b}
        ---
        apiVersion: cloud.google.com/v1
        kind: BackendConfig
        metadata: {name: c}
    """)
    assert res.skipped == {"Kustomization": 1, "BackendConfig": 2}


def test_same_kind_from_another_api_group_is_skipped_not_misread():
    """A Calico `projectcalico.org/v3` NetworkPolicy has other semantics (selector expressions,
    deny actions, order): reading it as a Kubernetes NetworkPolicy would invent rules."""
    res = parse("""
        apiVersion: projectcalico.org/v3
        kind: NetworkPolicy
        metadata: {name: calico-deny, namespace: default}
        spec: {selector: all(), types: [Ingress]}
        ---
        apiVersion: networking.istio.io/v1
        kind: Gateway
        metadata: {name: gw}
        ---
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: k8s-deny}
        spec: {podSelector: {}}
    """)
    assert [p.name for p in res.objects.network_policies] == ["k8s-deny"]
    assert res.skipped == {"NetworkPolicy (projectcalico.org/v3)": 1}
    # Istio's Gateway is not the Gateway API's: it is kept under its own kind (issue 14), not misread as one
    assert [(o.kind, o.api_version) for o in res.objects.route_objects] == [("IstioGateway", "networking.istio.io/v1")]


# ---------------------------------------------------------------------------------------------
# Kubernetes defaults


def test_service_defaults():
    """type ClusterIP, protocol TCP, targetPort = port, sessionAffinity None, ETP Cluster."""
    svc = parse("""
        apiVersion: v1
        kind: Service
        metadata: {name: s}
        spec:
          selector: {app: a}
          ports: [{port: 80}]
    """, derive_endpoints=False).objects.services[0]
    assert svc.namespace == "default" and svc.type == "ClusterIP"
    p = svc.ports[0]
    assert (p.protocol, p.target_port, p.node_port) == ("TCP", 80, None)
    assert (svc.session_affinity, svc.session_affinity_timeout) == ("None", 10800)
    assert svc.external_traffic_policy == "Cluster" and svc.internal_traffic_policy == "Cluster"


def test_namespace_flag_is_the_default_namespace():
    res = parse(POD_YAML.replace("namespace: ns1", "labels: {a: b}"), default_namespace="team")
    assert res.objects.pods[0].namespace == "team"
    assert [n.name for n in res.objects.namespaces] == ["team"]  # implied, as a real cluster has it


@pytest.mark.parametrize("spec, expected", [
    ("{podSelector: {}}", ("Ingress",)),
    ("{podSelector: {}, egress: []}", ("Ingress",)),
    ("{podSelector: {}, egress: [{}]}", ("Ingress", "Egress")),
    ("{podSelector: {}, ingress: [{}], egress: [{to: [{podSelector: {}}]}]}", ("Ingress", "Egress")),
    ("{podSelector: {}, policyTypes: [Egress]}", ("Egress",)),
    ("{podSelector: {}, policyTypes: [Ingress], egress: [{}]}", ("Ingress",)),
], ids=["nothing", "empty-egress", "egress-rule", "both", "explicit-egress", "explicit-wins"])
def test_policy_types_default_per_E3(spec, expected):
    pol = parse(f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p}}\nspec: {spec}\n"
                ).objects.network_policies[0]
    assert pol.policy_types == expected


def test_network_policy_structure():
    pol = parse("""
        apiVersion: networking.k8s.io/v1
        kind: NetworkPolicy
        metadata: {name: p, namespace: shop}
        spec:
          podSelector: {matchLabels: {app: db}}
          ingress:
          - from:
            - namespaceSelector: {matchLabels: {team: a}}
              podSelector: {matchExpressions: [{key: role, operator: In, values: [api]}]}
            - ipBlock: {cidr: 10.0.0.7/8, except: [10.1.0.0/16]}
            ports: [{port: 5432}, {protocol: UDP, port: 1000, endPort: 2000}, {port: metrics}]
    """).objects.network_policies[0]
    rule = pol.ingress[0]
    both, block = rule.peers
    assert both.namespace_selector.match_labels == {"team": "a"}
    assert both.pod_selector.match_expressions[0].values == ("api",)
    assert block.ip_block.cidr == "10.0.0.0/8" and block.ip_block.except_ == ("10.1.0.0/16",)
    assert [(p.protocol, p.port, p.end_port) for p in rule.ports] == [
        ("TCP", 5432, None), ("UDP", 1000, 2000), ("TCP", "metrics", None)]


def test_pod_fields():
    pod = parse("""
        apiVersion: v1
        kind: Pod
        metadata:
          name: web-1
          namespace: a
          deletionTimestamp: "2026-11-01T10:00:00Z"
          ownerReferences: [{apiVersion: v1, kind: Node, name: n1, controller: true}]
        spec:
          hostNetwork: true
          dnsPolicy: ClusterFirstWithHostNet
          enableServiceLinks: false
          initContainers: [{name: init, ports: [{containerPort: 9}]}]
          containers: [{name: c, command: [nginx], args: [-g, daemon off;], ports: [{containerPort: 80, hostPort: 8080, name: http}]}]
        status:
          phase: Running
          podIP: 10.0.0.5
          podIPs: [{ip: 10.0.0.5}, {ip: "fd00::5"}]
          hostIP: 10.0.0.5
          conditions: [{type: Ready, status: "False"}]
    """).objects.pods[0]
    assert pod.ips == ("10.0.0.5", "fd00::5") and pod.ip == "10.0.0.5"
    assert pod.deleting and pod.host_network and not pod.ready and not pod.enable_service_links
    assert pod.dns_policy == "ClusterFirstWithHostNet"
    assert pod.containers[0].init and pod.containers[1].args == ("nginx", "-g", "daemon off;")
    assert [p.container_port for p in pod.container_ports()] == [80]
    assert pod.containers[1].ports[0].host_port == 8080
    assert (pod.owner_kind, pod.workload_kind) == ("Node", "")  # a static mirror pod belongs to no workload


def test_parse_pod_is_usable_alone():
    pod = parse_pod({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
                     "spec": {"containers": [{"name": "c"}]}})
    assert (pod.namespace, pod.phase, pod.ready, pod.dns_policy) == ("default", "Pending", False, "ClusterFirst")


def test_ingress_class_default_and_legacy_annotation():
    res = parse("""
        apiVersion: networking.k8s.io/v1
        kind: IngressClass
        metadata:
          name: nginx
          annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
        spec: {controller: k8s.io/ingress-nginx}
        ---
        apiVersion: networking.k8s.io/v1
        kind: Ingress
        metadata:
          name: web
          annotations: {kubernetes.io/ingress.class: traefik}
        spec:
          tls: [{hosts: [shop.example.com], secretName: shop-tls}]
          rules:
          - host: "*.example.com"
            http:
              paths:
              - {path: /api, pathType: Prefix, backend: {service: {name: api, port: {number: 8080}}}}
              - {path: /, pathType: Exact, backend: {service: {name: web, port: {name: http}}}}
    """)
    cls = res.objects.ingress_classes[0]
    assert cls.is_default and cls.controller == "k8s.io/ingress-nginx"
    ing = res.objects.ingresses[0]
    assert ing.annotations["kubernetes.io/ingress.class"] == "traefik" and ing.class_name == ""
    paths = ing.rules[0].paths
    assert ing.rules[0].host == "*.example.com"
    assert (paths[0].backend.service_name, paths[0].backend.port_number) == ("api", 8080)
    assert (paths[1].path_type, paths[1].backend.port_name) == ("Exact", "http")
    assert ing.tls[0].secret_name == "shop-tls"


def test_load_balancer_ip_mode_and_external_name():
    res = parse("""
        apiVersion: v1
        kind: Service
        metadata: {name: lb}
        spec: {type: LoadBalancer, externalTrafficPolicy: Local, ports: [{port: 443, targetPort: 8443, nodePort: 31443}],
               healthCheckNodePort: 32000, selector: {app: x}}
        status: {loadBalancer: {ingress: [{ip: 192.0.2.9, ipMode: Proxy}]}}
        ---
        apiVersion: v1
        kind: Service
        metadata: {name: ext}
        spec: {type: ExternalName, externalName: db.example.com}
    """, derive_endpoints=False)
    lb = one(res.objects.services, name="lb")
    assert lb.lb_ingress[0].ip_mode == "Proxy" and lb.external_traffic_policy == "Local"
    assert lb.health_check_node_port == 32000
    ext = one(res.objects.services, name="ext")
    assert ext.external_name == "db.example.com" and ext.cluster_ips == () and ext.cluster_ip is None


# ---------------------------------------------------------------------------------------------
# Owners → workloads


OWNED_POD = """
apiVersion: v1
kind: Pod
metadata:
  name: {pod}
  namespace: a
  ownerReferences: [{{apiVersion: apps/v1, kind: {kind}, name: {owner}, controller: true}}]
spec: {{containers: [{{name: c}}]}}
"""
DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: a}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c}]}}
"""
REPLICASET = """
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-7d9f
  namespace: a
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, controller: true}]
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c}]}}
"""


@pytest.mark.parametrize("parts, expected", [
    ([DEPLOYMENT, REPLICASET], ("Deployment", "web")),
    ([DEPLOYMENT], ("Deployment", "web")),  # RS absent: inferred from the name, as a Deployment web exists
    ([], ("ReplicaSet", "web-7d9f")),  # RS absent, no Deployment web: the ReplicaSet is the workload
    ([REPLICASET.replace("ownerReferences", "x-refs")], ("ReplicaSet", "web-7d9f")),  # bare ReplicaSet
], ids=["rs-present", "rs-absent-deployment-present", "nothing", "bare-rs"])
def test_pod_workload_resolution(parts, expected):
    """[pod web-7d9f-abcde] → ReplicaSet web-7d9f → Deployment web."""
    pod = OWNED_POD.format(pod="web-7d9f-abcde", kind="ReplicaSet", owner="web-7d9f")
    res = parse("---\n".join([*parts, pod]), derive_endpoints=False)
    p = res.objects.pods[0]
    assert (p.owner_kind, p.owner_name) == ("ReplicaSet", "web-7d9f")
    assert (p.workload_kind, p.workload_name) == expected


def test_statefulset_service_name_and_replicas():
    w = parse("""
        apiVersion: apps/v1
        kind: StatefulSet
        metadata: {name: db}
        spec:
          serviceName: db-headless
          replicas: 3
          selector: {matchLabels: {app: db}}
          template: {metadata: {labels: {app: db}}, spec: {containers: [{name: c}]}}
    """).objects.workloads[0]
    assert (w.kind, w.service_name, w.replicas) == ("StatefulSet", "db-headless", 3)
    assert w.selector.match_labels == {"app": "db"}
    assert w.template["metadata"]["labels"] == {"app": "db"}


# ---------------------------------------------------------------------------------------------
# Endpoints: slices authoritative, legacy Endpoints mirrored, else derived


SELECTOR_SERVICE = """
apiVersion: v1
kind: Service
metadata: {name: api, namespace: a}
spec: {selector: {app: api}, ports: [{name: http, port: 80, targetPort: web}]}
"""
RUNNING_POD = """
apiVersion: v1
kind: Pod
metadata: {name: api-1, namespace: a, labels: {app: api}}
spec: {nodeName: n1, containers: [{name: c, ports: [{name: web, containerPort: 8080}]}]}
status: {phase: Running, podIP: 10.1.0.4, conditions: [{type: Ready, status: "True"}]}
"""
LEGACY_ENDPOINTS = """
apiVersion: v1
kind: Endpoints
metadata: {name: api, namespace: a}
subsets:
- addresses: [{ip: 10.1.0.9, nodeName: n1, targetRef: {kind: Pod, namespace: a, name: old}}]
  notReadyAddresses: [{ip: 10.1.0.10}]
  ports: [{name: http, port: 9090}]
"""
SLICE = """
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: api-abc, namespace: a, labels: {kubernetes.io/service-name: api}}
addressType: IPv4
endpoints: [{addresses: [10.1.0.77]}]
ports: [{name: http, port: 7777}]
"""


def _slices(parts):
    return parse("---\n".join(parts)).objects.endpoint_slices


def test_selector_service_without_slices_gets_derived_endpoints():
    """svc/api:80 → targetPort web → [pod api-1]:8080 (derived as the EndpointSlice controller would)."""
    (sl,) = _slices([SELECTOR_SERVICE, RUNNING_POD])
    assert sl.derived and sl.service_name == "api"
    assert [e.addresses for e in sl.endpoints] == [("10.1.0.4",)]
    assert [(p.name, p.port) for p in sl.ports] == [("http", 8080)]


def test_legacy_endpoints_are_mirrored_when_no_slice_exists():
    (sl,) = _slices([SELECTOR_SERVICE, RUNNING_POD, LEGACY_ENDPOINTS])
    assert sl.derived and sl.managed_by == "endpointslicemirroring-controller.k8s.io"
    assert [(e.addresses, e.ready) for e in sl.endpoints] == [(("10.1.0.9",), True), (("10.1.0.10",), False)]
    assert sl.endpoints[0].target_name == "old"
    assert [(p.name, p.port) for p in sl.ports] == [("http", 9090)]


def test_endpoint_slices_are_authoritative():
    res = parse("---\n".join([SELECTOR_SERVICE, RUNNING_POD, LEGACY_ENDPOINTS, SLICE]))
    (sl,) = res.objects.endpoint_slices
    assert not sl.derived and sl.name == "api-abc"
    assert any("legacy Endpoints" in w for w in res.warnings)


# ---------------------------------------------------------------------------------------------
# Duplicates and secrets


def test_duplicate_is_an_error_in_a_live_dump_and_later_wins_for_desired_state():
    first = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80}]}\n"
    second = first.replace("port: 80", "port: 81")
    docs = parse_bytes((first + "---\n" + second).encode(), "dup.yaml")
    with pytest.raises(ManifestError) as err:
        parse_objects(docs)
    assert str(err.value).startswith("dup.yaml document 2 (Service default/s): metadata.name: duplicate object")
    kept, warnings = dedupe_documents(docs)
    assert [d.index for d in kept] == [2] and "later definition wins" in warnings[0]
    res = parse_objects(docs, allow_duplicates=True)
    assert [p.port for p in res.objects.services[0].ports] == [81]


def test_secret_keeps_key_names_only():
    res = parse("""
        apiVersion: v1
        kind: Secret
        metadata: {name: db, namespace: a}
        type: kubernetes.io/basic-auth
        data: {username: YWRtaW4=}
        stringData: {password: hunter2-plain}
    """)
    (sec,) = res.objects.secrets
    assert (sec.name, sec.type, sec.keys) == ("db", "kubernetes.io/basic-auth", ("password", "username"))
    dumped = repr(res)
    assert "YWRtaW4=" not in dumped and "hunter2-plain" not in dumped


def test_typed_list_items_inherit_kind_and_api_version():
    """`kubectl get --raw /api/v1/namespaces` prints a NamespaceList whose items carry neither."""
    docs = parse_bytes(b"kind: NamespaceList\napiVersion: v1\nitems:\n- metadata: {name: a, labels: {x: y}}\n", "ns.yaml")
    (ns,) = parse_objects(docs).objects.namespaces
    assert ns.labels == {"x": "y", "kubernetes.io/metadata.name": "a"}


def test_service_without_cluster_ip_warns_to_materialize():
    res = parse("apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {selector: {a: b}, ports: [{port: 80}]}\n")
    assert any("no clusterIP" in w and "--materialize" in w for w in res.warnings)


def test_same_node_port_for_tcp_and_udp_is_allowed():
    """kube-dns style: one port number, two protocols — distinct allocations."""
    res = parse("""
        apiVersion: v1
        kind: Service
        metadata: {name: dns}
        spec:
          type: NodePort
          ports: [{name: udp, port: 53, protocol: UDP, nodePort: 30053}, {name: tcp, port: 53, nodePort: 30053}]
    """, derive_endpoints=False)
    assert [(p.protocol, p.node_port) for p in res.objects.services[0].ports] == [("UDP", 30053), ("TCP", 30053)]


def test_legacy_endpoints_defined_twice_later_wins_once():
    second = LEGACY_ENDPOINTS.replace("port: 9090", "port: 9191")
    res = parse("---\n".join([SELECTOR_SERVICE, LEGACY_ENDPOINTS, second]), allow_duplicates=True)
    (sl,) = res.objects.endpoint_slices
    assert [p.port for p in sl.ports] == [9191]


def test_load_paths_reads_stdin_bytes_and_rejects_an_empty_directory(tmp_path):
    from topology.importers.load import load_paths

    docs, payloads = load_paths(["-"], stdin=b"apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n")
    assert [(d.source_file, d.data["metadata"]["name"]) for d in docs] == [("<stdin>", "a")]
    assert payloads[0][0] == "<stdin>"
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ManifestError, match="directory holds no \\*.yaml"):
        load_paths([tmp_path])


def test_host_network_pod_without_pod_ip_uses_its_host_ip():
    pod = parse(POD_YAML.replace("spec:\n", "spec:\n  hostNetwork: true\n")
                + "status: {hostIP: 172.18.0.2, phase: Running}\n").objects.pods[0]
    assert pod.host_network and pod.ips == ("172.18.0.2",) and pod.ready


def test_native_sidecar_ports_count_like_a_containers():
    """initContainers with restartPolicy: Always run alongside the pod: their named ports resolve."""
    pod = parse(POD_YAML.replace("spec:\n", "spec:\n  initContainers: [{name: proxy, restartPolicy: Always, "
                                            "ports: [{name: mesh, containerPort: 15001}]}, "
                                            "{name: setup, ports: [{name: boot, containerPort: 9}]}]\n")
                ).objects.pods[0]
    assert [p.name for p in pod.container_ports()] == ["mesh"]


def test_workload_template_keeps_env_names_but_not_literal_values():
    """`env: [{name: DB_PASSWORD, value: hunter2}]` in a Deployment must not be stored."""
    res = parse("""
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: api}
        spec:
          selector: {matchLabels: {app: api}}
          template:
            metadata: {labels: {app: api}}
            spec:
              containers:
              - name: main
                image: example/api
                env:
                - {name: DB_PASSWORD, value: hunter2}
                - name: TOKEN
                  valueFrom: {secretKeyRef: {name: api, key: token}}
    """)
    env = res.objects.workloads[0].template["spec"]["containers"][0]["env"]
    assert env == [{"name": "DB_PASSWORD"}, {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}}]
    assert "hunter2" not in repr(res.objects)
