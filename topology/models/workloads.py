"""Workloads (Deployment, StatefulSet, …) and pods of a snapshot."""
from __future__ import annotations

from django.db import models

from tracer.engine import model as m

from .base import SnapshotObject, name_field, text_field
from .cluster import Snapshot

__all__ = ["Workload", "Pod"]


class Workload(SnapshotObject):
    DATACLASS = m.Workload
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="workloads")
    kind = models.CharField(max_length=40)
    namespace = name_field()
    name = name_field()
    labels = models.JSONField(default=dict)
    selector = models.JSONField(null=True, blank=True)
    replicas = models.IntegerField(null=True, blank=True)
    service_name = text_field()
    owner_kind = text_field()
    owner_name = text_field()
    template = models.JSONField(default=dict)
    created = text_field()
    claim_templates = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "namespace", "kind", "name"],
                                               name="workload_unique")]


class Pod(SnapshotObject):
    DATACLASS = m.Pod
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="pods")
    namespace = name_field()
    name = name_field()
    labels = models.JSONField(default=dict)
    ips = models.JSONField(default=list)
    ip = models.CharField(max_length=45, blank=True, default="")  # first of `ips`; lookup only
    node_name = text_field()
    host_ip = models.CharField(max_length=45, blank=True, default="")
    phase = models.CharField(max_length=40, default="Running")
    ready = models.BooleanField(default=True)
    deleting = models.BooleanField(default=False)
    host_network = models.BooleanField(default=False)
    hostname = text_field()
    subdomain = text_field()
    dns_policy = models.CharField(max_length=40, default="ClusterFirst")
    dns_config = models.JSONField(default=dict)
    enable_service_links = models.BooleanField(default=True)
    containers = models.JSONField(default=list)
    owner_kind = text_field()
    owner_name = text_field()
    workload_kind = text_field()
    workload_name = text_field()
    service_account = text_field()
    created = text_field()
    volumes = models.JSONField(default=list)
    secret_refs = models.JSONField(default=list)
    status_reason = models.TextField(blank=True, default="")
    host_aliases = models.JSONField(default=list)  # [{ip, hostnames}] (H2)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "namespace", "name"], name="pod_unique")]
        indexes = [
            models.Index(fields=["snapshot", "ip"], name="pod_ip_idx"),
            # the autocomplete's `ip LIKE 'prefix%'`: PostgreSQL's default b-tree cannot serve LIKE under a
            # non-C collation, so at 150,000 pods it scanned every pod of the snapshot (94 ms; with the
            # pattern index, a range scan). Other backends ignore opclasses (a plain index on ip).
            models.Index(fields=["ip"], name="pod_ip_prefix_idx", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["snapshot", "node_name"], name="pod_node_idx"),
            models.Index(fields=["snapshot", "namespace", "workload_kind", "workload_name"],
                         name="pod_workload_idx"),
        ]
