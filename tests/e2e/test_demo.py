"""The "Done when" of the browser UI, on the demo cluster, in local mode (no sign-up):

    open the demo → Internet → https://shop.example.com/ through the nginx Ingress → a shop/frontend pod
    → watch the packet move → workload:monitoring/grafana → svc:payments/ledger ✖ (payments/default-deny)
    → the pod panel of a shop/frontend pod: labels, node, IP, policies, service env vars, DNS search path.
"""
from __future__ import annotations

import re

import pytest
from django.core.management import call_command

from .conftest import screenshot

pytestmark = pytest.mark.e2e


@pytest.fixture
def local_mode_demo(settings, transactional_db):
    settings.TRACER_LOCAL_MODE = True
    call_command("setup_local", "--demo", verbosity=0)


def test_demo_in_local_mode_ingress_trace_blocked_pod_and_pod_panel(local_mode_demo, new_context):
    page = new_context().new_page()
    page.goto("/")  # no login form: a 127.0.0.1 visitor is the local admin
    assert "local-admin" in page.inner_text("header")
    page.wait_for_selector("#open-demo:not([aria-disabled])")
    page.click("#open-demo")
    page.wait_for_selector("#map[data-ready='1']")
    assert "22 pods" in page.inner_text("#map-status")

    # An example one click away: from the internet through the Ingress to a pod.
    page.wait_for_selector("#example-0")
    assert "Internet → https://shop.example.com/" in page.inner_text("#example-0")
    page.click("#example-0")
    page.wait_for_url(re.compile(r"/traces/\d+/$"))
    page.wait_for_selector("#hop-list li")
    assert "delivered" in page.inner_text(".trace-summary h2")
    kinds = " ".join(page.locator("#hop-list .hop-kind").all_inner_texts())
    assert "ingress-controller" in kinds and "ingress-rule" in kinds
    endpoints = page.locator(".path-choice").all_inner_texts()
    assert endpoints and all("pod:shop/frontend-" in e for e in endpoints)
    # Watch the packet move: Play walks every hop; the packet ends on the delivering hop.
    label = page.inner_text("#step-label")
    total = int(re.search(r"of (\d+)", label).group(1))
    positions = set()
    page.click("#step-play")
    for _ in range(total * 10):
        positions.add(tuple(page.evaluate(
            "() => { const p = document.querySelector('#trace-root')._cy.getElementById('packet').position();"
            " return [Math.round(p.x), Math.round(p.y)]; }")))
        if page.inner_text("#step-label").startswith(f"Hop {total} of"):
            break
        page.wait_for_timeout(200)
    assert page.inner_text("#step-label").startswith(f"Hop {total} of {total}")
    assert len(positions) >= total - 1  # it really travelled, hop by hop
    assert "✔ Delivered to pod:shop/frontend-" in page.locator("#hop-list li.current").inner_text()

    # Why is this blocked? The drop names the policy, the reason and the fix.
    page.go_back()
    page.wait_for_selector("#example-1")
    assert "monitoring" in page.inner_text("#example-1") and "svc:payments/ledger" in page.inner_text("#example-1")
    page.click("#example-1")
    page.wait_for_url(re.compile(r"/traces/\d+/$"))
    page.wait_for_selector("#hop-list li.hop-drop")
    reason = page.inner_text(".trace-summary .reason")
    assert "policy-ingress-denied" in reason and "Fix:" in reason
    assert "payments/default-deny" in page.inner_text("#hop-list li.hop-drop")
    screenshot(page, "demo-blocked")

    # The pod panel, reached by keyboard through the map search.
    page.go_back()
    page.wait_for_selector("#map[data-ready='1']")
    page.fill("#map-search", "frontend")
    pod_button = page.locator("#map-results button", has_text=re.compile(r"pod shop/frontend-"))
    pod_button.first.wait_for()
    pod_button.first.focus()
    page.keyboard.press("Enter")
    panel = page.locator("#pod-panel")
    panel.locator("h2").wait_for()
    text = panel.inner_text()
    assert re.search(r"shop/frontend-\S+", text)
    assert re.search(r"Node\s+node-\d", text) and re.search(r"IP\s+10\.", text)
    assert "app" in text and "frontend" in text  # labels
    assert "CART_SERVICE_HOST" in text  # service environment variables
    assert "shop.svc.cluster.local svc.cluster.local cluster.local" in text  # DNS search path
    screenshot(page, "pod-panel")
    page.keyboard.press("Escape")
    panel.wait_for(state="hidden", timeout=5000)
