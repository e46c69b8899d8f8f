"""Read-only admin for snapshots and their objects (snapshots are immutable: no add/change)."""
from django.contrib import admin

from . import models


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.Cluster)
class ClusterAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "created")
    search_fields = ("name",)


@admin.register(models.Snapshot)
class SnapshotAdmin(ReadOnlyAdmin):
    list_display = ("cluster", "number", "created", "source", "materialized")
    list_filter = ("materialized",)


def _register(model, columns):
    admin.site.register(model, type(f"{model.__name__}Admin", (ReadOnlyAdmin,), {
        "list_display": ("snapshot", *columns),
        "search_fields": tuple(c for c in columns if c in ("name", "namespace", "ip", "cluster_ip")),
        "list_select_related": ("snapshot__cluster",),
    }))


_register(models.Namespace, ("name",))
_register(models.Node, ("name", "internal_ip", "zone", "ready"))
_register(models.Workload, ("namespace", "kind", "name", "replicas"))
_register(models.Pod, ("namespace", "name", "ip", "node_name", "phase", "ready"))
_register(models.Service, ("namespace", "name", "type", "cluster_ip"))
_register(models.EndpointSlice, ("namespace", "name", "service_name", "derived"))
_register(models.Endpoint, ("slice", "ip", "ready", "node_name"))
_register(models.Ingress, ("namespace", "name", "class_name"))
_register(models.IngressClass, ("name", "controller", "is_default"))
_register(models.NetworkPolicy, ("namespace", "name"))
_register(models.Secret, ("namespace", "name", "type"))
