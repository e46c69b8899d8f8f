"""Clusters over the API: who sees, changes and uploads to what (owner alice, teammate bob, outsider charlie)."""
from __future__ import annotations

import json

import yaml
from django.test import override_settings

from topology.models import Cluster, Snapshot

from .api_base import ApiTestCase, cluster_b_bytes

SMALL_SERVICE = b"""
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop}
spec:
  selector: {app: cart}
  ports: [{port: 80, targetPort: 7070}]
"""


class ClusterAccessTests(ApiTestCase):
    def test_list_shows_own_and_shared_clusters_only(self):
        for user, expected in ((self.alice, ["blog"]), (self.bob, ["blog"]), (self.charlie, [])):
            body = self.assertStatus(self.api(user).get("/api/clusters/"), 200)
            self.assertEqual([c["name"] for c in body["results"]], expected, user.username)

    def test_outsider_gets_404_not_403_for_every_cluster_route(self):
        c = self.api(self.charlie)
        base = f"/api/clusters/{self.cluster.pk}/"
        for method, url in (("get", base), ("patch", base), ("delete", base), ("post", base + "upload/"),
                            ("get", base + "snapshots/"), ("get", base + "topology/"), ("get", base + "search/")):
            response = getattr(c, method)(url)
            self.assertEqual(response.status_code, 404, f"{method} {url}: {response.status_code}")
        self.assertTrue(Cluster.objects.filter(pk=self.cluster.pk, name="blog").exists())

    def test_anonymous_gets_401_with_token_challenge(self):
        response = self.api().get("/api/clusters/")
        self.assertStatus(response, 401)
        self.assertEqual(response["WWW-Authenticate"], "Token")

    def test_owner_renames_and_shares_teammate_may_not(self):
        url = f"/api/clusters/{self.cluster.pk}/"
        body = self.assertStatus(self.api(self.bob).patch(url, {"name": "stolen"}, format="json"), 403)
        self.assertIn("owner", body["detail"])
        body = self.assertStatus(self.api(self.alice).patch(url, {"name": "blog-prod",
                                                                  "shared_with": ["bob", "charlie"]}, format="json"), 200)
        self.assertEqual(body["name"], "blog-prod")
        # bob stays a teammate; charlie is invited and reads nothing until he accepts.
        self.assertEqual((body["shared_with"], body["invited"]), (["bob"], ["charlie"]))
        self.assertStatus(self.api(self.charlie).get(url), 404)
        [invitation] = self.assertStatus(self.api(self.charlie).get("/api/invitations/"), 200)["results"]
        self.assertEqual(invitation["cluster"], {"id": self.cluster.pk, "name": "blog-prod"})
        self.assertStatus(self.api(self.charlie).post(f"/api/invitations/{invitation['id']}/accept/"), 200)
        self.assertStatus(self.api(self.charlie).get(url), 200)

    def test_unsharing_hides_the_cluster_again(self):
        url = f"/api/clusters/{self.cluster.pk}/"
        self.assertStatus(self.api(self.alice).patch(url, {"shared_with": []}, format="json"), 200)
        self.assertStatus(self.api(self.bob).get(url), 404)

    def test_teammate_cannot_delete_owner_can(self):
        url = f"/api/clusters/{self.cluster.pk}/"
        self.assertStatus(self.api(self.bob).delete(url), 403)
        self.assertStatus(self.api(self.alice).delete(url), 204)
        self.assertFalse(Snapshot.objects.filter(cluster_id=self.cluster.pk).exists())

    def test_create_is_private_to_creator_and_names_are_unique_per_owner(self):
        body = self.assertStatus(self.api(self.charlie).post("/api/clusters/", {"name": "lab"}, format="json"), 201)
        self.assertEqual(body["owner"], "charlie")
        self.assertIsNone(body["latest_snapshot"])
        self.assertStatus(self.api(self.alice).get(f"/api/clusters/{body['id']}/"), 404)
        dup = self.assertStatus(self.api(self.charlie).post("/api/clusters/", {"name": "lab"}, format="json"), 400)
        self.assertIn("already have a cluster named 'lab'", dup["detail"])
        # Another user may use the same name.
        self.assertStatus(self.api(self.alice).post("/api/clusters/", {"name": "lab"}, format="json"), 201)

    def test_sharing_with_a_malformed_username_is_a_field_error(self):
        body = self.assertStatus(self.api(self.alice).patch(f"/api/clusters/{self.cluster.pk}/",
                                                            {"shared_with": ["no body/"]}, format="json"), 400)
        self.assertIn("shared_with", body["errors"])


class UploadTests(ApiTestCase):
    def upload_url(self, cluster=None, query=""):
        return f"/api/clusters/{(cluster or self.cluster).pk}/upload/{query}"

    def test_multipart_upload_creates_the_next_snapshot(self):
        from django.core.files.uploadedfile import SimpleUploadedFile

        files = [SimpleUploadedFile("cluster-b.yaml", cluster_b_bytes()),
                 SimpleUploadedFile("extra.yaml", SMALL_SERVICE)]
        body = self.assertStatus(self.api(self.alice).post(self.upload_url(), {"files": files},
                                                           format="multipart"), 201)
        self.assertEqual(body["snapshot"]["number"], 2)
        self.assertEqual(body["snapshot"]["counts"]["Service"], 7)  # 6 in cluster-b + shop/cart
        cluster = self.assertStatus(self.api(self.alice).get(f"/api/clusters/{self.cluster.pk}/"), 200)
        self.assertEqual(cluster["latest_snapshot"]["number"], 2)

    def test_teammate_may_upload_a_raw_yaml_body(self):
        body = self.assertStatus(self.api(self.bob).post(self.upload_url(), SMALL_SERVICE,
                                                         content_type="application/yaml"), 201)
        self.assertEqual(body["snapshot"]["counts"]["Service"], 1)

    def test_raw_json_body_with_materialize(self):
        deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                      "metadata": {"name": "cart", "namespace": "shop"},
                      "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "cart"}},
                               "template": {"metadata": {"labels": {"app": "cart"}},
                                            "spec": {"containers": [{"name": "cart", "image": "cart:1"}]}}}}
        body = self.assertStatus(self.api(self.alice).post(self.upload_url(query="?materialize=true&nodes=2"),
                                                           json.dumps(deployment).encode(),
                                                           content_type="application/json"), 201)
        self.assertTrue(body["snapshot"]["materialized"])
        self.assertEqual(body["snapshot"]["counts"]["Pod"] >= 2, True)

    def test_manifest_error_is_400_naming_file_document_and_field(self):
        bad = yaml.safe_dump_all([yaml.safe_load(SMALL_SERVICE),
                                  {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": "shop"},
                                   "spec": {"ports": [{"port": "not-a-number"}]}}]).encode()
        before = Snapshot.objects.filter(cluster=self.cluster).count()
        body = self.assertStatus(self.api(self.alice).post(self.upload_url(query="?filename=shop.yaml"), bad,
                                                           content_type="application/yaml"), 400)
        self.assertEqual(body["code"], "manifest_error")
        error = body["errors"][0]
        self.assertEqual(error["file"], "shop.yaml")
        self.assertEqual(error["document"], 2)
        self.assertEqual((error["kind"], error["name"]), ("Service", "db"))
        self.assertIn("port", error["field"])
        self.assertIn("shop.yaml document 2", body["detail"])
        self.assertEqual(Snapshot.objects.filter(cluster=self.cluster).count(), before, "nothing imported")

    def test_unparsable_yaml_is_400_not_500(self):
        body = self.assertStatus(self.api(self.alice).post(self.upload_url(), b"kind: [unclosed",
                                                           content_type="application/yaml"), 400)
        self.assertEqual(body["code"], "manifest_error")

    def test_empty_upload_says_what_to_send(self):
        body = self.assertStatus(self.api(self.alice).post(self.upload_url(), b"", content_type="application/yaml"), 400)
        self.assertIn("multipart/form-data", body["detail"])

    @override_settings(TRACER_UPLOAD_LIMIT=1024)
    def test_upload_over_the_limit_is_413_with_a_message(self):
        before = Snapshot.objects.filter(cluster=self.cluster).count()
        body = self.assertStatus(self.api(self.alice).post(self.upload_url(), cluster_b_bytes(),
                                                           content_type="application/yaml"), 413)
        self.assertIn("at most 1024 bytes", body["detail"])
        self.assertIn("TRACER_UPLOAD_LIMIT", body["detail"])
        self.assertEqual(Snapshot.objects.filter(cluster=self.cluster).count(), before)

    def test_bad_options_are_field_errors(self):
        body = self.assertStatus(self.api(self.alice).post(self.upload_url(query="?nodes=0&namespace=Bad_NS"),
                                                           SMALL_SERVICE, content_type="application/yaml"), 400)
        self.assertEqual(sorted(body["errors"]), ["namespace", "nodes"])


class ClusterListQueryTests(ApiTestCase):
    def test_list_costs_the_same_number_of_queries_for_2_or_12_clusters(self):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        def count_queries():
            with CaptureQueriesContext(connection) as ctx:
                body = self.assertStatus(self.api(self.alice).get("/api/clusters/"), 200)
            return len(ctx.captured_queries), body

        Snapshot.objects.create(cluster=Cluster.objects.create(name="c0", owner=self.alice), number=1)
        count_queries()  # the token's first use records its last-used time (at most once a minute): not counted
        few, _ = count_queries()
        for i in range(1, 11):
            cluster = Cluster.objects.create(name=f"c{i}", owner=self.alice)
            for n in (1, 2):
                Snapshot.objects.create(cluster=cluster, number=n)
        many, body = count_queries()
        self.assertEqual(few, many)
        c5 = next(c for c in body["results"] if c["name"] == "c5")
        self.assertEqual((c5["snapshot_count"], c5["latest_snapshot"]["number"]), (2, 2))
        blog = next(c for c in body["results"] if c["name"] == "blog")
        self.assertEqual(blog["latest_snapshot"]["id"], self.snapshot.pk)
