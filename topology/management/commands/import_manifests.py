"""`manage.py import_manifests --cluster NAME [--owner USER] [--materialize [--nodes N]] [--namespace NS] FILE…`

Contract: docs/contract.md "Import". Prints a summary (snapshot number, counts per kind, skipped
kinds, warnings). Invalid input ⇒ a message naming file, document, object and field on stderr,
exit status 1, and nothing imported.
"""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from topology.importers import ImportResult, ManifestError, import_files

KIND_ORDER = ("Namespace", "Node", "Workload", "Pod", "Service", "EndpointSlice", "Ingress", "IngressClass",
              "NetworkPolicy", "Secret")


class Command(BaseCommand):
    help = ("Import Kubernetes manifests or a kubectl dump (YAML/JSON, kind: List, directories, '-' for stdin) "
            "as a new snapshot of a cluster.")

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE", help="YAML/JSON file, directory, or - for stdin")
        parser.add_argument("--cluster", required=True, metavar="NAME", help="cluster name (created if new)")
        parser.add_argument("--owner", metavar="USERNAME", help="owner of a newly created cluster (default: none)")
        parser.add_argument("--materialize", action="store_true",
                            help="simulate controllers, scheduler and IP allocation for desired-state manifests")
        parser.add_argument("--nodes", type=int, default=None, metavar="N",
                            help="number of simulated nodes with --materialize (default 3)")
        parser.add_argument("--namespace", default="default", metavar="NS",
                            help="namespace for namespaced objects without metadata.namespace (default: default)")

    def handle(self, *args, **opts):
        if opts["nodes"] is not None and not opts["materialize"]:
            raise CommandError("--nodes only applies with --materialize")
        owner = None
        if opts["owner"]:
            try:
                owner = get_user_model().objects.get(username=opts["owner"])
            except get_user_model().DoesNotExist:
                raise CommandError(f"--owner: no user named {opts['owner']!r}") from None
        try:
            result = import_files(opts["cluster"], opts["files"], owner=owner, materialize=opts["materialize"],
                                  nodes=3 if opts["nodes"] is None else opts["nodes"], namespace=opts["namespace"],
                                  stdin=self._stdin_bytes() if "-" in opts["files"] else None)
        except ManifestError as exc:
            raise CommandError(f"{exc}\nNothing was imported.") from None
        self.stdout.write(summary(result))

    def _stdin_bytes(self) -> bytes:
        import sys

        stream = getattr(self, "stdin", None) or sys.stdin
        data = stream.buffer.read() if hasattr(stream, "buffer") else stream.read()
        return data.encode() if isinstance(data, str) else data


STORAGE_KINDS = ("PersistentVolumeClaim", "PersistentVolume", "StorageClass")


def summary(result: ImportResult) -> str:
    snap = result.snapshot
    how = " (materialised)" if snap.materialized else ""
    lines = [f"Imported snapshot #{snap.number} of cluster {snap.cluster.name!r}{how} "
             f"(snapshot id {snap.pk}, sha256 {snap.content_hash[:12]})"]
    counts = ", ".join(f"{result.counts.get(k, 0)} {k}" for k in KIND_ORDER)
    lines.append(f"  objects: {counts}")
    storage = ", ".join(f"{result.counts[k]} {k}" for k in STORAGE_KINDS if result.counts.get(k))
    if storage:
        lines.append(f"  storage: {storage}")
    routes = ", ".join(f"{n} {k}" for k, n in result.counts.items() if k not in KIND_ORDER and k not in STORAGE_KINDS)
    if routes:
        lines.append(f"  Gateway API / controller routes: {routes}")
    if result.skipped:
        skipped = ", ".join(f"{n} {k}" for k, n in sorted(result.skipped.items()))
        lines.append(f"  skipped (kinds not modelled): {skipped}")
    if result.warnings:
        lines.append(f"  warnings ({len(result.warnings)}):")
        lines.extend(f"    - {w}" for w in result.warnings)
    return "\n".join(lines)
