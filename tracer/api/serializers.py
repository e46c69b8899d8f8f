"""Serializers for traces, share links, API tokens and jobs."""
from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from topology.importers.errors import ManifestError
from topology.importers.load import load_json
from tracer.choices import CHUNKED_KINDS, JobKind, JobState
from tracer.jobs import MAX_BATCH_REQUESTS
from tracer.jobs.chunks import chunk_counts
from tracer.models import Job, MatrixCell, Trace
from tracer.services import can_change_share


@extend_schema_field({"oneOf": [{"type": "integer", "minimum": 1, "maximum": 65535}, {"type": "string"}],
                      "nullable": True})
class PortField(serializers.Field):
    """A port number or a (service/container) port name; the engine checks it."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            raise serializers.ValidationError("a port number (1-65535) or a port name")
        return data

    def to_representation(self, value):
        return value


class AssumptionsSerializer(serializers.Serializer):
    proxy_mode = serializers.ChoiceField(["iptables", "ipvs", "nftables"], default="iptables",
                                         help_text="kube-proxy mode: how endpoints are chosen.")
    cni_enforces_policy = serializers.BooleanField(default=True,
                                                   help_text="Whether the CNI enforces NetworkPolicy.")


class TraceRequestSerializer(serializers.Serializer):
    """POST /api/traces/: what to trace, and where (a cluster's latest snapshot, or a given snapshot)."""

    cluster = serializers.CharField(required=False, max_length=200,
                                    help_text="Cluster id or name; the trace runs on its latest snapshot.")
    snapshot = serializers.IntegerField(required=False, min_value=1, max_value=2**62,
                                        help_text="Snapshot id (wins over `cluster`'s latest; must belong to it).")
    from_ = serializers.CharField(max_length=512, help_text="SOURCE: pod:NS/NAME, external:IP, node:NAME, "
                                                            "workload:NS/NAME or workload:NS/KIND/NAME.")
    to = serializers.CharField(max_length=1024, help_text="DESTINATION: svc:NS/NAME, dns:NAME, ip:ADDR, "
                                                          "url:SCHEME://HOST[:PORT]/PATH.")
    port = PortField(required=False, allow_null=True)
    protocol = serializers.CharField(required=False, default="TCP", max_length=8, help_text="TCP, UDP or SCTP.")
    via = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=600,
                                help_text="ADDR[:PORT]: the first address the client sends to; or "
                                          "gateway:NS/NAME[:PORT]: enter that Gateway's listener.")
    method = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=32,
                                   help_text="HTTP method of a url: request (default GET).")
    headers = serializers.DictField(child=serializers.CharField(max_length=4096, allow_blank=True), required=False,
                                    allow_empty=True, help_text="HTTP request headers of a url: request, "
                                                                "{\"Name\": \"value\"}.")
    assumptions = AssumptionsSerializer(required=False)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # `from` is a Python keyword
        return fields

    def validate(self, attrs):
        if not attrs.get("cluster") and not attrs.get("snapshot"):
            raise serializers.ValidationError({"cluster": "give `cluster` (id or name) or `snapshot` (id)"})
        return attrs

    def engine_request(self) -> dict:
        d = self.validated_data
        out = {"from": d["from"], "to": d["to"], "port": d.get("port"), "protocol": d.get("protocol"),
               "via": d.get("via") or None, "assumptions": dict(d.get("assumptions") or {})}
        if d.get("method"):
            out["method"] = d["method"]
        if d.get("headers"):
            out["headers"] = dict(d["headers"])
        return out


class TraceObjectSerializer(serializers.Serializer):
    kind = serializers.CharField()
    namespace = serializers.CharField(allow_blank=True)
    name = serializers.CharField()


class ClusterRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SnapshotInfoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.IntegerField()
    created = serializers.DateTimeField()
    cluster = ClusterRefSerializer()


class TraceListSerializer(serializers.ModelSerializer):
    """A trace without its full result (lists stay small)."""

    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    cluster = serializers.IntegerField(source="snapshot.cluster_id", read_only=True)
    snapshot_number = serializers.IntegerField(source="snapshot.number", read_only=True)
    shared = serializers.SerializerMethodField(help_text="Whether it has a share link (someone pressed Share).")

    def get_shared(self, obj) -> bool:
        return bool(obj.share_slug)

    class Meta:
        model = Trace
        fields = ["id", "owner", "cluster", "snapshot", "snapshot_number", "source", "destination", "verdict",
                  "reason", "rerun_of", "created", "shared", "shared_at"]
        read_only_fields = fields


class TraceSerializer(serializers.ModelSerializer):
    """A stored trace: the request, the full result of the contract, pinned to its snapshot."""

    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    snapshot = serializers.SerializerMethodField()
    cluster = serializers.IntegerField(source="snapshot.cluster_id", read_only=True)
    cluster_name = serializers.CharField(source="snapshot.cluster.name", read_only=True)
    result = serializers.JSONField(help_text="The contract's result: verdict, reason, paths[hops], assumptions.")
    request = serializers.JSONField()
    share_url = serializers.SerializerMethodField(help_text="The anonymous page /t/<slug>, or null when revoked.")
    share_api_url = serializers.SerializerMethodField()
    objects = TraceObjectSerializer(source="passed_through", many=True, read_only=True, help_text="Objects the trace passed through.")
    reruns = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    can_edit = serializers.SerializerMethodField(help_text="Whether you may mint/revoke its share link.")
    shared = serializers.SerializerMethodField(help_text="Whether it has a share link (someone pressed Share).")
    shared_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)

    def get_shared(self, obj) -> bool:
        return bool(obj.share_slug)

    class Meta:
        model = Trace
        fields = ["id", "owner", "cluster", "cluster_name", "snapshot", "request", "result", "verdict", "reason",
                  "source", "destination", "shared", "shared_by", "shared_at", "share_slug", "share_url",
                  "share_api_url", "objects", "rerun_of", "reruns", "created", "can_edit"]
        read_only_fields = fields

    @extend_schema_field(SnapshotInfoSerializer)
    def get_snapshot(self, obj):
        snap = obj.snapshot
        return {"id": snap.pk, "number": snap.number, "created": snap.created,
                "cluster": {"id": snap.cluster_id, "name": snap.cluster.name}}

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_share_url(self, obj):
        return _absolute(self.context.get("request"), f"/t/{obj.share_slug}") if obj.share_slug else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_share_api_url(self, obj):
        return _absolute(self.context.get("request"), f"/api/share/{obj.share_slug}") if obj.share_slug else None

    def get_can_edit(self, obj) -> bool:
        request = self.context.get("request")
        return bool(request) and can_change_share(request.user, obj)


def _absolute(request, path: str) -> str:
    return request.build_absolute_uri(path) if request is not None else path


class TraceChangesSerializer(serializers.Serializer):
    changed = serializers.BooleanField()
    snapshot = serializers.DictField()
    verdict = serializers.DictField()
    reason = serializers.DictField()
    endpoints = serializers.DictField(help_text="{added, removed, probability_changed}")
    hops = serializers.DictField(help_text="{added, removed}: hops (kind, id, action) present in one trace only")


class RerunSerializer(serializers.Serializer):
    trace = TraceSerializer(help_text="The new trace, on the latest snapshot.")
    previous = TraceSerializer(help_text="The original trace, unchanged.")
    changes = TraceChangesSerializer()


class ShareSerializer(serializers.Serializer):
    share_slug = serializers.CharField()
    share_url = serializers.CharField()
    share_api_url = serializers.CharField()


class SharedObjectSerializer(serializers.Serializer):
    kind = serializers.CharField()
    namespace = serializers.CharField(allow_blank=True)
    name = serializers.CharField()
    details = serializers.DictField(allow_null=True, help_text="The object as it was in the trace's snapshot.")


class SharedSnapshotSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    created = serializers.DateTimeField()


class SharedTraceSerializer(serializers.Serializer):
    """What an anonymous share link shows: this trace and the objects it passed through — nothing else."""

    slug = serializers.CharField()
    source = serializers.CharField()
    destination = serializers.CharField()
    request = serializers.JSONField()
    verdict = serializers.CharField()
    reason = serializers.CharField(allow_null=True)
    result = serializers.JSONField()
    created = serializers.DateTimeField()
    snapshot = SharedSnapshotSerializer()
    objects = SharedObjectSerializer(many=True)


class TokenInfoSerializer(serializers.Serializer):
    """One of your API tokens, without its key (the key is shown only once, at creation)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField(help_text="The key's first characters, to tell tokens apart.")
    created = serializers.DateTimeField()
    last_used = serializers.DateTimeField(allow_null=True, help_text="Last request made with it (to the minute).")
    expires = serializers.DateTimeField(allow_null=True)
    expired = serializers.BooleanField()


class TokenCreateSerializer(serializers.Serializer):
    name = serializers.RegexField(r"^[\w .@+:/-]{1,100}$", default="token",
                                  help_text="What the token is for (letters, digits, spaces and .@+:/-_).")
    expires_in_days = serializers.IntegerField(required=False, min_value=1, max_value=3650,
                                               help_text="Lifetime in days (default TRACER_TOKEN_DAYS, 365).")


class TokenSerializer(TokenInfoSerializer):
    key = serializers.CharField(help_text="Send as `Authorization: Token <key>`. Shown only this once.")


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    is_superuser = serializers.BooleanField()


# ---------------------------------------------------------------------------------------------
# Jobs (matrix, diff, batch, intents): what the job endpoints read and write


class ProgressSerializer(serializers.Serializer):
    current = serializers.IntegerField(help_text="Units done: chunks (matrix, diff), traces (batch), intents")
    total = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True)
    message = serializers.CharField()
    chunks = serializers.DictField(child=serializers.IntegerField(), required=False,
                                   help_text="Matrix/diff, on GET /api/jobs/<id>/: chunks pending, running and done")


class JobSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", default=None, read_only=True)
    progress = serializers.SerializerMethodField()
    params = serializers.SerializerMethodField()

    links = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = ["id", "kind", "state", "owner", "cluster", "snapshot", "params", "progress", "result", "error",
                  "attempts", "created", "started", "finished", "heartbeat", "links"]
        read_only_fields = fields

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, job) -> dict:
        pct = round(100.0 * job.progress_current / job.progress_total, 1) if job.progress_total else None
        if job.state == JobState.DONE:
            pct = 100.0
        out = {"current": job.progress_current, "total": job.progress_total, "percent": pct,
               "message": job.progress_message}
        if job.kind in CHUNKED_KINDS and self.context.get("detail"):
            out["chunks"] = chunk_counts(job)
        return out

    def get_params(self, job) -> dict:
        """Parameters, with long lists (batch requests, intents, file names) summarised."""
        out = {}
        for key, value in (job.params or {}).items():
            if isinstance(value, list) and len(value) > 20:
                out[key] = {"count": len(value), "first": value[:3]}
            else:
                out[key] = value
        return out

    def get_links(self, job) -> dict:
        base = f"/api/jobs/{job.pk}/"
        links = {"self": base, "cancel": base + "cancel"}
        if job.kind in CHUNKED_KINDS:
            links.update({"plan": base + "plan", "cells": base + "cells/"})
        if job.kind == JobKind.BATCH:
            links["results"] = base + "results"
        if job.kind == JobKind.IMPORT and job.snapshot_id:
            links["snapshot"] = f"/api/snapshots/{job.snapshot_id}/"
        return links


class CellSerializer(serializers.ModelSerializer):
    links = serializers.SerializerMethodField()

    class Meta:
        model = MatrixCell
        fields = ["id", "source", "destination", "verdict", "reason", "request", "change", "base_verdict",
                  "base_reason", "base_request", "links"]
        read_only_fields = fields

    def get_links(self, cell) -> dict:
        return {"trace": f"/api/jobs/{cell.job_id}/cells/{cell.pk}/trace"}


class SnapshotRefSerializer(serializers.Serializer):
    cluster = serializers.CharField(max_length=200, help_text="Cluster id or name")
    snapshot = serializers.IntegerField(required=False, min_value=1, help_text="Snapshot id (default: the latest)")
    time_limit = serializers.IntegerField(required=False, min_value=1, max_value=10**7,
                                          help_text="Stop the job after this many seconds (capped by the server)")


class MatrixRequestSerializer(SnapshotRefSerializer):
    services = serializers.BooleanField(default=True, help_text="Columns for every service port")
    pods = serializers.BooleanField(default=True, help_text="Columns for every pod class × declared port")
    cells_per_chunk = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000)


class DiffRequestSerializer(serializers.Serializer):
    cluster = serializers.CharField(max_length=200)
    base = serializers.IntegerField(required=False, min_value=1,
                                    help_text="Base snapshot id (default: the latest before the candidate)")
    candidate = serializers.IntegerField(required=False, min_value=1,
                                         help_text="Candidate snapshot id; omit it and upload files instead")
    materialize = serializers.BooleanField(default=False)
    nodes = serializers.IntegerField(default=3, min_value=1, max_value=5000)
    namespace = serializers.CharField(default="default", max_length=253)
    cells_per_chunk = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000)
    time_limit = serializers.IntegerField(required=False, min_value=1, max_value=10**7)


class BatchRequestSerializer(SnapshotRefSerializer):
    requests = serializers.ListField(child=serializers.DictField(), required=False, allow_empty=False,
                                     max_length=MAX_BATCH_REQUESTS,
                                     help_text="Trace requests {from, to, port, protocol, via}")
    lines = serializers.CharField(required=False, allow_blank=False, trim_whitespace=False,
                                  help_text="Or: the text of a `manage.py trace --batch` file (one JSON request a line)")

    def validate(self, data):
        if ("requests" in data) == ("lines" in data):
            raise serializers.ValidationError({"requests": "give either `requests` (a list) or `lines` (JSON lines)"})
        if "lines" in data:
            data["requests"] = parse_json_lines(data.pop("lines"))
        return data


def parse_json_lines(text: str) -> list[dict]:
    """The --batch format: one JSON object a line; blank lines are skipped. 400 names the bad line."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = load_json(line, f"line {n}")  # the one safe loader: depth, duplicate keys, bounded messages
        except ManifestError as exc:
            raise serializers.ValidationError({"lines": f"line {n}: not JSON: {exc.problem}"}) from None
        if not isinstance(item, dict):
            raise serializers.ValidationError({"lines": f"line {n}: expected a JSON object with from/to"})
        out.append(item)
        if len(out) > MAX_BATCH_REQUESTS:
            raise serializers.ValidationError({"lines": f"more than {MAX_BATCH_REQUESTS} requests"})
    if not out:
        raise serializers.ValidationError({"lines": "no request in the text"})
    return out


class BatchResultsQuerySerializer(serializers.Serializer):
    output = serializers.ChoiceField(choices=["json", "jsonl"], default="json",
                                     help_text="json: one JSON document {job, count, offset, limit, next, results}; "
                                               "jsonl: one result a line (the `trace --batch` format)")
    offset = serializers.IntegerField(default=0, min_value=0, max_value=MAX_BATCH_REQUESTS,
                                      help_text="First result to return (0-based)")
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_BATCH_REQUESTS,
                                     help_text="At most this many results (default: all of them, streamed)")


class IntentRequestSerializer(SnapshotRefSerializer):
    intents = serializers.JSONField(help_text="A list of {from, to, port, protocol, via, expect, reason, name}, "
                                              "or the YAML text of an intents file")


class JobCreatedSerializer(serializers.Serializer):
    job = JobSerializer()
    detail = serializers.CharField()
