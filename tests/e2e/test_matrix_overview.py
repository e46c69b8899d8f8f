"""The matrix at scale, as a user meets it (issue 16 item 5): the namespace × namespace overview first,
with totals and filters; a pair drills down into its classes; the result is a URL (reload and Back show
it again without recomputing); the cluster's jobs are listed; every page passes axe-core."""
from __future__ import annotations

import re

import pytest

from tests.integration.workers import broker, workers  # noqa: F401  (fixtures)

from .test_matrix import blog, watch_progress  # noqa: F401  (fixture)
from .test_traffic_map import axe_violations, doc_shot

pytestmark = [pytest.mark.e2e, pytest.mark.workers]


def test_matrix_overview_drill_down_url_and_job_list(logged_in_page, blog, workers):  # noqa: F811
    page = logged_in_page
    cluster, first, _second = blog
    workers.start()
    page.goto(f"/clusters/{cluster.pk}/matrix/")
    page.wait_for_selector(f"#matrix-snapshot option[value='{first.pk}']", state="attached")
    page.select_option("#matrix-snapshot", str(first.pk))
    page.click("#run-matrix")
    watch_progress(page, "✔")
    page.wait_for_url(re.compile(r"\?job=\d+$"))
    job_url = page.url
    # the overview: namespaces × namespaces, totals, every pair a button naming what it counts
    page.wait_for_selector("#overview button.ov-cell")
    heads = page.locator("#overview thead th").all_inner_texts()
    assert {"blog", "monitoring"} <= set(heads), heads
    assert "total" in heads
    label = page.locator("#overview button.ov-cell[data-src='monitoring'][data-dst='blog']").get_attribute("aria-label")
    assert re.search(r"cells: monitoring → blog, \d+ of \d+ allowed", label), label
    # filter: only dropped cells are counted
    page.select_option("#ov-verdict", "dropped")
    assert "dropped cells" in page.inner_text("#overview caption")
    page.fill("#ov-namespace", "blog")
    assert page.locator("#overview thead th", has_text="monitoring").count() == 0
    page.fill("#ov-namespace", "")
    page.select_option("#ov-verdict", "")
    page.locator("#overview-section").scroll_into_view_if_needed()
    page.evaluate("() => document.querySelector('#overview-section').scrollIntoView()")
    doc_shot(page, "matrix-overview")
    assert axe_violations(page) == []
    # drill down: the pair's classes, and the URL names the pair
    page.locator("#overview button.ov-cell[data-src='monitoring'][data-dst='blog']").click()
    page.wait_for_selector("#pair-grid button.cell")
    assert "monitoring → blog" in page.inner_text("#pair-h")
    assert "pair=monitoring" in page.url
    # virtualised: the rows in the DOM are the rows in view (here all of them: the pair is small)
    grid = page.locator("#pair-grid")
    assert int(grid.get_attribute("data-rendered")) <= int(grid.get_attribute("data-rows"))
    assert page.locator("#pair-grid tr.pair-row").count() == int(grid.get_attribute("data-rendered"))
    # reload: the same result and pair, read from the stored job (no new job is started)
    page.reload()
    page.wait_for_selector("#pair-grid button.cell")
    assert "monitoring → blog" in page.inner_text("#pair-h")
    # Back: the overview without the pair
    page.go_back()
    page.wait_for_url(job_url)
    # the job list links to this result
    page.locator("#job-list a", has_text="matrix").first.wait_for()
    # a cell opens its trace
    page.go_forward()
    page.wait_for_selector("#pair-grid button.cell")
    page.locator("#pair-grid button.cell").first.click()
    page.wait_for_url(re.compile(r"/traces/\d+/$"))
    page.wait_for_selector("#hop-list li")


def test_matrix_reachability_on_the_map(logged_in_page, blog, workers):  # noqa: F811
    """With a finished matrix job, the map can draw namespace → namespace reachability (and the URL keeps it)."""
    page = logged_in_page
    cluster, first, _second = blog
    workers.start()
    page.goto(f"/clusters/{cluster.pk}/matrix/")
    page.wait_for_selector(f"#matrix-snapshot option[value='{first.pk}']", state="attached")
    page.select_option("#matrix-snapshot", str(first.pk))
    page.click("#run-matrix")
    watch_progress(page, "✔")
    page.goto(f"/clusters/{cluster.pk}/?snapshot={first.pk}")
    page.wait_for_selector("#map[data-ready='1']")
    page.wait_for_selector("#show-reach:not([disabled])")
    assert page.get_attribute("#map", "data-reach") in (None, "0")
    page.check("#show-reach")
    page.wait_for_url(re.compile(r"matrix=\d+"))
    page.wait_for_function("() => Number(document.querySelector('#map').dataset.reach) > 0")
    # the list view says it too: e.g. the monitoring namespace's cells to blog
    page.locator("#map-list .reach li", has_text="→ matrix:").first.wait_for()
    page.reload()
    page.wait_for_selector("#map[data-ready='1']")
    page.wait_for_function("() => document.querySelector('#show-reach').checked"
                           " && Number(document.querySelector('#map').dataset.reach) > 0")
    doc_shot(page, "traffic-map-matrix")
