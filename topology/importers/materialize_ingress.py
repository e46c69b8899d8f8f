"""What a cloud Ingress controller writes back when materialising: the address it publishes (D9).

Why: a GCE or ALB Ingress gets its own load balancer outside the cluster, and the controller records its address
in `status.loadBalancer.ingress`; the trace enters there (tracer.engine.ingress: a request to the address an
Ingress publishes goes through its controller, no `--via`). Desired-state manifests have no status, so, like the
Service load balancers `materialize.py` allocates, a cloud Ingress without one gets an address from the same
documentation pool (GCE: an IP; ALB: a host name, as AWS gives). In-cluster controllers publish their own
Service's address, which the trace already enters by default; they are left as given.
"""
from __future__ import annotations

import hashlib

from tracer.engine.ingress_controllers import CLOUD_CLASS_NAMES, CLOUD_CONTROLLERS, LEGACY_CLASS_ANNOTATION

__all__ = ["publish_cloud_ingresses"]


def _cloud_kind(o, class_controllers: dict[str, str]) -> str | None:
    spec = o.spec()
    meta = o.data.get("metadata") if isinstance(o.data.get("metadata"), dict) else {}
    annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
    cls = spec.get("ingressClassName")
    if isinstance(cls, str) and cls:  # D2: a class name means an IngressClass object and its controller
        return CLOUD_CONTROLLERS.get(class_controllers.get(cls, ""))
    legacy = annotations.get(LEGACY_CLASS_ANNOTATION)  # the annotation names the controller's own class
    return CLOUD_CONTROLLERS.get(CLOUD_CLASS_NAMES.get(legacy, "")) if isinstance(legacy, str) else None


def publish_cloud_ingresses(objs, lb_pool, used_lb: set[str]) -> None:
    """Give every GCE/ALB Ingress without a status the address its cloud load balancer would have."""
    class_controllers = {o.name: str(o.spec().get("controller") or "") for o in objs if o.kind == "IngressClass"}
    for o in sorted((o for o in objs if o.kind == "Ingress"), key=lambda o: o.key):
        kind = _cloud_kind(o, class_controllers)
        status = o.data.get("status") if isinstance(o.data.get("status"), dict) else {}
        lb = status.get("loadBalancer") if isinstance(status.get("loadBalancer"), dict) else {}
        if kind is None or lb.get("ingress"):
            continue
        if kind == "alb":
            digest = hashlib.sha256(f"{o.namespace}/{o.name}".encode()).hexdigest()[:10]
            entry = {"hostname": f"k8s-{o.namespace[:10]}-{o.name[:10]}-{digest}.elb.example"}
        else:
            ip = next((a for a in lb_pool if a not in used_lb), None)
            if ip is None:
                raise o.error("status.loadBalancer", "the simulated load-balancer address pool is exhausted")
            used_lb.add(ip)
            entry = {"ip": ip}
        data = o.writable()
        if not isinstance(data.get("status"), dict):
            data["status"] = {}
        data["status"]["loadBalancer"] = {"ingress": [entry]}
