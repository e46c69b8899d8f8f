"""Saved tests over the API: stored on the server, shared with the cluster's team, run together on the
latest snapshot with each one's verdict now, at its last run, and what changed."""
from __future__ import annotations

from topology.importers import import_bytes
from tracer.models import SavedTest

from .api_base import ApiTestCase
from .test_api_traces import ALLOWED, DENIED, without_network_policies


class SavedTestsApiTest(ApiTestCase):
    def url(self, suffix=""):
        return f"/api/clusters/{self.cluster.pk}/saved-tests/{suffix}"

    def save(self, user, name, request, code=201):
        return self.assertStatus(self.api(user).post(self.url(), {"name": name, "request": request}, format="json"),
                                 code)

    def test_a_test_saved_by_the_owner_is_seen_and_run_by_a_teammate_with_what_changed(self):
        denied = self.save(self.alice, "monitoring reaches the ledger", DENIED)
        self.save(self.alice, "blog reaches the ledger", ALLOWED)
        self.assertEqual((denied["last_verdict"], denied["last_reason"]), ("dropped", "policy-ingress-denied"))

        listed = self.assertStatus(self.api(self.bob).get(self.url()), 200)
        self.assertEqual([t["name"] for t in listed], ["blog reaches the ledger", "monitoring reaches the ledger"])
        self.assertEqual({t["owner"] for t in listed}, {"alice"})
        self.assertEqual({t["can_delete"] for t in listed}, {False}, "a teammate may not delete alice's tests")

        newer = import_bytes(self.cluster, [("no-policies.yaml", without_network_policies())]).snapshot
        rows = self.assertStatus(self.api(self.bob).post(self.url("run/")), 200)["results"]
        by_name = {r["name"]: r for r in rows}
        moved = by_name["monitoring reaches the ledger"]
        self.assertEqual(moved["verdict"], "delivered")
        self.assertEqual(moved["snapshot"], newer.pk)
        self.assertEqual(moved["previous"]["verdict"], "dropped")
        self.assertEqual(moved["previous"]["trace"], denied["last_trace"])
        self.assertTrue(moved["changes"]["changed"])
        self.assertEqual(moved["changes"]["verdict"], {"before": "dropped", "after": "delivered", "changed": True})
        steady = by_name["blog reaches the ledger"]
        self.assertEqual((steady["previous"]["verdict"], steady["verdict"]), ("delivered", "delivered"))

        # The next run compares with this one: nothing changed since.
        again = {r["name"]: r for r in self.assertStatus(self.api(self.alice).post(self.url("run/")), 200)["results"]}
        self.assertEqual(again["monitoring reaches the ledger"]["previous"]["trace"], moved["trace"])
        self.assertFalse(again["monitoring reaches the ledger"]["changes"]["changed"])

    def test_saving_a_trace_keeps_it_as_the_last_run_and_a_name_is_replaced_not_doubled(self):
        trace = self.assertStatus(self.api(self.bob).post("/api/traces/", {"cluster": self.cluster.pk, **DENIED},
                                                          format="json"), 201)
        body = {"name": "ledger", "trace": trace["id"]}
        test = self.assertStatus(self.api(self.bob).post(self.url(), body, format="json"), 201)
        self.assertEqual((test["last_trace"], test["owner"], test["can_delete"]), (trace["id"], "bob", True))
        self.assertEqual(test["request"], trace["request"])
        replaced = self.save(self.bob, "ledger", ALLOWED, code=200)
        self.assertEqual(replaced["id"], test["id"])
        self.assertEqual(SavedTest.objects.filter(cluster=self.cluster).count(), 1)
        self.assertEqual(replaced["last_verdict"], "delivered")

    def test_outsider_sees_nothing_and_teammate_deletes_only_own_tests(self):
        alices = self.save(self.alice, "alice's", ALLOWED)
        bobs = self.save(self.bob, "bob's", DENIED)
        charlie = self.api(self.charlie)
        self.assertStatus(charlie.get(self.url()), 404)
        self.assertStatus(charlie.post(self.url(), {"name": "x", "request": ALLOWED}, format="json"), 404)
        self.assertStatus(charlie.post(self.url("run/")), 404)
        self.assertStatus(charlie.delete(self.url(f"{alices['id']}/")), 404)
        self.assertStatus(self.api().get(self.url()), 401)

        self.assertStatus(self.api(self.bob).delete(self.url(f"{alices['id']}/")), 403)
        self.assertStatus(self.api(self.bob).delete(self.url(f"{bobs['id']}/")), 204)
        self.save(self.bob, "bob's again", DENIED)
        # The cluster's owner may delete any test of it.
        again = SavedTest.objects.get(name="bob's again")
        self.assertStatus(self.api(self.alice).delete(self.url(f"{again.pk}/")), 204)

        # A teammate removed from the cluster loses its tests at once.
        self.cluster.shared_with.remove(self.bob)
        self.assertStatus(self.api(self.bob).get(self.url()), 404)

    def test_bad_input_is_a_clear_400(self):
        c = self.api(self.alice)
        r = self.assertStatus(c.post(self.url(), {"name": "x"}, format="json"), 400)
        self.assertIn("exactly one of `trace` and `request`", str(r))
        r = self.assertStatus(c.post(self.url(), {"name": "x", "request": {"from": "wordpress-0", "to": "svc:a/b"}},
                                     format="json"), 400)
        self.assertIn("SOURCE", str(r))
        other = self.api(self.alice).post("/api/traces/", {"cluster": self.cluster.pk, **ALLOWED}, format="json")
        self.assertStatus(c.post(self.url(), {"name": "x", "trace": other.data["id"] + 1000}, format="json"), 404)
