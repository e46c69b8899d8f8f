"""D11: where ingress controllers differ on the same Ingress, applied to a route decision of one controller.

Why a module of its own: `ingress_routing` decides what the Ingress API says (D3–D8) for any controller; what a
given implementation then does differently lives here, one function per difference, so that the generic rules
stay generic and each difference cites its controller:
- a TLS Secret missing or not `kubernetes.io/tls`: ingress-nginx and Traefik serve their default certificate (the
  generic warning of D8); Contour does not serve HTTPS for that host at all (`computeSecureVirtualhosts` skips it);
- Istio reads an Ingress's TLS Secret from the ingress gateway's namespace (credentialName), not the Ingress's;
- Contour refuses ExternalName backends unless `enableExternalNameService` is set (off by default) → 503.
"""
from __future__ import annotations

from .cluster import ClusterModel
from .ingress_routing import RouteDecision, TLSInfo

__all__ = ["apply_differences"]

_TLS_KEYS = ("tls.crt", "tls.key")


def _contour_tls(d: RouteDecision, ctrl) -> None:
    if d.scheme != "https" or d.tls is None or d.tls.secret_ok or not d.matched:
        return
    d.matched = False
    d.reason = "ingress-no-match"
    d.why = (f"{d.tls.detail.split(':')[0]}: Contour ({ctrl.name}) does not serve HTTPS for {d.host!r} at all — "
             f"it builds a secure virtual host only with a valid kubernetes.io/tls Secret "
             f"(computeSecureVirtualhosts), so the TLS handshake for that name fails (D11); fix the Secret "
             f"(type kubernetes.io/tls, keys tls.crt and tls.key) in the Ingress's namespace")


def _contour_external_name(d: RouteDecision, ctrl) -> None:
    if d.matched and d.service is not None and d.service.type == "ExternalName" and not d.backend_problem:
        d.backend_problem = "backend-unavailable"
        d.backend_detail = (f"Service {d.service.key} is type ExternalName: Contour ({ctrl.name}) refuses "
                            f"ExternalName backends unless its configuration sets enableExternalNameService "
                            f"(off by default, GHSA-5ph6-qq5x-7jwc), so the route answers 503 (D11); point the "
                            f"backend at a Service with endpoints")


def _istio_tls(model: ClusterModel, d: RouteDecision, ctrl) -> None:
    info = d.tls
    if d.scheme != "https" or info is None or not info.secret or not ctrl.namespace:
        return
    name = info.secret.split("/", 1)[1]
    key = f"{ctrl.namespace}/{name}"
    sec = model.secrets.get(key)
    ok = sec is not None and sec.type == "kubernetes.io/tls" and all(k in sec.keys for k in _TLS_KEYS)
    where = f"the Istio ingress gateway reads Ingress TLS Secrets from its own namespace {ctrl.namespace} (D11)"
    if ok:
        d.tls = TLSInfo(True, key, True, None,
                        f"TLS for {d.host!r} terminates at the Istio ingress gateway with Secret {key}: {where}; "
                        f"the hop to the backend is plain HTTP")
    else:
        extra = (f" (Secret {info.secret} in the Ingress's namespace is not read)" if info.secret != key
                 and model.secrets.get(info.secret) is not None else "")
        d.tls = TLSInfo(True, key, False, "secret-missing",
                        f"{where}, and Secret {key} {'does not exist' if sec is None else 'is not a valid kubernetes.io/tls Secret'}"
                        f"{extra}: the gateway has no certificate for {d.host!r}, so clients that verify "
                        f"certificates fail; create Secret {name} in namespace {ctrl.namespace}")


def apply_differences(model: ClusterModel, d: RouteDecision, ctrl) -> RouteDecision:
    """Apply the controller-specific behaviour of D11 to a decision routed by `ctrl`'s table."""
    if ctrl is None:
        return d
    if ctrl.kind == "contour":
        _contour_external_name(d, ctrl)
        _contour_tls(d, ctrl)
    elif ctrl.kind == "istio":
        _istio_tls(model, d, ctrl)
    return d
