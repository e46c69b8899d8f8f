"""The traffic map: who may reach whom, drawn as namespace boxes holding workloads and services.

Why a second picture next to `elements.py` (the packet's layers): a newcomer asks "which namespaces
and workloads can talk, and where do policies close doors?". This map answers with
- namespaces as compound boxes (parents) holding workloads, bare pods, services and Ingresses;
- edges for what the cluster allows: outside → Ingress / LoadBalancer / NodePort service →
  service → workload (its endpoints), and every NetworkPolicy allow rule (peer → selected pods for
  ingress rules, selected pods → peer for egress rules, with ports), resolved by the engine
  (`tracer.engine.policy_edges`) on pod classes;
- isolation badges: ingress/egress isolated, or open to all.

Semantic zoom, decided here so a browser never gets more than a few thousand elements: namespace
groups (alphabetical runs of namespaces, when there are many) → namespaces → workloads → pods. The
`expand` tokens open one level each (`nsgroup:FIRST..LAST`, `ns:NS`, `workload:NS/KIND/NAME`);
opening a namespace opens its group. With no `expand` at all, a small cluster opens every namespace
(the response's `expanded` says what was opened, so the client can put it in its URL).

Positions are left to the client's layout (cytoscape-fcose): the server sends structure only.
"""
from __future__ import annotations

import weakref
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass

from tracer.engine.cluster import ClusterModel
from tracer.engine.control_plane import control_plane
from tracer.engine.gateway import gateway_view
from tracer.engine.policy_edges import policy_edges

from .map_layers import control_plane_layer, storage_layer

NS_GROUP_ABOVE = 40  # more namespaces than this are drawn as alphabetical groups
NS_PER_GROUP = 50
AUTO_OPEN_ELEMENTS = 250  # a cluster with at most this many workloads + services opens every namespace
MAX_ELEMENTS = 4000
MAX_EDGES = 6000
EXTERNAL = "external"


@dataclass(frozen=True)
class MapQuery:
    expand: frozenset[str] | None = None  # None ⇒ the default view
    namespaces: tuple[str, ...] = ()
    layers: frozenset[str] = frozenset()  # optional layers drawn too: "storage", "control-plane" (map_layers)


BARE_PODS_GROUPED_ABOVE = 20
APP_LABELS = ("app.kubernetes.io/name", "app", "k8s-app", "name")


def _app_label(labels: dict[str, str]) -> str:
    """The group of an owner-less pod: its app label as `key=value`, or `no app label`."""
    for key in APP_LABELS:
        if key in labels:
            return f"{key}={labels[key]}"
    return "no app label"


def _ns_groups(names: list[str]) -> dict[str, str]:
    """namespace → group token, alphabetical runs of NS_PER_GROUP (no grouping for few namespaces)."""
    if len(names) <= NS_GROUP_ABOVE:
        return {}
    out = {}
    for i in range(0, len(names), NS_PER_GROUP):
        run = names[i:i + NS_PER_GROUP]
        token = f"nsgroup:{run[0]}..{run[-1]}"
        for n in run:
            out[n] = token
    return out


_MEMO: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def traffic_map(model: ClusterModel, query: MapQuery | None = None) -> dict:
    """Cytoscape elements (no positions) of the traffic map; memoised per model and query."""
    q = query or MapQuery()
    memo = _MEMO.get(model)
    if memo is None:
        memo = _MEMO[model] = OrderedDict()
    hit = memo.get(q)
    if hit is None:
        hit = memo[q] = _traffic_map(model, q)
        while len(memo) > 8:
            memo.popitem(last=False)
    return dict(hit)


def _badge(iso_in: int, iso_out: int, open_in: int, total: int) -> tuple[str, list[str]]:
    """Short text and style classes for an element's isolation (counts over its pod classes)."""
    if not total:
        return "", []
    parts, classes = [], []
    if iso_in == total and not open_in:
        parts.append("ingress isolated")
        classes.append("iso-in")
    elif iso_in:
        parts.append("ingress partly isolated")
        classes.append("iso-in-some")
    else:
        parts.append("open to all")
        classes.append("open")
    if iso_out == total:
        parts.append("egress isolated")
        classes.append("iso-out")
    elif iso_out:
        parts.append("egress partly isolated")
        classes.append("iso-out-some")
    return " · ".join(parts), classes


def _traffic_map(model: ClusterModel, q: MapQuery) -> dict:
    ns_names = sorted(set(model.namespaces) | set(model.pods_by_namespace) | set(model.services_by_namespace))
    shown_ns = [n for n in ns_names if not q.namespaces or n in q.namespaces]
    shown_set = set(shown_ns)
    groups = _ns_groups(shown_ns)
    workload_count = len(model.pods_by_workload) + len(model.objects.services)
    expand = q.expand
    if expand is None:
        expand = frozenset(f"ns:{n}" for n in shown_ns) \
            if not groups and workload_count <= AUTO_OPEN_ELEMENTS else frozenset()
    expand_all = "all" in expand
    ns_open = {n for n in shown_ns if expand_all or f"ns:{n}" in expand}
    group_open = {g for g in set(groups.values()) if expand_all or g in expand} | {groups[n] for n in ns_open if n in groups}

    nodes: dict[str, dict] = {}
    members: dict[str, Counter] = defaultdict(Counter)  # element → pods by kind, for labels

    def node(id_: str, kind: str, label: str, **data) -> str:
        if id_ not in nodes:
            nodes[id_] = {"id": id_, "kind": kind, "label": label, **data}
        return id_

    def ns_element(ns: str) -> str:
        g = groups.get(ns)
        if g and g not in group_open:
            first, last = g[len("nsgroup:"):].split("..")
            return node(g, "namespace-group", f"{first} … {last}", expand=g)
        parent = g if g else None
        layer = "control-plane" if ns == "kube-system" else ""
        if ns in ns_open:
            return node(f"ns:{ns}", "namespace", ns, namespace=ns, parent=parent, open=True, layer=layer,
                        collapse=f"ns:{ns}")
        return node(f"ns:{ns}", "namespace", ns, namespace=ns, parent=parent, expand=f"ns:{ns}", layer=layer)

    for g in group_open:
        first, last = g[len("nsgroup:"):].split("..")
        node(g, "namespace-group", f"{first} … {last}", open=True, collapse=g)

    # --- pods → drawn element ---------------------------------------------------------------------------
    pod_element: dict[str, str] = {}
    for ns in shown_ns:
        box = ns_element(ns)
        pods = model.pods_by_namespace.get(ns, ())
        if ns not in ns_open:  # its pods are drawn as the box: no per-pod work (most pods at scale)
            members[box]["pods"] += len(pods)
            continue
        bare = sum(1 for p in pods if not (p.workload_kind or p.owner_kind))
        for p in pods:
            # a pod's workload, or at least its controller (a ReplicaSet whose Deployment is not in the dump);
            # many bare pods are grouped by their app label so a namespace never explodes into pods
            kind, name = (p.workload_kind, p.workload_name) if p.workload_kind else (p.owner_kind, p.owner_name)
            if not kind and bare > BARE_PODS_GROUPED_ABOVE:
                kind, name = "Pods", _app_label(p.labels)
            if kind:
                wl = f"workload:{ns}/{kind}/{name}"
                if expand_all or wl in expand:
                    node(wl, "workload", name, namespace=ns, parent=box, workload_kind=kind,
                         open=True, collapse=wl)
                    pod_element[p.key] = node(f"pod:{p.key}", "pod", p.name, namespace=ns, parent=wl,
                                              ref=f"pod:{p.key}", ready=p.ready, ip=p.ip or "")
                else:
                    pod_element[p.key] = node(wl, "workload", name, namespace=ns, parent=box,
                                              workload_kind=kind, expand=wl)
                members[wl]["pods"] += 1
            else:
                pod_element[p.key] = node(f"pod:{p.key}", "pod", p.name, namespace=ns, parent=box,
                                          ref=f"pod:{p.key}", ready=p.ready, ip=p.ip or "")
            members[box]["pods"] += 1

    # --- isolation badges, from the engine's classes ------------------------------------------------------
    pe = policy_edges(model)
    class_elements: list[set[str]] = []
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # iso_in, iso_out, open_in, total
    for c in pe.classes:
        if c.namespace not in ns_open:
            drawn = {ns_element(c.namespace)} if c.namespace in shown_set else set()
        else:
            drawn = {pod_element[p.key] for p in c.pods if p.key in pod_element}
        class_elements.append(drawn)
        for d in drawn:
            s = stats[d]
            s[0] += pe.ingress_isolated[c.index]
            s[1] += pe.egress_isolated[c.index]
            s[2] += pe.ingress_open[c.index]
            s[3] += 1
            parent = nodes[d].get("parent")
            while parent:  # a namespace (and group) box summarises its workloads
                s2 = stats[parent]
                s2[0] += pe.ingress_isolated[c.index]
                s2[1] += pe.egress_isolated[c.index]
                s2[2] += pe.ingress_open[c.index]
                s2[3] += 1
                parent = nodes[parent].get("parent")
    for id_, (iso_in, iso_out, open_in, total) in stats.items():
        text, classes = _badge(iso_in, iso_out, open_in, total)
        nodes[id_]["badge"] = text
        nodes[id_]["badges"] = " ".join(classes)

    edges: dict[tuple[str, str, str], dict] = {}

    def edge(a: str, b: str, kind: str, label: str = "", policy: str = "") -> dict | None:
        if not a or not b or a == b:
            return None
        e = edges.get((a, b, kind))
        if e is None:
            e = edges[(a, b, kind)] = {"id": f"{kind}:{a}->{b}", "source": a, "target": b, "kind": kind,
                                       "ports": [], "policies": [], "count": 0}
        e["count"] += 1
        if label and label not in e["ports"]:
            e["ports"].append(label)
        if policy and policy not in e["policies"]:
            e["policies"].append(policy)
        return e

    # --- services, Ingresses, the way in ---------------------------------------------------------------------
    svc_element: dict[str, str] = {}
    for ns in shown_ns:
        for svc in model.services_by_namespace.get(ns, ()):
            if ns in ns_open:
                svc_element[svc.key] = node(f"svc:{svc.key}", "service", svc.name, namespace=ns,
                                            parent=f"ns:{ns}", type=svc.type, ref=f"svc:{svc.key}")
            else:
                svc_element[svc.key] = ns_element(ns)
                members[ns_element(ns)]["services"] += 1
            ports = ", ".join(f"{p.protocol or 'TCP'} {p.port}" for p in svc.ports)
            if svc.type in ("LoadBalancer", "NodePort") or svc.external_ips:
                node(EXTERNAL, "external", "outside the cluster")
                edge(EXTERNAL, svc_element[svc.key], "entry", ports)
            if ns not in ns_open:
                continue  # a closed namespace's service → its own pods is inside the box
            for sl in model.slices_by_service.get(svc.key, ()):
                for ep in sl.endpoints:
                    if ep.target_kind not in ("Pod", "") or not ep.target_name:
                        continue
                    tns = ep.target_namespace or ns
                    target = pod_element.get(f"{tns}/{ep.target_name}") or (
                        ns_element(tns) if tns in shown_set and tns not in ns_open else None)
                    if target:
                        edge(svc_element[svc.key], target, "endpoint", ports)
    for ing in model.ingresses:
        if ing.namespace not in shown_ns:
            continue
        if ing.namespace in ns_open:
            hosts = sorted({r.host for r in ing.rules if r.host})
            ing_id = node(f"ingress:{ing.key}", "ingress", ", ".join(hosts) or ing.name, namespace=ing.namespace,
                          parent=f"ns:{ing.namespace}", ref=f"ingress:{ing.key}", name=ing.name)
        else:
            ing_id = ns_element(ing.namespace)
        node(EXTERNAL, "external", "outside the cluster")
        edge(EXTERNAL, ing_id, "entry", "HTTP(S)")
        backends = [p.backend for r in ing.rules for p in r.paths] + ([ing.default_backend] if ing.default_backend else [])
        for b in backends:
            target = svc_element.get(f"{ing.namespace}/{b.service_name}") if b.service_name else None
            if target:
                edge(ing_id, target, "route", str(b.port_number or b.port_name or ""))

    _gateway_elements(model, shown_ns, ns_open, ns_element, node, edge, svc_element)
    cp_view = control_plane(model)
    if "storage" in q.layers:
        storage_layer(model, ns_open, pod_element, nodes, node, edge)
    if "control-plane" in q.layers:
        control_plane_layer(cp_view, pod_element, node, edge)

    # --- NetworkPolicy allow rules ------------------------------------------------------------------------
    drawn_sets: dict[int, set[str]] = {}

    def drawn(cls_set) -> set[str]:
        key = id(cls_set)
        got = drawn_sets.get(key)
        if got is None:
            got = set()
            for ci in cls_set:
                got |= class_elements[ci]
            drawn_sets[key] = got
        return got

    # An open namespace whose every workload is a peer is drawn as one edge from its box.
    ns_members: dict[str, set[str]] = defaultdict(set)
    for key, el in pod_element.items():
        ns = key.split("/", 1)[0]
        if ns in ns_open:
            ns_members[ns].add(el)

    def boxed(elements: set[str]) -> set[str]:
        out = set(elements)
        for ns, kids in ns_members.items():
            if len(kids) > 1 and kids <= out:
                out -= kids
                out.add(f"ns:{ns}")
        return out

    for r in pe.edges:
        if r.peer_classes is None:
            continue  # "every peer": the badge says "open to all"
        selected = drawn(r.selected)
        if not selected:
            continue
        peers = boxed(drawn(r.peer_classes))
        for block in r.ip_blocks:
            peers.add(node(f"ipblock:{block}", "ipblock", block))
        for a in peers:
            for b in selected:
                # one "allow" edge per pair: the ingress rule at the destination and the egress rule at
                # the source are both listed on it (a packet needs both, E5)
                if r.direction == "Ingress":
                    edge(a, b, "allow", r.ports, f"{r.policy} (ingress rule #{r.rule})")
                else:
                    edge(b, a, "allow", r.ports, f"{r.policy} (egress rule #{r.rule})")
        if len(edges) > MAX_EDGES * 4:
            break

    # --- labels and the payload ------------------------------------------------------------------------------
    # Captions stay short (the shape and colour say the kind; the panel and list view say the rest), so
    # a fitted map keeps its labels readable.
    for id_, n in nodes.items():
        m = members.get(id_)
        caption = n["label"]
        if n["kind"] == "workload":
            caption = f"{n['label']} ×{m['pods'] if m else 0}"
        elif n["kind"] in ("ingress", "gateway", "route"):
            caption = n["name"]
        elif n["kind"] in ("namespace", "namespace-group") and not n.get("open"):
            what = [f"{m['pods']} pods"] if m else []
            if m and m["services"]:
                what.append(f"{m['services']} svc")
            caption = f"{n['label']}\n{' · '.join(what) or 'empty'}"
        n["count"] = m["pods"] if m else 0
        n["caption"] = caption
    node_list = list(nodes.values())
    truncated = len(node_list) > MAX_ELEMENTS
    if truncated:
        node_list = node_list[:MAX_ELEMENTS]
    keep = {n["id"] for n in node_list}
    edge_list = [e for e in edges.values() if e["source"] in keep and e["target"] in keep]
    if len(edge_list) > MAX_EDGES:
        truncated = True
        edge_list = sorted(edge_list, key=lambda e: -e["count"])[:MAX_EDGES]
    for e in edge_list:
        e["label"] = ", ".join(e["ports"][:3]) + (" …" if len(e["ports"]) > 3 else "")
    return {
        "elements": {"nodes": [{"data": {k: v for k, v in n.items() if v is not None}} for n in node_list],
                     "edges": [{"data": e} for e in edge_list]},
        "expanded": sorted(expand),
        "namespaces": ns_names,
        "truncated": truncated,
        "message": (f"Showing {len(node_list)} elements and {len(edge_list)} edges of more: filter by namespace "
                    "or expand less." if truncated else ""),
        "total": {"pods": len(model.objects.pods), "services": len(model.objects.services),
                  "namespaces": len(ns_names), "policies": len(model.objects.network_policies)},
        # H5/H6: control-plane nodes, components, the API server's endpoints and the flows to draw, each with a
        # trace request (tracer/engine/control_plane.py; var notes for the map: nodes and flows)
        "control_plane": cp_view,
        "layers": sorted(q.layers),
    }


def _gateway_elements(model: ClusterModel, shown_ns, ns_open, ns_element, node, edge, svc_element) -> None:
    """Gateways as Ingresses are drawn (issue 14 item 5): outside → Gateway (its listeners' ports) → each attached
    route (edge labelled with the listener) → the Services the route's rules name (labelled with the weight when
    a rule splits). A closed namespace draws its Gateways and routes as its box."""
    view = gateway_view(model)
    shown = set(shown_ns)
    route_ids: dict[str, str] = {}
    for key, gw in sorted(view.gateways.items()):
        ns = gw.obj.namespace
        if ns not in shown:
            continue
        if ns in ns_open:
            gw_id = node(f"gateway:{key}", "gateway", gw.obj.name, namespace=ns, parent=f"ns:{ns}",
                         ref=f"gateway:{key}", name=gw.obj.name, implementation=gw.implementation)
        else:
            gw_id = ns_element(ns)
        node(EXTERNAL, "external", "outside the cluster")
        ports = sorted({f"{x.protocol} {x.port}" for x in gw.listeners})
        for p in ports:
            edge(EXTERNAL, gw_id, "entry", p)
        for x in gw.listeners:
            for att in view.attached(x):
                r = att.route
                if r.namespace not in shown:
                    continue
                rid = route_ids.get(f"{r.kind} {r.key}")
                if rid is None:
                    if r.namespace in ns_open:
                        ref = f"route:{r.kind.lower()}/{r.key}"
                        rid = node(ref, "route", r.name, namespace=r.namespace, parent=f"ns:{r.namespace}",
                                   ref=ref, name=r.name, route_kind=r.kind)
                    else:
                        rid = ns_element(r.namespace)
                    route_ids[f"{r.kind} {r.key}"] = rid
                    for rule in r.spec.get("rules", []):
                        refs = rule.get("backendRefs", [])
                        split = len(refs) > 1
                        for b in refs:
                            if b.get("kind", "Service") != "Service":
                                continue
                            target = svc_element.get(f"{b.get('namespace') or r.namespace}/{b['name']}")
                            weight = f"weight {b.get('weight', 1)}" if split else str(b.get("port") or "")
                            if target:
                                edge(rid, target, "route", weight)
                edge(gw_id, rid, "attach", f"{x.name} :{x.port}")
