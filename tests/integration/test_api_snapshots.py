"""Snapshots over the API: listing, comparison, the topology graph, search, and the pod panel.

cluster-b (snapshot #1), drawn in layers:
    external → [lb:198.51.100.30 (payments/ledger)] [lb:198.51.100.80 (traefik)] [controller traefik]
               [ingress blog.example.org]
             → [node worker-1] [node worker-2] → kube-proxy → services → pods (per namespace until expanded)
"""
from __future__ import annotations

import yaml

from topology.importers import import_bytes
from topology.models import Cluster

from .api_base import ApiTestCase, cluster_b_bytes

LAYER_ORDER = ["external", "edge", "node", "kube-proxy", "service", "pod"]


def second_snapshot(cluster):
    """cluster-b with wordpress-1 gone, ledger's port renamed, and a new pod in monitoring."""
    doc = yaml.safe_load(cluster_b_bytes())
    items = [i for i in doc["items"] if not (i["kind"] == "Pod" and i["metadata"]["name"] == "wordpress-1")]
    for item in items:
        if item["kind"] == "Service" and item["metadata"]["name"] == "ledger":
            item["metadata"].setdefault("labels", {})["tier"] = "gold"
    grafana = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "grafana-0", "namespace": "monitoring"},
               "spec": {"nodeName": "worker-1", "containers": [{"name": "grafana", "image": "grafana"}]},
               "status": {"phase": "Running", "podIP": "10.42.1.99", "podIPs": [{"ip": "10.42.1.99"}]}}
    doc["items"] = items + [grafana]
    return import_bytes(cluster, [("b2.yaml", yaml.safe_dump(doc).encode())]).snapshot


class SnapshotAccessTests(ApiTestCase):
    def test_snapshots_visible_to_owner_and_teammate_only(self):
        url = f"/api/snapshots/{self.snapshot.pk}/"
        for user, code in ((self.alice, 200), (self.bob, 200), (self.charlie, 404)):
            self.assertEqual(self.api(user).get(url).status_code, code, user.username)
            for sub in ("topology/", "search/?q=word", "pods/blog/wordpress-0/", f"compare/?to={self.snapshot.pk}"):
                self.assertEqual(self.api(user).get(url + sub).status_code, code, f"{user.username} {sub}")
        body = self.assertStatus(self.api(self.alice).get(url), 200)
        self.assertEqual((body["number"], body["counts"]["Pod"], body["cluster_name"]), (1, 8, "blog"))
        self.assertEqual(self.assertStatus(self.api(self.charlie).get("/api/snapshots/"), 200)["count"], 0)

    def test_list_filters_by_cluster(self):
        other = Cluster.objects.create(name="lab", owner=self.alice)
        import_bytes(other, [("b.yaml", cluster_b_bytes())])
        body = self.assertStatus(self.api(self.alice).get(f"/api/snapshots/?cluster={other.pk}"), 200)
        self.assertEqual([s["cluster"] for s in body["results"]], [other.pk])
        body = self.assertStatus(self.api(self.alice).get(f"/api/clusters/{self.cluster.pk}/snapshots/"), 200)
        self.assertEqual([s["id"] for s in body["results"]], [self.snapshot.pk])

    def test_compare_lists_added_removed_and_changed_fields(self):
        newer = second_snapshot(self.cluster)
        body = self.assertStatus(self.api(self.bob).get(f"/api/snapshots/{self.snapshot.pk}/compare/?to={newer.pk}"),
                                 200)
        pods = body["kinds"]["pods"]
        self.assertEqual((pods["added"], pods["removed"]), (["monitoring/grafana-0"], ["blog/wordpress-1"]))
        services = body["kinds"]["services"]
        self.assertEqual(services["changed"], [{"key": "payments/ledger", "fields": ["labels"]}])
        self.assertEqual(body["kinds"]["network_policies"]["changed_count"], 0)
        self.assertFalse(body["truncated"])
        only = self.assertStatus(self.api(self.bob).get(
            f"/api/snapshots/{self.snapshot.pk}/compare/?to={newer.pk}&kinds=services,pods"), 200)
        self.assertEqual(sorted(only["kinds"]), ["pods", "services"])
        self.assertEqual(only["kinds"]["pods"], pods)
        bad = self.assertStatus(self.api(self.bob).get(
            f"/api/snapshots/{self.snapshot.pk}/compare/?to={newer.pk}&kinds=gadgets"), 400)
        self.assertIn("gadgets", bad["detail"])

    def test_compare_with_an_invisible_snapshot_is_404(self):
        other = Cluster.objects.create(name="secret", owner=self.charlie)
        theirs = import_bytes(other, [("b.yaml", cluster_b_bytes())]).snapshot
        self.assertStatus(self.api(self.alice).get(f"/api/snapshots/{self.snapshot.pk}/compare/?to={theirs.pk}"), 404)
        self.assertStatus(self.api(self.alice).get(f"/api/snapshots/{self.snapshot.pk}/compare/"), 400)


class TopologyTests(ApiTestCase):
    def topology(self, query="", user=None):
        return self.assertStatus(self.api(user or self.alice).get(
            f"/api/clusters/{self.cluster.pk}/topology/{query}"), 200)

    @staticmethod
    def nodes(body):
        return {n["data"]["id"]: n for n in body["elements"]["nodes"]}

    def test_layers_go_from_outside_in(self):
        body = self.topology()
        nodes = self.nodes(body)
        y = {layer["name"]: layer["y"] for layer in body["layers"]}
        self.assertEqual([layer["name"] for layer in body["layers"]], LAYER_ORDER)
        self.assertEqual(sorted(y.values()), [y[name] for name in LAYER_ORDER], "each layer below the previous")
        for element_id, layer in (("external", "external"), ("lb:198.51.100.30", "edge"), ("ingress:blog/blog", "edge"),
                                  ("node:worker-1", "node"), ("kube-proxy", "kube-proxy"),
                                  ("services:payments", "service"), ("ns:payments", "pod")):
            self.assertEqual(nodes[element_id]["data"]["layer"], layer)
            self.assertEqual(nodes[element_id]["position"]["y"], y[layer], element_id)
        edges = {(e["data"]["source"], e["data"]["target"]) for e in body["elements"]["edges"]}
        self.assertIn(("external", "lb:198.51.100.30"), edges)
        self.assertIn(("lb:198.51.100.30", "node:worker-1"), edges)
        self.assertIn(("node:worker-1", "kube-proxy"), edges)
        self.assertIn(("kube-proxy", "services:payments"), edges)
        self.assertIn(("services:payments", "ns:payments"), edges)
        self.assertEqual(body["snapshot"], self.snapshot.pk)

    def test_namespaces_are_aggregated_until_expanded(self):
        collapsed = self.nodes(self.topology())
        self.assertEqual(collapsed["ns:blog"]["data"]["count"], 3)  # wordpress-0, wordpress-1, mysql-0
        self.assertEqual(collapsed["ns:blog"]["data"]["expand"], "ns:blog")
        self.assertNotIn("pod:blog/wordpress-0", collapsed)

        body = self.topology("?expand=ns:blog")
        expanded = self.nodes(body)
        self.assertNotIn("ns:blog", expanded)
        self.assertIn("pod:blog/wordpress-0", expanded)
        self.assertIn("svc:blog/wordpress", expanded)
        self.assertIn("ns:payments", expanded, "other namespaces stay aggregated")
        edges = {(e["data"]["source"], e["data"]["target"]) for e in body["elements"]["edges"]}
        self.assertIn(("svc:blog/wordpress", "pod:blog/wordpress-1"), edges)
        self.assertIn(("ingress:blog/blog", "svc:blog/wordpress"), edges)

    def test_filters_by_namespace_label_and_name(self):
        body = self.topology("?namespace=payments")
        self.assertEqual(body["namespaces"], ["blog", "kube-system", "monitoring", "payments", "traefik"])
        only_payments = self.nodes(body)
        self.assertIn("pod:payments/ledger-1", only_payments)
        self.assertFalse([i for i in only_payments if i.startswith(("ns:", "pod:blog", "services:"))])

        by_label = self.nodes(self.topology("?label=app=ledger&expand=all"))
        self.assertEqual(sorted(i for i in by_label if i.startswith("pod:")),
                         ["pod:payments/ledger-1", "pod:payments/ledger-2"])
        by_name = self.nodes(self.topology("?name=mysql&expand=all"))
        self.assertEqual([i for i in by_name if i.startswith("pod:")], ["pod:blog/mysql-0"])

    def test_payload_is_capped_and_says_so(self):
        body = self.topology("?expand=all&limit=5")
        self.assertEqual(len(body["elements"]["nodes"]), 5)
        self.assertTrue(body["truncated"])
        self.assertIn("Showing 5 of", body["message"])
        ids = {n["data"]["id"] for n in body["elements"]["nodes"]}
        self.assertTrue(all(e["data"]["source"] in ids and e["data"]["target"] in ids for e in body["elements"]["edges"]))
        self.assertFalse(self.topology()["truncated"])

    def test_an_older_snapshot_can_be_drawn(self):
        newer = second_snapshot(self.cluster)
        latest = self.nodes(self.topology("?expand=ns:monitoring"))
        self.assertIn("pod:monitoring/grafana-0", latest)
        old = self.nodes(self.topology(f"?expand=ns:monitoring&snapshot={self.snapshot.pk}"))
        self.assertNotIn("pod:monitoring/grafana-0", old)
        self.assertNotEqual(newer.pk, self.snapshot.pk)

    def test_cluster_without_snapshot_is_404_with_a_hint(self):
        empty = Cluster.objects.create(name="empty", owner=self.alice)
        body = self.assertStatus(self.api(self.alice).get(f"/api/clusters/{empty.pk}/topology/"), 404)
        self.assertIn("upload manifests", body["detail"])


class SearchTests(ApiTestCase):
    def search(self, query):
        return self.assertStatus(self.api(self.alice).get(f"/api/clusters/{self.cluster.pk}/search/{query}"), 200)

    def test_names_complete_to_ready_to_use_values(self):
        values = [r["value"] for r in self.search("?q=ledger")]
        self.assertIn("svc:payments/ledger", values)
        self.assertIn("dns:ledger.payments.svc.cluster.local", values)
        self.assertIn("pod:payments/ledger-1", values)

    def test_role_and_prefix_restrict_the_kinds(self):
        sources = {r["kind"] for r in self.search("?q=ledger&role=source")}
        self.assertEqual(sources, {"pod"})
        self.assertEqual({r["kind"] for r in self.search("?q=svc:word")}, {"svc"})
        urls = [r["value"] for r in self.search("?q=blog.example&role=destination")]
        self.assertEqual(urls, ["url:http://blog.example.org/"])

    def test_ip_prefix_finds_pods_services_and_nodes(self):
        values = [r["value"] for r in self.search("?q=10.42.1.30")]
        self.assertEqual(values, ["pod:payments/ledger-1", "ip:10.42.1.30"])
        self.assertIn("node:worker-2", [r["value"] for r in self.search("?q=172.20.0.12")])
        self.assertEqual([r["value"] for r in self.search("?q=203.0.113.9&role=source")], ["external:203.0.113.9"])

    def test_results_are_bounded(self):
        self.assertEqual(len(self.search("?q=&limit=3")), 3)
        self.assertStatus(self.api(self.alice).get(f"/api/clusters/{self.cluster.pk}/search/?limit=1000"), 400)


class PodPanelTests(ApiTestCase):
    def test_env_dns_and_policies_of_a_pod(self):
        body = self.assertStatus(self.api(self.bob).get(
            f"/api/clusters/{self.cluster.pk}/pods/payments/ledger-1/"), 200)
        self.assertEqual(body["ips"], ["10.42.1.30"])
        env = {e["name"]: e["value"] for e in body["env"]}
        self.assertEqual(env["LEDGER_SERVICE_HOST"], "10.43.0.30")
        self.assertEqual(env["LEDGER_SERVICE_PORT"], "443")
        self.assertIn("payments/ledger", {e["service"] for e in body["env"]})
        self.assertNotIn("WORDPRESS_SERVICE_HOST", env, "only the pod's own namespace (and kubernetes)")
        self.assertEqual(body["dns"]["search"][:3], ["payments.svc.cluster.local", "svc.cluster.local", "cluster.local"])
        self.assertEqual(body["dns"]["ndots"], 5)
        self.assertEqual(sorted(p["name"] for p in body["policies"]), ["deny-all", "ledger-from-blog"])

    def test_unknown_pod_is_404(self):
        body = self.assertStatus(self.api(self.alice).get(f"/api/snapshots/{self.snapshot.pk}/pods/blog/nope/"), 404)
        self.assertIn("blog/nope", body["detail"])


class BigClusterTopologyTests(ApiTestCase):
    """A synthetic 60-node, 3,000-pod live dump (bench/generate.py): the first view stays small."""

    def test_first_view_is_aggregated_and_bounded(self):
        import json

        from bench.generate import Size, generate

        big = Cluster.objects.create(name="big", owner=self.alice)
        data = json.dumps(generate(Size(nodes=60, pods=3000, services=300, policies=20))).encode()
        snap = import_bytes(big, [("big.json", data)]).snapshot
        body = self.assertStatus(self.api(self.alice).get(f"/api/snapshots/{snap.pk}/topology/"), 200)
        nodes = {n["data"]["id"]: n["data"] for n in body["elements"]["nodes"]}
        self.assertEqual(body["total"]["pods"], snap.counts["Pod"])
        self.assertEqual(nodes["nodes"]["count"], 60, "60 nodes draw as one element")
        self.assertFalse([i for i in nodes if i.startswith(("pod:", "node:"))])
        self.assertLess(len(nodes), 200)
        self.assertEqual(sum(d["count"] for d in nodes.values() if d["kind"] == "namespace"), snap.counts["Pod"])
        expanded = self.assertStatus(self.api(self.alice).get(f"/api/snapshots/{snap.pk}/topology/?expand=nodes"), 200)
        self.assertEqual(len([n for n in expanded["elements"]["nodes"] if n["data"]["kind"] == "node"]), 60)
        capped = self.assertStatus(self.api(self.alice).get(f"/api/snapshots/{snap.pk}/topology/?expand=all"), 200)
        self.assertTrue(capped["truncated"])
        self.assertEqual(len(capped["elements"]["nodes"]), capped["limit"])


class WorkloadExpansionTests(ApiTestCase):
    """namespace → workload → pod, on materialised manifests:

        [ns shop (3)] --expand ns:shop--> [Deployment cart (3)] --expand workload--> [pod cart-…] ×3
    """

    def test_expand_namespace_then_workload(self):
        deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "cart", "namespace": "shop"},
                      "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "cart"}},
                               "template": {"metadata": {"labels": {"app": "cart"}},
                                            "spec": {"containers": [{"name": "cart", "image": "cart:1"}]}}}}
        shop = Cluster.objects.create(name="shop", owner=self.alice)
        snap = import_bytes(shop, [("cart.yaml", yaml.safe_dump(deployment).encode())], materialize=True).snapshot
        url = f"/api/snapshots/{snap.pk}/topology/"

        def ids(query):
            body = self.assertStatus(self.api(self.alice).get(url + query), 200)
            return {n["data"]["id"]: n["data"] for n in body["elements"]["nodes"]}

        self.assertEqual(ids("")["ns:shop"]["count"], 3)
        level2 = ids("?expand=ns:shop")
        workload = level2["workload:shop/Deployment/cart"]
        self.assertEqual((workload["count"], workload["expand"]), (3, "workload:shop/Deployment/cart"))
        level3 = ids("?expand=ns:shop,workload:shop/Deployment/cart")
        self.assertNotIn("workload:shop/Deployment/cart", level3)
        self.assertEqual(len([i for i in level3 if i.startswith("pod:shop/cart-")]), 3)
