"""Traffic map benchmark: what the cluster page's first view and an expansion cost on the server.

    .venv/bin/python -m bench.map --pods 20000            # generated with bench.generate, no database
    .venv/bin/python -m bench.map --pods 150000 --nodes 5000 --services 10000 --policies 2000

Measured in this process on a synthetic live-state dump (deterministic by seed): the model build
(parse + ClusterModel), then `topology.trafficmap.traffic_map` — cold (first call: pod classes and
policy edges are compiled), warm (the same view again from the memo), a fresh view of the same model
(another filter: the memo does not help, the compiled engine tables do), and expanding one namespace
group and one namespace — with each payload's size as JSON (what the browser downloads). Client-side
render times come from the browser test (tests/e2e/test_scale.py writes test-artifacts/topology-20k.json).
Prints one table; nothing is asserted (speed is never a test).
"""
from __future__ import annotations

import argparse
import json
import time

from bench.generate import Size, generate


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def run(size: Size) -> list[tuple[str, str]]:
    from topology.importers import build_objects  # imports Django models: after django.setup()
    from topology.importers.load import Document
    from topology.trafficmap import MapQuery, traffic_map
    from tracer.engine.cluster import ClusterModel

    rows: list[tuple[str, str]] = []
    dump = generate(size)
    docs = [Document("cluster.json", 0, item, i) for i, item in enumerate(dump["items"])]
    parsed, t = _timed(lambda: build_objects(docs))
    model = ClusterModel.build(parsed.objects)
    rows.append(("parse + model build", f"{t:.2f} s"))
    first, t_cold = _timed(lambda: traffic_map(model))
    _, t_warm = _timed(lambda: traffic_map(model))
    body = json.dumps(first, separators=(",", ":")).encode()
    rows += [("first view, cold (compiles pod classes + policy edges)", f"{t_cold:.3f} s"),
             ("first view, warm (memoised)", f"{t_warm * 1000:.1f} ms"),
             ("first view payload", f"{len(body) / 1e6:.3f} MB, {len(first['elements']['nodes'])} objects, "
                                    f"{len(first['elements']['edges'])} edges")]
    groups = [n["data"]["expand"] for n in first["elements"]["nodes"] if n["data"].get("expand", "").startswith("nsgroup:")]
    namespaces = [n["data"]["expand"] for n in first["elements"]["nodes"] if n["data"].get("expand", "").startswith("ns:")]
    expand = frozenset(first["expanded"])
    if groups:
        expand = expand | {groups[0]}
        opened, t = _timed(lambda: traffic_map(model, MapQuery(expand=expand)))
        rows.append(("expand a namespace group", f"{t * 1000:.0f} ms, {len(json.dumps(opened)) / 1e6:.3f} MB, "
                                                  f"{len(opened['elements']['nodes'])} objects"))
        namespaces = [n["data"]["expand"] for n in opened["elements"]["nodes"]
                      if n["data"].get("expand", "").startswith("ns:")]
    if namespaces:
        target = sorted(namespaces)[-1]
        opened, t = _timed(lambda: traffic_map(model, MapQuery(expand=expand | {target})))
        rows.append((f"expand a namespace ({target[3:]})", f"{t * 1000:.0f} ms, {len(json.dumps(opened)) / 1e6:.3f} MB, "
                                                            f"{len(opened['elements']['nodes'])} objects, "
                                                            f"{len(opened['elements']['edges'])} edges"))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, default in (("nodes", 200), ("pods", 20_000), ("services", 1_500), ("policies", 200)):
        ap.add_argument(f"--{name}", type=int, default=default)
    args = ap.parse_args(argv)
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    size = Size(nodes=args.nodes, pods=args.pods, services=args.services, policies=args.policies)
    rows = run(size)
    print(f"| traffic map, {args.pods:,} pods / {args.services:,} services / {args.policies:,} policies | |")
    print("|---|---|")
    for what, value in rows:
        print(f"| {what} | {value} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
