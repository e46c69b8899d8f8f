"""Materialise desired-state manifests into the live state a cluster would reach.

Why: a Deployment manifest says "3 replicas of this template", but a packet goes to a pod with an
IP on a node. `import_manifests --materialize` replays, on the raw manifest dicts, what the
control plane would do, so that the same parser then reads a live-looking dump:

- nodes: when the input has no Node, N nodes `node-1..N` (InternalIP 172.18.0.2…, pod CIDR
  10.244.<i-1>.0/24, zones zone-a/b/c round-robin). Given Nodes are kept (a missing pod CIDR or
  InternalIP is filled in).
- controllers: Deployments (via a ReplicaSet `<deploy>-<template hash>`), ReplicaSets,
  ReplicationControllers, StatefulSets (`<sts>-<ordinal>`, hostname = pod name, subdomain =
  serviceName, F1), DaemonSets (one pod per eligible node) and Jobs (parallelism pods) → Pod
  documents with the template's labels, owner references, Running and Ready.
- scheduler: each new pod goes to the eligible node (nodeSelector / template nodeName) with the
  fewest pods of the same workload, then the fewest pods, then by name — the default scheduler's
  spreading, without its randomness. Pod IPs come from the node's pod CIDR in order (.2, .3, …);
  hostNetwork pods use the node's InternalIP.
- allocators: ClusterIPs from 10.96.0.0/12 (10.96.0.1 is `kubernetes`, 10.96.0.10 is `kube-dns`),
  NodePorts and healthCheckNodePorts from 30000–32767, load-balancer addresses from the
  documentation range 203.0.113.0/24 (then 198.51.100.0/24, 192.0.2.0/24). Given values are kept.
  ClusterIPs and NodePorts are picked by a hash of the service's name (probing on collision), so a
  service keeps its addresses when unrelated objects are added.
- what every cluster has: the `default` and `kube-system` namespaces (and any namespace an object
  names), `default/kubernetes` (one endpoint per control-plane node, port 6443; without such a node, the
  first node, stated as a warning: H5), and cluster DNS
  (`kube-system/kube-dns` + a 2-replica CoreDNS Deployment labelled k8s-app=kube-dns), each only when
  absent.

Deterministic: the same set of documents gives the same names and addresses in any document order
(everything is processed sorted by kind/namespace/name; hashes are of canonical JSON).
Not simulated (stated as assumptions): node affinity, taints/tolerations, resource requests,
HorizontalPodAutoscalers, CronJob runs, PodDisruption — pods are placed by the rules above only.
EndpointSlices are derived afterwards by `tracer.engine.endpointslices` (the importer calls it).
"""
from __future__ import annotations

import copy
import hashlib
import heapq
import ipaddress
import json
import re
from collections import Counter, defaultdict
from typing import Any

from .errors import ManifestError
from .load import Document
from .materialize_ingress import publish_cloud_ingresses
from .materialize_storage import StorageGate, stateful_claims
from .parse import _foreign_group

# Namespaces are implied only for valid names: a skipped kind (ConfigMap, CRD…) is never validated, and an
# invalid namespace on it must not surface as an error about a generated "<materialize>" Namespace.
_NAMESPACE_NAME = re.compile(r"^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?\Z")

__all__ = ["materialize", "SERVICE_CIDR", "NODE_PORT_RANGE", "LB_POOLS", "SOURCE"]

SOURCE = "<materialize>"  # source_file of every document we add
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
KUBERNETES_IP = "10.96.0.1"
KUBE_DNS_IP = "10.96.0.10"
NODE_PORT_RANGE = (30000, 32767)
LB_POOLS = ("203.0.113.0/24", "198.51.100.0/24", "192.0.2.0/24")  # RFC 5737 documentation ranges
NODE_IP_BASE = ipaddress.ip_address("172.18.0.2")
ZONES = ("zone-a", "zone-b", "zone-c")
ZONE_LABEL = "topology.kubernetes.io/zone"
CONTROL_PLANE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")  # H5/H6
MAX_NODES = 5000

_SAFE = "bcdfghjklmnpqrstvwxz2456789"  # k8s rand.SafeEncodeString alphabet (no vowels, no 0/1/3)
_WORKLOAD_KINDS = ("Deployment", "ReplicaSet", "ReplicationController", "StatefulSet", "DaemonSet", "Job")
_CLUSTER_SCOPED = {"Namespace", "Node", "IngressClass", "ClusterRole", "ClusterRoleBinding", "PersistentVolume",
                   "StorageClass", "CustomResourceDefinition", "PriorityClass", "ValidatingWebhookConfiguration",
                   "MutatingWebhookConfiguration", "APIService", "RuntimeClass", "CSIDriver"}


# ---------------------------------------------------------------------------------------------
# helpers


def _hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _safe(text: str, length: int) -> str:
    n = _hash(text)
    out = []
    for _ in range(length):
        n, r = divmod(n, len(_SAFE))
        out.append(_SAFE[r])
    return "".join(out)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _meta(data: dict) -> dict:
    m = data.get("metadata")
    return m if isinstance(m, dict) else {}


def _name(data: dict) -> str:
    n = _meta(data).get("name")
    return n if isinstance(n, str) else ""


class _Obj:
    """One input document with its resolved identity (namespace defaulted like kubectl does)."""

    __slots__ = ("doc", "data", "kind", "namespace", "name", "changed")

    def __init__(self, doc: Document, default_ns: str):
        self.doc = doc
        self.data: dict = doc.data
        self.kind = str(doc.data.get("kind") or "")
        self.name = _name(doc.data)
        ns = _meta(doc.data).get("namespace")
        self.namespace = "" if self.kind in _CLUSTER_SCOPED else (ns if isinstance(ns, str) and ns else default_ns)
        self.changed = False

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)

    def writable(self) -> dict:
        """A private copy before the first change: the caller's dicts are never mutated."""
        if not self.changed:
            self.data = copy.deepcopy(self.data)
            self.changed = True
        return self.data

    def error(self, field: str, problem: str) -> ManifestError:
        return ManifestError(problem, file=self.doc.source_file, document=self.doc.index, item=self.doc.item,
                             kind=self.kind, namespace=self.namespace, name=self.name, field=field)

    def spec(self) -> dict:
        s = self.data.get("spec")
        return s if isinstance(s, dict) else {}

    def count(self, field: str, default: int) -> int:
        value = self.spec().get(field, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.error(f"spec.{field}", f"must be a whole number ≥ 0, not {value!r}")
        return value

    def template(self) -> dict:
        t = self.spec().get("template")
        if not isinstance(t, dict):
            raise self.error("spec.template", "required field is missing (a workload needs a pod template)")
        return t


class _NewPod:
    """A pod we are about to create (placed and addressed later, in a stable order)."""

    __slots__ = ("namespace", "ns_given", "name", "labels", "annotations", "spec", "owner", "workload", "node",
                 "sort_key")

    def __init__(self, owner: _Obj, name: str, template: dict, extra_labels: dict, *, owner_ref: tuple[str, str, str],
                 node: str = "", hostname: str = "", subdomain: str = ""):
        tmeta = template.get("metadata") if isinstance(template.get("metadata"), dict) else {}
        self.namespace = owner.namespace
        self.ns_given = bool(_meta(owner.data).get("namespace"))
        self.name = name
        self.labels = {**(tmeta.get("labels") or {}), **extra_labels}
        self.annotations = dict(tmeta.get("annotations") or {})
        spec = copy.deepcopy(template.get("spec")) if isinstance(template.get("spec"), dict) else {}
        if hostname:
            spec["hostname"] = hostname
            if subdomain:
                spec["subdomain"] = subdomain
        self.spec = spec
        self.owner = owner_ref  # (apiVersion, kind, name)
        self.workload = (owner.namespace, owner.kind, owner.name)
        self.node = node or (spec.get("nodeName") if isinstance(spec.get("nodeName"), str) else "") or ""
        self.sort_key = (owner.namespace, owner.kind, owner.name, name)


# ---------------------------------------------------------------------------------------------


class _Materializer:
    def __init__(self, docs: list[Document], nodes: int, namespace: str):
        if isinstance(nodes, bool) or not isinstance(nodes, int) or not 1 <= nodes <= MAX_NODES:
            raise ManifestError(f"--nodes must be between 1 and {MAX_NODES}, not {nodes!r}")
        self.n_nodes = nodes
        self.default_ns = namespace or "default"
        self.warnings: list[str] = []
        self.added: list[dict] = []
        self._generated: list[_Obj] = []
        self.objs = self._dedupe(docs)

    # -- input ---------------------------------------------------------------------------------

    def _dedupe(self, docs: list[Document]) -> list[_Obj | Document]:
        """Later documents win over earlier ones with the same kind/namespace/name (kubectl apply order)."""
        out: list[_Obj | Document] = []
        seen: dict[tuple[str, str, str], int] = {}
        for doc in docs:
            if not isinstance(doc.data, dict) or not doc.data.get("kind"):
                out.append(doc)  # not ours to judge; the parser reports it
                continue
            if _foreign_group(str(doc.data["kind"]), doc.data.get("apiVersion")):
                out.append(doc)  # another API's kind of the same name (Calico NetworkPolicy…): the parser skips it
                continue
            obj = _Obj(doc, self.default_ns)
            if obj.name and obj.key in seen:
                prev = out[seen[obj.key]]
                ident = f"{obj.namespace}/{obj.name}" if obj.namespace else obj.name
                self.warnings.append(
                    f"{obj.kind} {ident} appears twice ({prev.doc.source_file} document {prev.doc.index} and "
                    f"{doc.source_file} document {doc.index}); the later one wins, as with kubectl apply")
                out[seen[obj.key]] = None  # type: ignore[call-overload]
            seen[obj.key] = len(out)
            out.append(obj)
        return [o for o in out if o is not None]

    def of_kind(self, *kinds: str) -> list[_Obj]:
        found = [o for o in self.objs if isinstance(o, _Obj) and o.kind in kinds]
        return sorted(found, key=lambda o: o.key)

    # -- run -----------------------------------------------------------------------------------

    def run(self) -> tuple[list[Document], list[str]]:
        self._nodes()
        self._namespaces()
        self._system_objects()
        self._namespaces_for_added()
        self._workloads()
        self._existing_pods()
        # claims bound (I3) and Secrets looked up (J2) before the scheduler runs: see materialize_storage.py
        self.gate = StorageGate(self, [(p.namespace, p.name, p.spec) for p in self.new_pods]
                                + [(o.namespace, o.name, o.spec()) for o in self._all_objs() if o.kind == "Pod"])
        self._place_and_address()
        self._services()
        docs: list[Document] = []
        for o in self.objs:
            if isinstance(o, _Obj):
                docs.append(o.doc._replace(data=o.data) if o.changed else o.doc)
            else:
                docs.append(o)
        docs.extend(Document(SOURCE, i, data) for i, data in enumerate(self.added, start=1))
        return docs, self.warnings

    def add(self, data: dict) -> _Obj:
        """Add a generated object (also visible to later steps, e.g. a CoreDNS Deployment)."""
        self.added.append(data)
        obj = _Obj(Document(SOURCE, len(self.added), data), self.default_ns)
        obj.changed = True  # already ours
        self._generated.append(obj)
        return obj

    # -- nodes -----------------------------------------------------------------------------------

    def _nodes(self) -> None:
        given = self.of_kind("Node")
        self.node_ips: dict[str, str] = {}
        self.node_labels: dict[str, dict] = {}
        self.node_cidrs: dict[str, ipaddress.IPv4Network | ipaddress.IPv6Network] = {}
        self.synthetic_nodes = not given
        if given:
            used_cidrs = set()
            for o in given:
                spec = o.spec()
                cidr = spec.get("podCIDR") or (spec.get("podCIDRs") or [None])[0]
                if cidr:
                    try:
                        used_cidrs.add(ipaddress.ip_network(cidr, strict=False))
                    except ValueError:
                        raise o.error("spec.podCIDR", f"not a CIDR: {cidr!r}") from None
            for i, o in enumerate(given):
                spec = o.spec()
                cidr = spec.get("podCIDR") or (spec.get("podCIDRs") or [None])[0]
                if not cidr:
                    net = self._free_pod_cidr(i, used_cidrs)
                    used_cidrs.add(net)
                    d = o.writable()
                    d.setdefault("spec", {})["podCIDR"] = str(net)
                    d["spec"]["podCIDRs"] = [str(net)]
                    cidr = str(net)
                self.node_cidrs[o.name] = ipaddress.ip_network(cidr, strict=False)
                status = o.data.get("status") if isinstance(o.data.get("status"), dict) else {}
                addrs = [a for a in status.get("addresses") or [] if isinstance(a, dict)]
                ip = next((a.get("address") for a in addrs if a.get("type") == "InternalIP"), None)
                if not ip:
                    ip = str(NODE_IP_BASE + i)
                    d = o.writable()
                    d.setdefault("status", {}).setdefault("addresses", []).append(
                        {"type": "InternalIP", "address": ip})
                self.node_ips[o.name] = ip
                self.node_labels[o.name] = dict(_meta(o.data).get("labels") or {})
            self.node_names = sorted(self.node_ips)
            return
        for i in range(self.n_nodes):
            name = f"node-{i + 1}"
            ip = str(NODE_IP_BASE + i)
            cidr = self._free_pod_cidr(i, set())
            zone = ZONES[i % len(ZONES)]
            labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                      ZONE_LABEL: zone, "topology.kubernetes.io/region": "region-1"}
            self.add({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": labels},
                "spec": {"podCIDR": str(cidr), "podCIDRs": [str(cidr)]},
                "status": {"addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
                           "conditions": [{"type": "Ready", "status": "True"}]},
            })
            self.node_ips[name] = ip
            self.node_labels[name] = labels
            self.node_cidrs[name] = cidr
        self.node_names = sorted(self.node_ips, key=lambda n: int(n.split("-")[1]))

    @staticmethod
    def _free_pod_cidr(i: int, used: set) -> ipaddress.IPv4Network:
        """10.244.<i>.0/24 (continuing into 10.245… up to 10.255.255.0/24, then 10.128.0.0/24 on)."""
        k = i
        while True:
            base = ipaddress.ip_address("10.244.0.0") + k * 256 if k < 3072 else \
                ipaddress.ip_address("10.128.0.0") + (k - 3072) * 256
            net = ipaddress.ip_network(f"{base}/24")
            if not any(net.overlaps(u) for u in used):
                return net
            k += 1

    # -- namespaces and system objects -----------------------------------------------------------

    def _all_objs(self) -> list[_Obj]:
        return [o for o in self.objs if isinstance(o, _Obj)] + self._generated

    def _namespaces(self) -> None:
        self.namespaces = {o.name for o in self.of_kind("Namespace")}

    def _namespaces_for_added(self) -> None:
        wanted = {"default", "kube-system"} | {o.namespace for o in self._all_objs()
                                               if o.namespace and _NAMESPACE_NAME.match(o.namespace)}
        for ns in sorted(wanted - self.namespaces):
            self.add({"apiVersion": "v1", "kind": "Namespace",
                      "metadata": {"name": ns, "labels": {"kubernetes.io/metadata.name": ns}},
                      "status": {"phase": "Active"}})
            self.namespaces.add(ns)

    def _system_objects(self) -> None:
        objs = self._all_objs()
        keys = {o.key for o in objs}
        if ("Service", "default", "kubernetes") not in keys:
            self.add({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "kubernetes", "namespace": "default",
                             "labels": {"component": "apiserver", "provider": "kubernetes"}},
                "spec": {"type": "ClusterIP", "clusterIP": KUBERNETES_IP, "clusterIPs": [KUBERNETES_IP],
                         "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
                         "sessionAffinity": "None"},
            })
            has_endpoints = any(o.namespace == "default" and (
                (o.kind == "Endpoints" and o.name == "kubernetes")
                or (o.kind == "EndpointSlice"
                    and (_meta(o.data).get("labels") or {}).get("kubernetes.io/service-name") == "kubernetes"))
                for o in objs)
            if not has_endpoints:
                # H5: the API servers write their advertise addresses: one per control-plane node
                control = [n for n in self.node_names if any(
                    k in self.node_labels.get(n, {}) for k in CONTROL_PLANE_LABELS)]
                if not control:
                    control = self.node_names[:1]
                if not any(k in self.node_labels.get(control[0], {}) for k in CONTROL_PLANE_LABELS) and (
                        not self.synthetic_nodes):  # made-up nodes: node-1 hosts it, as the docstring says
                    self.warnings.append(
                        f"default/kubernetes: no node is labelled {CONTROL_PLANE_LABELS[0]} (or the legacy "
                        f"…/master); the API server is assumed on the first node, {control[0]}, port 6443 (H5)")
                self.add({
                    "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {"name": "kubernetes", "namespace": "default",
                                 "labels": {"kubernetes.io/service-name": "kubernetes"}},
                    "addressType": "IPv4",
                    "endpoints": [{"addresses": [self.node_ips[n]], "conditions": {"ready": True}, "nodeName": n}
                                  for n in control],
                    "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}],
                })
        if ("Service", "kube-system", "kube-dns") not in keys:
            self.add({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "kube-dns", "namespace": "kube-system",
                             "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}},
                "spec": {"selector": {"k8s-app": "kube-dns"}, "clusterIP": KUBE_DNS_IP, "clusterIPs": [KUBE_DNS_IP],
                         "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                                   {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
                                   {"name": "metrics", "port": 9153, "protocol": "TCP", "targetPort": 9153}]},
            })
        dns_present = any(
            o.namespace == "kube-system" and (
                (o.kind == "Pod" and (_meta(o.data).get("labels") or {}).get("k8s-app") == "kube-dns")
                or (o.kind in _WORKLOAD_KINDS and _template_labels(o).get("k8s-app") == "kube-dns"))
            for o in objs)
        if not dns_present:
            labels = {"k8s-app": "kube-dns"}
            self.add({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "coredns", "namespace": "kube-system", "labels": labels},
                "spec": {"replicas": 2, "selector": {"matchLabels": labels}, "template": {
                    "metadata": {"labels": labels},
                    "spec": {"dnsPolicy": "Default", "serviceAccountName": "coredns", "containers": [{
                        "name": "coredns", "image": "registry.k8s.io/coredns/coredns:v1.11.3",
                        "args": ["-conf", "/etc/coredns/Corefile"],
                        "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"},
                                  {"name": "dns-tcp", "containerPort": 53, "protocol": "TCP"},
                                  {"name": "metrics", "containerPort": 9153, "protocol": "TCP"}]}]}}},
            })

    # -- controllers -----------------------------------------------------------------------------

    def _workloads(self) -> None:
        objs = self._all_objs()
        self.new_pods: list[_NewPod] = []
        # Existing pods per controller owner (a dump with some pods already present).
        self.owned: dict[tuple[str, str, str], list[str]] = defaultdict(list)
        for o in objs:
            if o.kind == "Pod":
                for ref in _meta(o.data).get("ownerReferences") or []:
                    if isinstance(ref, dict) and ref.get("controller"):
                        self.owned[(o.namespace, str(ref.get("kind")), str(ref.get("name")))].append(o.name)
        rs_owned_by = {(o.namespace, ref.get("name")) for o in objs if o.kind == "ReplicaSet"
                       for ref in _meta(o.data).get("ownerReferences") or []
                       if isinstance(ref, dict) and ref.get("kind") == "Deployment" and ref.get("controller")}
        by_kind: dict[str, list[_Obj]] = defaultdict(list)
        for o in sorted(objs, key=lambda o: o.key):
            by_kind[o.kind].append(o)
        self._pod_nodes = {(o.namespace, o.name): str(o.spec().get("nodeName") or "") for o in objs
                           if o.kind == "Pod"}
        for o in by_kind["Deployment"]:
            if (o.namespace, o.name) in rs_owned_by:
                continue  # its ReplicaSet is in the input: that one makes the pods
            by_kind["ReplicaSet"].append(self._replica_set_for(o))
        for o in by_kind["ReplicaSet"] + by_kind["ReplicationController"]:
            self._replicated_pods(o)
        for o in by_kind["StatefulSet"]:
            self._stateful_pods(o)
        for o in by_kind["DaemonSet"]:
            self._daemon_pods(o)
        for o in by_kind["Job"]:
            self._job_pods(o)
        for o in by_kind["CronJob"]:
            self.warnings.append(f"CronJob {o.namespace}/{o.name}: no pods simulated (a CronJob has pods only "
                                 "while a run is active)")

    def _replica_set_for(self, deploy: _Obj) -> _Obj:
        template = copy.deepcopy(deploy.template())
        pth = _safe(_canonical(template), 10)
        tmeta = template.setdefault("metadata", {})
        tmeta["labels"] = {**(tmeta.get("labels") or {}), "pod-template-hash": pth}
        selector = copy.deepcopy(deploy.spec().get("selector") or {})
        if isinstance(selector, dict):
            selector.setdefault("matchLabels", {})
            selector["matchLabels"] = {**(selector["matchLabels"] or {}), "pod-template-hash": pth}
        meta: dict[str, Any] = {
            "name": f"{deploy.name}-{pth}",
            "labels": {**(tmeta.get("labels") or {})},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": deploy.name,
                                 "controller": True, "blockOwnerDeletion": True}],
        }
        if _meta(deploy.data).get("namespace"):
            meta["namespace"] = deploy.namespace
        return self.add({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": meta,
                         "spec": {"replicas": deploy.count("replicas", 1), "selector": selector,
                                  "template": template}})

    def _missing(self, o: _Obj, want: int) -> int:
        return max(0, want - len(self.owned.get((o.namespace, o.kind, o.name), [])))

    def _replicated_pods(self, o: _Obj) -> None:
        template = o.template()
        api = "apps/v1" if o.kind == "ReplicaSet" else "v1"
        taken = set(self.owned.get((o.namespace, o.kind, o.name), []))
        i = 0
        for _ in range(self._missing(o, o.count("replicas", 1))):
            while True:
                name = f"{o.name}-{_safe(f'{o.namespace}/{o.kind}/{o.name}/{i}', 5)}"
                i += 1
                if name not in taken:
                    break
            taken.add(name)
            self.new_pods.append(_NewPod(o, name, template, {}, owner_ref=(api, o.kind, o.name)))

    def _stateful_pods(self, o: _Obj) -> None:
        template = o.template()
        spec = o.spec()
        service_name = spec.get("serviceName") if isinstance(spec.get("serviceName"), str) else ""
        start = (spec.get("ordinals") or {}).get("start", 0) if isinstance(spec.get("ordinals"), dict) else 0
        if not isinstance(start, int) or isinstance(start, bool) or start < 0:
            raise o.error("spec.ordinals.start", f"must be a whole number ≥ 0, not {start!r}")
        existing = set(self.owned.get((o.namespace, o.kind, o.name), []))
        revision = f"{o.name}-{_safe(_canonical(template), 10)}"
        for ordinal in range(start, start + o.count("replicas", 1)):
            name = f"{o.name}-{ordinal}"
            if name in existing:
                continue
            labels = {"statefulset.kubernetes.io/pod-name": name, "apps.kubernetes.io/pod-index": str(ordinal),
                      "controller-revision-hash": revision}
            pod = _NewPod(o, name, template, labels, owner_ref=("apps/v1", "StatefulSet", o.name),
                          hostname=name, subdomain=service_name)
            stateful_claims(self, o, pod.spec, name, ordinal, _template_labels(o))
            self.new_pods.append(pod)

    def _eligible_nodes(self, o: _Obj, template_spec: dict) -> list[str]:
        selector = template_spec.get("nodeSelector")
        if not isinstance(selector, dict) or not selector:
            return list(self.node_names)
        nodes = [n for n in self.node_names
                 if all(self.node_labels[n].get(k) == str(v) for k, v in selector.items())]
        if not nodes and self.synthetic_nodes:
            sel = ", ".join(f"{k}={v}" for k, v in sorted(selector.items()))
            self.warnings.append(f"{_describe(o)}: nodeSelector {sel} matches none of the "
                                 "simulated nodes; it was ignored")
            return list(self.node_names)
        return nodes

    def _daemon_pods(self, o: _Obj) -> None:
        template = o.template()
        tspec = template.get("spec") if isinstance(template.get("spec"), dict) else {}
        existing_nodes = set()
        for pod_name in self.owned.get((o.namespace, o.kind, o.name), []):
            existing_nodes.add(self._pod_nodes.get((o.namespace, pod_name), ""))
        for node in self._eligible_nodes(o, tspec):
            if node in existing_nodes:
                continue
            name = f"{o.name}-{_safe(f'{o.namespace}/{o.name}/{node}', 5)}"
            labels = {"controller-revision-hash": _safe(_canonical(template), 10), "pod-template-generation": "1"}
            self.new_pods.append(_NewPod(o, name, template, labels, owner_ref=("apps/v1", "DaemonSet", o.name),
                                         node=node))

    def _job_pods(self, o: _Obj) -> None:
        template = o.template()
        parallelism = o.count("parallelism", 1)
        completions = o.spec().get("completions")
        want = min(parallelism, completions) if isinstance(completions, int) and not isinstance(
            completions, bool) else parallelism
        labels = {"job-name": o.name, "batch.kubernetes.io/job-name": o.name}
        for i in range(self._missing(o, want)):
            name = f"{o.name}-{_safe(f'{o.namespace}/Job/{o.name}/{i}', 5)}"
            self.new_pods.append(_NewPod(o, name, template, labels, owner_ref=("batch/v1", "Job", o.name)))

    # -- existing pods: fill in what a desired-state Pod lacks -----------------------------------

    def _existing_pods(self) -> None:
        """Bare Pods in the input keep every address they have; missing node/IP/status are filled.

        A pod whose status says Pending, Succeeded or Failed is left exactly as given.
        """
        self.pods_to_fill: list[_Obj] = []
        self.used_pod_ips: set[str] = set()
        for o in self._all_objs():
            if o.kind != "Pod":
                continue
            status = o.data.get("status") if isinstance(o.data.get("status"), dict) else {}
            for ip in [status.get("podIP")] + [p.get("ip") for p in status.get("podIPs") or [] if isinstance(p, dict)]:
                if isinstance(ip, str) and ip:
                    self.used_pod_ips.add(ip)
            if status.get("phase") in ("Pending", "Succeeded", "Failed"):
                continue  # live state that says so: no IP to invent (and never an endpoint without one)
            spec = o.spec()
            if not spec.get("nodeName") or (not status.get("podIP") and not spec.get("hostNetwork")) \
                    or not status.get("phase") or not status.get("conditions"):
                self.pods_to_fill.append(o)

    # -- scheduler and pod IPs -------------------------------------------------------------------

    def _place_and_address(self) -> None:
        load: Counter[str] = Counter()
        for o in self._all_objs():
            if o.kind == "Pod" and o.spec().get("nodeName"):
                load[o.spec()["nodeName"]] += 1
        self.new_pods.sort(key=lambda p: p.sort_key)
        for p in self.new_pods:  # DaemonSet and pinned pods have no choice
            if p.node:
                load[p.node] += 1
        scheduler = _Scheduler(self.node_names, load)
        owners = {(o.namespace, o.kind, o.name): o for o in self._all_objs()}
        by_workload: dict[tuple, list[_NewPod]] = defaultdict(list)
        for p in self.new_pods:
            if not p.node:
                by_workload[p.workload].append(p)
        self.unbound: dict[tuple[str, str], str] = {}
        for p in self.new_pods:  # I3: a claim missing or unbound ⇒ the scheduler leaves the pod Pending
            why = self.gate.unschedulable(p.namespace, p.name, p.spec)
            if why:
                self.unbound[(p.namespace, p.name)] = why
                p.node = ""
        for p in list(self.new_pods):
            if (p.namespace, p.name) in self.unbound and p.workload in by_workload:
                by_workload[p.workload] = [q for q in by_workload[p.workload] if q is not p]
        for workload, pods in by_workload.items():  # insertion order = sorted pod order
            if not pods:
                continue
            candidates = self._eligible_nodes(owners[workload], pods[0].spec)
            if not candidates:
                self.warnings.append(f"{_describe(owners[workload])}: no node matches its nodeSelector; its "
                                     f"{len(pods)} pod(s) stay Pending, without an IP")
                continue
            for p, node in zip(pods, scheduler.place(len(pods), candidates), strict=True):
                p.node = node
        fill = []
        for o in sorted(self.pods_to_fill, key=lambda o: o.key):
            why = self.gate.unschedulable(o.namespace, o.name, o.spec())
            if why and not o.spec().get("nodeName"):  # I3: not scheduled while a claim is missing or unbound
                o.writable()["status"] = {"phase": "Pending", "conditions": [
                    {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": why}]}
                continue
            fill.append(o)
        for o in fill:
            if not o.spec().get("nodeName"):
                (node,) = scheduler.place(1, self.node_names)
                o.writable().setdefault("spec", {})["nodeName"] = node
            elif o.spec()["nodeName"] not in self.node_cidrs:
                raise o.error("spec.nodeName", f"node {o.spec()['nodeName']!r} is not in the input, so the pod "
                                               "cannot get an IP from its pod CIDR")
        # Pod IPs, node by node in pod order: .2, .3, … skipping addresses already in use.
        cursor: dict[str, int] = defaultdict(lambda: 2)

        def next_ip(node: str, who: str) -> str:
            net = self.node_cidrs.get(node)
            if net is None:
                raise ManifestError(f"Pod {who}: spec.nodeName: node {node!r} is not in the input, so it has no pod "
                                    "CIDR to take an IP from")
            while True:
                offset = cursor[node]
                if offset >= net.num_addresses - 1:
                    raise ManifestError(f"node {node} ran out of pod addresses in {net} while placing {who}: "
                                        "materialise with more nodes (--nodes)")
                cursor[node] = offset + 1
                ip = str(net.network_address + offset)
                if ip not in self.used_pod_ips:
                    self.used_pod_ips.add(ip)
                    return ip

        for o in fill:
            d = o.writable()
            spec = d.setdefault("spec", {})
            status = d.setdefault("status", {})
            node = spec["nodeName"]
            host_ip = self.node_ips.get(node, "")
            if not status.get("podIP"):
                ip = host_ip if spec.get("hostNetwork") else next_ip(node, f"{o.namespace}/{o.name}")
                if ip:
                    status["podIP"] = ip
                    status["podIPs"] = [{"ip": ip}]
            if host_ip:
                status.setdefault("hostIP", host_ip)
            status.setdefault("phase", "Running")
            if not status.get("conditions"):
                status["conditions"] = _running_conditions()
                problems = self.gate.start_problems(o.namespace, o.name, spec)
                if problems:  # J2, as for the pods a controller makes
                    self.gate.not_started_status(status, problems, spec.get("containers") or [])
        for p in self.new_pods:
            api, kind, owner = p.owner
            meta: dict[str, Any] = {"name": p.name, "labels": p.labels,
                                    "ownerReferences": [{"apiVersion": api, "kind": kind, "name": owner,
                                                         "controller": True, "blockOwnerDeletion": True}]}
            if p.ns_given:
                meta["namespace"] = p.namespace
            if p.annotations:
                meta["annotations"] = p.annotations
            if not p.node:  # unschedulable (see the warning): Pending, no IP, never an endpoint
                cond = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}
                if (p.namespace, p.name) in self.unbound:
                    cond["message"] = self.unbound[(p.namespace, p.name)]
                self.added.append({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": p.spec,
                                   "status": {"phase": "Pending", "conditions": [cond]}})
                continue
            host_ip = self.node_ips[p.node]
            ip = host_ip if p.spec.get("hostNetwork") else next_ip(p.node, f"{p.namespace}/{p.name}")
            p.spec["nodeName"] = p.node
            status = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": host_ip,
                      "hostIPs": [{"ip": host_ip}], "conditions": _running_conditions()}
            problems = self.gate.start_problems(p.namespace, p.name, p.spec)
            if problems:  # J2: the kubelet does not start it: its IP, but Pending and not Ready
                self.gate.not_started_status(status, problems, p.spec.get("containers") or [])
            self.added.append({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": p.spec,
                               "status": status})

    # -- services --------------------------------------------------------------------------------

    def _services(self) -> None:
        services = [o for o in self._all_objs() if o.kind == "Service"]
        services.sort(key=lambda o: o.key)
        used_ips: set[str] = {KUBERNETES_IP, KUBE_DNS_IP}
        used_ports: set[int] = set()
        used_lb: set[str] = set()
        for o in services:
            spec = o.spec()
            for ip in [spec.get("clusterIP")] + list(spec.get("clusterIPs") or []):
                if isinstance(ip, str) and ip and ip != "None":
                    used_ips.add(ip)
            for port in spec.get("ports") or []:
                if isinstance(port, dict) and isinstance(port.get("nodePort"), int):
                    used_ports.add(port["nodePort"])
            if isinstance(spec.get("healthCheckNodePort"), int):
                used_ports.add(spec["healthCheckNodePort"])
            status = o.data.get("status") if isinstance(o.data.get("status"), dict) else {}
            for ing in (status.get("loadBalancer") or {}).get("ingress") or []:
                if isinstance(ing, dict) and ing.get("ip"):
                    used_lb.add(ing["ip"])
            for ip in list(spec.get("externalIPs") or []) + [spec.get("loadBalancerIP")]:
                if isinstance(ip, str) and ip:
                    used_lb.add(ip)
        lb_pool = (str(ip) for net in LB_POOLS for ip in list(ipaddress.ip_network(net).hosts())[9:])
        for o in services:
            spec = o.spec()
            kind = spec.get("type") or "ClusterIP"
            if kind == "ExternalName":
                continue
            ident = f"{o.namespace}/{o.name}"
            cluster_ip = spec.get("clusterIP")
            if not cluster_ip and spec.get("clusterIPs"):
                cluster_ip = spec["clusterIPs"][0]
                o.writable().setdefault("spec", {})["clusterIP"] = cluster_ip
            if not cluster_ip:
                ip = self._hashed_ip(ident, used_ips)
                d = o.writable().setdefault("spec", {})
                d["clusterIP"] = ip
                d["clusterIPs"] = [ip]
            elif not spec.get("clusterIPs"):
                o.writable().setdefault("spec", {})["clusterIPs"] = [cluster_ip]
            if kind not in ("NodePort", "LoadBalancer"):
                continue
            allocate = kind == "NodePort" or spec.get("allocateLoadBalancerNodePorts", True) is not False
            ports = spec.get("ports") or []
            if allocate and any(isinstance(p, dict) and not p.get("nodePort") for p in ports):
                d = o.writable().setdefault("spec", {})
                for i, port in enumerate(d.get("ports") or []):
                    if isinstance(port, dict) and not port.get("nodePort"):
                        port["nodePort"] = self._hashed_port(
                            f"{ident}/{port.get('name', '')}/{port.get('port')}/{port.get('protocol', 'TCP')}/{i}",
                            used_ports)
            if kind != "LoadBalancer":
                continue
            if spec.get("externalTrafficPolicy") == "Local" and not spec.get("healthCheckNodePort"):
                o.writable().setdefault("spec", {})["healthCheckNodePort"] = self._hashed_port(f"{ident}/healthz", used_ports)
            status = o.data.get("status") if isinstance(o.data.get("status"), dict) else {}
            if not (status.get("loadBalancer") or {}).get("ingress"):
                ip = spec.get("loadBalancerIP") or next((a for a in lb_pool if a not in used_lb), None)
                if ip is None:
                    raise o.error("status.loadBalancer", "the simulated load-balancer address pool is exhausted")
                used_lb.add(ip)
                o.writable().setdefault("status", {})["loadBalancer"] = {"ingress": [{"ip": ip}]}
        publish_cloud_ingresses(self._all_objs(), lb_pool, used_lb)  # D9: GCE/ALB Ingresses' own addresses

    @staticmethod
    def _hashed_ip(ident: str, used: set[str]) -> str:
        size = SERVICE_CIDR.num_addresses - 2
        offset = _hash(ident) % size + 1
        for _ in range(size):
            ip = str(SERVICE_CIDR.network_address + offset)
            if ip not in used:
                used.add(ip)
                return ip
            offset = offset % size + 1
        raise ManifestError(f"Service {ident}: the service CIDR {SERVICE_CIDR} is exhausted")

    @staticmethod
    def _hashed_port(ident: str, used: set[int]) -> int:
        lo, hi = NODE_PORT_RANGE
        size = hi - lo + 1
        offset = _hash(ident) % size
        for _ in range(size):
            port = lo + offset
            if port not in used:
                used.add(port)
                return port
            offset = (offset + 1) % size
        raise ManifestError(f"Service {ident.split('/')[0]}/{ident.split('/')[1]}: every NodePort in "
                            f"{lo}-{hi} is taken")


class _Scheduler:
    """Places one workload's pods like the default scheduler's spreading, without its randomness.

    Each round takes distinct eligible nodes in order of (pods already on the node, node order) —
    replicas of a workload land on different nodes first, then on the least loaded — and rounds
    repeat until every pod is placed. A heap keeps this O(pods · log nodes) for large clusters.
    """

    def __init__(self, node_names: list[str], load: Counter[str]):
        self.order = {n: i for i, n in enumerate(node_names)}
        self.all = set(node_names)
        self.load = load
        self.heap = [(load[n], i, n) for n, i in self.order.items()]
        heapq.heapify(self.heap)

    def place(self, count: int, candidates: list[str]) -> list[str]:
        out: list[str] = []
        while len(out) < count:
            want = min(count - len(out), len(candidates))
            if len(candidates) == len(self.all):
                picked = []
                while len(picked) < want:
                    load, _i, node = heapq.heappop(self.heap)
                    if load == self.load[node]:  # else a stale entry (lazy deletion)
                        picked.append(node)
            else:
                picked = sorted(candidates, key=lambda n: (self.load[n], self.order[n]))[:want]
            for node in picked:
                self.load[node] += 1
                heapq.heappush(self.heap, (self.load[node], self.order[node], node))
            out.extend(picked)
        return out


def _describe(o: _Obj) -> str:
    """"Kind ns/name" of the workload a user wrote (a Deployment, not the ReplicaSet we made for it)."""
    for ref in _meta(o.data).get("ownerReferences") or []:
        if o.kind == "ReplicaSet" and isinstance(ref, dict) and ref.get("kind") == "Deployment":
            return f"Deployment {o.namespace}/{ref.get('name')}"
    return f"{o.kind} {o.namespace}/{o.name}"


def _template_labels(o: _Obj) -> dict:
    template = o.spec().get("template")
    meta = template.get("metadata") if isinstance(template, dict) else None
    labels = meta.get("labels") if isinstance(meta, dict) else None
    return labels if isinstance(labels, dict) else {}


def _running_conditions() -> list[dict]:
    return [{"type": t, "status": "True"} for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")]


def materialize(docs: list[Document], *, nodes: int = 3, namespace: str = "default"
                ) -> tuple[list[Document], list[str]]:
    """Simulate controllers, scheduler and allocators over raw manifest documents.

    Returns the documents (inputs, possibly completed copies; the caller's dicts are never
    mutated) followed by the generated ones (source_file "<materialize>"), and warnings for the
    import summary. `namespace` is the import's default namespace for objects without one.
    Raises ManifestError for input it cannot simulate (e.g. a workload without a pod template).
    """
    return _Materializer([_without_nulls(d) for d in docs], nodes, namespace).run()


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _without_nulls(doc: Document) -> Document:
    """`status:` or `spec:` left empty in YAML is null, which Kubernetes (and the parser) read as absent; the
    simulation writes into these mappings, so absent they must be. Copies only documents that hold a null."""
    def has_null(value: Any) -> bool:
        if isinstance(value, dict):
            return any(v is None or has_null(v) for v in value.values())
        if isinstance(value, list):
            return any(has_null(v) for v in value)
        return False

    return doc._replace(data=_drop_nulls(doc.data)) if has_null(doc.data) else doc
