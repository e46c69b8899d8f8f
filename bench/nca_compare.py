"""Side by side with network-config-analyzer (nca) 2.1.0: same cluster, same question, both tools.

    .venv/bin/python -m bench.nca_compare --pods 100 300 1000

For each size the generator (bench/generate.py) writes one cluster and its nca inputs (a pod list, a
namespace list, the NetworkPolicies). nca answers with its pairwise list of allowed connections
(`--output_format txt_no_fw_rules --output_endpoints pods`): one line per (source, destination) with
the protocols/ports allowed, sources and destinations being pods or cluster-external IP ranges. We
answer the same question from the same three files and compare the two relations exactly: every
pod pair and every (pod, external range) pair, with its connection set.

What is timed, on both sides, is the whole answer from the input files:
- nca: the `nca` command's wall time (its own interpreter start-up, ~1 s, included — stated);
- ours: load + parse the three files, build the `ClusterModel`, group pods into policy classes
  (`tracer.engine.netpol.policy_classes`: pods policy cannot tell apart), evaluate
  `PolicyEngine.connections` once per class pair and per (class, external range), and expand that to
  the per-pod-pair relation nca prints. Parsing nca's output for the comparison is not timed.

nca is installed for the benchmark only, into its own virtualenv (var/bench/nca-venv) with pip; it is
never a dependency of the project. The comparison reuses the conformance suite's reading of nca's
format and conventions (tests/conformance/nca_oracle.py: connection text, printed items, IP atoms).
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NCA_VERSION = "2.1.0"
NCA_VENV = REPO / "var" / "bench" / "nca-venv"
DEFAULT_PODS = (100, 300, 1000)
_RANGE = re.compile(r"^(\d+\.\d+\.\d+\.\d+)(?:-(\d+\.\d+\.\d+\.\d+)|/(\d+))?$")


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def nca_binary() -> Path:
    """`nca` from var/bench/nca-venv, installing network-config-analyzer==2.1.0 there if absent."""
    exe = NCA_VENV / "bin" / "nca"
    if exe.exists():
        return exe
    print(f"installing network-config-analyzer=={NCA_VERSION} into {NCA_VENV.relative_to(REPO)} …", file=sys.stderr)
    NCA_VENV.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(NCA_VENV)], check=True)
    subprocess.run([str(NCA_VENV / "bin" / "pip"), "install", "-q", f"network-config-analyzer=={NCA_VERSION}"],
                   check=True)
    return exe


def size_for(pods: int):
    """A cluster shape for `pods` pods: ~16 pods per service, 10 services per namespace, a policy
    per 25 pods (default-deny, tier allows, cross-namespace team allows, egress with DNS and an
    ipBlock — see bench/generate.py)."""
    from bench.generate import Size

    services = max(2, pods // 16)
    return Size(nodes=max(3, pods // 100), pods=pods, services=services, policies=max(4, pods // 25), seed=7)


# ---------------------------------------------------------------------------------------------
# nca's side


def run_nca(nca_dir: Path, out: Path) -> float:
    """Run nca on the generated inputs; its pairwise list goes to `out`. Returns wall seconds."""
    cmd = [str(nca_binary()), "--connectivity", "policies.json", "--pod_list", "pods.json",
           "--ns_list", "namespaces.json", "--output_format", "txt_no_fw_rules", "--output_endpoints", "pods"]
    t0 = time.perf_counter()
    with open(out, "wb") as fh:
        proc = subprocess.run(cmd, cwd=nca_dir, stdout=fh, stderr=subprocess.PIPE)
    took = time.perf_counter() - t0
    if proc.returncode not in (0, 1):  # nca's exit code counts query results, not errors
        raise RuntimeError(f"nca failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[-2000:]}")
    return took


def _endpoint(text: str):
    m = _RANGE.match(text)
    if not m:
        return text  # "ns/pod"
    if m[3] is not None:
        net = ipaddress.ip_network(text, strict=False)
        return ("ip", int(net.network_address), int(net.broadcast_address))
    lo = int(ipaddress.IPv4Address(m[1]))
    return ("ip", lo, int(ipaddress.IPv4Address(m[2])) if m[2] else lo)


def parse_nca_pods_output(path: Path):
    """nca's `--output_endpoints pods` pairwise list → nca_oracle.Relation (endpoints "ns/pod" or IP ranges)."""
    from tests.conformance.nca_oracle import Relation, nca_items, parse_connections

    rel = Relation()
    memo: dict[str, frozenset] = {}
    with open(path) as fh:
        for raw in fh:
            line = raw.rstrip("\n")
            if " => " not in line:
                continue  # "global: cluster has N unique endpoints, …" and blank lines
            src_dst, _, conn = line.partition(" : ")
            src, _, dst = src_dst.partition(" => ")
            ends = (_endpoint(src.strip()), _endpoint(dst.strip()))
            for e in ends:
                if isinstance(e, tuple):
                    rel.boundaries.update((e[1], e[2] + 1))
            items = memo.get(conn)
            if items is None:
                items = memo[conn] = nca_items(parse_connections(conn))
            rel.pairs.setdefault(ends, set()).update(items)
    return rel


# ---------------------------------------------------------------------------------------------
# Our side


@dataclass
class Ours:
    relation: dict  # (src, dst) → frozenset of printed items
    seconds: float
    pods: int
    classes: int
    atoms: int


def our_relation(nca_dir: Path, extra_boundaries: set[int]) -> Ours:
    """Our answer from the same three files (timed from reading them to the per-pod relation)."""
    from tests.conformance.nca_oracle import _policy_boundaries, ip_atoms, nca_engine, nca_items
    from topology.importers.load import load_documents
    from topology.importers.parse import parse_objects
    from tracer.engine.cluster import ClusterModel
    from tracer.engine.netpol import Peer, policy_classes

    t0 = time.perf_counter()
    docs = []
    for name in ("namespaces.json", "pods.json", "policies.json"):
        docs.extend(load_documents(nca_dir / name))
    model = ClusterModel.build(parse_objects(docs).objects)
    engine = nca_engine(model)
    classes = policy_classes(model)
    reps = [Peer.of_pod(c.representative) for c in classes]
    names = [[f"{p.namespace}/{p.name}" for p in c.pods] for c in classes]
    atoms = ip_atoms(extra_boundaries | _policy_boundaries(model))
    rel: dict[tuple, frozenset] = {}
    for i, src in enumerate(reps):
        for j, dst in enumerate(reps):
            if i == j:  # two pods of one class: not the representative to itself (always allowed, E11)
                if len(classes[i].pods) < 2:
                    continue
                dst = Peer.of_pod(classes[i].pods[1])
            conns = engine.connections(src, dst)
            if not conns:
                continue
            items = nca_items(conns)
            for a in names[i]:
                for b in names[j]:
                    if a != b:
                        rel[(a, b)] = items
    for lo, hi in atoms:
        ext, atom = Peer(None, str(ipaddress.IPv4Address(lo))), ("ip", lo, hi)
        for i, rep in enumerate(reps):
            into, out = engine.connections(ext, rep), engine.connections(rep, ext)
            if into:
                items = nca_items(into)
                for a in names[i]:
                    rel[(atom, a)] = items
            if out:
                items = nca_items(out)
                for a in names[i]:
                    rel[(a, atom)] = items
    took = time.perf_counter() - t0
    return Ours(rel, took, len(model.objects.pods), len(classes), len(atoms))


# ---------------------------------------------------------------------------------------------


@dataclass
class Row:
    pods: int
    policies: int
    classes: int
    pairs: int  # allowed (src, dst) pairs, external-range atoms included
    ours_s: float
    nca_s: float
    agree: bool
    diffs: list[str]

    @property
    def speedup(self) -> float:
        return self.nca_s / self.ours_s if self.ours_s else float("inf")


def compare_size(pods: int, workdir: Path) -> Row:
    from bench.generate import write
    from tests.conformance.nca_oracle import atomised, ip_atoms

    size = size_for(pods)
    out_dir = workdir / f"nca-{pods}"
    write(size, out_dir)
    nca_dir = out_dir / "nca"
    nca_out = out_dir / "nca-output.txt"
    nca_s = run_nca(nca_dir, nca_out)
    theirs_rel = parse_nca_pods_output(nca_out)
    ours = our_relation(nca_dir, set(theirs_rel.boundaries))
    # both sides over the same IP atoms (nca merges ranges; we evaluate per atom)
    from tests.conformance.nca_oracle import _policy_boundaries  # noqa: F401 (same boundaries as ours)

    bounds = {b for (s, d) in ours.relation for e in (s, d) if isinstance(e, tuple) for b in (e[1], e[2] + 1)}
    atoms = ip_atoms(theirs_rel.boundaries | bounds)
    theirs = atomised(theirs_rel, atoms)
    diffs = []
    for key in set(theirs) | set(ours.relation):
        t, o = theirs.get(key, frozenset()), ours.relation.get(key, frozenset())
        if t != o:
            show = lambda cs: " | ".join(sorted(c.describe() for c in cs)) or "nothing"  # noqa: E731
            diffs.append(f"{_show(key[0])} => {_show(key[1])}: nca {show(t)}, ours {show(o)}")
    diffs.sort()
    return Row(ours.pods, size.policies, ours.classes, len(theirs), ours.seconds, nca_s, not diffs, diffs)


def _show(end) -> str:
    if isinstance(end, tuple):
        return f"{ipaddress.IPv4Address(end[1])}-{ipaddress.IPv4Address(end[2])}"
    return end


def table(rows: list[Row]) -> list[str]:
    lines = ["| pods (incl. DNS, ingress) | policies | policy classes | allowed pairs | ours | nca 2.1.0 | nca / ours | pairs identical |",
             "|---:|---:|---:|---:|---:|---:|---:|:---|"]
    for r in rows:
        lines.append(f"| {r.pods:,} | {r.policies:,} | {r.classes:,} | {r.pairs:,} | {r.ours_s:.2f} s | {r.nca_s:.1f} s "
                     f"| {r.speedup:,.0f}× | {'yes' if r.agree else f'NO ({len(r.diffs)} differences)'} |")
    return lines


def run(pods_list=DEFAULT_PODS, workdir: Path | None = None, log=print) -> list[Row]:
    _django()
    workdir = workdir or REPO / "var" / "bench"
    rows = []
    for pods in pods_list:
        log(f"nca comparison: {pods} pods …")
        row = compare_size(pods, workdir)
        log(f"  ours {row.ours_s:.2f} s, nca {row.nca_s:.1f} s ({row.speedup:.0f}×), "
            f"{row.pairs:,} pairs, {'identical' if row.agree else f'{len(row.diffs)} differences'}")
        for d in row.diffs[:10]:
            log(f"    {d}")
        rows.append(row)
    return rows


RESULTS = REPO / "var" / "bench" / "nca-results.json"


def save(rows: list[Row], path: Path = RESULTS) -> None:
    """Keep the last comparison (bench.run puts it into docs/performance.md without re-running nca)."""
    import json
    from datetime import datetime

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                                "load": os.getloadavg()[0],
                                "rows": [{**r.__dict__, "diffs": r.diffs[:20]} for r in rows]}, indent=1))


def load_saved(path: Path = RESULTS) -> tuple[dict, list[Row]] | None:
    import json

    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return data, [Row(**r) for r in data["rows"]]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pods", type=int, nargs="+", default=list(DEFAULT_PODS))
    args = ap.parse_args(argv)
    rows = run(args.pods)
    save(rows)
    print("\n".join(table(rows)))
    return 0 if all(r.agree for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
