"""The reachability matrix in process, on two independent generators, with nca on the same pods and policies.

    .venv/bin/python -m bench.matrix_bench --pods 1000 10000 --nca run      # prints the table (markdown)
    .venv/bin/python -m bench.run --matrix-only --out docs/performance.md    # the same, written into the doc

For each generator (bench/generate.py, the project's; bench/generate_alt.py, a second one with other shapes:
skewed namespace sizes, named ports everywhere, deny-all + allow lists) and each size, in ONE process:
1. the cluster is generated and imported into a fresh SQLite database of this run (not timed);
2. timed, cold: `jobs.enqueue_matrix(snapshot, inline=True)` — what `manage.py matrix --no-worker` runs:
   compile the snapshot's model from the database, plan the classes, compute every column, store the
   blocks, finalise the job (counts per verdict). The compile alone is timed before, separately (cold);
3. stored: the blocks' bytes (compressed codes + their JSON: slots, code books, aggregates) plus the stored
   plan (classes, destinations, their first 50 members); peak RSS of the process;
4. nca 2.1.0 (bench/nca_compare.py installs it into its own virtualenv under var/) on the same pods,
   namespaces and NetworkPolicies, in the same run: its wall time (it answers the policy relation between
   pods only — no services, kube-proxy or DNS), with a time limit after which the run is stopped.
Timed tests would be flaky on a shared machine; this prints figures with the load average beside them.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS = {1000: 1.0, 10000: 6.0}  # seconds, compile + compute + store, in process
STORE_TARGET_MB = {10000: 50.0}
SPEEDUP_TARGET = {10000: 20.0}
NCA_MAX_PODS = 10_000


@dataclass
class Row:
    generator: str
    pods: int
    policies: int
    sources: int
    destinations: int
    cells: int
    compile_s: float
    total_s: float
    stored_mb: float
    rss_mib: float
    traced: int
    verdicts: dict
    nca_s: float | None
    nca_note: str
    load: tuple

    @property
    def speedup(self) -> float | None:
        return self.nca_s / self.total_s if self.nca_s else None


def _setup(var_dir: Path) -> None:
    os.environ["TRACER_VAR_DIR"] = str(var_dir)
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _cluster(generator: str, pods: int) -> dict:
    if generator == "alt":
        from bench.generate_alt import generate

        return generate(pods)
    from bench.generate import generate as project_generate
    from bench.nca_compare import size_for

    return project_generate(size_for(pods))


def run_nca(nca_dir: Path, limit: float) -> tuple[float | None, str]:
    from bench.nca_compare import nca_binary

    cmd = [str(nca_binary()), "--connectivity", "policies.json", "--pod_list", "pods.json",
           "--ns_list", "namespaces.json", "--output_format", "txt_no_fw_rules", "--output_endpoints", "pods"]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=nca_dir, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=limit)
    except subprocess.TimeoutExpired:
        return None, f"stopped after {limit:.0f} s"
    took = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        last = " ".join(proc.stderr.decode(errors="replace").split())[-200:]
        pods = len(json.loads((nca_dir / "pods.json").read_text()).get("items", []))
        if pods >= NCA_MAX_PODS:  # nca 2.1.0 asserts fewer than 10,000 pods (nca/CoreDS/Peer.py max_num_of_pods)
            return None, f"refused: nca 2.1.0 takes fewer than {NCA_MAX_PODS:,} pods (exit {proc.returncode})"
        return None, f"failed (exit {proc.returncode}): {last}"
    return took, ""


def measure(generator: str, pods: int, work: Path, nca: str, nca_limit: float, log=print) -> Row:
    from django.db.models import Sum
    from django.db.models.functions import Length

    from bench.generate import nca_inputs
    from topology.compile import clear_model_cache, load_model
    from topology.importers import import_bytes
    from topology.models import Cluster
    from tracer import jobs
    from tracer.models import JobOutput, MatrixBlock

    cluster = _cluster(generator, pods)
    n_pol = sum(1 for i in cluster["items"] if i["kind"] == "NetworkPolicy")
    n_pods = sum(1 for i in cluster["items"] if i["kind"] == "Pod")
    log(f"{generator} {pods}: {n_pods} pods, {n_pol} policies — importing")
    c = Cluster.objects.create(name=f"bench-{generator}-{pods}")
    snap = import_bytes(c, [("cluster.json", json.dumps(cluster).encode())]).snapshot
    clear_model_cache()
    t0 = time.perf_counter()
    load_model(snap.pk)
    compile_s = time.perf_counter() - t0
    clear_model_cache()
    load = os.getloadavg()
    log(f"  matrix (compile + plan + compute + store), load {load[0]:.1f}")
    t0 = time.perf_counter()
    job = jobs.enqueue_matrix(snap, inline=True)
    total_s = time.perf_counter() - t0
    if job.state != "done":
        raise RuntimeError(f"matrix job {job.state}: {job.error}")
    blocks = MatrixBlock.objects.filter(job=job)
    stored = int(blocks.aggregate(n=Sum(Length("data")))["n"] or 0)
    stored += sum(len(json.dumps([b.slots, b.book, b.aggregates])) for b in blocks)
    stored += len(json.dumps(JobOutput.objects.get(job=job, name="plan").data))
    res = job.result
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    nca_s, note = None, "not run"
    if nca == "run":
        nca_dir = work / f"nca-{generator}-{pods}"
        nca_dir.mkdir(parents=True, exist_ok=True)
        for name, doc in nca_inputs(cluster).items():
            (nca_dir / name).write_text(json.dumps(doc, separators=(",", ":")))
        log(f"  nca on the same pods and policies (limit {nca_limit:.0f} s)")
        nca_s, note = run_nca(nca_dir, nca_limit)
    row = Row(generator, n_pods, n_pol, res["sources"], res["destinations"], res["cells"], compile_s, total_s,
              stored / 1e6, rss, res["storage"].get("traced_cells", 0), res["verdicts"], nca_s, note, load)
    log(f"  {row.cells:,} cells in {total_s:.2f} s (compile {compile_s:.2f} s), stored {row.stored_mb:.2f} MB"
        + (f", nca {nca_s:.1f} s" if nca_s else f", nca {note}"))
    return row


def _verdict(value: float | None, target: float | None, lower_is_better: bool = True) -> str:
    if value is None or target is None:
        return ""
    ok = value <= target if lower_is_better else value >= target
    if ok:
        return "met"
    ratio = value / target if lower_is_better else target / value
    return f"MISSED ({ratio:.1f}× the target)"


def table(rows: list[Row]) -> list[str]:
    out = ["| generator | pods | policies | source classes × destinations = cells | traced cells | compile | "
           "matrix in process (compile+compute+store) | target | stored | peak RSS | nca 2.1.0 (policy only) | "
           "nca / ours | load (1 min) |",
           "|---|---:|---:|---|---:|---:|---:|---|---:|---:|---:|---|---:|"]
    for r in rows:
        size = round(r.pods, -3)  # 9,904 pods count as the 10,000-pod size (nca takes fewer than 10,000)
        tgt, store_t, speed_t = TARGETS.get(size), STORE_TARGET_MB.get(size), SPEEDUP_TARGET.get(size)
        target = f"≤ {tgt:g} s: {_verdict(r.total_s, tgt)}" if tgt else ""
        stored = f"{r.stored_mb:.2f} MB" + (f" (≤ {store_t:g} MB: {_verdict(r.stored_mb, store_t)})" if store_t else "")
        speed = f"{r.speedup:.0f}×" if r.speedup else "—"
        if speed_t and r.speedup:
            speed += f" (≥ {speed_t:g}×: {_verdict(r.speedup, speed_t, lower_is_better=False)})"
        elif speed_t and r.nca_note.startswith("stopped"):
            speed = f"> {float(r.nca_note.split()[2]) / r.total_s:.0f}× (nca {r.nca_note})"
        nca = f"{r.nca_s:.1f} s" if r.nca_s else r.nca_note
        out.append(f"| {r.generator} | {r.pods:,} | {r.policies:,} | {r.sources:,} × {r.destinations:,} = "
                   f"{r.cells:,} | {r.traced:,} | {r.compile_s:.2f} s | {r.total_s:.2f} s | {target} | {stored} | "
                   f"{r.rss_mib:,.0f} MiB | {nca} | {speed} | {r.load[0]:.1f} |")
    return out


def run(pods_list, generators, nca: str, nca_limit: float, log=print) -> list[Row]:
    with tempfile.TemporaryDirectory(dir=REPO / "var", prefix="matrix-bench-") as tmp:
        work = Path(tmp)
        _setup(work)
        rows = []
        for generator in generators:
            for pods in pods_list:
                rows.append(measure(generator, pods, work, nca, nca_limit, log))
        return rows


def section(rows: list[Row], started: str, command: str) -> str:
    import platform

    lines = ["## Reachability matrix in process (two generators, nca side by side)", "",
             f"Produced by `{command}` ({started}; Python {platform.python_version()}, SQLite, one process; "
             f"nca 2.1.0 in its own virtualenv). `project` = bench/generate.py (nca_compare's shapes: ~16 pods per "
             "service, a policy per 25 pods); `alt` = bench/generate_alt.py (skewed namespaces, named ports, "
             "deny-all + allow lists). Traced cells: cells that needed a full trace (the sender's node, zone or "
             "identity matters); every other cell comes from the column bitsets.", "", *table(rows), ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pods", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--generators", nargs="+", default=["project", "alt"], choices=["project", "alt"])
    ap.add_argument("--nca", choices=["run", "skip"], default="run")
    ap.add_argument("--nca-limit", type=float, default=900.0, help="stop nca after this many seconds")
    args = ap.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows = run(args.pods, args.generators, args.nca, args.nca_limit, log=lambda m: print(m, file=sys.stderr))
    print(section(rows, started, "python -m bench.matrix_bench " + " ".join(argv or sys.argv[1:])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
