"""Who may see and change a job (one place; the API and the UI ask here).

Access follows the cluster (topology.services.visible_clusters): whoever may read a job's cluster
now may read the job — its owner too, but only while they may read the cluster: a teammate removed
from a cluster loses its jobs, plans, cells and results at once. A job without a cluster is its
owner's. Everyone else gets 404, as for the cluster itself.
Changing a job (cancel, delete) is for the job's owner or the cluster's owner.
"""
from __future__ import annotations

from django.db.models import Q, QuerySet

from topology.services import can_manage, visible_clusters
from tracer.models import Job

__all__ = ["visible_jobs", "can_change"]


def visible_jobs(user) -> QuerySet[Job]:
    if user is None or not user.is_authenticated:
        return Job.objects.none()
    return Job.objects.filter(Q(cluster__in=visible_clusters(user).values("pk"))
                              | Q(cluster__isnull=True, owner_id=user.pk))


def can_change(user, job: Job) -> bool:
    """Cancel or delete: the job's owner, or whoever manages its cluster."""
    return job.owner_id == user.pk or bool(job.cluster and can_manage(user, job.cluster))
