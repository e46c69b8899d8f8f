"""The matrix page with a real Celery worker: the progress bar moves while chunks run, the heatmap
shows every cell, a cell opens its trace, and a snapshot diff highlights exactly the changed cells.

Cluster: tests/fixtures/examples/cluster-b.yaml as snapshot #1; #2 adds NetworkPolicy
monitoring/prometheus-only-from-monitoring, which closes 8 cells:
    [blog mysql, blog wordpress, kube-system coredns, traefik] → {svc/prometheus:9090, prometheus pods:9090}
"""
from __future__ import annotations

import re
import time

import pytest
import yaml

from tests.fixtures import CLUSTER_B
from tests.integration.workers import broker, workers  # noqa: F401  (fixtures)
from topology.importers import import_bytes
from topology.models import Cluster

from .conftest import screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.workers]

PROMETHEUS_ONLY_FROM_MONITORING = {
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "prometheus-only-from-monitoring", "namespace": "monitoring"},
    "spec": {"podSelector": {"matchLabels": {"app": "prometheus"}}, "policyTypes": ["Ingress"],
             "ingress": [{"from": [{"namespaceSelector": {
                 "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]}]},
}


@pytest.fixture
def blog(user):
    cluster = Cluster.objects.create(name="blog", owner=user)
    base = CLUSTER_B.read_bytes()
    first = import_bytes(cluster, [("cluster-b.yaml", base)], owner=user).snapshot
    doc = yaml.safe_load(base)
    doc["items"].append(PROMETHEUS_ONLY_FROM_MONITORING)
    second = import_bytes(cluster, [("candidate.yaml", yaml.safe_dump(doc).encode())], owner=user).snapshot
    return cluster, first, second


def watch_progress(page, until: str, timeout: float = 90) -> list[tuple[str, float, float]]:
    """Sample the progress bar (state, value, max) until the status line says `until`."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # status first, then the bar: the page may redraw between two reads, and the last sample must be
        # taken after the status line already said `until` (both are set in one render)
        finished = until in page.inner_text("#job-status")
        sample = page.evaluate("() => { const p = document.querySelector('#job-progress');"
                               " return [p.dataset.state || '', p.hidden ? -1 : (p.position < 0 ? -1 : p.value), p.max]; }")
        seen.append(tuple(sample))
        if finished:
            return seen
        page.wait_for_timeout(100)
    raise AssertionError(f"the job did not finish; last status {page.inner_text('#job-status')!r}; seen {seen[-5:]}")


def test_matrix_progress_heatmap_cell_trace_and_diff(logged_in_page, blog, workers):  # noqa: F811
    cluster, first, second = blog
    workers.start(pause=0.4)  # each chunk is held 0.4 s so the bar is seen moving
    page = logged_in_page
    page.goto(f"/clusters/{cluster.pk}/matrix/")
    page.wait_for_selector(f"#matrix-snapshot option[value='{first.pk}']", state="attached")
    page.select_option("#matrix-snapshot", str(first.pk))
    page.click("text=Advanced")
    page.fill("#cells-per-chunk", "12")
    page.click("#run-matrix")
    seen = watch_progress(page, "done:")
    running = [(v, m) for state, v, m in seen if state == "running" and m > 1]
    assert running, f"never saw the job running with a chunk total: {seen}"
    assert any(0 < v < m for v, m in running) or len({v for v, _ in running}) > 1, \
        f"the bar did not move between chunks: {running}"
    assert seen[-1][0] == "done"
    # only offered while the job runs: hidden once the page has rendered "done" (waits up to 5 s for the redraw)
    page.locator("#cancel-job").wait_for(state="hidden", timeout=5000)

    # Heatmap: 6 source classes × 16 destinations in cluster-b; every cell says its verdict in words.
    page.wait_for_selector("#heatmap button.cell")
    cells = page.locator("#heatmap button.cell")
    assert cells.count() == 96
    labels = cells.evaluate_all("bs => bs.map(b => b.getAttribute('aria-label'))")
    assert all(re.search(r": (delivered|dropped|partial)", label) for label in labels)
    screenshot(page, "matrix-heatmap")
    # prometheus → ledger:443 is denied by payments/deny-all: its cell is a ✖ and opens that trace.
    row = page.locator("#heatmap tbody tr", has=page.locator("th", has_text="app=prometheus"))
    ledger_col = page.eval_on_selector_all("#heatmap thead th", "ths => ths.findIndex(t => t.title.startsWith('svc/payments/ledger:443'))")
    assert ledger_col > 0
    cell = row.locator("td").nth(ledger_col - 1).locator("button")
    assert cell.inner_text() == "✖" and "policy-ingress-denied" in cell.get_attribute("aria-label")
    cell.click()
    page.wait_for_url(re.compile(r"/traces/\d+/$"))
    page.wait_for_selector("#hop-list li.hop-drop")
    assert "policy-ingress-denied" in page.inner_text(".trace-summary .reason")

    # Diff #1 → #2: exactly the 8 closed cells are highlighted.
    page.goto(f"/clusters/{cluster.pk}/matrix/")
    page.wait_for_selector(f"#diff-candidate option[value='{second.pk}']", state="attached")
    page.select_option("#diff-base", str(first.pk))
    page.select_option("#diff-candidate", str(second.pk))
    page.click("#run-diff")
    watch_progress(page, "done:")
    page.wait_for_selector("#heatmap button.cell-changed")
    changed = page.locator("#heatmap button.cell-changed")
    assert changed.count() == 8
    texts = changed.evaluate_all("bs => bs.map(b => b.getAttribute('aria-label'))")
    assert all("closed, delivered → dropped" in t for t in texts), texts
    assert all("prometheus" in t for t in texts)
    assert page.locator("#diff-list li").count() == 8
    screenshot(page, "matrix-diff")


def test_a_large_upload_is_imported_by_a_worker_with_progress(logged_in_page, settings, workers):  # noqa: F811
    """Above TRACER_ASYNC_IMPORT_THRESHOLD the upload answers 202 and a worker imports it; the page
    follows the job to the end and then lists the new snapshot with its counts."""
    settings.TRACER_ASYNC_IMPORT_THRESHOLD = 1024  # cluster-b.yaml (~25 KB) counts as large here
    workers.start()
    page = logged_in_page
    page.goto("/")
    page.fill("#new-cluster-name", "big-upload")
    with page.expect_response(lambda r: "/upload" in r.url) as upload:
        page.set_input_files("#file-input", str(CLUSTER_B))
    assert upload.value.status == 202  # queued as a job, not imported in the request
    page.wait_for_selector("#upload-status:has-text('✔ Imported')", timeout=60_000)
    card = page.locator("[data-cluster-name='big-upload']")
    card.locator(".snapshot").first.wait_for()
    assert "8 Pod" in card.locator(".counts").first.inner_text()
