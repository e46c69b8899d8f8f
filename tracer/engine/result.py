"""The trace result as explicit trees (TraceResult → Path → Hop), with to_dict/from_dict.

The JSON shape is the public contract (shared/CONTRACT.md "Result"); `schema_version` lets a stored trace
from an older release still load and render.
"""
from __future__ import annotations

from dataclasses import dataclass, field

SCHEMA_VERSION = 1

DELIVERED = "delivered"
DROPPED = "dropped"
PARTIAL = "partial"

REASONS = (
    "dns-nxdomain", "unknown-destination", "no-service-port", "no-endpoints", "no-local-endpoints",
    "source-range-denied", "policy-egress-denied", "policy-ingress-denied", "ingress-no-match",
    "no-ingress-controller",
)


@dataclass(slots=True)
class Hop:
    kind: str
    id: str
    action: str
    detail: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "id": self.id, "action": self.action, "detail": self.detail}

    @classmethod
    def from_dict(cls, d: dict) -> Hop:
        return cls(kind=d.get("kind", ""), id=d.get("id", ""), action=d.get("action", ""),
                   detail=d.get("detail", ""))


@dataclass(slots=True)
class Path:
    source: str
    verdict: str
    reason: str | None
    probability: float
    endpoint: str | None = None
    endpoint_port: int | None = None
    hops: list[Hop] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"source": self.source, "verdict": self.verdict, "reason": self.reason,
                "probability": self.probability, "endpoint": self.endpoint,
                "endpoint_port": self.endpoint_port, "hops": [h.to_dict() for h in self.hops]}

    @classmethod
    def from_dict(cls, d: dict) -> Path:
        return cls(source=d.get("source", ""), verdict=d.get("verdict", DROPPED), reason=d.get("reason"),
                   probability=float(d.get("probability", 0.0)), endpoint=d.get("endpoint"),
                   endpoint_port=d.get("endpoint_port"), hops=[Hop.from_dict(h) for h in d.get("hops", [])])


@dataclass(slots=True)
class TraceResult:
    verdict: str
    reason: str | None
    paths: list[Path]
    assumptions: list[str] = field(default_factory=list)
    request: dict | None = None  # the flow as asked (extra field: the contract allows additions)
    schema_version: int = SCHEMA_VERSION

    @classmethod
    def from_paths(cls, paths: list[Path], assumptions: list[str], request: dict | None = None) -> TraceResult:
        """Verdict = delivered / dropped / partial over the paths; reason = that of the first dropped path."""
        delivered = [p for p in paths if p.verdict == DELIVERED]
        dropped = [p for p in paths if p.verdict == DROPPED]
        if delivered and dropped:
            verdict = PARTIAL
        elif delivered:
            verdict = DELIVERED
        else:
            verdict = DROPPED
        reason = dropped[0].reason if dropped else None
        seen, unique = set(), []
        for a in assumptions:
            if a not in seen:
                seen.add(a)
                unique.append(a)
        return cls(verdict=verdict, reason=reason, paths=paths, assumptions=unique, request=request)

    def to_dict(self) -> dict:
        out = {"schema_version": self.schema_version, "verdict": self.verdict, "reason": self.reason,
               "paths": [p.to_dict() for p in self.paths], "assumptions": list(self.assumptions)}
        if self.request is not None:
            out["request"] = self.request
        return out

    @classmethod
    def from_dict(cls, d: dict) -> TraceResult:
        return cls(verdict=d.get("verdict", DROPPED), reason=d.get("reason"),
                   paths=[Path.from_dict(p) for p in d.get("paths", [])],
                   assumptions=list(d.get("assumptions", [])), request=d.get("request"),
                   schema_version=int(d.get("schema_version", SCHEMA_VERSION)))

    def objects(self) -> set[tuple[str, str]]:
        """(kind, id) of every object a hop names — for the Trace ↔ object index."""
        return {(h.kind, h.id) for p in self.paths for h in p.hops}
