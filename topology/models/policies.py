"""NetworkPolicies of a snapshot (structured spec, policyTypes already defaulted per E3)."""
from __future__ import annotations

from django.db import models

from tracer.engine import model as m

from .base import SnapshotObject, name_field, text_field
from .cluster import Snapshot

__all__ = ["NetworkPolicy"]


class NetworkPolicy(SnapshotObject):
    DATACLASS = m.NetworkPolicy
    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="network_policies")
    namespace = name_field()
    name = name_field()
    pod_selector = models.JSONField(default=dict)
    policy_types = models.JSONField(default=list)
    ingress = models.JSONField(default=list)
    egress = models.JSONField(default=list)
    created = text_field()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "namespace", "name"],
                                               name="networkpolicy_unique")]
