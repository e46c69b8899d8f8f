"""The trace view shows a dropped path's verified fix (docs/contract.md `fix`): its summary, the YAML to
`kubectl apply`, what else it changes, and a button that copies the YAML.

Demo cluster, example 1: workload:monitoring/grafana → svc:payments/ledger, dropped by a NetworkPolicy.
"""
from __future__ import annotations

import re

import yaml

from tests.e2e.test_traffic_map import demo_page  # noqa: F401 — the fixture: the demo cluster, logged in locally


def test_the_trace_view_shows_the_verified_fix_and_copies_its_yaml(demo_page):  # noqa: F811
    page, cluster = demo_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"/clusters/{cluster.pk}/")
    page.wait_for_selector("#example-1")
    page.click("#example-1")
    page.wait_for_url(re.compile(r"/traces/\d+/$"))
    page.wait_for_selector("#engine-fix-yaml")
    assert page.inner_text("#engine-fix-text").startswith("Add NetworkPolicy payments/")
    shown = page.inner_text("#engine-fix-yaml")
    pol = yaml.safe_load(shown)
    assert pol["kind"] == "NetworkPolicy" and pol["metadata"]["namespace"] == "payments"
    assert "pod-template-hash" not in shown
    assert "Verified by re-tracing" in page.inner_text("#engine-fix-opens")
    assert page.inner_text("#engine-fix-command") == "kubectl apply -f -"  # a new NetworkPolicy: apply creates it
    page.get_by_role("button", name="Copy the fix").click()
    page.wait_for_function("() => document.querySelector('#copy-fix').textContent.includes('Copied')")
    assert yaml.safe_load(page.evaluate("() => navigator.clipboard.readText()")) == pol
