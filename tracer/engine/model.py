"""The cluster as the engine sees it: plain, immutable-by-convention dataclasses.

Why a separate, Django-free model: the engine is a library (it imports no Django). A snapshot is
compiled once into a `ClusterModel` (see `compile.py`/`topology.compile`), cached, and every
trace, matrix and DNS lookup reads only these objects and their indexes.

Field names are the contract between three places that must agree: the importer (which builds
these objects from manifests), the Django models in `topology/models` (whose columns carry the
same names, so that a row's `.values()` dict feeds `from_dict` directly), and the engine.
Nested lists are plain tuples of dataclasses; label maps are plain dicts.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "LabelSelector", "SelectorRequirement", "Namespace", "Node", "ContainerPort", "Container", "HostAlias",
    "Workload", "Pod", "ServicePort", "LoadBalancerIngress", "Service", "EndpointPort", "Endpoint",
    "EndpointSlice", "IngressBackend", "IngressPath", "IngressRule", "IngressTLS", "Ingress",
    "IngressClass", "PolicyPort", "IPBlock", "PolicyPeer", "PolicyRule", "NetworkPolicy", "Secret",
    "RouteObject", "PodVolume", "SecretRef", "PersistentVolumeClaim", "PersistentVolume", "StorageClass",
    "ClusterObjects",
]


def _tuple(cls, items):
    """Rebuild a tuple of dataclasses from JSON-ish dicts (or pass dataclasses through)."""
    if not items:
        return ()
    return tuple(i if isinstance(i, cls) else cls.from_dict(i) for i in items)


class _Base:
    """to_dict/from_dict shared by every model class (nested classes override `_nested`)."""

    _nested: dict[str, type] = {}
    _single: dict[str, type] = {}

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)  # type: ignore[arg-type]

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        names = _FIELD_NAMES.get(cls)
        if names is None:  # dataclasses.fields() is slow; a snapshot load calls this ~10^6 times
            names = _FIELD_NAMES[cls] = frozenset(f.name for f in dataclasses.fields(cls))  # type: ignore[arg-type]
        kw = {k: v for k, v in data.items() if k in names}
        for key, sub in cls._nested.items():
            if key in kw:
                kw[key] = _tuple(sub, kw[key])
        for key, sub in cls._single.items():
            if kw.get(key) is not None and not isinstance(kw[key], sub):
                kw[key] = sub.from_dict(kw[key])
        for key, value in kw.items():
            if isinstance(value, list) and key not in cls._nested:
                kw[key] = tuple(value)
        return cls(**kw)


_FIELD_NAMES: dict[type, frozenset[str]] = {}


# ---------------------------------------------------------------------------------------------
# Label selectors (metav1.LabelSelector)


@dataclass(slots=True)
class SelectorRequirement(_Base):
    key: str
    operator: str  # In | NotIn | Exists | DoesNotExist
    values: tuple[str, ...] = ()


@dataclass(slots=True)
class LabelSelector(_Base):
    """A parsed metav1.LabelSelector. Empty (no labels, no expressions) selects everything."""

    match_labels: dict[str, str] = field(default_factory=dict)
    match_expressions: tuple[SelectorRequirement, ...] = ()
    _nested = {"match_expressions": SelectorRequirement}

    def matches(self, labels: dict[str, str]) -> bool:
        for k, v in self.match_labels.items():
            if labels.get(k) != v:
                return False
        for req in self.match_expressions:
            op = req.operator
            if op == "In":
                if labels.get(req.key) not in req.values:
                    return False
            elif op == "NotIn":
                if req.key in labels and labels[req.key] in req.values:
                    return False
            elif op == "Exists":
                if req.key not in labels:
                    return False
            elif op == "DoesNotExist":
                if req.key in labels:
                    return False
            else:  # validated at import; unknown operators select nothing
                return False
        return True

    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions

    def describe(self) -> str:
        parts = [f"{k}={v}" for k, v in sorted(self.match_labels.items())]
        for r in self.match_expressions:
            vals = ",".join(r.values)
            parts.append(f"{r.key} {r.operator} ({vals})" if vals else f"{r.operator} {r.key}")
        return ", ".join(parts) if parts else "{} (everything)"


# ---------------------------------------------------------------------------------------------
# Cluster infrastructure


@dataclass(slots=True)
class Namespace(_Base):
    name: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Node(_Base):
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    addresses: tuple[tuple[str, str], ...] = ()  # (type, address): InternalIP, ExternalIP, Hostname
    pod_cidrs: tuple[str, ...] = ()
    zone: str = ""  # topology.kubernetes.io/zone
    ready: bool = True
    unschedulable: bool = False
    kubelet_port: int = 10250  # status.daemonEndpoints.kubeletEndpoint.Port (H4)

    @property
    def ips(self) -> tuple[str, ...]:
        return tuple(a for t, a in self.addresses if t in ("InternalIP", "ExternalIP"))

    @property
    def internal_ip(self) -> str | None:
        for t, a in self.addresses:
            if t == "InternalIP":
                return a
        return self.ips[0] if self.ips else None

    @classmethod
    def from_dict(cls, data):
        obj = _Base.from_dict.__func__(cls, data)  # not super(): slots=True recreates the class
        obj.addresses = tuple(tuple(a) for a in obj.addresses)
        return obj


# ---------------------------------------------------------------------------------------------
# Workloads and pods


@dataclass(slots=True)
class ContainerPort(_Base):
    container_port: int
    protocol: str = "TCP"
    name: str = ""
    host_port: int | None = None
    host_ip: str = ""


@dataclass(slots=True)
class Container(_Base):
    name: str
    image: str = ""
    ports: tuple[ContainerPort, ...] = ()
    args: tuple[str, ...] = ()  # command + args, used to recognise ingress controllers
    init: bool = False  # init containers' ports do not count for named ports
    probe_ports: tuple[int, ...] = ()  # TCP ports of its httpGet/tcpSocket/grpc probes: a process listens (H4)
    _nested = {"ports": ContainerPort}


@dataclass(slots=True)
class HostAlias(_Base):
    """One entry of spec.hostAliases: lines the kubelet adds to the pod's /etc/hosts (H2)."""

    ip: str
    hostnames: tuple[str, ...] = ()


@dataclass(slots=True)
class PodVolume(_Base):
    """One entry of a pod's spec.volumes, reduced to what storage paths need (I1).

    kind: emptyDir | configMap | secret | projected | downwardAPI | hostPath | persistentVolumeClaim | nfs |
    iscsi | cephfs | rbd | csi | ephemeral | … (the volume source's key). `source` keeps the fields of a network
    source (server, path, targetPortal, portals, monitors, driver, volumeHandle) and the names a local source
    refers to (secretName, name); never data.
    """

    name: str
    kind: str
    claim_name: str = ""  # persistentVolumeClaim.claimName (or the ephemeral claim's generated name)
    read_only: bool = False
    source: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class SecretRef(_Base):
    """A Secret a pod consumes (J1–J3): only the name, the key and where it is read. Never a value.

    via: env (env[].valueFrom.secretKeyRef) | envFrom (envFrom[].secretRef) | volume (a secret volume or a
    projected secret source) | imagePullSecret. `key` is "" when the whole Secret is read; `items` are the keys a
    volume projects (each must exist unless optional).
    """

    secret_name: str
    via: str
    key: str = ""
    optional: bool = False
    container: str = ""  # the container that reads it ("" for volumes / imagePullSecrets)
    target: str = ""  # the env variable or the volume name
    items: tuple[str, ...] = ()


@dataclass(slots=True)
class Workload(_Base):
    """Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or ReplicationController."""

    kind: str
    namespace: str
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    selector: LabelSelector | None = None
    replicas: int | None = None
    service_name: str = ""  # StatefulSet spec.serviceName
    owner_kind: str = ""  # e.g. ReplicaSet owned by a Deployment
    owner_name: str = ""
    template: dict[str, Any] = field(default_factory=dict)  # pod template, as given (for materialise)
    created: str = ""
    claim_templates: tuple[str, ...] = ()  # StatefulSet volumeClaimTemplates[].metadata.name (I3)
    _single = {"selector": LabelSelector}


@dataclass(slots=True)
class Pod(_Base):
    namespace: str
    name: str
    labels: dict[str, str] = field(default_factory=dict)
    ips: tuple[str, ...] = ()
    node_name: str = ""
    host_ip: str = ""
    phase: str = "Running"
    ready: bool = True
    deleting: bool = False  # metadata.deletionTimestamp set
    host_network: bool = False
    hostname: str = ""
    subdomain: str = ""
    dns_policy: str = "ClusterFirst"
    dns_config: dict[str, Any] = field(default_factory=dict)  # nameservers, searches, options
    enable_service_links: bool = True
    containers: tuple[Container, ...] = ()
    owner_kind: str = ""  # direct controller owner (ReplicaSet, StatefulSet, ...)
    owner_name: str = ""
    workload_kind: str = ""  # top-level workload (Deployment for a ReplicaSet-owned pod)
    workload_name: str = ""
    service_account: str = ""
    created: str = ""
    volumes: tuple[PodVolume, ...] = ()
    secret_refs: tuple[SecretRef, ...] = ()
    status_reason: str = ""  # why a live pod is not running/ready, from its status (condition/container messages)
    host_aliases: tuple[HostAlias, ...] = ()  # spec.hostAliases (H2)
    _nested = {"containers": Container, "volumes": PodVolume, "secret_refs": SecretRef, "host_aliases": HostAlias}

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def ip(self) -> str | None:
        return self.ips[0] if self.ips else None

    def container_ports(self):
        for c in self.containers:
            if not c.init:
                yield from c.ports


# ---------------------------------------------------------------------------------------------
# Services and endpoints


@dataclass(slots=True)
class ServicePort(_Base):
    port: int
    protocol: str = "TCP"
    name: str = ""
    target_port: int | str | None = None  # None ⇒ same as port
    node_port: int | None = None
    app_protocol: str = ""

    @property
    def effective_target(self) -> int | str:
        return self.port if self.target_port in (None, "", 0) else self.target_port


@dataclass(slots=True)
class LoadBalancerIngress(_Base):
    ip: str = ""
    hostname: str = ""
    ip_mode: str = ""  # "" / VIP / Proxy


@dataclass(slots=True)
class Service(_Base):
    namespace: str
    name: str
    type: str = "ClusterIP"  # ClusterIP | NodePort | LoadBalancer | ExternalName
    cluster_ips: tuple[str, ...] = ()  # empty or ("None",) for headless
    ports: tuple[ServicePort, ...] = ()
    selector: dict[str, str] | None = None  # None ⇒ selector-less (user-managed EndpointSlices)
    external_ips: tuple[str, ...] = ()
    lb_ingress: tuple[LoadBalancerIngress, ...] = ()
    lb_source_ranges: tuple[str, ...] = ()
    external_traffic_policy: str = "Cluster"
    internal_traffic_policy: str = "Cluster"
    health_check_node_port: int | None = None
    session_affinity: str = "None"
    session_affinity_timeout: int = 10800
    publish_not_ready_addresses: bool = False
    external_name: str = ""
    traffic_distribution: str = ""
    allocate_lb_node_ports: bool = True
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    created: str = ""
    _nested = {"ports": ServicePort, "lb_ingress": LoadBalancerIngress}

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def headless(self) -> bool:
        return self.type != "ExternalName" and (not self.cluster_ips or self.cluster_ips[0] == "None")

    @property
    def cluster_ip(self) -> str | None:
        return None if self.headless or self.type == "ExternalName" else self.cluster_ips[0]


@dataclass(slots=True)
class EndpointPort(_Base):
    port: int | None
    protocol: str = "TCP"
    name: str = ""
    app_protocol: str = ""


@dataclass(slots=True)
class Endpoint(_Base):
    addresses: tuple[str, ...]
    ready: bool | None = None  # nil ⇒ true (A6)
    serving: bool | None = None  # nil ⇒ true
    terminating: bool | None = None  # nil ⇒ false
    node_name: str = ""
    zone: str = ""
    hint_zones: tuple[str, ...] = ()
    hostname: str = ""
    target_kind: str = ""
    target_namespace: str = ""
    target_name: str = ""


@dataclass(slots=True)
class EndpointSlice(_Base):
    namespace: str
    name: str
    service_name: str  # label kubernetes.io/service-name
    address_type: str = "IPv4"
    endpoints: tuple[Endpoint, ...] = ()
    ports: tuple[EndpointPort, ...] = ()
    managed_by: str = ""
    derived: bool = False  # True when computed by us (from legacy Endpoints or from selectors)
    _nested = {"endpoints": Endpoint, "ports": EndpointPort}


# ---------------------------------------------------------------------------------------------
# Ingress


@dataclass(slots=True)
class IngressBackend(_Base):
    service_name: str = ""
    port_name: str = ""
    port_number: int | None = None
    resource: dict[str, Any] | None = None  # {apiGroup, kind, name}


@dataclass(slots=True)
class IngressPath(_Base):
    path: str = "/"
    path_type: str = "ImplementationSpecific"
    backend: IngressBackend = field(default_factory=IngressBackend)
    _single = {"backend": IngressBackend}


@dataclass(slots=True)
class IngressRule(_Base):
    host: str = ""
    paths: tuple[IngressPath, ...] = ()
    _nested = {"paths": IngressPath}


@dataclass(slots=True)
class IngressTLS(_Base):
    hosts: tuple[str, ...] = ()
    secret_name: str = ""


@dataclass(slots=True)
class Ingress(_Base):
    namespace: str
    name: str
    class_name: str = ""  # spec.ingressClassName
    annotations: dict[str, str] = field(default_factory=dict)
    rules: tuple[IngressRule, ...] = ()
    default_backend: IngressBackend | None = None
    tls: tuple[IngressTLS, ...] = ()
    created: str = ""
    status_addresses: tuple[str, ...] = ()  # status.loadBalancer.ingress[].ip / .hostname: the address it publishes
    _nested = {"rules": IngressRule, "tls": IngressTLS}
    _single = {"default_backend": IngressBackend}

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(slots=True)
class IngressClass(_Base):
    name: str
    controller: str = ""
    is_default: bool = False  # annotation ingressclass.kubernetes.io/is-default-class: "true"
    parameters: dict[str, Any] | None = None


# ---------------------------------------------------------------------------------------------
# NetworkPolicy (networking.k8s.io/v1)


@dataclass(slots=True)
class PolicyPort(_Base):
    protocol: str = "TCP"
    port: int | str | None = None  # None ⇒ every port
    end_port: int | None = None


@dataclass(slots=True)
class IPBlock(_Base):
    cidr: str
    except_: tuple[str, ...] = ()


@dataclass(slots=True)
class PolicyPeer(_Base):
    pod_selector: LabelSelector | None = None
    namespace_selector: LabelSelector | None = None
    ip_block: IPBlock | None = None
    _single = {"pod_selector": LabelSelector, "namespace_selector": LabelSelector, "ip_block": IPBlock}


@dataclass(slots=True)
class PolicyRule(_Base):
    """One ingress/egress rule. Empty `peers` ⇒ every peer; empty `ports` ⇒ every port (E6)."""

    peers: tuple[PolicyPeer, ...] = ()
    ports: tuple[PolicyPort, ...] = ()
    _nested = {"peers": PolicyPeer, "ports": PolicyPort}


@dataclass(slots=True)
class NetworkPolicy(_Base):
    namespace: str
    name: str
    pod_selector: LabelSelector = field(default_factory=LabelSelector)
    policy_types: tuple[str, ...] = ("Ingress",)  # already defaulted per E3 by the importer
    ingress: tuple[PolicyRule, ...] = ()
    egress: tuple[PolicyRule, ...] = ()
    created: str = ""
    _nested = {"ingress": PolicyRule, "egress": PolicyRule}
    _single = {"pod_selector": LabelSelector}

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(slots=True)
class Secret(_Base):
    """Only what is safe to keep: never a value."""

    namespace: str
    name: str
    type: str = "Opaque"
    keys: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------------
# Storage (I1–I3)


@dataclass(slots=True)
class PersistentVolumeClaim(_Base):
    namespace: str
    name: str
    storage_class: str | None = None  # spec.storageClassName; None ⇒ not set (the default class applies)
    access_modes: tuple[str, ...] = ()
    volume_name: str = ""  # spec.volumeName (the bound PV)
    phase: str = "Pending"  # status.phase: Pending | Bound | Lost
    labels: dict[str, str] = field(default_factory=dict)
    owner_kind: str = ""
    owner_name: str = ""
    created: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(slots=True)
class PersistentVolume(_Base):
    name: str
    storage_class: str = ""
    access_modes: tuple[str, ...] = ()
    claim_namespace: str = ""  # spec.claimRef
    claim_name: str = ""
    phase: str = "Available"
    kind: str = ""  # the volume source: nfs | iscsi | cephfs | rbd | csi | hostPath | local | …
    source: dict[str, Any] = field(default_factory=dict)  # as PodVolume.source
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class StorageClass(_Base):
    name: str
    provisioner: str = ""
    is_default: bool = False  # annotation storageclass.kubernetes.io/is-default-class: "true"
    volume_binding_mode: str = "Immediate"  # Immediate | WaitForFirstConsumer


# ---------------------------------------------------------------------------------------------
# Gateway API and the ingress controllers' own route objects


@dataclass(slots=True)
class RouteObject(_Base):
    """A Gateway API object (GatewayClass, Gateway, ListenerSet, HTTPRoute, GRPCRoute, TLSRoute, TCPRoute,
    ReferenceGrant) or a controller's own route object (Traefik IngressRoute/Middleware, Contour HTTPProxy,
    Emissary Mapping, Istio Gateway/VirtualService).

    Why one generic class: these kinds are deep trees read only by `gateway.py`/`gateway_routing.py` (and the
    controller modules), which build their typed views once per model. The importer has already validated the
    fields those modules read and applied the API's defaults, so `spec` is trusted here. `kind` is qualified
    when a name is shared by two APIs ("IstioGateway" for networking.istio.io's Gateway).
    """

    kind: str
    namespace: str
    name: str
    api_version: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict)
    addresses: tuple[str, ...] = ()  # Gateway status.addresses[].value
    created: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(slots=True)
class ClusterObjects(_Base):
    """Everything one snapshot holds, as plain lists. `ClusterModel` indexes it for the engine."""

    namespaces: list[Namespace] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    pods: list[Pod] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    endpoint_slices: list[EndpointSlice] = field(default_factory=list)
    ingresses: list[Ingress] = field(default_factory=list)
    ingress_classes: list[IngressClass] = field(default_factory=list)
    network_policies: list[NetworkPolicy] = field(default_factory=list)
    secrets: list[Secret] = field(default_factory=list)
    route_objects: list[RouteObject] = field(default_factory=list)
    persistent_volume_claims: list[PersistentVolumeClaim] = field(default_factory=list)
    persistent_volumes: list[PersistentVolume] = field(default_factory=list)
    storage_classes: list[StorageClass] = field(default_factory=list)
    cluster_domain: str = "cluster.local"
