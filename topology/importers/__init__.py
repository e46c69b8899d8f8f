"""Manifest import: files or bytes → one new, immutable Snapshot of a cluster, atomically.

Pipeline : load (`load.py`) → validate + normalise (`parse.py`) →
optionally materialise desired state (`materialize.py`, then parsed again by the same parser) →
persist with bulk inserts (`persist.py`) inside one transaction. Any invalid document raises
`ManifestError` before the first write, and a failure while writing rolls everything back: an
import either creates a complete snapshot or nothing.

Used by `manage.py import_manifests` and by the API (upload).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction
from django.db.models import Max

from topology.models import Cluster, Snapshot
from topology.warm import warm_in_background

from .budget import check_documents, check_materialize
from .errors import ManifestError
from .load import Document, load_documents, load_paths, parse_bytes
from .materialize import materialize as run_materialize
from .parse import ParseResult, dedupe_documents, parse_objects
from .persist import persist as persist_objects
from .secret_values import secret_value_warning

__all__ = ["ImportResult", "ManifestError", "Document", "import_files", "import_bytes", "build_objects", "preflight",
           "load_documents", "parse_objects"]

MAX_NODES = 5000  # docs/semantics.md §G: the largest cluster the tracer is designed for


@dataclass
class ImportResult:
    snapshot: object  # topology.models.Snapshot
    counts: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def import_files(cluster_name: str, paths: list[str | Path], *, owner=None, materialize: bool = False,
                 nodes: int = 3, namespace: str = "default", stdin: bytes | None = None) -> ImportResult:
    """Import files, directories (their *.yaml|*.yml|*.json, sorted) and "-" (stdin, or `stdin` bytes)."""
    if not paths:
        raise ManifestError("no input files given")
    docs, payloads = load_paths(list(paths), stdin=stdin)
    return _import(cluster_name, docs, payloads, owner=owner, materialize=materialize, nodes=nodes,
                   namespace=namespace)


def import_bytes(cluster, payloads: list[tuple[str, bytes]], *, owner=None, materialize: bool = False,
                 nodes: int = 3, namespace: str = "default", checkpoint=None, on_snapshot=None) -> ImportResult:
    """Import in-memory files [(name, bytes)], e.g. an upload. `cluster` is a Cluster or a name.

    For a background job: `checkpoint(phase)` is called between phases (parsed, validated/materialised, each
    table stored) and may raise to abandon the import — a cancelled job stops there and its transaction rolls
    back; `on_snapshot(snapshot)` runs inside the import's transaction, so what it records (the job's
    snapshot) is committed together with the snapshot or not at all."""
    if not payloads:
        raise ManifestError("no input given")
    docs: list[Document] = []
    for name, data in payloads:
        docs.extend(parse_bytes(data, name))
    return _import(cluster, docs, payloads, owner=owner, materialize=materialize, nodes=nodes,
                   namespace=namespace, checkpoint=checkpoint, on_snapshot=on_snapshot)


def build_objects(docs: list[Document], *, materialize: bool = False, nodes: int = 3,
                  namespace: str = "default") -> ParseResult:
    """Validate and normalise (and optionally materialise) documents; no database access.

    Live dump: each object once, as given. Desired state (`materialize`): later duplicates win
    (with a warning), the input is validated as written first — so errors name the user's files —
    then the simulated controllers' output is parsed by the same parser.
    """
    if not docs:
        raise ManifestError("the input holds no Kubernetes object (empty files?)")
    check_documents(docs)
    if not materialize:
        return parse_objects(docs, default_namespace=namespace)
    if isinstance(nodes, bool) or not isinstance(nodes, int) or not 1 <= nodes <= MAX_NODES:
        raise ManifestError(f"must be a whole number from 1 to {MAX_NODES}, not {nodes!r}", field="--nodes")
    check_materialize(docs, nodes)  # budgets before work: count the pods it would build, refuse past the limits
    docs, dup_warnings = dedupe_documents(docs, namespace)
    parse_objects(docs, default_namespace=namespace, derive_endpoints=False)  # validate the input as written
    out, warnings = run_materialize(docs, nodes=nodes, namespace=namespace)
    res = parse_objects(out, default_namespace=namespace, allow_duplicates=True)
    res.warnings = dup_warnings + list(warnings) + res.warnings
    return res


def content_hash(payloads: list[tuple[str, bytes]]) -> str:
    h = hashlib.sha256()
    for _name, data in payloads:
        h.update(data)
    return h.hexdigest()


def _import(cluster, docs, payloads, *, owner, materialize, nodes, namespace, checkpoint=None,
            on_snapshot=None) -> ImportResult:
    step = checkpoint or (lambda phase: None)
    step("parsed")
    res = build_objects(docs, materialize=materialize, nodes=nodes, namespace=namespace)
    step("validated")
    secret_warning = secret_value_warning(docs)
    if secret_warning:
        res.warnings = [*res.warnings, secret_warning]
    source = ", ".join(name for name, _ in payloads)
    if len(source) > 2000:
        source = source[:1990] + " …"
    with transaction.atomic():
        if isinstance(cluster, Cluster):
            cluster_obj = cluster
        else:
            if not isinstance(cluster, str) or not cluster.strip() or len(cluster.strip()) > 200:
                raise ManifestError("a cluster name of 1-200 characters is required", field="--cluster")
            cluster_obj, _ = Cluster.objects.get_or_create(name=cluster.strip(), owner=owner)
        # Lock the cluster row so two concurrent imports get consecutive numbers (PostgreSQL;
        # SQLite serialises writers anyway). The unique (cluster, number) constraint backs it up.
        Cluster.objects.select_for_update().filter(pk=cluster_obj.pk).exists()
        last = cluster_obj.snapshots.aggregate(n=Max("number"))["n"] or 0
        snapshot = Snapshot.objects.create(
            cluster=cluster_obj, number=last + 1, source=source, content_hash=content_hash(payloads),
            input_bytes=sum(len(data) for _name, data in payloads),
            counts=res.counts, skipped=res.skipped, warnings=res.warnings, materialized=bool(materialize),
            cluster_domain=res.objects.cluster_domain)
        persist_objects(snapshot, res.objects, checkpoint=checkpoint)
        step("stored")
        if on_snapshot is not None:
            on_snapshot(snapshot)
        # a serving process compiles the new snapshot now, not in the first request that opens it
        transaction.on_commit(lambda: warm_in_background([snapshot.pk]))
    return ImportResult(snapshot=snapshot, counts=res.counts, skipped=res.skipped, warnings=res.warnings)


def preflight(payloads: list[tuple[str, bytes]], *, materialize: bool = False, nodes: int = 3) -> None:
    """The budget checks of an import, without importing: for a caller about to hand the upload to a
    background job (a big upload, a diff job's candidate manifests), so that an input past the limits is
    refused with its 400 now instead of failing minutes later in a worker. Parses the payloads once."""
    docs: list[Document] = []
    for name, data in payloads:
        docs.extend(parse_bytes(data, name))
    check_documents(docs)
    if materialize:
        if isinstance(nodes, bool) or not isinstance(nodes, int) or not 1 <= nodes <= MAX_NODES:
            raise ManifestError(f"must be a whole number from 1 to {MAX_NODES}, not {nodes!r}", field="nodes")
        check_materialize(docs, nodes)
