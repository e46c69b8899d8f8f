"""Service environment variables a pod's containers see (docs/semantics.md §C; kubelet envvars.go, kubelet_pods.go).

Why it matters for a network tracer: applications that read `CART_SERVICE_HOST` instead of resolving DNS
talk to whatever ClusterIP the kubelet wrote at container start — and a Service created after the pod
simply is not there until the container restarts.

What the kubelet does (getServiceEnvVarMap + envvars.FromServices):
- Services with a ClusterIP only (not headless, not ExternalName).
- The pod's own namespace when `enableServiceLinks` (default true), plus `kubernetes` of namespace
  `default` always; on a name clash the pod's own namespace wins.
- Per service, NAME = upper-case name with `-` → `_`:
  NAME_SERVICE_HOST=clusterIP, NAME_SERVICE_PORT=first port, NAME_SERVICE_PORT_<PORTNAME> per named port,
  and docker-link style NAME_PORT=proto://ip:port (first port), NAME_PORT_<port>_<PROTO>=proto://ip:port,
  …_PROTO, …_PORT, …_ADDR for every port.
- Computed when the container starts: a Service created after the pod is absent until a restart. We compare
  `created` timestamps; those services are listed in `caveats` and `absent`, never in `vars`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from .cluster import ClusterModel
from .model import Pod, Service

__all__ = ["EnvVar", "EnvResult", "service_env", "env_name", "vars_for_service"]

MASTER_SERVICES = ("kubernetes",)


@dataclass(frozen=True, slots=True)
class EnvVar:
    name: str
    value: str
    service: str  # "ns/name" of the Service it comes from

    def to_dict(self) -> dict:
        return {"name": self.name, "value": self.value, "service": self.service}


@dataclass(slots=True)
class EnvResult:
    vars: list[EnvVar] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)  # "ns/name" of services created after the pod

    def as_dict(self) -> dict[str, str]:
        return {v.name: v.value for v in self.vars}

    def to_dict(self) -> dict:
        return {"vars": [v.to_dict() for v in self.vars], "caveats": list(self.caveats),
                "absent": list(self.absent)}


def env_name(name: str) -> str:
    """kubelet makeEnvVariableName: upper-case, '-' → '_' (dots are left alone, as the kubelet does)."""
    return name.replace("-", "_").upper()


def _host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"  # net.JoinHostPort


def vars_for_service(svc: Service) -> list[EnvVar]:
    """envvars.FromServices for one service, in the kubelet's order (empty for headless/ExternalName)."""
    ip = svc.cluster_ip
    if not ip or not svc.ports:
        return []
    prefix = env_name(svc.name)
    out = [EnvVar(f"{prefix}_SERVICE_HOST", ip, svc.key),
           EnvVar(f"{prefix}_SERVICE_PORT", str(svc.ports[0].port), svc.key)]
    for sp in svc.ports:
        if sp.name:
            out.append(EnvVar(f"{prefix}_SERVICE_PORT_{env_name(sp.name)}", str(sp.port), svc.key))
    for i, sp in enumerate(svc.ports):
        proto = (sp.protocol or "TCP").upper()
        url = f"{proto.lower()}://{_host_port(ip, sp.port)}"
        if i == 0:
            out.append(EnvVar(f"{prefix}_PORT", url, svc.key))
        pp = f"{prefix}_PORT_{sp.port}_{proto}"
        out += [EnvVar(pp, url, svc.key), EnvVar(f"{pp}_PROTO", proto.lower(), svc.key),
                EnvVar(f"{pp}_PORT", str(sp.port), svc.key), EnvVar(f"{pp}_ADDR", ip, svc.key)]
    return out


def _ts(value: str) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def service_env(model: ClusterModel, pod: Pod) -> EnvResult:
    """The service variables the kubelet injected into `pod`'s containers when they started.

    [pod shop/web] sees svc shop/cart (10.96.0.7:80) as CART_SERVICE_HOST=10.96.0.7, CART_SERVICE_PORT=80, …
    """
    chosen: dict[str, Service] = {}
    for name in MASTER_SERVICES:
        svc = model.services.get(f"default/{name}")
        if svc is not None and svc.cluster_ip:
            chosen[name] = svc
    if pod.enable_service_links:
        for svc in model.services_by_namespace.get(pod.namespace, []):
            if svc.cluster_ip:
                chosen[svc.name] = svc  # the pod's own namespace wins over default/kubernetes
    result = EnvResult()
    if not pod.enable_service_links:
        result.caveats.append(f"pod {pod.key} sets enableServiceLinks: false, so only the default/kubernetes "
                              "service variables are injected")
    started = _ts(pod.created)
    unknown_age = []
    for name in sorted(chosen):
        svc = chosen[name]
        created = _ts(svc.created)
        if started is not None and created is not None and created > started:
            result.absent.append(svc.key)
            result.caveats.append(
                f"Service {svc.key} was created at {svc.created}, after pod {pod.key} ({pod.created}): its "
                f"variables ({env_name(svc.name)}_SERVICE_HOST, …) are absent until the container restarts; "
                "use DNS, or restart the pod")
            continue
        if started is None or created is None:
            unknown_age.append(svc.key)
        result.vars.extend(vars_for_service(svc))
    if unknown_age:
        result.caveats.append(
            "creation time unknown for " + (f"pod {pod.key}" if started is None else ", ".join(unknown_age))
            + ": assumed the services existed when the container started (variables are fixed at start)")
    return result
