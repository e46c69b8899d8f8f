"""The EndpointSlice controller, replayed: endpoints derived from service selectors.

Why it exists: desired-state manifests and partial dumps have Services and Pods but no
EndpointSlices; kube-proxy and cluster DNS only ever read slices. So for every Service that has a
selector and no slice (a live dump's slices, or ones converted from legacy Endpoints, are
authoritative and left alone), we compute what kube-controller-manager's EndpointSlice controller
would write (staging/src/k8s.io/endpointslice: reconciler.go, utils.go; docs/semantics.md A4, A5, A6, A19):

- membership (A5): same namespace, labels match the selector, the pod has an IP of the slice's
  address family, and its phase is neither Succeeded nor Failed. Terminating pods stay in, marked.
- conditions (A5, A19): serving = pod Ready; terminating = deletionTimestamp set;
  ready = publishNotReadyAddresses or (serving and not terminating).
- ports (A4): a numeric targetPort is taken as is; a named one is looked up per pod among its
  (non-init) container ports by name AND protocol. A pod without it simply has no endpoint port for
  that service port. Like the real controller we group pods by their resolved port list, so pods
  that disagree land in different slices (a pod that resolves none of the ports still appears, in
  a slice with no ports: kube-proxy then ignores it, headless DNS still lists it).
- hostname only when pod.spec.hostname is set and pod.spec.subdomain equals the service name;
  zone from the node's topology.kubernetes.io/zone; nodeName and targetRef from the pod.
- at most 100 endpoints per slice (the controller's default --max-endpoints-per-slice).
- trafficDistribution PreferClose (and its newer spelling PreferSameZone) hints every *ready*
  endpoint that has a zone for its own zone (trafficdist.go `preferCloseHeuristic`).

Assumptions (implementation-defined in the real controller, stated here once):
- slice names are `<service>-<5 hex>` from a hash of service, port set and chunk (the real
  controller uses a random generateName suffix); endpoint order is by pod name.
- a pod whose node is not in the snapshot is skipped, as the real controller does (reconciler.go:
  "skipping Pod for Service, Node not found"), unless the service publishes not-ready addresses —
  but only when the snapshot has Node objects at all: a dump taken without nodes (pods and services
  only) keeps every endpoint, without zone, rather than losing all of them.
- topology-aware hints from the `service.kubernetes.io/topology-mode: Auto` annotation (CPU-
  proportional allocation over zones) are not computed; hints a live dump carries are kept as given.
- an empty selector (`selector: {}`) is treated like no selector: the API server stores an empty
  map as absent, so the controller never selects with it.
"""
from __future__ import annotations

import hashlib
import ipaddress
from collections import defaultdict
from collections.abc import Iterable

from .model import ClusterObjects, Endpoint, EndpointPort, EndpointSlice, Node, Pod, Service

__all__ = ["derive_endpoint_slices", "resolve_target_port", "MAX_ENDPOINTS_PER_SLICE", "MANAGED_BY"]

MAX_ENDPOINTS_PER_SLICE = 100
MANAGED_BY = "endpointslice-controller.k8s.io"
ZONE_LABEL = "topology.kubernetes.io/zone"
_PREFER_CLOSE = {"PreferClose", "PreferSameZone"}


def resolve_target_port(pod: Pod, target: int | str, protocol: str) -> int | None:
    """A4 (`findPort`): the port number `target` means on this pod, or None if the pod lacks it.

    A number needs no declaration on the pod. A name must match a container port's name *and*
    protocol; init containers do not count.
    """
    if isinstance(target, int):
        return target
    for cp in pod.container_ports():
        if cp.name == target and (cp.protocol or "TCP") == protocol:
            return cp.container_port
    return None


def _family(ip: str) -> int | None:
    try:
        return ipaddress.ip_address(ip).version
    except ValueError:
        return None


def _address_types(svc: Service, pods: list[Pod]) -> list[int]:
    """IP families the controller writes slices for: the service's ClusterIP families.

    A headless service has no ClusterIP to tell; we use the families of its pods' primary IPs
    (a single-stack cluster gives exactly that family).
    """
    fams = sorted({f for ip in svc.cluster_ips if ip and ip != "None" and (f := _family(ip))})
    if fams:
        return fams
    return sorted({f for p in pods if p.ips and (f := _family(p.ips[0]))})


def _pod_ips(pod: Pod, family: int) -> tuple[str, ...]:
    """Every pod IP of the slice's family, in status order (getEndpointAddresses)."""
    return tuple(ip for ip in pod.ips if _family(ip) == family)


def _in_endpoints(pod: Pod) -> bool:
    """A5: has an IP and is not finished. Terminating pods are included (marked terminating)."""
    return bool(pod.ips) and pod.phase not in ("Succeeded", "Failed")


def _endpoint_ports(svc: Service, pod: Pod) -> tuple[EndpointPort, ...]:
    ports = []
    for sp in svc.ports:
        number = resolve_target_port(pod, sp.effective_target, sp.protocol or "TCP")
        if number is None:
            continue  # A4: silently no endpoint for this port
        ports.append(EndpointPort(port=number, protocol=sp.protocol or "TCP", name=sp.name,
                                  app_protocol=sp.app_protocol))
    return tuple(ports)


def _endpoint(svc: Service, pod: Pod, ips: tuple[str, ...], node: Node | None) -> Endpoint:
    serving = bool(pod.ready)
    terminating = bool(pod.deleting)
    ready = bool(svc.publish_not_ready_addresses) or (serving and not terminating)
    zone = ""
    if node is not None:
        zone = node.labels.get(ZONE_LABEL, "") or node.zone
    hints: tuple[str, ...] = ()
    if svc.traffic_distribution in _PREFER_CLOSE and zone and ready:
        hints = (zone,)
    return Endpoint(
        addresses=ips, ready=ready, serving=serving, terminating=terminating,
        node_name=pod.node_name, zone=zone, hint_zones=hints,
        hostname=pod.hostname if pod.hostname and pod.subdomain == svc.name else "",
        target_kind="Pod", target_namespace=pod.namespace, target_name=pod.name,
    )


def _slice_name(svc: Service, family: int, ports: tuple[EndpointPort, ...], chunk: int) -> str:
    key = f"{svc.namespace}/{svc.name}/{family}/" + ",".join(
        f"{p.name}:{p.port}/{p.protocol}" for p in ports) + f"/{chunk}"
    return f"{svc.name}-{hashlib.sha1(key.encode()).hexdigest()[:5]}"


class _PodIndex:
    """Pods by (namespace, label key, label value), so a selector never scans a whole namespace."""

    def __init__(self, pods: Iterable[Pod]):
        self.by_label: dict[tuple[str, str, str], list[Pod]] = defaultdict(list)
        for pod in pods:
            if not _in_endpoints(pod):
                continue
            for k, v in pod.labels.items():
                self.by_label[(pod.namespace, k, v)].append(pod)

    def select(self, namespace: str, selector: dict[str, str]) -> list[Pod]:
        lists = [self.by_label.get((namespace, k, v), []) for k, v in selector.items()]
        smallest = min(lists, key=len)
        found = [p for p in smallest if all(p.labels.get(k) == v for k, v in selector.items())]
        return sorted(found, key=lambda p: p.name)


def _slices_for_service(svc: Service, pods: list[Pod], nodes: dict[str, Node]) -> list[EndpointSlice]:
    out: list[EndpointSlice] = []
    for family in _address_types(svc, pods):
        # Grouped by the resolved port list (the controller's PortMapKey); dataclasses are not
        # hashable, so the key is the ports' field tuple.
        groups: dict[tuple, tuple[tuple[EndpointPort, ...], list[Endpoint]]] = {}
        for pod in pods:
            ips = _pod_ips(pod, family)
            if not ips:
                continue
            if nodes and pod.node_name not in nodes and not svc.publish_not_ready_addresses:
                continue  # Node not found: the controller leaves the pod out
            ports = _endpoint_ports(svc, pod)
            key = tuple((p.name, p.port, p.protocol, p.app_protocol) for p in ports)
            groups.setdefault(key, (ports, []))[1].append(_endpoint(svc, pod, ips, nodes.get(pod.node_name)))
        for ports, endpoints in groups.values():
            for chunk, start in enumerate(range(0, len(endpoints), MAX_ENDPOINTS_PER_SLICE)):
                out.append(EndpointSlice(
                    namespace=svc.namespace, name=_slice_name(svc, family, ports, chunk),
                    service_name=svc.name, address_type=f"IPv{family}",
                    endpoints=tuple(endpoints[start:start + MAX_ENDPOINTS_PER_SLICE]),
                    ports=ports, managed_by=MANAGED_BY, derived=True,
                ))
    return out


def derive_endpoint_slices(objects: ClusterObjects) -> list[EndpointSlice]:
    """Slices for every selector Service that has none yet (see the module docstring for rules).

    Services with no matching pod get no slice: the real controller writes one empty
    placeholder slice, which carries no endpoint and changes no path.
    """
    have = {(s.namespace, s.service_name) for s in objects.endpoint_slices}
    wanted = [s for s in objects.services
              if s.type != "ExternalName" and s.selector and (s.namespace, s.name) not in have]
    if not wanted:
        return []
    index = _PodIndex(objects.pods)
    nodes = {n.name: n for n in objects.nodes}
    result: list[EndpointSlice] = []
    for svc in sorted(wanted, key=lambda s: (s.namespace, s.name)):
        pods = index.select(svc.namespace, svc.selector)
        if pods:
            result.extend(_slices_for_service(svc, pods, nodes))
    return result
