"""Traces over the API: run, read, filter, re-run after a re-import, and share (owner / teammate / outsider).

The cluster is tests/fixtures/examples/cluster-b.yaml:
    [pod blog/wordpress-0] → svc/payments/ledger:443 → [pod payments/ledger-1]:9000   delivered
    [pod monitoring/prometheus-0] → svc/payments/ledger:443 ✗ policy payments/ledger-from-blog   dropped
"""
from __future__ import annotations

import json

import yaml

from topology.importers import import_bytes
from topology.models import Cluster
from tracer.models import Trace
from tracer.services import objects_passed

from .api_base import ApiTestCase, cluster_b_bytes

ALLOWED = {"from": "pod:blog/wordpress-0", "to": "svc:payments/ledger", "port": 443}
DENIED = {"from": "pod:monitoring/prometheus-0", "to": "svc:payments/ledger", "port": 443}


def without_network_policies() -> bytes:
    """cluster-b with every NetworkPolicy deleted (what a re-import after `kubectl delete netpol` sees)."""
    doc = yaml.safe_load(cluster_b_bytes())
    doc["items"] = [i for i in doc["items"] if i["kind"] != "NetworkPolicy"]
    return yaml.safe_dump(doc).encode()


class TraceTests(ApiTestCase):
    def trace(self, user, body, cluster=None):
        return self.api(user).post("/api/traces/", {"cluster": (cluster or self.cluster).pk, **body}, format="json")

    def test_create_returns_201_with_the_contract_result_pinned_to_the_snapshot(self):
        body = self.assertStatus(self.trace(self.alice, ALLOWED), 201)
        result = body["result"]
        self.assertEqual(result["verdict"], "delivered")
        self.assertIsNone(result["reason"])
        [path] = result["paths"]
        self.assertEqual((path["endpoint"], path["endpoint_port"], path["probability"]),
                         ("pod:payments/ledger-1", 9000, 1.0))
        self.assertTrue(all({"kind", "id", "action", "detail"} <= set(h) for h in path["hops"]))
        self.assertTrue(result["assumptions"])
        self.assertEqual(body["snapshot"]["id"], self.snapshot.pk)
        self.assertEqual(body["snapshot"]["cluster"], {"id": self.cluster.pk, "name": "blog"})
        self.assertEqual(body["owner"], "alice")
        self.assertIn({"kind": "service", "namespace": "payments", "name": "ledger"}, body["objects"])
        # Sharing is a decision: a new trace has no link until someone presses Share.
        self.assertEqual((body["shared"], body["share_slug"], body["share_url"]), (False, None, None))

    def test_cluster_by_name_and_nested_assumptions(self):
        body = self.assertStatus(self.api(self.bob).post("/api/traces/", {
            "cluster": "blog", **DENIED, "assumptions": {"cni_enforces_policy": False}}, format="json"), 201)
        # With a CNI that does not enforce policy the same packet is delivered.
        self.assertEqual(body["verdict"], "delivered")
        self.assertEqual(body["request"]["assumptions"], {"proxy_mode": "iptables", "cni_enforces_policy": False})
        self.assertEqual(body["owner"], "bob")

    def test_client_mistakes_are_400_with_what_to_fix(self):
        cases = [
            ({"cluster": "nope", **ALLOWED}, "unknown cluster 'nope'"),
            ({"cluster": self.cluster.pk, "from": "wordpress-0", "to": "svc:payments/ledger"}, "unparsable SOURCE"),
            ({"cluster": self.cluster.pk, "from": "pod:blog/wordpress-0", "to": "svc:payments/ledger",
              "port": 99999}, "out of range"),
            ({"cluster": self.cluster.pk, "from": "pod:blog/nosuchpod", "to": "svc:payments/ledger", "port": 443},
             "nosuchpod"),
            ({"cluster": self.cluster.pk, "from": "pod:blog/wordpress-0", "to": "svc:payments/ledger",
              "protocol": "ICMP"}, "protocol"),
            ({"from": "pod:blog/wordpress-0", "to": "svc:payments/ledger"}, "cluster"),
        ]
        for payload, message in cases:
            body = self.assertStatus(self.api(self.alice).post("/api/traces/", payload, format="json"), 400)
            self.assertIn(message, body["detail"], payload)

    def test_outsider_cannot_trace_on_or_read_traces_of_the_cluster(self):
        body = self.assertStatus(self.trace(self.charlie, ALLOWED), 400)
        self.assertIn("unknown cluster", body["detail"])
        trace_id = self.assertStatus(self.trace(self.alice, ALLOWED), 201)["id"]
        for method, url in (("get", f"/api/traces/{trace_id}/"), ("post", f"/api/traces/{trace_id}/rerun/"),
                            ("post", f"/api/traces/{trace_id}/share/"), ("delete", f"/api/traces/{trace_id}/share/")):
            self.assertEqual(getattr(self.api(self.charlie), method)(url).status_code, 404, url)
        self.assertEqual(self.assertStatus(self.api(self.charlie).get("/api/traces/"), 200)["count"], 0)
        # The teammate reads it.
        self.assertStatus(self.api(self.bob).get(f"/api/traces/{trace_id}/"), 200)

    def test_list_filters_by_verdict_and_by_object_passed_through(self):
        ok = self.assertStatus(self.trace(self.alice, ALLOWED), 201)["id"]
        denied = self.assertStatus(self.trace(self.bob, DENIED), 201)["id"]
        c = self.api(self.alice)
        ids = lambda url: [t["id"] for t in self.assertStatus(c.get(url), 200)["results"]]  # noqa: E731
        self.assertEqual(ids("/api/traces/?verdict=dropped"), [denied])
        self.assertEqual(ids("/api/traces/?verdict=delivered"), [ok])
        self.assertEqual(ids("/api/traces/?reason=policy-ingress-denied"), [denied])
        self.assertEqual(ids("/api/traces/?object=pod:blog/wordpress-0"), [ok])
        self.assertEqual(ids("/api/traces/?object=pod:monitoring/prometheus-0"), [denied])
        self.assertEqual(sorted(ids("/api/traces/?object=svc:payments/ledger")), sorted([ok, denied]))
        self.assertEqual(ids("/api/traces/?object=pod:payments/ledger-1"), [ok])
        body = self.assertStatus(c.get("/api/traces/?object=wordpress"), 400)
        self.assertIn("KIND:NS/NAME", body["detail"])

    def test_reimport_never_changes_a_stored_trace_and_rerun_shows_what_changed(self):
        first = self.assertStatus(self.trace(self.alice, DENIED), 201)
        self.assertEqual((first["verdict"], first["reason"]), ("dropped", "policy-ingress-denied"))
        newer = import_bytes(self.cluster, [("no-policies.yaml", without_network_policies())]).snapshot

        again = self.assertStatus(self.api(self.alice).get(f"/api/traces/{first['id']}/"), 200)
        self.assertEqual(again["result"], first["result"], "a stored trace is pinned to its snapshot")
        self.assertEqual(again["snapshot"]["id"], self.snapshot.pk)

        body = self.assertStatus(self.api(self.bob).post(f"/api/traces/{first['id']}/rerun/"), 201)
        new, previous, changes = body["trace"], body["previous"], body["changes"]
        self.assertEqual(previous["id"], first["id"])
        self.assertEqual(previous["result"], first["result"])
        self.assertEqual(new["rerun_of"], first["id"])
        self.assertEqual(new["snapshot"]["id"], newer.pk)
        self.assertEqual(new["verdict"], "delivered")
        self.assertTrue(changes["changed"])
        self.assertEqual(changes["verdict"], {"before": "dropped", "after": "delivered", "changed": True})
        self.assertEqual(changes["snapshot"], {"before": self.snapshot.pk, "after": newer.pk, "changed": True})
        added = {(e["endpoint"], e["port"]) for e in changes["endpoints"]["added"]}
        self.assertEqual(added, {("pod:payments/ledger-1", 9000)})
        removed_hops = {(h["kind"], h["id"]) for h in changes["hops"]["removed"]}
        # The hop that dropped it (the isolating policy) is gone.
        self.assertIn(("network-policy", "networkpolicy:payments/deny-all"), removed_hops)
        self.assertEqual(Trace.objects.get(pk=first["id"]).reruns.count(), 1)

    def test_rerun_on_an_unchanged_cluster_reports_no_change(self):
        first = self.assertStatus(self.trace(self.alice, ALLOWED), 201)
        body = self.assertStatus(self.api(self.alice).post(f"/api/traces/{first['id']}/rerun/"), 201)
        self.assertFalse(body["changes"]["changed"])
        self.assertNotEqual(body["trace"]["id"], first["id"])

    def test_a_stored_version_1_trace_still_loads_indexes_and_reruns_without_change(self):
        """A trace stored before result schema 2 (string ids only, no `ref`): its objects are indexed from the
        references derived on load, and re-running it on the same cluster reports no change."""
        first = self.assertStatus(self.trace(self.alice, ALLOWED), 201)
        stored = Trace.objects.get(pk=first["id"])
        v1 = {**stored.result, "schema_version": 1}
        v1["paths"] = [{**{k: v for k, v in p.items() if k not in ("source_ref", "endpoint_ref")},
                        "hops": [{k: v for k, v in h.items() if k != "ref"} for h in p["hops"]]}
                       for p in stored.result["paths"]]
        self.assertNotIn("ref", json.dumps(v1["paths"][0]["hops"][0]))
        Trace.objects.filter(pk=stored.pk).update(result=v1)
        self.assertEqual(objects_passed(v1), objects_passed(stored.result))
        self.assertIn(("network-policy", "payments", "ledger-from-blog"), objects_passed(v1))
        body = self.assertStatus(self.api(self.alice).post(f"/api/traces/{first['id']}/rerun/"), 201)
        self.assertFalse(body["changes"]["changed"], body["changes"])
        self.assertEqual(body["trace"]["result"]["schema_version"], 2)
        hop = body["trace"]["result"]["paths"][0]["hops"][0]
        self.assertEqual(hop["ref"], {"kind": "pod", "namespace": "blog", "name": "wordpress-0"})

    def test_reason_table_is_served_to_anyone(self):
        rows = self.assertStatus(self.api().get("/api/reasons/"), 200)
        by_code = {r["code"]: r for r in rows}
        self.assertIn("policy-ingress-denied", by_code)
        self.assertIn("NetworkPolicy", by_code["policy-ingress-denied"]["meaning"])
        self.assertTrue(all(r["fix"] for r in rows))


class ShareLinkTests(ApiTestCase):
    def setUp(self):
        body = self.assertStatus(self.api(self.alice).post("/api/traces/", {"cluster": self.cluster.pk, **ALLOWED},
                                                           format="json"), 201)
        self.trace_id = body["id"]
        shared = self.assertStatus(self.api(self.alice).post(f"/api/traces/{self.trace_id}/share/"), 201)
        self.slug = shared["share_slug"]
        self.assertTrue(shared["share_url"].endswith(f"/t/{self.slug}"))

    def test_slug_has_at_least_128_bits(self):
        # token_urlsafe: 6 bits per character.
        self.assertGreaterEqual(len(self.slug) * 6, 128)

    def test_anonymous_reads_only_the_trace_and_its_objects(self):
        response = self.api().get(f"/api/share/{self.slug}")
        body = self.assertStatus(response, 200)
        self.assertEqual(body["verdict"], "delivered")
        self.assertEqual(body["result"]["paths"][0]["endpoint"], "pod:payments/ledger-1")
        self.assertEqual(body["snapshot"]["number"], 1)
        names = {(o["kind"], o["namespace"], o["name"]) for o in body["objects"]}
        self.assertEqual(names, {("pod", "blog", "wordpress-0"), ("pod", "payments", "ledger-1"),
                                 ("service", "payments", "ledger"), ("network-policy", "payments", "ledger-from-blog")})
        ledger = next(o for o in body["objects"] if o["name"] == "ledger-1")
        self.assertEqual(ledger["details"]["ip"], "10.42.1.30")
        text = response.content.decode()
        for other in ("prometheus", "mysql", "traefik", "alice", "blog.example.org"):
            self.assertNotIn(other, text, f"a share link must not leak {other!r}")

    def test_owner_revokes_then_404_and_mints_a_new_link(self):
        self.assertStatus(self.api(self.alice).delete(f"/api/traces/{self.trace_id}/share/"), 204)
        self.assertStatus(self.api().get(f"/api/share/{self.slug}"), 404)
        detail = self.assertStatus(self.api(self.alice).get(f"/api/traces/{self.trace_id}/"), 200)
        self.assertIsNone(detail["share_url"])
        body = self.assertStatus(self.api(self.alice).post(f"/api/traces/{self.trace_id}/share/"), 201)
        self.assertNotEqual(body["share_slug"], self.slug)
        self.assertStatus(self.api().get(f"/api/share/{body['share_slug']}"), 200)
        self.assertStatus(self.api().get(f"/api/share/{self.slug}"), 404)

    def test_teammate_reads_but_may_not_change_someone_elses_link(self):
        self.assertStatus(self.api(self.bob).get(f"/api/traces/{self.trace_id}/"), 200)
        self.assertStatus(self.api(self.bob).delete(f"/api/traces/{self.trace_id}/share/"), 403)
        self.assertStatus(self.api(self.bob).post(f"/api/traces/{self.trace_id}/share/"), 403)
        self.assertStatus(self.api().get(f"/api/share/{self.slug}"), 200)

    def test_teammate_manages_links_of_own_traces(self):
        body = self.assertStatus(self.api(self.bob).post("/api/traces/", {"cluster": self.cluster.pk, **DENIED},
                                                         format="json"), 201)
        self.assertTrue(body["can_edit"])
        self.assertStatus(self.api(self.bob).delete(f"/api/traces/{body['id']}/share/"), 204)

    def test_unknown_slug_is_404(self):
        self.assertStatus(self.api().get("/api/share/" + "A" * 43), 404)


class ShareLinkSecrecyTests(ApiTestCase):
    """A share link shows networking facts of the objects on the path — never annotations or Secret data.

        [external 198.51.100.7] → ingress blog.example.org → svc/blog/wordpress (annotated with a password)
    """

    def test_annotations_and_secret_values_never_leave_through_a_share_link(self):
        doc = yaml.safe_load(cluster_b_bytes())
        for item in doc["items"]:
            if item["kind"] == "Service" and item["metadata"]["name"] == "wordpress":
                item["metadata"]["annotations"] = {"example.com/db-password": "hunter2-annotation"}
        doc["items"].append({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                             "metadata": {"name": "wordpress-db", "namespace": "blog"},
                             "data": {"password": "aHVudGVyMi1zZWNyZXQ="}})  # hunter2-secret
        snapshot = import_bytes(self.cluster, [("annotated.yaml", yaml.safe_dump(doc).encode())]).snapshot
        body = self.assertStatus(self.api(self.alice).post("/api/traces/", {
            "snapshot": snapshot.pk, "from": "external:198.51.100.7", "to": "url:http://blog.example.org/"},
            format="json"), 201)
        self.assertEqual(body["verdict"], "delivered")
        self.assertIn({"kind": "service", "namespace": "blog", "name": "wordpress"}, body["objects"])
        slug = self.assertStatus(self.api(self.alice).post(f"/api/traces/{body['id']}/share/"), 201)["share_slug"]
        shared = self.api().get(f"/api/share/{slug}")
        text = shared.content.decode()
        self.assertIn("wordpress", text)
        for secret in ("hunter2", "aHVudGVy", "wordpress-db"):
            self.assertNotIn(secret, text)

    def test_a_trace_may_target_an_older_snapshot_and_stays_on_it(self):
        newer = import_bytes(self.cluster, [("no-policies.yaml", without_network_policies())]).snapshot
        body = self.assertStatus(self.api(self.alice).post("/api/traces/", {
            "cluster": "blog", "snapshot": self.snapshot.pk, **DENIED}, format="json"), 201)
        self.assertEqual((body["snapshot"]["number"], body["verdict"]), (1, "dropped"))
        latest = self.assertStatus(self.api(self.alice).post("/api/traces/", {"cluster": "blog", **DENIED},
                                                             format="json"), 201)
        self.assertEqual((latest["snapshot"]["id"], latest["verdict"]), (newer.pk, "delivered"))
        other = Cluster.objects.create(name="other", owner=self.alice)
        wrong = self.assertStatus(self.api(self.alice).post("/api/traces/", {
            "cluster": other.pk, "snapshot": self.snapshot.pk, **DENIED}, format="json"), 400)
        self.assertIn("snapshot", wrong["errors"])


class OwnerlessClusterTests(ApiTestCase):
    """Clusters imported from the command line have no owner: superusers see them, nobody else."""

    def test_cli_cluster_is_visible_to_superusers_only(self):
        cli = Cluster.objects.create(name="from-cli")
        import_bytes(cli, [("b.yaml", cluster_b_bytes())])
        self.assertStatus(self.api(self.alice).get(f"/api/clusters/{cli.pk}/"), 404)
        self.alice.is_superuser = True
        self.alice.save()
        body = self.assertStatus(self.api(self.alice).get(f"/api/clusters/{cli.pk}/"), 200)
        self.assertTrue(body["can_manage"])
        self.assertStatus(self.api(self.alice).post("/api/traces/", {"cluster": "from-cli", **ALLOWED},
                                                    format="json"), 201)
        self.assertStatus(self.api(self.bob).get(f"/api/clusters/{cli.pk}/"), 404)
