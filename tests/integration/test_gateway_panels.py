"""Gateways and routes on the traffic map and in the object panels, over the API (issue 14 item 5), on the small
shop behind a Gateway in tests/fixtures/gateway-shop/: the map draws outside → Gateway → route → Services, the
Gateway panel lists listeners with the routes attached and the routes refused (with the controller's reason), the
route panel lists its rules with matches, filters and backends with their share of requests."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tests.fixtures import FIXTURES
from tests.integration.workers import broker  # noqa: F401  (fixture)
from topology.importers import import_files

SHOP = FIXTURES / "gateway-shop" / "cluster.yaml"


@pytest.fixture
def shop(db):
    owner = get_user_model().objects.create_user("gw-panels", password="gw-panels-pass-1")
    snap = import_files("gw-shop", [str(SHOP)], owner=owner, materialize=True).snapshot
    client = APIClient()
    client.force_authenticate(owner)
    return client, snap


def _get(client, url):
    r = client.get(url)
    assert r.status_code == 200, (url, r.status_code, getattr(r, "data", None))
    return r.data


def test_map_draws_gateway_route_and_backends(shop):
    client, snap = shop
    data = _get(client, f"/api/snapshots/{snap.pk}/map/")
    nodes = {n["data"]["id"]: n["data"] for n in data["elements"]["nodes"]}
    assert nodes["gateway:edge/web"]["kind"] == "gateway" and nodes["gateway:edge/web"]["parent"] == "ns:edge"
    route = nodes["route:httproute/shop/storefront"]
    assert (route["kind"], route["route_kind"], route["parent"]) == ("route", "HTTPRoute", "ns:shop")
    assert "route:httproute/blog/blog" not in nodes  # not accepted by the listener: no traffic goes there
    edges = {(e["data"]["source"], e["data"]["target"], e["data"]["kind"]): e["data"] for e in data["elements"]["edges"]}
    assert edges[("external", "gateway:edge/web", "entry")]["ports"] == ["HTTP 80"]
    assert edges[("gateway:edge/web", "route:httproute/shop/storefront", "attach")]["ports"] == ["http :80"]
    split = edges[("route:httproute/shop/storefront", "svc:shop/api-v1", "route")]
    assert split["ports"] == ["weight 90"]
    assert ("route:httproute/shop/storefront", "svc:shop/cart", "route") in edges


def test_gateway_panel_lists_listeners_attached_and_refused_routes(shop):
    client, snap = shop
    p = _get(client, f"/api/snapshots/{snap.pk}/objects/gateway/edge/web/")
    assert p["kind"] == "Gateway" and dict(p["facts"])["class"] == "example"
    [lst] = p["listeners"]
    assert (lst["name"], lst["port"], lst["protocol"], lst["hostname"]) == ("http", 80, "HTTP", "*.example.com")
    assert lst["allowed_routes"] == "Selector (shop-routes=yes)"
    assert [r["ref"] for r in lst["routes"]] == ["route:httproute/shop/storefront"]
    status = {s["route"]: s for s in p["statuses"]}
    assert status["HTTPRoute shop/storefront"]["accepted"] is True
    refused = status["HTTPRoute blog/blog"]
    assert refused["accepted"] is False and refused["reason"] == "NotAllowedByListeners"
    assert refused["ref"] == "route:httproute/blog/blog"


def test_route_panel_lists_rules_matches_filters_and_weighted_backends(shop):
    client, snap = shop
    p = _get(client, f"/api/snapshots/{snap.pk}/objects/route/httproute/shop/storefront/")
    assert p["kind"] == "HTTPRoute" and dict(p["facts"])["hostnames"] == "shop.example.com"
    assert [s["parent_ref"] for s in p["statuses"]] == ["gateway:edge/web"]
    rules = {r["rule"]: r for r in p["rules"]}
    assert rules[1]["matches"] == ["Exact /cart"]
    assert rules[2]["matches"] == ["PathPrefix /api, header x-canary: true"]
    assert [(b["ref"], b["weight"], b["share"]) for b in rules[3]["backends"]] == \
        [("svc:shop/api-v1", 90, 0.9), ("svc:shop/api-v2", 10, 0.1)]
    assert rules[4]["filters"] == ["RequestRedirect: hostname=new.example.com, statusCode=301"]
    assert rules[4]["backends"] == []


def test_unknown_gateway_or_route_is_404_and_other_users_cannot_read(shop):
    client, snap = shop
    assert client.get(f"/api/snapshots/{snap.pk}/objects/gateway/edge/nope/").status_code == 404
    assert client.get(f"/api/snapshots/{snap.pk}/objects/route/grpcroute/shop/storefront/").status_code == 404
    other = APIClient()
    other.force_authenticate(get_user_model().objects.create_user("gw-other", password="gw-other-pass-1"))
    assert other.get(f"/api/snapshots/{snap.pk}/objects/gateway/edge/web/").status_code == 404


def test_matrix_has_a_column_per_route_rule_sent_through_the_gateway(shop):
    """Matrix destinations include each HTTPRoute rule attached to a Gateway listener, probed with the request its
    first match takes; the column (reach_columns) agrees with one full trace per cell, whose path ends at the rule's
    backend or redirect."""
    from topology.compile import load_model
    from tracer.engine.reach import compute_cell, compute_cells, plan

    _client, snap = shop
    m = load_model(snap.pk)
    p = plan(m)
    routes = {d.name: d for d in p.destinations if d.kind == "route"}
    assert sorted(routes) == ["HTTPRoute storefront rule 1: shop.example.com/cart",
                              "HTTPRoute storefront rule 2: shop.example.com/api",
                              "HTTPRoute storefront rule 3: shop.example.com/api",
                              "HTTPRoute storefront rule 4: shop.example.com/old"]
    canary = routes["HTTPRoute storefront rule 2: shop.example.com/api"]
    assert (canary.via, canary.headers, canary.port) == ("gateway:edge/web:80", (("x-canary", "true"),), 80)
    index = {d.key: j for j, d in enumerate(p.destinations)}
    fast = {(c.source, c.destination): (c.verdict, c.reason) for c in compute_cells(m, p, (0, len(p.sources)))}
    for d in routes.values():
        j = index[d.key]
        for i, src in enumerate(p.sources):
            full = compute_cell(m, src, d, keep_result=True, indexes=(i, j))
            assert fast[(i, j)] == (full.verdict, full.reason)
            assert full.request["via"] == "gateway:edge/web:80"
            http = {(x["http"] or {}).get("backend") for x in full.result["paths"]}
            expected = {"rule 1": {"shop/cart"}, "rule 2": {"shop/api-v2"}, "rule 3": {"shop/api-v1", "shop/api-v2"},
                        "rule 4": {None}}[d.name.split(":")[0].split(" ", 2)[2]]
            assert http == expected, (d.name, http)
            if d.name.startswith("HTTPRoute storefront rule 4"):
                assert (full.verdict, full.reason) == ("dropped", "http-redirect")


def test_a_route_cell_of_a_matrix_job_traces_through_the_gateway(broker, shop):  # noqa: F811
    """Over the API: a route column's cell carries via and headers, and its on-demand trace is the request through
    the Gateway to the rule's backend."""
    from tracer import jobs

    client, snap = shop
    job = jobs.enqueue_matrix(snap, owner=snap.cluster.owner, inline=True)
    assert job.state == "done"
    cells = client.get(f"/api/jobs/{job.pk}/cells/?destination=rule%202&limit=50").json()
    assert cells["count"] > 0
    cell = cells["results"][0]
    assert cell["request"]["via"] == "gateway:edge/web:80" and cell["request"]["headers"] == {"x-canary": "true"}
    assert cell["verdict"] == "delivered"
    traced = client.get(cell["links"]["trace"]).json()["result"]
    assert {p["http"]["backend"] for p in traced["paths"]} == {"shop/api-v2"}
