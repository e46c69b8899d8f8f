"""Services, EndpointSlices and their endpoints (one row per endpoint)."""
from __future__ import annotations

from django.db import models

from tracer.engine import model as m

from .base import SnapshotObject, name_field, text_field
from .cluster import Snapshot

__all__ = ["Service", "EndpointSlice", "Endpoint"]


class Service(SnapshotObject):
    DATACLASS = m.Service
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="services")
    namespace = name_field()
    name = name_field()
    type = models.CharField(max_length=20, default="ClusterIP")
    cluster_ips = models.JSONField(default=list)
    cluster_ip = models.CharField(max_length=45, blank=True, default="")  # first of cluster_ips; lookup
    ports = models.JSONField(default=list)
    selector = models.JSONField(null=True, blank=True)  # null ⇒ selector-less service
    external_ips = models.JSONField(default=list)
    lb_ingress = models.JSONField(default=list)
    lb_source_ranges = models.JSONField(default=list)
    external_traffic_policy = models.CharField(max_length=20, default="Cluster")
    internal_traffic_policy = models.CharField(max_length=20, default="Cluster")
    health_check_node_port = models.IntegerField(null=True, blank=True)
    session_affinity = models.CharField(max_length=20, default="None")
    session_affinity_timeout = models.IntegerField(default=10800)
    publish_not_ready_addresses = models.BooleanField(default=False)
    external_name = text_field()
    traffic_distribution = text_field()
    allocate_lb_node_ports = models.BooleanField(default=True)
    labels = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict)
    created = text_field()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "namespace", "name"],
                                               name="service_unique")]
        indexes = [models.Index(fields=["snapshot", "cluster_ip"], name="service_ip_idx")]


class EndpointSlice(SnapshotObject):
    """An EndpointSlice; its endpoints are `Endpoint` rows (one per endpoint, in order)."""

    DATACLASS = m.EndpointSlice
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="endpoint_slices")
    namespace = name_field()
    name = name_field()
    service_name = text_field()
    address_type = models.CharField(max_length=10, default="IPv4")
    ports = models.JSONField(default=list)
    managed_by = text_field()
    derived = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "namespace", "name"],
                                               name="endpointslice_unique")]
        indexes = [models.Index(fields=["snapshot", "namespace", "service_name"], name="slice_service_idx")]

    @classmethod
    def dataclass_fields(cls) -> list[str]:
        return [f for f in super().dataclass_fields() if f != "endpoints"]


class Endpoint(SnapshotObject):
    """One endpoint of a slice. `position` keeps the slice's order; `ip` is the first address."""

    DATACLASS = m.Endpoint
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="endpoints")
    slice = models.ForeignKey(EndpointSlice, on_delete=models.CASCADE, related_name="endpoint_rows")
    position = models.PositiveIntegerField(default=0)
    addresses = models.JSONField(default=list)
    ip = models.CharField(max_length=45, blank=True, default="")
    ready = models.BooleanField(null=True, blank=True)  # nil ⇒ true (A6): kept as null
    serving = models.BooleanField(null=True, blank=True)
    terminating = models.BooleanField(null=True, blank=True)
    node_name = text_field()
    zone = text_field()
    hint_zones = models.JSONField(default=list)
    hostname = text_field()
    target_kind = text_field()
    target_namespace = text_field()
    target_name = text_field()

    class Meta:
        ordering = ["slice_id", "position"]
        indexes = [models.Index(fields=["snapshot", "ip"], name="endpoint_ip_idx")]
