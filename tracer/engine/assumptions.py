"""Per-trace assumptions: the (impl) choices a user may flip, as data.

Why data and not flags scattered through the code: every choice that shaped a result must be listed in
the result's `assumptions`, so a person can tell a Kubernetes rule from a guess about their CNI.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import BadRequest

PROXY_MODES = ("iptables", "ipvs", "nftables")


@dataclass(frozen=True, slots=True)
class Assumptions:
    proxy_mode: str = "iptables"  # kube-proxy mode (A12 / A20)
    cni_enforces_policy: bool = True  # E1: NetworkPolicy is only enforced by a CNI that supports it

    def __post_init__(self):
        if self.proxy_mode not in PROXY_MODES:
            raise BadRequest(f"proxy_mode {self.proxy_mode!r} is not one of {', '.join(PROXY_MODES)}")

    def describe(self) -> list[str]:
        mode = {
            "iptables": "kube-proxy runs in iptables mode: each new connection picks an endpoint uniformly "
                        "at random (rule i matches with probability 1/(n-i)); conntrack pins it",
            "ipvs": "kube-proxy runs in IPVS mode with the default round-robin (rr) scheduler: over many "
                    "connections each endpoint gets an equal share",
            "nftables": "kube-proxy runs in nftables mode: a numgen random vmap picks each endpoint uniformly",
        }[self.proxy_mode]
        cni = ("the CNI plugin enforces NetworkPolicy" if self.cni_enforces_policy
               else "the CNI plugin does NOT enforce NetworkPolicy: policies are shown but never drop traffic")
        return [mode, cni]

    def to_dict(self) -> dict:
        return {"proxy_mode": self.proxy_mode, "cni_enforces_policy": self.cni_enforces_policy}
