"""`manage.py reap_jobs [--stale-seconds N]` — requeue (once) or fail jobs whose worker stopped beating.

Every worker already runs this on a timer; the command is for cron or for a deployment without
workers running (so that no job is ever left "running" by a dead worker).
"""
from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from tracer import jobs


class Command(BaseCommand):
    help = "Requeue once, or fail with a reason, running jobs whose heartbeat is older than TRACER_JOB_STALE_SECONDS."

    def add_arguments(self, parser):
        parser.add_argument("--stale-seconds", type=int, default=None, metavar="N",
                            help=f"heartbeat age that counts as lost (default {settings.TRACER_JOB_STALE_SECONDS})")

    def handle(self, *args, **opts):
        actions = jobs.reap(opts["stale_seconds"])
        for a in actions:
            self.stdout.write(f"job {a['job']}: {a['action']}" + (f" — {a['reason']}" if a.get("reason") else ""))
        if not actions:
            self.stdout.write("no stale jobs")
