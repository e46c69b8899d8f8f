"""Optional layers of the traffic map: storage (claims and volumes) and the control plane.

Why layers, off by default: the first question of the map is who may reach whom; which workloads share a
disk, or how kubelets reach the API server, is a second look. A layer is asked for with `layers=storage`,
`layers=control-plane` (or both), and its elements carry `layer` so the client can say what they are.

- storage: in every open namespace, each PersistentVolumeClaim a drawn pod mounts (a `claim` in the
  namespace box), a `mount` edge from the workload (or pod) that mounts it (label rw/ro), and the bound
  PersistentVolume (a `volume`, `bound` edge). A claim mounted by more than one workload, or whose access
  modes include ReadWriteMany, is `shared`. Closed namespaces draw no claims (their pods are the box).
- control-plane: tracer.engine.control_plane's view drawn: control-plane nodes as boxes holding their
  static components, the API server (inside, or outside the cluster when managed), the other nodes as one
  "nodes" element, and each flow (kubelet/kube-proxy, scheduler, controller-manager, CoreDNS → API
  server; API server → etcd, → kubelets) as a `cp-flow` edge carrying the trace request that checks it.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from tracer.engine.cluster import ClusterModel

LAYERS = ("storage", "control-plane")
LOOPBACK = ("127.0.0.1", "::1", "localhost")


def storage_layer(model: ClusterModel, ns_open: set[str], pod_element: dict[str, str], nodes: dict[str, dict],
                  node: Callable, edge: Callable) -> None:
    """Claims mounted by the drawn pods of open namespaces, their mounts and bound volumes."""
    mounted_by: dict[str, set[str]] = defaultdict(set)
    for ns in ns_open:
        for p in model.pods_by_namespace.get(ns, ()):
            src = pod_element.get(p.key)
            if not src:
                continue
            for v in p.volumes:
                if not v.claim_name:
                    continue
                key = f"{ns}/{v.claim_name}"
                claim = model.claims.get(key)
                cid = node(f"pvc:{key}", "claim", v.claim_name, namespace=ns, parent=f"ns:{ns}", ref=f"pvc:{key}",
                           layer="storage", phase=claim.phase if claim else "missing",
                           access_modes=" ".join(claim.access_modes) if claim else "")
                mounted_by[cid].add(src)
                edge(src, cid, "mount", "ro" if v.read_only else "rw")
                if claim and claim.volume_name:
                    vid = node(f"pv:{claim.volume_name}", "volume", claim.volume_name, ref=f"pv:{claim.volume_name}",
                               layer="storage")
                    edge(cid, vid, "bound")
    for cid, sources in mounted_by.items():
        key = cid[len("pvc:"):]
        claim = model.claims.get(key)
        rwx = bool(claim and "ReadWriteMany" in claim.access_modes)
        if len(sources) > 1 or rwx:
            nodes[cid]["shared"] = True
            nodes[cid]["label"] = f"{nodes[cid]['label']} (shared)"


def control_plane_layer(view: dict, pod_element: dict[str, str], node: Callable, edge: Callable) -> None:
    """The control plane's nodes, components, API server and flows (view = tracer.engine.control_plane)."""
    cp_nodes = {n["name"]: n for n in view.get("nodes", ())}
    node_ips = {n["ip"]: n["name"] for n in cp_nodes.values() if n.get("ip")}
    for name in cp_nodes:
        node(f"cp:node:{name}", "cp-node", name, ref=f"node:{name}", layer="control-plane")
    components: dict[str, dict] = {}
    for c in view.get("components", ()):
        cid = node(f"cp:pod:{c['pod']}", "component", c["component"], ref=f"pod:{c['pod']}", layer="control-plane",
                   parent=f"cp:node:{c['node']}" if c.get("node") in cp_nodes else None,
                   ports=", ".join(str(p) for p in c.get("ports", ())))
        components[c["pod"]] = {**c, "id": cid}
    api = view.get("api_server") or {}
    api_pods = [a["pod"] for a in api.get("addresses", ()) if a.get("pod") in components]
    if api_pods:
        api_id = components[api_pods[0]]["id"]
    else:
        label = "API server (managed, outside the cluster)" if api.get("managed") else "API server"
        api_id = node("cp:apiserver", "apiserver", label, ref="svc:default/kubernetes", layer="control-plane",
                      note=api.get("note", ""))
    others = max(0, int(view.get("nodes_total") or 0) - len(cp_nodes))

    def worker() -> str:
        return node("cp:nodes", "cp-node", f"{others} other node{'s' if others != 1 else ''} (kubelet, kube-proxy)",
                    layer="control-plane")

    def end(ref: str, source_pod: str = "", port: int = 0) -> str | None:
        kind, _, rest = ref.partition(":")
        if kind == "node":
            return f"cp:node:{rest}" if rest in cp_nodes else worker()
        if kind == "svc":
            return api_id if rest == "default/kubernetes" else None
        if kind == "pod":
            if rest in components:
                return components[rest]["id"]
            return pod_element.get(rest) or node(f"cp:pod:{rest}", "component", rest.split("/", 1)[1],
                                                 ref=f"pod:{rest}", layer="control-plane")
        if kind == "ip":
            if rest in LOOPBACK and source_pod in components:  # the same node: a component listening there
                home = components[source_pod].get("node")
                for c in components.values():
                    if c.get("node") == home and port in c.get("ports", ()):
                        return c["id"]
            if rest in node_ips:
                return f"cp:node:{node_ips[rest]}"
            return worker()
        return None

    for f in view.get("flows", ()):
        src_pod = f["from"][len("pod:"):] if f["from"].startswith("pod:") else ""
        a, b = end(f["from"]), end(f["to"], src_pod, int(f.get("port") or 0))
        if a and b:
            e = edge(a, b, "cp-flow", str(f.get("port") or ""))
            if e is not None:
                e.setdefault("what", [])
                if f.get("what") and f["what"] not in e["what"]:
                    e["what"].append(f["what"])
                e.setdefault("trace", f.get("trace"))
