"""Route panels for the controllers' own objects (issue 14 item 5): a Contour HTTPProxy and an Emissary Mapping
read as rules with matches and weighted backends, like an HTTPRoute; a controller's gateway has a panel too."""
from __future__ import annotations

from tests.unit.test_controller_routes import APP, BACKENDS, contour_model, controller
from tests.unit.test_gateway_routing import model
from topology.gateway_panels import gateway_panel, route_panel
from tracer.engine.gateway import gateway_status


def test_httpproxy_panel_lists_conditions_weights_and_includes():
    m = contour_model()
    p = route_panel(m, f"httpproxy/{APP}/root")
    assert p["kind"] == "HTTPProxy" and dict(p["facts"])["hostnames"] == "site.example.com"
    first = p["rules"][0]
    assert first["matches"] == ["prefix /"]
    assert [(b["ref"], b["weight"]) for b in first["backends"]] == [(f"svc:{APP}/whoami", 90), (f"svc:{APP}/canary", 10)]
    assert p["rules"][1]["matches"] == ["prefix /; header x-user exact beta"]
    include = p["rules"][-1]
    assert include["name"] == "include" and include["matches"] == ["prefix /blog"]
    assert include["backends"][0]["ref"] == f"route:httpproxy/{APP}/blog"
    gw_key = next(g["gateway"] for g in gateway_status(m)["gateways"] if g["implementation"] == "Contour")
    gw = gateway_panel(m, gw_key)
    assert gw is not None and gw["listeners"]
    assert any(r["ref"] == f"route:httpproxy/{APP}/root" for x in gw["listeners"] for r in x["routes"])


def test_mapping_panel_names_its_service_and_weight():
    docs = controller("emissary", "emissary-ingress", "docker.io/emissaryingress/emissary:3.9",
                      {"app.kubernetes.io/name": "emissary-ingress"},
                      [{"name": "http", "port": 80, "targetPort": 8080}], "8.1")
    canary = {"apiVersion": "getambassador.io/v3alpha1", "kind": "Mapping",
              "metadata": {"name": "quote-canary", "namespace": APP},
              "spec": {"hostname": "*", "prefix": "/backend/", "service": "canary.apps:80", "weight": 10}}
    p = route_panel(model(*docs, canary, *BACKENDS), f"mapping/{APP}/quote-canary")
    [rule] = p["rules"]
    assert rule["matches"] == ["host *, prefix /backend/"]
    assert [(b["ref"], b["port"], b["weight"]) for b in rule["backends"]] == [(f"svc:{APP}/canary", 80, 10)]
    assert route_panel(model(*docs, canary, *BACKENDS), f"mapping/{APP}/nope") is None
