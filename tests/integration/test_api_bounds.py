"""Out-of-range ids and names are client mistakes (4xx), on SQLite and PostgreSQL alike."""
from __future__ import annotations

from .api_base import ApiTestCase

HUGE = "9" * 30  # larger than any 64-bit integer column


class HugeIdTests(ApiTestCase):
    def test_huge_ids_in_paths_are_404(self):
        for url in (f"/api/clusters/{HUGE}/", f"/api/snapshots/{HUGE}/", f"/api/traces/{HUGE}/",
                    f"/api/clusters/{HUGE}/topology/", f"/api/snapshots/{HUGE}/compare/?to=1"):
            self.assertEqual(self.api(self.alice).get(url).status_code, 404, url)

    def test_huge_ids_in_bodies_and_queries_are_400(self):
        c = self.api(self.alice)
        body = self.assertStatus(c.post("/api/traces/", {"cluster": HUGE, "from": "pod:blog/wordpress-0",
                                                         "to": "svc:payments/ledger"}, format="json"), 400)
        self.assertIn("unknown cluster", body["detail"])
        self.assertStatus(c.get(f"/api/snapshots/?cluster={HUGE}"), 400)
        self.assertStatus(c.get(f"/api/traces/?snapshot={HUGE}"), 400)
        self.assertStatus(c.get(f"/api/snapshots/{self.snapshot.pk}/compare/?to={HUGE}"), 400)
        self.assertStatus(c.get(f"/api/clusters/{self.cluster.pk}/topology/?snapshot={HUGE}"), 400)
