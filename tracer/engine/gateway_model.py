"""The typed pieces of the Gateway view (semantics K1, K2): listeners, attachments, route status, Gateways and
backend checks. Their own module so that the readers of other route objects (`istio`, `controller_routes`) can
build them without importing `gateway`, which imports those readers.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .model import LabelSelector, RouteObject


@dataclass(slots=True)
class Listener:
    gateway: str  # "ns/name" of the Gateway whose data plane serves it
    owner_kind: str  # Gateway | ListenerSet
    owner: str  # "ns/name"
    namespace: str  # the owner's namespace (allowedRoutes "Same")
    name: str
    port: int
    protocol: str
    hostname: str = ""
    tls_mode: str = ""  # Terminate | Passthrough | '' (no TLS)
    allowed_from: str = "Same"
    allowed_selector: LabelSelector | None = None
    allowed_kinds: tuple[str, ...] = ()
    problems: list[str] = field(default_factory=list)  # why it cannot serve (invalid certificate ref, conflict)
    order: tuple = ()

    @property
    def id(self) -> str:
        return f"listener:{self.owner}/{self.name}" if self.owner_kind == "ListenerSet" else \
            f"gateway:{self.gateway}/{self.name}"

    @property
    def label(self) -> str:
        host = self.hostname or "*"
        where = f"ListenerSet {self.owner} " if self.owner_kind == "ListenerSet" else ""
        return f"{where}listener {self.name!r} ({self.protocol} :{self.port}, hostname {host})"


@dataclass(slots=True)
class Attachment:
    route: RouteObject
    listener: Listener
    hostnames: list[str]  # effective ([] = any host)


@dataclass(slots=True)
class ParentStatus:
    """What the controller writes in route.status.parents[] for one parentRef."""

    route: str  # "Kind ns/name"
    parent: str  # "Kind ns/name"
    section: str
    accepted: bool
    reason: str
    resolved_refs: bool
    refs_reason: str
    message: str
    listeners: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"route": self.route, "parent": self.parent, "sectionName": self.section or None,
                "accepted": self.accepted, "reason": self.reason, "resolved_refs": self.resolved_refs,
                "refs_reason": self.refs_reason, "message": self.message, "listeners": self.listeners}


@dataclass(slots=True)
class GatewayInfo:
    obj: RouteObject
    class_name: str
    controller: str
    implementation: str
    listeners: list[Listener]  # its own, then accepted ListenerSets'
    listener_sets: list[RouteObject]
    problems: list[str]

    @property
    def key(self) -> str:
        return self.obj.key


@dataclass(slots=True)
class BackendCheck:
    ok: bool
    reason: str  # '' | BackendNotFound | RefNotPermitted | InvalidKind
    detail: str
    service: object = None
    port: object = None
