"""`manage.py check_intents --cluster NAME [--snapshot ID] [--format text|json] FILE|-`

Checks a YAML list of intents (see tracer/intents.py for the format: from, to, port, protocol, via,
expect delivered|dropped, optional reason) against a snapshot, one trace each. Made for a user's CI:

    manage.py import_manifests --cluster ci --materialize k8s/
    manage.py check_intents --cluster ci intents.yaml

Exit status: 0 when every intent holds; 1 when any is violated (each printed with its full trace);
2 for a bad request (unknown cluster, unreadable or invalid intents file).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from topology.compile import load_model
from tracer.engine.errors import BadRequest
from tracer.engine.render import render_text
from tracer.engine.result import TraceResult
from tracer.intents import check, parse_intents
from tracer.management.commands.trace import find_snapshot


class Command(BaseCommand):
    help = "Check connectivity intents (YAML: from, to, port, expect delivered|dropped) against a snapshot."

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="intents YAML/JSON file, or - for stdin")
        parser.add_argument("--cluster", required=True, metavar="NAME")
        parser.add_argument("--snapshot", type=int, metavar="ID", help="snapshot id (default: the latest)")
        parser.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args, **opts):
        snap = find_snapshot(opts["cluster"], opts["snapshot"])
        name = opts["file"]
        try:
            text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"{name}: cannot read the intents file: {exc}", returncode=2) from None
        try:
            intents = parse_intents(text, "<stdin>" if name == "-" else name)
        except BadRequest as exc:
            raise CommandError(str(exc), returncode=2) from None
        if not intents:
            raise CommandError(f"{name}: no intents in the file", returncode=2)
        report = check(load_model(snap.pk), intents)
        if opts["format"] == "json":
            self.stdout.write(json.dumps({"snapshot": snap.pk, "ok": not report["violations"], **report},
                                         indent=1, sort_keys=True))
        else:
            self.write_text(snap, report)
        if report["violations"]:
            sys.exit(1)

    def write_text(self, snap, report) -> None:
        out = self.stdout.write
        for entry in report["results"]:
            mark = "ok  " if entry["ok"] else "FAIL"
            intent = entry["intent"]
            port = f":{intent['port']}" if intent.get("port") not in (None, "") else ""
            name = f"{intent['name']}: " if intent.get("name") else ""
            out(f"{mark} #{intent['index']} {name}{intent['from']} → {intent['to']}{port} "
                f"expect {intent['expect']}{' (' + intent['reason'] + ')' if intent.get('reason') else ''} "
                f"— got {entry['verdict']}{' (' + entry['reason'] + ')' if entry.get('reason') else ''}")
        for v in report["violations"]:
            out("")
            out(f"VIOLATION #{v['intent']['index']}: {v['problem']}")
            if "paths" in v["trace"]:
                out(render_text(TraceResult.from_dict(v["trace"])))
            else:
                out(f"  {v['trace'].get('error', '')}")
        out("")
        out(f"{snap.cluster.name}#{snap.number}: {report['passed']} of {report['checked']} intents hold, "
            f"{len(report['violations'])} violated")
