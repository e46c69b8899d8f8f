"""Sharing a cluster with teammates: invitations the invitee accepts, and removal that revokes at once.

Why invitations: `PATCH shared_with: ["name"]` used to add the user directly — sharing without their
consent — and answered 400 for an unknown name, so it told anyone with a cluster which usernames
exist. Now the owner's list is a wish: names already on the team stay, names that left the list are
removed at once (with every share link they made on this cluster), and new names get a pending
invitation, stored by username whether or not such an account exists. The answer is the same either
way; the invitee sees their invitations at /api/invitations/ and accepts or declines them.
"""
from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet

from .models import Cluster, ClusterInvitation

MAX_TEAM = 100  # names in one shared_with list (members + pending invitations)


def members(cluster: Cluster) -> list[str]:
    return sorted(cluster.shared_with.values_list("username", flat=True))


def pending(cluster: Cluster) -> list[str]:
    return sorted(i.username for i in cluster.invitations.all())  # prefetched by the cluster list


@transaction.atomic
def set_team(cluster: Cluster, usernames: list[str], *, by) -> list:
    """Make `usernames` the cluster's team: keep members, remove the others, invite the new names.

    Returns the users removed. Their share links on this cluster must die with their access: the traces
    are the tracer's, a layer above this app, so the caller withdraws them
    (tracer.services.set_cluster_team does both in one transaction)."""
    wanted = {u for u in usernames if u}
    if cluster.owner is not None:
        wanted.discard(cluster.owner.get_username())
    current = {u.get_username(): u for u in cluster.shared_with.all()}
    gone = [user for name, user in current.items() if name not in wanted]
    if gone:
        cluster.shared_with.remove(*gone)
    cluster.invitations.exclude(username__in=wanted).delete()
    invited = set(cluster.invitations.values_list("username", flat=True))
    ClusterInvitation.objects.bulk_create(
        [ClusterInvitation(cluster=cluster, username=name, invited_by=by)
         for name in sorted(wanted - current.keys() - invited)], ignore_conflicts=True)
    return gone


def invitations_for(user) -> QuerySet[ClusterInvitation]:
    """Pending invitations addressed to `user` (by username), with their cluster and owner."""
    if user is None or not user.is_authenticated:
        return ClusterInvitation.objects.none()
    return ClusterInvitation.objects.filter(username=user.get_username())\
        .select_related("cluster__owner", "invited_by")


@transaction.atomic
def accept(invitation: ClusterInvitation, user) -> Cluster:
    cluster = invitation.cluster
    if cluster.owner_id != user.pk:
        cluster.shared_with.add(user)
    invitation.delete()
    return cluster


def decline(invitation: ClusterInvitation) -> None:
    invitation.delete()
