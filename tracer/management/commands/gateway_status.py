"""`manage.py gateway_status --cluster NAME [--snapshot ID] [--format text|json]`

The Gateway API status a controller would write for the snapshot: each Gateway's listeners with their
attachedRoutes and accepted ListenerSets, and each route parentRef's Accepted / ResolvedRefs conditions with the
reason (NoMatchingParent, NotAllowedByListeners, NoMatchingListenerHostname, BackendNotFound, RefNotPermitted, …).
"""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from topology.compile import load_model
from tracer.engine.gateway import gateway_status
from tracer.management.commands.trace import find_snapshot


class Command(BaseCommand):
    help = "Gateway API status of a snapshot: listeners, attached routes, route conditions."

    def add_arguments(self, parser):
        parser.add_argument("--cluster", required=True, metavar="NAME")
        parser.add_argument("--snapshot", type=int, metavar="ID")
        parser.add_argument("--format", choices=("text", "json"), default="text")

    def handle(self, *args, **opts):
        snap = find_snapshot(opts["cluster"], opts["snapshot"])
        status = gateway_status(load_model(snap.id))
        if opts["format"] == "json":
            self.stdout.write(json.dumps(status))
            return
        for gw in status["gateways"]:
            self.stdout.write(f"Gateway {gw['gateway']} (class {gw['class']}, {gw['implementation']}), "
                              f"{gw['attached_listener_sets']} ListenerSet(s)")
            for x in gw["listeners"]:
                problems = f"  ! {'; '.join(x['problems'])}" if x["problems"] else ""
                self.stdout.write(f"  listener {x['name']} ({x['owner']}) {x['protocol']}:{x['port']} "
                                  f"{x['hostname'] or '*'}: {x['attached_routes']} route(s){problems}")
        for r in status["routes"]:
            self.stdout.write(f"{r['route']} → {r['parent']}{'/' + r['sectionName'] if r['sectionName'] else ''}: "
                              f"Accepted={r['accepted']} ({r['reason']}), ResolvedRefs={r['resolved_refs']} "
                              f"({r['refs_reason']}): {r['message']}")
