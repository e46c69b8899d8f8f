"""The matrix page for a cluster with many namespaces (issue 16 item 5): the overview shows namespace groups
(`first..last`), a group cell opens that group pair's namespace × namespace, a namespace cell its classes,
and the page never holds a namespace² table. The cluster is generated (bench.generate, 60 namespaces)."""
from __future__ import annotations

import json

import pytest

from bench.generate import Size, generate
from tests.integration.workers import broker  # noqa: F401  (fixture)
from topology.importers import import_bytes
from topology.models import Cluster
from tracer import jobs

pytestmark = [pytest.mark.e2e]


def test_grouped_overview_drills_into_a_group_pair_and_back(logged_in_page, user, broker):  # noqa: F811
    page = logged_in_page
    cluster = Cluster.objects.create(name="many-ns", owner=user)
    data = json.dumps(generate(Size(nodes=4, pods=150, services=60, namespaces=60, policies=10, seed=5))).encode()
    snapshot = import_bytes(cluster, [("cluster.json", data)], owner=user).snapshot
    job = jobs.enqueue_matrix(snapshot, owner=user, inline=True)
    assert job.state == "done", job.error
    page.goto(f"/clusters/{cluster.pk}/matrix/?job={job.pk}")
    page.wait_for_selector("#overview button.ov-group")
    heads = page.locator("#overview thead th").all_inner_texts()
    groups = [h for h in heads if ".." in h]
    assert 1 < len(groups) <= 40 and len(heads) == len(groups) + 2, heads
    assert "groups of sorted namespace names" in page.inner_text("#overview caption")
    assert page.locator("#overview button.ov-cell").count() <= len(groups) ** 2
    # a group cell → that group pair's namespaces, with a way back
    first = page.locator("#overview button.ov-group").first
    src_g, dst_g = first.get_attribute("data-src"), first.get_attribute("data-dst")
    first.click()
    page.wait_for_selector("#ov-back")
    assert f"{src_g} → {dst_g}" in page.inner_text("#overview-box")
    assert page.locator("#overview button.ov-group").count() == 0
    ns_heads = [h for h in page.locator("#overview thead th").all_inner_texts() if h not in ("from \\ to", "total")]
    lo, hi = dst_g.split("..")
    assert ns_heads and all(lo <= h <= hi for h in ns_heads), ns_heads
    # a namespace cell → its classes
    cell = page.locator("#overview button.ov-cell").first
    src, dst = cell.get_attribute("data-src"), cell.get_attribute("data-dst")
    cell.click()
    page.wait_for_selector("#pair-grid button.cell")
    assert f"{src} → {dst}" in page.inner_text("#pair-h")
    page.click("#ov-back")
    page.wait_for_selector("#overview button.ov-group")


def test_the_map_draws_reachability_among_the_namespaces_it_shows_when_the_overview_is_grouped(
        logged_in_page, user, broker):  # noqa: F811
    """60 namespaces: the matrix overview answers group × group, which has no namespace pairs; the map asks
    the API for the pairs among the namespaces it draws and draws those (none before this fix)."""
    page = logged_in_page
    cluster = Cluster.objects.create(name="many-ns-map", owner=user)
    data = json.dumps(generate(Size(nodes=4, pods=150, services=60, namespaces=60, policies=10, seed=5))).encode()
    snapshot = import_bytes(cluster, [("cluster.json", data)], owner=user).snapshot
    job = jobs.enqueue_matrix(snapshot, owner=user, inline=True)
    assert job.state == "done", job.error
    page.goto(f"/clusters/{cluster.pk}/?matrix={job.pk}&expand=all")
    page.wait_for_selector("#map[data-ready='1']")
    page.wait_for_function("() => document.querySelector('#show-reach').checked"
                           " && Number(document.querySelector('#map').dataset.reach) > 0")
    page.locator("#map-list .reach li", has_text="→ matrix:").first.wait_for()
