"""Gateway API manifests that the API server would refuse are refused at import with the file, object and field
(topology/importers/gateway.py); the CRD defaults are written into what is kept."""
from __future__ import annotations

import pytest
import yaml

from topology.importers.errors import ManifestError
from topology.importers.load import Document
from topology.importers.parse import parse_objects


def parse(text: str):
    return parse_objects([Document("in.yaml", i, d) for i, d in enumerate(yaml.safe_load_all(text))])


ROUTE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: web}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: app, port: 80}]}]
"""


def test_defaults_are_written_into_the_route():
    (route,) = parse(ROUTE).objects.route_objects
    assert route.spec["parentRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "web",
                                         "name": "gw"}]
    rule = route.spec["rules"][0]
    assert rule["matches"] == [{"path": {"type": "PathPrefix", "value": "/"}, "headers": [], "queryParams": []}]
    assert rule["backendRefs"][0] | {"filters": []} == {"group": "", "kind": "Service", "name": "app",
                                                         "namespace": "web", "weight": 1, "port": 80, "filters": []}


@pytest.mark.parametrize("bad,field", [
    (ROUTE.replace("port: 80", "weight: 1"), "spec.rules[0].backendRefs[0].port"),
    (ROUTE.replace("[{name: gw}]", "[{namespace: x}]"), "spec.parentRefs[0].name"),
    (ROUTE + "  hostnames: ['10.0.0.1:80']\n", "spec.hostnames[0]"),
    (ROUTE.replace("rules: [{backendRefs: [{name: app, port: 80}]}]",
                   "rules: [{matches: [{path: {type: Glob, value: /x}}]}]"), "spec.rules[0].matches[0].path.type"),
    ("""
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: web}
spec:
  gatewayClassName: c
  listeners: [{name: a, port: 80, protocol: HTTP}, {name: a, port: 81, protocol: HTTP}]
""", "spec.listeners[1].name"),
])
def test_invalid_objects_name_the_field(bad, field):
    with pytest.raises(ManifestError) as exc:
        parse(bad)
    assert exc.value.field == field and exc.value.name in ("r", "gw")


def test_istio_gateway_is_not_read_as_a_gateway_api_gateway():
    res = parse("""
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: gw, namespace: web}
spec: {selector: {istio: ingressgateway}, servers: [{port: {number: 80, protocol: HTTP}, hosts: ["*"]}]}
""")
    assert [(o.kind, o.name) for o in res.objects.route_objects] == [("IstioGateway", "gw")]
