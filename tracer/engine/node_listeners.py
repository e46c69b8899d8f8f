"""What listens on a node's addresses and inside a pod (docs/semantics.md H1, H4).

- `pod_listen_ports(pod)`   the ports a pod's processes open, as far as the snapshot says: declared
                            containerPorts, probe ports (a probe connects there, so something listens) and the
                            well-known arguments of control-plane binaries (WELL_KNOWN_ARGS)
- `pod_listener(pod, port, proto)`   which container of the pod serves that port (H1), or None
- `node_listener(model, node, port, proto, loopback=)`   who answers on a node address (H4): a hostNetwork pod
                            of that node, else the kubelet (status.daemonEndpoints.kubeletEndpoint.Port;
                            healthz 10248 on loopback only), else kube-proxy (health 10256; metrics 10249 on
                            loopback only), else None (`no-listener`)
Declared ports are informational in Kubernetes: a process may listen on a port nobody declared. The tracer
only knows what the snapshot shows, and says so (impl) when nothing is found.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from .cluster import ClusterModel
from .model import Container, Node, Pod

KUBE_PROXY_HEALTH = 10256
KUBE_PROXY_METRICS = 10249  # 127.0.0.1 only (--metrics-bind-address default)
KUBELET_HEALTHZ = 10248  # 127.0.0.1 only (--healthz-bind-address default)
DEFAULT_KUBELET_PORT = 10250

# binary → (flag, default port, is a URL list): kubeadm static-pod manifests
WELL_KNOWN_ARGS = {
    "kube-apiserver": ("--secure-port", 6443, False),
    "etcd": ("--listen-client-urls", 2379, True),
    "kube-scheduler": ("--secure-port", 10259, False),
    "kube-controller-manager": ("--secure-port", 10257, False),
}
COMPONENT_LABEL = "component"


@dataclass(frozen=True, slots=True)
class Listener:
    kind: str  # "pod" | "kubelet" | "kube-proxy"
    port: int
    why: str  # e.g. "declares containerPort 8080", "its readinessProbe connects to 8080"
    pod: Pod | None = None
    container: str = ""


def component_of(pod: Pod) -> str:
    """H6: the control-plane component a pod runs (label component=…, else its binary's name), or ""."""
    comp = pod.labels.get(COMPONENT_LABEL, "")
    if comp in WELL_KNOWN_ARGS:
        return comp
    for c in pod.containers:
        binary = _binary(c)
        if binary:
            return binary
    return ""


def _binary(c: Container) -> str:
    for a in c.args[:2]:
        base = a.rsplit("/", 1)[-1]
        if base in WELL_KNOWN_ARGS:
            return base
    image = c.image.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
    return image if image in WELL_KNOWN_ARGS else ""


def _arg_ports(c: Container, binary: str) -> list[int]:
    flag, default, urls = WELL_KNOWN_ARGS[binary]
    values = []
    args = list(c.args)
    for i, a in enumerate(args):
        if a.startswith(flag + "="):
            values.append(a.split("=", 1)[1])
        elif a == flag and i + 1 < len(args):
            values.append(args[i + 1])
    if not values:
        return [default]
    out = []
    for v in values:
        for item in v.split(",") if urls else [v]:
            try:
                port = urlsplit(item.strip()).port if urls else int(item)
            except ValueError:
                port = None
            if port and port not in out:
                out.append(port)
    return out or [default]


def pod_listen_ports(pod: Pod) -> dict[tuple[int, str], tuple[str, str]]:
    """{(port, protocol): (container, why)} for the ports the snapshot says the pod's processes open."""
    out: dict[tuple[int, str], tuple[str, str]] = {}
    for c in pod.containers:
        if c.init:
            continue
        for cp in c.ports:
            out.setdefault((cp.container_port, cp.protocol or "TCP"),
                           (c.name, f"container {c.name} declares containerPort {cp.container_port}"))
        for p in c.probe_ports:
            out.setdefault((p, "TCP"), (c.name, f"container {c.name}'s probe connects to port {p}"))
        binary = _binary(c) or (pod.labels.get(COMPONENT_LABEL, "") if len(pod.containers) == 1 else "")
        if binary in WELL_KNOWN_ARGS:
            flag = WELL_KNOWN_ARGS[binary][0]
            for p in _arg_ports(c, binary):
                out.setdefault((p, "TCP"), (c.name, f"container {c.name} runs {binary} ({flag}: port {p})"))
    return out


def pod_listener(pod: Pod, port: int, proto: str) -> Listener | None:
    """H1: the container of `pod` that serves port/proto, or None."""
    hit = pod_listen_ports(pod).get((port, proto))
    if hit is None:
        return None
    return Listener("pod", port, hit[1], pod, hit[0])


def node_listener(model: ClusterModel, node: Node, port: int, proto: str, *, loopback: bool = False
                  ) -> Listener | None:
    """H4: who answers on `node`'s address (or its loopback) at port/proto: a hostNetwork pod, the kubelet,
    kube-proxy; None when the snapshot shows nothing listening there."""
    for pod in model.pods_by_node.get(node.name, ()):
        if pod.host_network and pod.phase == "Running":
            hit = pod_listener(pod, port, proto)
            if hit is not None:
                return hit
    if proto != "TCP":
        return None
    kubelet_port = node.kubelet_port or DEFAULT_KUBELET_PORT
    if port == kubelet_port:
        return Listener("kubelet", port, f"the kubelet of node {node.name} serves its API on {port} "
                                         f"(status.daemonEndpoints.kubeletEndpoint.Port): logs, exec, port-forward")
    if port == KUBE_PROXY_HEALTH:
        return Listener("kube-proxy", port, f"kube-proxy on node {node.name} serves its health check on {port}")
    if loopback and port == KUBELET_HEALTHZ:
        return Listener("kubelet", port, f"the kubelet of node {node.name} serves healthz on 127.0.0.1:{port}")
    if loopback and port == KUBE_PROXY_METRICS:
        return Listener("kube-proxy", port, f"kube-proxy on node {node.name} serves metrics on 127.0.0.1:{port}")
    return None


def control_plane_node(node: Node) -> bool:
    """H6: node-role.kubernetes.io/control-plane (or the legacy …/master) label."""
    return ("node-role.kubernetes.io/control-plane" in node.labels
            or "node-role.kubernetes.io/master" in node.labels)
