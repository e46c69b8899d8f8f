"""Accounts over the API: a script gets a token with its password, uses it and revokes it;
the browser uses its session, and then CSRF protects every write."""
from __future__ import annotations

import base64

from rest_framework.test import APIClient

from .api_base import ApiTestCase


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class TokenTests(ApiTestCase):
    def test_script_gets_a_token_with_its_password_and_uses_it(self):
        client = APIClient()
        body = self.assertStatus(client.post("/api/tokens/", HTTP_AUTHORIZATION=basic("alice", "alice-password-1")), 201)
        key = body["key"]
        self.assertNotEqual(key, self.tokens["alice"])
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        self.assertEqual(self.assertStatus(client.get("/api/me/"), 200)["username"], "alice")
        # Several tokens per user: the earlier one keeps working.
        self.assertStatus(self.api(self.alice).get("/api/clusters/"), 200)

    def test_wrong_password_is_401(self):
        self.assertStatus(APIClient().post("/api/tokens/", HTTP_AUTHORIZATION=basic("alice", "wrong")), 401)

    def test_basic_auth_works_only_for_getting_a_token(self):
        self.assertStatus(APIClient().get("/api/clusters/", HTTP_AUTHORIZATION=basic("alice", "alice-password-1")), 401)

    def test_info_never_shows_the_key_and_revoke_makes_it_useless(self):
        info = self.assertStatus(self.api(self.bob).get("/api/tokens/"), 200)
        self.assertEqual([t["prefix"] for t in info], [self.tokens["bob"][:10]])
        self.assertNotIn(self.tokens["bob"], str(info))
        self.assertStatus(self.api(self.bob).delete("/api/tokens/"), 204)
        self.assertStatus(self.api(self.bob).get("/api/clusters/"), 401)
        # Other users' tokens are untouched.
        self.assertStatus(self.api(self.charlie).get("/api/clusters/"), 200)

    def test_session_auth_requires_csrf_for_writes(self):
        client = APIClient(enforce_csrf_checks=True)
        client.force_login(self.alice)
        self.assertStatus(client.get(f"/api/clusters/{self.cluster.pk}/"), 200)
        response = client.post("/api/clusters/", {"name": "via-browser"}, format="json")
        self.assertEqual(response.status_code, 403)
        self.assertIn("CSRF", response.data["detail"])


class TrailingSlashTests(ApiTestCase):
    def test_scripts_may_omit_the_final_slash(self):
        """`curl -X POST …/api/traces` must not become a redirect that drops the body."""
        c = self.api(self.alice)
        self.assertStatus(c.post("/api/clusters", {"name": "no-slash"}, format="json"), 201)
        self.assertStatus(c.post("/api/traces", {"cluster": "blog", "from": "pod:blog/wordpress-0",
                                                 "to": "svc:payments/ledger", "port": 443}, format="json"), 201)
        self.assertStatus(c.get(f"/api/clusters/{self.cluster.pk}"), 200)
        self.assertStatus(c.get("/api/tokens"), 200)
