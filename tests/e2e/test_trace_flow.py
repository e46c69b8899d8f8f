"""The path a first-time user takes, in a real browser: upload a cluster dump, trace an external request
through the Ingress to a pod, step the packet along the hops, find why a blocked pod is blocked, and
send the link to someone who is not logged in.

Cluster: tests/fixtures/examples/cluster-b.yaml (a live-state dump).
    [external 198.51.100.7] → LB 198.51.100.80 (traefik) → Ingress blog/blog "/" → svc/blog/wordpress
        → [pod wordpress-0]:80 (50% in all) | [pod wordpress-1]:80 (50% in all)
    [pod monitoring/prometheus-0] → svc/payments/ledger:443 ✖ policy-ingress-denied (payments/deny-all)
"""
from __future__ import annotations

import json
import re
import shutil

import pytest

from tests.fixtures import CLUSTER_B

from .conftest import ARTIFACTS, REPO, screenshot

pytestmark = pytest.mark.e2e


def upload_cluster(page, name: str):
    """Clusters page: name a new cluster, pick the file; the progress bar runs and the card shows counts."""
    page.goto("/")
    page.select_option("#upload-cluster", "")
    page.fill("#new-cluster-name", name)
    page.set_input_files("#file-input", str(CLUSTER_B))
    page.wait_for_selector("#upload-status:has-text('Imported snapshot #1')")
    assert page.eval_on_selector("#upload-progress", "p => p.value") == 100
    card = page.locator(f"[data-cluster-name='{name}']")
    card.locator(".snapshot").first.wait_for()
    counts = card.locator(".counts").first.inner_text()
    assert "8 Pod" in counts and "1 Ingress" in counts and "3 NetworkPolicy" in counts, counts
    card.get_by_role("link", name=name).click()
    page.wait_for_selector("#map[data-ready='1']")


def packet_position(page):
    return page.evaluate("() => { const p = document.querySelector('#trace-root')._cy.getElementById('packet').position(); return [Math.round(p.x), Math.round(p.y)]; }")


def test_upload_trace_step_share(logged_in_page, new_context):
    page = logged_in_page
    upload_cluster(page, "shop")

    # The map drew the layers from the server; the namespace filter knows the cluster's namespaces.
    status = page.inner_text("#map-status")
    assert "8 pods" in status and "6 services" in status
    ns_options = page.eval_on_selector_all("#ns-filter option", "os => os.map(o => o.value)")
    assert {"blog", "payments", "monitoring"} <= set(ns_options)
    screenshot(page, "topology-map")

    # Builder: the source comes from autocomplete, picked with the keyboard.
    page.fill("#trace-from", "prom")
    page.wait_for_selector(".ac-item[data-value='pod:monitoring/prometheus-0']")
    page.press("#trace-from", "ArrowDown")
    page.press("#trace-from", "Enter")
    assert page.input_value("#trace-from") == "pod:monitoring/prometheus-0"

    # 1) External request through the Ingress: delivered to either wordpress pod, 50% each.
    page.fill("#trace-from", "external:198.51.100.7")
    page.fill("#trace-to", "url:http://blog.example.org/hello")
    page.click("#trace-submit")
    page.wait_for_url(re.compile(r"/traces/\d+/$"))
    page.wait_for_selector("#hop-list li")
    assert "delivered" in page.inner_text(".trace-summary h2")
    # Each rule id a hop explanation cites links to the rule on the served semantics page.
    links = page.locator("#hop-list .hop-detail a.rule-link")
    assert links.count() >= 2
    rule = links.first.inner_text()
    assert links.first.get_attribute("href") == f"/docs/semantics/#{rule.lower()}"
    assert f'id="{rule.lower()}"' in page.request.get("/docs/semantics/").text()
    # Each path names its share and endpoint; per endpoint the shares add up to 50 % (docs/semantics.md A12: the
    # controller balances over the two ready endpoints), whatever entry nodes the LB spreads over.
    share: dict[str, float] = {}
    for text in page.locator(".path-choice").all_inner_texts():
        m = re.search(r"delivered\s+([\d.]+)%.*→\s*(\S+)\s*$", text, re.S)
        assert m, text
        share[m.group(2)] = share.get(m.group(2), 0) + float(m.group(1))
    assert {k: round(v) for k, v in share.items()} == {"pod:blog/wordpress-0:80": 50, "pod:blog/wordpress-1:80": 50}
    # Forks on the map carry their branch probability.
    fork_labels = page.evaluate("() => document.querySelector('#trace-root')._cy.edges().map(e => e.data('label')).filter(Boolean)")
    assert len(fork_labels) >= 2 and all(re.fullmatch(r"[\d.]+%", label) for label in fork_labels), fork_labels
    kinds = page.locator("#hop-list .hop-kind").all_inner_texts()
    assert any("ingress-rule" in k for k in kinds) and any("load-balancer" in k for k in kinds)

    # Step through: Next moves the packet to the next hop, Prev moves it back; the list follows.
    first_label = page.inner_text("#step-label")
    assert first_label.startswith("Hop 1 of ")
    start = packet_position(page)
    page.click("#step-next")
    page.wait_for_timeout(600)  # the packet animates for 450 ms
    assert page.inner_text("#step-label").startswith("Hop 2 of ")
    assert packet_position(page) != start
    assert page.locator("#hop-list li[aria-current='step']").get_attribute("data-step") == "1"
    page.keyboard.press("ArrowLeft")  # the keyboard steps too
    page.wait_for_timeout(600)
    assert page.inner_text("#step-label") == first_label
    assert packet_position(page) == start
    # Play runs to the last hop: the delivery.
    page.click("#step-play")
    total = int(re.search(r"of (\d+)", first_label).group(1))
    page.wait_for_selector(f"#step-label:has-text('Hop {total} of {total}')", timeout=total * 1500)
    assert "Delivered to pod:blog/wordpress" in page.locator("#hop-list li.current").inner_text()

    # The same path on the cluster's topology map: its objects lit, the packet on the current hop.
    page.check("#view-cluster")
    page.wait_for_selector("#trace-cluster-map[data-ready='1']")
    matched = int(page.inner_text("#cluster-map-status").split()[0])
    assert matched >= 6, page.inner_text("#cluster-map-status")  # external, LB, node, kube-proxy, svc, pods, Ingress
    lit = page.evaluate("() => document.querySelector('#trace-root')._onMap.cy.nodes('.on-path').map(n => n.id())")
    assert {"external", "kube-proxy", "svc:blog/wordpress", "ingress:blog/blog"} <= set(lit), lit
    assert any(i.startswith("pod:blog/wordpress-") for i in lit)
    page.check("#view-path")

    # Export JSON is the contract's result.
    with page.expect_download() as dl:
        page.click("#export-json")
    exported = json.loads(open(dl.value.path()).read())
    assert exported["verdict"] == "delivered"
    assert {p["endpoint"] for p in exported["paths"]} == {"pod:blog/wordpress-0", "pod:blog/wordpress-1"}
    assert round(sum(p["probability"] for p in exported["paths"]), 6) == 1.0
    with page.expect_download() as dl:
        page.click("#export-png")
    assert open(dl.value.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"

    # 2) Why is prometheus blocked from the ledger? The drop is red, with the reason and the fix.
    page.click("text=← back to the map and trace builder")
    page.wait_for_selector("#map[data-ready='1']")
    page.fill("#trace-from", "pod:monitoring/prometheus-0")
    page.fill("#trace-to", "svc:payments/ledger")
    page.fill("#trace-port", "443")
    page.click("#trace-submit")
    page.wait_for_url(re.compile(r"/traces/\d+/$"))
    page.wait_for_selector("#hop-list li.hop-drop")
    assert "dropped" in page.inner_text(".trace-summary h2")
    reason = page.inner_text(".trace-summary .reason")
    assert "policy-ingress-denied" in reason and "Fix:" in reason
    drop = page.locator("#hop-list li.hop-drop")
    assert "payments/deny-all" in drop.inner_text() and "✖" in drop.inner_text()
    drop_color = drop.evaluate("li => getComputedStyle(li).backgroundColor")
    assert drop_color != "rgba(0, 0, 0, 0)"
    assert page.evaluate("() => document.querySelector('#trace-root')._cy.nodes('.drop').length") == 1
    screenshot_path = screenshot(page, "trace-view-dropped")
    assert screenshot_path.exists()

    # 3) Share: the link lands in the field; a fresh logged-out browser opens the same picture.
    assert page.locator("#shared-badge").is_hidden()  # nothing is shared until someone chooses to
    page.click("#share")
    page.wait_for_selector("#shared-badge:not([hidden])")
    assert "Shared" in page.inner_text("#shared-badge")
    link = page.input_value("#share-url")
    assert re.search(r"/t/[A-Za-z0-9_-]{40,}$", link), link
    anon = new_context().new_page()
    anon.goto(link)
    anon.wait_for_selector("#hop-list li.hop-drop")
    assert "dropped" in anon.inner_text(".trace-summary h2")
    assert "Pinned to snapshot #1" in anon.inner_text("#pinned-snapshot")
    assert anon.locator("#rerun").count() == 0  # only the owner may re-run
    assert anon.locator("text=log in").count() == 1  # really logged out
    anon.click("#step-next")
    anon.wait_for_timeout(600)
    assert anon.inner_text("#step-label").startswith("Hop 2 of ")
    # The anonymous reader cannot reach the cluster itself.
    api = anon.request.get("/api/clusters/")
    assert api.status in (401, 403)

    # The owner sees "re-run on latest snapshot" on the shared page, and it works.
    page.goto(link)
    page.wait_for_selector("#rerun")
    page.click("#rerun")
    page.wait_for_url(re.compile(r"/traces/\d+/$"))
    page.wait_for_selector("#hop-list li")
    assert "nothing changed" in page.inner_text("#notices")


def test_readme_screenshot_of_the_trace_view(logged_in_page):
    """The README's picture: an Ingress trace half-way through its step-through (made here, every run)."""
    page = logged_in_page
    upload_cluster(page, "blog")
    page.click("#example-0")  # "Internet → http://blog.example.org/": an example one click away
    page.wait_for_url(re.compile(r"/traces/\d+/$"))
    page.wait_for_selector("#hop-list li")
    assert "delivered" in page.inner_text(".trace-summary h2")
    for _ in range(6):
        page.click("#step-next")
    page.click("#fit-path")  # the whole path, the packet on hop 7
    page.wait_for_timeout(1200)
    path = screenshot(page, "trace-view")
    docs = REPO / "docs" / "screenshots"
    docs.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, docs / "trace-view.png")
    assert (ARTIFACTS / "trace-view.png").stat().st_size > 10_000


def test_a_bad_manifest_is_refused_with_file_document_and_field(logged_in_page, console_errors, tmp_path):
    """A file dropped on the page with a wrong field: nothing is imported, and the message says where."""
    console_errors.allow(400, "/upload")
    bad = tmp_path / "broken.yaml"
    bad.write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: not-a-number\n")
    page = logged_in_page
    page.goto("/")
    page.fill("#new-cluster-name", "broken")
    # Dropped onto the drop zone, the way a person drags a file from their desktop.
    transfer = page.evaluate_handle(
        "text => { const dt = new DataTransfer(); dt.items.add(new File([text], 'broken.yaml', {type: 'text/yaml'}));"
        " return dt; }", bad.read_text())
    page.dispatch_event("#drop-zone", "dragover", {"dataTransfer": transfer})
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": transfer})
    alert = page.locator("#notices .notice-error")
    alert.wait_for()
    text = alert.inner_text()
    assert "Upload failed" in text and "broken.yaml" in text and "port" in text, text
    card = page.locator("[data-cluster-name='broken']")
    card.locator(".snapshots li").first.wait_for()
    assert "No snapshot yet" in card.inner_text()
