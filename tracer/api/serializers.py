"""Serializers for traces, share links and API tokens."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tracer.models import Trace


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
    via = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=64,
                                help_text="ADDR[:PORT]: the first address the client sends to.")
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
        return {"from": d["from"], "to": d["to"], "port": d.get("port"), "protocol": d.get("protocol"),
                "via": d.get("via") or None, "assumptions": dict(d.get("assumptions") or {})}


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

    class Meta:
        model = Trace
        fields = ["id", "owner", "cluster", "snapshot", "snapshot_number", "source", "destination", "verdict",
                  "reason", "rerun_of", "created"]
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

    class Meta:
        model = Trace
        fields = ["id", "owner", "cluster", "cluster_name", "snapshot", "request", "result", "verdict", "reason",
                  "source", "destination", "share_slug", "share_url", "share_api_url", "objects", "rerun_of",
                  "reruns", "created", "can_edit"]
        read_only_fields = fields

    @extend_schema_field(SnapshotInfoSerializer)
    def get_snapshot(self, obj):
        snap = obj.snapshot
        return {"id": snap.pk, "number": snap.number, "created": snap.created,
                "cluster": {"id": snap.cluster_id, "name": snap.cluster.name}}

    @extend_schema_field(OpenApiTypes.STR)
    def get_share_url(self, obj):
        return _absolute(self.context.get("request"), f"/t/{obj.share_slug}") if obj.share_slug else None

    @extend_schema_field(OpenApiTypes.STR)
    def get_share_api_url(self, obj):
        return _absolute(self.context.get("request"), f"/api/share/{obj.share_slug}") if obj.share_slug else None

    def get_can_edit(self, obj) -> bool:
        from tracer.services import can_change_share

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
