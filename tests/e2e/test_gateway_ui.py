"""A shop behind a Gateway API Gateway, as a newcomer meets it in the browser (issue 14 item 5).

The cluster (tests/fixtures/gateway-shop/) has one Gateway whose HTTPRoute has competing rules (an Exact path,
a header match, a weighted prefix, a redirect) and a route in a namespace the listener refuses. From the cluster
page: the Gateway and its route are on the map and the Gateway's panel lists its listener and both routes with
their conditions. From the trace builder: a URL through the Gateway shows which rule won and why each other rule
lost, what the client gets (status, backend; a redirect's location), the route's panel from its hop, and the path
on the cluster map through the Gateway. No console errors (conftest), no serious axe-core findings.
"""
from __future__ import annotations

import re

import pytest

from tests.fixtures import FIXTURES

from .conftest import screenshot
from .test_traffic_map import axe_violations, doc_shot, wait_map

pytestmark = pytest.mark.e2e


@pytest.fixture
def shop_page(logged_in_page, user):
    from topology.importers import import_files

    snap = import_files("gw-shop", [str(FIXTURES / "gateway-shop" / "cluster.yaml")], owner=user,
                        materialize=True).snapshot
    return logged_in_page, snap.cluster


def test_gateway_on_the_map_its_panel_and_a_trace_through_it(shop_page):
    page, cluster = shop_page
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"/clusters/{cluster.pk}/")
    wait_map(page)
    labels = page.locator("#map-list button.link").all_inner_texts()
    assert any(t.startswith("Gateway web") for t in labels), labels
    assert any(t.startswith("route storefront (HTTPRoute") for t in labels), labels
    page.locator("#map").scroll_into_view_if_needed()
    doc_shot(page, "gateway-map")
    # The Gateway's panel: its listener, and each route naming it with the conditions a controller would write.
    page.locator("#map-list button.link", has_text=re.compile(r"^Gateway web")).click()
    panel = page.locator("#pod-panel")
    panel.locator("h2", has_text="Gateway edge/web").wait_for()
    listeners = panel.locator("table.gateway-listeners").inner_text()
    assert "80 HTTP" in listeners and "*.example.com" in listeners and "Selector (shop-routes=yes)" in listeners
    status = panel.locator("ul.route-status").inner_text()
    assert "HTTPRoute shop/storefront" in status and "NotAllowedByListeners" in status
    assert axe_violations(page) == []
    doc_shot(page, "gateway-map-panel")

    # Trace from the browser through the Gateway: /api/x with no x-canary header.
    page.locator("#pod-panel-close").click()
    page.fill("#trace-from", "external:203.0.113.9")
    page.fill("#trace-to", "url:http://shop.example.com/api/x")
    page.click("#trace-submit")
    page.wait_for_url(re.compile(r"/traces/\d+/$"))
    page.wait_for_selector("#hop-list li")
    won = page.locator("#hop-list .rule-won").inner_text()
    assert "HTTPRoute shop/storefront rule 3 wins with PathPrefix /api" in won, won
    lost = page.locator("#hop-list table.rules-lost tbody tr").all_inner_texts()
    lost = [re.sub(r"\s+", " ", row).strip() for row in lost]
    assert "HTTPRoute shop/storefront rule 1 path /api/x is not Exact /cart" in lost, lost
    assert "HTTPRoute shop/storefront rule 2 header x-canary is not 'true'" in lost, lost
    assert "HTTPRoute shop/storefront rule 4 path /api/x is not PathPrefix /old" in lost, lost
    http = page.locator("#http-summary").inner_text()
    assert re.search(r"HTTP status\s+200", http) and re.search(r"Route\s+HTTPRoute shop/storefront, rule 3", http), http
    assert re.search(r"Backend\s+shop/api-v1", http), http
    # The path on the cluster's map passes through the Gateway.
    page.check("#view-cluster")
    page.wait_for_selector("#trace-cluster-map[data-ready='1']")
    on_path = page.evaluate("() => document.querySelector('#trace-root')._onMap.cy.getElementById('gateway:edge/web')"
                            ".hasClass('on-path')")
    assert on_path
    screenshot(page, "trace-gateway-cluster-map")
    page.check("#view-path")
    doc_shot(page, "trace-gateway-rules")
    # The route hop opens the route's panel: its rules, the weighted backends.
    page.get_by_role("button", name="Details of httproute:shop/storefront").click()
    panel.locator("h2", has_text="HTTPRoute shop/storefront").wait_for()
    rules = panel.locator("table.route-rules").inner_text()
    assert "PathPrefix /api, header x-canary: true" in rules
    assert "weight 90 (90% of requests)" in rules and "weight 10 (10% of requests)" in rules
    assert "RequestRedirect: hostname=new.example.com, statusCode=301" in rules
    assert axe_violations(page) == []
    doc_shot(page, "panel-httproute")

    # A redirect: the client is told where to go, no backend is reached.
    page.goto(f"/clusters/{cluster.pk}/")
    page.fill("#trace-from", "external:203.0.113.9")
    page.fill("#trace-to", "url:http://shop.example.com/old/page")
    page.click("#trace-submit")
    page.wait_for_url(re.compile(r"/traces/\d+/$"))
    page.wait_for_selector("#http-summary")
    http = page.locator("#http-summary").inner_text()
    assert re.search(r"HTTP status\s+301", http) and "Redirected to" in http and "new.example.com" in http, http
    assert "rule 4 wins" in page.locator("#hop-list .rule-won").inner_text()

    # Two rules match: the one with a header match wins, the other lost on the number of header matches.
    page.goto(f"/clusters/{cluster.pk}/")
    page.fill("#trace-from", "external:203.0.113.9")
    page.fill("#trace-to", "url:http://shop.example.com/api/x")
    page.click("#trace-http summary")
    page.fill("#trace-headers", "x-canary: true")
    page.click("#trace-submit")
    page.wait_for_url(re.compile(r"/traces/\d+/$"))
    page.wait_for_selector("#hop-list .rule-won")
    assert "rule 2 wins with PathPrefix /api, header x-canary: true" in page.locator("#hop-list .rule-won").inner_text()
    rows = [re.sub(r"\s+", " ", r).strip() for r in page.locator("#hop-list table.rules-lost tbody tr").all_inner_texts()]
    assert rows[0] == "HTTPRoute shop/storefront rule 3 (PathPrefix /api) also matches but loses on number of header " \
                      "matches", rows
    assert re.search(r"Backend\s+shop/api-v2", page.locator("#http-summary").inner_text())

    # No rule matches on the Gateway (entered with Via): 404, and every rule with the criterion it failed on.
    page.goto(f"/clusters/{cluster.pk}/")
    page.fill("#trace-from", "external:203.0.113.9")
    page.fill("#trace-to", "url:http://shop.example.com/nothing")
    page.fill("#trace-via", "gateway:edge/web:80")
    page.click("#trace-submit")
    page.wait_for_url(re.compile(r"/traces/\d+/$"))
    page.wait_for_selector("#http-summary")
    assert re.search(r"HTTP status\s+404", page.locator("#http-summary").inner_text())
    assert page.locator("#hop-list .rule-none").inner_text().strip() == "✖ No rule matches: the Gateway answers 404"
    rows = [re.sub(r"\s+", " ", r).strip() for r in page.locator("#hop-list table.rules-lost tbody tr").all_inner_texts()]
    assert rows == ["HTTPRoute shop/storefront rule 1 path /nothing is not Exact /cart",
                    "HTTPRoute shop/storefront rule 2 path /nothing is not PathPrefix /api",
                    "HTTPRoute shop/storefront rule 3 path /nothing is not PathPrefix /api",
                    "HTTPRoute shop/storefront rule 4 path /nothing is not PathPrefix /old"], rows
    assert axe_violations(page) == []
