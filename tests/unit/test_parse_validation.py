"""Every validation error names file, document, object, field and problem.

One row per rule: the manifest a user might write, and the exact place the message must point
to. Rows mirror what the API server would reject (so `kubectl apply` and the importer agree).
"""
from __future__ import annotations

import textwrap

import pytest

from topology.importers.errors import ManifestError
from topology.importers.load import parse_bytes
from topology.importers.parse import parse_objects

SVC = "apiVersion: v1\nkind: Service\nmetadata: {{name: s, namespace: a}}\nspec: {spec}\n"
POD = "apiVersion: v1\nkind: Pod\nmetadata: {{name: p, namespace: a}}\nspec: {spec}\n"
NETPOL = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: np, namespace: a}}\nspec: {spec}\n"
ING = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {{name: i, namespace: a}}\nspec: {spec}\n"
DEPLOY = textwrap.dedent("""\
    apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: d, namespace: a}}
    spec:
      selector: {selector}
      template: {{metadata: {{labels: {{app: web}}}}, spec: {{containers: [{{name: c}}]}}}}
""")
OK_NS = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"
C = "containers: [{name: c}]"

CASES = [
    # id, file text, document, object, field, problem (substring)
    ("missing-name", "apiVersion: v1\nkind: Pod\nmetadata: {namespace: a}\nspec: {containers: [{name: c}]}\n",
     1, "Pod", "metadata.name", "required field is missing"),
    ("generate-name", "apiVersion: v1\nkind: Pod\nmetadata: {generateName: web-}\nspec: {}\n",
     1, "Pod", "metadata.name", "generateName is not supported"),
    ("missing-kind", "apiVersion: v1\nmetadata: {name: x}\n", 1, "", "kind", "required field is missing"),
    ("missing-apiversion", "kind: Service\nmetadata: {name: x}\n", 1, "Service", "apiVersion", "required"),
    ("missing-metadata", "apiVersion: v1\nkind: Service\nspec: {}\n", 1, "Service", "metadata", "required"),
    ("namespace-not-string", "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: 7}\nspec: {}\n",
     1, "Service s", "metadata.namespace", "must be a string"),
    ("namespace-not-a-label", "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: Team_A}\nspec: {}\n",
     1, "Service Team_A/s", "metadata.namespace", "not a valid namespace name"),
    ("second-document", OK_NS + "---\n" + SVC.format(spec="{ports: [{port: http}]}"),
     2, "Service a/s", "spec.ports[0].port", "must be an integer, not a string ('http')"),
    ("port-out-of-range", SVC.format(spec="{ports: [{port: 70000}]}"),
     1, "Service a/s", "spec.ports[0].port", "70000 is out of range 1-65535"),
    ("node-port-on-clusterip", SVC.format(spec="{ports: [{port: 80, nodePort: 30080}]}"),
     1, "Service a/s", "spec.ports[0].nodePort", "only NodePort and LoadBalancer"),
    ("unnamed-ports", SVC.format(spec="{ports: [{port: 80, name: a}, {port: 81}]}"),
     1, "Service a/s", "spec.ports[1].name", "required when a service has more than one port"),
    ("duplicate-port-name", SVC.format(spec="{ports: [{port: 80, name: a}, {port: 81, name: a}]}"),
     1, "Service a/s", "spec.ports[1].name", "duplicate port name"),
    ("bad-protocol", SVC.format(spec="{ports: [{port: 80, protocol: HTTP}]}"),
     1, "Service a/s", "spec.ports[0].protocol", "'HTTP' is not one of TCP, UDP, SCTP"),
    ("quoted-target-port", SVC.format(spec="{ports: [{port: 80, targetPort: '8080'}]}"),
     1, "Service a/s", "spec.ports[0].targetPort", "quoted number"),
    ("bad-type", SVC.format(spec="{type: Internal, ports: [{port: 80}]}"),
     1, "Service a/s", "spec.type", "not one of ClusterIP, NodePort, LoadBalancer, ExternalName"),
    ("external-name-missing", SVC.format(spec="{type: ExternalName}"),
     1, "Service a/s", "spec.externalName", "required"),
    ("no-ports", SVC.format(spec="{selector: {app: x}}"), 1, "Service a/s", "spec.ports", "at least one port"),
    ("bad-cluster-ip", SVC.format(spec="{clusterIP: 10.0.0.300, ports: [{port: 80}]}"),
     1, "Service a/s", "spec.clusterIPs[0]", "not an IP address"),
    ("bad-external-ip", SVC.format(spec="{externalIPs: [example.com], ports: [{port: 80}]}"),
     1, "Service a/s", "spec.externalIPs[0]", "not an IP address"),
    ("bad-source-range", SVC.format(spec="{type: LoadBalancer, loadBalancerSourceRanges: [10.0.0.0/33], "
                                         "ports: [{port: 80}]}"),
     1, "Service a/s", "spec.loadBalancerSourceRanges[0]", "not a valid CIDR"),
    ("selector-value-bool", SVC.format(spec="{selector: {enabled: true}, ports: [{port: 80}]}"),
     1, "Service a/s", "spec.selector.enabled", "must be a string, not a boolean (True); quote it"),
    ("label-value-number", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a, labels: {tier: 1}}\n",
     1, "Namespace a", "metadata.labels.tier", "quote it"),
    ("container-port-name", POD.format(spec="{containers: [{name: c, ports: [{name: HTTP, containerPort: 80}]}]}"),
     1, "Pod a/p", "spec.containers[0].ports[0].name", "not a valid port name"),
    ("target-port-name", SVC.format(spec="{ports: [{port: 80, targetPort: http--alt}]}"),
     1, "Service a/s", "spec.ports[0].targetPort", "not a valid port name"),
    ("container-port-missing", POD.format(spec="{containers: [{name: c, ports: [{name: web}]}]}"),
     1, "Pod a/p", "spec.containers[0].ports[0].containerPort", "required"),
    ("no-containers", POD.format(spec="{containers: []}"), 1, "Pod a/p", "spec.containers", "at least one"),
    ("bad-dns-policy", POD.format(spec="{dnsPolicy: Cluster, " + C + "}"),
     1, "Pod a/p", "spec.dnsPolicy", "not one of"),
    ("bad-pod-ip", POD.format(spec="{" + C + "}") + "status: {podIP: 10.0.0}\n",
     1, "Pod a/p", "status.podIP", "not an IP address"),
    ("host-network-not-bool", POD.format(spec="{hostNetwork: 'yes', " + C + "}"),
     1, "Pod a/p", "spec.hostNetwork", "must be true or false"),
    ("selector-operator", NETPOL.format(spec="{podSelector: {matchExpressions: [{key: app, operator: Equals, "
                                             "values: [a]}]}}"),
     1, "NetworkPolicy a/np", "spec.podSelector.matchExpressions[0].operator",
     "'Equals' is not one of In, NotIn, Exists, DoesNotExist"),
    ("selector-in-without-values", NETPOL.format(spec="{podSelector: {matchExpressions: [{key: app, "
                                                       "operator: In}]}}"),
     1, "NetworkPolicy a/np", "spec.podSelector.matchExpressions[0].values", "non-empty when operator is In"),
    ("selector-exists-with-values", NETPOL.format(spec="{podSelector: {}, ingress: [{from: [{podSelector: "
                                                        "{matchExpressions: [{key: a, operator: Exists, "
                                                        "values: [x]}]}}]}]}"),
     1, "NetworkPolicy a/np", "spec.ingress[0].from[0].podSelector.matchExpressions[0].values",
     "must be empty when operator is Exists"),
    ("selector-unknown-field", NETPOL.format(spec="{podSelector: {app: web}}"),
     1, "NetworkPolicy a/np", "spec.podSelector.app", "unknown field in a label selector"),
    ("bad-ipblock", NETPOL.format(spec="{podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.0.0.0}}]}]}"),
     1, "NetworkPolicy a/np", "spec.egress[0].to[0].ipBlock.cidr", "not a CIDR"),
    ("except-outside", NETPOL.format(spec="{podSelector: {}, egress: [{to: [{ipBlock: {cidr: 10.0.0.0/8, "
                                         "except: [192.168.0.0/16]}}]}]}"),
     1, "NetworkPolicy a/np", "spec.egress[0].to[0].ipBlock.except[0]", "strict subset of cidr 10.0.0.0/8"),
    ("ipblock-with-selector", NETPOL.format(spec="{podSelector: {}, ingress: [{from: [{ipBlock: "
                                                "{cidr: 10.0.0.0/8}, podSelector: {}}]}]}"),
     1, "NetworkPolicy a/np", "spec.ingress[0].from[0].ipBlock", "may not be combined"),
    ("empty-peer", NETPOL.format(spec="{podSelector: {}, ingress: [{from: [{}]}]}"),
     1, "NetworkPolicy a/np", "spec.ingress[0].from[0]", "a peer needs"),
    ("endport-named", NETPOL.format(spec="{podSelector: {}, ingress: [{ports: [{port: http, endPort: 90}]}]}"),
     1, "NetworkPolicy a/np", "spec.ingress[0].ports[0].endPort", "requires a numeric port"),
    ("endport-below-port", NETPOL.format(spec="{podSelector: {}, ingress: [{ports: [{port: 100, endPort: 90}]}]}"),
     1, "NetworkPolicy a/np", "spec.ingress[0].ports[0].endPort", "at least port 100"),
    ("policy-type", NETPOL.format(spec="{podSelector: {}, policyTypes: [Inbound]}"),
     1, "NetworkPolicy a/np", "spec.policyTypes[0]", "not one of Ingress, Egress"),
    ("deployment-selector-mismatch", DEPLOY.format(selector="{matchLabels: {app: api}}"),
     1, "Deployment a/d", "spec.selector", "does not match the template labels"),
    ("deployment-selector-type", DEPLOY.format(selector="[app]"),
     1, "Deployment a/d", "spec.selector", "must be a mapping"),
    ("ingress-path-type", ING.format(spec="{rules: [{http: {paths: [{path: /, backend: {service: {name: w, "
                                          "port: {number: 80}}}}]}}]}"),
     1, "Ingress a/i", "spec.rules[0].http.paths[0].pathType", "required"),
    ("ingress-relative-path", ING.format(spec="{rules: [{http: {paths: [{path: api, pathType: Prefix, "
                                              "backend: {service: {name: w, port: {number: 80}}}}]}}]}"),
     1, "Ingress a/i", "spec.rules[0].http.paths[0].path", "must be an absolute path"),
    ("ingress-port-both", ING.format(spec="{defaultBackend: {service: {name: w, port: {number: 80, name: h}}}}"),
     1, "Ingress a/i", "spec.defaultBackend.service.port", "exactly one of name or number"),
    ("ingress-backend-both", ING.format(spec="{defaultBackend: {service: {name: w, port: {number: 80}}, "
                                             "resource: {kind: Bucket, name: b}}}"),
     1, "Ingress a/i", "spec.defaultBackend", "either service or resource, not both"),
    ("ingress-ip-host", ING.format(spec="{rules: [{host: 10.0.0.1, http: {paths: [{path: /, pathType: Prefix, "
                                        "backend: {service: {name: w, port: {number: 80}}}}]}}]}"),
     1, "Ingress a/i", "spec.rules[0].host", "not an IP address"),
    ("slice-address", "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e, namespace: a}\n"
                      "addressType: IPv4\nendpoints: [{addresses: [10.0.0.x]}]\n",
     1, "EndpointSlice a/e", "endpoints[0].addresses[0]", "not an IP address"),
    ("slice-address-type", "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e, "
                           "namespace: a}\nendpoints: []\n",
     1, "EndpointSlice a/e", "addressType", "required"),
    ("slice-ready-string", "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e, namespace: a}\n"
                           "addressType: IPv4\nendpoints: [{addresses: [10.0.0.1], conditions: {ready: 'true'}}]\n",
     1, "EndpointSlice a/e", "endpoints[0].conditions.ready", "must be true or false"),
    ("legacy-endpoints-ip", "apiVersion: v1\nkind: Endpoints\nmetadata: {name: s, namespace: a}\n"
                            "subsets: [{addresses: [{ip: nope}], ports: [{port: 80}]}]\n",
     1, "Endpoints a/s", "subsets[0].addresses[0].ip", "not an IP address"),
    ("node-pod-cidr", "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nspec: {podCIDR: 10.0.0.0/40}\n",
     1, "Node n1", "spec.podCIDR", "not a valid CIDR"),
    ("node-address", "apiVersion: v1\nkind: Node\nmetadata: {name: n1}\nstatus: {addresses: [{type: InternalIP, "
                     "address: node-1}]}\n",
     1, "Node n1", "status.addresses[0].address", "not an IP address"),
    ("duplicate-object", SVC.format(spec="{ports: [{port: 80}]}") + "---\n" + SVC.format(spec="{ports: [{port: 81}]}"),
     2, "Service a/s", "metadata.name", "duplicate object: Service a/s is already defined in t.yaml document 1"),
    ("cluster-ip-taken", SVC.format(spec="{clusterIP: 10.96.0.5, ports: [{port: 80}]}").replace("name: s", "name: t")
     + "---\n" + SVC.format(spec="{clusterIP: 10.96.0.5, ports: [{port: 80}]}"),
     2, "Service a/s", "spec.clusterIPs[0]", "10.96.0.5 is already allocated to service a/t"),
    ("node-port-taken", SVC.format(spec="{type: NodePort, ports: [{port: 80, nodePort: 30080}]}").replace("name: s", "name: t")
     + "---\n" + SVC.format(spec="{type: NodePort, ports: [{name: a, port: 81, nodePort: 30081}, "
                                  "{name: b, port: 80, nodePort: 30080}]}"),
     2, "Service a/s", "spec.ports[1].nodePort", "30080/TCP is already allocated to service a/t"),
    ("not-a-mapping", OK_NS + "---\n- just\n- a list\n", 2, "", "", "a document must be a mapping"),
    ("bad-yaml", OK_NS + "---\nkind: Service\nmetadata: {name: [unclosed\n", 2, "", "", "invalid YAML at line"),
    ("list-item", "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n- 42\n",
     1, "", "", "a list item must be a mapping"),
]


@pytest.mark.parametrize("text, document, obj, field, problem", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_error_names_file_document_object_field(text, document, obj, field, problem):
    with pytest.raises(ManifestError) as exc:
        parse_objects(parse_bytes(text.encode(), "t.yaml"))
    err = exc.value
    assert (err.file, err.document, err.object, err.field) == ("t.yaml", document, obj, field), str(err)
    assert problem in err.problem, str(err)
    where = f"t.yaml document {document}"
    assert str(err).startswith(where)
    if obj:
        assert f"({obj}): {field}: " in str(err)


def test_list_item_error_points_at_the_item():
    text = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n" \
           "- {apiVersion: v1, kind: Service, metadata: {name: s}, spec: {ports: [{port: 0}]}}\n"
    with pytest.raises(ManifestError) as exc:
        parse_objects(parse_bytes(text.encode(), "dump.yaml"))
    assert str(exc.value) == ("dump.yaml document 1 items[1] (Service default/s): spec.ports[0].port: "
                              "0 is out of range 1-65535")


def test_invalid_json_names_line():
    with pytest.raises(ManifestError) as exc:
        parse_bytes(b'{"kind": "Pod",\n "metadata": }', "dump.json")
    assert str(exc.value).startswith("dump.json: invalid JSON at line 2")


def test_secret_errors_never_show_values():
    text = "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: a}\ndata: [c2VjcmV0LXZhbHVl]\n"
    with pytest.raises(ManifestError) as exc:
        parse_objects(parse_bytes(text.encode(), "s.yaml"))
    assert exc.value.field == "data" and "c2VjcmV0LXZhbHVl" not in str(exc.value)
    broken = b"apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData:\n  password: 'hunter2\n"
    with pytest.raises(ManifestError) as exc:
        parse_bytes(broken, "s.yaml")
    assert "hunter2" not in str(exc.value) and "line" in str(exc.value)


def test_bad_default_namespace_option():
    with pytest.raises(ManifestError) as exc:
        parse_objects(parse_bytes(b"apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n", "t.yaml"),
                      default_namespace="Not Valid")
    assert exc.value.field == "--namespace" and "not a valid namespace name" in str(exc.value)
