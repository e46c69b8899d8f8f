"""Snapshots list the names of their input files, never the server's paths.

Imports from the command line used to store each file as given (often an absolute path: the demo's
snapshot showed where the server keeps `demo/`), and every reader of the cluster saw it. The source
list keeps each file's name; warnings that quoted an absolute path keep its last component.
"""
import re

from django.db import migrations

ABSOLUTE_PATH = re.compile(r"(?<![\w.<>-])/(?:[^\s/,()]+/)+([^\s/,()]+)")


def file_name(item: str) -> str:
    tail = " …" if item.endswith(" …") else ""
    name = item[: -len(tail)] if tail else item
    return name.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] + tail


def names_only(apps, schema_editor):
    Snapshot = apps.get_model("topology", "Snapshot")
    for snap in Snapshot.objects.only("id", "source", "warnings").iterator():
        source = ", ".join(file_name(item) for item in snap.source.split(", ")) if snap.source else snap.source
        warnings = [ABSOLUTE_PATH.sub(r"\1", w) if isinstance(w, str) else w for w in (snap.warnings or [])]
        if source != snap.source or warnings != (snap.warnings or []):
            Snapshot.objects.filter(pk=snap.pk).update(source=source, warnings=warnings)


class Migration(migrations.Migration):
    dependencies = [("topology", "0005_cluster_invitations")]

    operations = [migrations.RunPython(names_only, migrations.RunPython.noop)]
