"""Coordination for traces: run and store one, re-run it on the latest snapshot, share it.

Why stored traces are copies, not references (NetBox's CablePath): a Trace keeps the request, the
full result JSON and the snapshot it ran on. Snapshots are immutable and a re-import creates a new
one, so a stored trace never changes; "what changed since" is answered by re-running the same
request on the latest snapshot into a *new* Trace (`rerun_of` → the original) and diffing the two.

Access follows the cluster (topology.services.visible_clusters): whoever may read a cluster may read
its traces. Share links are the one deliberate exception, and expose only the trace and the
objects it passed through (`share_payload`).
"""
from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from topology.compile import load_model
from topology.models import Ingress, NetworkPolicy, Node, Pod, Service, Snapshot
from topology.services import can_manage, visible_clusters
from topology.sharing import set_team
from tracer.engine.fixes import trace_with_fixes
from tracer.engine.flow import parse_flow_request
from tracer.engine.result import TraceResult
from tracer.models import Trace, TraceObject, new_share_slug

# Reference kinds (result.Ref) → the object kind recorded in TraceObject (the API's `object=` filter).
_OBJECT_KIND = {
    "pod": "pod", "service": "service", "node": "node", "network-policy": "network-policy", "ingress": "ingress",
    "external": "external", "ip": "external", "workload": "workload",
    "ingress-controller": "workload",  # the controller's workload (NS/NAME; a cloud controller has none)
}
OBJECT_KINDS = ("pod", "service", "node", "network-policy", "ingress", "external", "workload")


def objects_passed(result: dict) -> list[tuple[str, str, str]]:
    """Every object a result's paths name (sources, hops, endpoints), deduplicated, in first-seen order.

    Read from the typed references of the result (a stored version-1 result is upgraded on load).
    """
    seen: dict[tuple[str, str, str], None] = {}
    for ref in TraceResult.from_dict(result).refs():
        kind = _OBJECT_KIND.get(ref.kind)
        if kind is None or not ref.name or len(ref.name) > 253 or len(ref.namespace) > 253:
            continue
        if kind == "workload" and not ref.namespace:
            continue  # a cloud-managed ingress controller: no object in the cluster
        seen.setdefault((kind, ref.namespace, ref.name))
    return list(seen)


def run_trace(snapshot: Snapshot, request: dict, owner=None, save: bool = True, *,
              rerun_of: Trace | None = None) -> Trace:
    """Trace `request` ({from, to, port, protocol, via, assumptions}) on `snapshot` and store it.

    Raises BadRequest (→ 400) for an unparsable request or an object the snapshot does not have.
    The stored request is the normalised one (parsed port/protocol, explicit assumptions), so that
    a re-run asks exactly the same question.
    """
    flow, assumptions = parse_flow_request(request)
    result = trace_with_fixes(load_model(snapshot.pk), flow, assumptions).to_dict()  # a dropped path gets its fix
    stored_request = flow.stored_request(assumptions)
    obj = Trace(owner=owner, snapshot=snapshot, request=stored_request, result=result,
                verdict=result["verdict"], reason=result.get("reason") or "", source=flow.source[:512],
                destination=flow.destination[:1024], rerun_of=rerun_of)  # not shared until someone chooses to
    if save:
        with transaction.atomic():
            obj.save()
            TraceObject.objects.bulk_create(
                [TraceObject(trace=obj, kind=k, namespace=ns, name=n) for k, ns, n in objects_passed(result)])
    return obj


def rerun_trace(original: Trace, owner=None) -> tuple[Trace, dict]:
    """Run `original`'s request again on its cluster's latest snapshot → (new trace, changes)."""
    latest = original.snapshot.cluster.latest_snapshot()
    new = run_trace(latest, original.request, owner=owner, rerun_of=original)
    return new, trace_changes(original, new)


def _endpoints(result: TraceResult) -> dict[tuple, dict]:
    """(endpoint ref, port) → {endpoint, endpoint_ref, port, probability} over the delivered paths."""
    out: dict[tuple, dict] = {}
    for path in result.paths:
        if path.verdict != "delivered" or path.endpoint is None:
            continue
        key = (path.endpoint, path.endpoint_port or 0)
        entry = out.setdefault(key, {"endpoint": path.endpoint.id, "endpoint_ref": path.endpoint.to_dict(),
                                     "port": path.endpoint_port, "probability": 0.0})
        entry["probability"] = round(entry["probability"] + float(path.probability or 0), 6)
    return out


def _hops(result: TraceResult) -> dict[tuple, dict]:
    """(hop kind, ref, action) → the hop as JSON, over every path."""
    hops = {}
    for path in result.paths:
        for hop in path.hops:
            key = (hop.kind, hop.ref, hop.action)
            hops.setdefault(key, hop.to_dict())
    return hops


def trace_changes(old: Trace, new: Trace) -> dict:
    """What differs between two traces of the same request: verdict, reason, endpoints, hops.

    Built from the typed results (objects compared by reference), whatever version each was stored in.
    """
    a, b = old.result, new.result
    ta, tb = TraceResult.from_dict(a), TraceResult.from_dict(b)
    ea, eb = _endpoints(ta), _endpoints(tb)
    ha, hb = _hops(ta), _hops(tb)
    prob = [{"endpoint": eb[k]["endpoint"], "port": eb[k]["port"], "before": ea[k]["probability"],
             "after": eb[k]["probability"]}
            for k in sorted(ea.keys() & eb.keys()) if ea[k]["probability"] != eb[k]["probability"]]
    changes = {
        "snapshot": {"before": old.snapshot_id, "after": new.snapshot_id,
                     "changed": old.snapshot_id != new.snapshot_id},
        "verdict": {"before": a.get("verdict"), "after": b.get("verdict"),
                    "changed": a.get("verdict") != b.get("verdict")},
        "reason": {"before": a.get("reason"), "after": b.get("reason"), "changed": a.get("reason") != b.get("reason")},
        "endpoints": {"added": [eb[k] for k in sorted(eb.keys() - ea.keys())],
                      "removed": [ea[k] for k in sorted(ea.keys() - eb.keys())],
                      "probability_changed": prob},
        "hops": {"added": [hb[k] for k in sorted(hb.keys() - ha.keys())],
                 "removed": [ha[k] for k in sorted(ha.keys() - hb.keys())]},
    }
    changes["changed"] = bool(changes["verdict"]["changed"] or changes["reason"]["changed"]
                              or changes["endpoints"]["added"] or changes["endpoints"]["removed"] or prob
                              or changes["hops"]["added"] or changes["hops"]["removed"])
    return changes


# ---------------------------------------------------------------------------------------------
# Share links


def can_change_share(user, trace: Trace) -> bool:
    """Mint/revoke a share link: the trace's owner or the cluster's manager."""
    if user is None or not user.is_authenticated:
        return False
    return trace.owner_id == user.pk or can_manage(user, trace.snapshot.cluster)


@transaction.atomic
def set_cluster_team(cluster, usernames: list[str], *, by) -> None:
    """Change a cluster's team (topology.sharing.set_team); the share links that removed members made on
    it die with their access (find_shared refuses them too; clearing the slug makes the trace say so)."""
    gone = set_team(cluster, usernames, by=by)
    if gone:
        Trace.objects.filter(snapshot__cluster=cluster, shared_by__in=gone, share_slug__isnull=False)\
            .update(share_slug=None, shared_by=None, shared_at=None)


def mint_share(trace: Trace, user=None) -> Trace:
    """Share a trace (the user pressed Share): a fresh slug; the previous link (if any) stops working."""
    trace.share_slug = new_share_slug()
    trace.shared_by = user if user is not None and user.is_authenticated else None
    trace.shared_at = timezone.now()
    trace.save(update_fields=["share_slug", "shared_by", "shared_at"])
    return trace


def revoke_share(trace: Trace) -> Trace:
    trace.share_slug = None
    trace.shared_by = None
    trace.shared_at = None
    trace.save(update_fields=["share_slug", "shared_by", "shared_at"])
    return trace


def find_shared(slug: str) -> Trace | None:
    """The trace a share link shows, or None: unknown or revoked slug, or its sharer lost the cluster.

    Why the last check: a link is the sharer's decision and lives only while they may still read the
    cluster — removing a teammate (or deleting their account) withdraws every link they shared, at once.
    """
    valid = bool(slug) and len(slug) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_") for c in slug)
    trace = Trace.objects.select_related("snapshot", "shared_by").filter(share_slug=slug).first() if valid else None
    if trace is None or trace.shared_by is None or not trace.shared_by.is_active:
        return None
    if not visible_clusters(trace.shared_by).filter(pk=trace.snapshot.cluster_id).exists():
        return None
    return trace


# What a share link may show of each object kind: identity and networking facts, never a Secret,
# never annotations (they hold arbitrary text, sometimes credentials), never env values.
_SHARE_FIELDS = {
    "pod": ("namespace", "name", "ip", "ips", "node_name", "labels", "phase", "ready", "host_network"),
    "service": ("namespace", "name", "type", "cluster_ips", "ports", "selector", "external_ips", "lb_ingress",
                "external_traffic_policy", "internal_traffic_policy"),
    "node": ("name", "addresses", "zone", "ready"),
    "network-policy": ("namespace", "name", "pod_selector", "policy_types", "ingress", "egress"),
    "ingress": ("namespace", "name", "class_name", "rules", "default_backend"),
}


def _row_models():
    return {"pod": Pod, "service": Service, "node": Node, "network-policy": NetworkPolicy, "ingress": Ingress}


def object_details(snapshot_id: int, refs: list[tuple[str, str, str]]) -> list[dict]:
    """The listed objects as they were in the trace's snapshot, with only the `_SHARE_FIELDS`.

    One query per kind (not per object): names are narrowed with `name__in`, then matched exactly.
    """
    wanted: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for kind, ns, name in refs:
        wanted[kind].add((ns, name))
    found: dict[tuple[str, str, str], dict] = {}
    for kind, model in _row_models().items():
        if not wanted.get(kind):
            continue
        fields = _SHARE_FIELDS[kind]
        names = {n for _ns, n in wanted[kind]}
        for row in model.objects.filter(snapshot_id=snapshot_id, name__in=names).values(*fields):
            key = (kind, row.get("namespace", ""), row["name"])
            if key[1:] in wanted[kind]:
                found[key] = row
    return [{"kind": k, "namespace": ns, "name": n, "details": found.get((k, ns, n))} for k, ns, n in refs]


def share_payload(trace: Trace) -> dict:
    """Everything an anonymous share link shows: the trace and the objects it passed through."""
    refs = list(trace.passed_through.order_by("id").values_list("kind", "namespace", "name"))
    return {
        "slug": trace.share_slug,
        "source": trace.source,
        "destination": trace.destination,
        "request": trace.request,
        "verdict": trace.verdict,
        "reason": trace.reason or None,
        "result": trace.result,
        "created": trace.created,
        "snapshot": {"number": trace.snapshot.number, "created": trace.snapshot.created},
        "objects": object_details(trace.snapshot_id, refs),
    }
