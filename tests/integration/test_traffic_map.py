"""The traffic map and the object panels over the API, on the demo cluster (see tests/integration/test_demo.py
for its sketch): namespaces are boxes, policy allow rules are edges with ports, isolation is a badge,
and each object kind has a panel that says what the engine concludes about it."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from topology.importers import import_files

DEMO = Path(__file__).resolve().parents[2] / "demo"


@pytest.fixture
def demo_api(db):
    owner = get_user_model().objects.create_user("mapper", password="map-password-1")
    result = import_files("demo-map", [DEMO], owner=owner, materialize=True, nodes=3)
    client = APIClient()
    client.force_authenticate(owner)
    return client, result.snapshot


def _get(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, getattr(response, "data", None))
    return response.data


def _nodes(data):
    return {n["data"]["id"]: n["data"] for n in data["elements"]["nodes"]}


def _edges(data, kind=None):
    return [e["data"] for e in data["elements"]["edges"] if kind is None or e["data"]["kind"] == kind]


def test_small_cluster_opens_namespaces_as_boxes_with_allow_edges_and_badges(demo_api):
    client, snap = demo_api
    data = _get(client, f"/api/clusters/{snap.cluster_id}/map/")
    nodes = _nodes(data)
    assert "ns:payments" in data["expanded"] and "ns:shop" in data["expanded"]
    # namespaces are boxes holding their workloads and services
    assert nodes["workload:payments/Deployment/payments-api"]["parent"] == "ns:payments"
    assert nodes["svc:shop/cart"]["parent"] == "ns:shop"
    assert nodes["ingress:shop/storefront"]["parent"] == "ns:shop"
    # isolation badges: payments is default-deny both ways; monitoring has no policy
    assert nodes["workload:payments/Deployment/ledger"]["badge"] == "ingress isolated · egress isolated"
    assert nodes["workload:monitoring/Deployment/grafana"]["badge"] == "open to all"
    assert "ingress isolated" in nodes["ns:payments"]["badge"]
    # the way in: outside → Ingress → service → workload
    routes = {(e["source"], e["target"]) for e in _edges(data, "route")}
    assert ("ingress:shop/storefront", "svc:shop/frontend") in routes
    assert ("external", "ingress:shop/storefront") in {(e["source"], e["target"]) for e in _edges(data, "entry")}
    assert ("svc:shop/cart", "workload:shop/Deployment/cart") in {(e["source"], e["target"]) for e in _edges(data, "endpoint")}
    # policy allow rules, with ports and the policy that allows: api-from-shop admits the whole shop namespace
    allow = {(e["source"], e["target"]): e for e in _edges(data, "allow")}
    shop_to_api = allow[("ns:shop", "workload:payments/Deployment/payments-api")]
    assert shop_to_api["label"] == "TCP http"
    assert any(p.startswith("payments/api-from-shop") for p in shop_to_api["policies"])
    api_to_ledger = allow[("workload:payments/Deployment/payments-api", "workload:payments/Deployment/ledger")]
    assert "TCP 5432" in api_to_ledger["label"]
    assert {p.split(" ")[0] for p in api_to_ledger["policies"]} == {"payments/ledger-from-api", "payments/api-egress"}
    # monitoring → payments is not allowed: no allow edge from monitoring into payments
    assert not [k for k in allow if k[0].startswith(("ns:monitoring", "workload:monitoring")) and "payments" in k[1]]


def test_collapsed_and_expanded_levels_keep_ids_stable(demo_api):
    client, snap = demo_api
    collapsed = _get(client, f"/api/snapshots/{snap.pk}/map/?expand=")
    nodes = _nodes(collapsed)
    assert collapsed["expanded"] == []
    assert nodes["ns:shop"]["expand"] == "ns:shop" and "parent" not in nodes["ns:shop"]
    assert "pods" in nodes["ns:shop"]["caption"]
    assert not [i for i in nodes if i.startswith(("workload:", "svc:"))]
    opened = _get(client, f"/api/snapshots/{snap.pk}/map/?expand=ns:shop,workload:shop/Deployment/cart")
    nodes = _nodes(opened)
    assert nodes["workload:shop/Deployment/cart"]["open"] is True
    cart_pods = [n for n in nodes.values() if n.get("parent") == "workload:shop/Deployment/cart"]
    assert len(cart_pods) == 2 and all(n["kind"] == "pod" for n in cart_pods)
    assert "expand" in nodes["ns:payments"]  # the rest stays collapsed


def test_object_panels(demo_api):
    client, snap = demo_api
    base = f"/api/clusters/{snap.cluster_id}/objects"
    cart = _get(client, f"{base}/svc/shop/cart/")
    rows = cart["ports"][0]["endpoints"]
    canary = [r for r in rows if "cart-canary" in r["target"]]
    assert canary and not canary[0]["used"] and "not ready" in canary[0]["why"]
    assert [r for r in rows if r["used"]] and all(r["why"].startswith("used") for r in rows if r["used"])
    pol = _get(client, f"{base}/netpol/payments/api-from-shop/")
    assert pol["kind"] == "NetworkPolicy"
    assert any("team=shop" in r["peers"] for r in pol["rules"])
    deny = _get(client, f"{base}/netpol/payments/default-deny/")
    assert {r["direction"] for r in deny["rules"] if not r["allows"]} >= {"Ingress"}
    ing = _get(client, f"{base}/ingress/shop/storefront/")
    assert {r["backend"] for r in ing["rules"]} >= {"svc:shop/frontend", "svc:shop/catalog"}
    node = _get(client, f"{base}/node/{cart['ports'][0]['endpoints'][0]['node']}/")
    assert node["kind"] == "Node" and node["pods"]
    wl = _get(client, f"{base}/workload/payments/Deployment/payments-api/")
    assert "svc:payments/payments-api" in wl["services"] and wl["policies"]
    assert client.get(f"{base}/svc/shop/nope/").status_code == 404
    assert client.get(f"{base}/bogus/shop/cart/").status_code == 400


def test_outsider_cannot_read_the_map(demo_api):
    _client, snap = demo_api
    other = APIClient()
    other.force_authenticate(get_user_model().objects.create_user("outsider", password="x-password-1"))
    assert other.get(f"/api/clusters/{snap.cluster_id}/map/").status_code == 404
    assert other.get(f"/api/snapshots/{snap.pk}/objects/svc/shop/cart/").status_code == 404
