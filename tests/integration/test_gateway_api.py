"""Gateway API through the REST API: a trace with request attributes via a Gateway, and the status endpoint."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from tests.fixtures import FIXTURES

pytestmark = pytest.mark.django_db
CORPUS = FIXTURES / "gateway-api-conformance"


@pytest.fixture
def setup(db):
    from topology.importers import import_files

    user = get_user_model().objects.create_user("gw-owner", password="x" * 20)
    stranger = get_user_model().objects.create_user("gw-stranger", password="x" * 20)
    snap = import_files("gw", [str(CORPUS / "manifests/base/manifests.yaml"),
                               str(CORPUS / "manifests/derived/suite-setup.yaml"),
                               str(CORPUS / "manifests/tests/httproute-header-matching.yaml")],
                        owner=user, materialize=True).snapshot
    return user, stranger, snap


def _client(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def test_trace_with_a_header_through_a_gateway(setup):
    user, _stranger, snap = setup
    body = {"snapshot": snap.pk, "from": "external:203.0.113.9", "to": "url:http://192.0.2.1/",
            "via": "gateway:gateway-conformance-infra/same-namespace:80", "headers": {"version": "two"}}
    r = _client(user).post("/api/traces/", body, format="json")
    assert r.status_code == 201, r.content
    result = r.json()["result"]
    assert {p["http"]["backend"] for p in result["paths"]} == {"gateway-conformance-infra/infra-backend-v2"}
    r = _client(user).post("/api/traces/", {**body, "headers": {"version": "three"}}, format="json")
    paths = r.json()["result"]["paths"]
    assert [(p["reason"], p["http"]["status"]) for p in paths] == [("no-route", 404)]


def test_gateway_status_endpoint(setup):
    user, stranger, snap = setup
    r = _client(user).get(f"/api/snapshots/{snap.pk}/gateways/")
    assert r.status_code == 200
    gw = next(g for g in r.json()["gateways"] if g["gateway"] == "gateway-conformance-infra/same-namespace")
    assert [(x["name"], x["attached_routes"]) for x in gw["listeners"]] == [("http", 1)]
    routes = r.json()["routes"]
    assert routes and all(rt["accepted"] for rt in routes)
    assert _client(stranger).get(f"/api/snapshots/{snap.pk}/gateways/").status_code == 404


def test_batch_lines_carry_method_and_headers(setup, tmp_path):
    import io
    import json

    from django.core.management import call_command

    base = {"from": "external:203.0.113.9", "to": "url:http://192.0.2.1/",
            "via": "gateway:gateway-conformance-infra/same-namespace:80"}
    lines = [{**base, "headers": {"version": "two"}}, {**base, "headers": {"version": "one"}, "method": "POST"},
             {**base, "headers": ["bad header"]}]
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines))
    out = io.StringIO()
    call_command("trace", "--cluster", "gw", "--batch", str(path), "--format", "json", stdout=out)
    results = [json.loads(x) for x in out.getvalue().splitlines() if x.strip()]
    assert {p["http"]["backend"] for p in results[0]["paths"]} == {"gateway-conformance-infra/infra-backend-v2"}
    assert {p["http"]["backend"] for p in results[1]["paths"]} == {"gateway-conformance-infra/infra-backend-v1"}
    assert results[1]["request"]["method"] == "POST"
    assert "error" in results[2] and "header" in results[2]["error"]


def test_search_offers_route_host_names_as_url_destinations(db):
    from topology.importers import import_files

    user = get_user_model().objects.create_user("gw-search", password="x" * 20)
    snap = import_files("gw-hosts", [str(CORPUS / "manifests/base/manifests.yaml"),
                                     str(CORPUS / "manifests/derived/suite-setup.yaml"),
                                     str(CORPUS / "manifests/tests/httproute-hostname-intersection.yaml")],
                        owner=user, materialize=True).snapshot
    r = _client(user).get(f"/api/clusters/{snap.cluster_id}/search/", {"q": "non.matching", "role": "destination"})
    assert r.status_code == 200
    hits = [h for h in r.json() if h.get("kind") == "url"]
    assert [h["value"] for h in hits] == ["url:http://non.matching.com/"]  # wildcards are no URL
    assert hits[0]["detail"].startswith("HTTPRoute gateway-conformance-infra/")
