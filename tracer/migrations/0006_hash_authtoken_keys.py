"""Move DRF authtoken keys into hashed ApiTokens, then delete the clear-text keys.

Why raw SQL: `rest_framework.authtoken` is no longer an installed app, so its model cannot be loaded;
its table may still exist in a database created before (and does not in a fresh one). Each key is
hashed into an ApiToken named "migrated" (same key, so scripts keep working), expiring
TRACER_TOKEN_DAYS after the migration; then the authtoken rows are deleted, so no key is left in clear.
"""
import hashlib
from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone

TABLE = "authtoken_token"


def hash_keys(apps, schema_editor):
    connection = schema_editor.connection
    if TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("tracer", "ApiToken")
    quoted = schema_editor.quote_name(TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {schema_editor.quote_name('key')}, user_id, created FROM {quoted}")
        rows = cursor.fetchall()
    expires = timezone.now() + timedelta(days=getattr(settings, "TRACER_TOKEN_DAYS", 365))
    ApiToken.objects.bulk_create([
        ApiToken(user_id=user_id, name="migrated", key_hash=hashlib.sha256(key.encode()).hexdigest(), prefix=key[:6], expires=expires)
        for key, user_id, _created in rows], ignore_conflicts=True)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {quoted}")


class Migration(migrations.Migration):
    dependencies = [("tracer", "0005_api_tokens")]

    operations = [migrations.RunPython(hash_keys, migrations.RunPython.noop)]
