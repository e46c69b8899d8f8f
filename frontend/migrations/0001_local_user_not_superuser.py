"""The local-mode user `local-admin` used to be a superuser: demote it to an ordinary user.

Why: local mode signs in whoever reaches the server from loopback; as a superuser that meant /admin/
and every ownerless cluster for anyone behind a same-host proxy or tunnel. Its clusters
stay its own; an administrator who wants it back as a superuser can use `manage.py createsuperuser` for
a separate account.
"""
from django.conf import settings
from django.db import migrations

LOCAL_USER = "local-admin"


def demote(apps, schema_editor):
    app_label, model_name = settings.AUTH_USER_MODEL.split(".")
    User = apps.get_model(app_label, model_name)
    User.objects.filter(username=LOCAL_USER).update(is_superuser=False, is_staff=False)


class Migration(migrations.Migration):
    dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL)]

    operations = [migrations.RunPython(demote, migrations.RunPython.noop)]
