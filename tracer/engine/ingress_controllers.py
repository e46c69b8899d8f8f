"""Ingress class resolution and controller discovery (docs/semantics.md §D1, D2, D9).

D1: an Ingress does nothing without a controller. Which controller handles it is decided by its class
(D2), and which pods *are* that controller is not written anywhere in the API: controllers are recognised
here by their arguments (`--controller-class`, `--ingress-class`, …) and the well-known images and labels
of ingress-nginx, Traefik, Contour/Envoy, Kong, HAProxy and the Istio ingress gateway. How a client
reaches the controller (D9) is read from the Services selecting its pods, or hostNetwork/hostPort.

Cloud-managed classes (GKE `gce`/`gce-internal`, AWS `alb`) have no data-plane pods: a cloud load balancer
sends to the backend Service's NodePorts, or straight to pod IPs with container-native load balancing.
"""
from __future__ import annotations

import json
import re
import weakref
from dataclasses import dataclass, field
from functools import lru_cache

from .cluster import ClusterModel
from .model import Ingress, IngressClass, Pod, Service, ServicePort

__all__ = [
    "LEGACY_CLASS_ANNOTATION", "ClassResolution", "Exposure", "Controller", "resolve_class",
    "discover_controllers", "controllers_for_ingress", "ingresses_for_controller", "handles",
    "backend_mode", "parse_args", "CLOUD_CONTROLLERS", "CLASSLESS_WITHOUT_CLASSES", "EMISSARY_IMAGES",
]

LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"
GCE = "k8s.io/ingress-gce"
ALB = "ingress.k8s.aws/alb"
CLOUD_CONTROLLERS = {GCE: "gce", ALB: "alb"}
CLOUD_CLASS_NAMES = {"gce": GCE, "gce-internal": GCE, "alb": ALB}


# ---------------------------------------------------------------------------------------------
# D2 class resolution


@dataclass(frozen=True, slots=True)
class ClassResolution:
    """How an Ingress names its class, and what that resolves to."""

    source: str  # "ingressClassName" | "annotation" | "default-class" | "none"
    class_name: str  # "" when the Ingress names none and there is no default class
    ingress_class: IngressClass | None
    controller: str  # the class's spec.controller, "" when there is no IngressClass object
    admitted: bool  # False ⇒ no controller processes it (e.g. ingressClassName of a missing class)
    detail: str


def resolve_class(model: ClusterModel, ing: Ingress) -> ClassResolution:
    """D2: legacy annotation (controllers still honour it first), else ingressClassName → IngressClass,
    else the IngressClass annotated ingressclass.kubernetes.io/is-default-class: "true"."""
    ann = (ing.annotations or {}).get(LEGACY_CLASS_ANNOTATION, "").strip()
    if ann:
        ic = model.ingress_classes.get(ann)
        extra = ""
        if ing.class_name and ing.class_name != ann:
            extra = (f" (spec.ingressClassName {ing.class_name!r} disagrees; the API server rejects that on "
                     "create, and controllers read the annotation first)")
        return ClassResolution("annotation", ann, ic, ic.controller if ic else "", True,
                               f"Ingress {ing.key} names class {ann!r} with the legacy annotation "
                               f"{LEGACY_CLASS_ANNOTATION}{extra}")
    if ing.class_name:
        ic = model.ingress_classes.get(ing.class_name)
        if ic is None:
            return ClassResolution("ingressClassName", ing.class_name, None, "", False,
                                   f"Ingress {ing.key} spec.ingressClassName is {ing.class_name!r}, but no "
                                   f"IngressClass of that name exists, so no controller admits it (it gets no "
                                   f"address); create IngressClass {ing.class_name} or fix "
                                   f"spec.ingressClassName")
        return ClassResolution("ingressClassName", ic.name, ic, ic.controller, True,
                               f"Ingress {ing.key} spec.ingressClassName {ic.name!r} → IngressClass {ic.name} "
                               f"spec.controller {ic.controller!r}")
    defaults = sorted((c for c in model.ingress_classes.values() if c.is_default), key=lambda c: c.name)
    if defaults:
        ic = defaults[0]
        extra = ""
        if len(defaults) > 1:
            extra = (f"; {len(defaults)} IngressClasses are marked default ({', '.join(c.name for c in defaults)}"
                     f"), so the API server refuses new class-less Ingresses; assuming {ic.name} (impl)")
        return ClassResolution("default-class", ic.name, ic, ic.controller, True,
                               f"Ingress {ing.key} names no class; IngressClass {ic.name} is the default "
                               f"(ingressclass.kubernetes.io/is-default-class) → {ic.controller!r}{extra}")
    return ClassResolution("none", "", None, "", True,
                           f"Ingress {ing.key} names no class and no IngressClass is the default: only "
                           "controllers that watch class-less Ingresses handle it")


# ---------------------------------------------------------------------------------------------
# Controllers


@dataclass(frozen=True, slots=True)
class Exposure:
    """One way a client outside the pod network reaches the controller."""

    kind: str  # load-balancer | external-ip | node-port | host-network | host-port | cluster-ip | cloud-load-balancer
    address: str  # IP or hostname ("" when unknown, e.g. a cloud LB whose address is not in the snapshot)
    port: int | None  # the port the client sends to
    scheme: str  # http | https
    service: str | None = None  # "ns/name" of the Service providing it
    node: str | None = None
    target_port: int | str | None = None  # the controller container port the packet lands on
    detail: str = ""

    @property
    def external(self) -> bool:
        return self.kind != "cluster-ip"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "address": self.address, "port": self.port, "scheme": self.scheme,
                "service": self.service, "node": self.node, "target_port": self.target_port,
                "detail": self.detail}


@dataclass(eq=False, slots=True)
class Controller:
    """An ingress controller found in the cluster (or a cloud-managed one implied by a class)."""

    kind: str  # ingress-nginx | traefik | contour | kong | haproxy | istio | emissary | gce | alb | generic
    name: str  # "ns/workload" (or the pod), or the cloud name
    namespace: str
    controller_classes: frozenset[str]  # IngressClass spec.controller values it implements
    class_names: frozenset[str]  # legacy annotation values it accepts
    watches_classless: bool
    pods: tuple[Pod, ...] = ()  # the data-plane pods that receive client traffic
    services: tuple[Service, ...] = ()
    exposures: tuple[Exposure, ...] = ()
    cloud_managed: bool = False
    evidence: str = ""
    assumptions: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.name

    def default_exposure(self, scheme: str = "http", port: int | None = None) -> Exposure | None:
        """The entry a client uses by default: LB address, else externalIP, else NodePort on the first
        ready node, else a hostNetwork/hostPort pod's node (docs/contract.md: 'its LoadBalancer address by default')."""
        order = ("load-balancer", "cloud-load-balancer", "external-ip", "node-port", "host-network", "host-port")
        for kind in order:
            for e in self.exposures:
                if e.kind == kind and e.scheme == scheme and (port is None or e.port == port):
                    return e
        return None

    def describe(self) -> str:
        if self.cloud_managed:
            return f"cloud-managed {self.kind} controller ({', '.join(sorted(self.controller_classes))})"
        return f"{self.kind} controller {self.name} ({len(self.pods)} pod{'s' if len(self.pods) != 1 else ''})"


# Emissary-ingress / Ambassador images (also read by controller_routes.py for its Mappings, K11)
EMISSARY_IMAGES = ("emissary-ingress", "datawire/ambassador", "/ambassador:", "/emissary:")
# kind → (default controller class, default legacy class, watches class-less by default)
_DEFAULTS = {
    "ingress-nginx": ("k8s.io/ingress-nginx", "nginx", False),  # --watch-ingress-without-class=false
    "traefik": ("traefik.io/ingress-controller", "traefik", True),  # no providers.kubernetesingress.ingressclass
    "contour": ("projectcontour.io/ingress-controller", "contour", True),  # no --ingress-class-name
    "kong": ("ingress-controllers.konghq.com/kong", "kong", False),
    "haproxy": ("haproxy.org/ingress-controller/haproxy", "haproxy", False),  # --empty-ingress-class=false
    "istio": ("istio.io/ingress-controller", "istio", False),  # meshConfig ingressControllerMode STRICT
    # Emissary-ingress / Ambassador (D10): IngressClass getambassador.io/ingress-controller, or the legacy
    # annotation kubernetes.io/ingress.class: ambassador; a class-less Ingress only through a default class
    "emissary": ("getambassador.io/ingress-controller", "ambassador", False),
}
_IMAGES = {
    "ingress-nginx": ("ingress-nginx/controller", "nginx-ingress-controller", "ingress-nginx-controller"),
    "traefik": ("traefik",),
    "contour": ("projectcontour/contour", "/contour:"),
    "kong": ("kong/kubernetes-ingress-controller", "kong-ingress-controller"),
    "haproxy": ("haproxytech/kubernetes-ingress", "haproxy-ingress"),
    "istio": (),
    "emissary": EMISSARY_IMAGES,
}
_LABELS = {
    "ingress-nginx": (("app.kubernetes.io/name", "ingress-nginx"), ("app", "ingress-nginx")),
    "traefik": (("app.kubernetes.io/name", "traefik"), ("app", "traefik")),
    "contour": (("app.kubernetes.io/name", "contour"), ("app", "contour")),
    "kong": (("app.kubernetes.io/name", "kong"), ("app", "kong")),
    "haproxy": (("app.kubernetes.io/name", "kubernetes-ingress"), ("app.kubernetes.io/name", "haproxy-ingress")),
    "istio": (("istio", "ingressgateway"), ("app", "istio-ingressgateway")),
    "emissary": (("app.kubernetes.io/name", "emissary-ingress"), ("app.kubernetes.io/name", "ambassador"),
                 ("service", "ambassador"), ("product", "aes")),
}
_PROXY_IMAGES = {"contour": ("envoyproxy/envoy", "/envoy:"), "kong": ("kong:", "kong/kong-gateway", "/kong-gateway")}


def parse_args(args) -> dict[str, str]:
    """`--flag=value`, `--flag value` and bare `--flag` (→ "true") into a dict; other words are ignored."""
    out: dict[str, str] = {}
    items = list(args or ())
    i = 0
    while i < len(items):
        a = str(items[i])
        if a.startswith("--") or (a.startswith("-") and len(a) > 2 and a[1] != "-" and "=" in a):
            name, eq, val = a.lstrip("-").partition("=")
            if not eq:
                nxt = str(items[i + 1]) if i + 1 < len(items) else ""
                if nxt and not nxt.startswith("-"):
                    val = nxt
                    i += 1
                else:
                    val = "true"
            out[name] = val
        i += 1
    return out


def _truthy(v: str | None) -> bool:
    return (v or "").strip().lower() in ("true", "1", "yes")


_IMAGE_RE = re.compile("|".join(re.escape(sub) for subs in _IMAGES.values() for sub in subs))
_IMAGE_KIND = {sub: kind for kind, subs in _IMAGES.items() for sub in subs}
_LABEL_KIND = {pair: kind for kind, pairs in _LABELS.items() for pair in pairs}
_ARG_HINTS = ("providers.kubernetesingress", "nginx-ingress-controller", "controller-class", "ingress-class")


@lru_cache(maxsize=65536)
def _kind_of_container(image: str, args: tuple[str, ...]) -> tuple[str | None, str]:
    """(kind, why) for one container's image and arguments; cached: most pods share their template."""
    joined = " ".join(args)
    if "providers.kubernetesingress" in joined:
        return "traefik", "runs with --providers.kubernetesingress (Traefik)"
    m = _IMAGE_RE.search(image.lower())
    if m:
        kind = _IMAGE_KIND[m.group(0)]
        return kind, f"image {image!r} is {kind}"
    if "/nginx-ingress-controller" in joined:
        return "ingress-nginx", "runs /nginx-ingress-controller"
    if "controller-class" in joined or "ingress-class" in joined:
        parsed = parse_args(args)
        if "controller-class" in parsed or "ingress-class" in parsed:
            return "generic", "has --controller-class/--ingress-class arguments"
    return None, ""


def _kind_of_pod(pod: Pod) -> tuple[str | None, dict[str, str], str]:
    """Recognise an ingress controller pod: (kind, parsed args, evidence sentence) or (None, {}, "")."""
    for c in pod.containers:
        if c.init:
            continue
        args = c.args if isinstance(c.args, tuple) else tuple(c.args or ())
        kind, why = _kind_of_container(c.image or "", args)
        if kind is not None:
            return kind, parse_args(c.args), f"container {c.name} {why}"
    labels = pod.labels
    if not labels:
        return None, {}, ""
    for (k, v), kind in _LABEL_KIND.items():
        if labels.get(k) != v:
            continue
        comp = labels.get("app.kubernetes.io/component", "")
        if kind == "ingress-nginx" and comp and comp != "controller":
            continue  # admission webhook jobs and the default backend carry the same name label
        if kind == "contour" and comp == "envoy":
            continue  # Contour's Envoy data plane: attached to its Contour below
        args: dict[str, str] = {}
        for c in pod.containers:
            args.update(parse_args(c.args))
        return kind, args, f"pod label {k}={v} ({kind})"
    return None, {}, ""


def _classes(kind: str, args: dict[str, str]) -> tuple[frozenset[str], frozenset[str], bool, list[str]]:
    ctrl, legacy, classless = _DEFAULTS.get(kind, ("", "", False))
    notes = []
    ctrl_classes = {ctrl} if ctrl else set()
    names = {legacy} if legacy else set()
    if "controller-class" in args:
        ctrl_classes = {args["controller-class"]}
    if kind == "haproxy" and "ingress.class" in args:
        names = {args["ingress.class"]}
        ctrl_classes = {f"haproxy.org/ingress-controller/{args['ingress.class']}"}
    for flag in ("ingress-class", "providers.kubernetesingress.ingressclass", "ingress-class-name"):
        if args.get(flag):
            names = {args[flag]}
            if kind in ("traefik", "contour"):
                classless = False
    if kind == "ingress-nginx" and "watch-ingress-without-class" in args:
        classless = _truthy(args["watch-ingress-without-class"])
    if kind == "haproxy" and "empty-ingress-class" in args:
        classless = _truthy(args["empty-ingress-class"])
    if kind == "generic" and not ctrl_classes and not names:
        notes.append("controller class unknown")
    return frozenset(ctrl_classes), frozenset(names), classless, notes


def _is_https_port(name: str, port: int | None) -> bool:
    n = (name or "").lower()
    return "https" in n or "websecure" in n or "tls" in n or n == "ssl" or port in (443, 8443)


def _exposures(model: ClusterModel, pods: list[Pod]) -> tuple[list[Service], list[Exposure]]:
    services: list[Service] = []
    exps: list[Exposure] = []
    namespaces = {p.namespace for p in pods}
    ready = model.ready_nodes()
    first_node = ready[0] if ready else None
    for ns in sorted(namespaces):
        ns_pods = [p for p in pods if p.namespace == ns]
        for svc in model.services_by_namespace.get(ns, []):
            if not svc.selector or svc.type == "ExternalName":
                continue
            if not any(all(p.labels.get(k) == v for k, v in svc.selector.items()) for p in ns_pods):
                continue
            services.append(svc)
            for sp in svc.ports:
                if sp.protocol != "TCP":
                    continue
                scheme = "https" if _is_https_port(sp.name, sp.port) else "http"
                tgt = sp.effective_target
                for lb in svc.lb_ingress if svc.type == "LoadBalancer" else ():
                    addr = lb.ip or lb.hostname
                    if addr:
                        exps.append(Exposure("load-balancer", addr, sp.port, scheme, svc.key, None, tgt,
                                             f"load balancer {addr}:{sp.port} of Service {svc.key} (type "
                                             f"LoadBalancer)"))
                for ip in svc.external_ips:
                    exps.append(Exposure("external-ip", ip, sp.port, scheme, svc.key, None, tgt,
                                         f"externalIP {ip}:{sp.port} of Service {svc.key}"))
                if sp.node_port and svc.type in ("NodePort", "LoadBalancer"):
                    node_ip = first_node.internal_ip if first_node else ""
                    exps.append(Exposure("node-port", node_ip or "", sp.node_port, scheme, svc.key,
                                         first_node.name if first_node else None, tgt,
                                         f"NodePort {sp.node_port} of Service {svc.key} on any node"
                                         + (f" (first ready node {first_node.name} {node_ip})" if first_node else "")))
                if svc.cluster_ip:
                    exps.append(Exposure("cluster-ip", svc.cluster_ip, sp.port, scheme, svc.key, None, tgt,
                                         f"ClusterIP {svc.cluster_ip}:{sp.port} of Service {svc.key} (inside the "
                                         "cluster only)"))
    for p in sorted(pods, key=lambda p: p.name):
        node = model.nodes.get(p.node_name)
        node_ip = p.host_ip or (node.internal_ip if node else "") or ""
        for cp in p.container_ports():
            if cp.protocol != "TCP":
                continue
            scheme = "https" if _is_https_port(cp.name, cp.host_port or cp.container_port) else "http"
            if p.host_network:
                exps.append(Exposure("host-network", node_ip, cp.container_port, scheme, None, p.node_name,
                                     cp.container_port, f"pod {p.key} uses hostNetwork: port {cp.container_port} "
                                     f"of node {p.node_name} ({node_ip})"))
            elif cp.host_port:
                exps.append(Exposure("host-port", cp.host_ip or node_ip, cp.host_port, scheme, None, p.node_name,
                                     cp.container_port, f"pod {p.key} hostPort {cp.host_port} → container port "
                                     f"{cp.container_port} on node {p.node_name} ({node_ip})"))
    return services, exps


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def discover_controllers(model: ClusterModel) -> list[Controller]:
    """Every in-cluster ingress controller (grouped per workload), computed once per model.

    Cloud-managed controllers are added per Ingress by `controllers_for_ingress`, since they have no pods.
    """
    cached = _CACHE.get(model)
    if cached is not None:
        return cached
    groups: dict[tuple[str, str, str], dict] = {}
    for pod in model.objects.pods:
        if pod.phase in ("Succeeded", "Failed") or pod.deleting:
            continue
        kind, args, evidence = _kind_of_pod(pod)
        if kind is None:
            continue
        if pod.workload_kind:
            wl = (pod.namespace, pod.workload_kind, pod.workload_name)
        else:
            # Owner-less controller pods (a dump without their ReplicaSet, static pods) that run the same
            # controller with the same arguments are one controller: each replica applies every Ingress of
            # its class, so load-balanced traffic landing on any of them is routed alike.
            name = pod.labels.get("app.kubernetes.io/name") or pod.labels.get("app") or kind
            wl = (pod.namespace, "Pods", f"{name}\0{kind}\0{sorted(args.items())}")
        g = groups.setdefault(wl, {"kind": kind, "args": args, "evidence": evidence, "pods": []})
        g["pods"].append(pod)
    controllers: list[Controller] = []
    for (ns, wkind, wkey), g in sorted(groups.items()):
        wname = wkey.split("\0", 1)[0]
        kind = g["kind"]
        ctrl_classes, names, classless, notes = _classes(kind, g["args"])
        pods = sorted(g["pods"], key=lambda p: p.name)
        data_plane = pods
        evidence = g["evidence"]
        if kind in _PROXY_IMAGES and not any(
                any(s in (c.image or "").lower() for s in _PROXY_IMAGES[kind]) for p in pods for c in p.containers):
            proxies = [p for p in model.pods_by_namespace.get(ns, [])
                       if p.phase not in ("Succeeded", "Failed") and not p.deleting and (
                           any(any(s in (c.image or "").lower() for s in _PROXY_IMAGES[kind]) for c in p.containers)
                           or (kind == "contour" and (p.labels.get("app") == "envoy"
                                                      or p.labels.get("app.kubernetes.io/component") == "envoy")))]
            if proxies:
                data_plane = sorted(proxies, key=lambda p: p.name)
                evidence += f"; its proxy pods ({data_plane[0].name}…) in namespace {ns} carry the traffic"
        services, exps = _exposures(model, data_plane)
        controllers.append(Controller(
            kind=kind, name=f"{ns}/{wname}", namespace=ns, controller_classes=ctrl_classes, class_names=names,
            watches_classless=classless, pods=tuple(data_plane), services=tuple(services), exposures=tuple(exps),
            evidence=f"{wkind} {ns}/{wname}: {evidence}", assumptions=notes))
    _CACHE[model] = controllers
    return controllers


_GKE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _is_gke(model: ClusterModel) -> bool:
    """GKE nodes carry cloud.google.com/gke-* labels; there, class-less Ingresses go to the GCE controller."""
    found = _GKE.get(model)
    if found is None:
        found = any(k.startswith("cloud.google.com/gke") for n in model.nodes.values() for k in n.labels)
        _GKE[model] = found
    return found


CLASSLESS_WITHOUT_CLASSES = (
    "the snapshot has no IngressClass at all (an older cluster, or manifests without one), so class-less "
    "Ingresses are assumed to be served by the ingress controllers found, as controllers did before "
    "IngressClass existed (ingress-nginx today needs --watch-ingress-without-class) (impl)")


def handles(model: ClusterModel, ctrl: Controller, ing: Ingress, res: ClassResolution | None = None) -> bool:
    """Does `ctrl` process `ing` (D2)?

    Class-less Ingress and no default class: only controllers that watch class-less Ingresses — unless the
    snapshot holds no IngressClass object at all (see CLASSLESS_WITHOUT_CLASSES).
    """
    res = res or resolve_class(model, ing)
    if not res.admitted:
        return False
    if res.source == "annotation":
        if res.class_name in ctrl.class_names:
            return True
        return bool(res.controller) and res.controller in ctrl.controller_classes
    if res.source in ("ingressClassName", "default-class"):
        return res.controller in ctrl.controller_classes
    return ctrl.watches_classless or (not model.ingress_classes and not ctrl.cloud_managed)


_GKE_ANNOTATIONS = ("kubernetes.io/ingress.global-static-ip-name", "kubernetes.io/ingress.regional-static-ip-name",
                    "networking.gke.io/", "ingress.gcp.kubernetes.io/", "cloud.google.com/")
_ALB_ANNOTATIONS = ("alb.ingress.kubernetes.io/",)


def _cloud_hint(ing: Ingress | None) -> str:
    """A class-less Ingress written for a cloud controller says so in its annotations."""
    if ing is None:
        return ""
    keys = list((ing.annotations or {}).keys())
    if any(k.startswith(_GKE_ANNOTATIONS) for k in keys):
        return GCE
    if any(k.startswith(_ALB_ANNOTATIONS) for k in keys):
        return ALB
    return ""


def _cloud_controller(model: ClusterModel, res: ClassResolution, ing: Ingress | None = None) -> Controller | None:
    cls = res.controller or CLOUD_CLASS_NAMES.get(res.class_name, "")
    hinted = False
    if res.source == "none":
        if _is_gke(model):
            cls = GCE
        elif _cloud_hint(ing):
            cls, hinted = _cloud_hint(ing), True
    if cls not in CLOUD_CONTROLLERS:
        return None
    kind = CLOUD_CONTROLLERS[cls]
    label = "Google Cloud load balancer" if kind == "gce" else "AWS Application Load Balancer"
    exps = tuple(Exposure("cloud-load-balancer", "", port, scheme, None, None, None,
                          f"the {label} created for the Ingress (its address is in the Ingress status, not in "
                          f"this snapshot; pass --via to name it), {scheme} port {port}")
                 for port, scheme in ((80, "http"), (443, "https")))
    return Controller(kind=kind, name=kind, namespace="", controller_classes=frozenset({cls}),
                      class_names=frozenset(n for n, c in CLOUD_CLASS_NAMES.items() if c == cls),
                      watches_classless=(kind == "gce" and _is_gke(model)), exposures=exps, cloud_managed=True,
                      evidence=(f"class-less Ingress with {kind.upper()} annotations → {cls}" if hinted else
                                f"class {res.class_name or '(none, GKE default)'} → {cls}")
                      + ": a cloud load balancer outside the cluster, no controller pods carry the traffic",
                      assumptions=[f"a class-less Ingress carrying {kind.upper()}-specific annotations is assumed "
                                   f"to be served by the {kind} cloud controller (impl)"] if hinted else [])


def controllers_for_ingress(model: ClusterModel, ing: Ingress) -> list[Controller]:
    """The controllers that would serve `ing`: in-cluster ones by class, else a cloud-managed one.

    An empty list ⇒ REASON `no-ingress-controller` (the Ingress routes nothing).
    """
    res = resolve_class(model, ing)
    if not res.admitted:
        return []
    cloud = _cloud_controller(model, res, ing)
    if cloud is not None:
        return [cloud]
    return [c for c in discover_controllers(model) if handles(model, c, ing, res)]


def ingresses_for_controller(model: ClusterModel, ctrl: Controller) -> list[Ingress]:
    if ctrl.cloud_managed:
        out = []
        for ing in model.ingresses:
            res = resolve_class(model, ing)
            cloud = _cloud_controller(model, res, ing) if res.admitted else None
            if cloud is not None and cloud.kind == ctrl.kind:
                out.append(ing)
        return out
    return [ing for ing in model.ingresses if handles(model, ctrl, ing)]


# ---------------------------------------------------------------------------------------------
# How the controller reaches the backend pods


def _neg_ingress(svc: Service) -> bool | None:
    """The Service's cloud.google.com/neg {"ingress": …} setting: True, False, or None when absent/unreadable."""
    raw = (svc.annotations or {}).get("cloud.google.com/neg", "")
    if not raw or len(raw) > 1024:  # the real value is ~20 bytes; a huge one is no setting GKE would read
        return None
    try:
        value = json.loads(raw).get("ingress")
    except (ValueError, AttributeError, RecursionError):
        return None
    return None if value is None else bool(value)


def backend_mode(ctrl: Controller | None, ing: Ingress, svc: Service, port: ServicePort | None
                 ) -> tuple[str, str, str | None]:
    """(mode, detail, problem REASON or None). mode: endpoints | cluster-ip | node-port | external-name.

    In-cluster controllers (ingress-nginx, Contour, Traefik, Kong, HAProxy, Istio) proxy to the endpoint
    pod IPs themselves, skipping kube-proxy (D9, impl); the backend sees the controller pod's IP as source.
    """
    if svc.type == "ExternalName":
        return ("external-name", f"Service {svc.key} is ExternalName {svc.external_name!r}: the controller "
                                 "proxies to that name (impl)", None)
    if ctrl is not None and ctrl.kind == "gce":
        neg = _neg_ingress(svc)
        direct = ("the Google load balancer sends straight to the pod IPs (network endpoint group), skipping the "
                  "nodes; the pods see the Google front ends (130.211.0.0/22, 35.191.0.0/16) as source")
        if neg:
            return ("endpoints", f"container-native load balancing: Service {svc.key} has annotation "
                                 f"cloud.google.com/neg '{{\"ingress\": true}}', so {direct}", None)
        if svc.type in ("NodePort", "LoadBalancer") and port is not None and port.node_port:
            return ("node-port", f"the Google load balancer sends to NodePort {port.node_port} of Service "
                                 f"{svc.key} on the nodes (instance groups); kube-proxy forwards from there", None)
        if neg is None:
            return ("endpoints", f"Service {svc.key} is ClusterIP without a cloud.google.com/neg annotation: "
                                 "assuming a VPC-native GKE cluster (the default since 1.17.6), where GKE adds "
                                 f"'{{\"ingress\": true}}' itself, so {direct} (impl; on a routes-based cluster "
                                 "the Service must be type NodePort)", None)
        return ("node-port", f"Service {svc.key} sets cloud.google.com/neg '{{\"ingress\": false}}' and is "
                             "ClusterIP, so the Google load balancer has no backend: make it type NodePort or "
                             "enable container-native load balancing", "no-service-port")
    if ctrl is not None and ctrl.kind == "alb":
        tt = ((svc.annotations or {}).get("alb.ingress.kubernetes.io/target-type")
              or (ing.annotations or {}).get("alb.ingress.kubernetes.io/target-type") or "instance").lower()
        if tt == "ip":
            return ("endpoints", "alb.ingress.kubernetes.io/target-type: ip: the ALB sends straight to the pod "
                                 "IPs, skipping the nodes", None)
        if svc.type in ("NodePort", "LoadBalancer") and port is not None and port.node_port:
            return ("node-port", f"ALB target-type instance (default): the ALB sends to NodePort {port.node_port} "
                                 f"of Service {svc.key} on the nodes; kube-proxy forwards from there", None)
        return ("node-port", f"ALB target-type instance needs Service {svc.key} to be type NodePort (or set "
                             "alb.ingress.kubernetes.io/target-type: ip)", "no-service-port")
    if ctrl is not None and ctrl.kind == "ingress-nginx" and _truthy(
            (ing.annotations or {}).get("nginx.ingress.kubernetes.io/service-upstream")):
        return ("cluster-ip", f"nginx.ingress.kubernetes.io/service-upstream: \"true\": ingress-nginx proxies to "
                              f"the ClusterIP of Service {svc.key}; kube-proxy picks the endpoint", None)
    if ctrl is not None and ctrl.kind == "traefik" and _truthy(
            (svc.annotations or {}).get("traefik.ingress.kubernetes.io/service.nativelb")):
        return ("cluster-ip", f"traefik.ingress.kubernetes.io/service.nativelb: Traefik proxies to the ClusterIP "
                              f"of Service {svc.key}; kube-proxy picks the endpoint", None)
    who = ctrl.kind if ctrl is not None else "the controller"
    return ("endpoints", f"{who} proxies straight to the ready endpoint IPs of Service {svc.key} (it watches "
                         "EndpointSlices), not through its ClusterIP; the backend sees the controller pod's IP as "
                         "source (impl)", None)
