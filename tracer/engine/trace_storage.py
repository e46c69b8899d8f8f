"""The `volume:NAME` trace entry: the storage path of one volume of the source pod (docs/semantics.md I1–I2).

Registered with the walk's entry seam (`trace.add_entry(volume_entry)` in trace.py; this module does not import
trace, so there is no import cycle). `storage.py` decides what the volume is and where its
data lives; this entry turns that into hops: the pod mounts, the claim and volume it resolves to, then the node —
not the pod — sends (I2), so the walk continues from a node source: the node's resolver for names, kube-proxy for
a ClusterIP, the server pod's ingress policy (which sees the node's IP), never the client pod's egress policy.
"""
from __future__ import annotations

import ipaddress

from . import storage
from .errors import BadRequest
from .result import DELIVERED, DROPPED, Hop, Path, Ref
from .trace_state import Source

__all__ = ["volume_entry"]


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def volume_entry(t, src: Source, hops: list[Hop], prob: float, dest) -> list[Path] | None:
    if dest.kind != "volume":
        return None
    if src.kind != "pod" or src.pod is None:
        raise BadRequest("volume:NAME is a volume of a pod: give the source as pod:NAMESPACE/NAME")
    pod = src.pod
    name = dest.parts[0]
    vol = next((v for v in pod.volumes if v.name == name), None)
    if vol is None:
        have = ", ".join(v.name for v in pod.volumes) or "none"
        raise BadRequest(f"pod {pod.key} has no volume {name!r} (its volumes: {have})")
    m = t.m
    node = m.nodes.get(pod.node_name)
    node_name = pod.node_name or "?"
    node_ip = (node.internal_ip if node else "") or pod.host_ip or ""
    node_ref = Ref("node", "", pod.node_name)
    ans = storage.volume_target(m, pod, vol)
    vref = Ref("volume", pod.namespace, f"{pod.name}/{vol.name}")
    out = [*hops, Hop("volume", vref, "mount",
                      f"pod {pod.key} mounts volume {vol.name} ({vol.kind}{', read-only' if vol.read_only else ''}); "
                      f"the pod itself sends nothing for it: the kubelet and the kernel of node {node_name} do (I2)")]
    out.extend(Hop("volume", Ref(kind, ns, obj), "resolve", detail) for kind, ns, obj, detail in ans.chain)
    t.notes.extend(ans.notes)
    if ans.problem:
        return [Path(src.ref, DROPPED, "pod-not-ready", prob, None, None,
                     [*out, Hop("volume", vref, "unbound", ans.problem)])]
    if ans.local:
        return [Path(src.ref, DELIVERED, None, prob, node_ref, None,
                     [*out, Hop("volume", node_ref, "local", f"{ans.local}; the data stays on node {node_name}")])]
    if ans.unknown:
        t.notes.append(ans.unknown)
        return [Path(src.ref, DELIVERED, None, prob, node_ref, None,
                     [*out, Hop("volume", node_ref, "csi", f"node {node_name} ({node_ip or '?'}) mounts it through "
                                                       f"{ans.unknown}")])]
    if not ans.targets:
        raise BadRequest(f"volume {vol.name} of pod {pod.key} names no server")
    paths: list[Path] = []
    share = prob / len(ans.targets)
    saved_port = t.port
    try:
        for target in ans.targets:
            t.port = target.port
            nsrc = Source(node_ref, "node", None, node_ip, pod.node_name or None, share)
            send = Hop("node", node_ref, "send",
                       f"node {node_name} ({node_ip or '?'}) sends {t.proto} to the {target.what} "
                       f"{target.host}:{target.port} from its own IP; pod {pod.key}'s NetworkPolicy does not apply "
                       f"(I2)")
            steps = [*out, send]
            if _is_ip(target.host):
                found = t.to_ip(nsrc, steps, share, target.host, target.port)
            else:
                why = storage.node_resolvable(m, target.host)
                if why:
                    found = [Path(nsrc.ref, DROPPED, "dns-nxdomain", share, None, None,
                                  [*steps, Hop("dns", Ref("dns", "", target.host), "nxdomain", why)])]
                else:
                    t.notes.append(f"{target.host} is resolved by node {node_name}'s own resolver (not cluster "
                                   f"DNS); its answer is not in the snapshot (I2)")
                    found = t.to_external(nsrc, [*steps, Hop("dns", Ref("dns", "", target.host), "resolve",
                                                             f"the node's resolver answers {target.host} (I2)")],
                                          share, target.host, target.port)
            for path in found:
                path.source = src.ref  # the question was about the pod's volume; the hops say the node sends
            paths.extend(found)
    finally:
        t.port = saved_port
    return paths
