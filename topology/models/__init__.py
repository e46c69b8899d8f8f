"""Topology models: one immutable Snapshot per import; every row belongs to one snapshot.

One table per Kubernetes kind, split by domain; `OBJECT_MODELS` maps each `ClusterObjects`
attribute to its table, in insertion order (slices before their endpoints).
"""
from .cluster import *  # noqa: F401,F403
from .gateway import *  # noqa: F401,F403
from .infrastructure import *  # noqa: F401,F403
from .ingress import *  # noqa: F401,F403
from .policies import *  # noqa: F401,F403
from .secrets import *  # noqa: F401,F403
from .services import *  # noqa: F401,F403
from .storage import *  # noqa: F401,F403
from .workloads import *  # noqa: F401,F403

OBJECT_MODELS = {
    "namespaces": Namespace,  # noqa: F405
    "nodes": Node,  # noqa: F405
    "workloads": Workload,  # noqa: F405
    "pods": Pod,  # noqa: F405
    "services": Service,  # noqa: F405
    "endpoint_slices": EndpointSlice,  # noqa: F405
    "ingresses": Ingress,  # noqa: F405
    "ingress_classes": IngressClass,  # noqa: F405
    "network_policies": NetworkPolicy,  # noqa: F405
    "secrets": Secret,  # noqa: F405
    "route_objects": RouteObject,  # noqa: F405
    "persistent_volume_claims": PersistentVolumeClaim,  # noqa: F405
    "persistent_volumes": PersistentVolume,  # noqa: F405
    "storage_classes": StorageClass,  # noqa: F405
}
