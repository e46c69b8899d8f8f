"""Serializers for clusters, snapshots, uploads, comparison, topology, search and pod details."""
from __future__ import annotations

import re

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from topology import sharing
from topology.models import OBJECT_MODELS, Cluster, Snapshot
from topology.services import can_manage
from tracer.services import set_cluster_team

USERNAME = re.compile(r"[\w.@+-]{1,150}")


class SnapshotSerializer(serializers.ModelSerializer):
    cluster_name = serializers.CharField(source="cluster.name", read_only=True)

    class Meta:
        model = Snapshot
        fields = ["id", "cluster", "cluster_name", "number", "created", "source", "content_hash", "counts",
                  "skipped", "warnings", "materialized", "cluster_domain"]
        read_only_fields = fields


class SnapshotRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Snapshot
        fields = ["id", "number", "created", "counts"]
        read_only_fields = fields


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class TeamField(serializers.Field):
    """Usernames: reads the members; writes a wish list that topology.sharing turns into invitations."""

    def to_representation(self, value):
        return sorted(u.get_username() for u in value.all())

    def to_internal_value(self, data):
        if not isinstance(data, list) or not all(isinstance(u, str) for u in data):
            raise serializers.ValidationError("a list of usernames")
        if len(data) > sharing.MAX_TEAM:
            raise serializers.ValidationError(f"at most {sharing.MAX_TEAM} names")
        bad = [u for u in data if not USERNAME.fullmatch(u)]
        if bad:
            raise serializers.ValidationError("a username has 1-150 letters, digits and @.+-_ "
                                              f"(not {bad[0][:40]!r})")
        return data


class ClusterSerializer(serializers.ModelSerializer):
    """A cluster. `shared_with` (usernames) may only be changed by the owner."""

    name = serializers.RegexField(r"^\S(.*\S)?$", max_length=200,
                                  error_messages={"invalid": "a non-empty name without leading or trailing spaces"})
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    shared_with = TeamField(required=False, help_text="Teammates (usernames) who may read this cluster, upload "
                            "snapshots and run traces on it. Writing it (owner only) removes the names left out "
                            "at once and invites new names: they join when they accept (/api/invitations/). The "
                            "answer is the same whether or not a name exists.")
    invited = serializers.SerializerMethodField(help_text="Names invited and not yet accepted (owner only).")
    latest_snapshot = serializers.SerializerMethodField()
    snapshot_count = serializers.SerializerMethodField()
    can_manage = serializers.SerializerMethodField(help_text="Whether you may rename, delete and share it.")

    class Meta:
        model = Cluster
        fields = ["id", "name", "description", "owner", "shared_with", "invited", "created", "updated",
                  "latest_snapshot", "snapshot_count", "can_manage"]
        read_only_fields = ["id", "owner", "created", "updated"]
        extra_kwargs = {"description": {"max_length": 2000}}  # a note for people, not a store (issue 17 M2)

    @extend_schema_field(SnapshotRefSerializer(allow_null=True))
    def get_latest_snapshot(self, obj):
        # The viewset prefetches it as `latest` (one query for the whole list); fall back for a new object.
        snap = obj.latest[0] if getattr(obj, "latest", None) else (None if hasattr(obj, "latest")
                                                                   else obj.latest_snapshot())
        return SnapshotRefSerializer(snap).data if snap else None

    def get_snapshot_count(self, obj) -> int:
        count = getattr(obj, "snapshot_count", None)
        return obj.snapshots.count() if count is None else count

    def get_can_manage(self, obj) -> bool:
        return can_manage(self.context["request"].user, obj)

    def get_invited(self, obj) -> list[str]:
        return sharing.pending(obj) if can_manage(self.context["request"].user, obj) else []

    def create(self, validated_data):
        team = validated_data.pop("shared_with", None)
        cluster = super().create(validated_data)
        if team is not None:
            set_cluster_team(cluster, team, by=self.context["request"].user)
        return cluster

    def update(self, instance, validated_data):
        team = validated_data.pop("shared_with", None)
        cluster = super().update(instance, validated_data)
        if team is not None:
            set_cluster_team(cluster, team, by=self.context["request"].user)
        return cluster

    def validate_name(self, value: str) -> str:
        user = self.context["request"].user
        owner_id = self.instance.owner_id if self.instance else user.pk
        clash = Cluster.objects.filter(owner_id=owner_id, name=value)
        if self.instance:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(f"you already have a cluster named {value!r}; choose another name")
        return value


class UploadOptionsSerializer(serializers.Serializer):
    """Query parameters of an upload (the same options as `manage.py import_manifests`)."""

    materialize = serializers.BooleanField(default=False, help_text="Simulate controllers and scheduler for "
                                           "desired-state manifests (pods, IPs, EndpointSlices).")
    nodes = serializers.IntegerField(default=3, min_value=1, max_value=5000,
                                     help_text="Nodes to simulate with materialize.")
    namespace = serializers.RegexField(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", default="default",
                                       help_text="Namespace for namespaced objects without metadata.namespace.")
    filename = serializers.RegexField(r"^[\w.\-]{1,200}$", required=False,
                                      help_text="Name of a raw-body upload in error messages (default "
                                                "upload.yaml or upload.json by content type).")


class UploadFormSerializer(serializers.Serializer):
    files = serializers.ListField(child=serializers.FileField(), help_text="One or more YAML/JSON manifest files.")


class JobRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    state = serializers.CharField()
    url = serializers.CharField(help_text="Poll this for progress.")


class UploadResultSerializer(serializers.Serializer):
    snapshot = SnapshotSerializer()
    counts = serializers.DictField(child=serializers.IntegerField())
    skipped = serializers.DictField(child=serializers.IntegerField())
    warnings = serializers.ListField(child=serializers.CharField())


class UploadQueuedSerializer(serializers.Serializer):
    job = JobRefSerializer()
    detail = serializers.CharField()


class CompareQuerySerializer(serializers.Serializer):
    to = serializers.IntegerField(min_value=1, max_value=2**62,
                                  help_text="Id of the snapshot to compare with (the newer one).")
    limit = serializers.IntegerField(default=200, min_value=1, max_value=5000,
                                     help_text="Maximum keys listed per kind and category.")
    kinds = serializers.CharField(required=False, max_length=300,
                                  help_text="Comma-separated kinds to compare (default all): "
                                            "namespaces, nodes, workloads, pods, services, endpoint_slices, "
                                            "ingresses, ingress_classes, network_policies, secrets.")

    def validate_kinds(self, value: str) -> list[str]:
        kinds = [k.strip() for k in value.split(",") if k.strip()]
        unknown = [k for k in kinds if k not in OBJECT_MODELS]
        if unknown or not kinds:
            raise serializers.ValidationError(f"unknown kind(s) {', '.join(unknown) or '(none)'}; "
                                              f"use {', '.join(OBJECT_MODELS)}")
        return kinds


class KindChangesSerializer(serializers.Serializer):
    added_count = serializers.IntegerField()
    removed_count = serializers.IntegerField()
    changed_count = serializers.IntegerField()
    added = serializers.ListField(child=serializers.CharField())
    removed = serializers.ListField(child=serializers.CharField())
    changed = serializers.ListField(child=serializers.DictField(), help_text="[{key, fields: [names]}]")


class CompareSerializer(serializers.Serializer):
    old = serializers.IntegerField()
    new = serializers.IntegerField()
    kinds = serializers.DictField(child=KindChangesSerializer())
    truncated = serializers.BooleanField()


class TopologyQuerySerializer(serializers.Serializer):
    namespace = serializers.CharField(required=False, max_length=2000,
                                      help_text="Comma-separated namespaces to show (expanded).")
    label = serializers.CharField(required=False, max_length=400, help_text="KEY=VALUE or KEY: pods/services with it.")
    name = serializers.CharField(required=False, max_length=253, help_text="Substring of pod/workload/service names.")
    expand = serializers.CharField(required=False, max_length=4000,
                                   help_text="Comma-separated tokens from aggregates' `expand`: ns:NS, "
                                             "workload:NS/KIND/NAME, nodes, or all.")
    limit = serializers.IntegerField(default=1000, min_value=1, max_value=5000, help_text="Element cap.")


class TopologySerializer(serializers.Serializer):
    elements = serializers.DictField(help_text="{nodes: [{data, position}], edges: [{data}]} for cytoscape.")
    layers = serializers.ListField(child=serializers.DictField())
    truncated = serializers.BooleanField()
    message = serializers.CharField(allow_blank=True)
    limit = serializers.IntegerField()
    total = serializers.DictField(child=serializers.IntegerField())
    namespaces = serializers.ListField(child=serializers.CharField(),
                                       help_text="Every namespace of the snapshot, for a namespace filter.")
    snapshot = serializers.IntegerField()


class SearchQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, default="", max_length=300,
                              help_text="Text to complete; a `pod:`/`svc:`/`ip:`… prefix restricts the kind.")
    role = serializers.ChoiceField(["source", "destination", "any"], default="any")
    limit = serializers.IntegerField(default=20, min_value=1, max_value=100)


class SearchResultSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="Ready to use as `from`/`to` of a trace.")
    kind = serializers.CharField()
    label = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)


class EnvVarSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.CharField(allow_blank=True)
    service = serializers.CharField(allow_blank=True)


class PolicyRefSerializer(serializers.Serializer):
    namespace = serializers.CharField()
    name = serializers.CharField()
    policy_types = serializers.ListField(child=serializers.CharField())
    pod_selector = serializers.CharField(help_text="The selector, described.")


class DnsSerializer(serializers.Serializer):
    policy = serializers.CharField(help_text="The pod's dnsPolicy.")
    resolver = serializers.ChoiceField(["cluster", "node", "none"], help_text="Which resolver answers: cluster "
                                       "DNS, the node's resolver (cluster names do not resolve), or none.")
    nameservers = serializers.ListField(child=serializers.CharField())
    search = serializers.ListField(child=serializers.CharField(), help_text="The search path, in order.")
    ndots = serializers.IntegerField()
    note = serializers.CharField(allow_blank=True, help_text="Why, in a sentence.")


class PodDetailSerializer(serializers.Serializer):
    namespace = serializers.CharField()
    name = serializers.CharField()
    ips = serializers.ListField(child=serializers.CharField())
    node_name = serializers.CharField(allow_blank=True)
    labels = serializers.DictField(child=serializers.CharField())
    phase = serializers.CharField()
    ready = serializers.BooleanField()
    host_network = serializers.BooleanField()
    workload = serializers.CharField(allow_blank=True)
    containers = serializers.ListField(child=serializers.DictField())
    env = EnvVarSerializer(many=True)
    env_caveats = serializers.ListField(child=serializers.CharField())
    env_absent = serializers.ListField(child=serializers.CharField(),
                                       help_text="Services created after the pod: their variables are missing.")
    snapshot = serializers.IntegerField()
    dns = DnsSerializer()
    policies = PolicyRefSerializer(many=True)


@extend_schema_field(OpenApiTypes.BINARY)
class RawBodyField(serializers.Field):
    """Schema marker for a raw manifest body."""
