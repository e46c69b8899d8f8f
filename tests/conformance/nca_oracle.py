"""Reading network-config-analyzer (nca) cases and comparing our policy evaluation with theirs.

The corpus (tests/fixtures/nca, see its README.md) holds upstream scheme files. A scheme names
namespace lists, pod lists (PodList dumps or workload manifests) and, per `networkConfigList` entry,
the NetworkPolicy files; `nca_generated/<case>/<config>.txt_no_fw_rules.txt.gz` is nca 2.1.0's
pairwise list of allowed connections for that config, and two upstream expected outputs use the
same format. One line per allowed pair:

    default/frontend[Deployment] => default/cartservice[Deployment] : {protocols:TCP,dst_ports:7070}
    0.0.0.0-9.255.255.255 => kube-system/calico-node[DaemonSet] : All connections

Endpoints are pods grouped by controlling owner ("ns/owner[Kind]", or "ns/pod[Pod]" without one)
or IPv4 ranges (cluster-external addresses: nca never matches a pod by ipBlock). We compare
*semantically*: each side becomes a map (source endpoint, destination endpoint) → `Connections`,
with IP ranges split into the atoms of both sides' boundaries, so grouping and range-merging
choices of the printer do not matter, only which connections are allowed.

How nca builds its topology from the inputs (the parts that matter here):
- a workload manifest (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, …) stands for pods
  carrying its template labels and container ports, grouped under "ns/name[Kind]";
- a pod's namespace that no namespace list declares still exists, with no labels other than
  `kubernetes.io/metadata.name`;
- when a policy selects `k8s-app: kube-dns` pods in kube-system and there are none, nca adds a
  pod `kube-system/kube-dns-livesim` ("LiveSim") so that DNS egress rules have a target.
"""
from __future__ import annotations

import gzip
import ipaddress
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.fixtures import FIXTURES
from tracer.engine.cluster import ClusterModel
from tracer.engine.netpol import Connections, Peer, PolicyEngine

REPO = Path(__file__).resolve().parents[2]
NCA_DIR = FIXTURES / "nca"

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob",
                  "ReplicationController", "DeploymentConfig")


# ---------------------------------------------------------------------------------------------
# Cases and configs


@dataclass
class NcaConfig:
    case: str
    name: str
    namespace_paths: list[Path]
    pod_paths: list[Path]
    policy_paths: list[Path]
    resource_paths: list[Path]
    expected: Path  # a txt_no_fw_rules file (gzip or plain)
    own_topology: bool = True  # False: the config inherits the scheme's global pod/namespace lists

    @property
    def id(self) -> str:
        return f"{self.case}/{self.name}"


def load_index() -> dict:
    return json.loads((NCA_DIR / "cases.json").read_text())


def _as_list(v) -> list:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def scheme_configs(case: dict) -> list[NcaConfig]:
    """Every networkConfig of a scheme case that has a pairwise expectation (nca_generated)."""
    scheme_path = NCA_DIR / case["scheme"]
    scheme = yaml.safe_load(scheme_path.read_text())
    base = scheme_path.parent
    generated = {Path(p).name.split(".txt_no_fw_rules")[0]: NCA_DIR / p for p in case["nca_generated_pairwise"]}
    out = []
    for cfg in scheme.get("networkConfigList") or []:
        name = cfg["name"]
        if name not in generated:
            continue
        own = any(k in cfg for k in ("namespaceList", "podList", "resourceList"))
        ns = cfg.get("namespaceList", scheme.get("namespaceList"))
        pods = cfg.get("podList", scheme.get("podList"))
        if not own and scheme.get("resourceList"):  # the global resources give the topology
            ns = _as_list(ns) + _as_list(scheme["resourceList"])
            pods = _as_list(pods) + _as_list(scheme["resourceList"])
        res = [base / p for p in _as_list(cfg.get("resourceList"))]
        out.append(NcaConfig(
            case["id"], name,
            [base / p for p in _as_list(ns)], [base / p for p in _as_list(pods)],
            [base / p for p in _as_list(cfg.get("networkPolicyList"))], res, generated[name], own))
    return out


def cmdline_config(case: dict) -> NcaConfig | None:
    """A command-line case (`cd tests && nca --connectivity POLICY --ns_list NS --pod_list PODS …`,
    or `-r RESOURCE` lists). Its pairwise expectation lives in `nca_generated/<group>/` where the
    case id starts with <group> (the 6 output formats of `cmdline_basic_connectivity*` share one);
    None when nca_generated has none for it."""
    tokens = case["run_command"].split()
    tokens = tokens[tokens.index("nca") + 1:] if "nca" in tokens else tokens
    tests = NCA_DIR / "tests"
    policies, ns, pods, res = [], [], [], []
    i = 0
    while i < len(tokens):
        tok, nxt = tokens[i], (tokens[i + 1] if i + 1 < len(tokens) else None)
        takes = nxt is not None and not nxt.startswith("-")
        if tok == "--connectivity" and takes:
            policies.append(tests / nxt)
        elif tok == "--ns_list" and takes:
            ns.append(tests / nxt)
        elif tok == "--pod_list" and takes:
            pods.append(tests / nxt)
        elif tok in ("-r", "--resource_list") and takes:
            res.append(tests / nxt)
        i += 2 if takes and tok.startswith("-") else 1
    stem = Path((policies or res or [Path("config")])[0]).stem
    for group in sorted((NCA_DIR / "nca_generated").iterdir(), key=lambda d: -len(d.name)):
        expected = group / f"{stem}.txt_no_fw_rules.txt.gz"
        if case["id"].startswith(group.name) and expected.exists():
            return NcaConfig(group.name, stem, ns, pods, policies, res, expected)
    return None


def all_configs() -> list[NcaConfig]:
    """Every (case, config) with a pairwise expectation; cmdline variants of one input count once."""
    out: list[NcaConfig] = []
    seen: set[Path] = set()
    for case in load_index()["cases"]:
        if "scheme" in case:
            out.extend(scheme_configs(case))
        elif case.get("run_command"):
            cfg = cmdline_config(case)
            if cfg is not None and cfg.expected not in seen:
                seen.add(cfg.expected)
                out.append(cfg)
    return out


def upstream_pairwise_expectations() -> list[tuple[str, Path, str]]:
    """Upstream expected outputs in txt_no_fw_rules format for a connectivityMap: (case, file, config)."""
    out = []
    for case in load_index()["cases"]:
        for q in case.get("queries", []):
            if q.get("output_format") == "txt_no_fw_rules" and q["type"] == "connectivityMap":
                out.append((case["id"], NCA_DIR / q["expected_output"], q["args"][0]))
    return out


# ---------------------------------------------------------------------------------------------
# Building the model


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix.lower() in (".yaml", ".yml", ".json"))
    return [path]


def _docs(paths: list[Path], load_documents) -> list:
    docs = []
    for p in paths:
        for f in _files(p):
            docs.extend(load_documents(f))
    return docs


def _pod_from_workload(doc, Document) -> list:
    """nca's view of a workload manifest: one pod with the template's labels and ports."""
    data = doc.data
    md = data.get("metadata") or {}
    spec = data.get("spec") or {}
    if data["kind"] == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    tpl = spec.get("template") or {}
    tmd = tpl.get("metadata") or {}
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": f"{md['name']}-nca", "namespace": md.get("namespace") or "default",
                     "labels": dict(tmd.get("labels") or {}),
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": data["kind"], "name": md["name"],
                                          "uid": "nca", "controller": True}]},
        "spec": tpl.get("spec") or {"containers": []},
    }
    return [Document(doc.source_file, doc.index, pod)]


def _normalise(doc, Document):
    """Make nca's inputs acceptable to our strict parser without changing what policy reads:
    items of raw API list dumps (`PodList`, `NamespaceList`) carry no apiVersion, as the API server
    returns them (they are core/v1); nca's hand-trimmed pod dumps omit container names and write
    `ports: {}` for no ports."""
    data = doc.data
    if data.get("kind") not in ("Pod", "Namespace", "Service"):
        return doc
    data = {**data, "apiVersion": data.get("apiVersion") or "v1"}
    if data["kind"] == "Pod":
        spec = dict(data.get("spec") or {})
        spec["containers"] = [{**c, "name": c.get("name") or f"container-{i}",
                               "ports": c.get("ports") or []}  # some dumps have `ports: {}`
                              for i, c in enumerate(spec.get("containers") or [])]
        data["spec"] = spec
    return Document(doc.source_file, doc.index, data, doc.item)


def config_documents(cfg: NcaConfig) -> list:
    """The documents nca reads for one config, as the importer's parser expects them."""
    from topology.importers.load import Document, load_documents

    out = []
    for doc in _docs(cfg.namespace_paths, load_documents):
        if doc.data.get("kind") == "Namespace":
            out.append(doc)
    for doc in _docs(cfg.pod_paths + cfg.resource_paths, load_documents):
        kind = doc.data.get("kind")
        if kind == "Pod":
            out.append(doc)
        elif kind in WORKLOAD_KINDS:
            out.extend(_pod_from_workload(doc, Document))
        elif kind == "Namespace" and cfg.resource_paths:
            out.append(doc)
    for doc in _docs(cfg.policy_paths + cfg.resource_paths, load_documents):
        # Kubernetes NetworkPolicy only (a Calico projectcalico.org NetworkPolicy is another API)
        if doc.data.get("kind") == "NetworkPolicy" and str(doc.data.get("apiVersion", "")).startswith(
                ("networking.k8s.io/", "extensions/")):
            out.append(doc)
    out = [_normalise(d, Document) for d in out]
    # de-duplicate by (kind, ns, name): the same directory may be both podList and namespaceList
    seen, uniq = set(), []
    for doc in out:
        md = doc.data.get("metadata") or {}
        key = (doc.data.get("kind"), md.get("namespace") or "default", md.get("name"))
        if key not in seen:
            seen.add(key)
            uniq.append(doc)
    return uniq


def service_entry_hosts(cfg: NcaConfig) -> tuple[str, ...]:
    """Hosts of Istio ServiceEntry objects among the config's inputs: nca adds each as a DNS-named
    external endpoint, reachable by any pod whose egress is not restricted."""
    from topology.importers.load import load_documents

    hosts: set[str] = set()
    for doc in _docs(cfg.pod_paths + cfg.resource_paths + cfg.policy_paths, load_documents):
        if doc.data.get("kind") == "ServiceEntry":
            hosts.update((doc.data.get("spec") or {}).get("hosts") or ())
    return tuple(sorted(hosts))


def _selects(selector: dict | None, pod) -> bool:
    return bool(selector) and all(pod.labels.get(k) == v for k, v in selector.items())


LIVESIM_INGRESS = ("ingress-controller-ns", "ingress-controller-livesim")


class IngressLayer:
    """nca's reading of k8s Ingress objects (its IngressPolicyYamlParser): an Ingress is an egress
    policy on the ingress-controller pods — the pods behind any Service whose name contains
    "ingress-nginx" (or nca's LiveSim `ingress-controller-livesim` pod when there are none). Once an
    Ingress exists they may send only TCP to the pods behind each backend Service (rules' paths and
    the default backend; a backend naming a missing Service is ignored), on that Service port's
    targetPort (a named targetPort resolves on each pod) — intersected with their NetworkPolicies.
    Hosts and paths refine L7 and are not compared. This is the analyzer's model of a controller,
    not a NetworkPolicy rule, so it lives here and not in the engine; without Ingress objects
    nothing changes."""

    def __init__(self, model: ClusterModel, ingresses: list[dict], services: list[dict]):
        self.active = bool(ingresses)
        pods = model.objects.pods

        def ns_of(d):
            return (d.get("metadata") or {}).get("namespace") or "default"

        svc = {(ns_of(d), d["metadata"]["name"]): d for d in services}
        self.controllers = {p.key for d in services if "ingress-nginx" in d["metadata"]["name"]
                            for p in pods if p.namespace == ns_of(d)
                            and _selects((d.get("spec") or {}).get("selector"), p)}
        if not self.controllers:
            self.controllers = {"/".join(LIVESIM_INGRESS)}
        self.targets: list[tuple[dict, str, int | str]] = []  # (selector, namespace, target port)
        for ing in ingresses:
            ns = ns_of(ing)
            spec = ing.get("spec") or {}
            backends = [spec.get("defaultBackend")] if spec.get("defaultBackend") else []
            for rule in spec.get("rules") or []:
                backends += [p.get("backend") for p in ((rule.get("http") or {}).get("paths") or [])]
            for be in backends:
                ref = (be or {}).get("service")
                if not ref or (ns, ref.get("name")) not in svc:
                    continue
                sspec = svc[(ns, ref["name"])].get("spec") or {}
                want = ref.get("port") or {}
                for sp in sspec.get("ports") or []:
                    if want.get("number") == sp.get("port") or (want.get("name") and want["name"] == sp.get("name")):
                        self.targets.append((sspec.get("selector") or {}, ns, sp.get("targetPort", sp["port"])))

    def captures(self, pod) -> bool:
        return self.active and pod.key in self.controllers

    def allowed(self, dst_pod) -> Connections:
        if dst_pod is None:
            return Connections.nothing()
        acc: dict[str, list[tuple[int, int]]] = {}
        for selector, ns, target in self.targets:
            if dst_pod.namespace != ns or not _selects(selector, dst_pod):
                continue
            if isinstance(target, int) or str(target).isdigit():
                nums = [int(target)]
            else:
                nums = [cp.container_port for cp in dst_pod.container_ports() if cp.name == target]
            acc.setdefault("TCP", []).extend((n, n) for n in nums)
        return Connections.of(acc)


def _ingresses(cfg: NcaConfig) -> list[dict]:
    from topology.importers.load import load_documents

    return [d.data for d in _docs(cfg.policy_paths + cfg.resource_paths, load_documents)
            if d.data.get("kind") == "Ingress"]


def _services(cfg: NcaConfig) -> list[dict]:
    from topology.importers.load import load_documents

    return [d.data for d in _docs(cfg.pod_paths + cfg.resource_paths, load_documents)
            if d.data.get("kind") == "Service"]


def ingress_layer(cfg: NcaConfig, model: ClusterModel) -> IngressLayer:
    return IngressLayer(model, _ingresses(cfg), _services(cfg))


def _livesim_pod(Document, ns: str, name: str, labels: dict, ports: list[dict]):
    return Document("<nca livesim>", 1, {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"containers": [{"name": "main", "ports": ports}]}})


def build_model(cfg: NcaConfig, parse_objects=None) -> ClusterModel:
    """The config's topology and policies as nca sees them, LiveSim additions included.

    nca adds LiveSim resources only to a config that lists its own topology: a config inheriting
    the scheme's global pod list keeps the global topology as parsed (its ResourcesHandler)."""
    if parse_objects is None:
        from topology.importers.parse import parse_objects
    from topology.importers.load import Document

    docs = config_documents(cfg)
    objects = parse_objects(docs).objects
    extra = []
    if cfg.own_topology and _needs_livesim_dns(objects):
        extra.append(_livesim_pod(Document, "kube-system", "kube-dns-livesim", {"k8s-app": "kube-dns"}, [
            {"containerPort": 53, "protocol": "UDP", "name": "dns"},
            {"containerPort": 53, "protocol": "TCP", "name": "dns-tcp"}]))
    if cfg.own_topology and _ingresses(cfg):
        probe = IngressLayer(ClusterModel.build(objects), _ingresses(cfg), _services(cfg))
        if probe.controllers == {"/".join(LIVESIM_INGRESS)}:
            extra.append(_livesim_pod(Document, *LIVESIM_INGRESS, {"app": "ingress-controller-livesim"}, [
                {"containerPort": 80, "protocol": "TCP", "name": "http"},
                {"containerPort": 443, "protocol": "TCP", "name": "https"}]))
    if extra:
        objects = parse_objects(docs + extra).objects
    return ClusterModel.build(objects)


def _needs_livesim_dns(objects) -> bool:
    """nca LiveSim: a policy peer selecting k8s-app=kube-dns pods while kube-system has none."""
    if any(p.namespace == "kube-system" and p.labels.get("k8s-app") == "kube-dns" for p in objects.pods):
        return False
    for pol in objects.network_policies:
        for rule in pol.ingress + pol.egress:
            for peer in rule.peers:
                if peer.pod_selector is not None and peer.pod_selector.match_labels.get("k8s-app") == "kube-dns":
                    return True
    return False


# ---------------------------------------------------------------------------------------------
# The pairwise relation


def group_of(pod) -> str:
    if pod.owner_kind and pod.owner_name:
        return f"{pod.namespace}/{pod.owner_name}[{pod.owner_kind}]"
    return f"{pod.namespace}/{pod.name}[Pod]"


# One integer line for both families: IPv4 addresses are 0 … 2**32-1, IPv6 ones follow (+V6_BASE),
# so an IP range of either family is an interval and IP atoms never straddle families.
V6_BASE = 2**32
V6_END = V6_BASE + 2**128


def _ip_int(s: str) -> int:
    addr = ipaddress.ip_address(s)
    return int(addr) if addr.version == 4 else V6_BASE + int(addr)


def _ip_str(i: int) -> str:
    return str(ipaddress.IPv4Address(i)) if i < V6_BASE else str(ipaddress.IPv6Address(i - V6_BASE))


def _net_bounds(net) -> tuple[int, int]:
    base = 0 if net.version == 4 else V6_BASE
    return base + int(net.network_address), base + int(net.broadcast_address)


_GROUP = re.compile(r"^[^/\s]+/[^\[\s]+\[\w+\]$")


def _ip_endpoint(text: str):
    try:
        if "/" in text:
            lo, hi = _net_bounds(ipaddress.ip_network(text, strict=False))
            return ("ip", lo, hi)
        if "-" in text:
            a, b = text.split("-", 1)
            return ("ip", _ip_int(a), _ip_int(b))
        return ("ip", _ip_int(text), _ip_int(text))
    except ValueError:
        return None


def parse_endpoint(text: str):
    """"ns/owner[Kind]" → itself; an IPv4/IPv6 range "a-b", address or CIDR → ("ip", lo, hi);
    anything else is a DNS name (an Istio ServiceEntry host) → ("dns", name)."""
    if _GROUP.match(text):
        return text
    return _ip_endpoint(text) or ("dns", text)
_CONN_ITEM = re.compile(r"protocols:(?P<protos>[A-Z, ]+?)(?:,dst_ports:(?P<ports>[0-9,\-]+))?(?:,(?:hosts|paths):.*)?$")


def parse_connections(text: str) -> Connections:
    """nca's connection text: "All connections", "No connections" or
    "{protocols:TCP, UDP,dst_ports:53,80-90;protocols:SCTP}" (no dst_ports ⇒ every port)."""
    text = text.strip()
    if text == "All connections":
        return Connections.everything()
    if text in ("No connections", ""):
        return Connections.nothing()
    if not (text.startswith("{") and text.endswith("}")):
        raise ValueError(f"unrecognised nca connection text: {text!r}")
    acc: dict[str, list[tuple[int, int]]] = {}
    for item in text[1:-1].split(";"):
        m = _CONN_ITEM.match(item.strip())
        if not m:
            raise ValueError(f"unrecognised nca connection item: {item!r}")
        protos = [p.strip() for p in m["protos"].split(",") if p.strip()]
        ports = [(1, 65535)]
        if m["ports"]:
            ports = []
            for part in m["ports"].split(","):
                lo, _, hi = part.partition("-")
                ports.append((int(lo), int(hi or lo)))
        for p in protos:
            acc.setdefault(p, []).extend(ports)
    return Connections.of(acc)


def nca_items(conns: Connections) -> frozenset[Connections]:
    """Split a connection set the way nca prints it: one item per group of protocols sharing the
    same ports ("All connections" stays whole). nca prints one line per distinct item of a pair."""
    if conns.all_protocols:
        return frozenset({conns})
    by_ports: dict[tuple, list[str]] = {}
    for proto, iv in conns.ports:
        by_ports.setdefault(iv, []).append(proto)
    return frozenset(Connections.of({p: iv for p in protos}) for iv, protos in by_ports.items())


@dataclass
class Relation:
    """(src, dst) → the distinct non-empty connection sets of its pod pairs.

    Endpoints are group names or ("ip", lo, hi) ranges. nca prints one line per distinct connection
    set of a group pair: two pods of one DaemonSet that policy treats differently give two lines.
    """

    pairs: dict[tuple, set[Connections]] = field(default_factory=dict)
    boundaries: set[int] = field(default_factory=set)  # IP range starts (and ends + 1)


def parse_pairwise(path: Path) -> Relation:
    opener = gzip.open if path.suffix == ".gz" else open
    rel = Relation()
    with opener(path, "rt") as fh:
        for raw in fh:
            line = raw.rstrip("\n")
            if not line.strip():
                continue
            src_dst, _, conn = line.partition(" : ")
            src, _, dst = src_dst.partition(" => ")
            ends = tuple(parse_endpoint(e.strip()) for e in (src, dst))
            for e in ends:
                if isinstance(e, tuple) and e[0] == "ip":
                    rel.boundaries.update((e[1], e[2] + 1))
            rel.pairs.setdefault(ends, set()).update(nca_items(parse_connections(conn)))
    return rel


def _policy_boundaries(model: ClusterModel) -> set[int]:
    out: set[int] = set()
    for pol in model.objects.network_policies:
        for rule in pol.ingress + pol.egress:
            for peer in rule.peers:
                if peer.ip_block is None:
                    continue
                for cidr in (peer.ip_block.cidr, *peer.ip_block.except_):
                    lo, hi = _net_bounds(ipaddress.ip_network(cidr, strict=False))
                    out.update((lo, hi + 1))
    return out


def ip_atoms(boundaries: set[int]) -> list[tuple[int, int]]:
    """Split the address line at every boundary. IPv6 is included only when something mentions it
    (nca prints IPv6 ranges only when a policy has an IPv6 ipBlock)."""
    end = V6_END if any(b > V6_BASE for b in boundaries) else V6_BASE
    cuts = sorted(b for b in boundaries | {0, V6_BASE, end} if 0 <= b <= end)
    return [(a, b - 1) for a, b in zip(cuts, cuts[1:], strict=False)]


def atomised(rel: Relation, atoms: list[tuple[int, int]]) -> dict[tuple, frozenset[Connections]]:
    """Expand IP ranges of a relation into the given atoms (each atom lies inside one range)."""
    out: dict[tuple, set[Connections]] = {}
    for (src, dst), conns in rel.pairs.items():
        srcs = [("ip", a, b) for a, b in atoms if src[1] <= a and b <= src[2]] if isinstance(src, tuple) and src[0] == "ip" else [src]
        dsts = [("ip", a, b) for a, b in atoms if dst[1] <= a and b <= dst[2]] if isinstance(dst, tuple) and dst[0] == "ip" else [dst]
        for s in srcs:
            for d in dsts:
                out.setdefault((s, d), set()).update(conns)
    return {k: frozenset(v) for k, v in out.items()}


def nca_engine(model: ClusterModel) -> PolicyEngine:
    """Our engine with nca's two implementation-defined readings: ipBlock never matches a pod (our
    default too) and hostNetwork pods are ordinary pods (nca ignores hostNetwork; our trace default
    treats them as their node)."""
    return PolicyEngine(model, ipblock_matches_pods=False, host_network_as_node=False)


def our_relation(model: ClusterModel, atoms: list[tuple[int, int]], dns_names: tuple[str, ...] = (),
                 layer: IngressLayer | None = None) -> dict[tuple, frozenset[Connections]]:
    """Our allowed connections between owner groups, external IP atoms and DNS-named external
    hosts, grouped nca's way: the distinct printed items (`nca_items`) over the pod pairs; pairs
    inside one group are not shown, and a DNS name is only ever a destination."""
    policy = nca_engine(model)

    class eng:  # noqa: N801 - NetworkPolicy, then nca's Ingress layer on the controller's egress
        @staticmethod
        def connections(src: Peer, dst: Peer) -> Connections:
            conns = policy.connections(src, dst)
            if layer is not None and src.pod is not None and layer.captures(src.pod):
                conns = conns.intersect(layer.allowed(dst.pod))
            return conns

    groups: dict[str, list] = {}
    for pod in model.objects.pods:
        groups.setdefault(group_of(pod), []).append(pod)
    out: dict[tuple, frozenset[Connections]] = {}

    def put(key, conns_iter):
        items: set[Connections] = set()
        for c in conns_iter:
            if c:
                items |= nca_items(c)
        if items:
            out[key] = frozenset(items)

    names = sorted(groups)
    for a in names:
        for b in names:
            if a != b:
                put((a, b), (eng.connections(Peer.of_pod(p), Peer.of_pod(q)) for p in groups[a] for q in groups[b]))
    for lo, hi in atoms:
        ext, atom = Peer(None, _ip_str(lo)), ("ip", lo, hi)
        for g in names:
            put((atom, g), (eng.connections(ext, Peer.of_pod(p)) for p in groups[g]))
            put((g, atom), (eng.connections(Peer.of_pod(p), ext) for p in groups[g]))
    for host in dns_names:
        ext = Peer(None, "")  # a name, not an address: no ipBlock matches it
        for g in names:
            put((g, ("dns", host)), (eng.connections(Peer.of_pod(p), ext) for p in groups[g]))
    return out


def _show(end) -> str:
    if isinstance(end, tuple):
        return end[1] if end[0] == "dns" else f"{_ip_str(end[1])}-{_ip_str(end[2])}"
    return end


def compare(model: ClusterModel, expected: Relation, dns_names: tuple[str, ...] = (),
            layer: IngressLayer | None = None) -> list[str]:
    """Differences between our relation and nca's, as readable lines (empty ⇒ agree)."""
    atoms = ip_atoms(expected.boundaries | _policy_boundaries(model))
    theirs = atomised(expected, atoms)
    ours = our_relation(model, atoms, dns_names, layer)
    diffs = []
    show = lambda cs: " | ".join(sorted(c.describe() for c in cs)) or "no connections"  # noqa: E731
    for key in sorted(set(theirs) | set(ours), key=lambda k: (_show(k[0]), _show(k[1]))):
        t, o = theirs.get(key, frozenset()), ours.get(key, frozenset())
        if t != o:
            diffs.append(f"{_show(key[0])} => {_show(key[1])}: nca {show(t)}, ours {show(o)}")
    return diffs
