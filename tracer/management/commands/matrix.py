"""`manage.py matrix --cluster NAME [--snapshot ID] [--wait | --no-worker] [--format text|json]`

Starts a reachability-matrix job for a snapshot (default: the latest). Without --wait it prints the
job id and returns (poll GET /api/jobs/<id>/). --wait follows the job on the workers, printing
progress per chunk, then the summary. --no-worker runs it in this process (no broker needed).
Exit status: 0 when the matrix is done; 1 when the job failed or was cancelled; 2 for a bad request;
3 when the broker is unavailable.
"""
from __future__ import annotations

import json
import time

from django.core.management.base import BaseCommand, CommandError

from tracer import jobs, matrix_store
from tracer.choices import JobState
from tracer.engine.errors import BadRequest
from tracer.engine.reach import MatrixPlan
from tracer.management.commands.trace import find_snapshot
from tracer.models import Job, JobOutput, MatrixCell

CELL_FIELDS = ("source", "destination", "verdict", "reason", "request")


def follow(job: Job, write, interval: float = 0.5, timeout: float | None = None) -> Job:
    """Poll a job until it ends, writing a line whenever its progress changes."""
    last, start = None, time.monotonic()
    while True:
        job = jobs.reap_if_stale(Job.objects.get(pk=job.pk))
        seen = (job.state, job.progress_current, job.progress_total, job.progress_message)
        if seen != last:
            total = f"/{job.progress_total}" if job.progress_total else ""
            write(f"[{job.state}] {job.progress_current}{total} {job.progress_message}")
            last = seen
        if job.state not in Job.ACTIVE_STATES:
            return job
        if timeout is not None and time.monotonic() - start > timeout:
            raise CommandError(f"job {job.pk} still {job.state} after {timeout} s", returncode=1)
        time.sleep(interval)


def summary_lines(job: Job) -> list[str]:
    res = job.result or {}
    lines = [f"matrix job {job.pk}: {res.get('sources', 0)} source classes × {res.get('destinations', 0)} "
             f"destinations = {res.get('cells', 0)} cells"]
    for verdict, n in sorted((res.get("verdicts") or {}).items()):
        lines.append(f"  {verdict:<10} {n}")
    for reason, n in sorted((res.get("reasons") or {}).items(), key=lambda kv: -kv[1]):
        lines.append(f"    {reason:<24} {n}")
    return lines


class Command(BaseCommand):
    help = "Compute the reachability matrix of a cluster snapshot (source classes × service ports and pod classes)."

    def add_arguments(self, parser):
        parser.add_argument("--cluster", required=True, metavar="NAME")
        parser.add_argument("--snapshot", type=int, metavar="ID", help="snapshot id (default: the latest)")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--wait", action="store_true", help="follow the job on the workers until it ends")
        mode.add_argument("--no-worker", action="store_true", help="compute it in this process (no broker)")
        parser.add_argument("--services-only", action="store_true", help="only service ports as destinations")
        parser.add_argument("--cells-per-chunk", type=int, default=None, metavar="N")
        parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help="give up waiting after this")
        parser.add_argument("--format", choices=("text", "json"), default="text",
                            help="json: the job, plan and every cell (with --wait/--no-worker)")

    def handle(self, *args, **opts):
        snap = find_snapshot(opts["cluster"], opts["snapshot"])
        try:
            job = jobs.enqueue_matrix(snap, services=True, pods=not opts["services_only"],
                                      cells_per_chunk=opts["cells_per_chunk"], inline=opts["no_worker"])
        except jobs.BrokerUnavailable as exc:
            raise CommandError(f"{exc}\n(use --no-worker to compute it in this process)", returncode=3) from None
        except BadRequest as exc:
            raise CommandError(str(exc), returncode=2) from None
        err = self.stderr.write
        if not (opts["wait"] or opts["no_worker"]):
            self.stdout.write(f"matrix job {job.pk} queued for {snap.cluster.name}#{snap.number}; "
                              f"follow it with GET /api/jobs/{job.pk}/")
            return
        if opts["wait"]:
            job = follow(job, err, timeout=opts["timeout"])
        if job.state != JobState.DONE:
            raise CommandError(f"matrix job {job.pk} {job.state}: {job.error or job.progress_message}", returncode=1)
        if opts["format"] == "json":
            self.write_json(job, snap)
            return
        for line in summary_lines(job):
            self.stdout.write(line)

    def write_json(self, job: Job, snap) -> None:
        """The contract's shape — job, snapshot, result, sources, destinations, assumptions, cells — streamed:
        the head first, then one cell per line, so a matrix of millions of cells never sits in memory."""
        data = JobOutput.objects.get(job=job, name="plan").data
        head = {"job": job.pk, "snapshot": snap.pk, "result": job.result, **data}
        out = self.stdout
        out.write(json.dumps(head, indent=1, sort_keys=True)[:-2] + ',\n "cells": [', ending="")
        if matrix_store.has_blocks(job):
            plan = MatrixPlan.from_dict(data)
            cells = ({k: c[k] for k in CELL_FIELDS} for c in matrix_store.iter_cells(job, plan))
        else:  # a job stored as rows by an older release
            cells = MatrixCell.objects.filter(job=job).order_by("source", "destination").values(
                *CELL_FIELDS).iterator(chunk_size=2000)
        sep = "\n  "
        for cell in cells:
            out.write(sep + json.dumps(cell, sort_keys=True), ending="")
            sep = ",\n  "
        out.write("\n ]\n}")
