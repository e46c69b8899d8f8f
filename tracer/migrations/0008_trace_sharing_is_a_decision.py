"""Sharing is a decision: who shared a trace and when; existing slugs are withdrawn.

Until now every trace got a share slug the moment it was created, so a slug says nothing about whether
anyone chose to share it (a slug re-minted with POST …/share/ cannot be told apart either). Every
existing slug is therefore cleared: nothing stays shared unless someone presses Share again.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def withdraw_unchosen_links(apps, schema_editor):
    Trace = apps.get_model("tracer", "Trace")
    Trace.objects.filter(share_slug__isnull=False).update(share_slug=None)


class Migration(migrations.Migration):

    dependencies = [
        ('tracer', '0007_matrix_blocks_of_columns'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='trace',
            name='shared_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='trace',
            name='shared_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(withdraw_unchosen_links, migrations.RunPython.noop),
    ]
