"""One table per Kubernetes kind, every row owned by one Snapshot.

Column names are the field names of the engine dataclasses in `tracer.engine.model`, so that
`Model.objects.filter(snapshot=…).values(*Model.dataclass_fields())` feeds `Dataclass.from_dict`
directly (see `topology.compile`). Nested structures (ports, containers, rules, selectors) are
JSONFields holding the dataclasses' `to_dict()` form: the engine never queries inside them, it
compiles a whole snapshot at once.

A few extra, indexed columns exist only for lookups from the API and UI without compiling the
snapshot: `Pod.ip` (first pod IP), `Service.cluster_ip`, `Node.internal_ip`, `Endpoint.ip`. They
are derived at import and are not dataclass fields.

Snapshots are immutable: rows are written once with `bulk_create` and never updated.
"""
from __future__ import annotations

import dataclasses

from django.db import models

from tracer.engine import model as m

from .cluster import Snapshot

__all__ = [
    "Namespace", "Node", "Workload", "Pod", "Service", "EndpointSlice", "Endpoint", "Ingress",
    "IngressClass", "NetworkPolicy", "Secret", "OBJECT_MODELS",
]

NAME = 253  # DNS subdomain names (RFC 1123) are at most 253 characters


def _name(**kw):
    return models.CharField(max_length=NAME, **kw)


def _text(**kw):
    """Short free-form string defaulting to '' (kinds, phases, policies)."""
    return models.CharField(max_length=NAME, blank=True, default="", **kw)


class SnapshotObject(models.Model):
    """Abstract base: the snapshot FK and the dataclass the row converts to."""

    DATACLASS: type = None  # type: ignore[assignment]

    class Meta:
        abstract = True

    @classmethod
    def dataclass_fields(cls) -> list[str]:
        """Columns to `.values()` so the dict feeds `DATACLASS.from_dict`."""
        return [f.name for f in dataclasses.fields(cls.DATACLASS)]


class Namespace(SnapshotObject):
    DATACLASS = m.Namespace
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="namespaces")
    name = _name()
    labels = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "name"], name="namespace_unique")]


class Node(SnapshotObject):
    DATACLASS = m.Node
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="nodes")
    name = _name()
    labels = models.JSONField(default=dict)
    addresses = models.JSONField(default=list)  # [[type, address], …]
    pod_cidrs = models.JSONField(default=list)
    zone = _text()
    ready = models.BooleanField(default=True)
    unschedulable = models.BooleanField(default=False)
    internal_ip = models.CharField(max_length=45, blank=True, default="")  # lookup only

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "name"], name="node_unique")]
        indexes = [models.Index(fields=["snapshot", "internal_ip"], name="node_ip_idx")]


class Workload(SnapshotObject):
    DATACLASS = m.Workload
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="workloads")
    kind = models.CharField(max_length=40)
    namespace = _name()
    name = _name()
    labels = models.JSONField(default=dict)
    selector = models.JSONField(null=True, blank=True)
    replicas = models.IntegerField(null=True, blank=True)
    service_name = _text()
    owner_kind = _text()
    owner_name = _text()
    template = models.JSONField(default=dict)
    created = _text()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "namespace", "kind", "name"],
                                               name="workload_unique")]


class Pod(SnapshotObject):
    DATACLASS = m.Pod
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="pods")
    namespace = _name()
    name = _name()
    labels = models.JSONField(default=dict)
    ips = models.JSONField(default=list)
    ip = models.CharField(max_length=45, blank=True, default="")  # first of `ips`; lookup only
    node_name = _text()
    host_ip = models.CharField(max_length=45, blank=True, default="")
    phase = models.CharField(max_length=40, default="Running")
    ready = models.BooleanField(default=True)
    deleting = models.BooleanField(default=False)
    host_network = models.BooleanField(default=False)
    hostname = _text()
    subdomain = _text()
    dns_policy = models.CharField(max_length=40, default="ClusterFirst")
    dns_config = models.JSONField(default=dict)
    enable_service_links = models.BooleanField(default=True)
    containers = models.JSONField(default=list)
    owner_kind = _text()
    owner_name = _text()
    workload_kind = _text()
    workload_name = _text()
    service_account = _text()
    created = _text()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "namespace", "name"], name="pod_unique")]
        indexes = [
            models.Index(fields=["snapshot", "ip"], name="pod_ip_idx"),
            models.Index(fields=["snapshot", "node_name"], name="pod_node_idx"),
            models.Index(fields=["snapshot", "namespace", "workload_kind", "workload_name"],
                         name="pod_workload_idx"),
        ]


class Service(SnapshotObject):
    DATACLASS = m.Service
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="services")
    namespace = _name()
    name = _name()
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
    external_name = _text()
    traffic_distribution = _text()
    allocate_lb_node_ports = models.BooleanField(default=True)
    labels = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict)
    created = _text()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "namespace", "name"],
                                               name="service_unique")]
        indexes = [models.Index(fields=["snapshot", "cluster_ip"], name="service_ip_idx")]


class EndpointSlice(SnapshotObject):
    """An EndpointSlice; its endpoints are `Endpoint` rows (one per endpoint, in order)."""

    DATACLASS = m.EndpointSlice
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="endpoint_slices")
    namespace = _name()
    name = _name()
    service_name = _text()
    address_type = models.CharField(max_length=10, default="IPv4")
    ports = models.JSONField(default=list)
    managed_by = _text()
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
    node_name = _text()
    zone = _text()
    hint_zones = models.JSONField(default=list)
    hostname = _text()
    target_kind = _text()
    target_namespace = _text()
    target_name = _text()

    class Meta:
        ordering = ["slice_id", "position"]
        indexes = [models.Index(fields=["snapshot", "ip"], name="endpoint_ip_idx")]


class Ingress(SnapshotObject):
    DATACLASS = m.Ingress
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="ingresses")
    namespace = _name()
    name = _name()
    class_name = _text()
    annotations = models.JSONField(default=dict)
    rules = models.JSONField(default=list)
    default_backend = models.JSONField(null=True, blank=True)
    tls = models.JSONField(default=list)
    created = _text()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "namespace", "name"],
                                               name="ingress_unique")]


class IngressClass(SnapshotObject):
    DATACLASS = m.IngressClass
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="ingress_classes")
    name = _name()
    controller = _text()
    is_default = models.BooleanField(default=False)
    parameters = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "name"], name="ingressclass_unique")]


class NetworkPolicy(SnapshotObject):
    DATACLASS = m.NetworkPolicy
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="network_policies")
    namespace = _name()
    name = _name()
    pod_selector = models.JSONField(default=dict)
    policy_types = models.JSONField(default=list)
    ingress = models.JSONField(default=list)
    egress = models.JSONField(default=list)
    created = _text()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "namespace", "name"],
                                               name="networkpolicy_unique")]


class Secret(SnapshotObject):
    """A Secret's identity and key names. There is deliberately no column that could hold a value."""

    DATACLASS = m.Secret
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="secrets")
    namespace = _name()
    name = _name()
    type = _text()
    keys = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "namespace", "name"],
                                               name="secret_unique")]


# ClusterObjects attribute → model, in insertion order (slices before their endpoints).
OBJECT_MODELS: dict[str, type[SnapshotObject]] = {
    "namespaces": Namespace,
    "nodes": Node,
    "workloads": Workload,
    "pods": Pod,
    "services": Service,
    "endpoint_slices": EndpointSlice,
    "ingresses": Ingress,
    "ingress_classes": IngressClass,
    "network_policies": NetworkPolicy,
    "secrets": Secret,
}
