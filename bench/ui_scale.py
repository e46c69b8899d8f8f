"""The cluster page and the matrix page in a browser at scale (issue 16 item 9): a benchmark, not a test.

    .venv/bin/python -m bench.ui_scale                       # threshold: 5,000 nodes, 150,000 pods, 10,000 services
    .venv/bin/python -m bench.ui_scale --pods 20000 --nodes 200 --services 1500 --policies 200

One process, its own SQLite database under a fresh TRACER_VAR_DIR (never the shared one):
1. the cluster (bench.generate) is imported (timed, not a target);
2. the snapshot's model is compiled the way a serving process warms it (topology.warm.warm) — timed;
3. a matrix job is run in this process (tracer.jobs.enqueue_matrix inline) — timed;
4. this process serves the site (a threaded WSGI server, static files from the finders) and Debian's
   chromium (Playwright) opens the cluster page: wall time from `goto` to `#map[data-ready='1']`, and the
   page's own figures (data-fetch-ms, data-draw-ms); then one namespace is expanded (in-page request +
   placing); the first view's JSON is fetched again to give its payload size and the warm server time;
5. `GET /api/jobs/ID/matrix` is timed (first read, then again) and the matrix page `?job=ID` is opened:
   wall time from `goto` to the overview's first cell button.
Prints one table; asserts nothing (speed is never a test).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

PASSWORD = "bench-ui-password-7!"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _setup(var_dir: Path) -> None:
    os.environ["TRACER_VAR_DIR"] = str(var_dir)
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _serve():
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet, allow_reuse_address=False)
    server.set_app(StaticFilesHandler(get_wsgi_application()))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


class _Rows(list):
    """The table's rows, each also logged when it is added (a run stopped half-way keeps what it measured)."""

    def __init__(self, log):
        super().__init__()
        self.log = log

    def append(self, row):
        self.log(f"  | {row[0]} | {row[1]} |")
        super().append(row)


def run(size, log=print) -> list[tuple[str, str]]:
    from django.contrib.auth import get_user_model
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    from bench.generate import generate
    from topology import warm
    from topology.compile import clear_model_cache
    from topology.importers import import_bytes
    from topology.models import Cluster
    from tracer import jobs, matrix_store

    rows: list[tuple[str, str]] = _Rows(log)
    user = get_user_model().objects.create_user("bench", password=PASSWORD)
    cluster = Cluster.objects.create(name="bench-ui", owner=user)
    dump = generate(size)
    log(f"importing {sum(1 for i in dump['items'] if i['kind'] == 'Pod'):,} pods, load {os.getloadavg()[0]:.1f}")
    snap, t = _timed(lambda: import_bytes(cluster, [("cluster.json", json.dumps(dump).encode())], owner=user).snapshot)
    dump = None  # the parsed dump is no longer needed (~1 GB at 150,000 pods)
    rows.append(("import (not a target; SQLite, in process)", f"{t:.1f} s"))
    clear_model_cache()
    log(f"warming the model (topology.warm), load {os.getloadavg()[0]:.1f}")
    _, t = _timed(lambda: warm.warm([snap.pk]))
    rows.append(("model warmed as topology.warm does (compile from the database)", f"{t:.1f} s"))
    log(f"matrix job, load {os.getloadavg()[0]:.1f}")
    job, t = _timed(lambda: jobs.enqueue_matrix(snap, inline=True))
    res = job.result or {}
    rows.append(("matrix job in process (plan + compute + store; model already warm)",
                 f"{t:.1f} s, {job.state}, {res.get('sources', 0):,} × {res.get('destinations', 0):,} = "
                 f"{res.get('cells', 0):,} cells"))

    server, base = _serve()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            ctx = browser.new_context(base_url=base, viewport={"width": 1440, "height": 900})
            ctx.set_default_timeout(int(os.environ.get("BENCH_UI_TIMEOUT_MS", "300000")))
            page = ctx.new_page()
            page.goto("/accounts/login/?next=/")
            page.get_by_label("Username").fill("bench")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url("**/")

            log(f"cluster page, load {os.getloadavg()[0]:.1f}")
            t0 = time.perf_counter()
            page.goto(f"/clusters/{cluster.pk}/")
            page.wait_for_selector("#map[data-ready='1']")
            first = time.perf_counter() - t0
            fetch_ms = int(page.get_attribute("#map", "data-fetch-ms"))
            draw_ms = int(page.get_attribute("#map", "data-draw-ms"))
            drawn = page.get_attribute("#map", "data-nodes")
            rows.append(("first map: page open → map drawn (wall, `goto` to data-ready)", f"{first:.2f} s"))
            rows.append(("first map: in the page (request + drawing)",
                         f"{(fetch_ms + draw_ms) / 1000:.2f} s (request {fetch_ms} ms, drawing {draw_ms} ms), "
                         f"{drawn} objects drawn"))
            api = f"/api/clusters/{cluster.pk}/map/"
            resp, t = _timed(lambda: page.request.get(api, timeout=900_000))
            body = resp.body()
            rows.append(("first view payload (GET …/map/, again: warm server)",
                         f"{len(body) / 1e6:.3f} MB, {t * 1000:.0f} ms round trip"))

            # one namespace: open the first namespace group, then its first namespace (as tests/e2e/test_scale.py)
            def click(button):
                page.evaluate("() => { document.querySelector('#map').dataset.ready = '0'; }")
                t0 = time.perf_counter()
                button.click()
                page.wait_for_selector("#map[data-ready='1']")
                wall = time.perf_counter() - t0
                return wall, int(page.get_attribute("#map", "data-fetch-ms")), int(page.get_attribute("#map", "data-draw-ms"))

            group = page.locator("#map-list button", has_text=re.compile(r"^expand$")).first
            if group.count():
                wall, f, d = click(group)
                rows.append(("expand a namespace group: in the page (request + placing)",
                             f"{(f + d) / 1000:.2f} s (request {f} ms, placing {d} ms); wall {wall:.2f} s"))
            ns = page.get_by_role("button", name=re.compile(r"^Expand ns-")).first
            if not ns.count():
                rows.append(("expand a namespace", "no collapsed namespace (a small cluster opens them all)"))
            else:
                wall, f, d = click(ns)
                rows.append(("expand a namespace: in the page (request + placing)",
                             f"{(f + d) / 1000:.2f} s (request {f} ms, placing {d} ms); wall {wall:.2f} s; "
                             f"{page.get_attribute('#map', 'data-nodes')} objects drawn"))

            log(f"matrix overview, load {os.getloadavg()[0]:.1f}")
            # a plain HTTP client with the page's session: Playwright's own request API spends minutes in its
            # driver pipe on a body this size, which would measure Playwright, not the server
            url = f"{base}/api/jobs/{job.pk}/matrix"
            cookie = "; ".join(f"{c['name']}={c['value']}" for c in ctx.cookies())

            def get(query=""):
                with urllib.request.urlopen(urllib.request.Request(url + query, headers={"Cookie": cookie}),
                                            timeout=900) as r:
                    return r.status, r.read()

            (status, body), t1 = _timed(get)
            _, t2 = _timed(get)
            matrix_store._COUNTS.clear()  # what another server process pays: the stored arrays read back
            _, t3 = _timed(get)
            ov = json.loads(body) if status == 200 else {}
            rows.append(("GET /api/jobs/ID/matrix, first read (per-pair counts merged and stored)",
                         f"{t1:.2f} s, {status}, {len(body) / 1e6:.2f} MB, {len(ov.get('namespaces', [])):,} namespaces, "
                         f"{len(ov.get('groups', [])):,} groups, {len(ov.get('pairs', [])):,} pairs"))
            rows.append(("GET /api/jobs/ID/matrix, again (counts in this process)", f"{t2:.2f} s"))
            rows.append(("GET /api/jobs/ID/matrix, again (stored counts read back from the database)", f"{t3:.2f} s"))
            if ov.get("grouped"):
                busiest = max(ov["pairs"], key=lambda p: p["cells"])
                q = "?" + urllib.parse.urlencode({"source_group": busiest["source_group"],
                                                  "destination_group": busiest["destination_group"]})
                (status, drill), t4 = _timed(lambda: get(q))
                rows.append(("GET /api/jobs/ID/matrix?source_group&destination_group (busiest group pair)",
                             f"{t4:.2f} s, {status}, {len(drill) / 1e6:.2f} MB, "
                             f"{len(json.loads(drill).get('pairs', [])):,} namespace pairs"))
            body = ov = None
            limit_s = float(os.environ.get("BENCH_UI_OVERVIEW_LIMIT_S", "180"))
            log(f"matrix page (stopped after {limit_s:.0f} s), load {os.getloadavg()[0]:.1f}")
            t0 = time.perf_counter()
            try:
                page.goto(f"/clusters/{cluster.pk}/matrix/?job={job.pk}", timeout=limit_s * 1000)
                page.wait_for_selector("#overview button.ov-cell", timeout=max(1.0, limit_s - (time.perf_counter() - t0)) * 1000)
                t = time.perf_counter() - t0
                cells = page.locator("#overview button.ov-cell").count()
                rows.append(("matrix page: open `?job=ID` → overview drawn (wall)", f"{t:.2f} s, {cells:,} pair buttons"))
                if page.locator("#overview button.ov-group").count():
                    t0 = time.perf_counter()
                    page.locator("#overview button.ov-group").first.click()
                    page.wait_for_selector("#ov-back", timeout=limit_s * 1000)
                    t = time.perf_counter() - t0
                    rows.append(("matrix page: click a group cell → its namespace × namespace drawn (wall)",
                                 f"{t:.2f} s, {page.locator('#overview button.ov-cell').count():,} pair buttons"))
            except PlaywrightTimeout:
                rows.append(("matrix page: open `?job=ID` → overview drawn (wall)",
                             f"not drawn after {time.perf_counter() - t0:.0f} s (stopped)"))
            browser.close()
    finally:
        server.shutdown()
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in (("nodes", 5000), ("pods", 150_000), ("services", 10_000), ("policies", 2000)):
        ap.add_argument(f"--{name}", type=int, default=default)
    args = ap.parse_args(argv)
    var_dir = Path(tempfile.mkdtemp(prefix="bench-ui-"))
    _setup(var_dir)
    from bench.generate import Size

    size = Size(nodes=args.nodes, pods=args.pods, services=args.services, policies=args.policies)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows = run(size)
    print(f"\n{args.pods:,} pods / {args.nodes:,} nodes / {args.services:,} services / {args.policies:,} policies, "
          f"started {started}, load at end {os.getloadavg()[0]:.1f}\n")
    print("| measurement | value |")
    print("|---|---|")
    for what, value in rows:
        print(f"| {what} | {value} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
