"""What a trace walk carries from step to step: the sending `Source`, and per-model indexes the walk needs
beyond ClusterModel's (NodePort owners, the cluster's address ranges, ready nodes, workload kinds), built once
per model and cached while the model lives.
"""
from __future__ import annotations

import ipaddress
import weakref
from dataclasses import dataclass, field

from .cluster import ClusterModel
from .model import Pod, Service
from .netpol import Peer
from .result import Ref


@dataclass(slots=True)
class Source:
    ref: Ref  # pod | external (IP) | node
    kind: str  # pod | external | node
    pod: Pod | None
    ip: str
    node_name: str | None
    weight: float

    @property
    def label(self) -> str:
        return self.ref.id

    @property
    def peer(self) -> Peer:
        return Peer(self.pod, self.ip, self.node_name)


# -- per-model derived indexes (built once per model, cached while the model lives) ---------------------------

@dataclass(slots=True)
class _Extra:
    node_ports: dict[tuple[int, str], Service]
    service_nets: list
    pod_nets: list
    ready_nodes: list  # sorted by name: the default NodePort entry is the first
    workload_kinds: dict  # (namespace, name) → kinds of workloads with pods, for workload:NS/NAME
    backend_nodes: dict = field(default_factory=dict)  # LB address → its backend Nodes (from the graph's edges)


_EXTRA: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

def _net16(ip: str):
    addr = ipaddress.ip_address(ip)
    return ipaddress.ip_network(f"{ip}/{16 if addr.version == 4 else 64}", strict=False)


def extra_indexes(model: ClusterModel) -> _Extra:
    ex = _EXTRA.get(model)
    if ex is None:
        node_ports = {}
        for svc in model.services_with_node_ports:
            for p in svc.ports:
                if p.node_port:
                    node_ports.setdefault((p.node_port, p.protocol or "TCP"), svc)
        svc_nets = set()
        for ip in model.service_by_cluster_ip:
            try:
                svc_nets.add(_net16(ip))
            except ValueError:
                pass
        nets = set()
        for net, _node in model.pod_cidrs:
            nets.add(net if net.prefixlen <= 16 or net.version != 4 else net.supernet(new_prefix=16))
        for ip in model.pod_by_ip:
            try:
                nets.add(_net16(ip))
            except ValueError:
                pass
        pod_nets = sorted(nets, key=str)
        kinds: dict[tuple[str, str], list[str]] = {}
        for ns, kind, name in model.pods_by_workload:
            kinds.setdefault((ns, name), []).append(kind)
        ex = _EXTRA[model] = _Extra(node_ports, sorted(svc_nets, key=str), pod_nets, model.ready_nodes(), kinds)
    return ex


def share_extra_indexes(old: ClusterModel, new: ClusterModel) -> None:
    """`new` is `old` with an edit that changes no pod, node, NodePort or service address (a fix being verified,
    fixes.py): it reuses old's indexes instead of rebuilding them (the LB backends are derived again)."""
    ex = _EXTRA.get(old)
    if ex is not None and new not in _EXTRA:
        _EXTRA[new] = _Extra(ex.node_ports, ex.service_nets, ex.pod_nets, ex.ready_nodes, ex.workload_kinds)
