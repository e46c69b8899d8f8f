"""Shared base for API tests: an owner, a teammate and an outsider (healthchecks' alice/bob/charlie).

    alice   owns cluster "blog" (tests/fixtures/examples/cluster-b.yaml imported as snapshot #1)
    bob     is a teammate: "blog" is shared with him
    charlie is an outsider: he must not even learn that "blog" exists (404, never 403)

Each user has an API token; `self.api(user)` is an APIClient authenticated with it, the way a
script would call the API.
"""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.test import TestCase
from rest_framework.test import APIClient

from tests.fixtures import CLUSTER_B
from topology.importers import import_bytes
from topology.models import Cluster
from tracer.tokens import issue_token


def cluster_b_bytes() -> bytes:
    return CLUSTER_B.read_bytes()


class ApiTestCase(TestCase):
    @classmethod
    def setUpTestData(cls):
        users = get_user_model().objects
        cls.alice = users.create_user("alice", "alice@example.org", "alice-password-1")
        cls.bob = users.create_user("bob", "bob@example.org", "bob-password-1")
        cls.charlie = users.create_user("charlie", "charlie@example.org", "charlie-password-1")
        cls.tokens = {u.username: issue_token(u)[1] for u in (cls.alice, cls.bob, cls.charlie)}
        cls.cluster = Cluster.objects.create(name="blog", owner=cls.alice)
        cls.cluster.shared_with.add(cls.bob)
        cls.snapshot = import_bytes(cls.cluster, [("cluster-b.yaml", cluster_b_bytes())], owner=cls.alice).snapshot

    def api(self, user=None) -> APIClient:
        """A client authenticated with `user`'s token (anonymous when None)."""
        client = APIClient()
        if user is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Token {self.tokens[user.username]}")
        return client

    def assertStatus(self, response, code: int):
        body = getattr(response, "data", None)
        self.assertEqual(response.status_code, code, f"expected {code}, got {response.status_code}: {body}")
        return body
