"""`manage.py trace` — docs/contract.md "Trace".

    trace --cluster NAME --from SOURCE --to DESTINATION [--port P] [--protocol TCP|UDP|SCTP] [--via ADDR[:PORT]]
          [--snapshot ID] [--format text|json] [--proxy-mode iptables|ipvs|nftables] [--no-policy-enforcement]
    trace --cluster NAME --batch FILE|- --format json     (JSON lines in, one JSON result per line out, in order)

Exit 0 when the trace ran (whatever the verdict); 2 with a message on stderr for a bad request (unknown
cluster or snapshot, unparsable SOURCE/DESTINATION, unknown pod/service/workload). In --batch mode a bad line
yields an error object line (`{"error": "...", "line": N}`) and the batch goes on.
"""
from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from topology.compile import load_model
from topology.importers.errors import ManifestError
from topology.importers.load import load_json
from topology.models import Cluster, Snapshot
from topology.services import UnknownSnapshot, cluster_snapshot
from tracer.engine.assumptions import PROXY_MODES, Assumptions
from tracer.engine.errors import BadRequest, TracerError
from tracer.engine.fixes import trace_with_fixes
from tracer.engine.flow import make_flow, parse_flow_request
from tracer.engine.render import render_text
from tracer.engine.trace import trace


def bad(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def find_snapshot(cluster_name: str, snapshot_id: int | None) -> Snapshot:
    """The cluster by name (an owner-less one first, as the CLI creates them) and its snapshot."""
    clusters = list(Cluster.objects.filter(name=cluster_name).order_by("owner_id", "id"))
    if not clusters:
        raise bad(f"unknown cluster {cluster_name!r}")
    cluster = next((c for c in clusters if c.owner_id is None), clusters[0])
    try:
        return cluster_snapshot(cluster, snapshot_id, by_number=True)
    except UnknownSnapshot as exc:
        raise bad(str(exc)) from None


class Command(BaseCommand):
    help = "Trace every path a packet takes from a SOURCE to a DESTINATION in a cluster snapshot."

    def add_arguments(self, parser):
        parser.add_argument("--cluster", required=True, metavar="NAME")
        parser.add_argument("--from", dest="source", metavar="SOURCE",
                            help="pod:NS/NAME | external:IP | node:NAME | workload:NS/[KIND/]NAME")
        parser.add_argument("--to", dest="destination", metavar="DESTINATION",
                            help="svc:NS/NAME | dns:NAME | ip:ADDR | url:SCHEME://HOST[:PORT]/PATH")
        parser.add_argument("--port", metavar="PORT", help="port number or (service) port name")
        parser.add_argument("--protocol", default="TCP", metavar="TCP|UDP|SCTP")
        parser.add_argument("--via", metavar="ADDR[:PORT]",
                            help="the first address the client sends to, or gateway:NS/NAME[:PORT] (enter that "
                                 "Gateway's listener)")
        parser.add_argument("--method", metavar="METHOD", help="HTTP method of a url: request (default GET)")
        parser.add_argument("--header", dest="headers", action="append", default=[], metavar="'NAME: VALUE'",
                            help="HTTP request header of a url: request (repeatable)")
        parser.add_argument("--snapshot", type=int, metavar="ID", help="snapshot id (default: the latest)")
        parser.add_argument("--format", choices=("text", "json"), default="text")
        parser.add_argument("--batch", metavar="FILE|-", help="JSON lines of requests; one JSON result per line")
        parser.add_argument("--proxy-mode", choices=PROXY_MODES, default="iptables")
        parser.add_argument("--no-policy-enforcement", action="store_true",
                            help="assume the CNI does not enforce NetworkPolicy")

    def handle(self, *args, **opts):
        snap = find_snapshot(opts["cluster"], opts["snapshot"])
        model = load_model(snap.id)
        defaults = {"proxy_mode": opts["proxy_mode"], "cni_enforces_policy": not opts["no_policy_enforcement"]}
        if opts["batch"]:
            if opts["source"] or opts["destination"]:
                raise bad("--batch takes its requests from the file; do not combine it with --from/--to")
            return self.batch(model, opts["batch"], opts["format"], defaults)
        if not opts["source"] or not opts["destination"]:
            raise bad("--from SOURCE and --to DESTINATION are required (or --batch FILE)")
        try:
            flow = make_flow(opts["source"], opts["destination"], opts["port"], opts["protocol"], opts["via"],
                             opts["method"], opts["headers"])
            result = trace_with_fixes(model, flow, Assumptions(**defaults))  # single trace: verified fixes
        except BadRequest as exc:
            raise bad(str(exc)) from None
        if opts["format"] == "json":
            self.stdout.write(json.dumps(result.to_dict()))
        else:
            self.stdout.write(render_text(result))

    def batch(self, model, source: str, fmt: str, defaults: dict) -> None:
        if source == "-":
            stream = getattr(self, "stdin", None) or sys.stdin
            lines = stream.read().splitlines()
        else:
            try:
                with open(source, encoding="utf-8") as fh:
                    lines = fh.read().splitlines()
            except OSError as exc:
                raise bad(f"--batch {source}: {exc.strerror}") from None
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                data = load_json(line, f"line {n}")  # the one safe loader: depth, duplicate keys
                if isinstance(data, dict):
                    data = {**defaults, **data}
                flow, assumptions = parse_flow_request(data)
                result = trace(model, flow, assumptions)
                out = result.to_dict() if fmt == "json" else None
            except ManifestError as exc:
                out = {"error": f"line {n}: not JSON: {exc.problem}", "line": n}
            except TracerError as exc:
                out = {"error": f"line {n}: {exc}", "line": n}
            except Exception as exc:  # one broken request must not lose the rest of the batch
                out = {"error": f"line {n}: internal error {type(exc).__name__}: {exc}", "line": n}
            if out is None:
                self.stdout.write(render_text(result) + "\n")
            else:
                self.stdout.write(json.dumps(out))
            self.stdout.flush()
