"""Coordination for clusters and snapshots: who sees what, uploads, snapshot comparison, search.

Why here and not in views: the same rules serve the REST API, the browser UI and the management
commands, and they are easier to test without HTTP. Views stay declarations (NetBox style).

Access rule (one place): a cluster is visible to its owner and to the users it is shared with;
clusters created from the command line (no owner) are visible to superusers. Everyone else must
not learn that a cluster exists, so the API answers 404 — never 403 — for it and everything under
it (snapshots, traces, jobs).
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from tracer.engine.dns import DNS_SERVICE, resolver_for
from tracer.engine.envvars import service_env
from tracer.engine.errors import BadRequest
from tracer.engine.netpol import policies_selecting

from .importers import import_bytes
from .models import OBJECT_MODELS, Cluster, Endpoint, Snapshot
from .models import Ingress as IngressRow
from .models import Node as NodeRow
from .models import Pod as PodRow
from .models import RouteObject as RouteRow
from .models import Service as ServiceRow
from .models import Workload as WorkloadRow

# ---------------------------------------------------------------------------------------------
# Access


def visible_clusters(user) -> QuerySet[Cluster]:
    """Clusters `user` may read: own, shared with them, and (for superusers) ownerless ones."""
    if user is None or not user.is_authenticated:
        return Cluster.objects.none()
    shared = Cluster.shared_with.through.objects.filter(user_id=user.pk).values("cluster_id")
    q = Q(owner_id=user.pk) | Q(pk__in=shared)
    if user.is_superuser:
        q |= Q(owner__isnull=True)
    return Cluster.objects.filter(q)


def visible_snapshots(user) -> QuerySet[Snapshot]:
    return Snapshot.objects.filter(cluster__in=visible_clusters(user).values("pk"))


def can_manage(user, cluster: Cluster) -> bool:
    """Rename, delete and (un)share a cluster: its owner only (superusers for ownerless clusters)."""
    if user is None or not user.is_authenticated:
        return False
    if cluster.owner_id is None:
        return bool(user.is_superuser)
    return cluster.owner_id == user.pk


def find_cluster(user, ref) -> Cluster | None:
    """A visible cluster by id (int or digit string) or by name; own clusters win a name clash."""
    clusters = visible_clusters(user)
    if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
        found = clusters.filter(pk=int(ref)).first()
        if found:
            return found
    if isinstance(ref, str) and ref:
        by_name = list(clusters.filter(name=ref).order_by("id")[:10])
        own = [c for c in by_name if c.owner_id == getattr(user, "pk", None)]
        if own:
            return own[0]
        if len(by_name) == 1:
            return by_name[0]
    return None


class UnknownSnapshot(BadRequest):
    """A request names a cluster or snapshot the caller cannot read (or that has no snapshot yet).

    `field` is the request field at fault ("cluster", "snapshot", "base", …): the API answers 400 with the
    message under that field; the CLI exits 2 with it."""

    def __init__(self, message: str, field: str = "snapshot"):
        super().__init__(message)
        self.field = field


def cluster_snapshot(cluster: Cluster, snapshot=None, *, field: str = "snapshot", by_number: bool = False) -> Snapshot:
    """`cluster`'s snapshot `snapshot` (its id; with `by_number` also its number), or the latest when None.

    The one place a snapshot reference is resolved (API requests, the UI's ?snapshot=, the CLI's --snapshot).
    """
    if snapshot not in (None, ""):
        ref = int(snapshot)
        snap = cluster.snapshots.filter(pk=ref).first()
        if snap is None and by_number:
            snap = cluster.snapshots.filter(number=ref).first()
        if snap is None:
            raise UnknownSnapshot(f"cluster {cluster.name!r} has no snapshot {ref}", field)
        return snap
    snap = cluster.latest_snapshot()
    if snap is None:
        raise UnknownSnapshot(f"cluster {cluster.name!r} has no snapshot yet: upload manifests first (or import_manifests)",
                              "cluster")
    return snap


def snapshot_for(user, cluster=None, snapshot=None) -> Snapshot:
    """The snapshot a request names as `user` may read it: a cluster (id or name) and optionally one of its
    snapshots (an id), or a snapshot id alone. Raises UnknownSnapshot saying which field is wrong."""
    found = None
    if cluster not in (None, ""):
        found = find_cluster(user, cluster)
        if found is None:
            raise UnknownSnapshot(f"unknown cluster {cluster!r}: give the id or name of a cluster you can read "
                                  "(GET /api/clusters/)", "cluster")
    if found is None:
        snap = visible_snapshots(user).select_related("cluster").filter(pk=int(snapshot or 0)).first()
        if snap is None:
            raise UnknownSnapshot(f"unknown snapshot {snapshot}", "snapshot")
        return snap
    return cluster_snapshot(found, snapshot)


# ---------------------------------------------------------------------------------------------
# Uploads


@dataclass
class UploadOutcome:
    """Either a new snapshot (synchronous import) or a queued job (big upload)."""

    snapshot: Snapshot | None = None
    job: object | None = None
    counts: dict | None = None
    skipped: dict | None = None
    warnings: list | None = None


def upload_size(payloads: list[tuple[str, bytes]]) -> int:
    return sum(len(data) for _name, data in payloads)


def import_upload(cluster: Cluster, payloads: list[tuple[str, bytes]], *, owner=None, materialize=False,
                  nodes=3, namespace="default") -> UploadOutcome:
    """Import manifests into a new snapshot of `cluster`, now.

    A big upload becomes a background job instead: that choice is made a layer above this app
    (tracer.jobs.enqueue.import_or_enqueue), so topology never imports the job code.
    Raises the importer's ManifestError (→ 400) on invalid input; nothing is stored then.
    """
    result = import_bytes(cluster, payloads, owner=owner, materialize=materialize, nodes=nodes, namespace=namespace)
    return UploadOutcome(snapshot=result.snapshot, counts=result.counts, skipped=result.skipped,
                         warnings=result.warnings)


# ---------------------------------------------------------------------------------------------
# Snapshot comparison


def _object_key(kind: str, row: dict) -> str:
    if kind == "workloads":
        return f"{row['namespace']}/{row['kind']}/{row['name']}"
    if "namespace" in row:
        return f"{row['namespace']}/{row['name']}"
    return row["name"]


def _rows_by_key(snapshot_id: int, kind: str) -> dict[str, dict]:
    model = OBJECT_MODELS[kind]
    fields = model.dataclass_fields()
    rows = {_object_key(kind, r): r for r in model.objects.filter(snapshot_id=snapshot_id).values(*fields)}
    if kind == "endpoint_slices":
        # A slice's endpoints live in their own table; compare them as part of the slice.
        ep_fields = [f for f in Endpoint.dataclass_fields()]
        for ep in (Endpoint.objects.filter(snapshot_id=snapshot_id)
                   .order_by("slice_id", "position")
                   .values("slice__namespace", "slice__name", *ep_fields)):
            key = f"{ep.pop('slice__namespace')}/{ep.pop('slice__name')}"
            if key in rows:
                rows[key].setdefault("endpoints", []).append(ep)
    return rows


def compare_snapshots(old: Snapshot, new: Snapshot, *, limit: int = 200, kinds: list[str] | None = None) -> dict:
    """Objects added, removed and changed from `old` to `new`, per kind.

    Each kind lists at most `limit` keys per category (the counts are always complete), so that a
    diff of two 150,000-pod snapshots stays a readable response; `truncated` says when a list was cut.
    `kinds` restricts the comparison (it reads every row of both snapshots: at 150,000 pods the pods
    alone take seconds, so a caller interested in policies can skip them).
    "changed" names the fields that differ, so a person sees *what* changed, not only that it did.
    """
    by_kind: dict[str, dict] = {}
    truncated = False
    same_input = bool(old.content_hash) and old.content_hash == new.content_hash and \
        old.materialized == new.materialized and old.cluster_domain == new.cluster_domain
    for kind in kinds or list(OBJECT_MODELS):
        if same_input:  # the same bytes imported the same way: nothing can differ, skip loading both
            by_kind[kind] = {"added_count": 0, "removed_count": 0, "changed_count": 0, "added": [], "removed": [],
                           "changed": []}
            continue
        before = _rows_by_key(old.pk, kind)
        after = _rows_by_key(new.pk, kind)
        added = sorted(after.keys() - before.keys())
        removed = sorted(before.keys() - after.keys())
        changed = []
        for key in sorted(before.keys() & after.keys()):
            a, b = before[key], after[key]
            fields = sorted(f for f in a.keys() | b.keys() if a.get(f) != b.get(f))
            if fields:
                changed.append({"key": key, "fields": fields})
        if len(added) > limit or len(removed) > limit or len(changed) > limit:
            truncated = True
        by_kind[kind] = {
            "added_count": len(added), "removed_count": len(removed), "changed_count": len(changed),
            "added": added[:limit], "removed": removed[:limit], "changed": changed[:limit],
        }
    return {"old": old.pk, "new": new.pk, "kinds": by_kind, "truncated": truncated}


# ---------------------------------------------------------------------------------------------
# Search / autocomplete


def search(snapshot: Snapshot, query: str, *, limit: int = 20, role: str = "any") -> list[dict]:
    """Autocomplete SOURCE/DESTINATION values for one snapshot, with indexed, bounded DB queries.

    `role`: "source" offers pod:, workload:, node:, external:; "destination" offers svc:, dns:, ip:,
    url: (Ingress hosts) and pods' IPs; "any" offers both. Each result's `value` is ready to paste
    into a trace request. A query that looks like an IP matches the indexed IP columns by prefix.
    """
    q = (query or "").strip()
    prefix, _, term = q.partition(":") if ":" in q and q.split(":", 1)[0] in _PREFIXES else ("", "", q)
    term = term.strip()
    results: list[dict] = []
    sources = role in ("source", "any")
    dests = role in ("destination", "any")

    def want(kind: str) -> bool:
        return not prefix or prefix == kind

    def add(value: str, kind: str, label: str, detail: str = "") -> bool:
        if len(results) >= limit:
            return False
        results.append({"value": value, "kind": kind, "label": label, "detail": detail})
        return True

    looks_ip = bool(term) and all(c in "0123456789.:abcdefABCDEF" for c in term) and any(c in ".:" for c in term)
    snap = snapshot.pk
    domain = snapshot.cluster_domain or "cluster.local"

    if looks_ip:
        for ip, ns, name in PodRow.objects.filter(snapshot_id=snap, ip__startswith=term).order_by("ip")\
                .values_list("ip", "namespace", "name")[:limit]:
            if sources and want("pod"):
                add(f"pod:{ns}/{name}", "pod", f"{ns}/{name}", ip)
            if dests and want("ip"):
                add(f"ip:{ip}", "ip", ip, f"pod {ns}/{name}")
        if dests and want("ip"):
            for ip, ns, name in ServiceRow.objects.filter(snapshot_id=snap, cluster_ip__startswith=term)\
                    .order_by("cluster_ip").values_list("cluster_ip", "namespace", "name")[:limit]:
                add(f"ip:{ip}", "ip", ip, f"service {ns}/{name}")
        for ip, name in NodeRow.objects.filter(snapshot_id=snap, internal_ip__startswith=term)\
                .order_by("internal_ip").values_list("internal_ip", "name")[:limit]:
            if sources and want("node"):
                add(f"node:{name}", "node", name, ip)
            if dests and want("ip"):
                add(f"ip:{ip}", "ip", ip, f"node {name}")
        if sources and want("external") and not results:
            add(f"external:{term}", "external", term, "a client outside the cluster")
        return results[:limit]

    ns_part, _, name_part = term.rpartition("/")
    ns_part = ns_part.split("/")[0] if ns_part else ""

    def name_filter(qs, field="name"):
        if ns_part:
            qs = qs.filter(namespace=ns_part)
        if name_part:
            qs = qs.filter(**{f"{field}__istartswith": name_part}) if len(name_part) < 3 else \
                qs.filter(**{f"{field}__icontains": name_part})
        return qs

    if dests and want("svc"):
        for ns, name, ip in name_filter(ServiceRow.objects.filter(snapshot_id=snap))\
                .order_by("namespace", "name").values_list("namespace", "name", "cluster_ip")[:limit]:
            add(f"svc:{ns}/{name}", "svc", f"{ns}/{name}", ip)
    if dests and want("dns"):
        for ns, name in name_filter(ServiceRow.objects.filter(snapshot_id=snap))\
                .order_by("namespace", "name").values_list("namespace", "name")[:limit]:
            add(f"dns:{name}.{ns}.svc.{domain}", "dns", f"{name}.{ns}.svc.{domain}", f"service {ns}/{name}")
    if sources and want("pod"):
        for ns, name, ip in name_filter(PodRow.objects.filter(snapshot_id=snap))\
                .order_by("namespace", "name").values_list("namespace", "name", "ip")[:limit]:
            add(f"pod:{ns}/{name}", "pod", f"{ns}/{name}", ip)
    if sources and want("workload"):
        for ns, kind, name in name_filter(WorkloadRow.objects.filter(snapshot_id=snap))\
                .exclude(kind="ReplicaSet", owner_kind="Deployment")\
                .order_by("namespace", "name").values_list("namespace", "kind", "name")[:limit]:
            add(f"workload:{ns}/{kind}/{name}", "workload", f"{ns}/{name}", kind)
    if sources and want("node") and not ns_part:
        qs = NodeRow.objects.filter(snapshot_id=snap)
        if name_part:
            qs = qs.filter(name__icontains=name_part)
        for name, ip in qs.order_by("name").values_list("name", "internal_ip")[:limit]:
            add(f"node:{name}", "node", name, ip)
    if dests and want("url"):
        seen = set()
        qs = IngressRow.objects.filter(snapshot_id=snap).order_by("namespace", "name")
        for ns, name, rules, tls in qs.values_list("namespace", "name", "rules", "tls")[:500]:
            tls_hosts = {h for t in (tls or []) for h in (t.get("hosts") or [])}
            for rule in rules or []:
                host = rule.get("host") or ""
                if not host or host in seen or (term and term.lower() not in host.lower()):
                    continue
                seen.add(host)
                scheme = "https" if host in tls_hosts else "http"
                add(f"url:{scheme}://{host}/", "url", host, f"ingress {ns}/{name}")
        # host names of Gateway API / Istio / Contour routes: a url: no Ingress takes goes to their Gateway (K7)
        qs = RouteRow.objects.filter(snapshot_id=snap, kind__in=("HTTPRoute", "VirtualService", "HTTPProxy"))\
            .order_by("namespace", "name")
        for kind, ns, name, spec in qs.values_list("kind", "namespace", "name", "spec")[:500]:
            spec = spec or {}
            hosts = spec.get("hostnames") or spec.get("hosts") or [(spec.get("virtualhost") or {}).get("fqdn")]
            for host in hosts:
                if not isinstance(host, str) or not host or "*" in host or host in seen or (
                        term and term.lower() not in host.lower()):
                    continue
                seen.add(host)
                add(f"url:http://{host}/", "url", host, f"{kind} {ns}/{name}")
    return results[:limit]


_PREFIXES = ("pod", "svc", "dns", "ip", "url", "node", "workload", "external")


# ---------------------------------------------------------------------------------------------
# Pod details (for the UI's pod panel)


def pod_details(model, namespace: str, name: str) -> dict | None:
    """A pod's facts plus what the engine derives for it: service env vars, resolver, policies.

    Returns None when the snapshot has no such pod. Each derived part comes from the engine module
    that owns the rule (envvars.py, dns.py, netpol.py); nothing is re-implemented here.
    """
    pod = model.pods.get(f"{namespace}/{name}")
    if pod is None:
        return None
    env = service_env(model, pod)
    resolver = resolver_for(model, pod)
    nameservers = list(resolver.nameservers)
    if resolver.kind == "cluster" and not nameservers:
        dns_svc = model.services.get(DNS_SERVICE)
        nameservers = [dns_svc.cluster_ip] if dns_svc and dns_svc.cluster_ip else []
    dns = {"policy": pod.dns_policy or "ClusterFirst", "resolver": resolver.kind, "nameservers": nameservers,
           "search": list(resolver.searches), "ndots": resolver.ndots, "note": resolver.note}
    return {
        "namespace": pod.namespace, "name": pod.name, "ips": list(pod.ips), "node_name": pod.node_name,
        "labels": dict(pod.labels), "phase": pod.phase, "ready": pod.ready, "host_network": pod.host_network,
        "workload": f"{pod.workload_kind}/{pod.workload_name}" if pod.workload_kind else "",
        "containers": [{"name": c.name, "image": c.image, "init": c.init,
                        "ports": [p.to_dict() for p in c.ports]} for c in pod.containers],
        "env": [v.to_dict() for v in env.vars],
        "env_caveats": [str(c) for c in env.caveats],
        "env_absent": list(env.absent),
        "dns": dns,
        "policies": [{"namespace": p.namespace, "name": p.name, "policy_types": list(p.policy_types),
                      "pod_selector": p.pod_selector.describe()} for p in policies_selecting(model, pod)],
    }
