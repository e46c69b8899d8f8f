"""Manifests → engine objects: validate strictly, apply Kubernetes' defaults, normalise.

PURE: no database, no Django models. `parse_objects(docs)` turns documents (see `load.py`) into
`ClusterObjects` plus what was skipped and warned about; `import_files` (in `__init__.py`) persists
them. Conformance tests use it directly to load corpus YAML.

One parser per kind, each reading its manifest the way the API reference lists the fields, with
the defaults the API server would apply (a Service's type ClusterIP, a port's protocol TCP and
targetPort = port, a NetworkPolicy's policyTypes per docs/semantics.md E3, …). Validation mirrors what
the API server would reject, so a manifest `kubectl apply` refuses is refused here too, with the
file, document, object, field and reason.

Cross-object steps, after every document is parsed:
- owners: a pod's workload is its top-level controller (Pod → ReplicaSet → Deployment);
- legacy `Endpoints` become EndpointSlices for services that have none (`legacy.py`);
- services with a selector and still no slice get slices derived from their pods, as the
  EndpointSlice controller would (`tracer.engine.endpointslices`);
- namespaces that objects live in but that the input does not declare are implied (a real
  cluster always has them), with the `kubernetes.io/metadata.name` label the API server sets.

Secrets: only name, namespace, type and the *names* of data/stringData keys are read.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from tracer.engine.endpointslices import derive_endpoint_slices
from tracer.engine.model import (
    ClusterObjects,
    Container,
    ContainerPort,
    Endpoint,
    EndpointPort,
    EndpointSlice,
    HostAlias,
    Ingress,
    IngressBackend,
    IngressClass,
    IngressPath,
    IngressRule,
    IngressTLS,
    IPBlock,
    LabelSelector,
    LoadBalancerIngress,
    Namespace,
    NetworkPolicy,
    Node,
    Pod,
    PolicyPeer,
    PolicyPort,
    PolicyRule,
    Secret,
    Service,
    ServicePort,
    Workload,
)

from .errors import ManifestError
from .fields import PROTOCOLS, Ctx
from .gateway import CLUSTER_SCOPED_ROUTE_KINDS, ROUTE_GROUPS, ROUTE_KINDS, parse_route_object, qualified_kind
from .legacy import slices_from_endpoints
from .load import Document, load_documents
from .volumes import parse_pv, parse_pvc, parse_storage_class, pod_volumes, secret_refs, status_reason

__all__ = ["Document", "ParseResult", "parse_objects", "load_documents", "parse_pod", "dedupe_documents",
           "WORKLOAD_KINDS", "MODELLED_KINDS", "object_key"]

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController")
CLUSTER_SCOPED = ("Namespace", "Node", "IngressClass", "PersistentVolume", "StorageClass", *CLUSTER_SCOPED_ROUTE_KINDS)
ZONE_LABELS = ("topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone")
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?\Z")  # RFC 1123 label: namespace names
_RS_HASH = re.compile(r"^(?P<deploy>.+)-[a-z0-9]{1,10}$")  # pod-template-hash suffix of a ReplicaSet name


@dataclass
class ParseResult:
    objects: ClusterObjects
    skipped: dict[str, int] = field(default_factory=dict)  # unmodelled kind → documents
    warnings: list[str] = field(default_factory=list)
    raw_by_key: dict[tuple[str, str, str], dict] = field(default_factory=dict)  # (kind, ns, name) → manifest

    @property
    def counts(self) -> dict[str, int]:
        o = self.objects
        return {"Namespace": len(o.namespaces), "Node": len(o.nodes), "Workload": len(o.workloads),
                "Pod": len(o.pods), "Service": len(o.services), "EndpointSlice": len(o.endpoint_slices),
                "Ingress": len(o.ingresses), "IngressClass": len(o.ingress_classes),
                "NetworkPolicy": len(o.network_policies), "Secret": len(o.secrets),
                **_route_counts(o), **_storage_counts(o)}


def _storage_counts(o: ClusterObjects) -> dict[str, int]:
    """Storage kinds, only when present (the counts of a cluster without storage stay as they were)."""
    counts = {"PersistentVolumeClaim": len(o.persistent_volume_claims),
              "PersistentVolume": len(o.persistent_volumes), "StorageClass": len(o.storage_classes)}
    return {k: v for k, v in counts.items() if v}


def _route_counts(o: ClusterObjects) -> dict[str, int]:
    """Gateway API / controller route objects per kind, only the kinds present (the counts stay short)."""
    out: dict[str, int] = {}
    for obj in o.route_objects:
        out[obj.kind] = out.get(obj.kind, 0) + 1
    return out


def object_key(doc: Document, default_namespace: str = "default") -> tuple[str, str, str] | None:
    """(kind, namespace, name) of a document, or None when it has no usable kind/name (validated later)."""
    data = doc.data
    kind, meta = data.get("kind"), data.get("metadata")
    if not isinstance(kind, str) or not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
        return None
    ns = "" if kind in CLUSTER_SCOPED else (meta.get("namespace") or default_namespace)
    return (kind, ns if isinstance(ns, str) else "", meta["name"])


def dedupe_documents(docs: list[Document], default_namespace: str = "default") -> tuple[list[Document], list[str]]:
    """Later document wins for the same (kind, namespace, name), as `kubectl apply` in order would."""
    last: dict[tuple[str, str, str], int] = {}
    for i, doc in enumerate(docs):
        key = object_key(doc, default_namespace)
        if key is not None:
            last[key] = i
    out, warnings = [], []
    for i, doc in enumerate(docs):
        key = object_key(doc, default_namespace)
        if key is not None and last[key] != i:
            winner = docs[last[key]]
            warnings.append(f"{_where(doc)}: {_ident(key)} is defined again in {_where(winner)}; "
                            "the later definition wins")
            continue
        out.append(doc)
    return out, warnings


def _where(doc: Document) -> str:
    s = f"{doc.source_file} document {doc.index}"
    return s + (f" items[{doc.item}]" if doc.item is not None else "")


def _ident(key: tuple[str, str, str]) -> str:
    kind, ns, name = key
    return f"{kind} {ns}/{name}" if ns else f"{kind} {name}"


# ---------------------------------------------------------------------------------------------
# Entry point


def parse_objects(docs: list[Document], *, default_namespace: str = "default", allow_duplicates: bool = False,
                  derive_endpoints: bool = True) -> ParseResult:
    """Validate and normalise documents into `ClusterObjects`.

    allow_duplicates: False (a live dump) ⇒ the same (kind, namespace, name) twice is an error;
    True ⇒ the later document wins, with a warning (desired-state manifests applied in order).
    derive_endpoints: compute EndpointSlices for selector services that have none.
    """
    if not isinstance(default_namespace, str) or not _DNS_LABEL.match(default_namespace):
        raise ManifestError(f"{default_namespace!r} is not a valid namespace name (a DNS label: at most 63 "
                            "lower-case letters, digits or '-', starting and ending with a letter or digit)",
                            field="--namespace")
    res = ParseResult(ClusterObjects())
    seen: dict[tuple[str, str, str], Document] = {}
    legacy: dict[tuple[str, str, str], tuple[Ctx, dict]] = {}  # legacy Endpoints (later wins, like the rest)
    parsed: dict[tuple[str, str, str], tuple[Document, Any]] = {}
    for doc in docs:
        kind = qualified_kind(Ctx(doc).str(doc.data, "kind", "kind", required=True), doc.data.get("apiVersion"))
        parser = _PARSERS.get(kind)
        if parser is None and kind != "Endpoints":  # not modelled (Kustomization, Gateway, CRDs, …)
            res.skipped[kind] = res.skipped.get(kind, 0) + 1
            continue
        foreign = _foreign_group(kind, doc.data.get("apiVersion"))
        if foreign:  # same kind name, another API (e.g. Calico's projectcalico.org/v3 NetworkPolicy)
            res.skipped[foreign] = res.skipped.get(foreign, 0) + 1
            continue
        ctx, data = _start(doc, default_namespace)
        key = (kind, ctx.namespace, ctx.name)
        if key in seen:
            first = seen[key]
            if not allow_duplicates:
                raise ctx.error("metadata.name", f"duplicate object: {_ident(key)} is already defined in "
                                                 f"{_where(first)} (a live dump holds each object once)")
            res.warnings.append(f"{_where(doc)}: {_ident(key)} is defined again (first in {_where(first)}); "
                                "the later definition wins")
        seen[key] = doc
        if kind == "Endpoints":
            legacy[key] = (ctx, data)
            continue
        obj = parser(ctx, data)
        parsed[key] = (doc, obj)
        res.raw_by_key[key] = _redacted(data) if kind == "Secret" else data

    _check_allocations(parsed, res.warnings)
    o = res.objects
    lists = {"Namespace": o.namespaces, "Node": o.nodes, "Pod": o.pods, "Service": o.services,
             "EndpointSlice": o.endpoint_slices, "Ingress": o.ingresses, "IngressClass": o.ingress_classes,
             "NetworkPolicy": o.network_policies, "Secret": o.secrets,
             "PersistentVolumeClaim": o.persistent_volume_claims, "PersistentVolume": o.persistent_volumes,
             "StorageClass": o.storage_classes,
             **dict.fromkeys(ROUTE_KINDS, o.route_objects)}
    for (kind, _ns, _name), (_doc, obj) in parsed.items():
        (o.workloads if kind in WORKLOAD_KINDS else lists[kind]).append(obj)

    _resolve_workloads(o)
    _check_endpoint_slices(o, res)
    if legacy:
        res.objects.endpoint_slices.extend(slices_from_endpoints(list(legacy.values()), o, res.warnings))
    if derive_endpoints:
        _derive_endpoints(o)
    _imply_namespaces(o, res)
    _warn_unallocated(o, res)
    return res


# The API groups whose objects we model, per kind. A CRD that reuses a kind name in its own group
# (Calico's NetworkPolicy, Istio's Gateway...) has different semantics and is skipped, not misread.
_GROUPS = {
    **dict.fromkeys(("Namespace", "Node", "Pod", "Service", "Secret", "Endpoints", "ReplicationController",
                     "PersistentVolumeClaim", "PersistentVolume"), ("",)),
    "StorageClass": ("storage.k8s.io",),
    "EndpointSlice": ("discovery.k8s.io",),
    "Ingress": ("networking.k8s.io", "extensions"),
    "IngressClass": ("networking.k8s.io",),
    "NetworkPolicy": ("networking.k8s.io", "extensions"),
    **dict.fromkeys(("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"), ("apps", "extensions")),
    "Job": ("batch",),
    **ROUTE_GROUPS,
}


def _foreign_group(kind: str, api_version) -> str | None:
    """'Kind (group/version)' when `api_version` names a group we do not model for `kind`."""
    if not isinstance(api_version, str) or not api_version:
        return None  # a missing/odd apiVersion is reported by the validator with its field
    group = api_version.rpartition("/")[0]
    allowed = _GROUPS.get(kind)
    if allowed is None or group in allowed:
        return None
    return f"{kind} ({api_version})"


def _warn_unallocated(o: ClusterObjects, res: ParseResult) -> None:
    """Desired-state Services imported as a live dump have no ClusterIP: they would look headless."""
    missing = [s.key for s in o.services if s.type != "ExternalName" and not s.cluster_ips]
    if missing:
        res.warnings.append(f"{len(missing)} service(s) have no clusterIP and are treated as headless "
                            f"({', '.join(missing[:5])}{', …' if len(missing) > 5 else ''}); for desired-state "
                            "manifests import with --materialize to allocate addresses")


def _start(doc: Document, default_namespace: str) -> tuple[Ctx, dict]:
    """Read apiVersion/kind/metadata.name/namespace: what every error message needs."""
    data = doc.data
    ctx = Ctx(doc)
    ctx.kind = ctx.str(data, "kind", "kind", required=True)
    ctx.str(data, "apiVersion", "apiVersion", required=True)
    meta = ctx.map(data, "metadata", "metadata", required=True)
    name = meta.get("name")
    if not name and meta.get("generateName"):
        raise ctx.error("metadata.name", "required; generateName is not supported (the server's random "
                                         "suffix cannot be known): give the object a name")
    ctx.name = ctx.str(meta, "name", "metadata.name", required=True)
    if len(ctx.name) > 253:
        raise ctx.error("metadata.name", "longer than 253 characters")
    if ctx.kind not in CLUSTER_SCOPED:
        ctx.namespace = ctx.str(meta, "namespace", "metadata.namespace", default_namespace)
        if not _DNS_LABEL.match(ctx.namespace):
            raise ctx.error("metadata.namespace", f"{ctx.namespace!r} is not a valid namespace name (a DNS label)")
    elif ctx.kind == "Namespace" and not _DNS_LABEL.match(ctx.name):
        raise ctx.error("metadata.name", f"{ctx.name!r} is not a valid namespace name (a DNS label)")
    return ctx, data


def _meta(ctx: Ctx, data: dict) -> tuple[dict, dict[str, str], dict[str, str], str]:
    meta = data["metadata"]
    labels = ctx.labels(meta, "labels", "metadata.labels")
    annotations = ctx.labels(meta, "annotations", "metadata.annotations", label_syntax=False)
    annotations = {k: v for k, v in annotations.items() if k != LAST_APPLIED}  # a copy of the manifest: noise
    created = meta.get("creationTimestamp")
    return meta, labels, annotations, created if isinstance(created, str) else ""


def _owner(ctx: Ctx, meta: dict) -> tuple[str, str]:
    """The controlling owner reference (controller: true), else the first one."""
    refs = ctx.maps(meta, "ownerReferences", "metadata.ownerReferences")
    chosen = next((r for _p, r in refs if r.get("controller") is True), None)
    if chosen is None and refs:
        chosen = refs[0][1]
    if chosen is None:
        return "", ""
    i = next(i for i, (_p, r) in enumerate(refs) if r is chosen)
    path = f"metadata.ownerReferences[{i}]"
    return ctx.str(chosen, "kind", f"{path}.kind", required=True), ctx.str(chosen, "name", f"{path}.name",
                                                                           required=True)


# ---------------------------------------------------------------------------------------------
# Cluster infrastructure


def parse_namespace(ctx: Ctx, data: dict) -> Namespace:
    _meta_, labels, _a, _c = _meta(ctx, data)
    # The API server labels every namespace with its own name (since 1.21); policies select on it.
    return Namespace(name=ctx.name, labels={**labels, NAMESPACE_NAME_LABEL: ctx.name})


def parse_node(ctx: Ctx, data: dict) -> Node:
    _m, labels, _a, _c = _meta(ctx, data)
    spec = ctx.map(data, "spec", "spec")
    status = ctx.map(data, "status", "status")
    addresses = []
    for p, a in ctx.maps(status, "addresses", "status.addresses"):
        typ = ctx.str(a, "type", f"{p}.type", required=True)
        addr = ctx.str(a, "address", f"{p}.address", required=True)
        if typ in ("InternalIP", "ExternalIP"):
            addr = ctx.ip(addr, f"{p}.address")
        addresses.append((typ, addr))
    cidrs = ctx.cidrs(spec, "podCIDRs", "spec.podCIDRs")
    if not cidrs and spec.get("podCIDR"):
        cidrs = (ctx.cidr(spec["podCIDR"], "spec.podCIDR"),)
    ready = True  # a node without status (desired state) is assumed Ready
    for p, c in ctx.maps(status, "conditions", "status.conditions"):
        if c.get("type") == "Ready":
            ready = ctx.str(c, "status", f"{p}.status", "Unknown") == "True"
    zone = next((labels[z] for z in ZONE_LABELS if labels.get(z)), "")
    kubelet = ctx.map(ctx.map(status, "daemonEndpoints", "status.daemonEndpoints"), "kubeletEndpoint",
                      "status.daemonEndpoints.kubeletEndpoint")
    kubelet_port = ctx.port(kubelet, "Port", "status.daemonEndpoints.kubeletEndpoint.Port") or 10250
    return Node(name=ctx.name, labels=labels, addresses=tuple(addresses), pod_cidrs=cidrs, zone=zone,
                ready=ready, unschedulable=ctx.bool(spec, "unschedulable", "spec.unschedulable"),
                kubelet_port=kubelet_port)


# ---------------------------------------------------------------------------------------------
# Workloads and pods


def parse_workload(ctx: Ctx, data: dict) -> Workload:
    meta, labels, _a, created = _meta(ctx, data)
    spec = ctx.map(data, "spec", "spec")
    kind = ctx.kind
    template = ctx.map(spec, "template", "spec.template", required=kind != "ReplicationController")
    tmeta = ctx.map(template, "metadata", "spec.template.metadata")
    tlabels = ctx.labels(tmeta, "labels", "spec.template.metadata.labels")
    if template:
        tspec = ctx.map(template, "spec", "spec.template.spec", required=True)
        _containers(ctx, tspec, "spec.template.spec")  # validate the pod template now, not at materialise
        pod_volumes(ctx, tspec, "spec.template.spec", ctx.name)
        secret_refs(ctx, tspec, "spec.template.spec")
    if kind == "ReplicationController":
        plain = ctx.labels(spec, "selector", "spec.selector")  # RC: a plain map, defaulting to template labels
        selector = LabelSelector(match_labels=dict(plain or tlabels))
    else:
        selector = ctx.selector(spec, "selector", "spec.selector")
        if selector is None:
            # apps/v1 requires it; Jobs generate one; older API versions defaulted to the template labels.
            selector = LabelSelector(match_labels=dict(tlabels))
    if template and kind != "Job" and not selector.is_empty() and not selector.matches(tlabels):
        raise ctx.error("spec.selector", f"selector ({selector.describe()}) does not match the template "
                                         "labels (spec.template.metadata.labels)")
    if kind == "DaemonSet":
        replicas = None
    elif kind == "Job":
        replicas = ctx.int(spec, "parallelism", "spec.parallelism", 1, lo=0)
    else:
        replicas = ctx.int(spec, "replicas", "spec.replicas", 1, lo=0)
    owner_kind, owner_name = _owner(ctx, meta)
    return Workload(kind=kind, namespace=ctx.namespace, name=ctx.name, labels=labels, selector=selector,
                    replicas=replicas,
                    service_name=ctx.str(spec, "serviceName", "spec.serviceName") if kind == "StatefulSet" else "",
                    owner_kind=owner_kind, owner_name=owner_name, template=_template_without_values(template),
                    created=created, claim_templates=_claim_templates(ctx, spec) if kind == "StatefulSet" else ())


def _claim_templates(ctx: Ctx, spec: dict) -> tuple[str, ...]:
    """A StatefulSet's volumeClaimTemplates names: each replica gets claim `<template>-<sts>-<ordinal>` (I3)."""
    return tuple(ctx.str(ctx.map(t, "metadata", f"{p}.metadata", required=True), "name", f"{p}.metadata.name",
                         required=True)
                 for p, t in ctx.maps(spec, "volumeClaimTemplates", "spec.volumeClaimTemplates"))


def _template_without_values(template: dict) -> dict:
    """The pod template as stored: literal `env[].value`s removed (kept: names and valueFrom refs).

    Why: manifests often inline credentials as env values. Nothing downstream needs them (the
    materialiser works on the raw documents before this), and a stored value is a leaked value.
    """
    spec = template.get("spec") if isinstance(template, dict) else None
    if not isinstance(spec, dict):
        return template
    out_spec = dict(spec)
    for key in ("containers", "initContainers", "ephemeralContainers"):
        containers = spec.get(key)
        if not isinstance(containers, list):
            continue
        cleaned = []
        for c in containers:
            if isinstance(c, dict) and isinstance(c.get("env"), list):
                c = dict(c)
                c["env"] = [{k: v for k, v in e.items() if k != "value"} if isinstance(e, dict) else e
                            for e in c["env"]]
            cleaned.append(c)
        out_spec[key] = cleaned
    return {**template, "spec": out_spec}


def _containers(ctx: Ctx, spec: dict, path: str) -> tuple[Container, ...]:
    out = []
    for key, init in (("initContainers", True), ("containers", False)):
        items = ctx.maps(spec, key, f"{path}.{key}", required=key == "containers")
        if key == "containers" and not items:
            raise ctx.error(f"{path}.containers", "a pod needs at least one container")
        for p, c in items:
            name = ctx.str(c, "name", f"{p}.name", required=True)
            ports = []
            names: set[str] = set()
            for pp, port in ctx.maps(c, "ports", f"{p}.ports"):
                pname = ctx.str(port, "name", f"{pp}.name")
                if pname:
                    ctx.check_port_name(pname, f"{pp}.name")
                    if pname in names:
                        raise ctx.error(f"{pp}.name", f"duplicate port name {pname!r} in container {name!r}")
                    names.add(pname)
                host_ip = ctx.str(port, "hostIP", f"{pp}.hostIP")
                ports.append(ContainerPort(
                    container_port=ctx.port(port, "containerPort", f"{pp}.containerPort", required=True),
                    protocol=ctx.protocol(port, "protocol", f"{pp}.protocol"), name=pname,
                    host_port=ctx.port(port, "hostPort", f"{pp}.hostPort"),
                    host_ip=ctx.ip(host_ip, f"{pp}.hostIP") if host_ip else ""))
            args = ctx.strs(c, "command", f"{p}.command") + ctx.strs(c, "args", f"{p}.args")
            # A native sidecar (an init container with restartPolicy: Always) keeps running, and its
            # ports resolve named targetPorts like a regular container's (podutil.FindPort, 1.29+).
            sidecar = init and ctx.str(c, "restartPolicy", f"{p}.restartPolicy", choices=("Always",)) == "Always"
            out.append(Container(name=name, image=ctx.str(c, "image", f"{p}.image"), ports=tuple(ports),
                                 args=args, init=init and not sidecar, probe_ports=_probe_ports(ctx, c, p, ports)))
    return tuple(out)


def _probe_ports(ctx: Ctx, c: dict, path: str, ports: list[ContainerPort]) -> tuple[int, ...]:
    """H4: the ports a container's probes connect to (a process listens there), named ports resolved."""
    out: list[int] = []
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        spec = ctx.map(c, probe, f"{path}.{probe}")
        for handler in ("httpGet", "tcpSocket", "grpc"):
            h = ctx.map(spec, handler, f"{path}.{probe}.{handler}")
            if not h:
                continue
            value = (ctx.port(h, "port", f"{path}.{probe}.{handler}.port") if handler == "grpc"
                     else ctx.int_or_name(h, "port", f"{path}.{probe}.{handler}.port"))
            if isinstance(value, str):
                value = next((cp.container_port for cp in ports if cp.name == value), None)
            if isinstance(value, int) and value not in out:
                out.append(value)
    return tuple(out)


def _host_aliases(ctx: Ctx, spec: dict) -> tuple[HostAlias, ...]:
    """H2: spec.hostAliases, the lines the kubelet appends to the pod's /etc/hosts."""
    out = []
    for p, a in ctx.maps(spec, "hostAliases", "spec.hostAliases"):
        ip = ctx.ip(ctx.str(a, "ip", f"{p}.ip", required=True), f"{p}.ip")
        names = tuple(n.lower() for n in ctx.strs(a, "hostnames", f"{p}.hostnames"))
        out.append(HostAlias(ip=ip, hostnames=names))
    return tuple(out)


DNS_POLICIES = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
POD_PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")


def parse_pod(ctx_or_doc: Ctx | Document | dict, data: dict | None = None, *, namespace: str = "default") -> Pod:
    """One Pod. Callable as `parse_pod(ctx, data)` (internal), `parse_pod(document)` or `parse_pod(dict)`."""
    if not isinstance(ctx_or_doc, Ctx):
        doc = ctx_or_doc if isinstance(ctx_or_doc, Document) else Document("<pod>", 1, ctx_or_doc)
        ctx_or_doc, data = _start(doc, namespace)
    ctx = ctx_or_doc
    assert data is not None
    meta, labels, _a, created = _meta(ctx, data)
    spec = ctx.map(data, "spec", "spec", required=True)
    status = ctx.map(data, "status", "status")
    ips = tuple(ctx.ip(ctx.str(p, "ip", f"{path}.ip", required=True), f"{path}.ip")
                for path, p in ctx.maps(status, "podIPs", "status.podIPs"))
    pod_ip = ctx.str(status, "podIP", "status.podIP")
    if pod_ip:
        pod_ip = ctx.ip(pod_ip, "status.podIP")
        if pod_ip not in ips:
            ips = (pod_ip, *ips)
    host_ip = ctx.str(status, "hostIP", "status.hostIP")
    host_network = ctx.bool(spec, "hostNetwork", "spec.hostNetwork")
    if host_network and not ips and host_ip:
        ips = (ctx.ip(host_ip, "status.hostIP"),)  # the kubelet reports a hostNetwork pod's IP as its node's
    phase = ctx.str(status, "phase", "status.phase", "Running" if ips else "Pending", choices=POD_PHASES)
    ready = None
    for p, c in ctx.maps(status, "conditions", "status.conditions"):
        if c.get("type") == "Ready":
            ready = ctx.str(c, "status", f"{p}.status", "Unknown") == "True"
    if ready is None:
        # No Ready condition (desired state, or a trimmed dump): assume a running pod with an IP is ready.
        ready = phase == "Running" and bool(ips)
    owner_kind, owner_name = _owner(ctx, meta)
    dns_config = ctx.map(spec, "dnsConfig", "spec.dnsConfig")
    if dns_config:
        ctx.ips(dns_config, "nameservers", "spec.dnsConfig.nameservers")
        ctx.strs(dns_config, "searches", "spec.dnsConfig.searches")
        ctx.maps(dns_config, "options", "spec.dnsConfig.options")
    dns_policy = ctx.str(spec, "dnsPolicy", "spec.dnsPolicy", "ClusterFirst", choices=DNS_POLICIES)
    if dns_policy == "None" and not dns_config.get("nameservers"):
        raise ctx.error("spec.dnsConfig.nameservers", "required when dnsPolicy is None")
    return Pod(
        namespace=ctx.namespace, name=ctx.name, labels=labels, ips=ips,
        node_name=ctx.str(spec, "nodeName", "spec.nodeName"),
        host_ip=ctx.ip(host_ip, "status.hostIP") if host_ip else "",
        phase=phase, ready=ready, deleting=meta.get("deletionTimestamp") is not None,
        host_network=host_network,
        hostname=ctx.str(spec, "hostname", "spec.hostname"), subdomain=ctx.str(spec, "subdomain", "spec.subdomain"),
        dns_policy=dns_policy, dns_config=dns_config,
        enable_service_links=ctx.bool(spec, "enableServiceLinks", "spec.enableServiceLinks", True),
        containers=_containers(ctx, spec, "spec"),
        owner_kind=owner_kind, owner_name=owner_name,
        service_account=(ctx.str(spec, "serviceAccountName", "spec.serviceAccountName")
                         or ctx.str(spec, "serviceAccount", "spec.serviceAccount") or "default"),
        created=created, volumes=pod_volumes(ctx, spec, "spec", ctx.name), secret_refs=secret_refs(ctx, spec, "spec"),
        status_reason=status_reason(status) if not (phase == "Running" and ready) else "",
        host_aliases=_host_aliases(ctx, spec))


def _resolve_workloads(o: ClusterObjects) -> None:
    """pod.workload_* = the top-level controller: Deployment for a ReplicaSet it owns.

    When the ReplicaSet is not in the input, a Deployment is inferred from the ReplicaSet's name
    (`<deployment>-<pod-template-hash>`) only if a Deployment of that name exists; otherwise the
    ReplicaSet itself is the workload. Node-owned (static mirror) pods have no workload.
    """
    by_key = {(w.namespace, w.kind, w.name): w for w in o.workloads}
    deployments = {(w.namespace, w.name) for w in o.workloads if w.kind == "Deployment"}
    for pod in o.pods:
        kind, name = pod.owner_kind, pod.owner_name
        if not kind or kind == "Node":
            continue
        if kind == "ReplicaSet":
            rs = by_key.get((pod.namespace, "ReplicaSet", name))
            if rs is not None:
                if rs.owner_kind == "Deployment":
                    kind, name = "Deployment", rs.owner_name
            else:
                m = _RS_HASH.match(name)
                if m and (pod.namespace, m["deploy"]) in deployments:
                    kind, name = "Deployment", m["deploy"]
        elif kind == "Job":
            job = by_key.get((pod.namespace, "Job", name))
            if job is not None and job.owner_kind in WORKLOAD_KINDS:
                kind, name = job.owner_kind, job.owner_name
        pod.workload_kind, pod.workload_name = kind, name


# ---------------------------------------------------------------------------------------------
# Services and endpoints


SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")


def parse_service(ctx: Ctx, data: dict) -> Service:
    _m, labels, annotations, created = _meta(ctx, data)
    spec = ctx.map(data, "spec", "spec")
    status = ctx.map(data, "status", "status")
    typ = ctx.str(spec, "type", "spec.type", "ClusterIP", choices=SERVICE_TYPES)

    cluster_ips = list(ctx.strs(spec, "clusterIPs", "spec.clusterIPs"))
    single = ctx.str(spec, "clusterIP", "spec.clusterIP")
    if single and not cluster_ips:
        cluster_ips = [single]
    elif single and cluster_ips and cluster_ips[0] != single:
        raise ctx.error("spec.clusterIPs", f"clusterIPs[0] ({cluster_ips[0]}) must equal clusterIP ({single})")
    for i, ip in enumerate(cluster_ips):
        if ip != "None":
            cluster_ips[i] = ctx.ip(ip, f"spec.clusterIPs[{i}]")
    if typ == "ExternalName":
        cluster_ips = []
    elif "None" in cluster_ips and typ != "ClusterIP":
        raise ctx.error("spec.clusterIP", f"a headless service (clusterIP: None) must be of type ClusterIP, not {typ}")

    ports, names, seen = [], set(), set()
    raw_ports = ctx.maps(spec, "ports", "spec.ports")
    for p, port in raw_ports:
        name = ctx.str(port, "name", f"{p}.name")
        if len(raw_ports) > 1 and not name:
            raise ctx.error(f"{p}.name", "required when a service has more than one port")
        if name in names:
            raise ctx.error(f"{p}.name", f"duplicate port name {name!r}")
        names.add(name)
        number = ctx.port(port, "port", f"{p}.port", required=True)
        protocol = ctx.protocol(port, "protocol", f"{p}.protocol")
        if (number, protocol) in seen:
            raise ctx.error(f"{p}.port", f"duplicate port {number}/{protocol}")
        seen.add((number, protocol))
        target = ctx.int_or_name(port, "targetPort", f"{p}.targetPort")
        node_port = ctx.port(port, "nodePort", f"{p}.nodePort")
        if node_port is not None and typ not in ("NodePort", "LoadBalancer"):
            raise ctx.error(f"{p}.nodePort", f"only NodePort and LoadBalancer services have node ports, not {typ}")
        ports.append(ServicePort(port=number, protocol=protocol, name=name,
                                 target_port=number if target is None else target, node_port=node_port,
                                 app_protocol=ctx.str(port, "appProtocol", f"{p}.appProtocol")))
    if typ == "ExternalName":
        external_name = ctx.str(spec, "externalName", "spec.externalName", required=True)
    else:
        external_name = ""
        if not ports and "None" not in cluster_ips:
            raise ctx.error("spec.ports", "a service needs at least one port (only headless services may have none)")

    selector = ctx.labels(spec, "selector", "spec.selector") or None
    lb_ingress = []
    lb = ctx.map(status, "loadBalancer", "status.loadBalancer")
    for p, ing in ctx.maps(lb, "ingress", "status.loadBalancer.ingress"):
        ip = ctx.str(ing, "ip", f"{p}.ip")
        lb_ingress.append(LoadBalancerIngress(
            ip=ctx.ip(ip, f"{p}.ip") if ip else "", hostname=ctx.str(ing, "hostname", f"{p}.hostname"),
            ip_mode=ctx.str(ing, "ipMode", f"{p}.ipMode", choices=("VIP", "Proxy"))))
    external = typ in ("NodePort", "LoadBalancer")
    etp = ctx.str(spec, "externalTrafficPolicy", "spec.externalTrafficPolicy", "Cluster",
                  choices=("Cluster", "Local", "Global"))
    affinity_cfg = ctx.map(ctx.map(spec, "sessionAffinityConfig", "spec.sessionAffinityConfig"), "clientIP",
                           "spec.sessionAffinityConfig.clientIP")
    return Service(
        namespace=ctx.namespace, name=ctx.name, type=typ, cluster_ips=tuple(cluster_ips), ports=tuple(ports),
        selector=selector, external_ips=ctx.ips(spec, "externalIPs", "spec.externalIPs"),
        lb_ingress=tuple(lb_ingress), lb_source_ranges=ctx.cidrs(spec, "loadBalancerSourceRanges",
                                                                 "spec.loadBalancerSourceRanges"),
        external_traffic_policy="Cluster" if etp == "Global" or not (external or spec.get("externalIPs")) else etp,
        internal_traffic_policy=ctx.str(spec, "internalTrafficPolicy", "spec.internalTrafficPolicy", "Cluster",
                                        choices=("Cluster", "Local")),
        health_check_node_port=ctx.port(spec, "healthCheckNodePort", "spec.healthCheckNodePort"),
        session_affinity=ctx.str(spec, "sessionAffinity", "spec.sessionAffinity", "None",
                                 choices=("None", "ClientIP")),
        session_affinity_timeout=ctx.int(affinity_cfg, "timeoutSeconds",
                                         "spec.sessionAffinityConfig.clientIP.timeoutSeconds", 10800,
                                         lo=1, hi=86400),
        publish_not_ready_addresses=ctx.bool(spec, "publishNotReadyAddresses", "spec.publishNotReadyAddresses"),
        external_name=external_name,
        traffic_distribution=ctx.str(spec, "trafficDistribution", "spec.trafficDistribution"),
        allocate_lb_node_ports=ctx.bool(spec, "allocateLoadBalancerNodePorts",
                                        "spec.allocateLoadBalancerNodePorts", True),
        labels=labels, annotations=annotations, created=created)


def parse_endpoint_slice(ctx: Ctx, data: dict) -> EndpointSlice:
    _m, labels, _a, _c = _meta(ctx, data)
    address_type = ctx.str(data, "addressType", "addressType", required=True, choices=("IPv4", "IPv6", "FQDN"))
    endpoints = []
    for p, ep in ctx.maps(data, "endpoints", "endpoints"):
        addresses = ctx.strs(ep, "addresses", f"{p}.addresses")
        if not addresses:
            raise ctx.error(f"{p}.addresses", "an endpoint needs at least one address")
        if address_type != "FQDN":
            addresses = tuple(ctx.ip(a, f"{p}.addresses[{i}]") for i, a in enumerate(addresses))
        cond = ctx.map(ep, "conditions", f"{p}.conditions")
        hints = ctx.map(ep, "hints", f"{p}.hints")
        target = ctx.map(ep, "targetRef", f"{p}.targetRef")
        endpoints.append(Endpoint(
            addresses=addresses,
            ready=ctx.bool(cond, "ready", f"{p}.conditions.ready", None),  # nil kept: means true (A6)
            serving=ctx.bool(cond, "serving", f"{p}.conditions.serving", None),
            terminating=ctx.bool(cond, "terminating", f"{p}.conditions.terminating", None),
            node_name=ctx.str(ep, "nodeName", f"{p}.nodeName"), zone=ctx.str(ep, "zone", f"{p}.zone"),
            hint_zones=tuple(ctx.str(z, "name", f"{zp}.name", required=True)
                             for zp, z in ctx.maps(hints, "forZones", f"{p}.hints.forZones")),
            hostname=ctx.str(ep, "hostname", f"{p}.hostname"),
            target_kind=ctx.str(target, "kind", f"{p}.targetRef.kind"),
            target_namespace=ctx.str(target, "namespace", f"{p}.targetRef.namespace"),
            target_name=ctx.str(target, "name", f"{p}.targetRef.name")))
    ports = []
    for p, port in ctx.maps(data, "ports", "ports"):
        ports.append(EndpointPort(port=ctx.port(port, "port", f"{p}.port"),
                                  protocol=ctx.protocol(port, "protocol", f"{p}.protocol"),
                                  name=ctx.str(port, "name", f"{p}.name"),
                                  app_protocol=ctx.str(port, "appProtocol", f"{p}.appProtocol")))
    return EndpointSlice(namespace=ctx.namespace, name=ctx.name, service_name=labels.get(SERVICE_NAME_LABEL, ""),
                         address_type=address_type, endpoints=tuple(endpoints), ports=tuple(ports),
                         managed_by=labels.get(MANAGED_BY_LABEL, ""))


def _check_allocations(parsed: dict[tuple[str, str, str], tuple[Document, Any]], warnings: list[str]) -> None:
    """ClusterIPs and NodePorts are allocated once cluster-wide: the API server refuses a second user.

    A pod IP belongs to one live pod at a time (the CNI's IPAM), but a dump may still show two (taken while a
    pod was being replaced; hand-edited test data): that is a warning naming both — a trace to the IP reaches
    the first pod in input order. Finished (Succeeded/Failed) and hostNetwork pods share IPs legitimately.
    """
    ips: dict[str, str] = {}
    node_ports: dict[tuple[int, str], str] = {}
    pod_ips: dict[str, str] = {}
    shared: list[str] = []
    for (kind, ns, name), (doc, svc) in parsed.items():
        if kind == "Pod":
            if svc.host_network or svc.phase in ("Succeeded", "Failed"):
                continue
            for i, ip in enumerate(svc.ips):
                other = pod_ips.setdefault(ip, svc.key)
                if other != svc.key:
                    shared.append(f"{_where(doc)} (Pod {svc.key}): status.podIPs[{i}]: {ip} is also the IP of pod {other}")
            continue
        if kind != "Service":
            continue
        ctx = Ctx(doc, kind, ns, name)
        for i, ip in enumerate(svc.cluster_ips):
            if ip == "None":
                continue
            other = ips.setdefault(ip, svc.key)
            if other != svc.key:
                raise ctx.error(f"spec.clusterIPs[{i}]", f"{ip} is already allocated to service {other}")
        for i, port in enumerate(svc.ports):
            if port.node_port is None:
                continue
            other = node_ports.setdefault((port.node_port, port.protocol), svc.key)
            if other != svc.key:
                raise ctx.error(f"spec.ports[{i}].nodePort", f"{port.node_port}/{port.protocol} is already "
                                                             f"allocated to service {other}")
    if shared:
        warnings.append(f"{len(shared)} live pod(s) share an IP with another live pod; a trace to such an IP "
                        f"reaches the first pod in input order: {'; '.join(shared[:5])}{' …' if len(shared) > 5 else ''}")


def _check_endpoint_slices(o: ClusterObjects, res: ParseResult) -> None:
    unlabelled = [f"{s.namespace}/{s.name}" for s in o.endpoint_slices if not s.service_name]
    if unlabelled:
        res.warnings.append(f"EndpointSlices without the {SERVICE_NAME_LABEL} label belong to no service and are "
                            f"ignored by kube-proxy: {', '.join(unlabelled[:10])}"
                            + (f" and {len(unlabelled) - 10} more" if len(unlabelled) > 10 else ""))


def _derive_endpoints(o: ClusterObjects) -> None:
    """Selector services with no slice (and no legacy Endpoints): what the EndpointSlice controller writes."""
    o.endpoint_slices.extend(derive_endpoint_slices(o))


# ---------------------------------------------------------------------------------------------
# Ingress


PATH_TYPES = ("Exact", "Prefix", "ImplementationSpecific")


def _backend(ctx: Ctx, b: dict, path: str) -> IngressBackend:
    svc = ctx.map(b, "service", f"{path}.service")
    resource = ctx.map(b, "resource", f"{path}.resource")
    if svc and resource:
        raise ctx.error(path, "a backend has either service or resource, not both")
    if svc:
        port = ctx.map(svc, "port", f"{path}.service.port", required=True)
        name = ctx.str(port, "name", f"{path}.service.port.name")
        number = ctx.port(port, "number", f"{path}.service.port.number")
        if bool(name) == (number is not None):
            raise ctx.error(f"{path}.service.port", "exactly one of name or number is required")
        return IngressBackend(service_name=ctx.str(svc, "name", f"{path}.service.name", required=True),
                              port_name=name, port_number=number)
    if b.get("serviceName") is not None:  # extensions/v1beta1 and networking.k8s.io/v1beta1
        target = ctx.int_or_name(b, "servicePort", f"{path}.servicePort")
        if target is None:
            raise ctx.error(f"{path}.servicePort", "required field is missing")
        return IngressBackend(service_name=ctx.str(b, "serviceName", f"{path}.serviceName", required=True),
                              port_name=target if isinstance(target, str) else "",
                              port_number=target if isinstance(target, int) else None)
    if resource:
        ctx.str(resource, "kind", f"{path}.resource.kind", required=True)
        ctx.str(resource, "name", f"{path}.resource.name", required=True)
        return IngressBackend(resource=dict(resource))
    raise ctx.error(path, "a backend needs service (name and port) or resource")


def _host(ctx: Ctx, host: str, path: str) -> str:
    if not host:
        return ""
    label = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    parts = host.split(".")
    if parts[0] == "*":
        parts = parts[1:]
        if not parts:
            raise ctx.error(path, f"{host!r}: a wildcard host needs a domain after '*.'")
    if host.replace(".", "").isdigit() or ":" in host:
        raise ctx.error(path, f"{host!r}: must be a DNS name, not an IP address")
    if len(host) > 253 or not all(label.match(p) for p in parts):
        raise ctx.error(path, f"{host!r} is not a valid DNS name (lower-case; '*' only as the whole first label)")
    return host


def parse_ingress(ctx: Ctx, data: dict) -> Ingress:
    _m, _labels, annotations, created = _meta(ctx, data)
    spec = ctx.map(data, "spec", "spec")
    v1 = data.get("apiVersion") == "networking.k8s.io/v1"
    rules = []
    for p, r in ctx.maps(spec, "rules", "spec.rules"):
        host = _host(ctx, ctx.str(r, "host", f"{p}.host"), f"{p}.host")
        paths = []
        http = ctx.map(r, "http", f"{p}.http")
        for pp, ip in ctx.maps(http, "paths", f"{p}.http.paths", required=bool(http)):
            ptype = ctx.str(ip, "pathType", f"{pp}.pathType", "" if v1 else "ImplementationSpecific",
                            required=v1, choices=PATH_TYPES)
            pth = ctx.str(ip, "path", f"{pp}.path", "/" if ptype == "ImplementationSpecific" else "",
                          required=ptype != "ImplementationSpecific")
            if ptype in ("Exact", "Prefix") and not pth.startswith("/"):
                raise ctx.error(f"{pp}.path", f"{pth!r} must be an absolute path (start with '/')")
            paths.append(IngressPath(path=pth, path_type=ptype,
                                     backend=_backend(ctx, ctx.map(ip, "backend", f"{pp}.backend", required=True),
                                                      f"{pp}.backend")))
        rules.append(IngressRule(host=host, paths=tuple(paths)))
    default = spec.get("defaultBackend") if "defaultBackend" in spec else spec.get("backend")
    dkey = "defaultBackend" if "defaultBackend" in spec else "backend"
    tls = tuple(IngressTLS(hosts=tuple(_host(ctx, h, f"{p}.hosts[{i}]")
                                       for i, h in enumerate(ctx.strs(t, "hosts", f"{p}.hosts"))),
                           secret_name=ctx.str(t, "secretName", f"{p}.secretName"))
                for p, t in ctx.maps(spec, "tls", "spec.tls"))
    if not rules and default is None:
        raise ctx.error("spec", "an Ingress needs rules or a defaultBackend")
    return Ingress(namespace=ctx.namespace, name=ctx.name,
                   class_name=ctx.str(spec, "ingressClassName", "spec.ingressClassName"),
                   annotations=annotations,  # the legacy kubernetes.io/ingress.class annotation stays here
                   rules=tuple(rules),
                   default_backend=_backend(ctx, ctx.map(spec, dkey, f"spec.{dkey}"), f"spec.{dkey}")
                   if default is not None else None,
                   tls=tls, created=created, status_addresses=_lb_status_addresses(ctx, data))


def _lb_status_addresses(ctx: Ctx, data: dict) -> tuple[str, ...]:
    """status.loadBalancer.ingress[].ip or .hostname: the address the Ingress publishes (a request to it goes
    through its controller)."""
    status = ctx.map(data, "status", "status")
    lb = ctx.map(status, "loadBalancer", "status.loadBalancer")
    out = []
    for p, ing in ctx.maps(lb, "ingress", "status.loadBalancer.ingress"):
        ip = ctx.str(ing, "ip", f"{p}.ip")
        addr = ctx.ip(ip, f"{p}.ip") if ip else ctx.str(ing, "hostname", f"{p}.hostname").lower()
        if addr and addr not in out:
            out.append(addr)
    return tuple(out)


def parse_ingress_class(ctx: Ctx, data: dict) -> IngressClass:
    _m, _labels, annotations, _c = _meta(ctx, data)
    spec = ctx.map(data, "spec", "spec")
    params = ctx.map(spec, "parameters", "spec.parameters")
    return IngressClass(name=ctx.name, controller=ctx.str(spec, "controller", "spec.controller"),
                        is_default=annotations.get(DEFAULT_CLASS_ANNOTATION, "").lower() == "true",
                        parameters=dict(params) or None)


def parse_route(ctx: Ctx, data: dict):
    """Gateway API and controller route objects (topology/importers/gateway.py)."""
    _m, labels, annotations, created = _meta(ctx, data)
    return parse_route_object(ctx, data, qualified_kind(ctx.kind, data.get("apiVersion")), labels, annotations,
                              created)


# ---------------------------------------------------------------------------------------------
# NetworkPolicy


def _peer(ctx: Ctx, peer: dict, path: str) -> PolicyPeer:
    pod_sel = ctx.selector(peer, "podSelector", f"{path}.podSelector")
    ns_sel = ctx.selector(peer, "namespaceSelector", f"{path}.namespaceSelector")
    block = ctx.map(peer, "ipBlock", f"{path}.ipBlock")
    ip_block = None
    if "ipBlock" in peer:
        if pod_sel is not None or ns_sel is not None:
            raise ctx.error(f"{path}.ipBlock", "may not be combined with podSelector or namespaceSelector "
                                               "in the same peer (use separate list items)")
        cidr = ctx.cidr(ctx.str(block, "cidr", f"{path}.ipBlock.cidr", required=True), f"{path}.ipBlock.cidr")
        import ipaddress

        net = ipaddress.ip_network(cidr)
        excepts = []
        for i, e in enumerate(ctx.strs(block, "except", f"{path}.ipBlock.except")):
            ex = ctx.cidr(e, f"{path}.ipBlock.except[{i}]")
            exn = ipaddress.ip_network(ex)
            if exn.version != net.version or not exn.subnet_of(net) or exn == net:
                raise ctx.error(f"{path}.ipBlock.except[{i}]", f"{ex} must be a strict subset of cidr {cidr}")
            excepts.append(ex)
        ip_block = IPBlock(cidr=cidr, except_=tuple(excepts))
    elif pod_sel is None and ns_sel is None:
        raise ctx.error(path, "a peer needs podSelector, namespaceSelector or ipBlock")
    return PolicyPeer(pod_selector=pod_sel, namespace_selector=ns_sel, ip_block=ip_block)


def _policy_rules(ctx: Ctx, spec: dict, key: str, peers_key: str) -> tuple[PolicyRule, ...]:
    rules = []
    for p, r in ctx.maps(spec, key, f"spec.{key}"):
        peers = tuple(_peer(ctx, peer, pp) for pp, peer in ctx.maps(r, peers_key, f"{p}.{peers_key}"))
        ports = []
        for pp, port in ctx.maps(r, "ports", f"{p}.ports"):
            number = ctx.int_or_name(port, "port", f"{pp}.port")
            end = ctx.port(port, "endPort", f"{pp}.endPort")
            if end is not None:
                if not isinstance(number, int):
                    raise ctx.error(f"{pp}.endPort", "requires a numeric port")
                if end < number:
                    raise ctx.error(f"{pp}.endPort", f"{end} must be at least port {number}")
            ports.append(PolicyPort(protocol=ctx.str(port, "protocol", f"{pp}.protocol", "TCP", choices=PROTOCOLS),
                                    port=number, end_port=end))
        rules.append(PolicyRule(peers=peers, ports=tuple(ports)))
    return tuple(rules)


def parse_network_policy(ctx: Ctx, data: dict) -> NetworkPolicy:
    _m, _labels, _a, created = _meta(ctx, data)
    spec = ctx.map(data, "spec", "spec", required=True)
    selector = ctx.selector(spec, "podSelector", "spec.podSelector") or LabelSelector()
    ingress = _policy_rules(ctx, spec, "ingress", "from")
    egress = _policy_rules(ctx, spec, "egress", "to")
    types = ctx.strs(spec, "policyTypes", "spec.policyTypes")
    for i, t in enumerate(types):
        if t not in ("Ingress", "Egress"):
            raise ctx.error(f"spec.policyTypes[{i}]", f"{t!r} is not one of Ingress, Egress")
    if not types:  # E3: Ingress always; Egress only when the policy has egress rules
        types = ("Ingress", "Egress") if egress else ("Ingress",)
    return NetworkPolicy(namespace=ctx.namespace, name=ctx.name, pod_selector=selector,
                         policy_types=tuple(dict.fromkeys(types)), ingress=ingress, egress=egress, created=created)


# ---------------------------------------------------------------------------------------------
# Secret: never read a value


def parse_secret(ctx: Ctx, data: dict) -> Secret:
    keys: set[str] = set()
    for section in ("data", "stringData"):
        value = data.get(section)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise ctx.error(section, "must be a mapping of key names to values")
        for k in value:
            if not isinstance(k, str):
                raise ctx.error(section, "key names must be strings")
            keys.add(k)
    typ = data.get("type")
    if typ is not None and not isinstance(typ, str):
        raise ctx.error("type", "must be a string")
    return Secret(namespace=ctx.namespace, name=ctx.name, type=typ or "Opaque", keys=tuple(sorted(keys)))


def _redacted(data: dict) -> dict:
    """A Secret's manifest with no value: identity, type, key names."""
    meta = data.get("metadata") or {}
    keys = sorted(set(data.get("data") or {}) | set(data.get("stringData") or {}))
    return {"apiVersion": data.get("apiVersion"), "kind": "Secret", "type": data.get("type") or "Opaque",
            "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace")}, "keys": keys}


# ---------------------------------------------------------------------------------------------


def _imply_namespaces(o: ClusterObjects, res: ParseResult) -> None:
    declared = {n.name for n in o.namespaces}
    used: set[str] = set()
    for group in (o.workloads, o.pods, o.services, o.endpoint_slices, o.ingresses, o.network_policies, o.secrets,
                  o.persistent_volume_claims):
        used.update(x.namespace for x in group)
    implied = sorted(used - declared)
    if implied and declared:
        res.warnings.append("namespaces used but not declared (added, with no labels but kubernetes.io/metadata.name): "
                            + ", ".join(implied[:20]) + (f" and {len(implied) - 20} more" if len(implied) > 20 else ""))
    for name in implied:
        o.namespaces.append(Namespace(name=name, labels={NAMESPACE_NAME_LABEL: name}))


_PARSERS = {
    "Namespace": parse_namespace, "Node": parse_node, "Pod": parse_pod, "Service": parse_service,
    "EndpointSlice": parse_endpoint_slice, "Ingress": parse_ingress, "IngressClass": parse_ingress_class,
    "NetworkPolicy": parse_network_policy, "Secret": parse_secret,
    "PersistentVolumeClaim": lambda ctx, data: parse_pvc(ctx, data, _meta, _owner),
    "PersistentVolume": lambda ctx, data: parse_pv(ctx, data, _meta),
    "StorageClass": lambda ctx, data: parse_storage_class(ctx, data, _meta),
    **{k: parse_workload for k in WORKLOAD_KINDS},
    **{k: parse_route for k in ROUTE_KINDS},
}
MODELLED_KINDS = (*_PARSERS, "Endpoints")
