"""The traffic map on the demo cluster, as a newcomer meets it (issue 16, items 1–4 and 8).

Observed as a user would: the drawn objects through the map's list view and the element's data
attributes (never a window hook), panels through their text, the view's state through the URL.
Screenshots of each view go to docs/screenshots/ (shown in the README); every page is checked with
axe-core (injected from node_modules) for serious and critical issues.
"""
from __future__ import annotations

import re
import shutil

import pytest
from django.core.management import call_command

from .conftest import ARTIFACTS, REPO, screenshot

pytestmark = pytest.mark.e2e

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
DOCS = REPO / "docs" / "screenshots"


@pytest.fixture
def demo_page(settings, transactional_db, new_context):
    settings.TRACER_LOCAL_MODE = True
    call_command("setup_local", "--demo", verbosity=0)
    from topology.models import Cluster

    cluster = Cluster.objects.get(name="demo")
    page = new_context(viewport={"width": 1280, "height": 800}).new_page()
    return page, cluster


def doc_shot(page, name: str) -> None:
    path = screenshot(page, name)
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, DOCS / f"{name}.png")


def axe_violations(page) -> list[str]:
    """Serious and critical axe-core findings on the page as it is now."""
    # evaluated by the test driver (the page's Content-Security-Policy rightly refuses inline scripts)
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate("source => { (0, eval)(source); }", AXE.read_text())
    found = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => ['serious', 'critical'].includes(v.impact))
          .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | ')}`); }""")
    return found


def wait_map(page):
    page.wait_for_selector("#map[data-ready='1']", timeout=30_000)


def list_labels(page) -> list[str]:
    return page.locator("#map-list button.link").all_inner_texts()


def test_map_shows_namespaces_policies_badges_and_a_legend(demo_page):
    page, cluster = demo_page
    page.goto(f"/clusters/{cluster.pk}/")
    wait_map(page)
    assert "22 pods" in page.inner_text("#map-status")
    labels = list_labels(page)
    # namespaces are boxes holding workloads and services (the list view nests like the boxes)
    payments = page.locator("#map-list > li", has=page.locator("button.link", has_text=re.compile(r"^namespace payments")))
    inner = payments.locator("ul button.link").all_inner_texts()
    assert any(t.startswith("workload payments-api") for t in inner), inner
    assert any(t.startswith("service ledger") for t in inner), inner
    assert any("ingress isolated" in t and "egress isolated" in t for t in inner if "ledger" in t), inner
    assert any(t.startswith("workload grafana") and "open to all" in t for t in labels), labels
    # a policy allow edge with its port: the shop namespace may call payments-api on its http port
    reach = payments.locator(".reach li").all_inner_texts() + page.locator("#map-list .reach li").all_inner_texts()
    assert any("payments-api" in r and "TCP http" in r for r in reach), reach
    legend = page.inner_text("#map-legend")
    for word in ("namespace", "workload", "service", "Ingress", "NetworkPolicy", "ingress isolated", "open to all"):
        assert word in legend, word
    # readable: the whole demo fits with object labels drawn at 12 px or more
    assert int(page.get_attribute("#map", "data-nodes")) >= 30
    assert float(page.get_attribute("#map", "data-label-px")) >= 12
    doc_shot(page, "traffic-map")
    assert axe_violations(page) == []


def test_panels_for_service_policy_ingress_and_edges(demo_page):
    page, cluster = demo_page
    page.goto(f"/clusters/{cluster.pk}/")
    wait_map(page)
    panel = page.locator("#pod-panel")
    # a service: every endpoint, used or not, and why (keyboard: the list view)
    page.locator("#map-list button.link", has_text=re.compile(r"^service cart ")).first.focus()
    page.keyboard.press("Enter")
    panel.locator("h2", has_text="Service shop/cart").wait_for()
    text = panel.inner_text()
    assert "cart-canary" in text and "not used: not ready" in text and "used: ready" in text
    page.evaluate("() => window.scrollTo(0, 0)")
    doc_shot(page, "panel-service")
    assert "sel=svc%3Ashop%2Fcart" in page.url or "sel=svc:shop/cart" in page.url
    # a NetworkPolicy, from the namespace panel, as a table of what it allows
    page.locator("#map-list button.link", has_text=re.compile(r"^namespace payments")).first.click()
    panel.locator("h2", has_text="Namespace payments").wait_for()
    panel.get_by_role("button", name="netpol:payments/api-from-shop").click()
    panel.locator("h2", has_text="NetworkPolicy payments/api-from-shop").wait_for()
    rows = panel.locator("table.policy-rules tbody tr").all_inner_texts()
    assert any("Ingress" in r and "team=shop" in r and "TCP http" in r for r in rows), rows
    doc_shot(page, "panel-networkpolicy")
    assert axe_violations(page) == []
    # an Ingress and its rules
    page.locator("#map-list button.link", has_text=re.compile(r"^Ingress ")).first.click()
    panel.locator("h2", has_text="Ingress shop/storefront").wait_for()
    assert "svc:shop/frontend" in panel.inner_text()
    # a node, linked from the service panel's endpoint rows
    page.locator("#map-list button.link", has_text=re.compile(r"^service frontend ")).first.click()
    panel.locator("h2", has_text="Service shop/frontend").wait_for()
    panel.locator("table.endpoints button", has_text=re.compile(r"^node-")).first.click()
    panel.locator("h2", has_text=re.compile(r"^Node node-")).wait_for()
    assert "pod:shop/frontend-" in panel.inner_text() or "pod:" in panel.inner_text()
    page.keyboard.press("Escape")
    panel.wait_for(state="hidden")


def test_every_view_is_a_url_reload_back_and_pasted_link(demo_page, new_context):
    page, cluster = demo_page
    page.goto(f"/clusters/{cluster.pk}/?expand=")  # everything collapsed, explicitly
    wait_map(page)
    labels = list_labels(page)
    assert any(t.startswith("namespace shop") for t in labels) and not any(t.startswith("workload") for t in labels)
    # expand one namespace: the URL says so; the other namespaces stay collapsed
    page.locator("#map-list button", has_text="expand").first.wait_for()
    page.get_by_role("button", name="Expand payments").click()
    page.wait_for_url(re.compile(r"expand=ns%3Apayments|expand=ns:payments"))
    wait_map(page)
    assert any(t.startswith("workload ledger") for t in list_labels(page))
    assert not any(t.startswith("workload cart") for t in list_labels(page))
    page.evaluate("() => window.scrollTo(0, 0)")
    doc_shot(page, "traffic-map-expanded")
    # select a workload: its panel opens and the URL names it
    page.locator("#map-list button.link", has_text=re.compile(r"^workload ledger")).click()
    page.locator("#pod-panel h2", has_text="payments/ledger").wait_for()
    url = page.url
    assert "sel=" in url
    # reload gives the same picture
    page.reload()
    wait_map(page)
    page.locator("#pod-panel h2", has_text="payments/ledger").wait_for()
    assert any(t.startswith("workload ledger") for t in list_labels(page))
    # Back: before the selection, then before the expansion
    page.go_back()
    page.wait_for_function("() => document.querySelector('#pod-panel').hidden")
    page.go_back()
    page.wait_for_function("() => ![...document.querySelectorAll('#map-list button.link')].some(b => b.textContent.startsWith('workload ledger'))")
    # a pasted link in a fresh context gives the same picture
    other = new_context(viewport={"width": 1280, "height": 800}).new_page()
    other.goto(url)
    wait_map(other)
    other.locator("#pod-panel h2", has_text="payments/ledger").wait_for()
    assert any(t.startswith("workload ledger") for t in list_labels(other))


def test_search_reveals_and_says_no_match(demo_page):
    page, cluster = demo_page
    page.goto(f"/clusters/{cluster.pk}/?expand=")
    wait_map(page)
    page.fill("#map-search", "ledger")
    page.locator("#map-results button", has_text=re.compile(r"ledger")).first.wait_for()
    # revealed: the payments namespace was opened to show the match
    assert any(t.startswith("workload ledger") for t in list_labels(page))
    page.fill("#map-search", "zzz-nothing")
    page.locator("#map-results .no-match").wait_for()
    assert "No match" in page.inner_text("#map-results")
    assert "q=zzz-nothing" in page.url
    assert int(page.get_attribute("#map", "data-nodes")) > 5  # the map is not emptied


@pytest.mark.parametrize("width,height", [(1280, 800), (800, 900)])
def test_layout_fits_the_width(demo_page, new_context, width, height):
    _page, cluster = demo_page
    page = new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(f"/clusters/{cluster.pk}/")
    wait_map(page)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"horizontal scroll of {overflow} px at {width} px wide"
    box = page.locator("#map").bounding_box()
    assert box["width"] >= min(600, width - 60) and box["height"] >= 400
    if width == 800:
        doc_shot(page, "traffic-map-800")
    ARTIFACTS.mkdir(exist_ok=True)


def test_trace_view_groups_paths_shows_the_fix_and_opens_hop_panels(demo_page, new_context):
    page, cluster = demo_page
    page.goto(f"/clusters/{cluster.pk}/")
    page.wait_for_selector("#example-1")
    page.click("#example-1")  # workload:monitoring/grafana → svc:payments/ledger: dropped by policy
    page.wait_for_url(re.compile(r"/traces/\d+/$"))
    page.wait_for_selector("#hop-list li.hop-drop")
    # identical paths are one row with their total share and count
    rows = page.locator(".path-choice").all_inner_texts()
    assert len(rows) == len(set(rows)), rows
    shares = [float(re.search(r"([\d.]+)%", r).group(1)) for r in rows]
    assert round(sum(shares)) == 100, rows
    # the engine's fix, in full, with a copy button
    fix = page.inner_text("#engine-fix-text")
    assert "payments/" in fix and len(fix) > 40
    assert page.locator("#engine-fix-text").evaluate("p => p.scrollHeight <= p.clientHeight + 1")  # not cut off
    page.get_by_role("button", name="Copy the fix").wait_for()
    # every hop's object has a panel: the policy that dropped it
    page.locator("#hop-list li.hop-drop button.hop-details").click()
    page.locator("#pod-panel h2", has_text="NetworkPolicy payments/").wait_for()
    assert page.locator("#pod-panel table.policy-rules").count() == 1
    doc_shot(page, "trace-dropped")
    page.keyboard.press("Escape")
    assert axe_violations(page) == []
    # sharing is a decision: nothing shared until Share; Revoke makes the link 404
    assert page.locator("#shared-badge").is_hidden() and page.locator("#share-url").is_hidden()
    page.click("#share")
    page.wait_for_selector("#shared-badge:not([hidden])")
    link = page.input_value("#share-url")
    anon = new_context().new_page()
    anon.goto(link)
    anon.wait_for_selector("#hop-list li")
    page.click("#revoke")
    page.wait_for_selector("#shared-badge", state="hidden")
    assert page.request.get(link).status == 404
    page.goto(f"/clusters/{cluster.pk}/")
    page.select_option("#recent-filter", "true")
    page.locator("#recent-traces li", has_text="No shared trace").wait_for()


def test_a_gateway_hop_opens_the_gateway_panel(logged_in_page, user):
    """Gateway API: the trace's gateway hop has a details panel with the listeners and routes."""
    from tests.fixtures import FIXTURES
    from topology.importers import import_files
    from tracer.services import run_trace

    corpus = FIXTURES / "gateway-api-conformance"
    snap = import_files("gw", [str(corpus / "manifests/base/manifests.yaml"),
                               str(corpus / "manifests/derived/suite-setup.yaml"),
                               str(corpus / "manifests/tests/httproute-header-matching.yaml")],
                        owner=user, materialize=True).snapshot
    trace = run_trace(snap, {"from": "external:203.0.113.9", "to": "url:http://192.0.2.1/", "protocol": "TCP",
                             "via": "gateway:gateway-conformance-infra/same-namespace:80",
                             "headers": {"version": "two"}}, owner=user)
    page = logged_in_page
    page.goto(f"/traces/{trace.pk}/")
    page.wait_for_selector("#hop-list li")
    page.get_by_role("button", name=re.compile(r"^Details of gateway")).first.click()
    panel = page.locator("#pod-panel")
    panel.locator("h2", has_text="Gateway gateway-conformance-infra/same-namespace").wait_for()
    assert "Listeners" in panel.inner_text() and "HTTPRoute" in panel.inner_text()
    assert axe_violations(page) == []


def test_a_volume_trace_opens_claim_and_volume_panels(logged_in_page, user):
    """Storage: the claim hop of a `volume:` trace opens the claim's panel, which links its bound volume."""
    from tests.integration.test_storage_secrets import LIVE
    from topology.importers import import_bytes
    from topology.models import Cluster
    from tracer.services import run_trace

    cluster = Cluster.objects.create(name="lab", owner=user)
    snap = import_bytes(cluster, [("live.yaml", LIVE.encode())], owner=user).snapshot
    trace = run_trace(snap, {"from": "pod:lab/reader", "to": "volume:data", "protocol": "TCP"}, owner=user)
    page = logged_in_page
    page.goto(f"/traces/{trace.pk}/")
    page.wait_for_selector("#hop-list li")
    page.get_by_role("button", name="Details of persistentvolumeclaim:lab/data").click()
    panel = page.locator("#pod-panel")
    panel.locator("h2", has_text="lab/data").wait_for()
    assert "Mounted by" in panel.inner_text() and "pod:lab/reader" in panel.inner_text()
    panel.get_by_role("button", name="pv:data-pv").click()
    panel.locator("h2", has_text="data-pv").wait_for()
    assert "Claimed by" in panel.inner_text()
    assert axe_violations(page) == []


def test_trace_step_is_in_the_url_and_every_page_passes_axe(demo_page, new_context):
    page, cluster = demo_page
    page.goto(f"/clusters/{cluster.pk}/")
    page.wait_for_selector("#example-0")
    page.click("#example-0")
    page.wait_for_url(re.compile(r"/traces/\d+/"))
    page.wait_for_selector("#hop-list li")
    page.click("#step-next")
    page.click("#step-next")
    page.wait_for_url(re.compile(r"step=2"))
    page.reload()
    page.wait_for_selector("#hop-list li.current")
    assert page.inner_text("#step-label").startswith("Hop 3 of ")
    # the share page, the clusters page and the login page
    page.click("#share")
    page.wait_for_selector("#shared-badge:not([hidden])")
    link = page.input_value("#share-url")
    anon = new_context(viewport={"width": 1280, "height": 800}).new_page()
    anon.goto(link)
    anon.wait_for_selector("#hop-list li")
    assert axe_violations(anon) == []
    anon.goto("/accounts/login/")
    anon.wait_for_selector("form")
    assert axe_violations(anon) == []
    page.goto("/")
    page.wait_for_selector("#open-demo")
    assert axe_violations(page) == []


def test_saved_tests_rerun_together_on_the_latest_snapshot(demo_page, new_context, tmp_path):
    """Saved tests (like GCP Connectivity Tests): two traces saved by name, stored on the server (another
    browser, with its own storage, lists them), re-run together on a new snapshot in which
    payments/default-deny is gone; each row says its verdict now, the last run's, and what changed."""
    import yaml

    from topology.importers import import_files

    page, cluster = demo_page
    for example, name in (("#example-0", "internet to shop"), ("#example-1", "grafana to ledger")):
        page.goto(f"/clusters/{cluster.pk}/")
        page.wait_for_selector(example)
        page.click(example)
        page.wait_for_url(re.compile(r"/traces/\d+/"))
        page.wait_for_selector("#hop-list li")
        page.fill("#test-name", name)
        page.click("#save-test")
        page.wait_for_selector("#save-test:has-text('Saved')")
    # a new snapshot: the demo without payments/default-deny
    demo = REPO / "demo"
    for f in demo.glob("*.yaml"):
        docs = [d for d in yaml.safe_load_all(f.read_text()) if d]
        if f.name == "payments.yaml":
            docs = [d for d in docs if (d.get("metadata") or {}).get("name") != "default-deny"]
        (tmp_path / f.name).write_text(yaml.safe_dump_all(docs))
    import_files("demo", [tmp_path], owner=cluster.owner, materialize=True, nodes=3)
    page = new_context(viewport={"width": 1280, "height": 800}).new_page()  # no localStorage of the first one
    page.goto(f"/clusters/{cluster.pk}/")
    rows = page.locator("#saved-tests li.saved-test")
    rows.first.wait_for()
    assert rows.count() == 2
    page.click("#run-tests")
    page.wait_for_selector("#saved-tests[data-ran='1']")
    texts = rows.all_inner_texts()
    internet = next(t for t in texts if t.startswith("internet to shop"))
    ledger = next(t for t in texts if t.startswith("grafana to ledger"))
    assert "delivered" in internet and "trace #" in internet and "now (unchanged)" in internet
    assert "dropped" in ledger and "nothing changed" not in ledger  # the drop is now ledger-from-api's
    assert "1 hop added, 1 removed" in ledger  # the same verdict, dropped by another policy
    assert "[object Object]" not in " ".join(texts)
    doc_shot(page, "saved-tests")
    assert axe_violations(page) == []


def test_storage_and_control_plane_layers_are_toggles_in_the_url(logged_in_page, user):
    """Optional layers: Storage draws which workloads mount which claims (a ReadWriteMany claim of two pods is
    shared); Control plane draws its nodes, components and their flows. Each is a checkbox kept in the URL."""
    from tests.integration.test_pod_local_and_nodes import LIVE as CONTROL_PLANE
    from tests.integration.test_storage_secrets import LIVE as STORAGE
    from topology.importers import import_bytes
    from topology.models import Cluster

    lab = Cluster.objects.create(name="lab", owner=user)
    import_bytes(lab, [("live.yaml", STORAGE.encode())], owner=user)
    page = logged_in_page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"/clusters/{lab.pk}/")
    wait_map(page)
    assert not any("volume claim" in t for t in list_labels(page)), "layers are off by default"
    page.check("#layer-storage")
    page.wait_for_url(re.compile(r"layers=storage"))
    wait_map(page)
    labels = list_labels(page)
    assert "volume claim (storage layer) data (shared) (Bound, ReadWriteMany)" in labels
    assert any(t.startswith("persistent volume (storage layer) data-pv") for t in labels)
    listing = page.locator("#map-list").inner_text()
    assert "→ mounts volume claim (storage layer) data (shared)" in listing
    doc_shot(page, "traffic-map-storage")
    page.reload()  # the layer is in the URL
    wait_map(page)
    assert page.is_checked("#layer-storage")
    assert "volume claim (storage layer) data (shared) (Bound, ReadWriteMany)" in list_labels(page)

    cp = Cluster.objects.create(name="cp", owner=user)
    import_bytes(cp, [("live.yaml", CONTROL_PLANE.encode())], owner=user)
    page.goto(f"/clusters/{cp.pk}/")
    wait_map(page)
    page.check("#layer-control-plane")
    page.wait_for_url(re.compile(r"layers=control-plane"))
    wait_map(page)
    labels = list_labels(page)
    assert "node (control-plane layer) cp1" in labels
    assert any(t.startswith("control-plane component kube-apiserver") for t in labels)
    listing = page.locator("#map-list").inner_text()
    assert "→ control-plane flow to control-plane component etcd" in listing
    doc_shot(page, "traffic-map-control-plane")
    assert axe_violations(page) == []
