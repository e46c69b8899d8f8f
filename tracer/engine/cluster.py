"""`ClusterModel`: a snapshot's objects plus the indexes every engine module reads.

Built once per snapshot (`ClusterModel.build(objects)`), then treated as read-only and cached by
the caller. Indexes are dicts keyed by what traces look up: IP, name, node, namespace — so that a
trace never scans the whole cluster.
"""
from __future__ import annotations

import ipaddress
from collections import defaultdict
from functools import cached_property

from .model import (
    ClusterObjects,
    EndpointSlice,
    Ingress,
    IngressClass,
    Namespace,
    NetworkPolicy,
    Node,
    PersistentVolume,
    PersistentVolumeClaim,
    Pod,
    RouteObject,
    Secret,
    Service,
    StorageClass,
    Workload,
)


class ClusterModel:
    """Read-only view of one snapshot with lookup indexes."""

    def __init__(self, objects: ClusterObjects, snapshot_id: int | None = None):
        self.objects = objects
        self.snapshot_id = snapshot_id
        self.cluster_domain = objects.cluster_domain or "cluster.local"

        self.namespaces: dict[str, Namespace] = {n.name: n for n in objects.namespaces}
        self.nodes: dict[str, Node] = {n.name: n for n in objects.nodes}
        self.node_by_ip: dict[str, Node] = {}
        for node in objects.nodes:
            for ip in node.ips:
                self.node_by_ip.setdefault(ip, node)

        self.pods: dict[str, Pod] = {}  # "ns/name" → Pod
        self.pod_by_ip: dict[str, Pod] = {}  # non-hostNetwork pods only: a node IP is the node's
        self.pods_by_node: dict[str, list[Pod]] = defaultdict(list)
        self.pods_by_namespace: dict[str, list[Pod]] = defaultdict(list)
        self.pods_by_workload: dict[tuple[str, str, str], list[Pod]] = defaultdict(list)
        for pod in objects.pods:
            self.pods[pod.key] = pod
            self.pods_by_node[pod.node_name].append(pod)
            self.pods_by_namespace[pod.namespace].append(pod)
            if pod.workload_kind:
                self.pods_by_workload[(pod.namespace, pod.workload_kind, pod.workload_name)].append(pod)
            if not pod.host_network and pod.phase not in ("Succeeded", "Failed"):
                for ip in pod.ips:
                    self.pod_by_ip.setdefault(ip, pod)

        self.workloads: dict[tuple[str, str, str], Workload] = {
            (w.namespace, w.kind, w.name): w for w in objects.workloads}

        self.services: dict[str, Service] = {s.key: s for s in objects.services}
        self.services_by_namespace: dict[str, list[Service]] = defaultdict(list)
        self.service_by_cluster_ip: dict[str, Service] = {}
        self.services_by_external_ip: dict[str, list[Service]] = defaultdict(list)
        self.services_by_lb_ip: dict[str, list[Service]] = defaultdict(list)
        self.services_with_node_ports: list[Service] = []
        for svc in objects.services:
            self.services_by_namespace[svc.namespace].append(svc)
            if svc.cluster_ip:
                for ip in svc.cluster_ips:
                    if ip and ip != "None":
                        self.service_by_cluster_ip[ip] = svc
            for ip in svc.external_ips:
                self.services_by_external_ip[ip].append(svc)
            for ing in svc.lb_ingress:
                if ing.ip:
                    self.services_by_lb_ip[ing.ip].append(svc)
            if any(p.node_port for p in svc.ports):
                self.services_with_node_ports.append(svc)

        self.slices_by_service: dict[str, list[EndpointSlice]] = defaultdict(list)
        for sl in objects.endpoint_slices:
            self.slices_by_service[f"{sl.namespace}/{sl.service_name}"].append(sl)

        self.ingresses: list[Ingress] = list(objects.ingresses)
        self.ingress_classes: dict[str, IngressClass] = {c.name: c for c in objects.ingress_classes}
        self.policies_by_namespace: dict[str, list[NetworkPolicy]] = defaultdict(list)
        for pol in objects.network_policies:
            self.policies_by_namespace[pol.namespace].append(pol)
        self.secrets: dict[str, Secret] = {f"{s.namespace}/{s.name}": s for s in objects.secrets}
        # Gateway API / controller route objects by kind ("HTTPRoute", "IstioGateway", …); gateway.py types them
        self.route_objects: dict[str, list[RouteObject]] = defaultdict(list)
        for obj in objects.route_objects:
            self.route_objects[obj.kind].append(obj)
        # Storage (I1–I3): claims by "ns/name", volumes and classes by name; storage.py reads them
        self.claims: dict[str, PersistentVolumeClaim] = {c.key: c for c in objects.persistent_volume_claims}
        self.volumes: dict[str, PersistentVolume] = {v.name: v for v in objects.persistent_volumes}
        self.storage_classes: dict[str, StorageClass] = {c.name: c for c in objects.storage_classes}

    @classmethod
    def build(cls, objects: ClusterObjects, snapshot_id: int | None = None) -> ClusterModel:
        return cls(objects, snapshot_id)

    # -- lookups -------------------------------------------------------------------------------

    def namespace_labels(self, name: str) -> dict[str, str]:
        """Labels of a namespace; `kubernetes.io/metadata.name` is always present (as the API server sets it)."""
        ns = self.namespaces.get(name)
        labels = dict(ns.labels) if ns else {}
        labels.setdefault("kubernetes.io/metadata.name", name)
        return labels

    def node_of(self, pod: Pod) -> Node | None:
        return self.nodes.get(pod.node_name)

    def ready_nodes(self) -> list[Node]:
        """Ready nodes sorted by name (the default NodePort entry is the first of them)."""
        return sorted((n for n in self.nodes.values() if n.ready), key=lambda n: n.name)

    def pods_of_workload(self, namespace: str, name: str, kind: str | None = None) -> list[Pod]:
        if kind:
            return sorted(self.pods_by_workload.get((namespace, kind, name), []), key=lambda p: p.name)
        found = [p for (ns, _k, n), pods in self.pods_by_workload.items() if ns == namespace and n == name
                 for p in pods]
        return sorted(found, key=lambda p: p.name)

    @cached_property
    def pod_cidrs(self) -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]]:
        """Every node's pod CIDR with the node name (to tell 'a pod IP with no pod' from 'internet')."""
        nets = []
        for node in self.nodes.values():
            for cidr in node.pod_cidrs:
                try:
                    nets.append((ipaddress.ip_network(cidr, strict=False), node.name))
                except ValueError:
                    continue
        return nets

    def node_for_pod_cidr_ip(self, ip: str) -> str | None:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        for net, node in self.pod_cidrs:
            if addr.version == net.version and addr in net:
                return node
        return None

    def counts(self) -> dict[str, int]:
        o = self.objects
        return {"namespaces": len(o.namespaces), "nodes": len(o.nodes), "workloads": len(o.workloads),
                "pods": len(o.pods), "services": len(o.services), "endpoint_slices": len(o.endpoint_slices),
                "ingresses": len(o.ingresses), "ingress_classes": len(o.ingress_classes),
                "network_policies": len(o.network_policies), "secrets": len(o.secrets),
                "route_objects": len(o.route_objects),
                "persistent_volume_claims": len(o.persistent_volume_claims),
                "persistent_volumes": len(o.persistent_volumes), "storage_classes": len(o.storage_classes)}
