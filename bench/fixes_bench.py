"""What a verified fix costs on top of a trace (tracer/engine/fixes.py): a table, no assertions.

    .venv/bin/python -m bench.fixes_bench --pods 20000 --services 1000 --policies 500

Generates a cluster (bench.generate), finds dropped pod → service traces, and times trace() against
trace_with_fixes() (one model rebuild and re-trace per candidate, plus the `opens` comparison).
"""
from __future__ import annotations

import argparse
import os
import time

from bench.generate import Size, generate


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", type=int, default=200)
    ap.add_argument("--pods", type=int, default=20000)
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--policies", type=int, default=500)
    ap.add_argument("--traces", type=int, default=5)
    args = ap.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    django.setup()
    from topology.importers import build_objects
    from topology.importers.load import Document
    from tracer.engine.cluster import ClusterModel
    from tracer.engine.fixes import trace_with_fixes
    from tracer.engine.flow import make_flow
    from tracer.engine.trace import trace

    size = Size(nodes=args.nodes, pods=args.pods, services=args.services, policies=args.policies)
    dump = generate(size)
    model = ClusterModel.build(build_objects([Document("c.json", 0, it, i) for i, it in enumerate(dump["items"])]).objects)
    pods = [p for p in model.pods.values() if p.ip and not p.host_network][:: max(1, len(model.pods) // 200)]
    services = [s for s in model.services.values() if s.cluster_ip and s.ports][:: max(1, len(model.services) // 50)]
    rows, found = [], 0
    for p in pods:
        for s in services:
            if found >= args.traces:
                break
            flow = make_flow(f"pod:{p.key}", f"svc:{s.key}", port=s.ports[0].port)
            t0 = time.perf_counter()
            r = trace(model, flow)
            t1 = time.perf_counter()
            if r.verdict != "dropped":
                continue
            rf = trace_with_fixes(model, flow)
            t2 = time.perf_counter()
            found += 1
            fix = next((x.fix for x in rf.paths if x.fix), None)
            rows.append((r.reason, f"{(t1 - t0) * 1000:.1f} ms", f"{(t2 - t1) * 1000:.0f} ms",
                         fix["kind"] if fix else "-", str(fix["opens_count"]) + ("+" if fix["opens_bounded"] else "")
                         if fix else "-"))
    print(f"cluster: {len(model.pods)} pods, {len(model.services)} services, {args.policies} policies")
    print(f"{'reason':<24} {'trace':>10} {'with fixes':>11} {'fix':>16} {'opens':>6}")
    for row in rows:
        print(f"{row[0]:<24} {row[1]:>10} {row[2]:>11} {row[3]:>16} {row[4]:>6}")


if __name__ == "__main__":
    main()
