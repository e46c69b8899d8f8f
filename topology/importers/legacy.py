"""Legacy `Endpoints` (core/v1) → EndpointSlices, as the EndpointSlice mirroring controller does.

Why: older dumps (`kubectl get endpoints`) and hand-written selector-less services carry only
Endpoints; kube-proxy and DNS read only EndpointSlices. A real cluster mirrors them, so we do too,
but only for services that have no EndpointSlice in the input (slices are authoritative).

Mirroring rules (pkg/controller/endpointslicemirroring): one slice per subset (a subset shares one
port list); `addresses` → ready=true, `notReadyAddresses` → ready=false; serving/terminating are left
unset (nil), exactly as the mirroring controller writes them. Node zone is filled from the Node.
Slices are named `<endpoints>-mirror-<subset>` (the real controller uses a random suffix) and
marked `derived=True`.
"""
from __future__ import annotations

from tracer.engine.model import ClusterObjects, Endpoint, EndpointPort, EndpointSlice

from .fields import Ctx

MIRROR_MANAGER = "endpointslicemirroring-controller.k8s.io"


def slices_from_endpoints(legacy: list[tuple[Ctx, dict]], objects: ClusterObjects,
                          warnings: list[str]) -> list[EndpointSlice]:
    have = {(s.namespace, s.service_name) for s in objects.endpoint_slices}
    zones = {n.name: n.zone for n in objects.nodes}
    out: list[EndpointSlice] = []
    ignored = 0
    for ctx, data in legacy:
        subsets = _read(ctx, data)  # validate every Endpoints object, even one we then ignore
        if (ctx.namespace, ctx.name) in have:
            ignored += 1
            continue
        for i, (endpoints, ports, family) in enumerate(subsets):
            out.append(EndpointSlice(
                namespace=ctx.namespace, name=f"{ctx.name}-mirror-{i}", service_name=ctx.name,
                address_type=family,
                endpoints=tuple(Endpoint(addresses=(ip,), ready=ready, node_name=node,
                                         zone=zones.get(node, ""), hostname=host, target_kind=tk,
                                         target_namespace=tns, target_name=tn)
                                for ip, ready, node, host, tk, tns, tn in endpoints),
                ports=ports, managed_by=MIRROR_MANAGER, derived=True))
    if ignored:
        warnings.append(f"{ignored} legacy Endpoints object(s) ignored: their services have EndpointSlices, "
                        "which are authoritative")
    return out


def _read(ctx: Ctx, data: dict) -> list[tuple[list, tuple[EndpointPort, ...], str]]:
    subsets = []
    for p, subset in ctx.maps(data, "subsets", "subsets"):
        ports = tuple(EndpointPort(port=ctx.port(port, "port", f"{pp}.port", required=True),
                                   protocol=ctx.protocol(port, "protocol", f"{pp}.protocol"),
                                   name=ctx.str(port, "name", f"{pp}.name"),
                                   app_protocol=ctx.str(port, "appProtocol", f"{pp}.appProtocol"))
                      for pp, port in ctx.maps(subset, "ports", f"{p}.ports"))
        by_family: dict[str, list] = {}
        for key, ready in (("addresses", True), ("notReadyAddresses", False)):
            for ap, addr in ctx.maps(subset, key, f"{p}.{key}"):
                ip = ctx.ip(ctx.str(addr, "ip", f"{ap}.ip", required=True), f"{ap}.ip")
                target = ctx.map(addr, "targetRef", f"{ap}.targetRef")
                family = "IPv6" if ":" in ip else "IPv4"
                by_family.setdefault(family, []).append((
                    ip, ready, ctx.str(addr, "nodeName", f"{ap}.nodeName"), ctx.str(addr, "hostname", f"{ap}.hostname"),
                    ctx.str(target, "kind", f"{ap}.targetRef.kind"),
                    ctx.str(target, "namespace", f"{ap}.targetRef.namespace"),
                    ctx.str(target, "name", f"{ap}.targetRef.name")))
        for family, endpoints in sorted(by_family.items()):
            subsets.append((endpoints, ports, family))
    return subsets
