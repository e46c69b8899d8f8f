"""`manage.py setup_local [--demo]`: what `make run` needs after `migrate`, idempotently.

- the local user `local-admin` (created once, with a random password printed once and kept nowhere
  but as its hash; `make run`'s local mode treats a browser on this machine as this user, so the
  password is only needed for API tokens or from another machine). It is an ordinary user — not
  staff, not a superuser — so local mode never hands out administration of other users;
- with `--demo`: the demo cluster (`demo/`, desired-state manifests, materialised on 3 nodes) as
  cluster `demo` owned by local-admin — only when no cluster named `demo` exists yet, so a re-run
  never adds snapshots or touches a `demo` someone imported by hand.

It does not migrate (the Makefile runs `migrate` first) and says so if the tables are missing.
"""
from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, transaction

from frontend.middleware import LOCAL_USER
from topology.importers import ManifestError, import_files
from topology.models import Cluster

DEMO_CLUSTER = "demo"
DEMO_NODES = 3


def demo_path():
    return settings.BASE_DIR / "demo"


class Command(BaseCommand):
    help = "Create the local user and (with --demo) import the demo cluster, if they do not exist yet."

    def add_arguments(self, parser):
        parser.add_argument("--demo", action="store_true", help="also import the demo cluster as 'demo'")

    def handle(self, *args, **opts):
        try:
            user = self._local_admin()
            if opts["demo"]:
                self._demo(user)
        except DatabaseError as exc:
            raise CommandError(f"the database is not ready ({exc.__class__.__name__}): "
                               "run `manage.py migrate` first") from None

    def _local_admin(self):
        User = get_user_model()
        with transaction.atomic():
            user = User.objects.filter(username=LOCAL_USER).first()
            if user is not None:
                self.stdout.write(f"Local user {LOCAL_USER!r} already exists.")
                return user
            password = secrets.token_urlsafe(12)
            user = User.objects.create_user(username=LOCAL_USER, email="", password=password)
        # Shown once, here; only the hash is stored.
        self.stdout.write(self.style.SUCCESS(
            f"Created local user {LOCAL_USER!r} with password: {password}\n"
            "  (shown only now; a browser on this machine needs no sign-in while `make run` listens on loopback. "
            f"Change it with `manage.py changepassword {LOCAL_USER}`.)"))
        return user

    def _demo(self, user) -> None:
        existing = Cluster.objects.filter(name=DEMO_CLUSTER).first()
        if existing is not None:
            snap = existing.latest_snapshot()
            self.stdout.write(f"Cluster {DEMO_CLUSTER!r} already exists"
                              + (f" (snapshot #{snap.number})." if snap else "."))
            return
        try:
            result = import_files(DEMO_CLUSTER, [demo_path()], owner=user, materialize=True, nodes=DEMO_NODES)
        except ManifestError as exc:  # the demo ships with the code: this is a bug, say where
            raise CommandError(f"the demo cluster failed to import: {exc}") from None
        counts = ", ".join(f"{n} {k}" for k, n in result.counts.items() if n)
        self.stdout.write(self.style.SUCCESS(
            f"Imported the demo cluster as {DEMO_CLUSTER!r} (snapshot #{result.snapshot.number}): {counts}."))
